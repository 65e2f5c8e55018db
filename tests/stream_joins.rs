//! Stream-stream joins under watermarks (Spark's streaming symmetric hash join): each join
//! type against a nested-loop reference computed here, on 1 and 2 workers.
//!
//! The reference follows Spark's rules, not the engine's code: the watermark of an epoch is the
//! least over the two sides of (greatest event time of the earlier epochs less the side's delay),
//! never falling, and none until both sides have seen a row; an epoch whose watermark moved runs
//! again without data (Spark's no-data batch); a row at or below the previous epoch's watermark
//! is late and dropped. The pairs are then every pair of rows kept with equal keys and times in
//! the range; an outer join adds each row kept that matched nothing once its time plus the
//! range's bound is strictly below the final watermark.

mod common;

use tidewater::functions::{col, interval};
use tidewater::prelude::*;

const SECOND: i64 = 1_000_000;

fn ts(seconds: i64) -> Value {
    Value::Timestamp(seconds * SECOND)
}

/// An impression `(ad, imp_ts)` or a click `(click_ad, click_ts)`, times in seconds.
fn event(ad: i64, seconds: i64) -> Row {
    Row::from(vec![Value::Int(ad), ts(seconds)])
}

fn schema(key: &str, time: &str) -> Schema {
    Schema::new([
        Field::new(key, DataType::Int64),
        Field::new(time, DataType::Timestamp),
    ])
}

/// The delays of the two watermarks, seconds.
const IMP_DELAY: i64 = 10;
const CLICK_DELAY: i64 = 20;
/// A click counts for an impression when it comes 0 to 60 s after it (inclusive).
const WITHIN: i64 = 60;

/// One epoch of input: impressions and clicks, as `(ad, seconds)`.
type Step = (Vec<(i64, i64)>, Vec<(i64, i64)>);

/// The rows each side keeps, and the final watermark (seconds).
type Kept = (Vec<(i64, i64)>, Vec<(i64, i64)>, Option<i64>);

/// The rows each side keeps under Spark's rules and the final watermark (seconds).
fn kept(steps: &[Step]) -> Kept {
    let (mut imp_max, mut click_max): (Option<i64>, Option<i64>) = (None, None);
    let mut watermark: Option<i64> = None;
    let (mut imps, mut clicks) = (Vec::new(), Vec::new());
    let next_watermark =
        |imp_max: Option<i64>, click_max: Option<i64>, current: Option<i64>| match (imp_max, click_max) {
            (Some(i), Some(c)) => {
                let least = (i - IMP_DELAY).min(c - CLICK_DELAY);
                Some(current.map_or(least, |w: i64| w.max(least)))
            }
            _ => current,
        };
    for (step_imps, step_clicks) in steps {
        // A data epoch runs under `watermark`; its late rule uses the epoch before's, which is
        // the same value: every epoch that moved it was followed by a no-data epoch.
        let late = |t: i64| watermark.is_some_and(|w| t <= w);
        imps.extend(step_imps.iter().copied().filter(|(_, t)| !late(*t)));
        clicks.extend(step_clicks.iter().copied().filter(|(_, t)| !late(*t)));
        for &(_, t) in step_imps {
            imp_max = Some(imp_max.map_or(t, |m| m.max(t)));
        }
        for &(_, t) in step_clicks {
            click_max = Some(click_max.map_or(t, |m| m.max(t)));
        }
        watermark = next_watermark(imp_max, click_max, watermark);
    }
    (imps, clicks, watermark)
}

