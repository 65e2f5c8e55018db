//! Progress reports against hand-counted queries (rows, batches, watermark, state rows in
//! every output mode), the bound on recent reports, and the listener bus: Spark's callbacks
//! in Spark's order, and `spark.streams()`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tidewater::prelude::*;
use tidewater::runtime::{
    QueryIdleEvent, QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener,
};

const SECOND: i64 = 1_000_000;

/// 2026-01-01 00:00:00 UTC in microseconds.
const T0: i64 = 1_767_225_600 * SECOND;

fn events_schema() -> Schema {
    Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ])
}

fn rows(epoch: &[(&str, i64)]) -> Vec<Row> {
    epoch
        .iter()
        .map(|(w, s)| Row::from(vec![Value::str(w), Value::Timestamp(T0 + s * SECOND)]))
        .collect()
}

/// `(word, seconds after T0)`, three epochs. Windows of 10 s, watermark delay 5 s, counted by
/// hand:
/// - epoch 0 (no watermark): (a,[0,10)) = 2, (b,[10,20)) = 1: 2 keys; max 12 s.
/// - watermark 7 s: a@6, b@15, a@23 add (a,[20,30)): 3 keys; nothing ends at or before 7 s.
/// - watermark 18 s: outside complete mode, [0,10) is evicted (its end, 10 s, is at or before
///   it) and a@3 is dropped as late; b@30 adds (b,[30,40)), b@16 updates (b,[10,20)):
///   3 keys (complete mode keeps all 4).
/// - The last epoch runs under 25 s (30 - 5), which evicts [10,20): 2 keys (complete: 4).
fn epochs() -> Vec<Vec<(&'static str, i64)>> {
    vec![
        vec![("a", 1), ("a", 4), ("b", 12)],
        vec![("a", 6), ("b", 15), ("a", 23)],
        vec![("b", 30), ("a", 3), ("b", 16)],
    ]
}

/// A session of `workers` workers, without the UI.
fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .config("spark.ui.enabled", "false")
        .get_or_create()
        .expect("session")
}

/// Counts per word and 10-second window of `input`'s events, under a 5-second watermark.
fn window_counts(workers: usize, input: &MemoryStream) -> DataFrame {
    session(workers)
        .read_stream()
        .memory(input)
        .with_watermark("ts", "5 seconds")
        .and_then(|df| {
            df.group_by([window(col("ts"), "10 seconds"), col("word")])
                .count()
        })
        .expect("plan")
}

fn run_windows(workers: usize, mode: &str) -> StreamingQuery {
    let input = MemoryStream::new(events_schema());
    let counts = window_counts(workers, &input);
    let epochs = epochs().iter().map(|e| rows(e)).collect();
    run_to_end(
        counts.write_stream().output_mode(mode),
        Feed::Epochs(&input, epochs),
    )
    .query
}

fn iso(seconds: i64) -> String {
    format!("2026-01-01T00:00:{seconds:02}.000Z")
}

