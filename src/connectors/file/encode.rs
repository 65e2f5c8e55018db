//! How the file sinks turn rows into text, with the options and defaults of Spark's CSV, JSON
//! and text writers.
//!
//! Spark's writers do not print values as `show()` does: a TIMESTAMP is written with
//! `timestampFormat` (default `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`, so `2026-01-01T00:00:05.000Z` in
//! UTC) in the session's time zone, a DATE with `dateFormat` (default `yyyy-MM-dd`), a DOUBLE
//! as Java's `Double.toString` (`1.0E10`). The CSV writer quotes a field that holds the
//! separator, the quote or a line break, escapes a quote inside it with `escape` (default `\`),
//! trims the spaces around each value (Spark's `ignoreLeadingWhiteSpace` and
//! `ignoreTrailingWhiteSpace` default to true when writing), writes null as `nullValue` (empty)
//! and the empty string as `emptyValue` (`""`). The JSON writer leaves null fields out unless
//! `ignoreNullFields` is false. The text writer takes one string column, a null as an empty
//! line.

use std::io::Write;

use crate::connectors::Options;
use crate::data::datetime::{Pattern, Zone};
use crate::data::{format_double, DataType, Field, Schema, Value};
use crate::error::{Error, Result};

/// Spark's `spark.sql.session.timeZone`, read here under its name: the zone the writers show
/// timestamps in (UTC when unset, this engine's default), unless the sink's `timeZone` says
/// otherwise.
pub const SESSION_TIME_ZONE_CONF: &str = "spark.sql.session.timeZone";

/// Spark's `spark.sql.jsonGenerator.ignoreNullFields`: the JSON sink's default for
/// `ignoreNullFields` (true).
pub const IGNORE_NULL_FIELDS_CONF: &str = "spark.sql.jsonGenerator.ignoreNullFields";

/// The default `timestampFormat` of Spark's CSV and JSON writers.
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/// The default `dateFormat` of Spark's CSV and JSON writers.
pub const DEFAULT_DATE_FORMAT: &str = "yyyy-MM-dd";

/// How timestamps and dates are written: the patterns and the zone.
#[derive(Clone, Debug)]
pub(super) struct TimeFormats {
    zone: Zone,
    timestamp: Pattern,
    date: Pattern,
}

impl TimeFormats {
    /// Reads `timestampFormat`, `dateFormat` and `timeZone` (default: the session's zone).
    pub(super) fn from_options(options: &Options, conf: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let pattern = |key: &str, default: &str| {
            let text = options.get(key).unwrap_or(default);
            Pattern::new(text).map_err(|e| Error::InvalidOption(format!("option `{key}`: {e}")))
        };
        let zone = zone_option(options, conf)?;
        Ok(TimeFormats {
            zone,
            timestamp: pattern("timestampFormat", DEFAULT_TIMESTAMP_FORMAT)?,
            date: pattern("dateFormat", DEFAULT_DATE_FORMAT)?,
        })
    }

    /// A value's text as the CSV and JSON writers give it (strings as they are).
    fn text(&self, value: &Value) -> String {
        match value {
            Value::Timestamp(micros) => self.timestamp.format(*micros, &self.zone),
            // A date is its day at midnight, in no zone.
            Value::Date(days) => self.date.format(i64::from(*days) * 86_400_000_000, &Zone::utc()),
            // Spark's CSV writer prints a decimal's BigDecimal.toString.
            Value::Decimal(d) => Some(d.to_java_string()),
            _ => None,
        }
        .unwrap_or_else(|| value.to_string())
    }
}

/// The zone of a source's or sink's timestamps: its `timeZone` option, else the session's
/// (`spark.sql.session.timeZone`), else UTC.
pub(super) fn zone_option(options: &Options, conf: &dyn Fn(&str) -> Option<String>) -> Result<Zone> {
    let given = options
        .get("timeZone")
        .map(|z| (z.to_string(), "option `timeZone`".to_string()))
        .or_else(|| conf(SESSION_TIME_ZONE_CONF).map(|z| (z, format!("`{SESSION_TIME_ZONE_CONF}`"))));
    match given {
        None => Ok(Zone::utc()),
        Some((text, what)) => Zone::parse(&text).ok_or_else(|| {
            Error::InvalidOption(format!(
                "{what} = `{text}` is not a time zone; use a region such as Europe/Paris or an offset such as +08:00"
            ))
        }),
    }
}

