//! A stream joined with a static table as LEFT SEMI (the stream rows with a match, once each)
//! and LEFT ANTI (those without), as Spark allows them. The expected rows are worked out by
//! hand from the inputs below; each query runs on 1, 2 and 4 workers.

mod common;

use common::{run_to_end, Feed};
use tidewater::functions::{col, count};
use tidewater::prelude::*;

/// Orders `(id, customer)`: customer 1 has two rows in the table, customer 2 none, order 13's
/// customer is unknown (null).
fn orders() -> Vec<Row> {
    vec![
        row![10, 1],
        row![11, 2],
        row![12, 1],
        Row::from(vec![Value::Int(13), Value::Null]),
        row![14, 3],
    ]
}

fn order_schema() -> Schema {
    Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("customer", DataType::Int64),
    ])
}

/// The session on `workers` workers, the orders stream (fed through the returned
/// `MemoryStream`), and the users table, where user 1 has two rows (two addresses), as views
/// `orders` and `users` too.
fn orders_and_users(workers: usize) -> (Session, MemoryStream, DataFrame, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(order_schema());
    let orders = spark.read_stream().memory(&input);
    let users = spark
        .create_data_frame(
            vec![row![1, "home"], row![1, "work"], row![3, "home"]],
            Schema::new([
                Field::new("uid", DataType::Int64),
                Field::new("address", DataType::String),
            ]),
        )
        .expect("users");
    orders.create_or_replace_temp_view("orders");
    users.create_or_replace_temp_view("users");
    (spark, input, orders, users)
}

fn rows_of(result: &DataFrame, mode: &str, input: &MemoryStream) -> Vec<Row> {
    run_to_end(
        result.write_stream().output_mode(mode),
        Feed::Epochs(input, vec![orders()]),
    )
    .rows()
}

#[test]
fn a_semi_join_keeps_each_stream_row_with_a_match_once() {
    for workers in [1, 2, 4] {
        let (_spark, input, orders, users) = orders_and_users(workers);
        let semi = orders
            .join_expr(&users, col("customer").eq(col("uid")), "left_semi")
            .expect("the join plans");
        assert_eq!(semi.schema().names(), ["id", "customer"], "{workers} worker(s)");
        // Orders 10 and 12 (user 1, two table rows: still once each) and 14 (user 3).
        assert_eq!(
            rows_of(&semi, "append", &input),
            [row![10, 1], row![12, 1], row![14, 3]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn an_anti_join_keeps_the_stream_rows_without_a_match_null_keys_among_them() {
    for workers in [1, 2, 4] {
        let (spark, input, _orders, _users) = orders_and_users(workers);
        let anti = spark
            .sql("SELECT o.* FROM orders o LEFT ANTI JOIN users u ON o.customer = u.uid")
            .expect("the join plans");
        // A null key matches nothing, so order 13 has no match, as in Spark.
        assert_eq!(
            rows_of(&anti, "append", &input),
            [row![11, 2], Row::from(vec![Value::Int(13), Value::Null])],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn an_aggregation_over_an_anti_join_counts_the_unmatched() {
    for workers in [1, 2, 4] {
        let (_spark, input, orders, users) = orders_and_users(workers);
        let unmatched = orders
            .join_expr(&users, col("customer").eq(col("uid")), "anti")
            .expect("the join plans")
            .group_by([] as [Expr; 0])
            .agg([count(col("*")).alias("n")])
            .expect("agg");
        assert_eq!(
            rows_of(&unmatched, "complete", &input),
            [row![2]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn an_anti_join_with_a_stream_on_the_right_is_refused_as_in_spark() {
    let (spark, _input, orders, _users) = orders_and_users(1);
    let other = spark.read_stream().memory(&MemoryStream::new(order_schema()));
    let error = orders
        .join(&other, &["id"], "left_anti")
        .expect_err("a streaming right side");
    assert_eq!(error.code(), "UNSUPPORTED_STREAM_STREAM_JOIN", "{error}");
}
