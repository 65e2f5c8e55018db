//! Spark 4's `transformWithState` as `transform_with_state` with a `StatefulProcessor`: value,
//! list and map state, TTL expiry on processing time, processing-time and event-time timers
//! (in epochs without rows too), a restart from a checkpoint, and Spark's refusals, with 1 and
//! 2 workers. Every expected answer is worked out by hand in the test's comments.

mod common;

use std::time::Duration;

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

/// The query's `transformWithStateExec` figures, epoch by epoch.
fn figures(query: &StreamingQuery) -> Vec<tidewater::runtime::StateOperatorProgress> {
    state_operator_figures(query, "transformWithStateExec")
}

fn user_of(key: &Row) -> Value {
    key.first().cloned().unwrap_or(Value::Null)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// Each batch's rows, sorted, leaving out empty batches.
fn sorted_batches(batches: Vec<BatchRows>) -> Vec<Vec<Row>> {
    batches
        .into_iter()
        .map(|(_, mut rows)| {
            rows.sort();
            rows
        })
        .filter(|rows| !rows.is_empty())
        .collect()
}

/// The state of a shopper: the rows seen (a value), the items in read order (a list), and
/// each item's count (a map). The item `reset` clears all three, which removes the key.
struct Basket {
    state: Option<BasketState>,
}

/// The rows seen, the items, each item's count.
type BasketState = (ValueState<i64>, ListState<String>, MapState<String, i64>);

impl StatefulProcessor for Basket {
    fn init(&mut self, handle: &mut ProcessorHandle) {
        self.state = Some((
            handle.get_value_state("count", None),
            handle.get_list_state("items", None),
            handle.get_map_state("per_item", None),
        ));
    }

    fn handle_input_rows(
        &self,
        key: &Row,
        rows: Vec<Row>,
        _: &TimerValues,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let Some((count, items, per_item)) = &self.state else {
            return Vec::new();
        };
        for row in &rows {
            let item = row.get(1).map(text).unwrap_or_default();
            if item == "reset" {
                count.clear(ctx);
                items.clear(ctx);
                per_item.clear(ctx);
                continue;
            }
            count.update(ctx, &(count.get(ctx).unwrap_or(0) + 1));
            items.append_value(ctx, &item);
            let seen = per_item.get_value(ctx, &item).unwrap_or(0);
            per_item.update_value(ctx, &item, &(seen + 1));
        }
        let mut counted: Vec<String> = per_item
            .iter(ctx)
            .into_iter()
            .map(|(item, n)| format!("{item}={n}"))
            .collect();
        counted.sort();
        vec![Row::from(vec![
            user_of(key),
            Value::Int(count.get(ctx).unwrap_or(0)),
            Value::from(items.get(ctx).join(",")),
            Value::from(counted.join(";")),
        ])]
    }
}

fn basket_schema() -> Schema {
    Schema::new([
        Field::new("user", DataType::String),
        Field::new("item", DataType::String),
    ])
}

fn baskets(spark: &Session, input: &MemoryStream) -> DataFrame {
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("count", DataType::Int64),
        Field::new("items", DataType::String),
        Field::new("per_item", DataType::String),
    ]);
    spark
        .read_stream()
        .memory(input)
        .group_by_key([col("user")])
        .transform_with_state(Basket { state: None }, TimeMode::None, OutputMode::Update, out)
        .expect("plan")
}

