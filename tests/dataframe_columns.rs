//! A DataFrame's own columns (`df.col("c")`, PySpark's `df.c`) after a join whose sides share
//! column names: each names its own side's column, as a Spark Dataset's column is its
//! attribute, not a name. The expected rows are worked out by hand from the inputs below; each
//! query runs on 1, 2 and 4 workers.

mod common;

use std::io::Write;

use common::{run_to_end, Feed};
use tidewater::prelude::*;

/// Orders `(id, item)`; order 2's user is unknown.
fn orders() -> Vec<Row> {
    vec![
        row(vec![Value::Int(1), Value::str("lamp")]),
        row(vec![Value::Int(2), Value::str("sofa")]),
        row(vec![Value::Int(3), Value::str("desk")]),
    ]
}

/// The users table `(id, name)`: user 4 has no order.
const USERS: &str = "id,name\n1,ann\n3,cat\n4,dan\n";

fn row(values: Vec<Value>) -> Row {
    Row::from(values)
}

/// The orders stream (fed through the returned `MemoryStream`) and the table `csv` of
/// `schema`, as DataFrames of one session on `workers` workers.
fn stream_and_table(
    workers: usize,
    stream: Schema,
    table: Schema,
    csv: &str,
    dir: &tempfile::TempDir,
) -> (MemoryStream, DataFrame, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let path = dir.path().join("table.csv");
    let mut file = std::fs::File::create(&path).expect("table.csv");
    file.write_all(csv.as_bytes()).expect("table.csv");
    let input = MemoryStream::new(stream);
    let stream = spark.read_stream().memory(&input);
    let table = spark
        .read()
        .schema(table)
        .option("header", true)
        .csv(path.to_str().expect("path"))
        .expect("table");
    (input, stream, table)
}

/// Runs `query(orders, users)` over one epoch of [`orders`] on 1, 2 and 4 workers, and checks
/// its column names and its rows (sorted) against `names` and `expected`.
fn check(query: impl Fn(&DataFrame, &DataFrame) -> DataFrame, names: &[&str], expected: &[Row]) {
    let int = |name: &str| Field::new(name, DataType::Int64);
    let text = |name: &str| Field::new(name, DataType::String);
    for workers in [1, 2, 4] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (input, orders_df, users_df) = stream_and_table(
            workers,
            Schema::new([int("id"), text("item")]),
            Schema::new([int("id"), text("name")]),
            USERS,
            &dir,
        );
        let result = query(&orders_df, &users_df);
        assert_eq!(result.schema().names(), names, "{workers} worker(s)");
        let ran = run_to_end(
            result.write_stream().output_mode("append"),
            Feed::Epochs(&input, vec![orders()]),
        );
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
    }
}

/// `orders LEFT JOIN users ON orders.id = users.id`, both sides' `id` kept.
fn left_join(orders: &DataFrame, users: &DataFrame) -> DataFrame {
    orders
        .join_expr(users, orders.col("id").eq(users.col("id")), "left")
        .expect("the join plans")
}

#[test]
fn each_side_s_column_is_its_own_after_a_join() {
    // Order 2 matched nobody: the users' `id` is null there, the orders' is not.
    check(
        |orders, users| {
            left_join(orders, users)
                .select([
                    orders.col("id"),
                    users.col("id").alias("user_id"),
                    users.col("name"),
                ])
                .expect("select")
        },
        &["id", "user_id", "name"],
        &[
            row(vec![Value::Int(1), Value::Int(1), Value::str("ann")]),
            row(vec![Value::Int(2), Value::Null, Value::Null]),
            row(vec![Value::Int(3), Value::Int(3), Value::str("cat")]),
        ],
    );
}

#[test]
fn the_unmatched_rows_of_a_left_join_are_found_by_the_right_side_s_null_key() {
    // PySpark's anti-join: `a.join(b, a.id == b.id, "left").filter(b.id.isNull())`.
    check(
        |orders, users| {
            left_join(orders, users)
                .filter(users.col("id").is_null())
                .expect("filter")
                .select([orders.col("id"), orders.col("item")])
                .expect("select")
        },
        &["id", "item"],
        &[row(vec![Value::Int(2), Value::str("sofa")])],
    );
}