#[test]
fn progress_counts_rows_batches_watermark_and_state_rows_in_every_mode() {
    for workers in [1, 2] {
        // Complete mode keeps every window and, as Spark, drops no row as late.
        // Keys updated per epoch (Spark's `numRowsUpdated`, which in append mode counts the
        // keys an epoch changed though none is written yet): epoch 2's a@3 is late but in
        // complete mode.
        for (mode, totals, updated, last_total, late) in [
            ("update", [2, 3, 3], [2, 3, 2], 2, 1),
            ("append", [2, 3, 3], [2, 3, 2], 2, 1),
            ("complete", [2, 3, 4], [2, 3, 3], 4, 0),
        ] {
            let what = format!("{mode}, {workers} workers");
            let query = run_windows(workers, mode);
            let reports = query.recent_progress();
            let data: Vec<_> = reports.iter().filter(|p| p.num_input_rows > 0).collect();
            assert_eq!(
                data.iter().map(|p| p.num_input_rows).collect::<Vec<_>>(),
                [3, 3, 3],
                "{what}"
            );
            let aggregate = |p: &QueryProgress| {
                assert_eq!(p.state_operators.len(), 1, "{what}: one stateful operator");
                assert_eq!(p.state_operators[0].operator_name, "aggregate");
                p.state_operators[0].clone()
            };
            assert_eq!(
                data.iter()
                    .map(|p| aggregate(p).num_rows_total)
                    .collect::<Vec<_>>(),
                totals,
                "{what}"
            );
            assert_eq!(
                data.iter()
                    .map(|p| aggregate(p).num_rows_updated)
                    .collect::<Vec<_>>(),
                updated,
                "{what}"
            );
            // Watermarks: none in epoch 0; 7 s after it; 18 s after epoch 1's 23 s.
            assert_eq!(
                data[0].event_time["watermark"], "1970-01-01T00:00:00.000Z",
                "{what}"
            );
            assert_eq!(data[1].event_time["watermark"], iso(7), "{what}");
            assert_eq!(data[2].event_time["watermark"], iso(18), "{what}");
            // `max`, `min` and `avg` are of the epoch's own rows, the late a@3 among them (Spark
            // takes them where the watermark is declared): (1+4+12)/3 = 5.666 s,
            // (6+15+23)/3 = 14.666 s, (30+3+16)/3 = 16.333 s, milliseconds truncated.
            let stats = |p: &QueryProgress| {
                ["min", "avg", "max"].map(|k| p.event_time.get(k).cloned().unwrap_or_default())
            };
            let at = |s: &str| format!("2026-01-01T00:00:{s}Z");
            assert_eq!(stats(data[0]), [iso(1), at("05.666"), iso(12)], "{what}");
            assert_eq!(stats(data[1]), [iso(6), at("14.666"), iso(23)], "{what}");
            assert_eq!(stats(data[2]), [iso(3), at("16.333"), iso(30)], "{what}");
            // A no-data epoch reports the watermark alone, as Spark does.
            assert!(
                reports
                    .iter()
                    .filter(|p| p.num_input_rows == 0)
                    .all(|p| p.event_time.keys().eq(["watermark"])),
                "{what}"
            );
            let last = reports.last().expect("a report");
            if mode != "complete" {
                // The final no-data epoch runs under 25 s and evicts [10,20).
                assert_eq!(last.event_time["watermark"], iso(25), "{what}");
            }
            assert_eq!(aggregate(last).num_rows_total, last_total, "{what}");
            // a@3 is the one late row.
            let dropped: u64 = reports
                .iter()
                .map(|p| aggregate(p).num_rows_dropped_by_watermark)
                .sum();
            assert_eq!(dropped, late, "{what}");
            // Batch ids follow each other from 0.
            let ids: Vec<u64> = reports.iter().map(|p| p.batch_id).collect();
            assert_eq!(ids, (0..reports.len() as u64).collect::<Vec<_>>(), "{what}");
            // The state's estimated bytes: a fixed size per key, none without keys.
            let per_key: Vec<u64> = reports
                .iter()
                .map(aggregate)
                .filter(|s| s.num_rows_total > 0)
                .map(|s| {
                    assert_eq!(s.memory_used_bytes % s.num_rows_total, 0, "{what}");
                    s.memory_used_bytes / s.num_rows_total
                })
                .collect();
            assert!(per_key.windows(2).all(|w| w[0] == w[1]), "{what}: {per_key:?}");
            assert!(
                per_key[0] >= std::mem::size_of::<Row>() as u64,
                "{what}: {per_key:?}"
            );
            // Every part of Spark's durationMs is there, and the parts fit in the whole.
            for p in &reports {
                for key in [
                    "addBatch",
                    "getBatch",
                    "latestOffset",
                    "queryPlanning",
                    "triggerExecution",
                    "walCommit",
                ] {
                    assert!(p.duration_ms.contains_key(key), "{what}: {key}");
                }
                assert!(
                    p.duration_ms["addBatch"] <= p.duration_ms["triggerExecution"],
                    "{what}"
                );
            }
            // The run's totals count what the reports count.
            let totals = query.run_totals();
            assert_eq!(totals.input_rows, 9, "{what}");
            assert_eq!(totals.batches, reports.len() as u64, "{what}");
            assert_eq!(totals.dropped_by_watermark, late, "{what}");
            assert_eq!(
                totals.output_rows,
                reports.iter().map(|p| p.sink.num_output_rows).sum::<u64>(),
                "{what}"
            );
        }
    }
}