#[test]
fn value_list_and_map_state_are_kept_per_key() {
    let epochs = vec![
        vec![
            row!["ann", "apple"],
            row!["bob", "pear"],
            row!["ann", "fig"],
            row!["ann", "apple"],
        ],
        vec![row!["bob", "pear"], row!["cy", "kiwi"]],
        vec![row!["ann", "fig"]],
        vec![row!["bob", "reset"]],
    ];
    // Per call: the count, the items in read order, each item's count.
    let expected = vec![
        vec![
            row!["ann", 3i64, "apple,fig,apple", "apple=2;fig=1"],
            row!["bob", 1i64, "pear", "pear=1"],
        ],
        vec![
            row!["bob", 2i64, "pear,pear", "pear=2"],
            row!["cy", 1i64, "kiwi", "kiwi=1"],
        ],
        vec![row!["ann", 4i64, "apple,fig,apple,fig", "apple=2;fig=2"]],
        // bob's reset clears every variable: the key holds nothing any more.
        vec![row!["bob", 0i64, "", ""]],
    ];
    for workers in [1, 2] {
        let input = MemoryStream::new(basket_schema());
        let ran = run_to_end(
            baskets(&session(workers), &input)
                .write_stream()
                .output_mode("update"),
            Feed::Epochs(&input, epochs.clone()),
        );
        assert_eq!(sorted_batches(ran.batches()), expected, "{workers} worker(s)");
        let figures = figures(&ran.query);
        // ann and cy are held; bob was removed; five calls changed a state.
        assert_eq!(
            figures.last().map(|f| f.num_rows_total),
            Some(2),
            "{workers} worker(s)"
        );
        assert_eq!(figures.iter().map(|f| f.num_rows_removed).sum::<u64>(), 1);
        assert_eq!(figures.iter().map(|f| f.num_rows_updated).sum::<u64>(), 5);
    }
}

#[test]
fn the_state_is_restored_from_the_checkpoint_on_another_worker_count() {
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(basket_schema());
    let start = |spark: &Session, collected: &Collected| {
        collected
            .attach(
                baskets(spark, &input)
                    .write_stream()
                    .output_mode("update")
                    .option("checkpointLocation", &location),
            )
            .start()
            .expect("start")
    };
    let first = Collected::default();
    let query = start(&session(2), &first);
    input.add_data(vec![
        row!["ann", "apple"],
        row!["bob", "pear"],
        row!["ann", "fig"],
    ]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = Collected::default();
    let restarted = start(&session(1), &second);
    input.add_data(vec![row!["ann", "apple"], row!["cy", "kiwi"]]);
    restarted.process_all_available().expect("epoch 1");
    restarted.stop().expect("stop");

    assert_eq!(
        sorted_batches(first.batches()),
        vec![vec![
            row!["ann", 2i64, "apple,fig", "apple=1;fig=1"],
            row!["bob", 1i64, "pear", "pear=1"],
        ]]
    );
    // ann goes on from her restored variables; cy is new; bob is not called.
    assert_eq!(
        sorted_batches(second.batches()),
        vec![vec![
            row!["ann", 3i64, "apple,fig,apple", "apple=2;fig=1"],
            row!["cy", 1i64, "kiwi", "kiwi=1"],
        ]]
    );
    // The restored ann and bob are held, and cy.
    assert_eq!(figures(&restarted).last().map(|f| f.num_rows_total), Some(3));
}

/// Visits with a 10 s time to live: each row appends the batch time to a list and sets a value
/// to it, both expiring 10 s later, each element on its own. No time mode: the TTL alone wakes
/// a key, on the clock the test moves.
struct Visits {
    state: Option<(ValueState<i64>, ListState<i64>)>,
}

impl StatefulProcessor for Visits {
    fn init(&mut self, handle: &mut ProcessorHandle) {
        let ttl = Some(Duration::from_secs(10));
        self.state = Some((
            handle.get_value_state("last", ttl),
            handle.get_list_state("visits", ttl),
        ));
    }

    fn handle_input_rows(
        &self,
        key: &Row,
        rows: Vec<Row>,
        times: &TimerValues,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let Some((last, visits)) = &self.state else {
            return Vec::new();
        };
        let had_last = last.exists(ctx);
        let now = times.current_processing_time_ms();
        for _ in rows {
            visits.append_value(ctx, &now);
        }
        last.update(ctx, &now);
        // Timers need a time mode.
        assert!(ctx.register_timer(now).is_err());
        vec![Row::from(vec![
            user_of(key),
            Value::Int(visits.get(ctx).len() as i64),
            Value::Bool(had_last),
        ])]
    }
}

#[test]
fn state_expires_by_its_time_to_live_on_processing_time() {
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("visits", DataType::Int64),
        Field::new("had_last", DataType::Boolean),
    ]);
    for workers in [1, 2] {
        let input = MemoryStream::new(Schema::new([Field::new("user", DataType::String)]));
        let visits = session(workers)
            .read_stream()
            .memory(&input)
            .group_by_key([col("user")])
            .transform_with_state(
                Visits { state: None },
                TimeMode::None,
                OutputMode::Update,
                out.clone(),
            )
            .expect("plan");
        let clock = ManualClock::new(1_000);
        let collected = Collected::default();
        let query = collected
            .attach(
                visits
                    .write_stream()
                    .output_mode("update")
                    .processing_clock(clock.clone()),
            )
            .start()
            .expect("start");
        let s = Duration::from_secs(1);
        // 1 s: ann and bob visit; their entries expire at 11 s.
        input.add_data(vec![row!["ann"], row!["bob"]]);
        query.process_all_available().expect("1 s");
        // 6 s: ann again: visits [1 s, 6 s]; her value now expires at 16 s.
        clock.advance(5 * s);
        input.add_data(vec![row!["ann"]]);
        query.process_all_available().expect("6 s");
        let held_at_6 = figures(&query).last().map(|f| f.num_rows_total);
        // 12 s: ann's 1 s visit has expired: [6 s, 12 s]; her value (16 s) had not. bob's
        // entries all expired at 11 s: he wakes in this epoch and is removed.
        clock.advance(6 * s);
        input.add_data(vec![row!["ann"]]);
        query.process_all_available().expect("12 s");
        let held_at_12 = figures(&query).last().map(|f| f.num_rows_total);
        // 30 s, no rows: everything of ann's (at most 22 s) has expired; she is removed.
        clock.advance(18 * s);
        query.process_all_available().expect("30 s");
        let held_at_30 = figures(&query).last().map(|f| f.num_rows_total);
        // 31 s: ann starts anew.
        clock.advance(s);
        input.add_data(vec![row!["ann"]]);
        query.process_all_available().expect("31 s");
        query.stop().expect("stop");
        assert_eq!(
            sorted_batches(collected.batches()),
            vec![
                vec![row!["ann", 1i64, false], row!["bob", 1i64, false]],
                vec![row!["ann", 2i64, true]],
                vec![row!["ann", 2i64, true]],
                vec![row!["ann", 1i64, false]],
            ],
            "{workers} worker(s)"
        );
        assert_eq!(
            (held_at_6, held_at_12, held_at_30),
            (Some(2), Some(1), Some(0)),
            "{workers} worker(s)"
        );
        let removed: u64 = figures(&query).iter().map(|f| f.num_rows_removed).sum();
        assert_eq!(removed, 2, "{workers} worker(s)");
    }
}

