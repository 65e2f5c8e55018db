//! [`FileSource`]: the leader lists files; workers read them.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::format::{FileFormat, FormatOptions};
use super::listing::{list_files, NewFiles};
use crate::connectors::{
    Options, PartitionReader, ReadStatus, Source, SourceError, SourceEvent, SourceReader, Wake,
};
use crate::data::{DataType, Decoded, Field, Row, RowDecoder, Schema, Value};
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
        Ok(FileSource {
            path,
            max_files_per_trigger: if once { None } else { max_files_per_trigger },
            once,
            partitions: Arc::new(FilePartitions {
                decoder: RowDecoder::new(schema, format_options.mode),
                options: format_options,
            }),
            size: std::sync::OnceLock::new(),
        })
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
    let mut reader = csv_reader(
        options,
        File::open(first).map_err(|e| Error::InvalidOption(format!("{}: {e}", first.display())))?,
    );
    let mut record = csv::StringRecord::new();
    if !reader.read_record(&mut record).unwrap_or(false) {
        return Err(no_file());
    }
    Ok(Schema::new(record.iter().enumerate().map(|(i, name)| {
        let name = if options.header {
            name.to_string()
        } else {
            format!("_c{i}")
        };
        Field::new(name, DataType::String)
    })))
}

fn csv_reader<R: std::io::Read>(options: &FormatOptions, input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.sep)
        .quote(options.quote)
        .double_quote(true)
        .escape(Some(options.escape))
        .from_reader(input)
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
        }))
    }

    fn partition_reader(&self) -> Option<Arc<dyn PartitionReader>> {
        Some(self.partitions.clone())
    }

    fn max_per_epoch(&self) -> Option<usize> {
        self.max_files_per_trigger
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
}

impl FileLister {
    fn list(&mut self) -> std::result::Result<(), SourceError> {
        let fresh = self.new_files.take(&self.path).map_err(|e| SourceError::Read {
            source_name: format!("file source {}", self.path),
            reason: format!("cannot list the path: {e}"),
        })?;
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
}

/// The workers' side: reads one file into rows.
#[derive(Debug)]
struct FilePartitions {
    options: FormatOptions,
    decoder: RowDecoder,
}

/// Counts and failures of one file.
struct FileReport<'a> {
    file: &'a str,
    source: usize,
    rows: u64,
    malformed: u64,
    failure: Option<String>,
}

impl FileReport<'_> {
    /// Applies one decoded record; false once the file must stop (FAILFAST).
    fn take(&mut self, decoded: Decoded, line: u64, rows: &mut dyn FnMut(Row)) -> bool {
        match decoded {
            Decoded::Row(row) => {
                rows(row);
                self.rows += 1;
            }
            Decoded::Repaired(row, reason) => {
                tracing::debug!("{}:{line}: malformed record kept: {reason}", self.file);
                rows(row);
                self.rows += 1;
                self.malformed += 1;
            }
            Decoded::Dropped(reason) => {
                tracing::debug!("{}:{line}: malformed record dropped: {reason}", self.file);
                self.malformed += 1;
            }
            Decoded::Failed(reason) => {
                self.failure = Some(format!(
                    "malformed record in {}, line {line} (mode FAILFAST): {reason}",
                    self.file
                ));
                return false;
            }
        }
        true
    }

    fn finish(self, events: &mut Vec<SourceEvent>) {
        if self.malformed > 0 {
            tracing::warn!("{}: {} malformed record(s)", self.file, self.malformed);
            events.push(SourceEvent::Malformed {
                source: self.source,
                records: self.malformed,
            });
        }
        if self.rows > 0 {
            events.push(SourceEvent::Rows {
                source: self.source,
                rows: self.rows,
            });
        }
        if let Some(message) = self.failure {
            events.push(SourceEvent::Failed {
                source: self.source,
                message,
            });
        }
    }
}

impl FilePartitions {
    fn read_lines(
        &self,
        file: File,
        report: &mut FileReport<'_>,
        rows: &mut dyn FnMut(Row),
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0u64;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            number += 1;
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            let text = utf8_text(&line);
            let decoded = match self.options.format {
                FileFormat::Json if text.trim().is_empty() => continue,
                FileFormat::Json => self.decoder.decode_json(&text),
                _ => Decoded::Row(Row::from(vec![Value::str(text.as_ref())])),
            };
            if !report.take(decoded, number, rows) {
                return Ok(());
            }
        }
    }

    fn read_csv(
        &self,
        file: File,
        report: &mut FileReport<'_>,
        rows: &mut dyn FnMut(Row),
    ) -> std::result::Result<(), csv::Error> {
        let mut reader = csv_reader(&self.options, BufReader::new(file));
        let mut record = csv::ByteRecord::new();
        let mut first = true;
        let separator = char::from(self.options.sep).to_string();
        while reader.read_byte_record(&mut record)? {
            let line = record.position().map_or(0, |p| p.line());
            if std::mem::take(&mut first) && self.options.header {
                continue;
            }
            let raw = || {
                let fields: Vec<_> = record.iter().map(utf8_text).collect();
                fields.join(&separator)
            };
            let decoded = self.decoder.decode_fields(record.iter().map(utf8_text), raw);
            if !report.take(decoded, line, rows) {
                break;
            }
        }
        Ok(())
    }
}

impl PartitionReader for FilePartitions {
    fn read(&self, item: &Row, source: usize, rows: &mut dyn FnMut(Row), events: &mut Vec<SourceEvent>) {
        let Some(path) = item.first().and_then(Value::as_str) else {
            return;
        };
        let mut report = FileReport {
            file: path,
            source,
            rows: 0,
            malformed: 0,
            failure: None,
        };
        let outcome =
            File::open(path)
                .map_err(|e| e.to_string())
                .and_then(|file| match self.options.format {
                    FileFormat::Csv => self.read_csv(file, &mut report, rows).map_err(|e| e.to_string()),
                    _ => self
                        .read_lines(file, &mut report, rows)
                        .map_err(|e| e.to_string()),
                });
        if let Err(e) = outcome {
            report
                .failure
                .get_or_insert_with(|| format!("cannot read {path}: {e}"));
        }
        report.finish(events);
    }
}

/// A field's or line's text: borrowed when it is valid UTF-8, as it nearly always is (checking
/// that is much cheaper than the lossy decoder's chunk by chunk walk); otherwise with each
/// invalid sequence replaced by U+FFFD, as Spark reads it.
fn utf8_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
