//! PERMISSIVE mode's corrupt-record column: a malformed CSV or JSON record's raw text goes to
//! the schema's STRING column named by `columnNameOfCorruptRecord` (default
//! `spark.sql.columnNameOfCorruptRecord`, itself `_corrupt_record`); good rows have null
//! there. Spark's rules, from its parsers (UnivocityParser, JacksonParser, FailureSafeParser):
//! a CSV record keeps the fields that converted (a short record is padded with nulls); a JSON
//! object keeps the fields that converted too (partial results at the root), while text that
//! is not JSON leaves every other field null. JSON inference adds the column (STRING, sorted
//! with the others) when it meets a malformed record.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use tidewater::prelude::*;
use tidewater::session::ScriptDefaults;

fn session(workers: usize, conf: &[(&str, &str)]) -> Session {
    let mut builder = Session::builder().workers(workers);
    for (key, value) in conf {
        builder = builder.config(key, value);
    }
    builder.get_or_create().expect("session")
}

/// Writes `text` as `dir/name`, under a hidden name first (the source skips hidden files).
fn put_file(dir: &Path, name: &str, text: &str) {
    let staging = dir.join(format!(".{name}.staging"));
    fs::write(&staging, text).expect("write");
    fs::rename(&staging, dir.join(name)).expect("rename");
}

/// Line 2 has a bad amount (its id and city convert), line 3 has too few fields, line 4 is
/// good and line 5 has too many.
const CSV: &str = "1,10,Oslo\n2,ten,Rome\n3\n4,40,Bergen\n5,50,Pisa,extra\n";

/// What every CSV query here gives, by Spark's rules, with the corrupt column last.
fn csv_expected() -> Vec<Row> {
    vec![
        row![1, 10, "Oslo", Value::Null],
        row![2, Value::Null, "Rome", "2,ten,Rome"],
        row![3, Value::Null, Value::Null, "3"],
        row![4, 40, "Bergen", Value::Null],
        row![5, 50, "Pisa", "5,50,Pisa,extra"],
    ]
}

fn csv_schema(corrupt: &str) -> Schema {
    Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("amount", DataType::Int64),
        Field::new("city", DataType::String),
        Field::new(corrupt, DataType::String),
    ])
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

#[test]
fn csv_keeps_the_fields_that_converted_and_the_raw_record_in_the_named_column() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        put_file(dir.path(), "a.csv", CSV);
        let path = dir.path().to_str().expect("path");

        // The DataFrame API, the column named by the option.
        let spark = session(workers, &[]);
        let df = spark
            .read_stream()
            .schema(csv_schema("bad"))
            .option("columnNameOfCorruptRecord", "bad")
            .csv(path)
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        assert_eq!(sorted(ran.rows()), csv_expected(), "workers {workers}");
        // The count of malformed records is as before: lines 2, 3 and 5.
        let malformed: u64 = ran.malformed_records();
        assert_eq!(malformed, 3);

        // SQL, the column named by the session's setting.
        let spark = session(workers, &[("spark.sql.columnNameOfCorruptRecord", "oops")]);
        let script = format!(
            "CREATE STREAM t (id BIGINT, amount BIGINT, city STRING, oops STRING) USING csv OPTIONS (path '{path}');
             CREATE SINK out USING memory;
             INSERT INTO out SELECT * FROM t;"
        );
        let defaults = ScriptDefaults {
            trigger: Some(Trigger::available_now()),
            ..ScriptDefaults::default()
        };
        for query in spark.run_script(&script, &defaults).expect("script starts") {
            await_within(&query, "csv script").expect("finishes");
        }
        let rows = spark.memory_table("out").expect("out").rows();
        assert_eq!(sorted(rows), csv_expected(), "workers {workers}");
    }
}

