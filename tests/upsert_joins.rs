//! Joins with an upsert table (a table whose rows change while the query runs): results equal
//! a nested-loop join over the latest table rows, computed in the test, epoch by epoch, for
//! INNER and LEFT with 1 and 2 workers; a table change corrects earlier results; two upserts
//! of a key in one epoch; deletes; and the plans that are refused.

mod common;

use std::collections::BTreeMap;

use common::*;
use tidewater::prelude::*;

fn flights_schema() -> Schema {
    Schema::new([
        Field::new("flight", DataType::String),
        Field::new("airport", DataType::String),
        Field::new("delay", DataType::Int64),
    ])
}

fn weather_schema() -> Schema {
    Schema::new([
        Field::new("airport", DataType::String),
        Field::new("condition", DataType::String),
        Field::new("wind", DataType::Int64),
    ])
}

const AIRPORTS: [&str; 4] = ["JFK", "LHR", "OSL", "CDG"];
const CONDITIONS: [&str; 3] = ["clear", "rain", "storm"];

/// One step of a run: rows added to one of the two streams, then processed.
#[derive(Clone, Debug)]
enum Step {
    Flights(Vec<Row>),
    Weather(Vec<Row>),
}

fn airport(rng: &mut Seeded) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => Value::str("XXX"), // never in the table
        _ => Value::str(AIRPORTS[rng.below(AIRPORTS.len() as u64) as usize]),
    }
}

/// Seeded steps: flights to known, unknown and null airports; weather upserts with repeated
/// keys inside one step, tombstones (condition and wind null) and null keys.
fn steps(seed: u64, n: usize) -> Vec<Step> {
    let mut rng = Seeded::new(seed);
    let mut flight = 0;
    (0..n)
        .map(|_| {
            let rows = 1 + rng.below(6) as usize;
            if rng.below(2) == 0 {
                Step::Flights(
                    (0..rows)
                        .map(|_| {
                            flight += 1;
                            let delay = Value::Int(rng.below(90) as i64);
                            Row::from(vec![Value::str(format!("F{flight}")), airport(&mut rng), delay])
                        })
                        .collect(),
                )
            } else {
                Step::Weather(
                    (0..rows)
                        .map(|_| {
                            let key = airport(&mut rng);
                            if rng.below(6) == 0 {
                                return Row::from(vec![key, Value::Null, Value::Null]);
                            }
                            let condition = CONDITIONS[rng.below(CONDITIONS.len() as u64) as usize];
                            Row::from(vec![key, Value::str(condition), Value::Int(rng.below(60) as i64)])
                        })
                        .collect(),
                )
            }
        })
        .collect()
}

/// The table after `upserts`, replayed one by one in the order given: the last row of a key
/// wins, a row with only nulls besides the key deletes it, a null key is ignored.
fn latest(upserts: &[Row]) -> BTreeMap<String, Row> {
    let mut table = BTreeMap::new();
    for row in upserts {
        let Some(key) = row[0].as_str() else { continue };
        if row[1].is_null() && row[2].is_null() {
            table.remove(key);
        } else {
            table.insert(key.to_string(), row.clone());
        }
    }
    table
}

/// The join by nested loops: each flight with each table row of its airport; for a left join,
/// a flight without one gets nulls. Output columns: flight, airport, delay, condition, wind.
fn nested_loop(flights: &[Row], table: &BTreeMap<String, Row>, left: bool) -> BTreeMap<Row, i64> {
    let mut out = BTreeMap::new();
    for f in flights {
        let mut matched = false;
        for (key, w) in table {
            if f[1].as_str() == Some(key.as_str()) {
                matched = true;
                let row = Row::from(vec![
                    f[0].clone(),
                    f[1].clone(),
                    f[2].clone(),
                    w[1].clone(),
                    w[2].clone(),
                ]);
                *out.entry(row).or_insert(0) += 1;
            }
        }
        if left && !matched {
            let row = Row::from(vec![
                f[0].clone(),
                f[1].clone(),
                f[2].clone(),
                Value::Null,
                Value::Null,
            ]);
            *out.entry(row).or_insert(0) += 1;
        }
    }
    out
}