/// The reference join of `steps` of kind `how`: rows `(ad, imp_ts, click_ad, click_ts)` (or
/// `(ad, imp_ts)` for a semi join), sorted.
fn reference(steps: &[Step], how: &str) -> Vec<Row> {
    let (imps, clicks, watermark) = kept(steps);
    let matches = |(ia, it): (i64, i64), (ca, ct): (i64, i64)| ia == ca && it <= ct && ct <= it + WITHIN;
    let gone = |t: i64| watermark.is_some_and(|w| t < w);
    let mut rows = Vec::new();
    let full = |i: Option<(i64, i64)>, c: Option<(i64, i64)>| {
        let side = |s: Option<(i64, i64)>| match s {
            Some((a, t)) => vec![Value::Int(a), ts(t)],
            None => vec![Value::Null, Value::Null],
        };
        Row::from([side(i), side(c)].concat())
    };
    for &i in &imps {
        let mut matched = false;
        for &c in &clicks {
            if matches(i, c) {
                matched = true;
                if how != "left_semi" {
                    rows.push(full(Some(i), Some(c)));
                }
            }
        }
        match how {
            "left_semi" if matched => rows.push(Row::from(vec![Value::Int(i.0), ts(i.1)])),
            // An impression is padded once imp_ts + 60 s < watermark.
            "left" | "full" if !matched && gone(i.1 + WITHIN) => rows.push(full(Some(i), None)),
            _ => {}
        }
    }
    if how == "right" || how == "full" {
        for &c in &clicks {
            // A click can match impressions from 60 s before it up to itself: it is padded once
            // click_ts < watermark.
            if !imps.iter().any(|&i| matches(i, c)) && gone(c.1) {
                rows.push(full(None, Some(c)));
            }
        }
    }
    rows.sort();
    rows
}

/// Runs the join of `steps` of kind `how` on `workers` workers, written as SQL or through the
/// DataFrame API; returns every row written, sorted, and the query.
fn run(steps: &[Step], how: &str, workers: usize, sql: bool) -> (Vec<Row>, StreamingQuery) {
    let (rows, query, _) = run_where(steps, how, workers, sql, Clauses::default());
    (rows, query)
}

/// The join of kind `how` of two memory streams, written as SQL (with `clauses`) or through
/// the DataFrame API, and the two streams.
fn join_plan(
    spark: &Session,
    how: &str,
    sql: bool,
    clauses: Clauses<'_>,
) -> Result<(DataFrame, MemoryStream, MemoryStream)> {
    let imps = MemoryStream::new(schema("ad", "imp_ts"));
    let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
    let impressions = spark
        .read_stream()
        .memory(&imps)
        .with_watermark("imp_ts", &format!("{IMP_DELAY} seconds"))?;
    let click_stream = spark
        .read_stream()
        .memory(&clicks)
        .with_watermark("click_ts", &format!("{CLICK_DELAY} seconds"))?;
    let joined = if sql {
        impressions.create_or_replace_temp_view("impressions");
        click_stream.create_or_replace_temp_view("clicks");
        let kind = match how {
            "left" => "LEFT OUTER JOIN",
            "right" => "RIGHT OUTER JOIN",
            "full" => "FULL OUTER JOIN",
            "left_semi" => "LEFT SEMI JOIN",
            _ => "JOIN",
        };
        spark.sql(&format!(
            "SELECT {} FROM impressions i {kind} clicks c ON i.ad = c.click_ad \
             AND c.click_ts BETWEEN i.imp_ts AND i.imp_ts + INTERVAL 1 MINUTE{}{}",
            clauses.select.unwrap_or("*"),
            clauses.on.map_or(String::new(), |on| format!(" AND {on}")),
            clauses.filter.map_or(String::new(), |f| format!(" WHERE {f}"))
        ))?
    } else {
        impressions.join_expr(
            &click_stream,
            col("ad")
                .eq(col("click_ad"))
                .and(col("click_ts").gt_eq(col("imp_ts")))
                .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))),
            how,
        )?
    };
    Ok((joined, imps, clicks))
}

/// What a SQL join adds to its keys and time range: the columns it selects (`*` by default),
/// more parts of its `ON`, and a `WHERE`.
#[derive(Clone, Copy, Default)]
struct Clauses<'a> {
    select: Option<&'a str>,
    on: Option<&'a str>,
    filter: Option<&'a str>,
}

