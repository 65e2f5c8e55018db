//! [`FileSink`]: `csv`, `json`, `text` and `parquet` files, one set per epoch with output, with a log of complete
//! epochs that is compacted as Spark's file sink log is.
//!
//! Epoch `e` writes its rows to `<path>/part-<e, 6 digits>-w000.<csv|json|txt|parquet>` (written under a
//! temporary name, then renamed), then records `<path>/_tidewater/<e>` listing the epoch's
//! files. In append mode, when the workers write their own rows ([`Sink::part_writer`]),
//! worker `w` writes `part-<e>-w<w, 3 digits>` and the entry lists every worker's part. An epoch without rows writes nothing at all (in complete mode, an empty result after
//! a non-empty one is logged, with no file, so that readers see the table emptied).
//!
//! Every `spark.sql.streaming.fileSink.log.compactInterval` (default 10) entries, the log is
//! compacted: `<path>/_tidewater/<e>.compact` holds, one JSON line each, the entries of every
//! epoch up to `e` (the previous compact file's and the entries since), and then the entries it
//! replaced are deleted. A reader takes the newest `<c>.compact` and the entries `<e>` with
//! `e > c`, in order, and ignores other files (a crash may leave a partial temporary file, or
//! an entry already compacted). The output mode decides the rows: new rows (append), changed
//! rows with their new values (update), or the whole result (complete).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use super::encode::{CsvEncoding, JsonEncoding, TextEncoding};
use super::format::FileFormat;
use crate::connectors::{Batch, Options, PartFile, PartWriter, Sink, SinkError};
use crate::data::{Row, Schema};
use crate::error::{Error, Result};

/// Spark's `spark.sql.streaming.fileSink.log.compactInterval`: every how many log entries the
/// file sinks' logs are compacted into one file (default 10).
pub const COMPACT_INTERVAL_CONF: &str = "spark.sql.streaming.fileSink.log.compactInterval";

/// `spark.sql.streaming.fileSink.minBatchInterval`: the least time between two epochs of a
/// query that writes a file sink under the default trigger (default 1 second); the sink option
/// `minBatchInterval` overrides it. Spark's default trigger starts an epoch as soon as the
/// previous one ends, which on a fast source is thousands of tiny epochs a second, each a file.
pub const MIN_BATCH_INTERVAL_CONF: &str = "spark.sql.streaming.fileSink.minBatchInterval";

/// The default of [`MIN_BATCH_INTERVAL_CONF`].
const DEFAULT_MIN_BATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Writes each epoch's rows as CSV, JSON-lines or text files.
#[derive(Debug)]
pub struct FileSink {
    format: FileFormat,
    path: PathBuf,
    encoding: Encoding,
    min_batch_interval: Duration,
    log: SinkLog,
}

/// How rows become text, per format.
#[derive(Clone, Debug)]
enum Encoding {
    Csv(CsvEncoding),
    Json(JsonEncoding),
    Text,
    /// One Parquet file per epoch (feature `parquet`).
    Parquet,
}

