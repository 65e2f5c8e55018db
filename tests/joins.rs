//! Stream-static joins (inner and left) against a nested-loop reference join computed in the
//! test, with 1 and 2 workers.

mod common;

use std::fs;

use common::*;
use tidewater::prelude::*;

/// `(user_id, amount)` stream rows, some with a null or unknown user.
fn events(seed: u64, n: usize) -> Vec<Row> {
    let mut rng = Seeded::new(seed);
    (0..n)
        .map(|_| {
            let user = match rng.below(10) {
                0 => Value::Null,
                _ => Value::Int(rng.below(8) as i64),
            };
            Row::from(vec![user, Value::Int(rng.below(100) as i64)])
        })
        .collect()
}

/// Users 0..6 but 3 (so some events find no user); user 5 appears twice.
const USERS: &str = "user_id,country\n0,NO\n1,IT\n2,FR\n4,DE\n5,ES\n5,PT\n";

fn users() -> Vec<(i64, String)> {
    USERS
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (id, country) = l.split_once(',')?;
            Some((id.parse().ok()?, country.to_string()))
        })
        .collect()
}

/// The join computed by nested loops: each event with each user of equal id; for a left join,
/// an event without any gets nulls.
fn reference(events: &[Row], left: bool) -> Vec<Row> {
    let users = users();
    let mut out = Vec::new();
    for event in events {
        let countries: Vec<&str> = users
            .iter()
            .filter(|(id, _)| event[0].as_i64() == Some(*id))
            .map(|(_, country)| country.as_str())
            .collect();
        for country in &countries {
            out.push(Row::from(vec![
                event[0].clone(),
                event[1].clone(),
                Value::str(country),
            ]));
        }
        if left && countries.is_empty() {
            out.push(Row::from(vec![event[0].clone(), event[1].clone(), Value::Null]));
        }
    }
    out.sort();
    out
}

/// A session of `workers` with the given broadcast threshold, an events `MemoryStream`, and the
/// events joined (`how`) with the users table read from `table`.
fn events_and_users(
    table: &std::path::Path,
    workers: usize,
    threshold: &str,
    how: &str,
) -> (MemoryStream, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .config("spark.sql.autoBroadcastJoinThreshold", threshold)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(Schema::new([
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ]));
    let users = spark
        .read()
        .schema(Schema::new([
            Field::new("user_id", DataType::Int64),
            Field::new("country", DataType::String),
        ]))
        .option("header", true)
        .csv(table.to_str().expect("path"))
        .expect("table");
    let joined = spark
        .read_stream()
        .memory(&input)
        .join(&users, &["user_id"], how)
        .expect("join");
    (input, joined)
}

#[test]
fn stream_static_joins_match_a_nested_loop_join() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("users.csv");
    fs::write(&table, USERS).expect("write");
    let stream = events(31, 300);
    for how in ["inner", "left"] {
        for workers in [1, 2] {
            let (input, joined) = events_and_users(&table, workers, "10m", how);
            assert_eq!(joined.schema().names(), ["user_id", "amount", "country"]);
            let collected = Collected::default();
            let query = collected.attach(joined.write_stream()).start().expect("start");
            for chunk in stream.chunks(100) {
                input.add_data(chunk.to_vec());
                query.process_all_available().expect("epoch");
            }
            input.end();
            await_within(&query, "join").expect("finishes");
            let mut got: Vec<Row> = collected
                .batches()
                .into_iter()
                .flat_map(|(_, rows)| rows)
                .collect();
            got.sort();
            assert_eq!(
                got,
                reference(&stream, how == "left"),
                "{how} join, {workers} worker(s)"
            );
        }
    }
}

/// Per country (null for a LEFT join's unmatched events): count, sum and max of the joined
/// events with an amount over 10, as they stand after each chunk; a country whose figures a
/// chunk changes is in that chunk's update-mode batch.
fn reference_aggregates(chunks: &[&[Row]], left: bool) -> Vec<Vec<Row>> {
    let mut totals: std::collections::BTreeMap<Option<String>, (i64, i64, i64)> = Default::default();
    let mut batches = Vec::new();
    for chunk in chunks {
        let before = totals.clone();
        for row in reference(chunk, left) {
            let amount = row[1].as_i64().expect("amount");
            if amount > 10 {
                let country = row[2].as_str().map(str::to_string);
                let entry = totals.entry(country).or_insert((0, 0, i64::MIN));
                *entry = (entry.0 + 1, entry.1 + amount, entry.2.max(amount));
            }
        }
        let mut changed: Vec<Row> = totals
            .iter()
            .filter(|(country, figures)| before.get(*country) != Some(figures))
            .map(|(country, &(n, total, top))| {
                let country = country.as_deref().map_or(Value::Null, Value::str);
                Row::from(vec![country, Value::Int(n), Value::Int(total), Value::Int(top)])
            })
            .collect();
        changed.sort();
        if !changed.is_empty() {
            batches.push(changed);
        }
    }
    batches
}