/// Runs the join of `steps` as [`run`] does, with `clauses` added to its SQL; returns every row
/// written, sorted, the query, and its explain text.
fn run_where(
    steps: &[Step],
    how: &str,
    workers: usize,
    sql: bool,
    clauses: Clauses<'_>,
) -> (Vec<Row>, StreamingQuery, String) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let (joined, imps, clicks) = join_plan(&spark, how, sql, clauses).expect("the join plans");
    let explained = joined.explain();
    let collected = common::Collected::default();
    let query = collected
        .attach(joined.write_stream().output_mode("append"))
        .start()
        .expect("the query starts");
    for (step_imps, step_clicks) in steps {
        imps.add_data(step_imps.iter().map(|&(a, t)| event(a, t)).collect::<Vec<_>>());
        clicks.add_data(step_clicks.iter().map(|&(a, t)| event(a, t)).collect::<Vec<_>>());
        query.process_all_available().expect("the epoch runs");
    }
    imps.end();
    clicks.end();
    common::await_within(&query, "the join").expect("the join succeeds");
    let mut rows: Vec<Row> = collected
        .batches()
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .collect();
    rows.sort();
    (rows, query, explained)
}

/// Steps with rows that match, never match, and arrive late on either side.
fn mixed_steps(seed: u64, count: usize) -> Vec<Step> {
    let mut random = common::Seeded::new(seed);
    let mut clock = 0i64;
    (0..count)
        .map(|_| {
            clock += 15 + random.below(30) as i64;
            let mut side = |n: u64| -> Vec<(i64, i64)> {
                (0..random.below(n) + 1)
                    .map(|_| {
                        let ad = random.below(4) as i64;
                        // Mostly recent, some up to two minutes old (late once the watermark
                        // has passed them).
                        let age = if random.below(5) == 0 {
                            random.below(120)
                        } else {
                            random.below(40)
                        };
                        (ad, clock - age as i64)
                    })
                    .collect()
            };
            let imps = side(4);
            let clicks = side(4);
            (imps, clicks)
        })
        .collect()
}

#[test]
fn each_join_type_matches_the_nested_loop_reference() {
    let steps = mixed_steps(7, 14);
    // Some rows of each side arrive late.
    let (imps, clicks, _) = kept(&steps);
    let given = |side: fn(&Step) -> usize| steps.iter().map(side).sum::<usize>();
    assert!(imps.len() < given(|s| s.0.len()), "a late impression");
    assert!(clicks.len() < given(|s| s.1.len()), "a late click");
    for how in ["inner", "left", "right", "full", "left_semi"] {
        let expected = reference(&steps, how);
        assert!(!expected.is_empty(), "{how}: the reference has rows");
        for workers in [1, 2] {
            let (rows, _) = run(&steps, how, workers, false);
            assert_eq!(rows, expected, "{how} join, {workers} worker(s)");
        }
    }
}

#[test]
fn a_where_on_each_side_of_an_inner_join_filters_that_side_first() {
    // `i.ad <> 1 AND c.click_ad <> 2 AND i.ad + c.click_ad < 5`: the first two parts read one
    // side each and run there before the join, as Spark pushes them down (the watermarks then
    // come from the rows that pass, as Spark's do); the third stays above. The reference joins
    // the filtered inputs, then applies the third.
    let steps = mixed_steps(23, 14);
    let filtered: Vec<Step> = steps
        .iter()
        .map(|(imps, clicks)| {
            (
                imps.iter().copied().filter(|(ad, _)| *ad != 1).collect(),
                clicks.iter().copied().filter(|(ad, _)| *ad != 2).collect(),
            )
        })
        .collect();
    let expected: Vec<Row> = reference(&filtered, "inner")
        .into_iter()
        .filter(|row| match (&row[0], &row[2]) {
            (Value::Int(i), Value::Int(c)) => i + c < 5,
            _ => false,
        })
        .collect();
    assert!(expected.len() >= 5, "{} rows, too few to compare", expected.len());
    // Filtered after the join instead, the rows the filters drop would still move the
    // watermarks, and other rows would be late: the test tells where the filters run.
    let after_the_join: Vec<Row> = reference(&steps, "inner")
        .into_iter()
        .filter(|row| match (&row[0], &row[2]) {
            (Value::Int(i), Value::Int(c)) => *i != 1 && *c != 2 && i + c < 5,
            _ => false,
        })
        .collect();
    assert_ne!(after_the_join, expected, "where the filters run changes the rows");
    for workers in [1, 2, 4] {
        let filter = "i.ad <> 1 AND c.click_ad <> 2 AND i.ad + c.click_ad < 5";
        let clauses = Clauses {
            filter: Some(filter),
            ..Clauses::default()
        };
        let (rows, _, explained) = run_where(&steps, "inner", workers, true, clauses);
        assert_eq!(rows, expected, "{workers} worker(s)");
        assert_eq!(
            explained.matches("filter before the join").count(),
            2,
            "{explained}"
        );
    }
}

