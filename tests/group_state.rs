//! Arbitrary state per key, as Spark's `groupByKey(..).flatMapGroupsWithState` and
//! `mapGroupsWithState`: a per-user counter, and sessions closed by an event-time timeout in
//! epochs without rows, with 1 and 2 workers. Every expected answer is worked out by hand in
//! the test's comments, never taken from a run.

mod common;

use common::*;
use tidewater::prelude::*;

/// 2026-01-01 00:00:00 UTC, in microseconds.
const T0: i64 = 1_767_225_600_000_000;
const SECOND: i64 = 1_000_000;

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

/// The query's `flatMapGroupsWithState` figures, epoch by epoch.
fn figures(query: &StreamingQuery) -> Vec<tidewater::runtime::StateOperatorProgress> {
    state_operator_figures(query, "flatMapGroupsWithState")
}

fn user_of(key: &Row) -> Value {
    key.first().cloned().unwrap_or(Value::Null)
}

#[test]
fn a_per_user_counter_counts_each_users_rows_across_epochs() {
    let schema = Schema::new([Field::new("user", DataType::String)]);
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("seen", DataType::Int64),
    ]);
    let epochs = vec![
        vec![row!["ann"], row!["bob"], row!["ann"]],
        vec![row!["ann"]],
        vec![row!["bob"], row!["bob"], row!["cy"]],
    ];
    // Each epoch writes the users it saw with their running counts.
    let expected = vec![
        vec![row!["ann", 2i64], row!["bob", 1i64]],
        vec![row!["ann", 3i64]],
        vec![row!["bob", 3i64], row!["cy", 1i64]],
    ];
    for workers in [1, 2] {
        let input = MemoryStream::new(schema.clone());
        let counts = session(workers)
            .read_stream()
            .memory(&input)
            .group_by_key([col("user")])
            .map_groups_with_state(
                GroupStateTimeout::None,
                |key: &Row, rows: Vec<Row>, state: &mut GroupState<i64>| {
                    let seen = state.get().copied().unwrap_or(0) + rows.len() as i64;
                    state.update(seen);
                    Row::from(vec![user_of(key), Value::Int(seen)])
                },
                out.clone(),
            )
            .expect("plan");
        let ran = run_to_end(
            counts.write_stream().output_mode("update"),
            Feed::Epochs(&input, epochs.clone()),
        );
        let batches: Vec<Vec<Row>> = ran
            .batch_rows()
            .into_iter()
            .map(|mut rows| {
                rows.sort();
                rows
            })
            .collect();
        assert_eq!(batches, expected, "{workers} worker(s)");
        // Three users hold a state; each of the five calls set one.
        let figures = figures(&ran.query);
        assert_eq!(
            figures.last().map(|f| f.num_rows_total),
            Some(3),
            "{workers} worker(s)"
        );
        let updated: u64 = figures.iter().map(|f| f.num_rows_updated).sum();
        assert_eq!(updated, 5, "{workers} worker(s)");
    }
}

/// Open session: first and last event time (µs) and the number of clicks.
type Open = (i64, i64, i64);