/// Spark's CSV writer options.
#[derive(Clone, Debug)]
pub(super) struct CsvEncoding {
    header: bool,
    sep: char,
    quote: char,
    escape: char,
    escape_quotes: bool,
    quote_all: bool,
    null_value: String,
    empty_value: String,
    trim_leading: bool,
    trim_trailing: bool,
    times: TimeFormats,
}

fn one_char(options: &Options, key: &str, default: char) -> Result<char> {
    match options.get(key) {
        None => Ok(default),
        Some("\\t") => Ok('\t'),
        Some(text) => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(Error::InvalidOption(format!(
                    "option `{key}` = `{text}` must be a single character"
                ))),
            }
        }
    }
}

impl CsvEncoding {
    /// Reads the CSV sink's options (see [the module](self) for the defaults).
    pub(super) fn from_options(options: &Options, conf: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let quote = one_char(options, "quote", '"')?;
        Ok(CsvEncoding {
            header: options.bool_or("header", false)?,
            sep: one_char(options, "sep", one_char(options, "delimiter", ',')?)?,
            quote,
            escape: one_char(options, "escape", '\\')?,
            escape_quotes: options.bool_or("escapeQuotes", true)?,
            quote_all: options.bool_or("quoteAll", false)?,
            null_value: options.get("nullValue").unwrap_or("").to_string(),
            empty_value: options
                .get("emptyValue")
                .map_or_else(|| format!("{quote}{quote}"), str::to_string),
            trim_leading: options.bool_or("ignoreLeadingWhiteSpace", true)?,
            trim_trailing: options.bool_or("ignoreTrailingWhiteSpace", true)?,
            times: TimeFormats::from_options(options, conf)?,
        })
    }

    /// Refuses a column the CSV writer cannot write (an array or a struct), as Spark does.
    pub(super) fn check(schema: &Schema) -> Result<()> {
        for Field { name, data_type, .. } in schema.fields() {
            if matches!(data_type, DataType::Array(_) | DataType::Struct(_)) {
                return Err(Error::UnsupportedDataType(format!(
                    "the CSV datasource doesn't support the column `{name}` of the type \"{data_type}\"; \
                     turn it into a string first (to_json, concat_ws) or write json"
                )));
            }
        }
        Ok(())
    }

    /// Writes the header (with `header`) and one line per row.
    pub(super) fn write(
        &self,
        mut out: impl Write,
        schema: &Schema,
        rows: &[crate::data::Row],
    ) -> std::io::Result<()> {
        self.write_header(&mut out, schema)?;
        self.write_rows(&mut out, rows)?;
        out.flush()
    }

    /// Writes the header line, with `header`: a file's first line.
    pub(super) fn write_header(&self, mut out: impl Write, schema: &Schema) -> std::io::Result<()> {
        if !self.header {
            return Ok(());
        }
        let mut line = String::new();
        for (i, name) in schema.names().into_iter().enumerate() {
            if i > 0 {
                line.push(self.sep);
            }
            self.push_text(&mut line, &name);
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    }

    /// Writes one line per row, without flushing.
    fn write_rows(&self, mut out: impl Write, rows: &[crate::data::Row]) -> std::io::Result<()> {
        let mut line = String::new();
        for row in rows {
            self.write_row(&mut out, &mut line, row)?;
        }
        Ok(())
    }

    /// Writes one row's line, built in `line` (a buffer the caller keeps, so that a part file
    /// streaming rows one at a time does not allocate per row), without flushing.
    pub(super) fn write_row(
        &self,
        mut out: impl Write,
        line: &mut String,
        row: &crate::data::Row,
    ) -> std::io::Result<()> {
        line.clear();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                line.push(self.sep);
            }
            self.push_value(line, value);
        }
        line.push('\n');
        out.write_all(line.as_bytes())
    }

    /// Appends one value as a field.
    fn push_value(&self, line: &mut String, value: &Value) {
        match value {
            Value::Null => line.push_str(&self.null_value),
            Value::Str(s) if s.is_empty() => line.push_str(&self.empty_value),
            Value::Str(s) => self.push_text(line, s),
            other => self.push_text(line, &self.times.text(other)),
        }
    }

    /// Appends a field's text: trimmed, then quoted when it holds the separator, a quote or a
    /// line break (or always, with `quoteAll`), a quote inside escaped with `escape`, and an
    /// escape that comes before a quote escaped too (Spark's `charToEscapeQuoteEscaping`).
    fn push_text(&self, line: &mut String, text: &str) {
        let mut text = text;
        if self.trim_leading {
            text = text.trim_start_matches([' ', '\t']);
        }
        if self.trim_trailing {
            text = text.trim_end_matches([' ', '\t']);
        }
        let quoted = self.quote_all
            || text.contains([self.sep, '\n', '\r'])
            || (self.escape_quotes && text.contains(self.quote));
        if !quoted {
            line.push_str(text);
            return;
        }
        line.push(self.quote);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == self.quote || (c == self.escape && chars.peek() == Some(&self.quote)) {
                line.push(self.escape);
            }
            line.push(c);
        }
        line.push(self.quote);
    }
}