/// A complete-mode table of `(columns..., count)` rows as a multiset of the columns.
fn multiset(rows: &[Row]) -> BTreeMap<Row, i64> {
    rows.iter()
        .map(|r| {
            let n = r.len() - 1;
            let key: Row = r.iter().take(n).cloned().collect();
            (key, r[n].as_i64().expect("count"))
        })
        .collect()
}

struct Inputs {
    flights: MemoryStream,
    weather: MemoryStream,
}

/// The join of the flights stream with the weather upsert table, on `workers` workers.
fn joined(workers: usize, how: &str) -> (Inputs, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let inputs = Inputs {
        flights: MemoryStream::new(flights_schema()),
        weather: MemoryStream::new(weather_schema()),
    };
    let weather = spark
        .read_stream()
        .memory(&inputs.weather)
        .as_upsert_table(&["airport"])
        .expect("upsert table");
    let joined = spark
        .read_stream()
        .memory(&inputs.flights)
        .join(&weather, &["airport"], how)
        .expect("join");
    assert_eq!(
        joined.schema().names(),
        ["flight", "airport", "delay", "condition", "wind"]
    );
    (inputs, joined)
}

/// Feeds `steps`, one epoch each, calling `check` after every step with the flights and
/// weather rows fed so far and the batches written so far.
fn drive(
    inputs: &Inputs,
    query: &StreamingQuery,
    steps: &[Step],
    mut check: impl FnMut(usize, &[Row], &[Row]),
) {
    let (mut flights, mut weather) = (Vec::new(), Vec::new());
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Flights(rows) => {
                flights.extend(rows.iter().cloned());
                inputs.flights.add_data(rows.clone());
            }
            Step::Weather(rows) => {
                weather.extend(rows.iter().cloned());
                inputs.weather.add_data(rows.clone());
            }
        }
        query.process_all_available().expect("step");
        check(i, &flights, &weather);
    }
    inputs.flights.end();
    inputs.weather.end();
    await_within(query, "upsert join").expect("finishes");
}

#[test]
fn complete_mode_equals_a_nested_loop_join_over_the_latest_table_after_every_epoch() {
    let steps = steps(7, 24);
    for how in ["inner", "left"] {
        for workers in [1, 2] {
            let (inputs, joined) = joined(workers, how);
            let columns = ["flight", "airport", "delay", "condition", "wind"].map(col);
            let counted = joined.group_by(columns).count().expect("count");
            let collected = Collected::default();
            let query = collected
                .attach(counted.write_stream().output_mode("complete"))
                .start()
                .expect("start");
            drive(&inputs, &query, &steps, |i, flights, weather| {
                let batches = collected.batches();
                let (_, last) = batches.last().expect("a batch per step");
                assert_eq!(
                    multiset(last),
                    nested_loop(flights, &latest(weather), how == "left"),
                    "{how} join, {workers} worker(s), after step {i}: {:?}",
                    steps[i]
                );
            });
        }
    }
}

#[test]
fn update_mode_writes_the_new_and_corrected_rows_of_each_epoch() {
    let steps = steps(11, 24);
    for how in ["inner", "left"] {
        for workers in [1, 2] {
            let (inputs, joined) = joined(workers, how);
            let collected = Collected::default();
            let query = collected
                .attach(joined.write_stream().output_mode("update"))
                .start()
                .expect("start");
            let mut before = BTreeMap::new();
            drive(&inputs, &query, &steps, |i, flights, weather| {
                let now = nested_loop(flights, &latest(weather), how == "left");
                // The rows whose multiplicity grew this epoch, each once, sorted.
                let expected: Vec<Row> = now
                    .iter()
                    .filter(|(row, n)| before.get(*row).is_none_or(|b| *n > b))
                    .map(|(row, _)| row.clone())
                    .collect();
                let batches = collected.batches();
                let (_, last) = batches.last().expect("a batch per step");
                assert_eq!(last, &expected, "{how} join, {workers} worker(s), step {i}");
                before = now;
            });
        }
    }
}

