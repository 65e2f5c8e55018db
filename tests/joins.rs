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

/// [`USERS`] written as `users.csv` in a fresh directory, which lives as long as the first half.
fn users_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("users.csv");
    fs::write(&table, USERS).expect("write");
    (dir, table)
}

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
/// events joined (`how`) with the users table read from `table`, `user_id` being of type `key`
/// on both sides.
fn events_and_users(
    table: &std::path::Path,
    workers: usize,
    threshold: &str,
    how: &str,
    key: DataType,
) -> (MemoryStream, DataFrame) {
    let (_, input, events, users) = events_and_users_frames(table, workers, threshold, key);
    let joined = events.join(&users, &["user_id"], how).expect("join");
    (input, joined)
}

/// As [`events_and_users`], before the join: the session, the events' `MemoryStream`, the
/// events stream `(user_id, amount)` and the users table `(user_id, country)`.
fn events_and_users_frames(
    table: &std::path::Path,
    workers: usize,
    threshold: &str,
    key: DataType,
) -> (Session, MemoryStream, DataFrame, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .config("spark.sql.autoBroadcastJoinThreshold", threshold)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(Schema::new([
        Field::new("user_id", key.clone()),
        Field::new("amount", DataType::Int64),
    ]));
    let users = spark
        .read()
        .schema(Schema::new([
            Field::new("user_id", key),
            Field::new("country", DataType::String),
        ]))
        .option("header", true)
        .csv(table.to_str().expect("path"))
        .expect("table");
    let events = spark.read_stream().memory(&input);
    (spark, input, events, users)
}

#[test]
fn stream_static_joins_match_a_nested_loop_join() {
    let (_dir, table) = users_file();
    let stream = events(31, 300);
    for how in ["inner", "left"] {
        for workers in [1, 2] {
            let (input, joined) = events_and_users(&table, workers, "10m", how, DataType::Int64);
            assert_eq!(joined.schema().names(), ["user_id", "amount", "country"]);
            let epochs = stream.chunks(100).map(<[Row]>::to_vec).collect();
            let ran = run_to_end(joined.write_stream(), Feed::Epochs(&input, epochs));
            assert_eq!(
                ran.rows(),
                reference(&stream, how == "left"),
                "{how} join, {workers} worker(s)"
            );
        }
    }
}

#[test]
fn parts_of_on_beyond_the_keys_filter_the_pairs_or_the_table() {
    // An INNER join's `e.amount > 50 AND u.country <> 'FR'` keeps the pairs it holds for; a
    // LEFT join's `u.country <> 'ES'` reads the table alone: user 5's `ES` row matches nothing,
    // and an event whose only user is filtered out would be padded (Spark's join condition).
    let (_dir, table) = users_file();
    let stream = events(37, 300);
    let inner: Vec<Row> = reference(&stream, false)
        .into_iter()
        .filter(|r| r[1].as_i64().is_some_and(|a| a > 50) && r[2] != Value::str("FR"))
        .collect();
    // The left join's reference: the nested loop over the users but `ES`.
    let mut left: Vec<Row> = reference(&stream, true)
        .into_iter()
        .filter(|r| r[2] != Value::str("ES"))
        .collect();
    assert!(
        !stream
            .iter()
            .any(|e| e[0] == Value::Int(5) && !left.iter().any(|r| r[0] == e[0])),
        "user 5 keeps its PT row: no event of it is padded"
    );
    left.sort();
    assert!(
        inner.len() > 20 && left.len() > inner.len(),
        "{} and {}",
        inner.len(),
        left.len()
    );
    for workers in [1, 2, 4] {
        for (how, on, expected) in [
            ("JOIN", "AND e.amount > 50 AND u.country <> 'FR'", &inner),
            ("LEFT JOIN", "AND u.country <> 'ES'", &left),
            // A part without columns holds for every pair: it changes nothing.
            ("LEFT JOIN", "AND u.country <> 'ES' AND TRUE", &left),
        ] {
            let (spark, input, events, users) =
                events_and_users_frames(&table, workers, "10m", DataType::Int64);
            events.create_or_replace_temp_view("events");
            users.create_or_replace_temp_view("users");
            let joined = spark
                .sql(&format!(
                    "SELECT e.user_id, e.amount, u.country FROM events e {how} users u \
                     ON e.user_id = u.user_id {on}"
                ))
                .expect("the join plans");
            let epochs = stream.chunks(100).map(<[Row]>::to_vec).collect();
            let ran = run_to_end(joined.write_stream(), Feed::Epochs(&input, epochs));
            assert_eq!(&ran.rows(), expected, "{how} {on}, {workers} worker(s)");
        }
    }
}