/// Spark's JSON writer options.
#[derive(Clone, Debug)]
pub(super) struct JsonEncoding {
    ignore_null_fields: bool,
    times: TimeFormats,
}

impl JsonEncoding {
    /// Reads `ignoreNullFields` (default `spark.sql.jsonGenerator.ignoreNullFields`, else
    /// true) and the time formats.
    pub(super) fn from_options(options: &Options, conf: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let default = match conf(IGNORE_NULL_FIELDS_CONF) {
            None => true,
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Error::InvalidOption(format!(
                        "`{IGNORE_NULL_FIELDS_CONF}` = `{raw}`: expected true or false"
                    )))
                }
            },
        };
        Ok(JsonEncoding {
            ignore_null_fields: options.bool_or("ignoreNullFields", default)?,
            times: TimeFormats::from_options(options, conf)?,
        })
    }

    /// Writes one JSON object per row, fields in column order.
    pub(super) fn write(
        &self,
        mut out: impl Write,
        schema: &Schema,
        rows: &[crate::data::Row],
    ) -> std::io::Result<()> {
        self.write_rows(&mut out, schema, rows)?;
        out.flush()
    }

    /// Writes one object line per row, without flushing: a part file streams rows through this.
    pub(super) fn write_rows(
        &self,
        mut out: impl Write,
        schema: &Schema,
        rows: &[crate::data::Row],
    ) -> std::io::Result<()> {
        for row in rows {
            let fields = schema.fields().iter().map(|f| (f.name.as_str(), &f.data_type));
            self.write_object(&mut out, fields, row)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes the object of `values` named and typed by `fields`, in their order, as Spark's
    /// JSON writer does (a `serde_json` map would sort the names); null fields are left out
    /// with `ignoreNullFields`.
    fn write_object<'f>(
        &self,
        out: &mut impl Write,
        fields: impl Iterator<Item = (&'f str, &'f DataType)>,
        values: &[Value],
    ) -> std::io::Result<()> {
        out.write_all(b"{")?;
        let mut first = true;
        for ((name, data_type), value) in fields.zip(values) {
            if value.is_null() && self.ignore_null_fields {
                continue;
            }
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, name)?;
            out.write_all(b":")?;
            self.write_value(out, value, data_type)?;
        }
        out.write_all(b"}")
    }

    /// Writes one value: structs as objects with their fields in order, arrays element by
    /// element (a null element as `null`), doubles as Java prints them (`1.0E10`; NaN and the
    /// infinities as strings, as Jackson writes them for Spark), timestamps and dates with
    /// their patterns, binary as base64.
    fn write_value(&self, out: &mut impl Write, value: &Value, data_type: &DataType) -> std::io::Result<()> {
        match value {
            Value::Struct(items) => {
                let fields: &[Field] = match data_type {
                    DataType::Struct(fields) => fields,
                    _ => &[],
                };
                // A struct of unknown fields is named as Spark names them: col1, col2, ...
                let names: Vec<String> = (0..items.len())
                    .map(|i| {
                        fields
                            .get(i)
                            .map_or_else(|| format!("col{}", i + 1), |f| f.name.clone())
                    })
                    .collect();
                let types = (0..items.len()).map(|i| fields.get(i).map_or(&DataType::Null, |f| &f.data_type));
                self.write_object(out, names.iter().map(String::as_str).zip(types), items)
            }
            Value::Array(items) => {
                let element = match data_type {
                    DataType::Array(element) => element.as_ref(),
                    _ => &DataType::Null,
                };
                out.write_all(b"[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    self.write_value(out, item, element)?;
                }
                out.write_all(b"]")
            }
            Value::Null => out.write_all(b"null"),
            Value::Bool(b) => write!(out, "{b}"),
            Value::Int(i) => write!(out, "{i}"),
            Value::Float(x) if x.is_finite() => out.write_all(format_double(*x).as_bytes()),
            Value::Float(x) => serde_json::to_writer(&mut *out, &format_double(*x)).map_err(Into::into),
            // A JSON number with every digit of its scale (`1.50`), as Spark's writer (Jackson,
            // BigDecimal.toString) writes it.
            Value::Decimal(d) => out.write_all(d.to_java_string().as_bytes()),
            Value::Binary(bytes) => serde_json::to_writer(&mut *out, &base64(bytes)).map_err(Into::into),
            Value::Str(s) => serde_json::to_writer(&mut *out, s.as_str()).map_err(Into::into),
            Value::Timestamp(_) | Value::Date(_) => {
                serde_json::to_writer(&mut *out, &self.times.text(value)).map_err(Into::into)
            }
        }
    }
}

