//! `collect()` of a DataFrame over static tables: the rows at once, as Spark's batch
//! `collect()`, the same on 1, 2 and 4 workers; a stream is refused. The expected rows are
//! worked out by hand from the file below.

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
