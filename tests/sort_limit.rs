//! `order_by`/`sort` and `limit` on streams, as Spark allows them: a sort of an aggregation's
//! whole result in complete mode, a limit of each result in complete mode and of everything
//! written in append mode; refused elsewhere. Expected rows are worked out by hand.

mod common;

use common::*;
use tidewater::prelude::*;

fn keys() -> Schema {
    Schema::new([Field::new("key", DataType::String)])
}

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

#[test]
fn complete_mode_ranks_each_result_with_spark_null_and_tie_rules() {
    for workers in [1, 2, 4] {
        let spark = session(workers);
        let input = MemoryStream::new(keys());
        let counts = spark
            .read_stream()
            .memory(&input)
            .group_by([col("key")])
            .count()
            .expect("plan");
        let epochs = || {
            vec![
                vec![row!["b"], row!["a"], row!["b"], row![Value::Null], row!["c"]],
                vec![row!["a"], row!["a"], row![Value::Null]],
            ]
        };
        // Epoch 0: b 2, then a, c and null with 1; ascending keys put the null first.
        // Epoch 1: a 3, then null and b with 2, c 1.
        let top = counts
            .order_by([col("count").desc(), col("key").asc()])
            .and_then(|df| df.limit(3))
            .expect("plan");
        let ran = run_to_end(
            top.write_stream().output_mode("complete"),
            Feed::Epochs(&input, epochs()),
        );
        assert_eq!(
            ran.batch_rows(),
            [
                vec![row!["b", 2], row![Value::Null, 1], row!["a", 1]],
                vec![row!["a", 3], row![Value::Null, 2], row!["b", 2]],
            ],
            "{workers} worker(s)"
        );

        // Nulls last, and a projection over the sorted, limited rows.
        let input = MemoryStream::new(keys());
        let counts = spark
            .read_stream()
            .memory(&input)
            .group_by([col("key")])
            .count()
            .expect("plan");
        let names = counts
            .sort([col("count").desc(), col("key").asc_nulls_last()])
            .and_then(|df| df.limit(2))
            .and_then(|df| df.select([upper(col("key")).alias("name")]))
            .expect("plan");
        assert_eq!(names.schema().names(), ["name"]);
        let ran = run_to_end(
            names.write_stream().output_mode("complete"),
            Feed::Epochs(&input, epochs()),
        );
        assert_eq!(
            ran.batch_rows(),
            [vec![row!["B"], row!["A"]], vec![row!["A"], row!["B"]]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn ties_keep_the_byte_order_of_utf8_and_a_limit_cuts_them() {
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(keys());
        let top = spark
            .read_stream()
            .memory(&input)
            .group_by([col("key")])
            .count()
            .and_then(|df| df.order_by([col("count").desc()]))
            .and_then(|df| df.limit(3))
            .expect("plan");
        // Every key once: the order of the keys' UTF-8 bytes, uppercase ('Z' 0x5A) before
        // lowercase ('a' 0x61) before 'é' (0xC3 0xA9); the limit leaves out b and é.
        let rows = vec![row!["é"], row!["b"], row!["a"], row!["Z"], row!["Zz"]];
        let ran = run_to_end(
            top.write_stream().output_mode("complete"),
            Feed::Epochs(&input, vec![rows]),
        );
        assert_eq!(
            ran.batch_rows(),
            [vec![row!["Z", 1], row!["Zz", 1], row!["a", 1]]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn append_mode_limit_writes_the_first_rows_over_all_epochs() {
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(Schema::new([Field::new("n", DataType::Int64)]));
        let first = spark
            .read_stream()
            .memory(&input)
            .filter(col("n").gt(0))
            .and_then(|df| df.limit(4))
            .expect("plan");
        let epochs = vec![
            vec![row![3], row![-1], row![1], row![2]],
            vec![row![9], row![8]],
            vec![row![7]],
        ];
        // Epoch 0 keeps 1 2 3 (sorted), epoch 1 the one row left of 8 9, epoch 2 nothing.
        let ran = run_to_end(first.write_stream(), Feed::Epochs(&input, epochs));
        assert_eq!(
            ran.batches(),
            [
                (0, vec![row![1], row![2], row![3]]),
                (1, vec![row![8]]),
                (2, vec![])
            ],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_restarted_append_query_keeps_counting_its_limit() {
    let spark = session(2);
    let input = MemoryStream::new(Schema::new([Field::new("n", DataType::Int64)]));
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let writer = || {
        spark
            .read_stream()
            .memory(&input)
            .limit(3)
            .expect("plan")
            .write_stream()
            .option("checkpointLocation", &location)
    };
    let first = Collected::default();
    let query = first.attach(writer()).start().expect("start");
    input.add_data(vec![row![5], row![4]]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = Collected::default();
    let restarted = second.attach(writer()).start().expect("restart");
    input.add_data(vec![row![2], row![1]]);
    restarted.process_all_available().expect("epoch 1");
    input.add_data(vec![row![0]]);
    restarted.process_all_available().expect("epoch 2");
    restarted.stop().expect("stop");

    assert_eq!(first.batches(), [(0, vec![row![4], row![5]])]);
    // Two of the three rows were written before the stop: one is left.
    assert_eq!(second.batches(), [(1, vec![row![1]]), (2, vec![])]);
}

#[test]
fn sorts_and_limits_where_spark_refuses_them_are_refused() {
    let spark = session(1);
    let input = MemoryStream::new(keys());
    let stream = spark.read_stream().memory(&input);
    let counts = stream.group_by([col("key")]).count().expect("plan");
    let code = |writer: DataStreamWriter| writer.start().map(|q| q.stop()).unwrap_err().code();

    let sorted = counts.order_by([col("count")]).expect("plan");
    assert_eq!(
        code(sorted.write_stream().output_mode("update")),
        "UNSUPPORTED_OUTPUT_MODE"
    );
    let sorted_rows = stream.order_by([col("key")]).expect("plan");
    assert_eq!(code(sorted_rows.write_stream()), "UNSUPPORTED_OUTPUT_MODE");
    let limited = counts.limit(1).expect("plan");
    assert_eq!(
        code(limited.write_stream().output_mode("update")),
        "UNSUPPORTED_OUTPUT_MODE"
    );

    // Sorts and limits are a query's last steps.
    let err = stream
        .limit(2)
        .and_then(|df| df.group_by([col("key")]).count())
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
    let err = stream
        .order_by([col("key")])
        .and_then(|df| df.drop_duplicates(&[]))
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
    assert_eq!(
        stream.order_by([col("missing")]).unwrap_err().code(),
        "UNRESOLVED_COLUMN"
    );
}

#[test]
fn sql_order_by_takes_aliases_positions_and_selected_expressions() {
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(keys());
        spark
            .read_stream()
            .memory(&input)
            .create_or_replace_temp_view("events");
        let rows = || {
            vec![vec![
                row!["x"],
                row!["y"],
                row!["y"],
                row!["z"],
                row!["z"],
                row!["z"],
            ]]
        };
        // z 3, y 2, x 1 by three spellings of the same order; the second key only orders ties.
        for query in [
            "SELECT key, count(*) AS n FROM events GROUP BY key ORDER BY n DESC LIMIT 2",
            "SELECT key, count(*) AS n FROM events GROUP BY key ORDER BY 2 DESC, 1 LIMIT 2",
            "SELECT key, count(*) AS n FROM events GROUP BY key ORDER BY count(*) DESC LIMIT 2",
        ] {
            let input = MemoryStream::new(keys());
            spark
                .read_stream()
                .memory(&input)
                .create_or_replace_temp_view("events");
            let df = spark.sql(query).expect(query);
            let ran = run_to_end(
                df.write_stream().output_mode("complete"),
                Feed::Epochs(&input, rows()),
            );
            assert_eq!(
                ran.batch_rows(),
                [vec![row!["z", 3], row!["y", 2]]],
                "{query}, {workers} worker(s)"
            );
        }
        let err = spark
            .sql("SELECT key, count(*) AS n FROM events GROUP BY key ORDER BY 3")
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_PLAN", "{err}");
        let err = spark.sql("SELECT key FROM events LIMIT 2 OFFSET 1").unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
    }
}

#[test]
fn explain_names_the_sort_and_limit_after_the_output_mode() {
    let spark = session(1);
    let input = MemoryStream::new(keys());
    let top = spark
        .read_stream()
        .memory(&input)
        .group_by([col("key")])
        .count()
        .and_then(|df| df.order_by([col("count").desc()]))
        .and_then(|df| df.limit(5))
        .expect("plan");
    let text = top.explain();
    assert!(
        text.contains("Limit 5\n   +- Sort [count DESC NULLS LAST]"),
        "{text}"
    );
    assert!(
        text.contains("on worker 0, after the output mode: sort: [count DESC NULLS LAST]"),
        "{text}"
    );
    assert!(
        text.contains("limit: the first 5 rows written over all epochs"),
        "{text}"
    );
}