#[test]
fn parts_of_on_beyond_the_keys_and_the_time_range_decide_which_pairs_match() {
    // Spark's join condition takes any predicate. In an INNER join, `i.ad + c.click_ad < 5`
    // keeps the pairs it holds for, as the same WHERE would. In a LEFT join, `c.click_ad <> 2`
    // reads the right side alone: a click of ad 2 matches nothing, so an impression of ad 2 is
    // written padded with nulls, as if the click had not come (Spark's optimizer pushes that
    // part below the join, and the side's watermark then comes from the clicks that pass, as
    // for a WHERE pushed below an inner join).
    let steps = mixed_steps(23, 14);
    let sum_below_5 = |row: &Row| match (&row[0], &row[2]) {
        (Value::Int(i), Value::Int(c)) => i + c < 5,
        _ => false,
    };
    let all_pairs = reference(&steps, "inner");
    let inner: Vec<Row> = all_pairs.iter().filter(|r| sum_below_5(r)).cloned().collect();
    assert!(
        inner.len() >= 5 && inner.len() < all_pairs.len(),
        "the part drops some pairs"
    );
    let no_ad_2_clicks: Vec<Step> = steps
        .iter()
        .map(|(imps, clicks)| {
            let clicks = clicks.iter().copied().filter(|(ad, _)| *ad != 2).collect();
            (imps.clone(), clicks)
        })
        .collect();
    let left = reference(&no_ad_2_clicks, "left");
    let padded_ad_2 = |rows: &[Row]| {
        rows.iter()
            .filter(|r| r[0] == Value::Int(2) && r[2] == Value::Null)
            .count()
    };
    assert!(
        padded_ad_2(&left) > padded_ad_2(&reference(&steps, "left")),
        "impressions of ad 2 lose their matches"
    );
    for workers in [1, 2, 4] {
        let on = |on| Clauses {
            on: Some(on),
            ..Clauses::default()
        };
        let (rows, _, _) = run_where(&steps, "inner", workers, true, on("i.ad + c.click_ad < 5"));
        assert_eq!(rows, inner, "inner, {workers} worker(s)");
        let (rows, _, _) = run_where(&steps, "left", workers, true, on("c.click_ad <> 2"));
        assert_eq!(rows, left, "left, {workers} worker(s)");
    }
}