#[test]
fn without_the_column_in_the_schema_nothing_is_kept_and_the_default_name_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(dir.path(), "a.csv", CSV);
    let path = dir.path().to_str().expect("path");
    let spark = session(2, &[]);
    // No option and no setting: the column is `_corrupt_record`. Without it in the schema,
    // the rows are the same less that column.
    let df = spark
        .read_stream()
        .schema(csv_schema("_corrupt_record"))
        .csv(path)
        .expect("source");
    let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
    assert_eq!(sorted(ran.rows()), csv_expected());
    let df = spark
        .read_stream()
        .schema(Schema::new([
            Field::new("id", DataType::Int64),
            Field::new("amount", DataType::Int64),
            Field::new("city", DataType::String),
        ]))
        .csv(path)
        .expect("source");
    let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
    let expected: Vec<Row> = csv_expected()
        .into_iter()
        .map(|r| Row::from(r.values()[..3].to_vec()))
        .collect();
    assert_eq!(sorted(ran.rows()), expected);
}

#[test]
fn a_corrupt_record_column_that_is_not_a_string_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spark = session(1, &[]);
    let error = spark
        .read_stream()
        .schema(Schema::new([
            Field::new("id", DataType::Int64),
            Field::new("_corrupt_record", DataType::Int64),
        ]))
        .json(dir.path().to_str().expect("path"))
        .expect_err("refused");
    assert_eq!(error.code(), "INVALID_OPTION");
    assert!(
        error
            .to_string()
            .contains("must have the nullable STRING type, but got BIGINT"),
        "{error}"
    );
}

/// Line 1 good; line 2 has a wrong-typed `id` (its `tag` converts); line 3 is not JSON;
/// line 4 is an array, not an object.
const JSON: &str = "{\"id\": 1, \"tag\": \"a\"}\n{\"id\": \"x\", \"tag\": \"b\"}\nnot json {\n[1, 2]\n";

#[test]
fn json_keeps_converted_fields_of_an_object_and_nulls_all_for_text_that_is_not_json() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        put_file(dir.path(), "e.json", JSON);
        let spark = session(workers, &[]);
        let df = spark
            .read_stream()
            .schema(Schema::new([
                Field::new("id", DataType::Int64),
                Field::new("tag", DataType::String),
                Field::new("_corrupt_record", DataType::String),
            ]))
            .json(dir.path().to_str().expect("path"))
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        let expected = sorted(vec![
            row![1, "a", Value::Null],
            row![Value::Null, "b", "{\"id\": \"x\", \"tag\": \"b\"}"],
            row![Value::Null, Value::Null, "not json {"],
            row![Value::Null, Value::Null, "[1, 2]"],
        ]);
        assert_eq!(sorted(ran.rows()), expected, "workers {workers}");
    }
}

#[test]
fn json_inference_adds_the_corrupt_column_sorted_with_the_others() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        put_file(
            dir.path(),
            "e.json",
            "{\"a\": 1, \"Z\": true}\nnot json\n{\"a\": 2}\n",
        );
        let spark = session(workers, &[("spark.sql.streaming.schemaInference", "true")]);
        let df = spark
            .read_stream()
            .json(dir.path().to_str().expect("path"))
            .expect("source");
        // Sorted by name as bytes: `Z` (0x5A) < `_` (0x5F) < `a` (0x61).
        assert_eq!(df.schema().names(), ["Z", "_corrupt_record", "a"]);
        assert_eq!(df.schema().fields()[1].data_type, DataType::String);
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        let expected = sorted(vec![
            row![true, Value::Null, 1],
            row![Value::Null, "not json", Value::Null],
            row![Value::Null, Value::Null, 2],
        ]);
        assert_eq!(sorted(ran.rows()), expected, "workers {workers}");

        // Another name by the option; no column when every record is good, or when malformed
        // records are dropped.
        let df = spark
            .read_stream()
            .option("columnNameOfCorruptRecord", "broken")
            .json(dir.path().to_str().expect("path"))
            .expect("source");
        assert_eq!(df.schema().names(), ["Z", "a", "broken"]);
        let df = spark
            .read_stream()
            .option("mode", "DROPMALFORMED")
            .json(dir.path().to_str().expect("path"))
            .expect("source");
        assert_eq!(df.schema().names(), ["Z", "a"]);
        let good = tempfile::tempdir().expect("tempdir");
        put_file(good.path(), "g.json", "{\"b\": 1}\n");
        let df = spark
            .read_stream()
            .json(good.path().to_str().expect("path"))
            .expect("source");
        assert_eq!(df.schema().names(), ["b"]);
    }
}
