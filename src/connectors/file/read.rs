//! The workers' side of a file source: each file, or byte range of a file (see `split.rs`), is
//! read where the leader's plan sends it, a part at a time ([`PartitionRead`]), so a large
//! file never sits in memory whole and its rows reach the operators after the reader while
//! they are still in the cache.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use super::csv_lines::CsvLines;
use super::format::{FileFormat, FormatOptions};
use super::split::{byte_range, route, SplitSize};
use crate::connectors::{PartitionRead, PartitionReader, SourceEvent};
use crate::data::{Decoded, Row, RowDecoder, Value};

/// Reads files of one format into rows of the source's schema.
#[derive(Clone, Debug)]
pub(super) struct FilePartitions {
    pub(super) options: FormatOptions,
    pub(super) decoder: RowDecoder,
    /// How files are cut into byte ranges.
    pub(super) split: SplitSize,
}

impl PartitionReader for FilePartitions {
    fn open(&self, item: &Row, source: usize) -> Box<dyn PartitionRead> {
        let path = item.first().and_then(Value::as_str).unwrap_or_default();
        let range = byte_range(item);
        let mut report = FileReport::new(path, source, range);
        let input = match open_at(path, range) {
            Err(e) => {
                report.failure = Some(format!("cannot read {path}: {e}"));
                Input::Done
            }
            Ok((metadata, reader, _)) if self.options.format == FileFormat::Parquet => {
                // A Parquet file is never cut into ranges: it is read whole, from its start.
                report.opened = Some(Stamp::of(&metadata));
                report.position = metadata.len();
                match Input::parquet(reader.into_inner()) {
                    Ok(input) => input,
                    Err(e) => {
                        report.failure = Some(format!("cannot read {path} as parquet: {e}"));
                        Input::Done
                    }
                }
            }
            Ok((metadata, reader, position)) => {
                report.opened = Some(Stamp::of(&metadata));
                report.position = position;
                Input::Lines {
                    reader,
                    line: Vec::new(),
                    number: 0,
                    first_line_is_header: self.options.header && range.is_none_or(|(start, _)| start == 0),
                    end: range.map(|(_, end)| end),
                    csv: (self.options.format == FileFormat::Csv)
                        .then(|| Box::new(CsvLines::new(&self.options))),
                    documents: None,
                }
            }
        };
        Box::new(FileRead {
            options: self.options.clone(),
            decoder: self.decoder.clone(),
            input,
            report: Some(report),
        })
    }

    fn plan_items(&self, items: Vec<Row>, workers: usize) -> Vec<Row> {
        // Records that span lines (`multiLine`) and Parquet's own layout are read file by file.
        if self.options.multi_line || self.options.format == FileFormat::Parquet {
            return items;
        }
        self.split.plan(items, workers)
    }

    fn route(&self, item: &Row) -> u64 {
        route(item)
    }
}

/// Opens `path` for the byte `range` (the whole file when `None`), positioned at the range's
/// first line: past the first line break at or after its start, unless it starts at 0
/// (Hadoop's rule: the range before reads the line that straddles its end). Returns the
/// file's metadata at opening, the reader and its position in the file.
fn open_at(
    path: &str,
    range: Option<(u64, u64)>,
) -> std::io::Result<(std::fs::Metadata, BufReader<File>, u64)> {
    let mut file = File::open(path)?;
    let metadata = file.metadata()?;
    let start = range.map_or(0, |(start, _)| start);
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut position = start;
    if start > 0 {
        let mut skipped = Vec::new();
        position += reader.read_until(b'\n', &mut skipped)? as u64;
    }
    Ok((metadata, reader, position))
}

