//! `s.*` in a select list: the fields of a struct column, as Spark expands them (the Kafka
//! JSON idiom, `select(from_json(..).alias("data")).select("data.*")`), or the columns of one
//! side of a join. The expected rows are worked out by hand from the inputs; each query runs on
//! 1, 2 and 4 workers.

mod common;

use common::{run_to_end, Feed};
use tidewater::prelude::*;

/// JSON records, as a Kafka topic's values cast to strings hold them.
fn records() -> Vec<Row> {
    [r#"{"a": 1, "b": "x"}"#, r#"{"b": "y", "a": 2}"#, r#"{"a": 3}"#]
        .into_iter()
        .map(|json| Row::from(vec![Value::str(json)]))
        .collect()
}

fn row(values: Vec<Value>) -> Row {
    Row::from(values)
}

/// The session on `workers` workers, and its stream `events` of one string column `value`.
fn events(workers: usize) -> (Session, MemoryStream, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let events = spark.read_stream().memory(&input);
    events.create_or_replace_temp_view("events");
    (spark, input, events)
}

fn parsed() -> Vec<Row> {
    vec![
        row(vec![Value::Int(1), Value::str("x")]),
        row(vec![Value::Int(2), Value::str("y")]),
        row(vec![Value::Int(3), Value::Null]),
    ]
}

#[test]
fn a_struct_s_star_is_its_fields() {
    for workers in [1, 2, 4] {
        let (_spark, input, events) = events(workers);
        let fields = events
            .select_expr(["from_json(value, 'a BIGINT, b STRING') AS data"])
            .expect("from_json")
            .select([col("data.*")])
            .expect("data.*");
        assert_eq!(fields.schema().names(), ["a", "b"], "{workers} worker(s)");
        let ran = run_to_end(
            fields.write_stream().output_mode("append"),
            Feed::Epochs(&input, vec![records()]),
        );
        assert_eq!(ran.rows(), parsed(), "{workers} worker(s)");
    }
}

#[test]
fn sql_expands_a_struct_s_star_and_a_relation_s() {
    for workers in [1, 2, 4] {
        let (spark, input, _events) = events(workers);
        let fields = spark
            .sql(
                "SELECT data.*, data.a * 10 AS tens \
                 FROM (SELECT from_json(value, 'a BIGINT, b STRING') AS data FROM events) parsed",
            )
            .expect("the query plans");
        assert_eq!(fields.schema().names(), ["a", "b", "tens"], "{workers} worker(s)");
        let ran = run_to_end(
            fields.write_stream().output_mode("append"),
            Feed::Epochs(&input, vec![records()]),
        );
        let expected: Vec<Row> = parsed()
            .into_iter()
            .map(|r| {
                let tens = Value::Int(r[0].as_i64().expect("a") * 10);
                row(vec![r[0].clone(), r[1].clone(), tens])
            })
            .collect();
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");

        // `u.*`: the columns of one side of a join, under their own names (a stream of its
        // own: the one above has ended).
        let (spark, input, _events) = events(workers);
        let users = spark
            .create_data_frame(
                vec![row(vec![Value::Int(1), Value::str("ann")])],
                Schema::new([
                    Field::new("a", DataType::Int64),
                    Field::new("name", DataType::String),
                ]),
            )
            .expect("users");
        users.create_or_replace_temp_view("users");
        spark
            .sql("SELECT from_json(value, 'a BIGINT, b STRING') AS data FROM events")
            .expect("parsed")
            .select([col("data.*")])
            .expect("data.*")
            .create_or_replace_temp_view("parsed");
        let joined = spark
            .sql("SELECT u.*, p.b FROM parsed p JOIN users u ON p.a = u.a")
            .expect("the join plans");
        assert_eq!(joined.schema().names(), ["a", "name", "b"], "{workers} worker(s)");
        let ran = run_to_end(
            joined.write_stream().output_mode("append"),
            Feed::Epochs(&input, vec![records()]),
        );
        assert_eq!(
            ran.rows(),
            [row(vec![Value::Int(1), Value::str("ann"), Value::str("x")])],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_star_of_what_is_no_struct_or_relation_is_an_error() {
    let (_spark, _input, events) = events(1);
    let error = events
        .select([col("value.*")])
        .expect_err("a string has no fields");
    assert_eq!(error.code(), "INVALID_PLAN");
    let error = events.select([col("nothing.*")]).expect_err("no such column");
    assert_eq!(error.code(), "UNRESOLVED_COLUMN");
}
