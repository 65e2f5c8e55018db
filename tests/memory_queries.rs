//! Queries over in-memory input, epoch by epoch (`process_all_available` closes each epoch), with
//! expected results worked out by hand or computed directly from the input.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use tidewater::prelude::*;

fn sales_schema() -> Schema {
    Schema::new([
        Field::new("shop", DataType::String),
        Field::new("item", DataType::String),
        Field::new("amount", DataType::Int64),
    ])
}

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

#[test]
fn append_mode_filter_and_with_column_emit_each_match_once() {
    for workers in [1, 2] {
        let input = MemoryStream::new(sales_schema());
        let spark = session(workers);
        let big = spark
            .read_stream()
            .memory(&input)
            .filter(col("amount").gt_eq(10))
            .and_then(|df| df.with_column("double", col("amount") * 2))
            .and_then(|df| df.select([col("shop"), col("double")]))
            .expect("plan");
        let epochs = vec![
            vec![row!["x", "pen", 5], row!["y", "ink", 10], row!["x", "cap", 12]],
            vec![row!["y", "pen", 3]],
            vec![row!["z", "pad", 40], row!["y", "ink", 10]],
        ];
        let ran = run_to_end(big.write_stream(), Feed::Epochs(&input, epochs));
        // By hand: amounts >= 10, doubled; the empty middle epoch still produces a batch.
        let expected = vec![
            (0, vec![row!["x", 24], row!["y", 20]]),
            (1, vec![]),
            (2, vec![row!["y", 20], row!["z", 80]]),
        ];
        assert_eq!(ran.batches(), expected, "{workers} worker(s)");
    }
}

#[test]
fn projections_and_filters_on_both_sides_of_a_watermark_run_as_one() {
    // A computed event time with a watermark on it, then a filter of a declared column and a
    // selection that drops the event time: the rows are those of the steps one by one, for
    // any number of workers, and explain still shows the watermark among the steps.
    let schema = Schema::new([
        Field::new("shop", DataType::String),
        Field::new("amount", DataType::Int64),
        Field::new("at_ms", DataType::Int64),
    ]);
    for workers in [1, 2, 4] {
        let input = MemoryStream::new(schema.clone());
        let spark = session(workers);
        let query = spark
            .read_stream()
            .memory(&input)
            .with_column("ts", expr("timestamp_millis(at_ms)").expect("expr"))
            .and_then(|df| df.with_column("cents", col("amount") * 100))
            .and_then(|df| df.with_watermark("ts", "5 seconds"))
            .and_then(|df| df.filter(col("shop").eq(lit("x"))))
            .and_then(|df| df.select([col("cents"), col("shop"), col("amount")]))
            .expect("plan");
        let explained = query.explain();
        assert!(explained.contains("watermark on ts"), "{explained}");
        // The filter reads a declared column: it runs first; then one projection builds the
        // rows that pass, `ts` never computed.
        assert!(
            explained.contains("run as one pass over each row: filter, then project (3 columns)"),
            "{explained}"
        );
        let epochs = vec![
            vec![row!["x", 1, 1_000], row!["y", 2, 2_000], row!["x", 3, 3_000]],
            // Late by the watermark, but no aggregation drops rows: written, as in Spark.
            vec![row!["y", 4, 60_000], row!["x", 5, 0]],
        ];
        let ran = run_to_end(query.write_stream(), Feed::Epochs(&input, epochs));
        // By hand: the rows of shop x, amounts in cents.
        let expected = vec![
            (0, vec![row![100, "x", 1], row![300, "x", 3]]),
            (1, vec![row![500, "x", 5]]),
        ];
        assert_eq!(ran.batches(), expected, "{workers} worker(s)");
    }
}

#[test]
fn aggregates_per_key_follow_spark_and_update_per_epoch() {
    // Three workers split an epoch of three rows one each, four leave one without a share.
    for workers in [1, 2, 3, 4] {
        let input = MemoryStream::new(sales_schema());
        let spark = session(workers);
        let stats = spark
            .read_stream()
            .memory(&input)
            .group_by([col("shop")])
            .agg([
                count(col("*")).alias("n"),
                sum(col("amount")),
                avg(col("amount")),
                min(col("item")),
                max(col("amount")).alias("top"),
            ])
            .expect("plan");
        assert_eq!(
            stats.schema().names(),
            ["shop", "n", "sum(amount)", "avg(amount)", "min(item)", "top"]
        );
        let epochs = vec![
            vec![row!["x", "pen", 5], row!["y", "ink", 10], row!["x", "cap", 12]],
            vec![row!["y", "pad", 1]],
        ];
        let ran = run_to_end(
            stats.write_stream().output_mode("update"),
            Feed::Epochs(&input, epochs),
        );
        let expected = vec![
            (
                0,
                vec![
                    row!["x", 2, 17, 8.5, "cap", 12],
                    row!["y", 1, 10, 10.0, "ink", 10],
                ],
            ),
            (1, vec![row!["y", 2, 11, 5.5, "ink", 10]]),
        ];
        assert_eq!(ran.batches(), expected, "{workers} worker(s)");
    }
}