impl FileSink {
    /// Reads `path` (required, not empty), `minBatchInterval` and the format's writer options
    /// (Spark's defaults; README lists them); `conf` gives the session's settings
    /// ([`COMPACT_INTERVAL_CONF`], [`MIN_BATCH_INTERVAL_CONF`], the session time zone). `schema`
    /// is the query's: a format that cannot write it (an array in CSV, two columns in text) is
    /// refused here, before the query starts, as Spark refuses it.
    pub fn new(
        format: FileFormat,
        options: &Options,
        schema: &Schema,
        conf: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let path = options.required("path", &format!("the {format} sink"))?;
        if path.trim().is_empty() {
            return Err(Error::InvalidOption(format!(
                "the {format} sink's option `path` is empty; give the directory to write to"
            )));
        }
        let encoding = match format {
            FileFormat::Csv => {
                CsvEncoding::check(schema)?;
                Encoding::Csv(CsvEncoding::from_options(options, conf)?)
            }
            FileFormat::Json => Encoding::Json(JsonEncoding::from_options(options, conf)?),
            FileFormat::Text => {
                TextEncoding::check(schema)?;
                Encoding::Text
            }
            FileFormat::Parquet => {
                if !cfg!(feature = "parquet") {
                    return Err(without_parquet());
                }
                Encoding::Parquet
            }
        };
        let path = PathBuf::from(path);
        let min_batch_interval = match options
            .get("minBatchInterval")
            .map(str::to_string)
            .or_else(|| conf(MIN_BATCH_INTERVAL_CONF))
        {
            None => DEFAULT_MIN_BATCH_INTERVAL,
            Some(text) => crate::data::parse_interval(&text)?,
        };
        let compact_interval = match conf(COMPACT_INTERVAL_CONF) {
            None => 10,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(Error::InvalidOption(format!(
                        "`{COMPACT_INTERVAL_CONF}` = `{raw}`: use a whole number of log entries, at least 1"
                    )))
                }
            },
        };
        Ok(FileSink {
            format,
            encoding,
            log: SinkLog::new(path.join("_tidewater"), compact_interval),
            path,
            min_batch_interval,
        })
    }

    fn part_name(&self, epoch: u64) -> String {
        format!("part-{epoch:06}-w000.{}", self.format.extension())
    }

    fn write_epoch(&mut self, batch: &Batch<'_>) -> std::io::Result<()> {
        let mut files = Vec::new();
        if batch.rows.is_empty() {
            // Nothing to write, nothing to log: but a complete result that became empty is
            // news for readers, who would otherwise keep the last table.
            let emptied = batch.mode == crate::data::OutputMode::Complete && self.log.last_had_rows;
            if !emptied {
                // The same place of the epoch's write for the crash tests as below.
                crate::crash::crash_point("in-sink", batch.id);
                return Ok(());
            }
        } else {
            fs::create_dir_all(&self.path)?;
            let name = self.part_name(batch.id);
            let temporary = self.path.join(format!(".{name}.tmp"));
            {
                let file = File::create(&temporary)?;
                let mut out = BufWriter::new(&file);
                match &self.encoding {
                    Encoding::Csv(csv) => csv.write(&mut out, batch.schema, batch.rows)?,
                    Encoding::Json(json) => json.write(&mut out, batch.schema, batch.rows)?,
                    Encoding::Text => TextEncoding::write(&mut out, batch.rows)?,
                    Encoding::Parquet => write_parquet(&mut out, batch.schema, batch.rows)?,
                }
                drop(out);
                // Durable before the log names it: a checkpoint commits the epoch after this.
                file.sync_all()?;
            }
            fs::rename(&temporary, self.path.join(&name))?;
            files.push(Json::String(name));
        }
        crate::crash::crash_point("in-sink", batch.id);
        let entry = serde_json::json!({
            "epoch": batch.id,
            "mode": batch.mode.to_string(),
            "rows": batch.rows.len(),
            "files": files,
        });
        self.log.record(batch.id, &entry)?;
        self.log.last_had_rows = !batch.rows.is_empty();
        Ok(())
    }
}

/// The error for the `parquet` format in a build without its feature.
pub(super) fn without_parquet() -> Error {
    Error::Unsupported(
        "this build of Tidewater reads and writes parquet only with the cargo feature `parquet` \
         (cargo build --features parquet)"
            .into(),
    )
}

/// Writes `rows` as one Parquet file (snappy-compressed, as Spark writes it).
#[cfg(feature = "parquet")]
fn write_parquet<W: Write + Send>(out: W, schema: &Schema, rows: &[crate::data::Row]) -> std::io::Result<()> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let batch = super::parquet::record_batch(schema, rows).map_err(invalid)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(out, batch.schema(), Some(props))
        .map_err(|e| invalid(e.to_string()))?;
    writer.write(&batch).map_err(|e| invalid(e.to_string()))?;
    writer.close().map_err(|e| invalid(e.to_string()))?;
    Ok(())
}

/// Without the `parquet` feature no parquet sink is built (see [`without_parquet`]).
#[cfg(not(feature = "parquet"))]
fn write_parquet<W: Write + Send>(_: W, _: &Schema, _: &[crate::data::Row]) -> std::io::Result<()> {
    Err(std::io::Error::other(without_parquet().to_string()))
}

/// The sink's log of complete epochs: one file per epoch, compacted every `interval` entries.
#[derive(Debug)]
struct SinkLog {
    dir: PathBuf,
    interval: usize,
    /// What the directory holds, read at the first entry (a restarted query finds its log).
    index: Option<LogIndex>,
    /// Whether the last epoch logged had rows (true until known: a restart logs an emptied
    /// complete result once, which is harmless).
    last_had_rows: bool,
}

