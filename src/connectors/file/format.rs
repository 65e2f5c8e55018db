//! The file formats and their reading options.

use std::fmt;

use crate::connectors::Options;
use crate::data::{DataType, Field, ParseMode, Schema};
use crate::error::{Error, Result};

/// A file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// One row per line, column `value`.
    Text,
    /// Comma-separated values.
    Csv,
    /// One JSON object per line.
    Json,
    /// Parquet (with the `parquet` feature; without it, the format says so when used).
    Parquet,
}

impl FileFormat {
    /// The file extension the sinks use.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Text => "txt",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Parquet => "parquet",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Text => "text",
            FileFormat::Csv => "csv",
            FileFormat::Json => "json",
            FileFormat::Parquet => "parquet",
        })
    }
}

/// How records are read, from Spark's option names.
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// The format.
    pub format: FileFormat,
    /// CSV: the first line of each file is a header (default false).
    pub header: bool,
    /// CSV: the field separator, `sep` (default `,`).
    pub sep: u8,
    /// CSV: the quote character, `quote` (default `"`).
    pub quote: u8,
    /// CSV: the escape character inside quotes, `escape` (default `\`).
    pub escape: u8,
    /// What to do with malformed records, `mode` (default PERMISSIVE).
    pub mode: ParseMode,
    /// CSV: the text of a null, `nullValue` (default empty): an empty unquoted field, or a
    /// field with this text, is null.
    pub null_value: String,
    /// CSV: what a quoted empty field (`""`) reads as, `emptyValue` (default empty; it is
    /// then null too, unless `nullValue` is something else).
    pub empty_value: String,
    /// `multiLine` (default false): CSV records whose quoted fields span lines; JSON files that
    /// each hold one document (an object, or an array of objects) over any number of lines.
    pub multi_line: bool,
    /// CSV and JSON under PERMISSIVE: the STRING column of the schema that receives a
    /// malformed record's text, `columnNameOfCorruptRecord` (default
    /// `spark.sql.columnNameOfCorruptRecord`, itself `_corrupt_record` by default); JSON
    /// inference adds it when it meets a malformed record.
    pub corrupt_column: String,
}

fn single_byte(options: &Options, key: &str, default: u8) -> Result<u8> {
    match options.get(key) {
        None => Ok(default),
        Some(v) if v.len() == 1 => Ok(v.as_bytes()[0]),
        Some("\\t") => Ok(b'\t'),
        Some(v) => Err(Error::InvalidOption(format!(
            "option `{key}` = `{v}` must be a single character"
        ))),
    }
}

/// The reader option naming the corrupt-record column (see [`FormatOptions::corrupt_column`]).
pub const CORRUPT_RECORD_OPTION: &str = "columnNameOfCorruptRecord";

/// The session setting that gives [`CORRUPT_RECORD_OPTION`] its default.
pub const CORRUPT_RECORD_CONF: &str = "spark.sql.columnNameOfCorruptRecord";

impl FormatOptions {
    /// Reads the options of `format`.
    pub fn from_options(format: FileFormat, options: &Options) -> Result<Self> {
        Ok(FormatOptions {
            format,
            header: options.bool_or("header", false)?,
            sep: single_byte(options, "sep", single_byte(options, "delimiter", b',')?)?,
            quote: single_byte(options, "quote", b'"')?,
            escape: single_byte(options, "escape", b'\\')?,
            mode: options.parse_or("mode", ParseMode::Permissive)?,
            null_value: options.get("nullValue").unwrap_or("").to_string(),
            empty_value: options.get("emptyValue").unwrap_or("").to_string(),
            multi_line: options.bool_or("multiLine", false)?,
            corrupt_column: options
                .get(CORRUPT_RECORD_OPTION)
                .unwrap_or(crate::data::CORRUPT_RECORD)
                .to_string(),
        })
    }

    /// The schema of `text`: one string column `value`.
    pub fn text_schema() -> Schema {
        Schema::new([Field::new("value", DataType::String)])
    }
}