/// Spark's text writer: one string column, one line per row, a null as an empty line.
#[derive(Clone, Copy, Debug)]
pub(super) struct TextEncoding;

impl TextEncoding {
    /// Refuses anything but exactly one string column, as Spark does.
    pub(super) fn check(schema: &Schema) -> Result<()> {
        match schema.fields() {
            [field] if field.data_type == DataType::String => Ok(()),
            [field] => Err(Error::UnsupportedDataType(format!(
                "the text datasource doesn't support the column `{}` of the type \"{}\"; \
                 cast it to a string (CAST(.. AS STRING), to_json) first",
                field.name, field.data_type
            ))),
            fields => Err(Error::UnsupportedDataType(format!(
                "the text datasource supports only a single column, and the query has {} columns ({}); \
                 select one string column, for example with concat_ws or to_json",
                fields.len(),
                schema.names().join(", ")
            ))),
        }
    }

    /// Writes each row's one value and a line break.
    pub(super) fn write(mut out: impl Write, rows: &[crate::data::Row]) -> std::io::Result<()> {
        Self::write_rows(&mut out, rows)?;
        out.flush()
    }

    /// As [`write`](Self::write), without flushing: a part file streams rows through this.
    pub(super) fn write_rows(mut out: impl Write, rows: &[crate::data::Row]) -> std::io::Result<()> {
        for row in rows {
            match row.first() {
                Some(Value::Null) | None => {}
                Some(Value::Str(s)) => out.write_all(s.as_bytes())?,
                Some(other) => out.write_all(other.to_string().as_bytes())?,
            }
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// `bytes` in standard base64 with padding (RFC 4648), as Spark's JSON writer gives binary.
pub(super) fn base64(bytes: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Row;

    /// 2026-01-01T00:00:05Z: 56 years after 1970 with 14 leap days is day 20454, and
    /// 20454 * 86400 + 5 seconds.
    const NEW_YEAR_5S: i64 = (20_454 * 86_400 + 5) * 1_000_000;
    /// 2026-03-01: day 20454 plus January's 31 and February's 28 days.
    const MARCH_1ST: i32 = 20_454 + 59;

    fn options(pairs: &[(&str, &str)]) -> Options {
        let mut options = Options::default();
        for (key, value) in pairs {
            options.set(key, value);
        }
        options
    }

    fn csv(
        pairs: &[(&str, &str)],
        conf: &dyn Fn(&str) -> Option<String>,
        schema: &Schema,
        rows: &[Row],
    ) -> String {
        let encoding = CsvEncoding::from_options(&options(pairs), conf).expect("options");
        let mut out = Vec::new();
        encoding.write(&mut out, schema, rows).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    fn json(pairs: &[(&str, &str)], schema: &Schema, rows: &[Row]) -> String {
        let encoding = JsonEncoding::from_options(&options(pairs), &|_| None).expect("options");
        let mut out = Vec::new();
        encoding.write(&mut out, schema, rows).expect("written");
        String::from_utf8(out).expect("utf-8")
    }

    fn strings(names: &[&str]) -> Schema {
        Schema::new(names.iter().map(|n| Field::new(*n, DataType::String)))
    }

    #[test]
    fn csv_writes_values_as_sparks_writer_does_by_default() {
        let row = Row::from(vec![
            Value::Timestamp(NEW_YEAR_5S),
            Value::Date(MARCH_1ST),
            Value::Float(1e10),
            Value::Bool(true),
            Value::Null,
            Value::str(""),
            Value::str("a,b"),
            Value::str("say \"hi\""),
            Value::str("  pad\t"),
            Value::Int(-3),
            Value::str("two\nlines"),
        ]);
        let names = ["ts", "d", "x", "b", "n", "e", "comma", "quote", "pad", "i", "nl"];
        // Each field by hand: the default patterns, Java's 1.0E10, null empty, the empty
        // string as "", quotes where a separator, a quote or a line break is, a quote escaped
        // with a backslash, spaces trimmed.
        let expected = "ts,d,x,b,n,e,comma,quote,pad,i,nl\n\
                        2026-01-01T00:00:05.000Z,2026-03-01,1.0E10,true,,\"\",\"a,b\",\"say \\\"hi\\\"\",pad,-3,\"two\nlines\"\n";
        assert_eq!(
            csv(&[("header", "true")], &|_| None, &strings(&names), &[row]),
            expected
        );
    }

    #[test]
    fn csv_timestamps_follow_the_zone_and_the_patterns() {
        let schema = strings(&["ts", "d"]);
        // A quarter of a second later: the default pattern keeps milliseconds.
        let row = Row::from(vec![
            Value::Timestamp(NEW_YEAR_5S + 250_000),
            Value::Date(MARCH_1ST),
        ]);
        let new_york = |key: &str| (key == SESSION_TIME_ZONE_CONF).then(|| "America/New_York".to_string());
        // New York is five hours behind UTC in winter: the last day of 2025, 19:00:05.250.
        assert_eq!(
            csv(&[], &new_york, &schema, std::slice::from_ref(&row)),
            "2025-12-31T19:00:05.250-05:00,2026-03-01\n"
        );
        // The sink's own zone and patterns win over the session's.
        assert_eq!(
            csv(
                &[
                    ("timeZone", "+08:00"),
                    ("timestampFormat", "yyyy/MM/dd HH:mm"),
                    ("dateFormat", "dd.MM.yyyy")
                ],
                &new_york,
                &schema,
                &[row]
            ),
            "2026/01/01 08:00,01.03.2026\n"
        );
        let bad = CsvEncoding::from_options(&options(&[("timestampFormat", "yyyy-bb")]), &|_| None);
        assert_eq!(bad.expect_err("a bad pattern").code(), "INVALID_OPTION");
    }

    #[test]
    fn csv_options_change_nulls_empties_quotes_and_separators() {
        let schema = strings(&["a", "b", "c"]);
        let rows = [Row::from(vec![Value::Null, Value::str(""), Value::str("x\"y")])];
        assert_eq!(
            csv(
                &[
                    ("nullValue", "NA"),
                    ("emptyValue", "EMPTY"),
                    ("sep", ";"),
                    ("escape", "\"")
                ],
                &|_| None,
                &schema,
                &rows
            ),
            "NA;EMPTY;\"x\"\"y\"\n"
        );
        let rows = [Row::from(vec![Value::str("a"), Value::Int(1), Value::str(" b ")])];
        assert_eq!(
            csv(&[("quoteAll", "true")], &|_| None, &schema, &rows),
            "\"a\",\"1\",\"b\"\n"
        );
        assert_eq!(
            csv(
                &[
                    ("ignoreLeadingWhiteSpace", "false"),
                    ("ignoreTrailingWhiteSpace", "false")
                ],
                &|_| None,
                &schema,
                &rows
            ),
            "a,1, b \n"
        );
        // Without escapeQuotes, a quote alone does not make a field quoted.
        let rows = [Row::from(vec![
            Value::str("x\"y"),
            Value::str("p,q"),
            Value::str("a\\\"b"),
        ])];
        assert_eq!(
            csv(&[("escapeQuotes", "false")], &|_| None, &schema, &rows),
            "x\"y,\"p,q\",a\\\"b\n"
        );
        // With it, an escape before a quote is escaped too.
        assert_eq!(
            csv(&[], &|_| None, &schema, &rows),
            "\"x\\\"y\",\"p,q\",\"a\\\\\\\"b\"\n"
        );
    }

    #[test]
    fn csv_refuses_arrays_and_structs() {
        let schema = Schema::new([
            Field::new("k", DataType::String),
            Field::new("xs", DataType::Array(Box::new(DataType::Int64))),
        ]);
        let error = CsvEncoding::check(&schema).expect_err("an array");
        assert_eq!(error.code(), "UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE");
        assert!(error.to_string().contains("`xs`"), "{error}");
        assert!(CsvEncoding::check(&strings(&["k"])).is_ok());
    }

    #[test]
    fn json_writes_times_with_patterns_doubles_as_java_and_leaves_nulls_out() {
        let schema = Schema::new([
            Field::new("ts", DataType::Timestamp),
            Field::new("d", DataType::Date),
            Field::new("x", DataType::Float64),
            Field::new("nan", DataType::Float64),
            Field::new("n", DataType::Int64),
            Field::new("xs", DataType::Array(Box::new(DataType::Int64))),
            Field::new(
                "s",
                DataType::Struct(vec![
                    Field::new("a", DataType::String),
                    Field::new("b", DataType::Float64),
                ]),
            ),
        ]);
        let rows = [Row::from(vec![
            Value::Timestamp(NEW_YEAR_5S),
            Value::Date(MARCH_1ST),
            Value::Float(1e10),
            Value::Float(f64::NAN),
            Value::Null,
            Value::Array(vec![Value::Int(1), Value::Null].into()),
            Value::Struct(vec![Value::Null, Value::Float(0.5)].into()),
        ])];
        assert_eq!(
            json(&[], &schema, &rows),
            "{\"ts\":\"2026-01-01T00:00:05.000Z\",\"d\":\"2026-03-01\",\"x\":1.0E10,\"nan\":\"NaN\",\
             \"xs\":[1,null],\"s\":{\"b\":0.5}}\n"
        );
        assert_eq!(
            json(
                &[("ignoreNullFields", "false"), ("timestampFormat", "HH:mm:ss")],
                &schema,
                &rows
            ),
            "{\"ts\":\"00:00:05\",\"d\":\"2026-03-01\",\"x\":1.0E10,\"nan\":\"NaN\",\"n\":null,\
             \"xs\":[1,null],\"s\":{\"a\":null,\"b\":0.5}}\n"
        );
    }

    #[test]
    fn text_takes_one_string_column_and_a_null_is_an_empty_line() {
        let mut out = Vec::new();
        let rows = [
            Row::from(vec![Value::str("a b")]),
            Row::from(vec![Value::Null]),
            Row::from(vec![Value::str("c")]),
        ];
        TextEncoding::write(&mut out, &rows).expect("written");
        assert_eq!(String::from_utf8(out).expect("utf-8"), "a b\n\nc\n");
        assert!(TextEncoding::check(&strings(&["value"])).is_ok());
        let two = TextEncoding::check(&strings(&["a", "b"])).expect_err("two columns");
        assert_eq!(two.code(), "UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE");
        assert!(two.to_string().contains("2 columns"), "{two}");
        let number = TextEncoding::check(&Schema::new([Field::new("n", DataType::Int64)]));
        assert!(number.expect_err("a number").to_string().contains("`n`"));
    }

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
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