#[test]
fn recent_progress_keeps_as_many_reports_as_configured() {
    let spark = Session::builder()
        .config("spark.sql.streaming.numRecentProgressUpdates", 2)
        .config("spark.ui.enabled", "false")
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let df = spark.read_stream().memory(&input);
    let epochs = (0..5).map(|i| vec![row![format!("line {i}")]]).collect();
    let query = run_to_end(df.write_stream(), Feed::Epochs(&input, epochs)).query;
    let ids: Vec<u64> = query.recent_progress().iter().map(|p| p.batch_id).collect();
    assert_eq!(ids, [3, 4]);
    assert_eq!(query.last_progress().map(|p| p.batch_id), Some(4));
    assert_eq!(query.run_totals().batches, 5);
    let bad = Session::builder()
        .config("spark.sql.streaming.numRecentProgressUpdates", "many")
        .get_or_create()
        .expect_err("refused");
    assert_eq!(bad.code(), "INVALID_OPTION");
}

/// Writes down every callback as a word.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl StreamingQueryListener for Recorder {
    fn on_query_started(&self, event: &QueryStartedEvent) {
        self.0
            .lock()
            .unwrap()
            .push(format!("started {}", event.name.as_deref().unwrap_or("")));
    }
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        let p = &event.progress;
        self.0
            .lock()
            .unwrap()
            .push(format!("progress {} rows {}", p.batch_id, p.num_input_rows));
    }
    fn on_query_idle(&self, _event: &QueryIdleEvent) {
        self.0.lock().unwrap().push("idle".into());
    }
    fn on_query_terminated(&self, event: &QueryTerminatedEvent) {
        let error = event.error_class.as_deref().unwrap_or("ok");
        self.0.lock().unwrap().push(format!("terminated {error}"));
    }
}

#[test]
fn listeners_hear_start_progress_idle_and_end_in_order() {
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            // Idle as soon as an epoch finds nothing new.
            .config("spark.sql.streaming.noDataProgressEventInterval", "0")
            .config("spark.ui.enabled", "false")
            .get_or_create()
            .expect("session");
        let recorder = Arc::new(Recorder::default());
        let listener: Arc<dyn StreamingQueryListener> = recorder.clone();
        spark.streams().add_listener(listener.clone());
        let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
        let df = spark.read_stream().memory(&input);
        input.add_data([row!["a"], row!["b"]]);
        let query = df
            .write_stream()
            .format("memory")
            .query_name("heard")
            .start()
            .expect("start");
        query.process_all_available().expect("epoch 0");
        assert_eq!(spark.streams().active().len(), 1);
        assert_eq!(spark.streams().get(query.id()).map(|q| q.id()), Some(query.id()));
        input.add_data([row!["c"]]);
        query.process_all_available().expect("epoch 1");
        input.end();
        await_within(&query, "the query").expect("it ends");
        assert!(spark.streams().wait_for_listeners(Duration::from_secs(30)));
        let heard = recorder.0.lock().unwrap().clone();
        // The query may find itself idle before its first rows are polled.
        let heard: Vec<&str> = heard
            .iter()
            .map(String::as_str)
            .enumerate()
            .filter(|(i, e)| !(*i == 1 && *e == "idle"))
            .map(|(_, e)| e)
            .collect();
        assert_eq!(
            heard,
            [
                "started heard",
                "progress 0 rows 2",
                "idle",
                "progress 1 rows 1",
                "idle",
                "terminated ok"
            ],
            "{workers} workers"
        );
        assert!(spark.streams().active().is_empty());
        assert!(spark.streams().get(query.id()).is_none());
        // A removed listener hears nothing more.
        let before = recorder.0.lock().unwrap().len();
        spark.streams().remove_listener(&listener);
        let again = spark.read_stream().memory(&input);
        let q = again
            .write_stream()
            .format("memory")
            .query_name("unheard")
            .start()
            .expect("start");
        await_within(&q, "the second query").expect("it ends");
        assert!(spark.streams().wait_for_listeners(Duration::from_secs(30)));
        assert_eq!(recorder.0.lock().unwrap().len(), before);
    }
}