/// The reader's buffer: large enough that a read is rarely a system call per few lines.
const READ_BUFFER: usize = 64 << 10;

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
    /// Lines of text, JSON or CSV (each line one record, as Spark without `multiLine`).
    Lines {
        reader: BufReader<File>,
        line: Vec<u8>,
        /// The number of the last line read, counted from the range's first line.
        number: u64,
        /// CSV with `header`, read from the file's start: line 1 is the header, not a record.
        first_line_is_header: bool,
        /// The range's end: no line that starts past it is read. `None`: the file's end.
        end: Option<u64>,
        /// The CSV parser, for CSV files (boxed: its tables are large, `Done` is small).
        csv: Option<Box<CsvLines>>,
        /// JSON with `multiLine`: the file's records, once it has been read whole.
        documents: Option<std::collections::VecDeque<String>>,
    },
    /// A Parquet file, a record batch at a time (feature `parquet`).
    #[cfg(feature = "parquet")]
    Parquet {
        reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
        /// The batch being read, the batch column of each schema column (by name), and the
        /// next row.
        batch: Option<(arrow_array::RecordBatch, Vec<Option<usize>>, usize)>,
        /// Rows read so far (the "line" of a report).
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
            match self.input.next(
                &self.options,
                &self.decoder,
                &mut report.position,
                &mut report.at_end,
            ) {
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
            if let Input::Lines { reader, .. } = &self.input {
                report.check_unchanged(reader.get_ref());
            }
            self.input = Input::Done;
            if let Some(report) = self.report.take() {
                report.finish(events);
            }
        }
        more
    }
}

impl Input {
    /// Opens a Parquet file.
    #[cfg(feature = "parquet")]
    fn parquet(file: File) -> Result<Input, String> {
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.with_batch_size(4096).build())
            .map_err(|e| e.to_string())?;
        Ok(Input::Parquet {
            reader,
            batch: None,
            number: 0,
        })
    }

    /// Without the `parquet` feature, a Parquet file cannot be read.
    #[cfg(not(feature = "parquet"))]
    fn parquet(_: File) -> Result<Input, String> {
        Err(super::sink::without_parquet().to_string())
    }

    /// The next row of a Parquet file: the columns of the decoder's schema found by name
    /// (ignoring case), cast to the declared types; a column the file lacks is null.
    #[cfg(feature = "parquet")]
    fn next_parquet(&mut self, decoder: &RowDecoder) -> Result<Option<(Decoded, u64)>, std::io::Error> {
        let Input::Parquet {
            reader,
            batch,
            number,
        } = self
        else {
            return Ok(None);
        };
        loop {
            if let Some((records, columns, row)) = batch {
                if *row < records.num_rows() {
                    let values: Row = decoder
                        .schema()
                        .fields()
                        .iter()
                        .zip(columns.iter())
                        .map(|(field, column)| match column {
                            Some(c) => crate::data::cast(
                                super::parquet::value_at(records.column(*c).as_ref(), *row),
                                &field.data_type,
                            ),
                            None => Value::Null,
                        })
                        .collect();
                    *row += 1;
                    *number += 1;
                    return Ok(Some((Decoded::Row(values), *number)));
                }
            }
            match reader.next() {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        e.to_string(),
                    ))
                }
                Some(Ok(records)) => {
                    let names = records.schema();
                    let columns = decoder
                        .schema()
                        .fields()
                        .iter()
                        .map(|field| {
                            names
                                .fields()
                                .iter()
                                .position(|f| f.name().eq_ignore_ascii_case(&field.name))
                        })
                        .collect();
                    *batch = Some((records, columns, 0));
                }
            }
        }
    }

    /// The next record, decoded, with its line number; `None` at the end of the range.
    /// `position` follows the reader's place in the file; `at_end` is set when the file ended
    /// (rather than the range).
    fn next(
        &mut self,
        options: &FormatOptions,
        decoder: &RowDecoder,
        position: &mut u64,
        at_end: &mut bool,
    ) -> Result<Option<(Decoded, u64)>, std::io::Error> {
        #[cfg(feature = "parquet")]
        if let Input::Parquet { .. } = self {
            return self.next_parquet(decoder);
        }
        let Input::Lines {
            reader,
            line,
            number,
            first_line_is_header,
            end,
            csv,
            documents,
        } = self
        else {
            return Ok(None);
        };
        if options.format == FileFormat::Json && options.multi_line {
            // One document per file, read whole: an object is a record, an array's elements
            // are records, anything else is one malformed record.
            if documents.is_none() {
                line.clear();
                *position += reader.read_to_end(line)? as u64;
                *at_end = true;
                let text = utf8_text(line);
                let records = match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(serde_json::Value::Array(items)) => items.iter().map(|i| i.to_string()).collect(),
                    _ if text.trim().is_empty() => Default::default(),
                    _ => std::collections::VecDeque::from([text.into_owned()]),
                };
                *documents = Some(records);
            }
            let Some(record) = documents.as_mut().and_then(|d| d.pop_front()) else {
                return Ok(None);
            };
            *number += 1;
            return Ok(Some((decoder.decode_json(&record), *number)));
        }
        if options.format == FileFormat::Text {
            return next_text_line(reader, line, *end, position, at_end)
                .map(|row| row.map(|row| (Decoded::Row(row), bump(number))));
        }
        loop {
            if end.is_some_and(|end| *position > end) {
                return Ok(None);
            }
            if options.format == FileFormat::Json {
                let decoded = with_next_line(reader, line, position, at_end, |bytes| {
                    let text = utf8_text(without_line_break(bytes));
                    (!text.trim().is_empty()).then(|| decoder.decode_json(&text))
                })?;
                let Some(decoded) = decoded else {
                    return Ok(None);
                };
                *number += 1;
                match decoded {
                    Some(decoded) => return Ok(Some((decoded, *number))),
                    None => continue, // a blank line is no record
                }
            }
            line.clear();
            let read = reader.read_until(b'\n', line)?;
            if read == 0 {
                *at_end = true;
                return Ok(None);
            }
            *position += read as u64;
            *number += 1;
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            let decoded = match (options.format, csv.as_deref_mut()) {
                (FileFormat::Csv, Some(csv)) => {
                    if *number == 1 && *first_line_is_header {
                        continue;
                    }
                    let mut closed = csv.parse(line);
                    // With multiLine, a quoted field still open takes the next line too.
                    while !closed && options.multi_line {
                        line.push(b'\n');
                        let start = line.len();
                        let more = reader.read_until(b'\n', line)?;
                        if more == 0 {
                            line.pop();
                            break;
                        }
                        *position += more as u64;
                        *number += 1;
                        while line.len() > start && matches!(line.last(), Some(b'\n' | b'\r')) {
                            line.pop();
                        }
                        closed = csv.parse(line);
                    }
                    if csv.len() == 0 {
                        continue; // an empty line is no record, as Spark skips it
                    }
                    let raw = || utf8_text(line).into_owned();
                    if !closed {
                        decoder.reject(
                            raw(),
                            "unbalanced quote: a quoted field is still open at the end of the line".into(),
                        )
                    } else {
                        decode_csv(csv, line, options, decoder, raw)
                    }
                }
                _ => Decoded::Row(text_row(line)),
            };
            return Ok(Some((decoded, *number)));
        }
    }
}

