//! Decoding text, CSV and JSON-lines records into rows of a schema, with Spark's rules for
//! malformed records (`mode`: `PERMISSIVE`, `DROPMALFORMED`, `FAILFAST`).

use std::str::FromStr;

use serde_json::Value as Json;

use super::datetime::{Pattern, Zone};
use super::json_field::{FieldKind, TypedFields};
use super::json_line::{self, FieldIndex, JsonLine};
use super::{cast, cast_in, DataType, Row, Schema, Value};

/// The column that receives a malformed record's raw text in `PERMISSIVE` mode, when the
/// schema declares it (as a string).
pub const CORRUPT_RECORD: &str = "_corrupt_record";

/// What to do with a record that does not fit the schema (Spark's `mode` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParseMode {
    /// Keep the row: fields that do not parse become null, and the raw text goes to
    /// `_corrupt_record` if the schema has it.
    #[default]
    Permissive,
    /// Skip the row, and count it.
    DropMalformed,
    /// Stop the query with an error naming the file and line.
    FailFast,
}

impl FromStr for ParseMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "PERMISSIVE" => Ok(ParseMode::Permissive),
            "DROPMALFORMED" => Ok(ParseMode::DropMalformed),
            "FAILFAST" => Ok(ParseMode::FailFast),
            _ => Err(format!(
                "unknown mode `{s}`; use PERMISSIVE, DROPMALFORMED or FAILFAST"
            )),
        }
    }
}

/// The outcome of decoding one record.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A good row.
    Row(Row),
    /// A malformed record kept as a row (`PERMISSIVE`), with the reason.
    Repaired(Row, String),
    /// A malformed record skipped (`DROPMALFORMED`), with the reason.
    Dropped(String),
    /// A malformed record that must stop the query (`FAILFAST`), with the reason.
    Failed(String),
}

/// How text becomes a value beyond the column type's own rules: Spark's reader options
/// `nullValue`, `timestampFormat`, `dateFormat` and `timeZone`.
#[derive(Clone, Debug, Default)]
pub struct FieldText {
    /// `nullValue`: a CSV field with exactly this text is null, whatever the column's type
    /// (Spark's default is the empty string). `None` keeps the rule without it: an empty field
    /// is null for every type but string.
    pub null_value: Option<String>,
    /// `timestampFormat`: the pattern a timestamp field must match; without it, any form
    /// `CAST` reads (as Spark falls back to when no pattern is given).
    pub timestamp_format: Option<Pattern>,
    /// `dateFormat`: the pattern a date field must match; without it, any form `CAST` reads.
    pub date_format: Option<Pattern>,
    /// The zone of a timestamp written without an offset (the session's, or `timeZone`).
    pub zone: Zone,
}

impl FieldText {
    /// A timestamp field: with the pattern if there is one, else as `CAST` reads it.
    pub(super) fn timestamp(&self, text: &str) -> Option<i64> {
        match &self.timestamp_format {
            Some(pattern) => pattern.parse(text.trim(), &self.zone),
            None => match cast_in(Value::str(text), &DataType::Timestamp, &self.zone) {
                Value::Timestamp(t) => Some(t),
                _ => None,
            },
        }
    }

    /// A date field (days since 1970-01-01): with the pattern if there is one, else as `CAST`
    /// reads it.
    fn date(&self, text: &str) -> Option<i32> {
        match &self.date_format {
            Some(pattern) => pattern
                .parse(text.trim(), &Zone::utc())
                .and_then(|micros| i32::try_from(micros.div_euclid(86_400_000_000)).ok()),
            None => match cast(Value::str(text), &DataType::Date) {
                Value::Date(d) => Some(d),
                _ => None,
            },
        }
    }
}