/// The clicks' schema: user and event time.
fn click_schema() -> Schema {
    Schema::new([
        Field::new("user", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ])
}

/// Sessions of `input`'s clicks with a 5 s gap, closed by an event-time timeout under a
/// watermark 2 s behind: a key's rows extend its session and push its timeout to the last
/// click plus 5 s; the timeout writes `(user, start, end, clicks)` and removes the state.
fn sessions_of(spark: &Session, input: &MemoryStream) -> DataFrame {
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("start", DataType::Timestamp),
        Field::new("end", DataType::Timestamp),
        Field::new("clicks", DataType::Int64),
    ]);
    spark
        .read_stream()
        .memory(input)
        .with_watermark("ts", "2 seconds")
        .expect("watermark")
        .group_by_key([col("user")])
        .flat_map_groups_with_state(
            OutputMode::Append,
            GroupStateTimeout::EventTime,
            |key: &Row, rows: Vec<Row>, state: &mut GroupState<Open>| {
                if state.has_timed_out() {
                    let Some(&(start, last, clicks)) = state.get() else {
                        return Vec::new();
                    };
                    state.remove();
                    let end = last + 5 * SECOND;
                    return vec![Row::from(vec![
                        user_of(key),
                        Value::Timestamp(start),
                        Value::Timestamp(end),
                        Value::Int(clicks),
                    ])];
                }
                let (mut start, mut last, mut clicks) =
                    state.get().copied().unwrap_or((i64::MAX, i64::MIN, 0));
                for row in rows {
                    if let Some(Value::Timestamp(t)) = row.get(1) {
                        start = start.min(*t);
                        last = last.max(*t);
                        clicks += 1;
                    }
                }
                state.update((start, last, clicks));
                state
                    .set_timeout_timestamp((last + 5 * SECOND) / 1000)
                    .expect("the timeout is after the watermark");
                Vec::new()
            },
            out,
        )
        .expect("plan")
}

fn at(user: &str, s: i64) -> Row {
    row![user, Value::Timestamp(T0 + s * SECOND)]
}

/// A closed session, times in seconds.
fn closed(user: &str, start: i64, end: i64, clicks: i64) -> Row {
    row![
        user,
        Value::Timestamp(T0 + start * SECOND),
        Value::Timestamp(T0 + end * SECOND),
        clicks
    ]
}

#[test]
fn sessions_and_their_timeouts_are_restored_from_the_checkpoint() {
    // The epochs of the test above, stopped after the first and restarted on another worker
    // count: a's and b's sessions and their timeouts, and the watermark, come back.
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(click_schema());
    let start = |spark: &Session, collected: &Collected| {
        collected
            .attach(
                sessions_of(spark, &input)
                    .write_stream()
                    .output_mode("append")
                    .option("checkpointLocation", &location),
            )
            .start()
            .expect("start")
    };
    let first = Collected::default();
    let query = start(&session(2), &first);
    input.add_data(vec![at("a", 10), at("b", 11)]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = Collected::default();
    let restarted = start(&session(1), &second);
    for epoch in [
        vec![at("a", 13)],
        vec![at("a", 20)],
        vec![at("c", 14), at("b", 30)],
    ] {
        input.add_data(epoch);
        restarted.process_all_available().expect("an epoch");
    }
    restarted.stop().expect("stop");
    let mut rows: Vec<Row> = first
        .batches()
        .into_iter()
        .chain(second.batches())
        .flat_map(|(_, rows)| rows)
        .collect();
    rows.sort();
    assert_eq!(rows, vec![closed("a", 10, 25, 3), closed("b", 11, 16, 1)]);
}

#[test]
fn event_time_timeouts_close_sessions_in_epochs_without_rows() {
    // Watermark 2 s behind the greatest time; a session ends 5 s after its last click.
    let epochs = vec![
        vec![at("a", 10), at("b", 11)], // a times out at 15 s, b at 16 s
        vec![at("a", 13)],              // a at 18 s
        vec![at("a", 20)],              // a at 25 s; the watermark then moves to 18 s: b closes
        vec![at("c", 14), at("b", 30)], // c is late (14 <= 18) and dropped; b opens anew, 35 s
    ];
    // After the last epoch the watermark moves to 28 s: a closes. b's second session (35 s)
    // and c (dropped) never come out.
    let b_closed = closed("b", 11, 16, 1);
    let a_closed = closed("a", 10, 25, 3);
    for workers in [1, 2] {
        let input = MemoryStream::new(click_schema());
        let sessions = sessions_of(&session(workers), &input);
        let ran = run_to_end(
            sessions.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs.clone()),
        );
        assert_eq!(
            ran.rows(),
            {
                let mut rows = vec![a_closed.clone(), b_closed.clone()];
                rows.sort();
                rows
            },
            "{workers} worker(s)"
        );
        // b closes in an epoch of its own, before a's, both without input rows of their key.
        let batches = ran.batch_rows();
        let b_batch = batches
            .iter()
            .position(|rows| rows.contains(&b_closed))
            .expect("b's batch");
        let a_batch = batches
            .iter()
            .position(|rows| rows.contains(&a_closed))
            .expect("a's batch");
        assert!(b_batch < a_batch, "{workers} worker(s): {batches:?}");
        // c was dropped as late; a and b's first session were removed; b's second is held.
        let figures = figures(&ran.query);
        let late: u64 = figures.iter().map(|f| f.num_rows_dropped_by_watermark).sum();
        assert_eq!(late, 1, "{workers} worker(s)");
        let removed: u64 = figures.iter().map(|f| f.num_rows_removed).sum();
        assert_eq!(removed, 2, "{workers} worker(s)");
        assert_eq!(
            figures.last().map(|f| f.num_rows_total),
            Some(1),
            "{workers} worker(s)"
        );
    }
}