/// An aggregation over the join: whether it keeps only the events with an amount over 10, the
/// joined columns it groups by (0 `user_id`, 1 `amount`, 2 `country`), and how many of the
/// figures `count(*)`, `sum(amount)`, `max(amount)`, `count(country)` it computes, in that order.
/// The shapes run different fused folds: a row pipeline (filtered), states keyed by the table's
/// grouping column (by `country`; with `count(country)` the table rows keep their columns), by
/// a stream column (`user_id`) and by a row of several columns.
struct Shape {
    filtered: bool,
    keys: &'static [usize],
    figures: usize,
}

const SHAPES: [Shape; 5] = [
    Shape {
        filtered: true,
        keys: &[2],
        figures: 3,
    },
    Shape {
        filtered: false,
        keys: &[2],
        figures: 4,
    },
    Shape {
        filtered: false,
        keys: &[2],
        figures: 2,
    },
    Shape {
        filtered: false,
        keys: &[0],
        figures: 4,
    },
    Shape {
        filtered: false,
        keys: &[2, 0],
        figures: 4,
    },
];

/// The batches a query wrote that have rows, each sorted (an update-mode batch of an epoch that
/// changed nothing is empty).
fn non_empty_sorted(ran: &Ran) -> Vec<Vec<Row>> {
    ran.batch_rows()
        .into_iter()
        .map(|mut rows| {
            rows.sort();
            rows
        })
        .filter(|rows| !rows.is_empty())
        .collect()
}