/// Decodes records of one format into rows of `schema`.
#[derive(Clone, Debug)]
pub struct RowDecoder {
    schema: Schema,
    mode: ParseMode,
    /// The reader options that change how fields read.
    text: FieldText,
    /// Position of `_corrupt_record` in the schema, if declared.
    corrupt: Option<usize>,
    /// The schema's positions that hold data (all but `_corrupt_record`), in order.
    data_columns: Vec<usize>,
    /// The names of `data_columns`, slot `i` for `data_columns[i]`: what a JSON line is read
    /// against.
    json_fields: FieldIndex,
    /// How each of `json_fields` is read, by its column's type.
    json_kinds: Vec<FieldKind>,
    /// The columns left null, their fields skipped unconverted, because the query reads
    /// nothing of them (see [`reading_only`](Self::reading_only)): `true` at such a column.
    /// Empty when every column is read.
    skipped: Vec<bool>,
}

impl RowDecoder {
    /// A decoder for `schema` under `mode`, with `_corrupt_record` as the column of malformed
    /// records' text if the schema has it.
    pub fn new(schema: Schema, mode: ParseMode) -> Self {
        RowDecoder {
            schema,
            mode,
            text: FieldText::default(),
            corrupt: None,
            data_columns: Vec::new(),
            json_fields: FieldIndex::new([]),
            json_kinds: Vec::new(),
            skipped: Vec::new(),
        }
        .with_corrupt_column(CORRUPT_RECORD)
    }

    /// The same decoder with `name` as the column that receives a malformed record's text
    /// (Spark's `columnNameOfCorruptRecord`), when the schema has it as a STRING.
    pub fn with_corrupt_column(mut self, name: &str) -> Self {
        self.corrupt = self
            .schema
            .fields()
            .iter()
            .position(|f| f.name == name && f.data_type == DataType::String);
        // The columns that hold data, and the names a JSON line is read against, follow.
        self.data_columns = (0..self.schema.len())
            .filter(|i| Some(*i) != self.corrupt)
            .collect();
        self.json_fields = FieldIndex::new(
            self.data_columns
                .iter()
                .map(|&c| self.schema.fields()[c].name.as_str()),
        );
        self.json_kinds = self
            .data_columns
            .iter()
            .map(|&c| FieldKind::of(&self.schema.fields()[c].data_type))
            .collect();
        self.skipped.clear();
        self
    }

    /// The same decoder reading only the columns where `read` holds: every other column is
    /// null in every row, its field skipped unconverted (Spark's column pruning into a file
    /// scan, which reads only the query's columns). A JSON line's syntax is still checked
    /// whole, and a CSV record's field count.
    ///
    /// `None` where skipping could change what a read column shows, and where nothing would be
    /// skipped: outside `PERMISSIVE` mode (a skipped field that does not parse would no longer
    /// drop its record or stop the query), and when `_corrupt_record` is read (its text
    /// depends on every field).
    pub fn reading_only(&self, read: &[bool]) -> Option<RowDecoder> {
        let skipped: Vec<bool> = (0..self.schema.len())
            .map(|c| !read.get(c).copied().unwrap_or(true))
            .collect();
        let corrupt_read = self.corrupt.is_some_and(|c| !skipped[c]);
        if self.mode != ParseMode::Permissive || corrupt_read || !skipped.contains(&true) {
            return None;
        }
        let mut decoder = self.clone();
        decoder.json_fields = decoder
            .json_fields
            .skipping(|slot| self.data_columns.get(slot).is_some_and(|&c| skipped[c]));
        decoder.skipped = skipped;
        Some(decoder)
    }

    /// Which columns this decoder reads, if not all (see [`reading_only`](Self::reading_only)).
    pub fn columns_read(&self) -> Option<Vec<bool>> {
        (!self.skipped.is_empty()).then(|| self.skipped.iter().map(|s| !s).collect())
    }

    /// Whether `column`'s field is converted.
    fn reads(&self, column: usize) -> bool {
        !self.skipped.get(column).copied().unwrap_or(false)
    }

    /// The same decoder with Spark's reader options for fields (`nullValue`,
    /// `timestampFormat`, `dateFormat`, `timeZone`).
    pub fn with_text(mut self, text: FieldText) -> Self {
        self.text = text;
        self
    }

