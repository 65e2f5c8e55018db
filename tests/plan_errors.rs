//! Queries that cannot run fail with a clear, typed error when built or started.

use tidewater::prelude::*;

fn lines(spark: &Session) -> DataFrame {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    spark.read_stream().memory(&input)
}

fn spark() -> Session {
    Session::builder().get_or_create().expect("session")
}

#[test]
fn unknown_column_names_the_column_and_the_alternatives() {
    let err = lines(&spark()).select([col("valeu")]).unwrap_err();
    assert_eq!(err.code(), "UNRESOLVED_COLUMN");
    let message = err.to_string();
    assert!(
        message.contains("`valeu`") && message.contains("value"),
        "{message}"
    );
    assert!(message.contains("did you mean `value`?"), "{message}");
    assert!(err.is_user_error());
    // Nothing close: no suggestion, only the list.
    let message = lines(&spark()).select([col("zzz")]).unwrap_err().to_string();
    assert!(!message.contains("did you mean"), "{message}");
    // The same in SQL.
    let spark = spark();
    lines(&spark).create_or_replace_temp_view("t");
    let message = spark.sql("SELECT valeu FROM t").unwrap_err().to_string();
    assert!(message.contains("did you mean `value`?"), "{message}");
}

#[test]
fn unknown_column_in_group_by_and_filter() {
    let df = lines(&spark());
    assert_eq!(
        df.group_by([col("word")]).count().unwrap_err().code(),
        "UNRESOLVED_COLUMN"
    );
    assert_eq!(
        df.filter(col("nope").eq("x")).unwrap_err().code(),
        "UNRESOLVED_COLUMN"
    );
}

#[test]
fn type_errors_are_reported() {
    let df = lines(&spark());
    assert_eq!(
        df.select([col("value") + 1]).unwrap_err().code(),
        "DATATYPE_MISMATCH"
    );
    assert_eq!(df.filter(col("value")).unwrap_err().code(), "DATATYPE_MISMATCH");
    assert_eq!(
        df.select([explode(col("value"))]).unwrap_err().code(),
        "DATATYPE_MISMATCH"
    );
    assert_eq!(
        df.agg([sum(col("value"))]).unwrap_err().code(),
        "DATATYPE_MISMATCH"
    );
}

#[test]
fn generators_and_aggregates_only_where_they_belong() {
    let df = lines(&spark());
    let nested = df.select([upper(explode(split(col("value"), " ")))]);
    assert_eq!(nested.unwrap_err().code(), "INVALID_PLAN");
    assert_eq!(
        df.select([count(col("value"))]).unwrap_err().code(),
        "INVALID_PLAN"
    );
    assert_eq!(
        df.group_by([col("value")])
            .agg([col("value")])
            .unwrap_err()
            .code(),
        "INVALID_PLAN"
    );
}

#[test]
fn complete_mode_needs_an_aggregation() {
    let err = lines(&spark())
        .write_stream()
        .output_mode("complete")
        .format("noop")
        .start()
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_OUTPUT_MODE");
    assert!(
        err.to_string().contains("Complete output mode not supported"),
        "{err}"
    );
}

#[test]
fn append_mode_on_an_aggregation_needs_a_watermark() {
    let counts = lines(&spark()).group_by([col("value")]).count().expect("count");
    let err = counts
        .write_stream()
        .output_mode("append")
        .format("noop")
        .start()
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_OUTPUT_MODE");
    assert!(err.to_string().contains("without watermark"), "{err}");
}

#[test]
fn bad_names_for_modes_formats_and_options() {
    let spark = spark();
    let df = lines(&spark);
    assert_eq!(
        df.write_stream()
            .output_mode("sometimes")
            .start()
            .unwrap_err()
            .code(),
        "INVALID_OPTION"
    );
    assert_eq!(
        df.write_stream().format("avro").start().unwrap_err().code(),
        "UNKNOWN_FORMAT"
    );
    let err = spark
        .read_stream()
        .format("socket")
        .option("host", "localhost")
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("port"), "{err}");
    let err = spark
        .read_stream()
        .format("socket")
        .option("host", "h")
        .option("port", "http")
        .load();
    assert_eq!(err.unwrap_err().code(), "INVALID_OPTION");
    assert_eq!(
        spark.read_stream().format("kafkaa").load().unwrap_err().code(),
        "UNKNOWN_FORMAT"
    );
    let err = df
        .write_stream()
        .format("console")
        .option("numRows", "many")
        .start()
        .unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTION");
}

#[test]
fn memory_sink_needs_a_query_name() {
    let err = lines(&spark())
        .write_stream()
        .format("memory")
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("query_name"), "{err}");
}

#[test]
fn bad_cluster_configurations_are_refused() {
    assert!(Session::builder().workers(0).get_or_create().is_err());
    assert!(Session::builder()
        .processes(2)
        .process(2)
        .get_or_create()
        .is_err());
    assert!(Session::builder().master("yarn").get_or_create().is_err());
    // A cluster across machines needs a secret; with one it is accepted.
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1:2101\n192.0.2.7:2101\n").expect("hostfile");
    let across = || Session::builder().processes(2).hostfile(&hosts);
    let err = across().get_or_create().map(drop).unwrap_err();
    assert_eq!(err.code(), "CLUSTER_SECRET_REQUIRED", "{err}");
    assert!(err.is_user_error());
    assert!(across().cluster_secret("s").get_or_create().is_ok());
    assert!(across()
        .config("spark.authenticate.secret", "s")
        .get_or_create()
        .is_ok());
    assert_eq!(
        Session::builder()
            .master("local[3]")
            .get_or_create()
            .map(|s| s.cluster().workers)
            .ok(),
        Some(3)
    );
}

#[test]
fn queries_that_can_withdraw_rows_need_complete_mode() {
    let spark = spark();
    let counts = lines(&spark).group_by([col("value")]).count().expect("count");
    // How many words have each count: the inner groups' rows are replaced, so outer groups can
    // vanish.
    let histogram = counts.group_by([col("count")]).count().expect("histogram");
    let err = histogram
        .write_stream()
        .output_mode("update")
        .format("noop")
        .start()
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_OUTPUT_MODE");
    assert!(
        err.to_string().contains("aggregation over an aggregation"),
        "{err}"
    );
    let query = histogram
        .write_stream()
        .output_mode("complete")
        .format("noop")
        .start()
        .expect("complete is fine");
    query.stop().expect("stop");

    let other = lines(&spark)
        .with_column("v2", col("value"))
        .expect("other stream");
    // A LEFT join of two streams needs watermarks and a time range (Spark's rule): without
    // them a padded row could be withdrawn whenever its match arrived.
    let err = lines(&spark).join(&other, &["value"], "left").unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_STREAM_STREAM_JOIN");
    assert!(err.to_string().contains("Stream-stream LeftOuter join"), "{err}");
}

#[test]
fn explain_shows_the_plan_and_the_dataflow() {
    let counts = lines(&spark())
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .expect("plan");
    let text = counts.explain();
    assert!(
        text.contains("Aggregate keys=[word] aggs=[count(1) AS count] (append-only accumulator)"),
        "{text}"
    );
    assert!(text.contains("exchange: partial states by key hash"), "{text}");
}