/// Update mode writes every key that had input in the epoch, its result changed or not, as
/// Spark's state store does (`StateStoreSaveExec` writes each row of the batch's
/// aggregation): `max` holding at 12 is written again when `x` gets a smaller amount, and a
/// shop without input is not. Plain and windowed (the window fold by start, under a
/// watermark), on 1, 2 and 4 workers.
#[test]
fn update_mode_writes_every_key_with_input_even_unchanged() {
    let epochs = || {
        vec![
            vec![row!["x", "pen", 12], row!["y", "ink", 10]],
            vec![row!["x", "cap", 5]],
            vec![row!["y", "pad", 10], row!["z", "box", 0]],
        ]
    };
    for workers in [1, 2, 4] {
        let input = MemoryStream::new(sales_schema());
        let top = session(workers)
            .read_stream()
            .memory(&input)
            .group_by([col("shop")])
            .agg([
                max(col("amount")).alias("top"),
                sum(col("amount") * lit(0)).alias("zero"),
            ])
            .expect("plan");
        let ran = run_to_end(
            top.write_stream().output_mode("update"),
            Feed::Epochs(&input, epochs()),
        );
        let expected = vec![
            (0, vec![row!["x", 12, 0], row!["y", 10, 0]]),
            (1, vec![row!["x", 12, 0]]),
            (2, vec![row!["y", 10, 0], row!["z", 0, 0]]),
        ];
        assert_eq!(ran.batches(), expected, "{workers} worker(s)");
    }
    // The same under a watermark, grouped by a window (all rows in [0 s, 10 s)).
    let schema = Schema::new([
        Field::new("shop", DataType::String),
        Field::new("ts", DataType::Timestamp),
        Field::new("amount", DataType::Int64),
    ]);
    let at = |shop: &str, seconds: i64, amount: i64| {
        Row::from(vec![
            Value::str(shop),
            // 2026-01-01 00:00:00 UTC plus `seconds`.
            Value::Timestamp((1_767_225_600 + seconds) * 1_000_000),
            Value::Int(amount),
        ])
    };
    for workers in [1, 2, 4] {
        let input = MemoryStream::new(schema.clone());
        let top = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "1 hour")
            .and_then(|df| {
                df.group_by([window(col("ts"), "10 seconds"), col("shop")])
                    .agg([max(col("amount")).alias("top")])
            })
            .expect("plan");
        let ran = run_to_end(
            top.write_stream().output_mode("update"),
            Feed::Epochs(
                &input,
                vec![
                    vec![at("x", 1, 12), at("y", 2, 10)],
                    vec![at("x", 3, 5)],
                    vec![at("y", 4, 10)],
                ],
            ),
        );
        // The epochs the moving watermark alone calls for write nothing; they are left out.
        let written: Vec<Vec<(String, i64)>> = ran
            .batch_rows()
            .iter()
            .filter(|rows| !rows.is_empty())
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        (
                            r[1].as_str().unwrap_or_default().to_string(),
                            r[2].as_i64().unwrap_or(-1),
                        )
                    })
                    .collect()
            })
            .collect();
        let expected = vec![
            vec![("x".to_string(), 12), ("y".to_string(), 10)],
            vec![("x".to_string(), 12)],
            vec![("y".to_string(), 10)],
        ];
        assert_eq!(written, expected, "windowed, {workers} worker(s)");
    }
}

/// The word count's shape (`explode(split(..))` grouped by the word, counts only) runs on a
/// specialised counting path; a filter that keeps every word sends the same query down the
/// general row path. Both must write the same batches, epoch by epoch, in update mode.
#[test]
fn word_count_counting_path_matches_the_general_path() {
    let words = |df: DataFrame| df.select([explode(split(col("value"), " ")).alias("word")]);
    let counted = |df: DataFrame| {
        df.group_by([col("word")])
            .agg([count(col("*")).alias("rows"), count(col("word")).alias("words")])
    };
    for workers in [1, 2] {
        let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
        let spark = session(workers);
        let stream = spark.read_stream().memory(&input);
        let fast = words(stream.clone()).and_then(counted).expect("plan");
        let general = words(stream)
            .and_then(|w| w.filter(col("word").is_not_null()))
            .and_then(counted)
            .expect("plan");
        let (fast_batches, general_batches) = (Collected::default(), Collected::default());
        let queries = [
            fast_batches
                .attach(fast.write_stream().output_mode("update"))
                .start()
                .expect("start"),
            general_batches
                .attach(general.write_stream().output_mode("update"))
                .start()
                .expect("start"),
        ];
        for chunk in word_lines(31, 400).chunks(70) {
            input.add_data(chunk.iter().map(|l| row![l.as_str()]));
            queries
                .iter()
                .for_each(|q| q.process_all_available().expect("epoch"));
        }
        queries.iter().for_each(|q| q.stop().expect("stop"));
        assert_eq!(fast_batches.batches().len(), 6, "{workers} workers");
        assert_eq!(
            fast_batches.batches(),
            general_batches.batches(),
            "{workers} workers"
        );
    }
}