    /// The schema rows are decoded into.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Applies the mode to a record whose good fields are in `row` (nulls elsewhere).
    fn malformed(&self, mut row: Row, raw: impl FnOnce() -> String, reason: String) -> Decoded {
        match self.mode {
            ParseMode::Permissive => {
                if let Some(i) = self.corrupt {
                    row[i] = Value::str(raw());
                }
                Decoded::Repaired(row, reason)
            }
            ParseMode::DropMalformed => Decoded::Dropped(reason),
            ParseMode::FailFast => Decoded::Failed(reason),
        }
    }

    /// A record that is malformed as a whole (an unbalanced quote, a line too long): every
    /// field null, the raw text in `_corrupt_record` if declared, then the mode's rule.
    pub fn reject(&self, raw: String, reason: String) -> Decoded {
        self.malformed(self.empty_row(), || raw, reason)
    }

    fn empty_row(&self) -> Row {
        std::iter::repeat_n(Value::Null, self.schema.len()).collect()
    }

    /// Converts a text field to the column's type; `None` if it does not parse. A field equal
    /// to `nullValue` is null for every type; without `nullValue`, empty text is null for
    /// every type but string.
    ///
    /// A BIGINT field is an integer in range and nothing else, as Spark's CSV reader (Java's
    /// `Long.parseLong`) wants: `3.5` or `99999999999999999999` is malformed, not truncated or
    /// saturated as `CAST` would, and surrounding spaces make it malformed too (`Long.parseLong`
    /// does not trim, and Spark's reader leaves `ignoreLeadingWhiteSpace` off). A DOUBLE is Java's
    /// `Double.parseDouble`, so `1e400` is Infinity, and Spark's `Inf`, `-Inf` and `NaN`.
    /// Timestamps and dates follow `timestampFormat` and `dateFormat` when given.
    fn convert(&self, text: &str, data_type: &DataType) -> Option<Value> {
        if self.text.null_value.as_deref() == Some(text) {
            return Some(Value::Null);
        }
        match data_type {
            DataType::String => Some(Value::str(text)),
            _ if text.is_empty() => Some(Value::Null),
            DataType::Int64 => text.parse::<i64>().ok().map(Value::Int),
            DataType::Float64 => match text.trim() {
                "Inf" | "+Inf" => Some(Value::Float(f64::INFINITY)),
                "-Inf" => Some(Value::Float(f64::NEG_INFINITY)),
                _ => Some(cast(Value::str(text), data_type)).filter(|v| !v.is_null()),
            },
            DataType::Timestamp => self.text.timestamp(text).map(Value::Timestamp),
            DataType::Date => self.text.date(text).map(Value::Date),
            t => Some(cast(Value::str(text), t)).filter(|v| !v.is_null()),
        }
    }

    /// Decodes the fields of one CSV record; `raw` gives the record's text, which only a
    /// malformed record needs (for the corrupt column).
    pub fn decode_fields<F: AsRef<str>>(
        &self,
        mut fields: impl ExactSizeIterator<Item = F>,
        raw: impl FnOnce() -> String,
    ) -> Decoded {
        let found = fields.len();
        let mut problem = None;
        // The row is built in column order, one push per column: fields fill the data columns
        // in turn, and a column without a field (or the corrupt-record column) is null.
        let mut row = Row::with_capacity(self.schema.len());
        for (column, field) in self.schema.fields().iter().enumerate() {
            let next = if Some(column) == self.corrupt {
                None
            } else {
                fields.next()
            };
            let Some(text) = next.filter(|_| self.reads(column)) else {
                row.push(Value::Null);
                continue;
            };
            let text = text.as_ref();
            let value = self.convert(text, &field.data_type).unwrap_or_else(|| {
                problem.get_or_insert_with(|| {
                    format!(
                        "field `{}`: `{text}` is not a valid {}",
                        field.name, field.data_type
                    )
                });
                Value::Null
            });
            row.push(value);
        }
        if found != self.data_columns.len() {
            problem
                .get_or_insert_with(|| format!("expected {} fields, found {found}", self.data_columns.len()));
        }
        match problem {
            None => Decoded::Row(row),
            Some(reason) => self.malformed(row, raw, reason),
        }
    }