#[test]
fn await_any_termination_returns_once_a_query_ends_and_reset_forgets_it() {
    let spark = Session::builder()
        .config("spark.ui.enabled", "false")
        .get_or_create()
        .expect("session");
    let streams = spark.streams();
    assert!(!streams
        .await_any_termination_timeout(Duration::from_millis(10))
        .expect("nothing failed"));
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let df = spark.read_stream().memory(&input);
    let query = df
        .write_stream()
        .format("memory")
        .query_name("ends")
        .start()
        .expect("start");
    let running = spark.read_stream().memory(&MemoryStream::new(events_schema()));
    let other = running
        .write_stream()
        .format("memory")
        .query_name("runs")
        .start()
        .expect("start");
    input.add_data([row!["x"]]);
    input.end();
    streams.await_any_termination().expect("it ended well");
    assert!(!query.is_active());
    assert_eq!(
        streams.active().iter().map(|q| q.id()).collect::<Vec<_>>(),
        [other.id()]
    );
    streams.reset_terminated();
    assert!(!streams
        .await_any_termination_timeout(Duration::from_millis(10))
        .expect("nothing failed"));
    other.stop().expect("stop");
    assert!(streams
        .await_any_termination_timeout(Duration::from_secs(60))
        .expect("stopped well"));
    assert_eq!(streams.all().len(), 2);
}

/// A join of two watermarked streams reports one `eventTime` over both inputs, as Spark merges
/// the statistics of every `withWatermark`: impressions at 1 s and 5 s, clicks at 3 s and 10 s,
/// all read by the first epoch: least 1 s, greatest 10 s, mean 19/4 = 4.75 s.
#[test]
fn a_join_of_two_streams_reports_event_time_over_both_inputs() {
    let schema = |key: &str, time: &str| {
        Schema::new([
            Field::new(key, DataType::Int64),
            Field::new(time, DataType::Timestamp),
        ])
    };
    let event =
        |key: i64, seconds: i64| Row::from(vec![Value::Int(key), Value::Timestamp(T0 + seconds * SECOND)]);
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .config("spark.ui.enabled", "false")
            .get_or_create()
            .expect("session");
        let imps = MemoryStream::new(schema("ad", "imp_ts"));
        let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
        imps.add_data(vec![event(1, 1), event(2, 5)]);
        clicks.add_data(vec![event(1, 3), event(3, 10)]);
        imps.end();
        clicks.end();
        let joined = spark
            .read_stream()
            .memory(&imps)
            .with_watermark("imp_ts", "10 seconds")
            .expect("watermark")
            .join_expr(
                &spark
                    .read_stream()
                    .memory(&clicks)
                    .with_watermark("click_ts", "20 seconds")
                    .expect("watermark"),
                col("ad")
                    .eq(col("click_ad"))
                    .and(col("click_ts").gt_eq(col("imp_ts")))
                    .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))),
                "inner",
            )
            .expect("join");
        let collected = Collected::default();
        let query = collected.attach(joined.write_stream()).start().expect("starts");
        await_within(&query, "the join").expect("the join succeeds");
        let first = query
            .recent_progress()
            .into_iter()
            .find(|p| p.num_input_rows > 0)
            .expect("an epoch with rows");
        assert_eq!(first.num_input_rows, 4, "{workers} workers: one epoch reads all");
        let at = |s: &str| format!("2026-01-01T00:00:{s}Z");
        assert_eq!(
            ["min", "avg", "max"].map(|k| first.event_time.get(k).cloned().unwrap_or_default()),
            [at("01.000"), at("04.750"), at("10.000")],
            "{workers} workers"
        );
    }
}

/// The word count of `input`'s lines in update mode, checkpointed at `location`, with `above`
/// applied to its result (a filter or a projection, which Spark runs on the rows its state
/// store updated).
fn checkpointed_word_count(
    workers: usize,
    input: &MemoryStream,
    location: &str,
    above: fn(DataFrame) -> tidewater::Result<DataFrame>,
    collected: &Collected,
) -> StreamingQuery {
    let counts = session(workers)
        .read_stream()
        .memory(input)
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|words| words.group_by([col("word")]).count())
        .and_then(above)
        .expect("plan");
    collected.start_checkpointed(counts, "update", location)
}