#[test]
fn timeouts_and_output_modes_spark_refuses_are_refused() {
    let schema = Schema::new([Field::new("user", DataType::String)]);
    let input = MemoryStream::new(schema.clone());
    // An event-time timeout needs a watermark, as in Spark.
    let refused = session(1)
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .flat_map_groups_with_state(
            OutputMode::Append,
            GroupStateTimeout::EventTime,
            |_: &Row, _: Vec<Row>, _: &mut GroupState<i64>| Vec::new(),
            schema.clone(),
        );
    assert!(matches!(refused, Err(Error::InvalidPlan(_))));
    let complete = session(1)
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .flat_map_groups_with_state(
            OutputMode::Complete,
            GroupStateTimeout::None,
            |_: &Row, _: Vec<Row>, _: &mut GroupState<i64>| Vec::new(),
            schema.clone(),
        );
    assert!(matches!(complete, Err(Error::InvalidPlan(_))));
    // A function meant for update mode in a query started in append mode, as Spark refuses.
    let update = session(1)
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .map_groups_with_state(
            GroupStateTimeout::None,
            |key: &Row, _: Vec<Row>, _: &mut GroupState<i64>| key.clone(),
            schema.clone(),
        )
        .expect("plan");
    let started = update
        .write_stream()
        .output_mode("append")
        .format("memory")
        .query_name("refused")
        .start();
    assert!(
        matches!(started, Err(Error::UnsupportedOutputMode(_))),
        "{:?}",
        started.err()
    );
}

/// The per-user counter of the first test, checkpointed at `location`.
fn counter(spark: &Session, input: &MemoryStream, location: &str, collected: &Collected) -> StreamingQuery {
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("seen", DataType::Int64),
    ]);
    let counts = spark
        .read_stream()
        .memory(input)
        .group_by_key([col("user")])
        .map_groups_with_state(
            GroupStateTimeout::None,
            |key: &Row, rows: Vec<Row>, state: &mut GroupState<i64>| {
                let seen = state.get().copied().unwrap_or(0) + rows.len() as i64;
                state.update(seen);
                Row::from(vec![user_of(key), Value::Int(seen)])
            },
            out,
        )
        .expect("plan");
    collected.start_checkpointed(counts, "update", location)
}