/// A query that reads few of the joined columns: the join keeps only those and the event
/// times it needs itself (explain says how many), and writes the reference's rows, padded
/// ones included, for every join type on 1, 2 and 4 workers.
#[test]
fn a_join_that_reads_few_columns_keeps_only_those_and_its_event_times() {
    let steps = mixed_steps(29, 14);
    // The reference's rows are (ad, imp_ts, click_ad, click_ts), or (ad, imp_ts) for a semi
    // join; the query selects (click_ts, ad), or imp_ts alone.
    let cases = [
        (
            "inner",
            "c.click_ts, i.ad",
            "keeps 2 of 2 left columns and 1 of 2 right columns",
        ),
        (
            "left",
            "c.click_ts, i.ad",
            "keeps 2 of 2 left columns and 1 of 2 right columns",
        ),
        (
            "right",
            "c.click_ts, i.ad",
            "keeps 2 of 2 left columns and 1 of 2 right columns",
        ),
        (
            "full",
            "c.click_ts, i.ad",
            "keeps 2 of 2 left columns and 1 of 2 right columns",
        ),
        (
            "left_semi",
            "i.imp_ts",
            "keeps 1 of 2 left columns and 1 of 2 right columns",
        ),
    ];
    for (how, select, kept) in cases {
        let mut expected: Vec<Row> = reference(&steps, how)
            .into_iter()
            .map(|r| match how {
                "left_semi" => Row::from(vec![r[1].clone()]),
                _ => Row::from(vec![r[3].clone(), r[0].clone()]),
            })
            .collect();
        expected.sort();
        assert!(expected.len() >= 5, "{how}: the steps make rows");
        for workers in [1, 2, 4] {
            let clauses = Clauses {
                select: Some(select),
                ..Clauses::default()
            };
            let (rows, _, explained) = run_where(&steps, how, workers, true, clauses);
            assert!(explained.contains(kept), "{how}: {explained}");
            assert_eq!(rows, expected, "{how}, {workers} worker(s)");
        }
    }
}

#[test]
fn an_outer_join_refuses_a_part_of_on_that_reads_its_preserved_side() {
    // `i.ad <> 2` in a LEFT join's ON would write impressions of ad 2 padded with nulls, which
    // the join cannot do: refused, naming the part, rather than run as a filter.
    let spark = Session::builder().get_or_create().expect("session");
    let clauses = Clauses {
        on: Some("i.ad <> 2"),
        ..Clauses::default()
    };
    let err = join_plan(&spark, "left", true, clauses).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("ad != 2"), "{text}");
    assert!(text.contains("padded with nulls"), "{text}");
}

#[test]
fn sql_joins_match_the_reference_too() {
    let steps = mixed_steps(11, 10);
    for how in ["inner", "left", "full", "left_semi"] {
        let (rows, _) = run(&steps, how, 2, true);
        assert_eq!(rows, reference(&steps, how), "{how} join in SQL");
    }
}

/// BETWEEN is inclusive at both ends, and an unmatched impression is written once
/// `imp_ts + 60 s < watermark`, strictly.
#[test]
fn boundaries_are_inclusive_and_the_outer_rule_is_strict() {
    let steps: Vec<Step> = vec![
        // Impressions at 100 (clicks exactly at 100 and 160 match it) and 200 (no click).
        (
            vec![(1, 100), (1, 200)],
            vec![(1, 100), (1, 160), (1, 161), (1, 99)],
        ),
        // Watermark: min(200 - 10, 161 - 20) = 141: nothing expires yet.
        (vec![], vec![(2, 280)]),
        // min(200 - 10, 280 - 20) = 190: 100 + 60 = 160 < 190 expires (it matched);
        // 200 + 60 = 260 is not below 190.
        (vec![(3, 290)], vec![]),
        // min(290 - 10, 280 - 20) = 260: 200 + 60 = 260 is not strictly below 260.
        (vec![], vec![(3, 281)]),
        // min(290 - 10, 281 - 20) = 261: now 260 < 261, the impression at 200 comes out.
    ];
    let expected_pairs = vec![
        Row::from(vec![Value::Int(1), ts(100), Value::Int(1), ts(100)]),
        Row::from(vec![Value::Int(1), ts(100), Value::Int(1), ts(160)]),
    ];
    let padded = Row::from(vec![Value::Int(1), ts(200), Value::Null, Value::Null]);
    for workers in [1, 2] {
        let (inner, _) = run(&steps, "inner", workers, false);
        assert_eq!(inner, expected_pairs, "{workers} worker(s)");
        let (left, _) = run(&steps, "left", workers, false);
        let mut expected = expected_pairs.clone();
        expected.push(padded.clone());
        expected.sort();
        assert_eq!(left, expected, "{workers} worker(s)");
        assert_eq!(left, reference(&steps, "left"));
        // One step fewer: the watermark stops at 260 and the impression at 200 is never
        // written (still inside the bound when the input ends).
        let (left, _) = run(&steps[..3], "left", workers, false);
        assert_eq!(left, expected_pairs, "{workers} worker(s), cut short");
    }
}