/// Idle users on processing time: each user's rows replace their timer with one 5 s after
/// the batch time; the timer writes `idle` with its time.
struct Idle;

impl StatefulProcessor for Idle {
    fn init(&mut self, _: &mut ProcessorHandle) {}

    fn handle_input_rows(
        &self,
        key: &Row,
        _: Vec<Row>,
        times: &TimerValues,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        for timer in ctx.list_timers() {
            ctx.delete_timer(timer).expect("processing-time timers");
        }
        let now = times.current_processing_time_ms();
        ctx.register_timer(now + 5_000).expect("processing-time timers");
        vec![Row::from(vec![
            user_of(key),
            Value::from("active"),
            Value::Int(now),
        ])]
    }

    fn handle_expired_timer(
        &self,
        key: &Row,
        _: &TimerValues,
        expired: &ExpiredTimerInfo,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        assert!(ctx.list_timers().is_empty(), "the fired timer is gone");
        vec![Row::from(vec![
            user_of(key),
            Value::from("idle"),
            Value::Int(expired.expiry_time_ms()),
        ])]
    }
}

fn activity_schema() -> Schema {
    Schema::new([
        Field::new("user", DataType::String),
        Field::new("what", DataType::String),
        Field::new("at", DataType::Int64),
    ])
}

#[test]
fn processing_time_timers_fire_in_epochs_without_rows() {
    for workers in [1, 2] {
        let input = MemoryStream::new(Schema::new([Field::new("user", DataType::String)]));
        let idle = session(workers)
            .read_stream()
            .memory(&input)
            .group_by_key([col("user")])
            .transform_with_state(
                Idle,
                TimeMode::ProcessingTime,
                OutputMode::Update,
                activity_schema(),
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
        let s = Duration::from_secs(1);
        // 1 s: timers at 6 s for ann and bob.
        input.add_data(vec![row!["ann"], row!["bob"]]);
        query.process_all_available().expect("1 s");
        // 3 s: bob's timer moves to 8 s.
        clock.advance(2 * s);
        input.add_data(vec![row!["bob"]]);
        query.process_all_available().expect("3 s");
        // 6 s, no rows: ann's timer is reached.
        clock.advance(3 * s);
        query.process_all_available().expect("6 s");
        // 9 s, no rows: bob's.
        clock.advance(3 * s);
        query.process_all_available().expect("9 s");
        let held = figures(&query).last().map(|f| f.num_rows_total);
        query.stop().expect("stop");
        assert_eq!(
            sorted_batches(collected.batches()),
            vec![
                vec![row!["ann", "active", 1_000i64], row!["bob", "active", 1_000i64]],
                vec![row!["bob", "active", 3_000i64]],
                vec![row!["ann", "idle", 6_000i64]],
                vec![row!["bob", "idle", 8_000i64]],
            ],
            "{workers} worker(s)"
        );
        // A key with neither variables nor timers holds nothing.
        assert_eq!(held, Some(0), "{workers} worker(s)");
    }
}

/// Sessions on event time: each user's rows move their timer to 5 s after their latest
/// event; the timer writes the user and its time.
struct SessionEnd {
    latest: Option<ValueState<i64>>,
}

impl StatefulProcessor for SessionEnd {
    fn init(&mut self, handle: &mut ProcessorHandle) {
        assert_eq!(handle.time_mode(), TimeMode::EventTime);
        self.latest = Some(handle.get_value_state("latest", None));
    }

    fn handle_input_rows(&self, _: &Row, rows: Vec<Row>, _: &TimerValues, ctx: &mut KeyContext) -> Vec<Row> {
        let Some(latest) = &self.latest else {
            return Vec::new();
        };
        let times = rows.iter().filter_map(|row| match row.get(1) {
            Some(Value::Timestamp(t)) => Some(t.div_euclid(1000)),
            _ => None,
        });
        let newest = times.chain(latest.get(ctx)).max().unwrap_or(0);
        if let Some(old) = latest.get(ctx) {
            ctx.delete_timer(old + 5_000).expect("event-time timers");
        }
        latest.update(ctx, &newest);
        ctx.register_timer(newest + 5_000).expect("event-time timers");
        Vec::new()
    }

    fn handle_expired_timer(
        &self,
        key: &Row,
        times: &TimerValues,
        expired: &ExpiredTimerInfo,
        ctx: &mut KeyContext,
    ) -> Vec<Row> {
        let watermark = times.current_watermark_ms().expect("a watermark");
        assert!(expired.expiry_time_ms() <= watermark);
        if let Some(latest) = &self.latest {
            latest.clear(ctx);
        }
        vec![Row::from(vec![
            user_of(key),
            Value::Timestamp(expired.expiry_time_ms() * 1000),
        ])]
    }
}

fn at(user: &str, s: i64) -> Row {
    row![user, Value::Timestamp(T0 + s * SECOND)]
}

fn ended(user: &str, s: i64) -> Row {
    row![user, Value::Timestamp(T0 + s * SECOND)]
}

#[test]
fn event_time_timers_fire_as_the_watermark_passes_them() {
    let clicks = Schema::new([
        Field::new("user", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]);
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("end", DataType::Timestamp),
    ]);
    // Watermark 2 s behind the greatest event time.
    let epochs = vec![
        vec![at("a", 10), at("b", 11)], // timers a 15 s, b 16 s
        vec![at("a", 13)],              // a 18 s
        vec![at("a", 20)],              // a 25 s; then the watermark moves to 18 s: b's fires
        vec![at("c", 14), at("b", 30)], // c is late (14 <= 18), dropped; b 35 s
    ];
    // After the last epoch the watermark moves to 28 s: a's timer (25 s) fires; b's (35 s)
    // never does.
    for workers in [1, 2] {
        let input = MemoryStream::new(clicks.clone());
        let sessions = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "2 seconds")
            .expect("watermark")
            .group_by_key([col("user")])
            .transform_with_state(
                SessionEnd { latest: None },
                TimeMode::EventTime,
                OutputMode::Append,
                out.clone(),
            )
            .expect("plan");
        let ran = run_to_end(
            sessions.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs.clone()),
        );
        // b's timer fires in an epoch of its own, before a's, both without rows of their key.
        assert_eq!(
            sorted_batches(ran.batches()),
            vec![vec![ended("b", 16)], vec![ended("a", 25)]],
            "{workers} worker(s)"
        );
        let figures = figures(&ran.query);
        let late: u64 = figures.iter().map(|f| f.num_rows_dropped_by_watermark).sum();
        assert_eq!(late, 1, "{workers} worker(s)");
        // b's second session is held; a and b's first were removed.
        assert_eq!(
            figures.last().map(|f| f.num_rows_total),
            Some(1),
            "{workers} worker(s)"
        );
        assert_eq!(figures.iter().map(|f| f.num_rows_removed).sum::<u64>(), 2);
    }
}