#[test]
fn the_state_of_each_key_is_restored_from_the_checkpoint_on_another_worker_count() {
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(Schema::new([Field::new("user", DataType::String)]));
    let first = Collected::default();
    let query = counter(&session(2), &input, &location, &first);
    input.add_data(vec![row!["ann"], row!["bob"], row!["ann"]]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = Collected::default();
    let restarted = counter(&session(1), &input, &location, &second);
    input.add_data(vec![row!["ann"], row!["cy"]]);
    restarted.process_all_available().expect("epoch 1");
    restarted.stop().expect("stop");

    let sorted = |batches: Vec<BatchRows>| -> Vec<BatchRows> {
        batches
            .into_iter()
            .map(|(id, mut rows)| {
                rows.sort();
                (id, rows)
            })
            .collect()
    };
    assert_eq!(
        sorted(first.batches()),
        vec![(0, vec![row!["ann", 2i64], row!["bob", 1i64]])]
    );
    // ann goes on from 2; cy is new; bob has no rows, so is not called.
    assert_eq!(
        sorted(second.batches()),
        vec![(1, vec![row!["ann", 3i64], row!["cy", 1i64]])]
    );
    // The restored ann and bob are held, and cy.
    assert_eq!(figures(&restarted).last().map(|f| f.num_rows_total), Some(3));
}

/// Idle users time out on processing time alone: each user's rows set a 5 s timeout, and the
/// query, on a clock the test moves, runs epochs without rows once a tick (1 s) has passed,
/// in which the timeouts the clock has passed fire.
#[test]
fn processing_time_timeouts_fire_in_epochs_without_rows() {
    let schema = Schema::new([Field::new("user", DataType::String)]);
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("timed_out", DataType::Boolean),
    ]);
    for workers in [1, 2] {
        let input = MemoryStream::new(schema.clone());
        let idle = session(workers)
            .read_stream()
            .memory(&input)
            .group_by_key([col("user")])
            .flat_map_groups_with_state(
                OutputMode::Update,
                GroupStateTimeout::ProcessingTime,
                |key: &Row, _rows: Vec<Row>, state: &mut GroupState<i64>| {
                    if state.has_timed_out() {
                        state.remove();
                        return vec![Row::from(vec![user_of(key), Value::Bool(true)])];
                    }
                    state.update(state.get_current_processing_time_ms());
                    state
                        .set_timeout_duration(5_000)
                        .expect("a processing-time timeout");
                    vec![Row::from(vec![user_of(key), Value::Bool(false)])]
                },
                out.clone(),
            )
            .expect("plan");
        let clock = ManualClock::new(1_000);
        let collected = Collected::default();
        let query = collected
            .attach(
                idle.write_stream()
                    .output_mode("update")
                    .processing_clock(clock.clone()),
            )
            .start()
            .expect("start");
        let second = std::time::Duration::from_secs(1);
        // At 1 s: ann and bob, both timing out at 6 s.
        input.add_data(vec![row!["ann"], row!["bob"]]);
        query.process_all_available().expect("epoch at 1 s");
        // At 3 s: bob again, now timing out at 8 s.
        clock.advance(2 * second);
        input.add_data(vec![row!["bob"]]);
        query.process_all_available().expect("epoch at 3 s");
        // At 6.5 s, no rows: ann's timeout (6 s) has passed, bob's (8 s) has not.
        clock.advance(3 * second + second / 2);
        query.process_all_available().expect("an epoch at 6.5 s");
        // At 7.9 s (a tick after 6.5 s): still nothing for bob.
        clock.advance(second + 2 * second / 5);
        query.process_all_available().expect("an epoch at 7.9 s");
        // At 9 s: bob's timeout has passed.
        clock.advance(second + second / 10);
        query.process_all_available().expect("an epoch at 9 s");
        // Half a tick later: no epoch is due.
        clock.advance(second / 2);
        query.process_all_available().expect("nothing due");
        query.stop().expect("stop");
        let batches: Vec<Vec<Row>> = collected
            .batches()
            .into_iter()
            .map(|(_, mut rows)| {
                rows.sort();
                rows
            })
            .collect();
        assert_eq!(
            batches,
            vec![
                vec![row!["ann", false], row!["bob", false]],
                vec![row!["bob", false]],
                vec![row!["ann", true]],
                vec![],
                vec![row!["bob", true]],
            ],
            "{workers} worker(s)"
        );
        // Both users were removed; none is held.
        let figures = figures(&query);
        assert_eq!(
            figures.last().map(|f| f.num_rows_total),
            Some(0),
            "{workers} worker(s)"
        );
        let removed: u64 = figures.iter().map(|f| f.num_rows_removed).sum();
        assert_eq!(removed, 2, "{workers} worker(s)");
    }
}