#[test]
fn dropping_a_side_s_column_keeps_the_other_side_s_column_of_that_name() {
    check(
        |orders, users| {
            left_join(orders, users)
                .drop_column(&users.col("id"))
                .expect("drop")
        },
        &["id", "item", "name"],
        &[
            row(vec![Value::Int(1), Value::str("lamp"), Value::str("ann")]),
            row(vec![Value::Int(2), Value::str("sofa"), Value::Null]),
            row(vec![Value::Int(3), Value::str("desk"), Value::str("cat")]),
        ],
    );
    // Dropping another column leaves both `id`s with their own values.
    check(
        |orders, users| left_join(orders, users).drop(&["item"]).expect("drop"),
        &["id", "id", "name"],
        &[
            row(vec![Value::Int(1), Value::Int(1), Value::str("ann")]),
            row(vec![Value::Int(2), Value::Null, Value::Null]),
            row(vec![Value::Int(3), Value::Int(3), Value::str("cat")]),
        ],
    );
    // A name drops every column so called, as Spark's `drop("id")` does.
    check(
        |orders, users| left_join(orders, users).drop(&["id"]).expect("drop"),
        &["item", "name"],
        &[
            row(vec![Value::str("desk"), Value::str("cat")]),
            row(vec![Value::str("lamp"), Value::str("ann")]),
            row(vec![Value::str("sofa"), Value::Null]),
        ],
    );
}

#[test]
fn a_column_picked_by_a_projection_stays_its_data_frame_s_column() {
    // `orders.select(id, item)` keeps the orders' `id`, so `orders.col("id")` still finds it
    // above the join.
    check(
        |orders, users| {
            let picked = orders.select([col("item"), col("id")]).expect("select");
            picked
                .join_expr(users, orders.col("id").eq(users.col("id")), "left")
                .expect("the join plans")
                .select([users.col("id"), orders.col("id")])
                .expect("select")
        },
        &["id", "id"],
        &[
            row(vec![Value::Null, Value::Int(2)]),
            row(vec![Value::Int(1), Value::Int(1)]),
            row(vec![Value::Int(3), Value::Int(3)]),
        ],
    );
}

#[test]
fn a_condition_written_right_side_first_pairs_each_side_s_own_columns() {
    // Both sides have `id` and `ref`: `links.ref = nodes.id` must not pair the nodes' `ref`
    // with the links' `id`, which plain names would.
    let pair = |a: i64, b: i64| row(vec![Value::Int(a), Value::Int(b)]);
    for workers in [1, 2, 4] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let schema = || {
            Schema::new([
                Field::new("id", DataType::Int64),
                Field::new("ref", DataType::Int64),
            ])
        };
        let (input, nodes, links) = stream_and_table(workers, schema(), schema(), "id,ref\n10,2\n", &dir);
        let joined = nodes
            .join_expr(&links, links.col("ref").eq(nodes.col("id")), "inner")
            .expect("the join plans");
        let ran = run_to_end(
            joined.write_stream().output_mode("append"),
            Feed::Epochs(&input, vec![vec![pair(1, 10), pair(2, 20)]]),
        );
        // Node 2 is what link (10, 2) refers to; node 1's `ref` 10 is the link's `id`, which
        // the condition does not ask about.
        assert_eq!(
            ran.rows(),
            [row(vec![
                Value::Int(2),
                Value::Int(20),
                Value::Int(10),
                Value::Int(2)
            ])],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_column_of_another_data_frame_is_found_by_its_name() {
    // `users.col("item")` does not exist; `orders.col` of a computed column falls back to the
    // name, as before a projection computed it.
    check(
        |orders, _users| {
            let doubled = orders.with_column("twice", col("id") * 2).expect("with_column");
            doubled
                .select([orders.col("item"), doubled.col("twice")])
                .expect("select")
        },
        &["item", "twice"],
        &[
            row(vec![Value::str("desk"), Value::Int(6)]),
            row(vec![Value::str("lamp"), Value::Int(2)]),
            row(vec![Value::str("sofa"), Value::Int(4)]),
        ],
    );
}