#[test]
fn what_spark_refuses_is_refused() {
    let input = MemoryStream::new(basket_schema());
    let spark = session(1);
    // Event time needs a watermark.
    let no_watermark = spark
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .transform_with_state(Idle, TimeMode::EventTime, OutputMode::Append, activity_schema());
    assert!(matches!(no_watermark, Err(Error::InvalidPlan(_))));
    // Complete mode is not one of its modes.
    let complete = spark
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .transform_with_state(Idle, TimeMode::None, OutputMode::Complete, activity_schema());
    assert!(matches!(complete, Err(Error::InvalidPlan(_))));
    // A state name declared twice.
    struct Twice;
    impl StatefulProcessor for Twice {
        fn init(&mut self, handle: &mut ProcessorHandle) {
            let _: ValueState<i64> = handle.get_value_state("n", None);
            let _: ListState<i64> = handle.get_list_state("n", None);
        }
        fn handle_input_rows(&self, _: &Row, _: Vec<Row>, _: &TimerValues, _: &mut KeyContext) -> Vec<Row> {
            Vec::new()
        }
    }
    let twice = spark
        .read_stream()
        .memory(&input)
        .group_by_key([col("user")])
        .transform_with_state(Twice, TimeMode::None, OutputMode::Update, activity_schema());
    assert!(matches!(twice, Err(Error::InvalidPlan(_))));
}