/// Adds one to `number`, and gives it.
fn bump(number: &mut u64) -> u64 {
    *number += 1;
    *number
}

/// The next line of a text file as a row of one string, without its line break (`\n`, `\r\n`
/// or `\r` before `\n`); `None` at the end of the range (`end`) or of the file.
fn next_text_line(
    reader: &mut BufReader<File>,
    line: &mut Vec<u8>,
    end: Option<u64>,
    position: &mut u64,
    at_end: &mut bool,
) -> std::io::Result<Option<Row>> {
    if end.is_some_and(|end| *position > end) {
        return Ok(None);
    }
    with_next_line(reader, line, position, at_end, text_row)
}

/// Gives `read` the next line of `reader`, with its line break if it has one, and moves past
/// it (adding its length to `position`); `None` at the end of the file, which sets `at_end`.
/// A line that lies whole in the reader's buffer is read there: only one that straddles the
/// buffer's end is copied into `line` first.
fn with_next_line<T>(
    reader: &mut BufReader<File>,
    line: &mut Vec<u8>,
    position: &mut u64,
    at_end: &mut bool,
    read: impl FnOnce(&[u8]) -> T,
) -> std::io::Result<Option<T>> {
    let buffer = reader.fill_buf()?;
    if buffer.is_empty() {
        *at_end = true;
        return Ok(None);
    }
    if let Some(at) = memchr::memchr(b'\n', buffer) {
        let read = read(&buffer[..=at]);
        reader.consume(at + 1);
        *position += at as u64 + 1;
        return Ok(Some(read));
    }
    line.clear();
    *position += reader.read_until(b'\n', line)? as u64;
    Ok(Some(read(line)))
}