/// The newest compact file's epoch and the entries after it.
#[derive(Debug, Default)]
struct LogIndex {
    compact: Option<u64>,
    entries: std::collections::BTreeSet<u64>,
}

impl SinkLog {
    fn new(dir: PathBuf, interval: usize) -> Self {
        SinkLog {
            dir,
            interval,
            index: None,
            last_had_rows: true,
        }
    }

    fn compact_path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("{epoch}.compact"))
    }

    /// Lists the log directory: the newest compact file, and the entries after it. Entries
    /// and compact files it supersedes (left by a crash mid-compaction) are deleted.
    fn load(&self) -> std::io::Result<LogIndex> {
        fs::create_dir_all(&self.dir)?;
        let mut index = LogIndex::default();
        let mut compacts = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(epoch) = name.strip_suffix(".compact").and_then(|e| e.parse::<u64>().ok()) {
                compacts.push(epoch);
            } else if let Ok(epoch) = name.parse::<u64>() {
                index.entries.insert(epoch);
            }
        }
        compacts.sort_unstable();
        index.compact = compacts.pop();
        if let Some(compact) = index.compact {
            for old in compacts {
                remove_if_there(&self.compact_path(old))?;
            }
            let stale: Vec<u64> = index.entries.range(..=compact).copied().collect();
            for epoch in stale {
                remove_if_there(&self.dir.join(epoch.to_string()))?;
                index.entries.remove(&epoch);
            }
        }
        Ok(index)
    }

    /// Logs `epoch` as complete with `entry`, then compacts if `interval` entries wait.
    fn record(&mut self, epoch: u64, entry: &Json) -> std::io::Result<()> {
        let index = match self.index.take() {
            Some(index) => index,
            None => self.load()?,
        };
        let index = self.index.insert(index);
        match index.compact {
            // An epoch run again after a restart that the log already compacted: its entry
            // is replaced inside the compact file.
            Some(compact) if epoch <= compact => {
                let path = self.dir.join(format!("{compact}.compact"));
                let mut entries = read_compact(&path)?;
                entries.insert(epoch, entry.to_string());
                return write_atomically(&path, join_lines(entries.values()).as_bytes());
            }
            _ => {}
        }
        write_atomically(&self.dir.join(epoch.to_string()), entry.to_string().as_bytes())?;
        index.entries.insert(epoch);
        if index.entries.len() >= self.interval {
            self.compact()?;
        }
        Ok(())
    }

    /// Writes `<newest entry>.compact` with every entry so far, then deletes what it replaces.
    fn compact(&mut self) -> std::io::Result<()> {
        let Some(index) = self.index.as_mut() else {
            return Ok(());
        };
        let Some(&newest) = index.entries.last() else {
            return Ok(());
        };
        let mut entries = match index.compact {
            Some(compact) => read_compact(&self.dir.join(format!("{compact}.compact")))?,
            None => Default::default(),
        };
        for &epoch in &index.entries {
            let text = fs::read_to_string(self.dir.join(epoch.to_string()))?;
            entries.insert(epoch, text.trim().to_string());
        }
        write_atomically(
            &self.dir.join(format!("{newest}.compact")),
            join_lines(entries.values()).as_bytes(),
        )?;
        // Readers take the newest compact file from now on: what it replaces can go.
        if let Some(previous) = index.compact.replace(newest) {
            remove_if_there(&self.dir.join(format!("{previous}.compact")))?;
        }
        for epoch in std::mem::take(&mut index.entries) {
            remove_if_there(&self.dir.join(epoch.to_string()))?;
        }
        Ok(())
    }
}

/// The entries of a compact file, by epoch.
fn read_compact(path: &Path) -> std::io::Result<std::collections::BTreeMap<u64, String>> {
    let text = fs::read_to_string(path)?;
    let mut entries = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let epoch = serde_json::from_str::<Json>(line)
            .ok()
            .and_then(|entry| entry["epoch"].as_u64())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} holds a line that is not a log entry: {line}", path.display()),
                )
            })?;
        entries.insert(epoch, line.to_string());
    }
    Ok(entries)
}

