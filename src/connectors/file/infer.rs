//! Schema inference for CSV and JSON sources without a declared schema, by Spark's rules:
//! every record of the files present when the query starts is read, each value's type is
//! guessed, and the guesses of a column are merged.
//!
//! A stream infers only under `spark.sql.streaming.schemaInference` (Spark requires a schema
//! otherwise); a static table always may. CSV guesses, in order: BIGINT, DOUBLE, DATE (a day
//! alone, `yyyy-MM-dd` or `dateFormat`), TIMESTAMP, BOOLEAN, else STRING; a column mixing
//! BIGINT and DOUBLE is DOUBLE, DATE and TIMESTAMP is TIMESTAMP, anything else STRING, and a
//! column with only nulls is STRING. JSON guesses BIGINT for integers, DOUBLE for other
//! numbers, BOOLEAN, STRING, arrays and structs (their fields sorted by name, as Spark sorts
//! them), with the same merges; a value of two shapes is STRING. JSON columns come sorted by
//! name, as in Spark.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value as Json;

use super::csv_lines::CsvLines;
use super::format::FormatOptions;
use crate::data::datetime::parse_date;
use crate::data::{DataType, Field, FieldText, Schema, Value};
use crate::error::{Error, Result};

fn read(file: &PathBuf) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|e| {
        Error::InvalidOption(format!("cannot read {} to infer its schema: {e}", file.display()))
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The CSV records of `text`, each a list of fields: lines, joined while a quoted field is
/// open when `multiLine` is on. Blank lines are no records.
pub(super) fn csv_records(text: &str, options: &FormatOptions) -> Vec<Vec<String>> {
    let mut parser = CsvLines::new(options);
    let mut records = Vec::new();
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    while let Some(line) = lines.next() {
        let mut record = line.to_string();
        let mut closed = parser.parse(record.as_bytes());
        while !closed && options.multi_line {
            let Some(next) = lines.next() else { break };
            record.push('\n');
            record.push_str(next);
            closed = parser.parse(record.as_bytes());
        }
        if parser.len() == 0 {
            continue;
        }
        records.push(
            (0..parser.len())
                .map(|i| String::from_utf8_lossy(parser.field(i)).into_owned())
                .collect(),
        );
    }
    records
}

/// What a CSV value looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guess {
    Null,
    Long,
    Double,
    Date,
    Timestamp,
    Boolean,
    Text,
}

impl Guess {
    fn of(text: &str, options: &FormatOptions, fields: &FieldText) -> Guess {
        if text.is_empty() || text == options.null_value {
            return Guess::Null;
        }
        let t = text.trim();
        if t.parse::<i64>().is_ok() {
            return Guess::Long;
        }
        let double = matches!(t, "NaN" | "Inf" | "+Inf" | "-Inf" | "Infinity" | "-Infinity")
            || (t.parse::<f64>().is_ok() && t.bytes().any(|b| b.is_ascii_digit()));
        if double {
            return Guess::Double;
        }
        let date = match &fields.date_format {
            Some(pattern) => pattern.parse(t, &crate::data::datetime::Zone::utc()).is_some(),
            None => t.len() == 10 && parse_date(t).is_some(),
        };
        if date {
            return Guess::Date;
        }
        let is_timestamp = match &fields.timestamp_format {
            Some(pattern) => pattern.parse(t, &fields.zone).is_some(),
            // A time of day is needed: a year alone reads as a timestamp but is no guess.
            None => {
                t.contains(':')
                    && crate::data::cast_in(Value::str(t), &DataType::Timestamp, &fields.zone) != Value::Null
            }
        };
        if is_timestamp {
            return Guess::Timestamp;
        }
        if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
            return Guess::Boolean;
        }
        Guess::Text
    }

    fn merge(self, other: Guess) -> Guess {
        use Guess::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, x) | (x, Null) => x,
            (Long, Double) | (Double, Long) => Double,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            _ => Text,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Guess::Long => DataType::Int64,
            Guess::Double => DataType::Float64,
            Guess::Date => DataType::Date,
            Guess::Timestamp => DataType::Timestamp,
            Guess::Boolean => DataType::Boolean,
            Guess::Null | Guess::Text => DataType::String,
        }
    }
}

