//! `collect()` of a DataFrame over static tables: the rows at once, as Spark's batch
//! `collect()`, the same on 1, 2 and 4 workers; a stream is refused. The expected rows are
//! worked out by hand from the file below.

mod common;

use tidewater::functions::{col, count, sum};
use tidewater::prelude::*;

const SALES: &str = "shop,amount\ny,3\nx,1\nx,4\nz,2\n";

fn sales(workers: usize, dir: &tempfile::TempDir) -> (Session, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let path = dir.path().join("sales.csv");
    std::fs::write(&path, SALES).expect("sales.csv");
    let sales = spark
        .read()
        .schema(Schema::new([
            Field::new("shop", DataType::String),
            Field::new("amount", DataType::Int64),
        ]))
        .option("header", true)
        .csv(path.to_str().expect("path"))
        .expect("table");
    (spark, sales)
}

#[test]
fn a_static_data_frame_collects_its_rows_on_any_number_of_workers() {
    for workers in [1, 2, 4] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (_spark, sales) = sales(workers, &dir);
        assert!(!sales.is_streaming());
        let big = sales.filter(col("amount").gt(1)).expect("filter");
        assert_eq!(
            big.collect().expect("collect"),
            [row!["x", 4], row!["y", 3], row!["z", 2]],
            "{workers} worker(s)"
        );
        // x: 1 + 4; the aggregation's final groups, once each.
        let totals = sales
            .group_by([col("shop")])
            .agg([count(col("*")).alias("n"), sum(col("amount")).alias("total")])
            .expect("agg");
        assert_eq!(
            totals.collect().expect("collect"),
            [row!["x", 2, 5], row!["y", 1, 3], row!["z", 1, 2]],
            "{workers} worker(s)"
        );
        let by_total = totals
            .order_by([col("total").desc()])
            .expect("order_by")
            .collect()
            .expect("collect");
        let shops: Vec<&str> = by_total
            .iter()
            .map(|r| r[0].as_str().unwrap_or_default())
            .collect();
        assert_eq!(shops, ["x", "y", "z"], "{workers} worker(s)");
        // A batch query sorts without an aggregation, and its limit keeps the first rows.
        let by_amount = sales
            .order_by([col("amount").desc()])
            .expect("order_by")
            .limit(2)
            .expect("limit")
            .collect()
            .expect("collect");
        assert_eq!(by_amount, [row!["x", 4], row!["y", 3]], "{workers} worker(s)");
    }
}

#[test]
fn a_stream_is_not_collected() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(Schema::new([Field::new("n", DataType::Int64)]));
    let stream = spark.read_stream().memory(&input);
    assert!(stream.is_streaming());
    let error = stream.collect().expect_err("a stream has no end to collect at");
    assert!(error.to_string().contains("writeStream.start()"), "{error}");
}

#[test]
fn rows_given_in_code_are_a_table_a_stream_joins_with() {
    let users_schema = Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("name", DataType::String),
    ]);
    for workers in [1, 2, 4] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let users = spark
            .create_data_frame(vec![row![1, "ann"], row![3, "cat"]], users_schema.clone())
            .expect("the rows fit the schema");
        assert_eq!(
            users.collect().expect("collect"),
            [row![1, "ann"], row![3, "cat"]]
        );
        let input = MemoryStream::new(Schema::new([
            Field::new("id", DataType::Int64),
            Field::new("item", DataType::String),
        ]));
        let enriched = spark
            .read_stream()
            .memory(&input)
            .join(&users, &["id"], "inner")
            .expect("join");
        input.add_data([row![1, "lamp"], row![2, "sofa"], row![3, "desk"]]);
        input.end();
        let query = enriched
            .write_stream()
            .format("memory")
            .query_name("enriched")
            .start()
            .expect("start");
        query.await_termination().expect("the query succeeds");
        let table = spark.memory_table("enriched").expect("the memory sink's table");
        // Order 2's user is unknown: an inner join drops it.
        assert_eq!(
            table.rows(),
            [row![1, "lamp", "ann"], row![3, "desk", "cat"]],
            "{workers} worker(s)"
        );
    }
    // A value of another type is refused, as Spark's `verifySchema` refuses it.
    let spark = Session::builder().get_or_create().expect("session");
    let error = spark
        .create_data_frame(vec![row!["one", "ann"]], users_schema)
        .expect_err("a string is no BIGINT");
    assert_eq!(error.code(), "DATATYPE_MISMATCH");
}

#[test]
fn a_checkpointed_query_resumes_when_its_table_of_rows_changes() {
    // As a table's files may change between runs, so may the rows given in code: the
    // restarted query reads the new ones, and the checkpoint still takes it.
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(Schema::new([Field::new("id", DataType::Int64)]));
    let users = |rows: Vec<Row>| {
        let spark = Session::builder().get_or_create().expect("session");
        let table = spark
            .create_data_frame(
                rows,
                Schema::new([
                    Field::new("id", DataType::Int64),
                    Field::new("name", DataType::String),
                ]),
            )
            .expect("users");
        spark
            .read_stream()
            .memory(&input)
            .join(&table, &["id"], "inner")
            .expect("join")
    };
    let first = common::Collected::default();
    let query = first.start_checkpointed(users(vec![row![1, "ann"]]), "append", &location);
    input.add_data([row![1], row![2]]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = common::Collected::default();
    let restarted =
        second.start_checkpointed(users(vec![row![1, "ann"], row![2, "bob"]]), "append", &location);
    input.add_data([row![2]]);
    restarted.process_all_available().expect("epoch 1");
    restarted.stop().expect("stop");
    assert_eq!(first.batches(), [(0, vec![row![1, "ann"]])]);
    // Only the new row is read again; it meets the new table.
    assert_eq!(second.batches(), [(1, vec![row![2, "bob"]])]);
}

#[test]
fn a_collect_is_no_streaming_query_of_the_session() {
    let spark = Session::builder()
        .app_name("a collect is no streaming query")
        .get_or_create()
        .expect("session");
    let table = spark
        .create_data_frame(vec![row![1]], Schema::new([Field::new("n", DataType::Int64)]))
        .expect("table");
    assert_eq!(table.collect().expect("collect"), [row![1]]);
    // `spark.streams` knows nothing of it: no query of the session has ended since.
    assert!(spark.streams().active().is_empty());
    assert!(spark.streams().all().is_empty());
    assert!(!spark
        .streams()
        .await_any_termination_timeout(std::time::Duration::ZERO)
        .expect("no query failed"));
}