    /// Decodes one JSON object per line. Missing fields are null; a field of the wrong type
    /// or a line that is not a JSON object is malformed.
    pub fn decode_json(&self, line: &str) -> Decoded {
        // Most lines are objects whose fields have their columns' types: read them straight
        // into the row. Anything else is read again, by the reader that words the problem.
        let typed = TypedFields::new(&self.json_kinds, &self.text);
        if let Ok(JsonLine::Object(values)) = json_line::parse_with(line, &self.json_fields, &typed) {
            if !typed.fell_back() {
                let mut row = Row::from(values);
                if let Some(corrupt) = self.corrupt {
                    row.insert(corrupt, Value::Null);
                }
                return Decoded::Row(row);
            }
        }
        self.decode_json_as_values(line)
    }

    /// [`decode_json`](Self::decode_json) through each field's JSON value: slower, and the
    /// judge of every line that is not plainly well formed.
    fn decode_json_as_values(&self, line: &str) -> Decoded {
        let mut row = self.empty_row();
        let parsed = match json_line::parse(line, &self.json_fields) {
            // A number beyond the double range: Spark's reader (Jackson) reads it as Infinity
            // for a double column; serde_json refuses the whole line, so such numbers are
            // marked and handed over as text, and the column's type decides.
            Err(e) if e.to_string().starts_with("number out of range") => match mark_huge_numbers(line) {
                Some(marked) => json_line::parse(&marked, &self.json_fields),
                None => Err(e),
            },
            parsed => parsed,
        };
        let slots = match parsed {
            Ok(JsonLine::Object(slots)) => slots,
            Ok(JsonLine::Other(kind)) => {
                return self.malformed(
                    row,
                    || line.to_string(),
                    format!("expected a JSON object, found {kind}"),
                );
            }
            Err(e) => return self.malformed(row, || line.to_string(), format!("invalid JSON: {e}")),
        };
        let mut problem = None;
        for (&column, json) in self.data_columns.iter().zip(&slots) {
            let Some(json) = json else {
                continue;
            };
            let field = &self.schema.fields()[column];
            match json_value(json, &field.data_type, &self.text) {
                Some(v) => row[column] = v,
                None => {
                    problem.get_or_insert_with(|| {
                        format!(
                            "field `{}`: {json} is not a valid {}",
                            field.name, field.data_type
                        )
                    });
                }
            }
        }
        match problem {
            None => Decoded::Row(row),
            Some(reason) => self.malformed(row, || line.to_string(), reason),
        }
    }
}

/// The prefix of a string that stands for a JSON number too large for a double (see
/// [`mark_huge_numbers`]): a NUL byte cannot start a JSON string's text unescaped.
pub(super) const HUGE_NUMBER: &str = "\u{0}number:";