/// The schema of the CSV `files`: columns named by the header of the first file (`_c0`,
/// `_c1`, ... without one); with `types`, each column's type guessed from every record, else
/// all strings. `None` when there is no file with a record.
pub(super) fn infer_csv(
    files: &[PathBuf],
    options: &FormatOptions,
    fields: &FieldText,
    types: bool,
) -> Result<Option<Schema>> {
    let mut names: Option<Vec<String>> = None;
    let mut guesses: Vec<Guess> = Vec::new();
    for file in files {
        let mut records = csv_records(&read(file)?, options).into_iter();
        if options.header {
            let Some(header) = records.next() else { continue };
            names.get_or_insert(header);
        }
        for record in records {
            if names.is_none() {
                names = Some((0..record.len()).map(|i| format!("_c{i}")).collect());
            }
            if !types {
                break;
            }
            if guesses.len() < record.len() {
                guesses.resize(record.len(), Guess::Null);
            }
            for (i, text) in record.iter().enumerate() {
                guesses[i] = guesses[i].merge(Guess::of(text, options, fields));
            }
        }
        if !types && names.is_some() {
            break;
        }
    }
    Ok(names.map(|names| {
        Schema::new(names.into_iter().enumerate().map(|(i, name)| {
            let guess = guesses.get(i).copied().unwrap_or(Guess::Null);
            Field::new(name, guess.data_type())
        }))
    }))
}

/// The JSON type of one value, `Null` for null (resolved to STRING at the end).
fn json_type(value: &Json) -> DataType {
    match value {
        Json::Null => DataType::Null,
        Json::Bool(_) => DataType::Boolean,
        Json::Number(n) if n.is_i64() => DataType::Int64,
        Json::Number(_) => DataType::Float64,
        Json::String(_) => DataType::String,
        Json::Array(items) => DataType::Array(Box::new(
            items.iter().map(json_type).fold(DataType::Null, merge_json),
        )),
        Json::Object(fields) => {
            let fields: BTreeMap<&str, DataType> =
                fields.iter().map(|(k, v)| (k.as_str(), json_type(v))).collect();
            DataType::Struct(fields.into_iter().map(|(k, t)| Field::new(k, t)).collect())
        }
    }
}

/// The type both `a` and `b` fit, as Spark's JSON inference merges them.
fn merge_json(a: DataType, b: DataType) -> DataType {
    match (a, b) {
        (a, b) if a == b => a,
        (DataType::Null, x) | (x, DataType::Null) => x,
        (DataType::Int64, DataType::Float64) | (DataType::Float64, DataType::Int64) => DataType::Float64,
        (DataType::Array(a), DataType::Array(b)) => DataType::Array(Box::new(merge_json(*a, *b))),
        (DataType::Struct(a), DataType::Struct(b)) => {
            let mut merged: BTreeMap<String, DataType> = BTreeMap::new();
            for field in a.into_iter().chain(b) {
                let t = match merged.remove(&field.name) {
                    Some(t) => merge_json(t, field.data_type),
                    None => field.data_type,
                };
                merged.insert(field.name, t);
            }
            DataType::Struct(merged.into_iter().map(|(k, t)| Field::new(k, t)).collect())
        }
        _ => DataType::String,
    }
}

/// A type with every `Null` left (a field only ever null) made STRING, as Spark does.
fn resolve_nulls(t: DataType) -> DataType {
    match t {
        DataType::Null => DataType::String,
        DataType::Array(element) => DataType::Array(Box::new(resolve_nulls(*element))),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .into_iter()
                .map(|f| Field::new(f.name, resolve_nulls(f.data_type)))
                .collect(),
        ),
        t => t,
    }
}

/// The JSON documents of `text`: one per line, or with `multiLine` the whole text as one
/// document whose array elements are records; and whether some text did not parse or was not
/// an object (a malformed record, skipped here).
pub(super) fn json_records(text: &str, multi_line: bool) -> (Vec<Json>, bool) {
    let (records, mut malformed) = if multi_line {
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Array(items)) => (items, false),
            Ok(other) => (vec![other], false),
            Err(_) => (Vec::new(), !text.trim().is_empty()),
        }
    } else {
        let mut malformed = false;
        let records = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let parsed = serde_json::from_str(l).ok();
                malformed |= parsed.is_none();
                parsed
            })
            .collect();
        (records, malformed)
    };
    malformed |= records.iter().any(|r: &Json| !r.is_object());
    (records, malformed)
}