/// A ten-second window from `start` seconds, as the aggregation writes it.
fn window_of(start: i64) -> Value {
    Value::Struct(
        vec![
            Value::Timestamp(T0 + start * SECOND),
            Value::Timestamp(T0 + (start + 10) * SECOND),
        ]
        .into(),
    )
}

#[test]
fn a_windowed_aggregation_follows_on_the_processors_watermark() {
    let clicks = Schema::new([
        Field::new("user", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]);
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("end", DataType::Timestamp),
    ]);
    // The sessions of the test above, with one more epoch; watermark 2 s behind. Each epoch
    // of rows moves the watermark, which runs an epoch without rows after it (odd numbers).
    let epochs = vec![
        // 0: timers a 15 s, b 16 s; 1: watermark 9 s
        vec![at("a", 10), at("b", 11)],
        // 2: a 18 s; 3: watermark 11 s
        vec![at("a", 13)],
        // 4: a 25 s; 5: watermark 18 s: b ends at 16 s, into [10, 20)
        vec![at("a", 20)],
        // 6: c late (14 <= 18), dropped; b 35 s; 7: watermark 28 s: a ends at 25 s, into
        // [20, 30); [10, 20) closes with 1
        vec![at("c", 14), at("b", 30)],
        // 8: d 45 s; 9: watermark 38 s: b ends at 35 s, into [30, 40); [20, 30) closes with 1
        vec![at("d", 40)],
    ];
    for workers in [1, 2] {
        let input = MemoryStream::new(clicks.clone());
        let counts = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "2 seconds")
            .expect("watermark")
            .group_by_key([col("user")])
            .transform_with_state_event_time(
                SessionEnd { latest: None },
                "end",
                OutputMode::Append,
                out.clone(),
            )
            .expect("plan")
            .group_by([window(col("end"), "10 seconds")])
            .count()
            .expect("aggregation");
        let ran = run_to_end(
            counts.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs.clone()),
        );
        // Each window is written once, in the epoch the watermark passes its end; [30, 40)
        // is still open at the end.
        assert_eq!(
            sorted_batches(ran.batches()),
            vec![
                vec![Row::from(vec![window_of(10), Value::Int(1)])],
                vec![Row::from(vec![window_of(20), Value::Int(1)])],
            ],
            "{workers} worker(s)"
        );
        let batches = ran.batch_rows();
        let written: Vec<usize> = (0..batches.len()).filter(|&i| !batches[i].is_empty()).collect();
        assert_eq!(written, vec![7, 9], "{workers} worker(s): {batches:?}");
        assert_eq!(ran.dropped_by_watermark(), 1, "{workers} worker(s)");
    }
    // The event-time column must be a timestamp of the output.
    let input = MemoryStream::new(clicks);
    let not_a_time = session(1)
        .read_stream()
        .memory(&input)
        .with_watermark("ts", "2 seconds")
        .expect("watermark")
        .group_by_key([col("user")])
        .transform_with_state_event_time(SessionEnd { latest: None }, "user", OutputMode::Append, out);
    assert!(matches!(not_a_time, Err(Error::InvalidPlan(_))));
}

