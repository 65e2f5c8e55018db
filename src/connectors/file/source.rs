//! [`FileSource`]: the leader lists files; workers read them.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::csv_lines::CsvLines;
use super::format::{FileFormat, FormatOptions};
use super::listing::{list_files, path_exists, NewFiles};
use super::read::FilePartitions;
use super::split::SplitSize;
use crate::connectors::{Options, PartitionReader, ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{DataType, Field, Row, RowDecoder, Schema, Value};
use crate::error::{Error, Result};

/// How often a streaming file source lists its path.
const LIST_INTERVAL: Duration = Duration::from_millis(100);

/// A configured `text`, `csv` or `json` source.
#[derive(Clone, Debug)]
pub struct FileSource {
    path: String,
    max_files_per_trigger: Option<usize>,
    /// Read once, whole, in the first epoch (a static table).
    once: bool,
    partitions: Arc<FilePartitions>,
    /// What happens to a file once the epoch that read it is committed.
    clean: CleanSource,
    /// The files' total size, listed once: every worker building the query asks, and all must
    /// get the same answer (it decides the dataflow's shape, see `size_in_bytes`).
    size: std::sync::OnceLock<Option<u64>>,
}

impl FileSource {
    /// A streaming source of `format` files, or with `once` a static table read whole at start.
    /// `schema` is the declared one; CSV without it takes all-string columns from the header
    /// of the first file (or `_c0`, `_c1`, ... without a header).
    pub fn new(format: FileFormat, options: &Options, schema: Option<Schema>, once: bool) -> Result<Self> {
        let path = options
            .required("path", &format!("the {format} source"))?
            .to_string();
        if path.trim().is_empty() {
            return Err(Error::InvalidOption(format!(
                "the {format} source's option `path` is empty; give a directory, a file or a glob"
            )));
        }
        // A static table that is not there is an error, as in Spark: read as empty, it would
        // quietly give a join nothing to match. A stream waits for its path instead.
        if once && !path_exists(&path) {
            return Err(Error::PathNotFound(path));
        }
        let format_options = FormatOptions::from_options(format, options)?;
        let schema = match (format, schema) {
            (FileFormat::Text, _) => FormatOptions::text_schema(),
            (_, Some(schema)) => schema,
            (FileFormat::Csv, None) => csv_schema_from_first_file(&path, &format_options)?,
            (FileFormat::Json, None) => {
                return Err(Error::InvalidOption(
                    "the json source needs a schema: call .schema(..) (or declare the columns in SQL)".into(),
                ))
            }
        };
        let max_files_per_trigger = match options.get("maxFilesPerTrigger") {
            None => None,
            Some(_) => Some(options.parse_or("maxFilesPerTrigger", 1usize)?.max(1)),
        };
        let clean = CleanSource::from_options(options)?;
        Ok(FileSource {
            clean: if once { CleanSource::Off } else { clean },
            path,
            max_files_per_trigger: if once { None } else { max_files_per_trigger },
            once,
            partitions: Arc::new(FilePartitions {
                decoder: RowDecoder::new(schema, format_options.mode),
                options: format_options,
                split: SplitSize::default(),
            }),
            size: std::sync::OnceLock::new(),
        })
    }
}

impl FileSource {
    /// Cuts files into byte ranges of at most what the session's configuration says
    /// ([`MAX_PARTITION_BYTES_CONF`](super::MAX_PARTITION_BYTES_CONF)) rather than Spark's
    /// default, 128 MB.
    pub fn split_by_conf(mut self, conf: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        Arc::make_mut(&mut self.partitions).split = SplitSize::from_conf(conf)?;
        Ok(self)
    }
}

fn csv_schema_from_first_file(path: &str, options: &FormatOptions) -> Result<Schema> {
    let no_file = || {
        Error::InvalidOption(format!(
            "the csv source at `{path}` has no schema and no file to take one from: declare a schema, \
             or add a file with a header line"
        ))
    };
    let files = list_files(path).map_err(|e| Error::InvalidOption(format!("cannot list `{path}`: {e}")))?;
    let first = files.first().ok_or_else(no_file)?;
    let file = File::open(first).map_err(|e| Error::InvalidOption(format!("{}: {e}", first.display())))?;
    let mut line = Vec::new();
    std::io::BufRead::read_until(&mut std::io::BufReader::new(file), b'\n', &mut line)
        .map_err(|e| Error::InvalidOption(format!("{}: {e}", first.display())))?;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    let mut header = CsvLines::new(options);
    header.parse(&line);
    if header.len() == 0 {
        return Err(no_file());
    }
    let record: Vec<String> = (0..header.len())
        .map(|i| String::from_utf8_lossy(header.field(i)).into_owned())
        .collect();
    Ok(Schema::new(record.iter().enumerate().map(|(i, name)| {
        let name = if options.header {
            name.to_string()
        } else {
            format!("_c{i}")
        };
        Field::new(name, DataType::String)
    })))
}

impl Source for FileSource {
    fn description(&self) -> String {
        let kind = if self.once {
            "FileTable"
        } else {
            "FileStreamSource"
        };
        format!("{kind}[{}: {}]", self.partitions.options.format, self.path)
    }

    fn schema(&self) -> Schema {
        self.partitions.decoder.schema().clone()
    }

    fn open(&self, _wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        Ok(Box::new(FileLister {
            path: self.path.clone(),
            new_files: NewFiles::default(),
            queue: VecDeque::new(),
            next_list: Instant::now(),
            bounded: self.once,
            listed: false,
            force: false,
            missing_warned: false,
        }))
    }

    fn partition_reader(&self) -> Option<Arc<dyn PartitionReader>> {
        Some(self.partitions.clone())
    }

    fn max_per_epoch(&self) -> Option<usize> {
        self.max_files_per_trigger
    }

    fn resumes_from_records(&self) -> bool {
        true
    }

    fn committed(&self, records: &[Row]) -> std::result::Result<(), SourceError> {
        for record in records {
            if let Some(Value::Str(file)) = record.first() {
                self.clean.apply(Path::new(file.as_str()));
            }
        }
        Ok(())
    }

    fn is_static(&self) -> bool {
        self.once
    }

    fn size_in_bytes(&self) -> Option<u64> {
        *self.size.get_or_init(|| {
            let files = super::listing::list_files(&self.path).ok()?;
            files
                .iter()
                .map(|file| std::fs::metadata(file).ok().map(|m| m.len()))
                .sum()
        })
    }
}

/// The leader's side: lists the path and hands out new files as `[path]` rows.
struct FileLister {
    path: String,
    new_files: NewFiles,
    queue: VecDeque<PathBuf>,
    next_list: Instant,
    /// No more listing after the first (available-now, or a static table).
    bounded: bool,
    listed: bool,
    force: bool,
    /// The path was found missing and that was logged (once, until it appears).
    missing_warned: bool,
}

impl FileLister {
    fn list(&mut self) -> std::result::Result<(), SourceError> {
        let fresh = self.new_files.take(&self.path).map_err(|e| SourceError::Read {
            source_name: format!("file source {}", self.path),
            reason: format!("cannot list the path: {e}"),
        })?;
        if fresh.is_empty() && !path_exists(&self.path) {
            if !self.missing_warned {
                tracing::warn!(
                    "the file source's path {} does not exist yet; waiting for it to appear",
                    self.path
                );
                self.missing_warned = true;
            }
        } else {
            self.missing_warned = false;
        }
        self.queue.extend(fresh);
        self.listed = true;
        self.force = false;
        self.next_list = Instant::now() + LIST_INTERVAL;
        Ok(())
    }
}

impl SourceReader for FileLister {
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> std::result::Result<ReadStatus, SourceError> {
        let may_list = !(self.bounded && self.listed);
        if may_list && (self.force || !self.listed || Instant::now() >= self.next_list) {
            self.list()?;
        }
        while out.len() < max {
            let Some(file) = self.queue.pop_front() else {
                break;
            };
            out.push(Row::from(vec![Value::str(file.to_string_lossy())]));
        }
        Ok(if self.bounded && self.listed && self.queue.is_empty() {
            ReadStatus::Exhausted
        } else {
            ReadStatus::Open
        })
    }

    fn end_at_available_now(&mut self) {
        // What exists now is what will be read.
        self.bounded = true;
        self.listed = false;
    }

    fn next_poll(&self) -> Option<Instant> {
        (!self.bounded).then_some(self.next_list)
    }

    fn discover_now(&mut self) {
        self.force = true;
    }

    fn resume(&mut self, _consumed: u64, records: &[Row], _position: Option<&serde_json::Value>) {
        for record in records {
            if let Some(Value::Str(path)) = record.first() {
                self.new_files.mark_seen(PathBuf::from(path.as_str()));
            }
        }
    }
}

/// Spark's `cleanSource`: what happens to a file once the epoch that read it is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CleanSource {
    /// The file stays (the default).
    Off,
    /// The file is deleted.
    Delete,
    /// The file moves under this directory, at its own absolute path (as in Spark).
    Archive(PathBuf),
}