/// `line` without the line breaks that end it.
fn without_line_break(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// A row of the text source: the line, without the line breaks that end it.
fn text_row(line: &[u8]) -> Row {
    Row::from([Value::str(utf8_text(without_line_break(line)).as_ref())])
}

/// Decodes the fields of the CSV line `csv` last parsed from `line`. An empty field reads as
/// `nullValue` (so null), a quoted empty one as `emptyValue`, as Spark's reader gives them.
fn decode_csv(
    csv: &CsvLines,
    line: &[u8],
    options: &FormatOptions,
    decoder: &RowDecoder,
    raw: impl FnOnce() -> String,
) -> Decoded {
    // Which empty fields were quoted matters only when the two options differ.
    let quoted = (options.null_value != options.empty_value
        && (0..csv.len()).any(|i| csv.range(i).is_empty()))
    .then(|| csv.quoted_fields(line));
    let empty = |i: usize| -> Cow<'_, str> {
        let was_quoted = quoted.as_ref().and_then(|q| q.get(i)).copied().unwrap_or(false);
        Cow::Borrowed(if was_quoted {
            options.empty_value.as_str()
        } else {
            options.null_value.as_str()
        })
    };
    // One UTF-8 check for the whole record rather than one per field: the fields lie back to
    // back in it, so each is then a slice of checked text.
    match std::str::from_utf8(csv.bytes()) {
        Ok(text) => {
            let field = |i: usize| match text.get(csv.range(i)) {
                Some("") => empty(i),
                Some(field) => Cow::Borrowed(field),
                // A character cut by a field's edge: the field checks alone.
                None => utf8_text(csv.field(i)),
            };
            decoder.decode_fields((0..csv.len()).map(field), raw)
        }
        Err(_) => decoder.decode_fields(
            (0..csv.len()).map(|i| match csv.field(i) {
                [] => empty(i),
                bytes => utf8_text(bytes),
            }),
            raw,
        ),
    }
}

/// A file's size and modification time, to tell whether it changed while it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

/// Counts and failures of one file.
struct FileReport {
    file: String,
    source: usize,
    rows: u64,
    malformed: u64,
    failure: Option<String>,
    /// The file's size and modification time when it was opened.
    opened: Option<Stamp>,
    /// The byte range read, if not the whole file.
    range: Option<(u64, u64)>,
    /// The reader's place in the file.
    position: u64,
    /// The reader reached the file's end.
    at_end: bool,
}

impl FileReport {
    fn new(file: &str, source: usize, range: Option<(u64, u64)>) -> Self {
        FileReport {
            file: file.to_string(),
            source,
            rows: 0,
            malformed: 0,
            failure: None,
            opened: None,
            range,
            position: range.map_or(0, |(start, _)| start),
            at_end: false,
        }
    }

    /// Where line `line` (counted from the range's first line) is, for messages.
    fn at(&self, line: u64) -> String {
        match self.range {
            Some((start, end)) if start > 0 => format!("line {line} of bytes {start}..{end}"),
            _ => format!("line {line}"),
        }
    }

    /// Warns when the file was truncated, grown or rewritten while it was read: the rows read
    /// are then not the file that was listed (files must be moved into the directory whole,
    /// and never changed there). Compares the size and modification time at the end with those
    /// at opening, both through the open file and by its path (which a rename replaces), and
    /// where the file ended under the reader with the size at opening.
    fn check_unchanged(&self, file: &File) {
        if let Some(warning) = self.changed_while_read(file) {
            tracing::warn!("{warning}");
        }
    }