/// The padded row comes out in the epoch where the watermark passes its bound, a no-data epoch
/// when no data moves it.
#[test]
fn an_outer_row_is_written_in_the_epoch_the_watermark_passes_it() {
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let imps = MemoryStream::new(schema("ad", "imp_ts"));
    let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
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
            "left",
        )
        .expect("join");
    let collected = common::Collected::default();
    let query = collected.attach(joined.write_stream()).start().expect("starts");
    imps.add_data(vec![event(1, 0)]);
    clicks.add_data(vec![event(2, 0)]);
    query.process_all_available().expect("epoch 0");
    imps.add_data(vec![event(9, 100)]);
    clicks.add_data(vec![event(9, 100)]);
    query
        .process_all_available()
        .expect("epoch 1, then a no-data epoch");
    imps.end();
    clicks.end();
    common::await_within(&query, "the join").expect("succeeds");
    let batches = collected.batches();
    // Epoch 0 has no watermark; the epoch that reads the rows at 100 runs under at most
    // min(0 - 10, 0 - 20) = -20, and the no-data epoch after it under min(90, 80) = 80, past
    // 0 + 60: the impression at 0 comes out there. (The two streams' rows may reach one epoch
    // or two, so the test follows the epochs' content, not their numbers.)
    let with_rows: Vec<(u64, Vec<Row>)> = batches.into_iter().filter(|(_, rows)| !rows.is_empty()).collect();
    let rows: Vec<&Vec<Row>> = with_rows.iter().map(|(_, rows)| rows).collect();
    assert_eq!(
        rows,
        vec![
            &vec![Row::from(vec![Value::Int(9), ts(100), Value::Int(9), ts(100)])],
            &vec![Row::from(vec![Value::Int(1), ts(0), Value::Null, Value::Null])],
        ]
    );
    let padded_in = with_rows[1].0;
    let progress = query.recent_progress();
    let epoch = progress
        .iter()
        .find(|p| p.batch_id == padded_in)
        .expect("the epoch's progress");
    assert_eq!(
        epoch.num_input_rows, 0,
        "the watermark alone wrote the padded row"
    );
    let last = query.last_progress().expect("progress");
    let join = &last.state_operators[0];
    assert_eq!(join.operator_name, "symmetricHashJoin");
    // Epoch 3 expired both rows of epoch 0 (the click at 0 too: 0 + 0 < 80) and none of 100.
    assert_eq!(
        (join.num_rows_total, join.num_rows_updated, join.num_rows_removed),
        (2, 0, 2)
    );
}

/// Over a long run the rows held stay flat: the watermark expires them as fast as they come.
#[test]
fn state_stays_bounded_over_a_long_run() {
    let steps: Vec<Step> = (0..120)
        .map(|i| {
            let t = i * 10;
            (
                vec![(i % 3, t), (i % 5, t + 1)],
                vec![(i % 3, t + 5), (i % 7, t + 2)],
            )
        })
        .collect();
    for workers in [1, 2] {
        let (rows, query) = run(&steps, "full", workers, false);
        assert_eq!(rows, reference(&steps, "full"), "{workers} worker(s)");
        let held: Vec<u64> = query
            .recent_progress()
            .iter()
            .filter_map(|p| p.state_operators.first().map(|s| s.num_rows_total))
            .collect();
        // The last 100 epochs' reports are kept.
        assert!(held.len() >= 100, "{} progress reports", held.len());
        // Rows live about 80 s (the range and the delays), 4 rows per 10 s of event time.
        let peak = held.iter().copied().max().unwrap_or(0);
        assert!(peak <= 60, "at most 60 rows held, peak {peak}: {held:?}");
        let late: Vec<u64> = held[held.len() / 2..].to_vec();
        assert!(late.iter().all(|&h| h > 0 && h <= peak), "{late:?}");
    }
}