/// `line` with each number beyond the double range (`1e400`) written as the string
/// `"\u0000number:1e400"`, or `None` if it has none. Strings are skipped, escapes and all.
fn mark_huge_numbers(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    let (mut out, mut copied, mut i) = (String::new(), 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let number = &line[start..i];
                if number.parse::<f64>().is_ok_and(f64::is_infinite) {
                    out.push_str(&line[copied..start]);
                    out.push_str("\"\\u0000number:");
                    out.push_str(number);
                    out.push('"');
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    (copied > 0).then(|| {
        out.push_str(&line[copied..]);
        out
    })
}

/// Converts a JSON value to a column type, as Spark's JSON reader does: numbers for numeric
/// columns (integral ones only for bigint), any scalar for strings, strings in timestamp form.
pub(super) fn json_value(json: &Json, data_type: &DataType, text: &FieldText) -> Option<Value> {
    if let Json::String(s) = json {
        if let Some(number) = s.strip_prefix(HUGE_NUMBER) {
            // Spark: Infinity in a double column, the number's text in a string column.
            return match data_type {
                DataType::Float64 => number.parse().ok().map(Value::Float),
                DataType::String => Some(Value::str(number)),
                _ => None,
            };
        }
    }
    match (json, data_type) {
        (Json::Null, _) => Some(Value::Null),
        (Json::Bool(b), DataType::Boolean) => Some(Value::Bool(*b)),
        (Json::Number(n), DataType::Int64) => n.as_i64().map(Value::Int),
        (Json::Number(n), DataType::Float64) => n.as_f64().map(Value::Float),
        // A number's text, or a string: HALF_UP to the scale; one that does not fit the
        // precision is malformed, as in Spark. (Numbers arrive here as doubles, so one of
        // more than 15 significant digits must be written as a string to stay exact.)
        (Json::Number(n), DataType::Decimal { precision, scale }) => {
            crate::data::Decimal::parse(&n.to_string(), *precision, *scale).map(Value::Decimal)
        }
        (Json::String(s), DataType::Decimal { precision, scale }) => {
            crate::data::Decimal::parse(s, *precision, *scale).map(Value::Decimal)
        }
        (Json::String(s), DataType::String) => Some(Value::str(s)),
        (Json::Number(n), DataType::String) => Some(Value::str(n.to_string())),
        (Json::Bool(b), DataType::String) => Some(Value::str(b.to_string())),
        (Json::String(s), DataType::Timestamp) => text.timestamp(s).map(Value::Timestamp),
        (Json::String(s), DataType::Date) => text.date(s).map(Value::Date),
        (Json::Number(n), DataType::Timestamp) => {
            n.as_i64().map(|s| Value::Timestamp(s.saturating_mul(1_000_000)))
        }
        (Json::Array(items), DataType::Array(element)) => items
            .iter()
            .map(|item| json_value(item, element, text))
            .collect::<Option<Vec<_>>>()
            .map(|v| Value::Array(v.into())),
        (Json::Object(object), DataType::Struct(fields)) => fields
            .iter()
            .map(|f| {
                object
                    .get(&f.name)
                    .map_or(Some(Value::Null), |v| json_value(v, &f.data_type, text))
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| Value::Struct(v.into())),
        (Json::Object(_) | Json::Array(_), DataType::String) => Some(Value::str(json.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    fn schema(corrupt: bool) -> Schema {
        let mut fields = vec![
            Field::new("name", DataType::String),
            Field::new("age", DataType::Int64),
        ];
        if corrupt {
            fields.push(Field::new(CORRUPT_RECORD, DataType::String));
        }
        Schema::new(fields)
    }

    #[test]
    fn csv_fields_convert_or_follow_the_mode() {
        let permissive = RowDecoder::new(schema(true), ParseMode::Permissive);
        assert_eq!(
            permissive.decode_fields(["ann", "41"].into_iter(), || "ann,41".to_string()),
            Decoded::Row(Row::from(vec![Value::str("ann"), Value::Int(41), Value::Null]))
        );
        match permissive.decode_fields(["bob", "old"].into_iter(), || "bob,old".to_string()) {
            Decoded::Repaired(row, reason) => {
                assert_eq!(
                    row.values(),
                    &[Value::str("bob"), Value::Null, Value::str("bob,old")]
                );
                assert!(reason.contains("`age`") && reason.contains("old"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let drop = RowDecoder::new(schema(false), ParseMode::DropMalformed);
        assert!(
            matches!(drop.decode_fields(["x"].into_iter(), || "x".to_string()), Decoded::Dropped(r) if r.contains("expected 2 fields"))
        );
        let fail = RowDecoder::new(schema(false), ParseMode::FailFast);
        assert!(matches!(
            fail.decode_fields(["x", "1", "y"].into_iter(), || "x,1,y".to_string()),
            Decoded::Failed(_)
        ));
        assert_eq!(
            drop.decode_fields(["", ""].into_iter(), || ",".to_string()),
            Decoded::Row(Row::from(vec![Value::str(""), Value::Null])),
            "an empty number is null, an empty string stays a string"
        );
    }

    #[test]
    fn a_bigint_field_is_an_integer_in_range_or_malformed() {
        let permissive = RowDecoder::new(schema(true), ParseMode::Permissive);
        for bad in ["3.5", "99999999999999999999", "-9223372036854775809", "1e3"] {
            match permissive.decode_fields(["ann", bad].into_iter(), || format!("ann,{bad}")) {
                Decoded::Repaired(row, reason) => {
                    assert_eq!(row[1], Value::Null, "{bad}");
                    assert_eq!(row[2], Value::str(format!("ann,{bad}")));
                    assert!(reason.contains(bad), "{reason}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let drop = RowDecoder::new(schema(false), ParseMode::DropMalformed);
        assert!(matches!(
            drop.decode_fields(["ann", "3.5"].into_iter(), String::new),
            Decoded::Dropped(_)
        ));
        let fail = RowDecoder::new(schema(false), ParseMode::FailFast);
        assert!(matches!(
            fail.decode_fields(["ann", "99999999999999999999"].into_iter(), String::new),
            Decoded::Failed(_)
        ));
        assert_eq!(
            fail.decode_fields(["ann", "-9223372036854775808"].into_iter(), String::new),
            Decoded::Row(Row::from(vec![Value::str("ann"), Value::Int(i64::MIN)]))
        );
        assert_eq!(
            fail.decode_fields(["ann", "+7"].into_iter(), String::new),
            Decoded::Row(Row::from(vec![Value::str("ann"), Value::Int(7)]))
        );
        for spaced in [" 7", "7 ", "\t7"] {
            assert!(
                matches!(
                    fail.decode_fields(["ann", spaced].into_iter(), String::new),
                    Decoded::Failed(_)
                ),
                "{spaced:?} reads as a number"
            );
        }
        let doubles = RowDecoder::new(
            Schema::new([Field::new("x", DataType::Float64)]),
            ParseMode::FailFast,
        );
        for (text, expected) in [
            ("1e400", f64::INFINITY),
            ("-1e400", f64::NEG_INFINITY),
            ("Inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("1e-400", 0.0),
        ] {
            assert_eq!(
                doubles.decode_fields([text].into_iter(), String::new),
                Decoded::Row(Row::from(vec![Value::Float(expected)])),
                "{text}"
            );
        }
    }

    /// A schema of every kind the typed JSON reader knows, and one it does not, with the
    /// corrupt-record column amid the others.
    fn awkward_schema() -> Schema {
        Schema::new([
            Field::new("i", DataType::Int64),
            Field::new(CORRUPT_RECORD, DataType::String),
            Field::new("d", DataType::Float64),
            Field::new("s", DataType::String),
            Field::new("b", DataType::Boolean),
            Field::new("t", DataType::Timestamp),
            Field::new("day", DataType::Date),
            Field::new(
                "dec",
                DataType::Decimal {
                    precision: 5,
                    scale: 2,
                },
            ),
            Field::new("arr", DataType::Array(Box::new(DataType::Int64))),
        ])
    }

    /// Lines of `awkward_schema` that are plain, odd, or malformed in every way found.
    const AWKWARD_LINES: [&str; 25] = [
        r#"{"i": 1, "d": 2.5, "s": "x", "b": true, "t": "2026-01-02 03:04:05", "day": "2026-01-02", "dec": 1.234, "arr": [1, 2]}"#,
        r#"{"arr": [], "dec": "99.999", "day": null, "t": 1700000000, "b": false, "s": "a\"b\u00e9", "d": -3, "i": -9223372036854775808}"#,
        r#"{"i": 9223372036854775808}"#,
        r#"{"d": 18446744073709551615, "i": null, "s": null}"#,
        r#"{"i": 2.0}"#,
        r#"{"i": "2"}"#,
        r#"{"s": 12}"#,
        r#"{"s": true}"#,
        r#"{"s": {"nested": [1]}}"#,
        r#"{"s": [1, "two"]}"#,
        r#"{"b": 1}"#,
        r#"{"t": "not a time"}"#,
        r#"{"t": 1.5}"#,
        r#"{"d": 1e400, "s": 1e400}"#,
        r#"{"s": "\u0000number:5"}"#,
        r#"{"dec": 1000.0}"#,
        r#"{"arr": [1, "x"]}"#,
        r#"{"i": 1, "i": "bad", "i": 3}"#,
        r#"{"i": "bad", "i": 3}"#,
        r#"{"unknown": {"deep": [1, {"x": 1e400}]}, "i": 4}"#,
        r#"{"i": 1"#,
        r#"[1, 2]"#,
        r#"null"#,
        r#""text""#,
        "",
    ];

    #[test]
    fn typed_json_fields_read_as_their_json_values_convert() {
        // The straight reading against the reader through JSON values, which words every
        // problem: the same decoding for every line, under every mode, with the corrupt-record
        // column amid the others.
        let schema = awkward_schema();
        let lines = AWKWARD_LINES;
        for mode in [
            ParseMode::Permissive,
            ParseMode::DropMalformed,
            ParseMode::FailFast,
        ] {
            let decoder = RowDecoder::new(schema.clone(), mode);
            for line in lines {
                assert_eq!(
                    decoder.decode_json(line),
                    decoder.decode_json_as_values(line),
                    "{line} under {mode:?}"
                );
            }
        }
        // A plain line is read straight into its row, with no second reading.
        let decoder = RowDecoder::new(schema, ParseMode::FailFast);
        let typed = TypedFields::new(&decoder.json_kinds, &decoder.text);
        assert!(json_line::parse_with(lines[0], &decoder.json_fields, &typed).is_ok());
        assert!(!typed.fell_back());
    }

    /// A decoded record's row, whatever became of it (`None` if it was not kept).
    fn row_of(decoded: Decoded) -> Option<Row> {
        match decoded {
            Decoded::Row(row) | Decoded::Repaired(row, _) => Some(row),
            Decoded::Dropped(_) | Decoded::Failed(_) => None,
        }
    }

    #[test]
    fn a_decoder_reading_some_columns_agrees_on_them_and_leaves_the_rest_null() {
        // Every subset of the data columns (the corrupt-record column, 1, is never read): the
        // columns read hold what the full reading gives them, line by line, and the others
        // are null.
        let schema = awkward_schema();
        let full = RowDecoder::new(schema.clone(), ParseMode::Permissive);
        let data: Vec<usize> = (0..schema.len()).filter(|&c| c != 1).collect();
        for subset in 0..(1u32 << data.len()) - 1 {
            let mut read = vec![false; schema.len()];
            for (bit, &column) in data.iter().enumerate() {
                read[column] = subset & (1 << bit) != 0;
            }
            let pruned = full.reading_only(&read).expect("some column is skipped");
            assert_eq!(pruned.columns_read(), Some(read.clone()));
            for line in AWKWARD_LINES {
                let whole = row_of(full.decode_json(line)).expect("permissive keeps every record");
                let some = row_of(pruned.decode_json(line)).expect("permissive keeps every record");
                for column in 0..schema.len() {
                    if read[column] {
                        assert_eq!(some[column], whole[column], "{line}, column {column}, {read:?}");
                    } else if column != 1 {
                        assert_eq!(some[column], Value::Null, "{line}, column {column}, {read:?}");
                    }
                }
            }
        }
        // A CSV record likewise, its field count still checked.
        let read = [false, true, false];
        let csv = RowDecoder::new(schema_of_three(), ParseMode::Permissive)
            .reading_only(&read)
            .expect("a column is skipped");
        assert_eq!(
            csv.decode_fields(["x", "2", "not a number"].into_iter(), String::new),
            Decoded::Row(Row::from(vec![Value::Null, Value::Int(2), Value::Null]))
        );
        assert!(matches!(
            csv.decode_fields(["x", "2"].into_iter(), String::new),
            Decoded::Repaired(..)
        ));
    }

    fn schema_of_three() -> Schema {
        Schema::new([
            Field::new("s", DataType::String),
            Field::new("n", DataType::Int64),
            Field::new("m", DataType::Int64),
        ])
    }

    #[test]
    fn a_decoder_reads_every_column_where_skipping_could_show() {
        let read = [true, false, true];
        // A skipped field that does not parse must still drop its record, or stop the query.
        for mode in [ParseMode::DropMalformed, ParseMode::FailFast] {
            assert!(RowDecoder::new(schema_of_three(), mode)
                .reading_only(&read)
                .is_none());
        }
        // The corrupt-record column's text depends on every field.
        let with_corrupt = RowDecoder::new(schema(true), ParseMode::Permissive);
        assert!(with_corrupt.reading_only(&[false, true, true]).is_none());
        assert!(with_corrupt.reading_only(&[false, true, false]).is_some());
        // Nothing to skip.
        let plain = RowDecoder::new(schema_of_three(), ParseMode::Permissive);
        assert!(plain.reading_only(&[true, true, true]).is_none());
        assert_eq!(plain.columns_read(), None);
    }

    #[test]
    fn json_lines_follow_spark() {
        let d = RowDecoder::new(schema(true), ParseMode::Permissive);
        assert_eq!(
            d.decode_json(r#"{"name": "ann", "extra": true}"#),
            Decoded::Row(Row::from(vec![Value::str("ann"), Value::Null, Value::Null]))
        );
        assert!(matches!(
            d.decode_json(r#"{"name": "ann", "age": "x"}"#),
            Decoded::Repaired(..)
        ));
        assert!(
            matches!(d.decode_json("{not json"), Decoded::Repaired(row, _) if row[2] == Value::str("{not json"))
        );
        let fail = RowDecoder::new(schema(false), ParseMode::FailFast);
        assert!(matches!(fail.decode_json("[1, 2]"), Decoded::Failed(r) if r.contains("array")));
        let numbers = RowDecoder::new(
            Schema::new([
                Field::new("d", DataType::Float64),
                Field::new("s", DataType::String),
                Field::new("n", DataType::Int64),
            ]),
            ParseMode::FailFast,
        );
        assert_eq!(
            numbers.decode_json(r#"{"d": -1e400, "s": 1E+999, "n": 1, "x": "1e400 \"2e999"}"#),
            Decoded::Row(Row::from(vec![
                Value::Float(f64::NEG_INFINITY),
                Value::str("1E+999"),
                Value::Int(1)
            ])),
            "beyond the double range: Infinity, as Spark's reader"
        );
        assert!(matches!(
            numbers.decode_json(r#"{"n": 1e400}"#),
            Decoded::Failed(_)
        ));
        assert!(matches!(
            numbers.decode_json(r#"{"d": 1e400"#),
            Decoded::Failed(_)
        ));
        assert!(
            matches!(fail.decode_json(r#"{"age": 2.5}"#), Decoded::Failed(_)),
            "2.5 is no bigint"
        );
    }

    #[test]
    fn decimal_fields_round_half_up_and_overflow_is_malformed() {
        let schema = Schema::new([Field::new(
            "p",
            DataType::Decimal {
                precision: 5,
                scale: 2,
            },
        )]);
        let d = RowDecoder::new(schema, ParseMode::FailFast);
        let decimal =
            |text: &str| Value::Decimal(crate::data::Decimal::parse(text, 38, 2).expect("a number"));
        let csv = |field: &str| d.decode_fields([field].into_iter(), || field.to_string());
        assert_eq!(csv("1.5"), Decoded::Row(Row::from(vec![decimal("1.50")])));
        assert_eq!(csv(" -2.005"), Decoded::Row(Row::from(vec![decimal("-2.01")])));
        assert_eq!(csv(""), Decoded::Row(Row::from(vec![Value::Null])));
        assert!(matches!(csv("1234.5"), Decoded::Failed(_)), "too many digits");
        assert!(matches!(csv("x"), Decoded::Failed(_)));
        for (line, expected) in [
            (r#"{"p": 1.5}"#, decimal("1.50")),
            (r#"{"p": "999.994"}"#, decimal("999.99")),
            (r#"{"p": -7}"#, decimal("-7.00")),
            (r#"{"p": 0.125}"#, decimal("0.13")),
            (r#"{"p": null}"#, Value::Null),
        ] {
            assert_eq!(
                d.decode_json(line),
                Decoded::Row(Row::from(vec![expected])),
                "{line}"
            );
        }
        assert!(matches!(d.decode_json(r#"{"p": 1000}"#), Decoded::Failed(_)));
        assert!(matches!(d.decode_json(r#"{"p": true}"#), Decoded::Failed(_)));
    }

    #[test]
    fn modes_parse_case_insensitively() {
        assert_eq!("failFast".parse(), Ok(ParseMode::FailFast));
        assert!("lenient".parse::<ParseMode>().is_err());
    }
}