/// An update-mode aggregation's `numRowsTotal` counts every key it holds: the ones it
/// restored from a checkpoint (which update mode does not write again), and the ones a
/// filter above keeps out of the output. Its `numRowsUpdated` counts the keys an epoch
/// changed. A projection above it writes a row for each updated key, as Spark does, even
/// where two keys' rows project to the same row.
#[test]
fn update_mode_state_rows_count_restored_and_filtered_keys() {
    type Above = fn(DataFrame) -> tidewater::Result<DataFrame>;
    let unchanged: Above = Ok;
    let above_one: Above = |counts| counts.filter(col("count").gt(lit(1)));
    let count_only: Above = |counts| counts.select([col("count")]);
    // Epoch 0: "a a b b c" counts a 2, b 2, c 1. Epoch 1, after the restart: "a d" makes a 3,
    // d 1. Four keys are held then, two of them updated.
    #[rustfmt::skip]
    let cases: [(&str, Above, Vec<Row>, Vec<Row>); 3] = [
        ("no filter", unchanged,
            vec![row!["a", 2i64], row!["b", 2i64], row!["c", 1i64]],
            vec![row!["a", 3i64], row!["d", 1i64]]),
        ("count > 1", above_one,
            vec![row!["a", 2i64], row!["b", 2i64]], vec![row!["a", 3i64]]),
        // a and b both count 2: a row each.
        ("count only", count_only,
            vec![row![1i64], row![2i64], row![2i64]], vec![row![1i64], row![3i64]]),
    ];
    for (what, above, first_rows, second_rows) in cases {
        for (before, after) in [(2, 1), (1, 2)] {
            let what = format!("{what}, {before} then {after} workers");
            let checkpoint = tempfile::tempdir().expect("temporary directory");
            let location = checkpoint.path().to_str().expect("path").to_string();
            let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));

            let first = Collected::default();
            let query = checkpointed_word_count(before, &input, &location, above, &first);
            input.add_data(vec![row!["a a b b c"]]);
            query.process_all_available().expect("epoch 0");
            query.stop().expect("stop");
            let figures = state_operator_figures(&query, "aggregate");
            let last = figures.last().expect("a report");
            assert_eq!((last.num_rows_total, last.num_rows_updated), (3, 3), "{what}");

            let second = Collected::default();
            let restarted = checkpointed_word_count(after, &input, &location, above, &second);
            input.add_data(vec![row!["a d"]]);
            restarted.process_all_available().expect("epoch 1");
            restarted.stop().expect("stop");
            let figures = state_operator_figures(&restarted, "aggregate");
            let last = figures.last().expect("a report");
            assert_eq!((last.num_rows_total, last.num_rows_updated), (4, 2), "{what}");

            assert_eq!(first.batches(), vec![(0, first_rows.clone())], "{what}");
            assert_eq!(second.batches(), vec![(1, second_rows.clone())], "{what}");
        }
    }
}

/// A windowed aggregation in update mode counts the windows it restored, which update mode
/// does not write again, among its rows held.
#[test]
fn update_mode_windows_restored_from_a_checkpoint_are_counted_as_held() {
    for (before, after) in [(2, 1), (1, 2)] {
        let what = format!("{before} then {after} workers");
        let checkpoint = tempfile::tempdir().expect("temporary directory");
        let location = checkpoint.path().to_str().expect("path").to_string();
        let input = MemoryStream::new(events_schema());
        let first = Collected::default();
        let query = first.start_checkpointed(window_counts(before, &input), "update", &location);
        // (a, [0,10)) = 2 and (b, [10,20)) = 1; the greatest event time is 12 s.
        input.add_data(rows(&[("a", 1), ("a", 4), ("b", 12)]));
        query.process_all_available().expect("epoch 0");
        query.stop().expect("stop");

        let second = Collected::default();
        let restarted = second.start_checkpointed(window_counts(after, &input), "update", &location);
        // Under the watermark of 7 s no window closes: a@6 and b@15 update the restored
        // windows, a@23 opens (a, [20,30)). Three windows held, all three updated.
        input.add_data(rows(&[("a", 6), ("b", 15), ("a", 23)]));
        restarted.process_all_available().expect("epoch 1");
        restarted.stop().expect("stop");
        let figures = state_operator_figures(&restarted, "aggregate");
        let last = figures
            .iter()
            .rev()
            .find(|f| f.num_rows_updated > 0)
            .expect("a report");
        assert_eq!((last.num_rows_total, last.num_rows_updated), (3, 3), "{what}");
        let written: usize = second.batches().iter().map(|(_, rows)| rows.len()).sum();
        assert_eq!(written, 3, "{what}");
    }
}