    /// The warning [`check_unchanged`](Self::check_unchanged) gives, if any.
    fn changed_while_read(&self, file: &File) -> Option<String> {
        let opened = self.opened?;
        let now = file.metadata().ok().map(|m| Stamp::of(&m));
        let by_path = std::fs::metadata(&self.file).ok().map(|m| Stamp::of(&m));
        let changed = [now, by_path]
            .into_iter()
            .flatten()
            .find(|stamp| *stamp != opened);
        let short = self.at_end && self.position < opened.len && self.failure.is_none();
        (changed.is_some() || short).then(|| {
            let len_now = changed.map_or(self.position, |stamp| stamp.len);
            let (read, part) = match self.range {
                Some((start, end)) => (self.position - start, format!(" in bytes {start}..{end}")),
                None => (self.position, String::new()),
            };
            format!(
                "{} changed while it was read (size {} bytes when opened, {len_now} now; {read} bytes \
                 read{part}): the {} row(s) read from it may be incomplete; move files into the \
                 directory whole, and never change them there",
                self.file, opened.len, self.rows
            )
        })
    }

    /// Applies one decoded record; false once the file must stop (FAILFAST).
    fn take(&mut self, decoded: Decoded, line: u64, rows: &mut dyn FnMut(Row)) -> bool {
        match decoded {
            Decoded::Row(row) => {
                rows(row);
                self.rows += 1;
            }
            Decoded::Repaired(row, reason) => {
                tracing::debug!(
                    "{}, {}: malformed record kept: {reason}",
                    self.file,
                    self.at(line)
                );
                rows(row);
                self.rows += 1;
                self.malformed += 1;
            }
            Decoded::Dropped(reason) => {
                tracing::debug!(
                    "{}, {}: malformed record dropped: {reason}",
                    self.file,
                    self.at(line)
                );
                self.malformed += 1;
            }
            Decoded::Failed(reason) => {
                self.failure = Some(format!(
                    "malformed record in {}, {} (mode FAILFAST): {reason}",
                    self.file,
                    self.at(line)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::data::{DataType, Field, ParseMode, Schema};

    /// Where the test's log lines go.
    #[derive(Clone, Default)]
    struct Logged(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logged {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Reads the file `item` names, calling `between` after the first 10 rows; returns the
    /// rows read and the log.
    fn read_logged(partitions: &FilePartitions, item: &Row, between: impl FnOnce()) -> (usize, String) {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let rows = tracing::subscriber::with_default(subscriber, || {
            let (mut rows, mut events) = (0, Vec::new());
            let mut read = partitions.open(item, 0);
            assert!(read.read(10, &mut |_| rows += 1, &mut events));
            between();
            while read.read(1000, &mut |_| rows += 1, &mut events) {}
            rows
        });
        let log = String::from_utf8_lossy(&logged.0.lock().expect("log")).into_owned();
        (rows, log)
    }

    #[test]
    fn a_file_truncated_while_it_is_read_is_reported_with_the_rows_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.txt");
        // 20,000 lines of 11 bytes: far more than the reader's buffer holds.
        let text: String = (0..20_000).map(|i| format!("line {i:05}\n")).collect();
        std::fs::write(&path, &text).expect("write");
        let partitions = FilePartitions {
            options: FormatOptions::from_options(FileFormat::Text, &Default::default()).expect("options"),
            decoder: RowDecoder::new(
                Schema::new([Field::new("value", DataType::String)]),
                ParseMode::Permissive,
            ),
            split: SplitSize::default(),
        };
        let name = path.display().to_string();
        let item = Row::from(vec![Value::str(&name)]);

        let (rows, log) = read_logged(&partitions, &item, || {});
        assert_eq!(rows, 20_000);
        assert!(!log.contains("changed while it was read"), "{log}");

        let (rows, log) = read_logged(&partitions, &item, || {
            let file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
            file.set_len(110 * 1000).expect("truncate");
        });
        assert!(rows < 20_000, "{rows} rows");
        assert!(
            log.contains(&name)
                && log.contains("changed while it was read")
                && log.contains(&format!("{} bytes when opened", text.len()))
                && log.contains(&format!("{rows} row(s)")),
            "{log}"
        );
    }

    fn partitions(format: FileFormat, options: &[(&str, &str)], schema: Schema) -> FilePartitions {
        let mut given = crate::connectors::Options::default();
        for (key, value) in options {
            given.set(key, value);
        }
        FilePartitions {
            options: FormatOptions::from_options(format, &given).expect("options"),
            decoder: RowDecoder::new(schema, ParseMode::Permissive),
            split: SplitSize::default(),
        }
    }

    /// Text lines are taken from the reader's buffer where they lie whole in it, and copied
    /// out where they straddle its end: lines of every length up to three buffers, CRLF and
    /// LF endings, empty lines and a last line without a break all read as written, whole or
    /// cut into ranges whose edges fall anywhere.
    #[test]
    fn text_lines_read_the_same_in_and_across_the_read_buffer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.txt");
        let mut lines: Vec<String> = Vec::new();
        let mut text = String::new();
        for i in 0..400usize {
            let len = varied_length(i);
            let line: String = (0..len)
                .map(|k| {
                    if k % 11 == 0 {
                        ' '
                    } else {
                        char::from(b'a' + ((i + k) % 26) as u8)
                    }
                })
                .collect();
            let line = if i % 13 == 0 { String::new() } else { line };
            text.push_str(&line);
            text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
            lines.push(line);
        }
        text.push_str("é last, no break");
        lines.push("é last, no break".into());
        std::fs::write(&path, &text).expect("write");
        let partitions = partitions(
            FileFormat::Text,
            &[],
            Schema::new([Field::new("value", DataType::String)]),
        );
        assert_reads_in_any_ranges(&partitions, &path, &lines);
    }

    /// JSON lines too are read in the reader's buffer where they lie whole in it: records of
    /// every length up to three buffers, CRLF and LF, blank lines (no record) and a last line
    /// without a break, whole or cut into ranges.
    #[test]
    fn json_lines_read_the_same_in_and_across_the_read_buffer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.json");
        let (mut values, mut text) = (Vec::new(), String::new());
        for i in 0..300usize {
            if i % 13 == 0 {
                text.push_str(if i % 2 == 0 { "\n" } else { "  \r\n" });
                continue;
            }
            let len = varied_length(i);
            let value: String = (0..len)
                .map(|k| char::from(b'a' + ((i + k) % 26) as u8))
                .collect();
            text.push_str(&format!("{{\"k\": \"{value}\"}}"));
            text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
            values.push(value);
        }
        text.push_str("{\"k\": \"é last\"}");
        values.push("é last".into());
        std::fs::write(&path, &text).expect("write");
        let partitions = partitions(
            FileFormat::Json,
            &[],
            Schema::new([Field::new("k", DataType::String)]),
        );
        assert_reads_in_any_ranges(&partitions, &path, &values);
    }

    /// The length of line `i` of the buffer tests: up to 3,000 bytes, and one line in 97
    /// longer than the read buffer.
    fn varied_length(i: usize) -> usize {
        (i * 7919) % 3000
            + if i.is_multiple_of(97) {
                READ_BUFFER * 3 / 2
            } else {
                0
            }
    }

    /// `path` read whole, and cut into ranges whose edges fall within, at and across the
    /// read buffer's length, gives `expected` each time.
    fn assert_reads_in_any_ranges(partitions: &FilePartitions, path: &Path, expected: &[String]) {
        let len = std::fs::metadata(path).expect("metadata").len();
        for size in [len, READ_BUFFER as u64 - 1, 40_000, 4_099] {
            assert_eq!(
                read_in_ranges(partitions, path, size),
                expected,
                "ranges of {size} bytes"
            );
        }
    }

    /// Reads `path` cut into ranges of `size` bytes, range after range, and returns the rows'
    /// first values as text.
    fn read_in_ranges(partitions: &FilePartitions, path: &Path, size: u64) -> Vec<String> {
        let len = std::fs::metadata(path).expect("metadata").len();
        let name = Value::str(path.to_string_lossy());
        let mut values = Vec::new();
        let mut start = 0;
        while start < len {
            let end = (start + size).min(len);
            let item = Row::from(vec![
                name.clone(),
                Value::Int(start as i64),
                Value::Int(end as i64),
                Value::Int(0),
            ]);
            let mut events = Vec::new();
            partitions.read(
                &item,
                0,
                &mut |row| values.push(row.first().map(|v| v.to_string()).unwrap_or_default()),
                &mut events,
            );
            assert!(
                !events.iter().any(|e| matches!(e, SourceEvent::Failed { .. })),
                "{events:?}"
            );
            start = end;
        }
        values
    }

    use std::path::Path;

    /// Text with the cases a cut can fall on: CRLF line ends, empty lines, characters of 2, 3
    /// and 4 bytes, and a last line without a line break.
    const AWKWARD: &str = "alpha beta\r\n\r\nçà et là\nsnow ☃ man\r\n\n🦀 crab 🦀\nx\r\nlast line, no break";

    #[test]
    fn every_cut_of_a_text_file_reads_every_line_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("awkward.txt");
        std::fs::write(&path, AWKWARD).expect("write");
        let partitions = partitions(FileFormat::Text, &[], FormatOptions::text_schema());
        // The reference: Rust's own line splitting, which ends lines at \n and \r\n.
        let expected: Vec<String> = AWKWARD.lines().map(str::to_string).collect();
        assert_eq!(expected.len(), 8);
        // Every range size from 1 byte to the whole file: cuts land on every byte, inside
        // every multi-byte character, between every \r and \n, and just before and after
        // every line break.
        for size in 1..=AWKWARD.len() as u64 + 1 {
            assert_eq!(
                read_in_ranges(&partitions, &path, size),
                expected,
                "ranges of {size} bytes"
            );
        }
    }

    #[test]
    fn every_cut_of_a_csv_file_with_a_header_reads_the_header_once_as_a_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("people.csv");
        let text = "name,age\r\nann,31\r\nbö,7\nzoë ☃,52\n\n\"q, r\",9";
        std::fs::write(&path, text).expect("write");
        let schema = Schema::new([
            Field::new("name", DataType::String),
            Field::new("age", DataType::Int64),
        ]);
        let partitions = partitions(FileFormat::Csv, &[("header", "true")], schema);
        let expected = vec!["ann", "bö", "zoë ☃", "q, r"];
        for size in 1..=text.len() as u64 + 1 {
            assert_eq!(
                read_in_ranges(&partitions, &path, size),
                expected,
                "ranges of {size} bytes"
            );
        }
    }

    #[test]
    fn every_cut_of_a_json_lines_file_reads_every_record_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.json");
        let text = "{\"k\":\"ä\"}\r\n{\"k\":\"b\"}\n\n{\"k\":\"🦀\"}";
        std::fs::write(&path, text).expect("write");
        let schema = Schema::new([Field::new("k", DataType::String)]);
        let partitions = partitions(FileFormat::Json, &[], schema);
        for size in 1..=text.len() as u64 + 1 {
            assert_eq!(
                read_in_ranges(&partitions, &path, size),
                vec!["ä", "b", "🦀"],
                "ranges of {size} bytes"
            );
        }
    }

    #[test]
    fn a_range_of_a_file_truncated_before_it_is_read_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.txt");
        let text: String = (0..20_000).map(|i| format!("line {i:05}\n")).collect();
        std::fs::write(&path, &text).expect("write");
        let partitions = partitions(FileFormat::Text, &[], FormatOptions::text_schema());
        let name = path.display().to_string();
        // The second half of the file, as a range.
        let item = Row::from(vec![
            Value::str(&name),
            Value::Int(110_000),
            Value::Int(220_000),
            Value::Int(1),
        ]);
        let (rows, log) = read_logged(&partitions, &item, || {
            let file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
            file.set_len(150_000).expect("truncate");
        });
        assert!(rows < 10_000, "{rows} rows");
        assert!(
            log.contains(&name)
                && log.contains("changed while it was read")
                && log.contains("in bytes 110000..220000")
                && log.contains(&format!("{rows} row(s)")),
            "{log}"
        );
    }
}