#[test]
fn global_aggregation_and_nulls() {
    let schema = Schema::new([Field::new("v", DataType::Int64)]);
    let input = MemoryStream::new(schema);
    let spark = session(2);
    let totals = spark
        .read_stream()
        .memory(&input)
        .agg([
            count(col("*")).alias("rows"),
            count(col("v")).alias("values"),
            sum(col("v")),
            avg(col("v")),
        ])
        .expect("plan");
    let epochs = vec![vec![row![Value::Null]], vec![row![4], row![Value::Null], row![8]]];
    let ran = run_to_end(
        totals.write_stream().output_mode("complete"),
        Feed::Epochs(&input, epochs),
    );
    // By hand: sum and avg of no values are null; count(*) counts null rows, count(v) does not.
    let expected = vec![
        (0, vec![row![1, 0, Value::Null, Value::Null]]),
        (1, vec![row![4, 2, 12, 6.0]]),
    ];
    assert_eq!(ran.batches(), expected);
}

#[test]
fn complete_mode_memory_table_holds_the_latest_result() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(2);
    let lines = word_lines(5, 300);
    let counts = spark
        .read_stream()
        .memory(&input)
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .expect("plan");
    let query = counts
        .write_stream()
        .output_mode("complete")
        .format("memory")
        .query_name("counts")
        .start()
        .expect("start");
    for chunk in lines.chunks(100) {
        input.add_data(chunk.iter().map(|l| row![l.as_str()]));
        query.process_all_available().expect("processed");
    }
    let table = spark.memory_table("counts").expect("registered");
    assert_eq!(table.batches().len(), 3);
    assert_eq!(counts_of(&table.rows()), reference_counts(&lines));
    query.stop().expect("stop");
    assert!(!query.is_active());
}

#[test]
fn available_now_processes_what_exists_then_finishes() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    input.add_data([row!["a b"], row!["b"]]);
    let spark = session(1);
    let counts = spark
        .read_stream()
        .memory(&input)
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .expect("plan");
    let counts = counts
        .write_stream()
        .output_mode("complete")
        .trigger(Trigger::available_now());
    // The stream is never ended: available-now must finish by itself.
    let ran = run_to_end(counts, Feed::Nothing);
    input.add_data([row!["late"]]);
    assert_eq!(ran.batches(), vec![(0, vec![row!["a", 1], row!["b", 2]])]);
}

#[test]
fn processing_time_trigger_runs_epochs_and_reports_progress() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(2);
    let counts = spark
        .read_stream()
        .memory(&input)
        .group_by([col("value")])
        .count()
        .expect("plan");
    let query = counts
        .write_stream()
        .output_mode("update")
        .format("noop")
        .query_name("ticks")
        .trigger(Trigger::processing_time("20 milliseconds").expect("interval"))
        .start()
        .expect("start");
    input.add_data([row!["a"], row!["b"], row!["a"]]);
    query.process_all_available().expect("processed");
    input.add_data([row!["c"]]);
    query.process_all_available().expect("processed");
    let progress = query.recent_progress();
    assert_eq!(progress.iter().map(|p| p.batch_id).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(
        progress.iter().map(|p| p.num_input_rows).collect::<Vec<_>>(),
        [3, 1]
    );
    let last = query.last_progress().expect("progress");
    assert_eq!(last.sink.num_output_rows, 1);
    assert_eq!(last.name.as_deref(), Some("ticks"));
    let json: serde_json::Value = serde_json::from_str(&last.json()).expect("valid JSON");
    for field in [
        "id",
        "runId",
        "batchId",
        "numInputRows",
        "inputRowsPerSecond",
        "processedRowsPerSecond",
    ] {
        assert!(json.get(field).is_some(), "progress JSON lacks {field}: {json}");
    }
    assert!(json["durationMs"]["triggerExecution"].is_u64());
    assert_eq!(json["sources"][0]["startOffset"], 3);
    assert_eq!(json["sources"][0]["endOffset"], 4);
    assert!(json["sources"][0]["description"]
        .as_str()
        .is_some_and(|d| d.starts_with("MemoryStream")));
    assert_eq!(json["sink"]["description"], "NoopSink");
    let status = query.status();
    assert!(!status.is_trigger_active);
    query.stop().expect("stop");
    assert_eq!(query.status().message, "Stopped");
}