#[test]
fn spark_refuses_outer_joins_without_watermarks_and_ranges() {
    let spark = Session::builder().get_or_create().expect("session");
    let imps = MemoryStream::new(schema("ad", "imp_ts"));
    let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
    let left = spark.read_stream().memory(&imps);
    let right = spark.read_stream().memory(&clicks);
    let on_key = col("ad").eq(col("click_ad"));
    // No watermark at all.
    let error = left
        .join_expr(&right, on_key.clone(), "left")
        .expect_err("refused");
    assert_eq!(error.code(), "UNSUPPORTED_STREAM_STREAM_JOIN", "{error}");
    assert!(
        error.to_string().contains("Stream-stream LeftOuter join"),
        "{error}"
    );
    // A watermark on the kept side only: the nullable side needs one for a LEFT join.
    let left_wm = left.with_watermark("imp_ts", "10 seconds").expect("wm");
    let range = on_key
        .clone()
        .and(col("click_ts").gt_eq(col("imp_ts")))
        .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute")));
    let error = left_wm
        .join_expr(&right, range.clone(), "left")
        .expect_err("refused");
    assert_eq!(error.code(), "UNSUPPORTED_STREAM_STREAM_JOIN", "{error}");
    // Both watermarks but only a lower bound on the click: a RIGHT join needs an upper one.
    let right_wm = right.with_watermark("click_ts", "10 seconds").expect("wm");
    let open = on_key.clone().and(col("click_ts").gt_eq(col("imp_ts")));
    assert!(left_wm.join_expr(&right_wm, open.clone(), "left").is_err());
    assert!(left_wm.join_expr(&right_wm, open.clone(), "inner").is_ok());
    let error = left_wm.join_expr(&right_wm, open, "full").expect_err("refused");
    assert!(error.to_string().contains("FullOuter"), "{error}");
    assert!(left_wm.join_expr(&right_wm, range.clone(), "full").is_ok());
    // Only append mode.
    let joined = left_wm
        .join_expr(&right_wm, range.clone(), "inner")
        .expect("join");
    let error = joined
        .write_stream()
        .output_mode("update")
        .format("noop")
        .start()
        .expect_err("update refused");
    assert_eq!(error.code(), "UNSUPPORTED_OUTPUT_MODE", "{error}");
    assert!(
        error.to_string().contains("only in Append output mode"),
        "{error}"
    );
    // A comparison that is not of the two event times filters the pairs of an inner join (its
    // rows are checked in `parts_of_on_beyond_the_keys_and_the_time_range_decide_..`), and is
    // refused where it would decide which rows a FULL join pads.
    let other = on_key.clone().and(col("ad").lt(col("click_ad")));
    assert!(left_wm.join_expr(&right_wm, other, "inner").is_ok());
    let error = left_wm
        .join_expr(
            &right_wm,
            range.clone().and(col("ad").lt(col("click_ad"))),
            "full",
        )
        .expect_err("refused");
    assert_eq!(error.code(), "UNSUPPORTED_FEATURE", "{error}");
    // Without keys there is nothing to join on.
    let error = left_wm
        .join_expr(&right_wm, col("ad").lt(col("click_ad")), "inner")
        .expect_err("refused");
    assert!(
        error.to_string().contains("at least one pair of equal keys"),
        "{error}"
    );
}