/// The aggregation of `shape` over the nested-loop join, as it stands after each chunk; a group
/// whose figures a chunk changes is in that chunk's update-mode batch.
fn reference_aggregates(chunks: &[&[Row]], left: bool, shape: &Shape) -> Vec<Vec<Row>> {
    let mut totals: std::collections::BTreeMap<Vec<Value>, [i64; 4]> = Default::default();
    let mut batches = Vec::new();
    for chunk in chunks {
        let before = totals.clone();
        for row in reference(chunk, left) {
            let amount = row[1].as_i64().expect("amount");
            if shape.filtered && amount <= 10 {
                continue;
            }
            let key = shape.keys.iter().map(|&i| row[i].clone()).collect();
            let figures = totals.entry(key).or_insert([0, 0, i64::MIN, 0]);
            figures[0] += 1;
            figures[1] += amount;
            figures[2] = figures[2].max(amount);
            figures[3] += i64::from(!row[2].is_null());
        }
        let mut changed: Vec<Row> = totals
            .iter()
            .filter(|(key, figures)| before.get(*key) != Some(figures))
            .map(|(key, figures)| {
                let figures = figures[..shape.figures].iter().map(|&f| Value::Int(f));
                Row::from(key.iter().cloned().chain(figures).collect::<Vec<_>>())
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
/// every worker) gives, batch by batch, the aggregates of the nested-loop join, whatever the
/// aggregation's shape.
#[test]
fn stream_static_join_then_group_by_matches_aggregating_the_nested_loop_join() {
    let (_dir, table) = users_file();
    let stream = events(47, 400);
    let chunks: Vec<&[Row]> = stream.chunks(80).collect();
    let columns = ["user_id", "amount", "country"];
    for shape in &SHAPES {
        // The table broadcast into the fold (its few bytes are under the threshold), and
        // with broadcasting off (a lookup join with both sides hashed by key, then the
        // aggregation).
        for (how, threshold) in [("inner", "10m"), ("left", "10m"), ("inner", "-1"), ("left", "-1")] {
            for workers in [1, 2] {
                let (input, joined) = events_and_users(&table, workers, threshold, how, DataType::Int64);
                let joined = if shape.filtered {
                    joined.filter(col("amount").gt(lit(10))).expect("filter")
                } else {
                    joined
                };
                let figures = [
                    count(col("*")),
                    sum(col("amount")),
                    max(col("amount")),
                    count(col("country")),
                ];
                let totals = joined
                    .group_by(shape.keys.iter().map(|&i| col(columns[i])))
                    .agg(figures.into_iter().take(shape.figures))
                    .expect("aggregate");
                let epochs = chunks.iter().map(|chunk| chunk.to_vec()).collect();
                let ran = run_to_end(
                    totals.write_stream().output_mode("update"),
                    Feed::Epochs(&input, epochs),
                );
                // Every worker may read the table's file; its rows are counted once.
                let table_rows: u64 = ran
                    .query
                    .recent_progress()
                    .iter()
                    .flat_map(|p| p.sources.iter())
                    .filter(|s| s.description.contains("users.csv"))
                    .map(|s| s.num_input_rows)
                    .sum();
                assert_eq!(table_rows, 6, "table rows read, {workers} worker(s)");
                assert_eq!(
                    non_empty_sorted(&ran),
                    reference_aggregates(&chunks, how == "left", shape),
                    "{how} join grouped by {:?} ({} figures, filtered: {}), {workers} worker(s), \
                     broadcast threshold {threshold}",
                    shape.keys,
                    shape.figures,
                    shape.filtered
                );
            }
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
        // Interleave the two streams over epochs, so pairs meet in either order.
        let epochs = left_rows
            .chunks(40)
            .zip(right_rows.chunks(20))
            .flat_map(|(l, r)| [(&left, l.to_vec()), (&right, r.to_vec())])
            .collect();
        let ran = run_to_end(joined.write_stream(), Feed::Interleaved(epochs));
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
    }
}

/// A stream joined with a wide table whose query reads one of the table's columns: the table
/// keeps only that one (explain says so), and the rows are the nested-loop join's, inner and
/// left, on 1, 2 and 4 workers.
#[test]
fn a_table_join_that_reads_one_table_column_keeps_only_that_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("people.csv");
    // `users()` with a name before the country and an age after it.
    let people: String = users()
        .iter()
        .map(|(id, country)| format!("{id},n{id},{country},{}\n", 20 + id))
        .collect();
    fs::write(&table, format!("pid,name,country,age\n{people}")).expect("write");
    let rows = events(17, 150);
    for how in ["inner", "left"] {
        // (amount, country): the reference's rows are (user_id, amount, country).
        let mut expected: Vec<Row> = reference(&rows, how == "left")
            .into_iter()
            .map(|r| Row::from(vec![r[1].clone(), r[2].clone()]))
            .collect();
        expected.sort();
        for workers in [1, 2, 4] {
            let spark = Session::builder()
                .workers(workers)
                .config("spark.sql.autoBroadcastJoinThreshold", "-1")
                .get_or_create()
                .expect("session");
            let input = MemoryStream::new(Schema::new([
                Field::new("user_id", DataType::Int64),
                Field::new("amount", DataType::Int64),
            ]));
            spark
                .read_stream()
                .memory(&input)
                .create_or_replace_temp_view("events");
            spark
                .read()
                .schema(Schema::new([
                    Field::new("pid", DataType::Int64),
                    Field::new("name", DataType::String),
                    Field::new("country", DataType::String),
                    Field::new("age", DataType::Int64),
                ]))
                .option("header", true)
                .csv(table.to_str().expect("path"))
                .expect("table")
                .create_or_replace_temp_view("people");
            let joined = spark
                .sql(&format!(
                    "SELECT amount, country FROM events {} JOIN people ON user_id = pid",
                    how.to_uppercase()
                ))
                .expect("plans");
            let explained = joined.explain();
            assert!(
                explained.contains("the table keeps 1 of its 4 columns"),
                "{explained}"
            );
            let ran = run_to_end(
                joined.write_stream(),
                Feed::Epochs(&input, rows.chunks(50).map(<[Row]>::to_vec).collect()),
            );
            assert_eq!(ran.rows(), expected, "{how}, {workers} worker(s)");
        }
    }
}

/// Rows `(id, a, b, c)` with ids in 0..5 (some null) and small integers, for the join of
/// two wide streams.
fn wide_rows(seed: u64, n: usize) -> Vec<Row> {
    let mut random = Seeded::new(seed);
    (0..n)
        .map(|i| {
            let id = match random.below(7) {
                6 => Value::Null,
                k => Value::Int(k as i64 % 5),
            };
            let mut value = || Value::Int(random.below(10) as i64);
            Row::from(vec![id, value(), value(), Value::Int(i as i64)])
        })
        .collect()
}

/// A join of two streams whose query reads a few columns of each side, out of order and one
/// only in its filter: the join keeps only those (explain says so), and the rows are the
/// nested-loop join's, on 1, 2 and 4 workers. (A LEFT join that arranges narrowed rows, with
/// a streaming table, is checked in join_recovery.rs.)
#[test]
fn a_join_of_two_streams_that_reads_few_columns_keeps_only_those() {
    let (left_rows, right_rows) = (wide_rows(7, 90), wide_rows(8, 60));
    let mut expected = Vec::new();
    for l in left_rows.iter().filter(|l| l[1].as_i64() > Some(3)) {
        for r in right_rows.iter().filter(|r| !l[0].is_null() && l[0] == r[0]) {
            expected.push(Row::from(vec![r[2].clone(), l[3].clone(), r[3].clone()]));
        }
    }
    expected.sort();
    assert!(
        expected.len() > 100,
        "the input makes enough pairs: {}",
        expected.len()
    );
    for workers in [1, 2, 4] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let schema = |prefix: &str| {
            Schema::new(
                ["id", "a", "b", "c"].map(|name| Field::new(format!("{prefix}{name}"), DataType::Int64)),
            )
        };
        let (left, right) = (MemoryStream::new(schema("l")), MemoryStream::new(schema("r")));
        spark.read_stream().memory(&left).create_or_replace_temp_view("l");
        spark
            .read_stream()
            .memory(&right)
            .create_or_replace_temp_view("r");
        let joined = spark
            .sql("SELECT rb, lc, rc FROM l JOIN r ON lid = rid WHERE la > 3")
            .expect("plans");
        let explained = joined.explain();
        assert!(
            explained.contains("hash join of two streams that only insert")
                && explained.contains("keeps 2 of 4 left columns and 2 of 4 right columns"),
            "{explained}"
        );
        let epochs = left_rows
            .chunks(30)
            .zip(right_rows.chunks(20))
            .flat_map(|(l, r)| [(&left, l.to_vec()), (&right, r.to_vec())])
            .collect();
        let ran = run_to_end(joined.write_stream(), Feed::Interleaved(epochs));
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
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

/// A join on a BIGINT key keys the fused fold's table by the integer itself; on any other key
/// type, by the value. Joined on the same ids written as strings, the aggregation grouped by
/// the table's country gives the nested-loop reference's batches just the same.
#[test]
fn a_join_on_a_string_key_aggregates_as_one_on_an_integer_key() {
    let (_dir, table) = users_file();
    let stream = events(53, 400);
    let chunks: Vec<&[Row]> = stream.chunks(80).collect();
    let as_text = |row: &Row| {
        let user = match &row[0] {
            Value::Int(id) => Value::str(id.to_string()),
            other => other.clone(),
        };
        Row::from(vec![user, row[1].clone()])
    };
    let by_country = Shape {
        filtered: false,
        keys: &[2],
        figures: 2,
    };
    for how in ["inner", "left"] {
        for workers in [1, 2] {
            let (input, joined) = events_and_users(&table, workers, "10m", how, DataType::String);
            let totals = joined
                .group_by([col("country")])
                .agg([count(col("*")), sum(col("amount"))])
                .expect("aggregate");
            let epochs = chunks
                .iter()
                .map(|chunk| chunk.iter().map(as_text).collect())
                .collect();
            let ran = run_to_end(
                totals.write_stream().output_mode("update"),
                Feed::Epochs(&input, epochs),
            );
            assert_eq!(
                non_empty_sorted(&ran),
                reference_aggregates(&chunks, how == "left", &by_country),
                "{how} join on a string key, {workers} worker(s)"
            );
        }
    }
}

/// Over a stream joined with a broadcast table, update mode writes every group that had input
/// in the epoch, its value changed or not, as Spark's state store does: `IT` (user 1) keeps
/// its maximum 50 when 20 comes, and is written again; `NO` (user 0) had no input in epoch 1,
/// and is not. Grouped by the table's column and by a stream column (two of the fused folds),
/// on 1, 2 and 4 workers.
#[test]
fn update_mode_over_a_table_join_writes_every_group_with_input() {
    let (_dir, table) = users_file();
    let epochs = || {
        vec![
            vec![row![1, 50], row![0, 7]],
            vec![row![1, 20]],
            vec![row![0, 7], row![2, 0]],
        ]
    };
    for workers in [1, 2, 4] {
        // By the table's column, and by a stream column (the fold reads the joined columns).
        for key in ["country", "user_id"] {
            let (input, joined) = events_and_users(&table, workers, "10m", "inner", DataType::Int64);
            let top = joined
                .group_by([col(key)])
                .agg([
                    max(col("amount")).alias("top"),
                    sum(col("amount") * lit(0)).alias("zero"),
                ])
                .expect("aggregate");
            let ran = run_to_end(
                top.write_stream().output_mode("update"),
                Feed::Epochs(&input, epochs()),
            );
            let expected: Vec<Vec<Row>> = if key == "country" {
                vec![
                    vec![row!["IT", 50, 0], row!["NO", 7, 0]],
                    vec![row!["IT", 50, 0]],
                    vec![row!["FR", 0, 0], row!["NO", 7, 0]],
                ]
            } else {
                vec![
                    vec![row![0, 7, 0], row![1, 50, 0]],
                    vec![row![1, 50, 0]],
                    vec![row![0, 7, 0], row![2, 0, 0]],
                ]
            };
            // The epoch that loads the table writes nothing; it is left out.
            let written: Vec<Vec<Row>> = ran
                .batch_rows()
                .into_iter()
                .filter(|rows| !rows.is_empty())
                .collect();
            assert_eq!(written, expected, "by {key}, {workers} worker(s)");
        }
    }
}
