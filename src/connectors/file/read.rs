//! The workers' side of a file source: each file is read where its name lands, a part at a
//! time ([`PartitionRead`]), so a large file never sits in memory whole and its rows reach the
//! operators after the reader while they are still in the cache.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};

use super::format::{FileFormat, FormatOptions};
use crate::connectors::{PartitionRead, PartitionReader, SourceEvent};
use crate::data::{Decoded, Row, RowDecoder, Value};

/// Reads files of one format into rows of the source's schema.
#[derive(Debug)]
pub(super) struct FilePartitions {
    pub(super) options: FormatOptions,
    pub(super) decoder: RowDecoder,
}

/// Builds a CSV reader with the source's options (no header handling: the reader skips the
/// first record itself, counting lines as the file has them).
pub(super) fn csv_reader<R: std::io::Read>(options: &FormatOptions, input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.sep)
        .quote(options.quote)
        .double_quote(true)
        .escape(Some(options.escape))
        .from_reader(input)
}

impl PartitionReader for FilePartitions {
    fn open(&self, item: &Row, source: usize) -> Box<dyn PartitionRead> {
        let path = item.first().and_then(Value::as_str).unwrap_or_default();
        let mut report = FileReport::new(path, source);
        let input = match File::open(path) {
            Err(e) => {
                report.failure = Some(format!("cannot read {path}: {e}"));
                Input::Done
            }
            Ok(file) if self.options.format == FileFormat::Csv => Input::Csv {
                reader: Box::new(csv_reader(&self.options, file)),
                record: csv::ByteRecord::new(),
                first: true,
            },
            Ok(file) => Input::Lines {
                reader: BufReader::new(file),
                line: Vec::new(),
                number: 0,
            },
        };
        Box::new(FileRead {
            options: self.options.clone(),
            decoder: self.decoder.clone(),
            input,
            report: Some(report),
        })
    }
}

/// One file being read.
struct FileRead {
    options: FormatOptions,
    decoder: RowDecoder,
    input: Input,
    /// Taken, and its events handed over, when the file ends.
    report: Option<FileReport>,
}

/// Where the reading of a file stands.
enum Input {
    Csv {
        /// Boxed: the reader keeps its buffers inline, and the other states are small.
        reader: Box<csv::Reader<File>>,
        record: csv::ByteRecord,
        /// The next record is the file's first (a header, with `header`).
        first: bool,
    },
    /// Text and JSON lines.
    Lines {
        reader: BufReader<File>,
        line: Vec<u8>,
        number: u64,
    },
    Done,
}

impl PartitionRead for FileRead {
    fn read(&mut self, max: usize, rows: &mut dyn FnMut(Row), events: &mut Vec<SourceEvent>) -> bool {
        let Some(report) = self.report.as_mut() else {
            return false;
        };
        let mut records = 0;
        let more = loop {
            if records == max {
                break true;
            }
            match self.input.next(&self.options, &self.decoder) {
                Ok(Some((decoded, line))) => {
                    records += 1;
                    if !report.take(decoded, line, rows) {
                        break false;
                    }
                }
                Ok(None) => break false,
                Err(e) => {
                    let failure = format!("cannot read {}: {e}", report.file);
                    report.failure.get_or_insert(failure);
                    break false;
                }
            }
        };
        if !more {
            self.input = Input::Done;
            if let Some(report) = self.report.take() {
                report.finish(events);
            }
        }
        more
    }
}

impl Input {
    /// The next record, decoded, with its line number; `None` at the end of the file.
    fn next(
        &mut self,
        options: &FormatOptions,
        decoder: &RowDecoder,
    ) -> Result<Option<(Decoded, u64)>, ReadError> {
        match self {
            Input::Csv {
                reader,
                record,
                first,
            } => loop {
                if !reader.read_byte_record(record)? {
                    return Ok(None);
                }
                let line = record.position().map_or(0, |p| p.line());
                if std::mem::take(first) && options.header {
                    continue;
                }
                let raw = || {
                    let fields: Vec<_> = record.iter().map(utf8_text).collect();
                    fields.join(&char::from(options.sep).to_string())
                };
                // One UTF-8 check for the whole record rather than one per field: the fields
                // lie back to back in it, so each is then a slice of checked text.
                let decoded = match std::str::from_utf8(record.as_slice()) {
                    Ok(text) => {
                        let field = |i: usize| match record.range(i).and_then(|r| text.get(r)) {
                            Some(field) => Cow::Borrowed(field),
                            // A character cut by a field's edge: the field checks alone.
                            None => utf8_text(record.get(i).unwrap_or_default()),
                        };
                        decoder.decode_fields((0..record.len()).map(field), raw)
                    }
                    Err(_) => decoder.decode_fields(record.iter().map(utf8_text), raw),
                };
                return Ok(Some((decoded, line)));
            },
            Input::Lines { reader, line, number } => loop {
                line.clear();
                if reader.read_until(b'\n', line)? == 0 {
                    return Ok(None);
                }
                *number += 1;
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                let text = utf8_text(line);
                let decoded = match options.format {
                    FileFormat::Json if text.trim().is_empty() => continue,
                    FileFormat::Json => decoder.decode_json(&text),
                    _ => Decoded::Row(Row::from(vec![Value::str(text.as_ref())])),
                };
                return Ok(Some((decoded, *number)));
            },
            Input::Done => Ok(None),
        }
    }
}

/// Why a file could not be read on.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// Counts and failures of one file.
struct FileReport {
    file: String,
    source: usize,
    rows: u64,
    malformed: u64,
    failure: Option<String>,
}

impl FileReport {
    fn new(file: &str, source: usize) -> Self {
        FileReport {
            file: file.to_string(),
            source,
            rows: 0,
            malformed: 0,
            failure: None,
        }
    }

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

/// A field's or line's text: borrowed when it is valid UTF-8, as it nearly always is (checking
/// that is much cheaper than the lossy decoder's chunk by chunk walk); otherwise with each
/// invalid sequence replaced by U+FFFD, as Spark reads it.
fn utf8_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