/// Counts per (airport, condition) of flights delayed by 30 minutes or more.
fn delayed_per_condition(joined: &DataFrame) -> DataFrame {
    joined
        .filter(col("delay").gt_eq(lit(30)))
        .expect("filter")
        .group_by([col("airport"), col("condition")])
        .count()
        .expect("count")
}

#[test]
fn a_weather_change_moves_the_counts_in_complete_and_update_mode() {
    for workers in [1, 2] {
        for mode in ["complete", "update"] {
            let (inputs, joined) = joined(workers, "left");
            let epochs = vec![
                (
                    &inputs.weather,
                    vec![row!["JFK", "storm", 50], row!["LHR", "rain", 20]],
                ),
                (
                    &inputs.flights,
                    vec![
                        row!["F1", "JFK", 45],
                        row!["F2", "JFK", 31],
                        row!["F3", "JFK", 5],
                        row!["F4", "LHR", 60],
                        row!["F5", "OSL", 40],
                    ],
                ),
                // The storm at JFK clears: F1 and F2 move from storm to clear, nothing else
                // changes.
                (&inputs.weather, vec![row!["JFK", "clear", 5]]),
                // LHR's row is deleted: F4 loses its condition (a left join keeps the flight).
                (&inputs.weather, vec![row!["LHR", Value::Null, Value::Null]]),
            ];
            let counts = delayed_per_condition(&joined).write_stream().output_mode(mode);
            let batches = run_to_end(counts, Feed::Interleaved(epochs)).batch_rows();
            let expected: Vec<Vec<Row>> = if mode == "complete" {
                vec![
                    vec![],
                    vec![
                        row!["JFK", "storm", 2],
                        row!["LHR", "rain", 1],
                        row!["OSL", Value::Null, 1],
                    ],
                    vec![
                        row!["JFK", "clear", 2],
                        row!["LHR", "rain", 1],
                        row!["OSL", Value::Null, 1],
                    ],
                    vec![
                        row!["JFK", "clear", 2],
                        row!["LHR", Value::Null, 1],
                        row!["OSL", Value::Null, 1],
                    ],
                ]
            } else {
                // Update mode writes each group's new value; a group that lost its last row
                // (JFK storm, LHR rain) has none, so it is not written.
                vec![
                    vec![],
                    vec![
                        row!["JFK", "storm", 2],
                        row!["LHR", "rain", 1],
                        row!["OSL", Value::Null, 1],
                    ],
                    vec![row!["JFK", "clear", 2]],
                    vec![row!["LHR", Value::Null, 1]],
                ]
            };
            assert_eq!(batches, expected, "{mode} mode, {workers} worker(s)");
        }
    }
}

#[test]
fn of_two_upserts_of_a_key_in_one_epoch_the_one_read_last_wins() {
    for workers in [1, 2] {
        for (first, second) in [("storm", "clear"), ("clear", "storm")] {
            let (inputs, joined) = joined(workers, "inner");
            let epochs = vec![
                (
                    &inputs.flights,
                    vec![row!["F1", "JFK", 45], row!["F2", "OSL", 50]],
                ),
                // One add_data call: both rows of JFK are in the same epoch, in this order;
                // the other keys' rows between them must not matter.
                (
                    &inputs.weather,
                    vec![
                        row!["JFK", first, 10],
                        row!["OSL", "rain", 10],
                        row!["JFK", second, 10],
                    ],
                ),
            ];
            let counts = delayed_per_condition(&joined)
                .write_stream()
                .output_mode("complete");
            let batches = run_to_end(counts, Feed::Interleaved(epochs)).batches();
            assert_eq!(batches.len(), 2, "{workers} worker(s)");
            assert_eq!(
                batches[1].1,
                vec![row!["JFK", second, 1], row!["OSL", "rain", 1]],
                "{workers} worker(s), {first} then {second}"
            );
        }
    }
}

