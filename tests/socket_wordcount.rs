//! Spark's socket word count, end to end, against a reference count computed without the engine,
//! with 1, 2 and 4 workers and in complete and update mode.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use tidewater::demo::TextServer;
use tidewater::prelude::*;

/// Runs the word count of Spark's guide over `lines` served on a local socket.
fn word_count(lines: &[String], workers: usize, mode: &str, burst: usize) -> Vec<(u64, Vec<Row>)> {
    let server = TextServer::start(lines.to_vec(), burst, Duration::from_millis(2)).expect("server starts");
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let lines_df = spark
        .read_stream()
        .format("socket")
        .option("host", "127.0.0.1")
        .option("port", server.port())
        .load()
        .expect("socket source");
    let words = lines_df
        .select([explode(split(col("value"), " ")).alias("word")])
        .expect("select");
    let counts = words.group_by([col("word")]).count().expect("count");
    let collected = Collected::default();
    let query = collected
        .attach(counts.write_stream().output_mode(mode))
        .start()
        .expect("query starts");
    await_within(&query, "word count").expect("query succeeds");
    server.join().expect("server sent everything");
    collected.batches()
}

/// In complete mode every batch is the whole table of some prefix of the input, so counts
/// never fall and the total number of words is that of a prefix; the last batch is everything.
fn check_complete(lines: &[String], batches: &[(u64, Vec<Row>)]) {
    let expected = reference_counts(lines);
    let prefix_totals: Vec<i64> = lines
        .iter()
        .scan(0i64, |total, line| {
            *total += spark_split_words(line).len() as i64;
            Some(*total)
        })
        .collect();
    let mut previous: BTreeMap<String, i64> = BTreeMap::new();
    for (i, (id, rows)) in batches.iter().enumerate() {
        assert_eq!(*id, i as u64, "batch ids are consecutive from 0");
        let table = counts_of(rows);
        assert_eq!(table.len(), rows.len(), "one row per word");
        for (word, count) in &previous {
            assert!(
                table.get(word).is_some_and(|c| c >= count),
                "count of {word:?} fell"
            );
        }
        let total: i64 = table.values().sum();
        assert!(
            prefix_totals.contains(&total),
            "batch {id} total {total} is no prefix of the input"
        );
        previous = table;
    }
    assert_eq!(previous, expected, "final complete table");
}

/// In update mode each batch holds only words whose count rose, with their new count; folding
/// the batches gives the reference.
fn check_update(lines: &[String], batches: &[(u64, Vec<Row>)]) {
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    for (id, rows) in batches {
        let changed = counts_of(rows);
        assert_eq!(changed.len(), rows.len(), "batch {id}: each word at most once");
        assert!(
            !changed.is_empty(),
            "batch {id}: a batch with input changes some count"
        );
        for (word, count) in changed {
            let before = latest.insert(word.clone(), count).unwrap_or(0);
            assert!(
                count > before,
                "batch {id}: {word:?} went from {before} to {count}"
            );
        }
    }
    assert_eq!(latest, reference_counts(lines), "folded update batches");
}

#[test]
fn complete_mode_matches_reference_for_1_2_and_4_workers() {
    let lines = word_lines(7, 400);
    for workers in [1, 2, 4] {
        let batches = word_count(&lines, workers, "complete", 25);
        assert!(!batches.is_empty());
        check_complete(&lines, &batches);
    }
}

#[test]
fn update_mode_matches_reference_for_1_2_and_4_workers() {
    let lines = word_lines(11, 400);
    for workers in [1, 2, 4] {
        let batches = word_count(&lines, workers, "update", 25);
        check_update(&lines, &batches);
    }
}

#[test]
fn splitting_follows_spark_on_awkward_lines() {
    // Worked out by hand: "a  b" has an empty word between the spaces; " a" and "a " have one
    // empty word each; an empty line is one empty word.
    let lines: Vec<String> = ["a  b", " a", "a ", ""].iter().map(|s| s.to_string()).collect();
    let batches = word_count(&lines, 2, "complete", 10);
    let last = counts_of(&batches.last().expect("a batch").1);
    let expected: BTreeMap<String, i64> = [("".to_string(), 4), ("a".to_string(), 3), ("b".to_string(), 1)]
        .into_iter()
        .collect();
    assert_eq!(last, expected);
}

#[test]
fn a_large_input_in_one_burst_is_counted_exactly() {
    // Enough lines to fill the reader's channel: backpressure must not lose any.
    let lines = word_lines(3, 50_000);
    let batches = word_count(&lines, 2, "update", 50_000);
    check_update(&lines, &batches);
}