/// The schema of the JSON `files`: the fields of every object, sorted by name, each typed
/// by merging its values. Under PERMISSIVE, a malformed record (text that does not parse, or
/// a record that is not an object) adds the corrupt-record column as a STRING, sorted with
/// the others, as Spark's inference does. `None` when no file holds an object.
pub(super) fn infer_json(files: &[PathBuf], options: &FormatOptions) -> Result<Option<Schema>> {
    let mut merged = DataType::Null;
    let mut malformed = false;
    for file in files {
        let (records, bad) = json_records(&read(file)?, options.multi_line);
        malformed |= bad;
        for record in records {
            if record.is_object() {
                merged = merge_json(merged, json_type(&record));
            }
        }
    }
    if malformed && options.mode == crate::data::ParseMode::Permissive {
        let corrupt = DataType::Struct(vec![Field::new(
            options.corrupt_column.as_str(),
            DataType::String,
        )]);
        merged = merge_json(merged, corrupt);
    }
    Ok(match resolve_nulls(merged) {
        DataType::Struct(fields) if !fields.is_empty() => Some(Schema::new(fields)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::file::FileFormat;
    use crate::connectors::Options;

    fn options(format: FileFormat, pairs: &[(&str, &str)]) -> FormatOptions {
        let mut options = Options::default();
        for (k, v) in pairs {
            options.set(k, v);
        }
        FormatOptions::from_options(format, &options).expect("options")
    }

    fn files(dir: &std::path::Path, texts: &[&str]) -> Vec<PathBuf> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.join(format!("{i}.txt"));
                std::fs::write(&path, text).expect("write");
                path
            })
            .collect()
    }

    fn types(schema: &Schema) -> Vec<(String, String)> {
        schema
            .fields()
            .iter()
            .map(|f| (f.name.clone(), f.data_type.to_string()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn csv_columns_take_the_type_every_value_fits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let found = files(
            dir.path(),
            &[
                "n,x,d,ts,b,s,empty,mixed\n1,2,2024-02-29,2024-02-29 10:00:00,true,a,,1\n",
                "n,x,d,ts,b,s,empty,mixed\n-7,2.5,2024-03-01,2024-03-01,FALSE,3,,true\n",
            ],
        );
        let csv = options(FileFormat::Csv, &[("header", "true")]);
        let schema = infer_csv(&found, &csv, &FieldText::default(), true)
            .expect("read")
            .expect("a schema");
        // By the rules: 1 and -7 are BIGINT; 2 and 2.5 DOUBLE; two days DATE; a timestamp and
        // a day TIMESTAMP; true and FALSE BOOLEAN; a and 3 STRING; only nulls STRING; 1 and
        // true STRING.
        assert_eq!(
            types(&schema),
            pairs(&[
                ("n", "bigint"),
                ("x", "double"),
                ("d", "date"),
                ("ts", "timestamp"),
                ("b", "boolean"),
                ("s", "string"),
                ("empty", "string"),
                ("mixed", "string")
            ])
        );
        let strings = infer_csv(&found, &csv, &FieldText::default(), false)
            .expect("read")
            .expect("a schema");
        assert!(strings.fields().iter().all(|f| f.data_type == DataType::String));
        let no_header = infer_csv(
            &found[..1],
            &options(FileFormat::Csv, &[]),
            &FieldText::default(),
            false,
        )
        .expect("read")
        .expect("a schema");
        assert_eq!(no_header.names()[..2], ["_c0", "_c1"]);
    }

    #[test]
    fn multi_line_csv_records_span_lines_inside_quotes() {
        let text = "a,\"two\nlines\",c\nd,e,f\n";
        let multi = options(FileFormat::Csv, &[("multiLine", "true")]);
        assert_eq!(
            csv_records(text, &multi),
            vec![vec!["a", "two\nlines", "c"], vec!["d", "e", "f"]]
        );
        // Without multiLine the open quote spoils its line only.
        assert_eq!(csv_records(text, &options(FileFormat::Csv, &[])).len(), 3);
    }

    #[test]
    fn json_fields_are_sorted_and_merged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let found = files(
            dir.path(),
            &[
                "{\"z\": 1, \"a\": \"x\", \"s\": {\"q\": 1}, \"xs\": [1, 2], \"n\": null}\n",
                "{\"z\": 1.5, \"s\": {\"p\": true}, \"xs\": [], \"odd\": 1}\n{\"odd\": \"one\"}\nnot json\n",
            ],
        );
        let schema = infer_json(&found, &options(FileFormat::Json, &[]))
            .expect("read")
            .expect("a schema");
        // The line that is not JSON adds the corrupt-record column, sorted with the others.
        assert_eq!(
            types(&schema),
            pairs(&[
                ("_corrupt_record", "string"),
                ("a", "string"),
                ("n", "string"),
                ("odd", "string"),
                ("s", "struct<p:boolean,q:bigint>"),
                ("xs", "array<bigint>"),
                ("z", "double")
            ])
        );
        let multi = files(dir.path(), &["[\n {\"b\": 1},\n {\"a\": true}\n]\n"]);
        let schema = infer_json(&multi, &options(FileFormat::Json, &[("multiLine", "true")]))
            .expect("read")
            .expect("a schema");
        assert_eq!(types(&schema), pairs(&[("a", "boolean"), ("b", "bigint")]));
    }
}