#[test]
fn a_tombstone_deletes_the_key_and_a_later_row_brings_it_back() {
    for workers in [1, 2] {
        let (inputs, joined) = joined(workers, "inner");
        let collected = Collected::default();
        let query = collected
            .attach(
                delayed_per_condition(&joined)
                    .write_stream()
                    .output_mode("complete"),
            )
            .start()
            .expect("start");
        inputs.weather.add_data([row!["JFK", "rain", 10]]);
        inputs.flights.add_data([row!["F1", "JFK", 45]]);
        query.process_all_available().expect("first");
        inputs.weather.add_data([row!["JFK", Value::Null, Value::Null]]);
        query.process_all_available().expect("delete");
        inputs.weather.add_data([row!["JFK", "snow", 10]]);
        query.process_all_available().expect("again");
        inputs.flights.end();
        inputs.weather.end();
        await_within(&query, "tombstone").expect("finishes");
        let last_rows: Vec<Vec<Row>> = collected
            .batches()
            .into_iter()
            .map(|(_, rows)| rows)
            .rev()
            .take(2)
            .collect();
        assert_eq!(
            last_rows,
            vec![vec![row!["JFK", "snow", 1]], vec![]],
            "{workers} worker(s)"
        );
    }
}

fn error_code<T: std::fmt::Debug>(result: Result<T>) -> (String, String) {
    let error = result.expect_err("must be refused");
    (error.code().to_string(), error.to_string())
}

#[test]
fn plans_that_cannot_be_an_upsert_table_or_its_join_are_refused() {
    let spark = Session::builder().get_or_create().expect("session");
    let weather_in = MemoryStream::new(weather_schema());
    let flights_in = MemoryStream::new(flights_schema());
    let weather = spark.read_stream().memory(&weather_in);
    let flights = spark.read_stream().memory(&flights_in);

    let (code, message) = error_code(weather.as_upsert_table(&["airprot"]));
    assert_eq!(code, "UNRESOLVED_COLUMN", "{message}");
    assert!(
        message.contains("airprot") && message.contains("airport, condition, wind"),
        "{message}"
    );

    let (code, message) = error_code(weather.as_upsert_table(&[]));
    assert_eq!(code, "INVALID_PLAN", "{message}");
    let (code, message) = error_code(weather.as_upsert_table(&["airport", "airport"]));
    assert_eq!(
        (code.as_str(), message.contains("twice")),
        ("INVALID_PLAN", true),
        "{message}"
    );

    let counted = weather.group_by([col("airport")]).count().expect("count");
    let (code, message) = error_code(counted.as_upsert_table(&["airport"]));
    assert_eq!(code, "INVALID_PLAN", "{message}");
    assert!(message.contains("an aggregation"), "{message}");
    let exploded = weather
        .select([
            col("airport"),
            explode(split(col("condition"), " ")).alias("word"),
        ])
        .expect("explode");
    let (code, message) = error_code(exploded.as_upsert_table(&["airport"]));
    assert!(code == "INVALID_PLAN" && message.contains("explode"), "{message}");

    let table = weather.as_upsert_table(&["airport"]).expect("upsert table");
    let (code, message) = error_code(table.join(&flights, &["airport"], "inner"));
    assert_eq!(code, "INVALID_PLAN", "{message}");
    assert!(message.contains("right side"), "{message}");

    // A projected table keeps its key; filters and projections are fine.
    let slim = weather
        .filter(col("wind").gt(lit(0)))
        .expect("filter")
        .select([col("airport"), col("condition")])
        .expect("select")
        .as_upsert_table(&["airport"])
        .expect("filtered and projected input");
    assert_eq!(slim.schema().names(), ["airport", "condition"]);

    let joined = flights.join(&table, &["airport"], "left").expect("join");
    let (code, message) = error_code(joined.write_stream().output_mode("append").start());
    assert_eq!(code, "UNSUPPORTED_OUTPUT_MODE", "{message}");
    assert!(message.contains("use update mode"), "{message}");
    let (code, _) = error_code(joined.write_stream().output_mode("complete").start());
    assert_eq!(code, "UNSUPPORTED_OUTPUT_MODE");
    let counted = delayed_per_condition(&joined);
    let (code, message) = error_code(counted.write_stream().output_mode("append").start());
    assert_eq!(code, "UNSUPPORTED_OUTPUT_MODE", "{message}");
    assert!(message.contains("update mode or complete mode"), "{message}");
}
