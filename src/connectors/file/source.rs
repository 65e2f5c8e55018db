//! [`FileSource`]: the leader lists files; workers read them.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::format::{FileFormat, FormatOptions};
use super::listing::{list_files, NewFiles};
use super::read::{csv_reader, FilePartitions};
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