/// A windowed count over the join closes its windows by the join's watermark (the least of
/// the two sides'), in append mode.
#[test]
fn a_windowed_aggregation_over_the_join_uses_its_watermark() {
    let steps = mixed_steps(23, 16);
    let pairs = reference(&steps, "inner");
    let (_, _, watermark) = kept(&steps);
    let watermark = watermark.expect("a final watermark");
    // Reference: clicks per ad and 1-minute window of the impression time, for windows that
    // ended at or before the aggregation's final watermark (append mode writes only those): the
    // join's output watermark, 60 s behind its own, since an impression that old can still be
    // joined with a click (Spark's output watermark of a join).
    let mut expected: std::collections::BTreeMap<(i64, i64), i64> = Default::default();
    for row in &pairs {
        let (Value::Int(ad), Value::Timestamp(t)) = (&row[0], &row[1]) else {
            continue;
        };
        let start = t.div_euclid(60 * SECOND) * 60;
        if start + 60 <= watermark - WITHIN {
            *expected.entry((start, *ad)).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let imps = MemoryStream::new(schema("ad", "imp_ts"));
        let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
        let joined = spark
            .read_stream()
            .memory(&imps)
            .with_watermark("imp_ts", &format!("{IMP_DELAY} seconds"))
            .expect("wm")
            .join_expr(
                &spark
                    .read_stream()
                    .memory(&clicks)
                    .with_watermark("click_ts", &format!("{CLICK_DELAY} seconds"))
                    .expect("wm"),
                col("ad")
                    .eq(col("click_ad"))
                    .and(col("click_ts").gt_eq(col("imp_ts")))
                    .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))),
                "inner",
            )
            .expect("join");
        let counts = joined
            .group_by([tidewater::functions::window(col("imp_ts"), "1 minute"), col("ad")])
            .agg([tidewater::functions::count(col("*")).alias("clicks")])
            .expect("aggregation");
        let collected = common::Collected::default();
        let query = collected
            .attach(counts.write_stream().output_mode("append"))
            .start()
            .expect("starts");
        for (step_imps, step_clicks) in &steps {
            imps.add_data(step_imps.iter().map(|&(a, t)| event(a, t)).collect::<Vec<_>>());
            clicks.add_data(step_clicks.iter().map(|&(a, t)| event(a, t)).collect::<Vec<_>>());
            query.process_all_available().expect("epoch");
        }
        imps.end();
        clicks.end();
        common::await_within(&query, "the aggregation").expect("succeeds");
        let mut got: std::collections::BTreeMap<(i64, i64), i64> = Default::default();
        for (_, rows) in collected.batches() {
            for row in rows {
                let start = match &row[0] {
                    Value::Struct(fields) => match fields.first() {
                        Some(Value::Timestamp(s)) => s / SECOND,
                        _ => panic!("a window"),
                    },
                    other => panic!("a window, got {other:?}"),
                };
                let (Value::Int(ad), Value::Int(n)) = (&row[1], &row[2]) else {
                    panic!("{row:?}")
                };
                assert!(got.insert((start, *ad), *n).is_none(), "a window written twice");
            }
        }
        assert_eq!(got, expected, "{workers} worker(s)");
    }
}

/// A plain inner equi-join of two streams without watermarks, both of which only insert, is a
/// hash join; one over a side that retracts stays arranged.
#[test]
fn an_inner_join_without_watermarks_is_a_hash_join_of_what_only_inserts() {
    let spark = Session::builder().get_or_create().expect("session");
    let imps = MemoryStream::new(schema("ad", "imp_ts"));
    let clicks = MemoryStream::new(schema("click_ad", "click_ts"));
    let joined = spark
        .read_stream()
        .memory(&imps)
        .join_expr(
            &spark.read_stream().memory(&clicks),
            col("ad").eq(col("click_ad")),
            "inner",
        )
        .expect("join");
    let plan = joined.explain();
    assert!(
        plan.contains("hash join of two streams that only insert"),
        "{plan}"
    );
    // A side that retracts (an aggregation's result) needs differential's arranged join.
    let counts = spark
        .read_stream()
        .memory(&clicks)
        .group_by([col("click_ad")])
        .count()
        .expect("count");
    let over_counts = spark
        .read_stream()
        .memory(&imps)
        .join_expr(&counts, col("ad").eq(col("click_ad")), "inner")
        .expect("join");
    let plan = over_counts.explain();
    assert!(plan.contains("arranged join"), "{plan}");
    let watermarked = spark
        .read_stream()
        .memory(&imps)
        .with_watermark("imp_ts", "1 minute")
        .expect("wm")
        .join_expr(
            &spark.read_stream().memory(&clicks),
            col("ad").eq(col("click_ad")),
            "inner",
        )
        .expect("join");
    let plan = watermarked.explain();
    assert!(plan.contains("streaming symmetric hash join"), "{plan}");
}
