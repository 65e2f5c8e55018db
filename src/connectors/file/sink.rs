//! [`FileSink`]: `csv` and `json` files, one set per epoch, with a log of complete epochs.
//!
//! Epoch `e` writes its rows to `<path>/part-<e, 6 digits>-w000.<csv|json>` (written under a
//! temporary name, then renamed), then records `<path>/_tidewater/<e>` listing the epoch's
//! files. A reader takes the epochs the log lists, in order, and ignores other files (a crash
//! may leave a partial temporary file). An epoch without rows writes no part file but is still
//! logged. The output mode decides the rows: new rows (append), changed rows with their new
//! values (update), or the whole result (complete).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::format::FileFormat;
use crate::connectors::{Batch, Options, Sink, SinkError};
use crate::data::{DataType, Field, Row, Schema, Value};
use crate::error::{Error, Result};

/// Writes each epoch's rows as CSV or JSON-lines files.
#[derive(Debug)]
pub struct FileSink {
    format: FileFormat,
    path: PathBuf,
    header: bool,
    sep: u8,
}

impl FileSink {
    /// Reads `path` (required) and, for CSV, `header` (default false) and `sep`.
    pub fn new(format: FileFormat, options: &Options) -> Result<Self> {
        if format == FileFormat::Text {
            return Err(Error::InvalidOption(
                "the file sink writes csv or json, not text".into(),
            ));
        }
        let path = PathBuf::from(options.required("path", &format!("the {format} sink"))?);
        let sep = options.get("sep").unwrap_or(",");
        let sep = match sep.as_bytes() {
            [b] => *b,
            _ if sep == "\\t" => b'\t',
            _ => {
                return Err(Error::InvalidOption(format!(
                    "option `sep` = `{sep}` must be a single character"
                )))
            }
        };
        Ok(FileSink {
            format,
            header: options.bool_or("header", false)?,
            sep,
            path,
        })
    }

    fn part_name(&self, epoch: u64) -> String {
        format!("part-{epoch:06}-w000.{}", self.format.extension())
    }

    fn write_csv(&self, mut out: impl Write, schema: &Schema, rows: &[Row]) -> std::io::Result<()> {
        let sep = char::from(self.sep);
        let mut line = String::new();
        let mut write_line = |fields: &mut dyn Iterator<Item = Option<String>>, out: &mut dyn Write| {
            line.clear();
            for (i, field) in fields.enumerate() {
                if i > 0 {
                    line.push(sep);
                }
                if let Some(text) = field {
                    push_csv_field(&mut line, &text, sep);
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())
        };
        if self.header {
            write_line(&mut schema.names().into_iter().map(Some), &mut out)?;
        }
        for row in rows {
            // Spark writes null as an empty field and an empty string as `""`.
            write_line(
                &mut row.iter().map(|v| (!v.is_null()).then(|| v.to_string())),
                &mut out,
            )?;
        }
        out.flush()
    }

    fn write_json(mut out: impl Write, schema: &Schema, rows: &[Row]) -> std::io::Result<()> {
        for row in rows {
            let mut object = Map::new();
            for (field, value) in schema.fields().iter().zip(row.iter()) {
                // Spark's JSON writer leaves null fields out (ignoreNullFields).
                if !value.is_null() {
                    object.insert(field.name.clone(), json_of(value, &field.data_type));
                }
            }
            serde_json::to_writer(&mut out, &object)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    fn write_epoch(&self, batch: &Batch<'_>) -> std::io::Result<()> {
        let log = self.path.join("_tidewater");
        fs::create_dir_all(&log)?;
        let mut files = Vec::new();
        if !batch.rows.is_empty() {
            let name = self.part_name(batch.id);
            let temporary = self.path.join(format!(".{name}.tmp"));
            {
                let file = File::create(&temporary)?;
                let mut out = BufWriter::new(&file);
                match self.format {
                    FileFormat::Json => Self::write_json(&mut out, batch.schema, batch.rows)?,
                    _ => self.write_csv(&mut out, batch.schema, batch.rows)?,
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
        write_atomically(&log.join(batch.id.to_string()), entry.to_string().as_bytes())
    }
}

/// Appends one CSV field, quoted (with `"` doubled) when it is empty or holds the separator, a
/// quote or a line break, as RFC 4180 and Spark's writer do.
fn push_csv_field(line: &mut String, text: &str, sep: char) {
    if text.is_empty() || text.contains([sep, '"', '\n', '\r']) {
        line.push('"');
        line.push_str(&text.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(text);
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

/// `bytes` in standard base64 with padding (RFC 4648), as Spark's JSON writer gives binary.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A value as JSON; `data_type` names a struct's fields (Spark writes a struct as an object).
fn json_of(value: &Value, data_type: &DataType) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or_else(|| Json::String(value.to_string()), Json::Number)
        }
        // Spark's JSON writer gives binary as base64 text.
        Value::Binary(bytes) => Json::String(base64(bytes)),
        Value::Array(items) => {
            let element = match data_type {
                DataType::Array(element) => element.as_ref(),
                _ => &DataType::Null,
            };
            Json::Array(items.iter().map(|v| json_of(v, element)).collect())
        }
        Value::Struct(items) => {
            let fields: &[Field] = match data_type {
                DataType::Struct(fields) => fields,
                _ => &[],
            };
            let mut object = Map::new();
            for (i, item) in items.iter().enumerate() {
                let (name, t) = fields
                    .get(i)
                    .map_or((format!("col{}", i + 1), &DataType::Null), |f| {
                        (f.name.clone(), &f.data_type)
                    });
                if !item.is_null() {
                    object.insert(name, json_of(item, t));
                }
            }
            Json::Object(object)
        }
        Value::Str(_) | Value::Timestamp(_) | Value::Date(_) => Json::String(value.to_string()),
    }
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648s_test_vectors() {
        // RFC 4648, section 10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