fn join_lines<'a>(lines: impl Iterator<Item = &'a String>) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` under a temporary name, fsyncs it, renames it into place and
/// fsyncs the directories, so that the part file and the log entry are durable before a
/// checkpoint commits the epoch.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    // The log's directory, and the sink's, where the part file was renamed in.
    for directory in path.ancestors().skip(1).take(2) {
        let directory = if directory.as_os_str().is_empty() {
            Path::new(".")
        } else {
            directory
        };
        File::open(directory)?.sync_all()?;
    }
    Ok(())
}

impl Sink for FileSink {
    fn description(&self) -> String {
        format!("FileSink[{}: {}]", self.format, self.path.display())
    }

    fn add_batch(&mut self, batch: &Batch<'_>) -> std::result::Result<(), SinkError> {
        self.write_epoch(batch).map_err(|e| SinkError::Write {
            sink_name: self.description(),
            batch_id: batch.id,
            reason: e.to_string(),
        })
    }

    fn min_epoch_interval(&self) -> Duration {
        self.min_batch_interval
    }

    fn part_writer(&self) -> Option<std::sync::Arc<dyn PartWriter>> {
        // A Parquet file is written from the epoch's rows at once (its row groups), so its
        // epochs stay whole on worker 0.
        if matches!(self.encoding, Encoding::Parquet) {
            return None;
        }
        Some(std::sync::Arc::new(FilePartWriter {
            path: self.path.clone(),
            format: self.format,
            encoding: self.encoding.clone(),
        }))
    }

    fn commit_parts(
        &mut self,
        epoch: u64,
        mode: crate::data::OutputMode,
        parts: &[(String, u64)],
    ) -> std::result::Result<(), SinkError> {
        let rows: u64 = parts.iter().map(|(_, rows)| rows).sum();
        // The same place of the epoch's write for the crash tests as in `write_epoch`: every
        // part is written, none is listed yet.
        crate::crash::crash_point("in-sink", epoch);
        if parts.is_empty() {
            return Ok(());
        }
        let entry = serde_json::json!({
            "epoch": epoch,
            "mode": mode.to_string(),
            "rows": rows,
            "files": parts.iter().map(|(name, _)| Json::String(name.clone())).collect::<Vec<_>>(),
        });
        // Durable with the sink's directory, where the parts were renamed in.
        self.log.record(epoch, &entry).map_err(|e| SinkError::Write {
            sink_name: self.description(),
            batch_id: epoch,
            reason: e.to_string(),
        })?;
        self.log.last_had_rows = rows > 0;
        Ok(())
    }
}

/// Writes the parts of append-mode epochs on the workers: `part-<epoch>-w<worker>` files, each
/// streamed through a bounded buffer under a temporary name, then made durable and renamed.
/// Rows are written by the same encoding as the sink's own epochs.
#[derive(Debug)]
struct FilePartWriter {
    path: PathBuf,
    format: FileFormat,
    encoding: Encoding,
}

/// The buffer of one part being written: what a worker holds of an epoch's output.
const PART_BUFFER: usize = 1 << 20;

impl PartWriter for FilePartWriter {
    fn open(&self, schema: &Schema, epoch: u64, worker: usize) -> std::io::Result<Box<dyn PartFile>> {
        fs::create_dir_all(&self.path)?;
        let name = format!("part-{epoch:06}-w{worker:03}.{}", self.format.extension());
        let temporary = self.path.join(format!(".{name}.tmp"));
        let mut out = BufWriter::with_capacity(PART_BUFFER, File::create(&temporary)?);
        if let Encoding::Csv(csv) = &self.encoding {
            csv.write_header(&mut out, schema)?;
        }
        Ok(Box::new(FilePart {
            name,
            temporary,
            dir: self.path.clone(),
            out,
            encoding: self.encoding.clone(),
            schema: schema.clone(),
            line: String::new(),
        }))
    }
}

/// One worker's part of an epoch (see [`FilePartWriter`]).
struct FilePart {
    name: String,
    temporary: PathBuf,
    dir: PathBuf,
    out: BufWriter<File>,
    encoding: Encoding,
    schema: Schema,
    /// A CSV line's buffer, kept from row to row.
    line: String,
}

impl PartFile for FilePart {
    fn write(&mut self, row: &Row) -> std::io::Result<()> {
        let rows = std::slice::from_ref(row);
        match &self.encoding {
            Encoding::Csv(csv) => csv.write_row(&mut self.out, &mut self.line, row),
            Encoding::Json(json) => json.write_rows(&mut self.out, &self.schema, rows),
            Encoding::Text => TextEncoding::write_rows(&mut self.out, rows),
            Encoding::Parquet => Err(std::io::Error::other(
                "a parquet sink writes its epochs whole, not in parts",
            )),
        }
    }

    fn finish(self: Box<Self>) -> std::io::Result<String> {
        let FilePart {
            name,
            temporary,
            dir,
            out,
            ..
        } = *self;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        // Durable before the log names it: a checkpoint commits the epoch after this.
        file.sync_all()?;
        fs::rename(&temporary, dir.join(&name))?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::data::{DataType, Field, OutputMode, Row, Value};

    /// The log as a reader takes it, written independently of the sink's own code: the newest
    /// compact file's entries, then the entries after it; epoch -> files.
    fn read_log(dir: &Path) -> BTreeMap<u64, Vec<String>> {
        let log = dir.join("_tidewater");
        let names: Vec<String> = fs::read_dir(&log)
            .expect("log")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        let compact = names
            .iter()
            .filter_map(|n| n.strip_suffix(".compact")?.parse::<u64>().ok())
            .max();
        let mut lines: Vec<String> = compact
            .map(|c| fs::read_to_string(log.join(format!("{c}.compact"))).expect("compact"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        for name in &names {
            if let Ok(epoch) = name.parse::<u64>() {
                if compact.is_none_or(|c| epoch > c) {
                    lines.push(fs::read_to_string(log.join(name)).expect("entry"));
                }
            }
        }
        lines
            .iter()
            .map(|line| {
                let entry: Json = serde_json::from_str(line).expect("json");
                let files = entry["files"]
                    .as_array()
                    .expect("files")
                    .iter()
                    .map(|f| f.as_str().expect("name").to_string())
                    .collect();
                (entry["epoch"].as_u64().expect("epoch"), files)
            })
            .collect()
    }

    fn csv_sink(dir: &Path, compact_every: &str) -> FileSink {
        let mut options = Options::default();
        options.set("path", dir.display());
        let compact_every = compact_every.to_string();
        let schema = Schema::new([Field::new("n", DataType::Int64)]);
        FileSink::new(FileFormat::Csv, &options, &schema, &move |key| {
            (key == COMPACT_INTERVAL_CONF).then(|| compact_every.clone())
        })
        .expect("sink")
    }

    #[test]
    fn empty_epochs_write_nothing_and_the_log_compacts_to_the_committed_epochs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let schema = Schema::new([Field::new("n", DataType::Int64)]);
        let mut sink = csv_sink(&out, "3");
        let mut expected = BTreeMap::new();
        for epoch in 0..40u64 {
            // Every third epoch has a row; the others are empty.
            let rows: Vec<Row> = if epoch % 3 == 0 {
                expected.insert(epoch, vec![format!("part-{epoch:06}-w000.csv")]);
                vec![Row::from(vec![Value::Int(epoch as i64)])]
            } else {
                Vec::new()
            };
            let batch = Batch {
                id: epoch,
                schema: &schema,
                rows: &rows,
                mode: OutputMode::Append,
            };
            sink.add_batch(&batch).expect("written");
            assert_eq!(read_log(&out), expected, "after epoch {epoch}");
        }
        // 14 part files, and a log of at most one compact file and fewer than 3 entries.
        let parts = fs::read_dir(&out).expect("out").count() - 1;
        assert_eq!(parts, 14);
        let log_files = fs::read_dir(out.join("_tidewater")).expect("log").count();
        assert!(log_files <= 3, "{log_files} log files");

        // A restarted sink re-runs epoch 36, which the log compacted: still listed once.
        let mut again = csv_sink(&out, "3");
        let rows = vec![Row::from(vec![Value::Int(36)])];
        let batch = Batch {
            id: 36,
            schema: &schema,
            rows: &rows,
            mode: OutputMode::Append,
        };
        again.add_batch(&batch).expect("written again");
        assert_eq!(read_log(&out), expected);
    }

    #[test]
    fn an_empty_path_is_an_error() {
        let mut options = Options::default();
        options.set("path", " ");
        let error =
            FileSink::new(FileFormat::Json, &options, &Schema::new([]), &|_| None).expect_err("empty path");
        assert_eq!(error.code(), "INVALID_OPTION");
    }
}