/// A join with a table feeding an aggregation (which runs as one fused step, the table held by
/// every worker) gives, batch by batch, the aggregates of the nested-loop join.
#[test]
fn stream_static_join_then_group_by_matches_aggregating_the_nested_loop_join() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("users.csv");
    fs::write(&table, USERS).expect("write");
    let stream = events(47, 400);
    let chunks: Vec<&[Row]> = stream.chunks(80).collect();
    // The table broadcast into the fold (its few bytes are under the threshold), and
    // with broadcasting off (a lookup join with both sides hashed by key, then the aggregation).
    for (how, threshold) in [("inner", "10m"), ("left", "10m"), ("inner", "-1"), ("left", "-1")] {
        for workers in [1, 2] {
            let (input, joined) = events_and_users(&table, workers, threshold, how);
            let totals = joined
                .filter(col("amount").gt(lit(10)))
                .expect("filter")
                .group_by([col("country")])
                .agg([count(col("*")), sum(col("amount")), max(col("amount"))])
                .expect("aggregate");
            let collected = Collected::default();
            let query = collected
                .attach(totals.write_stream().output_mode("update"))
                .start()
                .expect("start");
            for chunk in &chunks {
                input.add_data(chunk.to_vec());
                query.process_all_available().expect("epoch");
            }
            input.end();
            await_within(&query, "join and aggregate").expect("finishes");
            let got: Vec<Vec<Row>> = collected
                .batches()
                .into_iter()
                .map(|(_, mut rows)| {
                    rows.sort();
                    rows
                })
                .filter(|rows| !rows.is_empty())
                .collect();
            assert_eq!(
                got,
                reference_aggregates(&chunks, how == "left"),
                "{how} join, {workers} worker(s), broadcast threshold {threshold}"
            );
        }
    }
}

#[test]
fn stream_stream_inner_join_emits_each_pair_once() {
    let left_rows = events(41, 120);
    let right_rows: Vec<Row> = events(43, 60)
        .into_iter()
        .map(|r| {
            Row::from(vec![
                r[0].clone(),
                Value::str(format!("c{}", r[1].as_i64().unwrap_or(0))),
            ])
        })
        .collect();
    // Reference: every pair of rows with the same non-null key.
    let mut expected = Vec::new();
    for l in &left_rows {
        for r in &right_rows {
            if !l[0].is_null() && l[0] == r[0] {
                expected.push(Row::from(vec![l[0].clone(), l[1].clone(), r[1].clone()]));
            }
        }
    }
    expected.sort();
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let schema = |second: &str, t: DataType| {
            Schema::new([Field::new("user_id", DataType::Int64), Field::new(second, t)])
        };
        let left = MemoryStream::new(schema("amount", DataType::Int64));
        let right = MemoryStream::new(schema("tag", DataType::String));
        let joined = spark
            .read_stream()
            .memory(&left)
            .join(&spark.read_stream().memory(&right), &["user_id"], "inner")
            .expect("join");
        let collected = Collected::default();
        let query = collected.attach(joined.write_stream()).start().expect("start");
        // Interleave the two streams over epochs, so pairs meet in either order.
        for (l, r) in left_rows.chunks(40).zip(right_rows.chunks(20)) {
            left.add_data(l.to_vec());
            query.process_all_available().expect("left epoch");
            right.add_data(r.to_vec());
            query.process_all_available().expect("right epoch");
        }
        left.end();
        right.end();
        await_within(&query, "stream-stream join").expect("finishes");
        let mut got: Vec<Row> = collected
            .batches()
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .collect();
        got.sort();
        assert_eq!(got, expected, "{workers} worker(s)");
    }
}

#[test]
fn a_bad_broadcast_threshold_is_refused_when_the_session_is_built() {
    let error = Session::builder()
        .config("spark.sql.autoBroadcastJoinThreshold", "ten")
        .get_or_create()
        .expect_err("not a size");
    assert!(
        error.to_string().contains("spark.sql.autoBroadcastJoinThreshold"),
        "{error}"
    );
}