/// Whether a user was seen in the last 10 s of processing time, on event time: a value with
/// a TTL and no timers.
struct Seen(Option<ValueState<bool>>);

impl StatefulProcessor for Seen {
    fn init(&mut self, handle: &mut ProcessorHandle) {
        self.0 = Some(handle.get_value_state("seen", Some(Duration::from_secs(10))));
    }

    fn handle_input_rows(&self, key: &Row, _: Vec<Row>, _: &TimerValues, ctx: &mut KeyContext) -> Vec<Row> {
        let Some(seen) = &self.0 else {
            return Vec::new();
        };
        let before = seen.exists(ctx);
        seen.update(ctx, &true);
        vec![Row::from(vec![user_of(key), Value::Bool(before)])]
    }
}

#[test]
fn under_event_time_state_still_expires_on_processing_time() {
    let clicks = Schema::new([
        Field::new("user", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]);
    let out = Schema::new([
        Field::new("user", DataType::String),
        Field::new("seen_before", DataType::Boolean),
    ]);
    for workers in [1, 2] {
        let input = MemoryStream::new(clicks.clone());
        let seen = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "2 seconds")
            .expect("watermark")
            .group_by_key([col("user")])
            .transform_with_state(Seen(None), TimeMode::EventTime, OutputMode::Update, out.clone())
            .expect("plan");
        let clock = ManualClock::new(1_000);
        let collected = Collected::default();
        let query = collected
            .attach(
                seen.write_stream()
                    .output_mode("update")
                    .processing_clock(clock.clone()),
            )
            .start()
            .expect("start");
        let s = Duration::from_secs(1);
        // 1 s: a and b are seen; their values expire at 11 s.
        input.add_data(vec![at("a", 10), at("b", 10)]);
        query.process_all_available().expect("1 s");
        // 5 s: b again: until 15 s.
        clock.advance(4 * s);
        input.add_data(vec![at("b", 11)]);
        query.process_all_available().expect("5 s");
        let held_at_5 = figures(&query).last().map(|f| f.num_rows_total);
        // 12 s, no rows: a's value has expired; a wakes and goes, though it has no timer and
        // the watermark has not moved.
        clock.advance(7 * s);
        query.process_all_available().expect("12 s");
        let held_at_12 = figures(&query).last().map(|f| f.num_rows_total);
        // 13 s: a comes back unseen; b was seen.
        clock.advance(s);
        input.add_data(vec![at("a", 12), at("b", 12)]);
        query.process_all_available().expect("13 s");
        query.stop().expect("stop");
        assert_eq!(
            sorted_batches(collected.batches()),
            vec![
                vec![row!["a", false], row!["b", false]],
                vec![row!["b", true]],
                vec![row!["a", false], row!["b", true]],
            ],
            "{workers} worker(s)"
        );
        assert_eq!((held_at_5, held_at_12), (Some(2), Some(1)), "{workers} worker(s)");
    }
}

#[test]
fn explain_names_the_processor_and_its_strategy() {
    let input = MemoryStream::new(basket_schema());
    let plan = baskets(&session(1), &input).explain();
    assert!(
        plan.contains("TransformWithState [user], Update, timeout None"),
        "{plan}"
    );
    assert!(
        plan.contains("transformWithState (the function per key and epoch"),
        "{plan}"
    );
}