#[test]
fn a_failing_foreach_batch_stops_the_query_with_its_error() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(1);
    let df = spark.read_stream().memory(&input);
    let query = df
        .write_stream()
        .foreach_batch(|batch: &Batch<'_>| {
            if batch.rows.iter().any(|r| r[0].as_str() == Some("boom")) {
                Err("the downstream store refused the batch")
            } else {
                Ok(())
            }
        })
        .start()
        .expect("start");
    input.add_data([row!["fine"]]);
    query.process_all_available().expect("first batch is fine");
    input.add_data([row!["boom"]]);
    let err = await_within(&query, "failing sink").unwrap_err();
    assert_eq!(err.code(), "SINK_FAILED");
    assert!(
        err.to_string().contains("refused the batch") && err.to_string().contains("batch 1"),
        "{err}"
    );
}

#[test]
fn once_trigger_runs_a_single_epoch() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    input.add_data([row!["a"], row!["a"]]);
    let spark = session(2);
    let counts = spark
        .read_stream()
        .memory(&input)
        .group_by([col("value")])
        .count()
        .expect("plan");
    let ran = run_to_end(
        counts
            .write_stream()
            .output_mode("update")
            .trigger(Trigger::once()),
        Feed::Nothing,
    );
    assert_eq!(ran.batches(), vec![(0, vec![row!["a", 2]])]);
}

#[test]
fn await_termination_timeout_reports_a_running_query() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(1);
    let query = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .format("noop")
        .start()
        .expect("start");
    assert_eq!(
        query.await_termination_timeout(Duration::from_millis(20)).ok(),
        Some(false)
    );
    input.end();
    assert_eq!(
        query.await_termination_timeout(Duration::from_secs(60)).ok(),
        Some(true)
    );
    let _: BTreeMap<String, i64> = BTreeMap::new();
}

#[test]
fn aggregation_over_an_aggregation_in_complete_mode() {
    // How many words occur once, twice, ...: the inner counts change every epoch, so the
    // outer groups gain and lose members (the general, retracting reduce path).
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(2);
    let histogram = spark
        .read_stream()
        .memory(&input)
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .and_then(|c| c.group_by([col("count")]).agg([count(col("*")).alias("words")]))
        .expect("plan");
    let collected = Collected::default();
    let query = collected
        .attach(histogram.write_stream().output_mode("complete"))
        .start()
        .expect("start");
    let lines = word_lines(23, 240);
    for (epoch, chunk) in lines.chunks(80).enumerate() {
        input.add_data(chunk.iter().map(|l| row![l.as_str()]));
        query.process_all_available().expect("epoch");
        // Reference: the histogram of the word counts of everything so far.
        let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
        for count in reference_counts(&lines[..(epoch + 1) * 80]).values() {
            *expected.entry(*count).or_insert(0) += 1;
        }
        let got: BTreeMap<i64, i64> = collected.batches()[epoch]
            .1
            .iter()
            .map(|r| (r[0].as_i64().expect("count"), r[1].as_i64().expect("words")))
            .collect();
        assert_eq!(got, expected, "epoch {epoch}");
    }
    query.stop().expect("stop");
}

#[test]
fn once_trigger_ignores_max_rows_per_trigger_across_several_polls() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    input.add_data([row!["a"], row!["b"]]);
    input.add_data([row!["a"]]);
    let spark = session(1);
    let counts = spark
        .read_stream()
        .memory(&input)
        .group_by([col("value")])
        .count()
        .expect("plan");
    let once = counts
        .write_stream()
        .output_mode("complete")
        .option("maxRowsPerTrigger", 1)
        .trigger(Trigger::once());
    assert_eq!(
        run_to_end(once, Feed::Nothing).batches(),
        vec![(0, vec![row!["a", 2], row!["b", 1]])]
    );
}

#[test]
fn a_panicking_foreach_batch_fails_the_query_instead_of_hanging_it() {
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let spark = session(2);
    let query = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .foreach_batch(|_batch: &Batch<'_>| -> Result<()> { panic!("the user's function broke") })
        .start()
        .expect("start");
    input.add_data([row!["x"]]);
    let err = await_within(&query, "panicking sink").unwrap_err();
    assert_eq!(err.code(), "SINK_FAILED");
    assert!(err.to_string().contains("the user's function broke"), "{err}");
}
