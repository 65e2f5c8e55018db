//! [`FileSource`]: the leader lists files; workers read them.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::csv_lines::CsvLines;
use super::encode::zone_option;
use super::format::{FileFormat, FormatOptions, CORRUPT_RECORD_CONF, CORRUPT_RECORD_OPTION};
use super::infer::{infer_csv, infer_json};
use super::listing::{path_exists, Listing, NewFiles};
use super::read::FilePartitions;
use super::split::SplitSize;
use crate::connectors::{Options, PartitionReader, ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::datetime::Pattern;
use crate::data::{DataType, Field, FieldText, Row, RowDecoder, Schema, Value};
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
    /// How the path is listed (`pathGlobFilter`, `recursiveFileLookup`, `latestFirst`,
    /// `maxFileAge`).
    listing: Listing,
    /// The files' total size, listed once: every worker building the query asks, and all must
    /// get the same answer (it decides the dataflow's shape, see `size_in_bytes`).
    size: std::sync::OnceLock<Option<u64>>,
}

/// Spark's `spark.sql.streaming.schemaInference`: a CSV or JSON stream without a declared
/// schema infers one from the files present when it starts (Spark requires a schema
/// otherwise). Static tables always infer.
pub const SCHEMA_INFERENCE_CONF: &str = "spark.sql.streaming.schemaInference";