impl CleanSource {
    fn from_options(options: &Options) -> Result<Self> {
        let archive_dir = options.get("sourceArchiveDir");
        match options
            .get("cleanSource")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("off") => Ok(CleanSource::Off),
            Some("delete") => Ok(CleanSource::Delete),
            Some("archive") => archive_dir
                .map(|dir| CleanSource::Archive(PathBuf::from(dir)))
                .ok_or_else(|| {
                    Error::InvalidOption(
                        "cleanSource `archive` needs option `sourceArchiveDir`: where the files go".into(),
                    )
                }),
            Some(other) => Err(Error::InvalidOption(format!(
                "option `cleanSource` = `{other}` is not valid: use off, delete or archive"
            ))),
        }
    }

    /// Deletes or archives `file`. A failure loses nothing (the file was read and committed),
    /// so it is logged, not raised, as in Spark.
    fn apply(&self, file: &Path) {
        let done = match self {
            CleanSource::Off => return,
            CleanSource::Delete => std::fs::remove_file(file),
            CleanSource::Archive(dir) => {
                let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
                let relative: PathBuf = absolute
                    .components()
                    .filter(|c| matches!(c, std::path::Component::Normal(_)))
                    .collect();
                let target = dir.join(relative);
                target
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|_| std::fs::rename(file, &target))
            }
        };
        match done {
            // Already cleaned up, before a restart.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cleanSource could not clean up {}: {e}", file.display()),
            Ok(()) => {}
        }
    }
}