impl FileSource {
    /// A streaming source of `format` files, or with `once` a static table read whole at start.
    /// `schema` is the declared one. Without it, CSV takes all-string columns named by the
    /// header of the first file (or `_c0`, `_c1`, ... without a header), or with `inferSchema`
    /// (and, for a stream, [`SCHEMA_INFERENCE_CONF`]) the types of the values; JSON infers its
    /// schema from the files (a stream only under [`SCHEMA_INFERENCE_CONF`]). `conf` gives the
    /// session's settings (the time zone, schema inference).
    pub fn new(
        format: FileFormat,
        options: &Options,
        schema: Option<Schema>,
        once: bool,
        conf: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
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
        let mut format_options = FormatOptions::from_options(format, options)?;
        if options.get(CORRUPT_RECORD_OPTION).is_none() {
            if let Some(name) = conf(CORRUPT_RECORD_CONF) {
                format_options.corrupt_column = name;
            }
        }
        let listing = Listing::from_options(options)?;
        let fields = field_text(format, options, &format_options, conf)?;
        let may_infer =
            once || conf(SCHEMA_INFERENCE_CONF).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let infer_types = options.bool_or("inferSchema", false)?;
        let list = || {
            listing
                .list(&path)
                .map(|files| files.into_iter().map(|(_, p)| p).collect::<Vec<_>>())
                .map_err(|e| Error::InvalidOption(format!("cannot list `{path}`: {e}")))
        };
        let schema = match (format, schema) {
            (FileFormat::Text, _) => FormatOptions::text_schema(),
            (_, Some(schema)) => schema,
            (FileFormat::Csv, None) if infer_types && may_infer => {
                infer_csv(&list()?, &format_options, &fields, true)?.ok_or_else(|| no_csv_file(&path))?
            }
            (FileFormat::Csv, None) => {
                if infer_types {
                    tracing::warn!(
                        "option `inferSchema` of the csv stream at {path} is ignored: a stream infers \
                         types only when `{SCHEMA_INFERENCE_CONF}` is true (Spark requires a schema \
                         otherwise); its columns are read as strings"
                    );
                }
                csv_schema_from_first_file(&path, &listing, &format_options)?
            }
            (FileFormat::Json, None) if may_infer => {
                infer_json(&list()?, &format_options)?.ok_or_else(|| {
                    Error::InvalidOption(format!(
                        "the json source at `{path}` has no schema and no file with a JSON object to infer \
                     one from: declare a schema with .schema(..), or add a file first"
                    ))
                })?
            }
            (FileFormat::Parquet, None) if may_infer => parquet_schema(&path, &list()?)?,
            (FileFormat::Json | FileFormat::Parquet, None) => {
                return Err(Error::InvalidOption(format!(
                    "the {format} source needs a schema: call .schema(..) (or declare the columns in SQL), \
                     or set `{SCHEMA_INFERENCE_CONF}` to true to infer it from the files present at start"
                )))
            }
        };
        // Spark's INVALID_CORRUPT_RECORD_TYPE: the corrupt-record column holds text.
        if let Some(field) = schema.fields().iter().find(|f| {
            f.name == format_options.corrupt_column && matches!(format, FileFormat::Csv | FileFormat::Json)
        }) {
            if field.data_type != DataType::String {
                return Err(Error::InvalidOption(format!(
                    "the column `{}` for corrupt records must have the nullable STRING type, but got {}; \
                     declare it as STRING or name another column with `{CORRUPT_RECORD_OPTION}`",
                    field.name,
                    field.data_type.sql_name().to_ascii_uppercase()
                )));
            }
        }
        if format == FileFormat::Parquet && !cfg!(feature = "parquet") {
            return Err(super::sink::without_parquet());
        }
        let max_files_per_trigger = match options.get("maxFilesPerTrigger") {
            None => None,
            Some(_) => Some(options.parse_or("maxFilesPerTrigger", 1usize)?.max(1)),
        };
        let clean = CleanSource::from_options(options)?;
        Ok(FileSource {
            clean: if once { CleanSource::Off } else { clean },
            listing,
            path,
            max_files_per_trigger: if once { None } else { max_files_per_trigger },
            once,
            partitions: Arc::new(FilePartitions {
                decoder: RowDecoder::new(schema, format_options.mode)
                    .with_corrupt_column(&format_options.corrupt_column)
                    .with_text(fields),
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

/// How the fields of `format` read: `nullValue` (CSV), `timestampFormat`, `dateFormat` and
/// the zone.
fn field_text(
    format: FileFormat,
    options: &Options,
    format_options: &FormatOptions,
    conf: &dyn Fn(&str) -> Option<String>,
) -> Result<FieldText> {
    let pattern = |key: &str| {
        options
            .get(key)
            .map(|text| Pattern::new(text).map_err(|e| Error::InvalidOption(format!("option `{key}`: {e}"))))
            .transpose()
    };
    Ok(FieldText {
        null_value: (format == FileFormat::Csv).then(|| format_options.null_value.clone()),
        timestamp_format: pattern("timestampFormat")?,
        date_format: pattern("dateFormat")?,
        zone: zone_option(options, conf)?,
    })
}

/// The schema of the first Parquet file of `files`, which carries its own.
#[cfg(feature = "parquet")]
fn parquet_schema(path: &str, files: &[PathBuf]) -> Result<Schema> {
    let first = files.first().ok_or_else(|| {
        Error::InvalidOption(format!(
            "the parquet source at `{path}` has no schema and no file to take one from: declare a \
             schema with .schema(..), or add a file first"
        ))
    })?;
    let unreadable = |e: String| Error::InvalidOption(format!("{}: {e}", first.display()));
    let file = File::open(first).map_err(|e| unreadable(e.to_string()))?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| unreadable(e.to_string()))?;
    super::parquet::schema_of(builder.schema()).map_err(unreadable)
}

/// Without the `parquet` feature there is no parquet source (see `without_parquet`).
#[cfg(not(feature = "parquet"))]
fn parquet_schema(_: &str, _: &[PathBuf]) -> Result<Schema> {
    Err(super::sink::without_parquet())
}

fn no_csv_file(path: &str) -> Error {
    Error::InvalidOption(format!(
        "the csv source at `{path}` has no schema and no file to take one from: declare a schema, \
         or add a file with a header line"
    ))
}

fn csv_schema_from_first_file(path: &str, listing: &Listing, options: &FormatOptions) -> Result<Schema> {
    let no_file = || no_csv_file(path);
    let files = listing
        .list(path)
        .map_err(|e| Error::InvalidOption(format!("cannot list `{path}`: {e}")))?;
    let (_, first) = files.first().ok_or_else(no_file)?;
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
            listing: self.listing.clone(),
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

    fn reading_only(&self, read: &[bool]) -> Option<Arc<dyn Source>> {
        // Text has one column, and a Parquet file is read by column name: only the formats
        // whose records are converted field by field skip fields.
        if !matches!(self.partitions.options.format, FileFormat::Json | FileFormat::Csv) {
            return None;
        }
        let decoder = self.partitions.decoder.reading_only(read)?;
        let mut source = self.clone();
        source.partitions = Arc::new(FilePartitions {
            decoder,
            ..(*self.partitions).clone()
        });
        Some(Arc::new(source))
    }

    fn columns_read(&self) -> Option<Vec<bool>> {
        self.partitions.decoder.columns_read()
    }

    fn size_in_bytes(&self) -> Option<u64> {
        *self.size.get_or_init(|| {
            let files = self.listing.list(&self.path).ok()?;
            files
                .iter()
                .map(|(_, file)| std::fs::metadata(file).ok().map(|m| m.len()))
                .sum()
        })
    }
}

/// The leader's side: lists the path and hands out new files as `[path]` rows.
struct FileLister {
    path: String,
    listing: Listing,
    new_files: NewFiles,
    /// Files listed and not handed out yet, with their modification times.
    queue: VecDeque<(std::time::SystemTime, PathBuf)>,
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
        let fresh = self
            .new_files
            .take(&self.path, &self.listing)
            .map_err(|e| SourceError::Read {
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
        if self.listing.latest_first {
            // Newer files go before an older backlog, as Spark takes them.
            self.queue
                .make_contiguous()
                .sort_by(|(t1, p1), (t2, p2)| t2.cmp(t1).then_with(|| p1.cmp(p2)));
        }
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
            let Some((_, file)) = self.queue.pop_front() else {
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
