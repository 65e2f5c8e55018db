//! File and rate sources, file sinks, and malformed input, against references computed from
//! the input or worked out by hand.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::*;
use tidewater::prelude::*;

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

/// Writes `text` into `dir/name` the way a producer should: under a hidden name first (the
/// source skips hidden files), then renamed in. The staging name is inside `dir`, so tests
/// running at once never share one.
fn put_file(dir: &Path, name: &str, text: &str) {
    let staging = dir.join(format!(".{name}.staging"));
    fs::write(&staging, text).expect("write");
    fs::rename(&staging, dir.join(name)).expect("rename");
}

fn word_count_of(df: DataFrame) -> DataFrame {
    df.select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .expect("plan")
}

#[test]
fn text_directory_word_count_one_file_per_epoch_in_both_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    let lines = word_lines(9, 300);
    for (i, chunk) in lines.chunks(60).enumerate() {
        put_file(&input, &format!("f{i}.txt"), &(chunk.join("\n") + "\n"));
    }
    for workers in [1, 2] {
        for mode in ["complete", "update"] {
            let spark = session(workers);
            let df = spark
                .read_stream()
                .option("maxFilesPerTrigger", 1)
                .text(input.to_str().expect("utf-8 path"))
                .expect("source");
            let counts = word_count_of(df)
                .write_stream()
                .output_mode(mode)
                .trigger(Trigger::available_now());
            let ran = run_to_end(counts, Feed::Nothing);
            let batches = ran.batches();
            assert_eq!(batches.len(), 5, "one epoch per file ({workers} workers, {mode})");
            let mut latest = BTreeMap::new();
            for (_, rows) in &batches {
                latest.extend(counts_of(rows));
            }
            assert_eq!(latest, reference_counts(&lines), "{workers} workers, {mode}");
            let rows_read: u64 = ran.query.recent_progress().iter().map(|p| p.num_input_rows).sum();
            assert_eq!(rows_read, 300, "progress counts rows, not files");
        }
    }
}

#[test]
fn csv_append_filter_emits_every_match_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("tx");
    fs::create_dir(&input).expect("mkdir");
    let mut rng = Seeded::new(4);
    let mut all = Vec::new();
    for f in 0..4 {
        let mut text = String::from("user_id,amount\n");
        for _ in 0..50 {
            let (user, amount) = (rng.below(10), rng.below(200));
            text.push_str(&format!("{user},{amount}\n"));
            all.push((user as i64, amount as i64));
        }
        put_file(&input, &format!("tx{f}.csv"), &text);
    }
    let schema = Schema::new([
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ]);
    let mut expected: Vec<Row> = all
        .iter()
        .filter(|(_, a)| *a >= 100)
        .map(|(u, a)| row![*u, *a])
        .collect();
    expected.sort();
    for workers in [1, 2] {
        let spark = session(workers);
        let big = spark
            .read_stream()
            .schema(schema.clone())
            .option("header", true)
            .csv(input.to_str().expect("path"))
            .and_then(|df| df.filter(col("amount").gt_eq(100)))
            .expect("plan");
        let ran = run_to_end(
            big.write_stream().trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        assert_eq!(ran.rows(), expected, "{workers} workers");
    }
}

#[test]
fn csv_without_schema_takes_string_columns_from_the_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(dir.path(), "a.csv", "name,city\nann,Oslo\n\"b, jr\",\"Rome\"\n");
    let spark = session(1);
    let df = spark
        .read_stream()
        .option("header", "true")
        .csv(dir.path().to_str().expect("path"))
        .expect("source");
    assert_eq!(df.schema().names(), ["name", "city"]);
    let ran = run_to_end(df.write_stream().trigger(Trigger::once()), Feed::Nothing);
    assert_eq!(
        ran.batches(),
        vec![(0, vec![row!["ann", "Oslo"], row!["b, jr", "Rome"]])]
    );
}

fn malformed_input(dir: &Path) {
    // Line 1 is the header; line 3 has a bad amount; line 4 has too few fields.
    put_file(dir, "m.csv", "user_id,amount\n1,10\n2,ten\n3\n4,40\n");
}

/// The query that reads [`malformed_input`] in parse `mode`, all of it in one epoch.
fn malformed_query(dir: &Path, mode: &str, corrupt: bool) -> DataStreamWriter {
    let mut fields = vec![
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ];
    if corrupt {
        fields.push(Field::new("_corrupt_record", DataType::String));
    }
    let spark = session(2);
    let df = spark
        .read_stream()
        .schema(Schema::new(fields))
        .option("header", true)
        .option("mode", mode)
        .csv(dir.to_str().expect("path"))
        .expect("source");
    df.write_stream().trigger(Trigger::available_now())
}

#[test]
fn permissive_mode_keeps_rows_with_nulls_and_the_raw_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    malformed_input(dir.path());
    let ran = run_to_end(malformed_query(dir.path(), "PERMISSIVE", true), Feed::Nothing);
    let expected = vec![
        row![1, 10, Value::Null],
        row![2, Value::Null, "2,ten"],
        row![3, Value::Null, "3"],
        row![4, 40, Value::Null],
    ];
    assert_eq!(ran.batches(), vec![(0, expected)]);
    let progress = ran.query.last_progress().expect("progress");
    assert_eq!(progress.sources[0].metrics["numMalformedRecords"], "2");
}

#[test]
fn dropmalformed_mode_skips_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    malformed_input(dir.path());
    let ran = run_to_end(malformed_query(dir.path(), "DROPMALFORMED", false), Feed::Nothing);
    assert_eq!(ran.batches(), vec![(0, vec![row![1, 10], row![4, 40]])]);
    let progress = ran.query.last_progress().expect("progress");
    assert_eq!(progress.num_input_rows, 2);
    assert_eq!(progress.sources[0].metrics["numMalformedRecords"], "2");
}

#[test]
fn failfast_mode_stops_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    malformed_input(dir.path());
    let collected = Collected::default();
    let query = collected
        .attach(malformed_query(dir.path(), "FAILFAST", false))
        .start()
        .expect("start");
    let err = await_within(&query, "failfast").unwrap_err();
    assert_eq!(err.code(), "SOURCE_FAILED");
    let message = err.to_string();
    assert!(
        message.contains("m.csv, line 3") && message.contains("ten"),
        "{message}"
    );
    assert!(collected.batches().is_empty(), "a failed epoch is not written");
}

#[test]
fn json_lines_with_bad_json_and_wrong_types() {
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(
        dir.path(),
        "e.json",
        "{\"id\": 1, \"tag\": \"a\"}\n\n{\"id\": \"x\"}\nnot json\n{\"tag\": \"only tag\", \"other\": 5}\n",
    );
    let schema = Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("tag", DataType::String),
    ]);
    let spark = session(1);
    let df = spark
        .read_stream()
        .schema(schema)
        .option("mode", "DROPMALFORMED")
        .json(dir.path().to_str().expect("path"))
        .expect("source");
    let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
    // By hand: the blank line is skipped, lines 3 and 4 are malformed, a missing field is null.
    assert_eq!(
        ran.batches(),
        vec![(0, vec![row![Value::Null, "only tag"], row![1, "a"]])]
    );
}

#[test]
fn a_json_stream_converts_only_the_columns_its_query_uses() {
    // `note` is never used, and on line 2 it is no BIGINT; on line 3 `amount`, which the
    // filter reads, is no number.
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(
        dir.path(),
        "p.json",
        "{\"id\": 1, \"name\": \"ann\", \"amount\": 5, \"note\": 7}\n\
         {\"id\": 2, \"name\": \"bob\", \"amount\": 20, \"note\": \"seven\"}\n\
         {\"id\": 3, \"name\": \"cy\", \"amount\": \"lots\", \"note\": 1}\n\
         {\"id\": 4, \"name\": \"di\", \"amount\": 30}\n",
    );
    let schema = Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("name", DataType::String),
        Field::new("amount", DataType::Int64),
        Field::new("note", DataType::Int64),
    ]);
    for workers in [1, 2, 4] {
        let df = session(workers)
            .read_stream()
            .schema(schema.clone())
            .json(dir.path().to_str().expect("path"))
            .and_then(|df| df.filter(col("amount").gt(10)))
            .and_then(|df| df.select([col("id"), upper(col("name")).alias("name")]))
            .expect("plan");
        let explained = df.explain();
        assert!(
            explained.contains("reads 3 of 4 columns, the ones the query uses: [id, name, amount]"),
            "{explained}"
        );
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        // By hand: ann's amount is 5, cy's is null (malformed, so the filter drops it).
        assert_eq!(
            ran.batches(),
            vec![(0, vec![row![2, "BOB"], row![4, "DI"]])],
            "{workers} workers"
        );
        // Only line 3 is malformed in what the query reads; line 2's note is never converted.
        let progress = ran.query.last_progress().expect("progress");
        assert_eq!(progress.sources[0].metrics["numMalformedRecords"], "1");
    }
    // Under DROPMALFORMED every field counts: line 2 is dropped for its note too.
    let df = session(1)
        .read_stream()
        .schema(schema)
        .option("mode", "DROPMALFORMED")
        .json(dir.path().to_str().expect("path"))
        .and_then(|df| df.select([col("id")]))
        .expect("plan");
    assert!(!df.explain().contains("columns, the ones the query uses"));
    let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
    assert_eq!(ran.batches(), vec![(0, vec![row![1], row![4]])]);
}

#[test]
fn new_files_are_picked_up_while_a_processing_time_query_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    put_file(&input, "1.txt", "a b\n");
    let spark = session(2);
    let df = spark
        .read_stream()
        .text(input.to_str().expect("path"))
        .expect("source");
    let collected = Collected::default();
    let query = collected
        .attach(
            word_count_of(df)
                .write_stream()
                .output_mode("update")
                .trigger(Trigger::processing_time("50 milliseconds").expect("interval")),
        )
        .start()
        .expect("start");
    query.process_all_available().expect("first file");
    put_file(&input, "2.txt", "b c\n");
    query.process_all_available().expect("second file");
    query.stop().expect("stop");
    assert_eq!(
        collected.batches(),
        vec![
            (0, vec![row!["a", 1], row!["b", 1]]),
            (1, vec![row!["b", 2], row!["c", 1]])
        ]
    );
}

/// The noop sink discards rows where they are computed (each worker its own, in append mode
/// without state, and in update mode when the output has no retraction), as Spark's does per
/// task: progress still counts every row written, epoch by epoch, whatever the worker count.
/// Counts by hand from the input: the matching rows of each file; in update mode, the users
/// each file changed, and the (window, user) groups it changed (`amount` read as seconds, in
/// windows of 50 s, under a watermark that closes none); in complete mode, every user.
#[test]
fn noop_sink_counts_every_row_it_discards_on_any_worker_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("tx");
    fs::create_dir(&input).expect("mkdir");
    let mut rng = Seeded::new(7);
    let mut expected_per_file = Vec::new();
    let mut users = BTreeSet::new();
    // Per file: the users it changed, and the (50 s window, user) groups it changed.
    let (mut changed_users, mut changed_windows) = (Vec::new(), Vec::new());
    for f in 0..3 {
        let mut text = String::from("user_id,amount\n");
        let mut matches = 0;
        let (mut users_seen, mut windows_seen) = (BTreeSet::new(), BTreeSet::new());
        for _ in 0..400 {
            let (user, amount) = (rng.below(50), rng.below(200));
            text.push_str(&format!("{user},{amount}\n"));
            if amount >= 100 {
                matches += 1;
                users.insert(user);
                users_seen.insert(user);
                windows_seen.insert((amount / 50, user));
            }
        }
        expected_per_file.push(matches);
        changed_users.push(users_seen.len() as u64);
        changed_windows.push(windows_seen.len() as u64);
        put_file(&input, &format!("tx{f}.csv"), &text);
    }
    let schema = Schema::new([
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ]);
    for workers in [1, 2, 4] {
        let spark = session(workers);
        let big = spark
            .read_stream()
            .schema(schema.clone())
            .option("header", true)
            .option("maxFilesPerTrigger", 1)
            .csv(input.to_str().expect("path"))
            .and_then(|df| df.filter(col("amount").gt_eq(100)))
            .expect("plan");
        let query = big
            .write_stream()
            .format("noop")
            .trigger(Trigger::available_now())
            .start()
            .expect("start");
        await_within(&query, "noop append").expect("ran");
        let written: Vec<u64> = query
            .recent_progress()
            .iter()
            .map(|p| p.sink.num_output_rows)
            .collect();
        assert_eq!(written, expected_per_file, "{workers} workers, rows per epoch");

        let distinct_users = big
            .group_by([col("user_id")])
            .count()
            .expect("plan")
            .write_stream()
            .output_mode("complete")
            .format("noop")
            .trigger(Trigger::available_now())
            .start()
            .expect("start");
        await_within(&distinct_users, "noop complete").expect("ran");
        let last = distinct_users.last_progress().expect("progress");
        assert_eq!(
            last.sink.num_output_rows,
            users.len() as u64,
            "{workers} workers, complete mode"
        );

        let per_user = big.group_by([col("user_id")]).count().expect("plan");
        let per_window = big
            .with_column("t", expr("timestamp_seconds(amount)").expect("expr"))
            .and_then(|df| df.with_watermark("t", "1000 seconds"))
            .and_then(|df| {
                df.group_by([window(col("t"), "50 seconds"), col("user_id")])
                    .count()
            })
            .expect("plan");
        for (grouped, expected, what) in [
            (per_user, &changed_users, "users"),
            (per_window, &changed_windows, "windows"),
        ] {
            let query = grouped
                .write_stream()
                .output_mode("update")
                .format("noop")
                .trigger(Trigger::available_now())
                .start()
                .expect("start");
            await_within(&query, "noop update").expect("ran");
            let written: Vec<u64> = query
                .recent_progress()
                .iter()
                .map(|p| p.sink.num_output_rows)
                .collect();
            assert_eq!(&written, expected, "{workers} workers, update mode, {what}");
        }
    }
}

#[test]
fn rate_source_with_num_rows_counts_from_zero_and_finishes() {
    let spark = session(2);
    let df = spark
        .read_stream()
        .format("rate")
        .option("rowsPerSecond", 2000)
        .option("numRows", 500)
        .load()
        .expect("rate");
    assert_eq!(df.schema().names(), ["timestamp", "value"]);
    let mut rows = run_to_end(df.write_stream(), Feed::Nothing).rows();
    rows.sort_by_key(|r| r[1].as_i64());
    let values: Vec<i64> = rows.iter().filter_map(|r| r[1].as_i64()).collect();
    assert_eq!(values, (0..500).collect::<Vec<_>>());
    assert!(
        rows.windows(2).all(|w| w[0][0] <= w[1][0]),
        "timestamps follow values"
    );
}

/// The sink's files, in epoch order as its log lists them.
fn sink_output(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in sink_log(dir) {
        for file in entry["files"].as_array().expect("files") {
            let name = file.as_str().expect("name").to_string();
            out.push((name.clone(), fs::read_to_string(dir.join(&name)).expect("part")));
        }
    }
    out
}

#[test]
fn file_sinks_write_one_part_per_epoch_identically_for_1_and_2_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    put_file(&input, "1.txt", "a b a\n");
    put_file(&input, "2.txt", "b\n\n");
    let mut outputs = Vec::new();
    for workers in [1, 2] {
        let out = dir.path().join(format!("out{workers}"));
        let spark = session(workers);
        let df = spark
            .read_stream()
            .option("maxFilesPerTrigger", 1)
            .text(input.to_str().expect("path"))
            .expect("src");
        let query = word_count_of(df)
            .write_stream()
            .output_mode("complete")
            .format("csv")
            .option("header", true)
            .option("path", out.to_str().expect("path"))
            .trigger(Trigger::available_now())
            .start()
            .expect("start");
        await_within(&query, "csv sink").expect("finishes");
        outputs.push(sink_output(&out));
    }
    // By hand: complete mode writes the whole table per epoch; the empty line is one "" word,
    // written as an empty (quoted) field.
    let expected = vec![
        (
            "part-000000-w000.csv".to_string(),
            "word,count\na,2\nb,1\n".to_string(),
        ),
        (
            "part-000001-w000.csv".to_string(),
            "word,count\n\"\",1\na,2\nb,2\n".to_string(),
        ),
    ];
    assert_eq!(outputs[0], expected);
    assert_eq!(outputs[1], expected);
}

#[test]
fn json_sink_in_update_mode_writes_changed_rows_and_leaves_nulls_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = MemoryStream::new(Schema::new([
        Field::new("k", DataType::String),
        Field::new("v", DataType::Int64),
    ]));
    let spark = session(1);
    let out = dir.path().join("out");
    let totals = spark
        .read_stream()
        .memory(&input)
        .group_by([col("k")])
        .agg([sum(col("v")).alias("total")])
        .expect("plan");
    let query = totals
        .write_stream()
        .output_mode("update")
        .format("json")
        .option("path", out.to_str().expect("path"))
        .start()
        .expect("start");
    input.add_data([row!["a", 1], row!["b", Value::Null]]);
    query.process_all_available().expect("epoch 0");
    input.add_data([row!["a", 2]]);
    query.process_all_available().expect("epoch 1");
    query.stop().expect("stop");
    assert_eq!(
        sink_output(&out),
        vec![
            (
                "part-000000-w000.json".to_string(),
                "{\"k\":\"a\",\"total\":1}\n{\"k\":\"b\"}\n".to_string()
            ),
            (
                "part-000001-w000.json".to_string(),
                "{\"k\":\"a\",\"total\":3}\n".to_string()
            ),
        ]
    );
}

#[test]
fn static_tables_are_read_once_and_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(dir.path(), "users.csv", "id,country\n1,NO\n2,IT\n");
    let spark = session(2);
    let users = spark
        .read()
        .format("csv")
        .option("header", true)
        .option("path", dir.path().join("users.csv").to_str().expect("path"))
        .load()
        .expect("table");
    // A static table ends by itself.
    let ran = run_to_end(users.write_stream(), Feed::Nothing);
    assert_eq!(ran.batches(), vec![(0, vec![row!["1", "NO"], row!["2", "IT"]])]);
}

#[test]
fn once_trigger_takes_everything_in_one_epoch_despite_max_files_per_trigger() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, text) in ["a\n", "b\n", "a\n"].iter().enumerate() {
        put_file(dir.path(), &format!("{i}.txt"), text);
    }
    let spark = session(2);
    let df = spark
        .read_stream()
        .option("maxFilesPerTrigger", 1)
        .text(dir.path().to_str().expect("path"))
        .expect("source");
    let counts = word_count_of(df)
        .write_stream()
        .output_mode("complete")
        .trigger(Trigger::once());
    // Spark's Trigger.Once ignores rate limits: one batch with all three files.
    assert_eq!(
        run_to_end(counts, Feed::Nothing).batches(),
        vec![(0, vec![row!["a", 2], row!["b", 1]])]
    );
}

/// Bytes that are not UTF-8 are read as Spark reads them: each invalid sequence becomes U+FFFD
/// and the rest of the line or field is kept, in text and CSV files alike.
#[test]
fn invalid_utf8_is_replaced_not_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (text_dir, csv_dir) = (dir.path().join("text"), dir.path().join("csv"));
    fs::create_dir(&text_dir).expect("mkdir");
    fs::create_dir(&csv_dir).expect("mkdir");
    fs::write(text_dir.join("a.txt"), b"caf\xe9 ok\nplain\n").expect("write");
    fs::write(csv_dir.join("a.csv"), b"caf\xe9,1\nplain,2\n").expect("write");
    let spark = session(1);
    let read_all =
        |df: DataFrame| run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing).rows();
    let text = spark
        .read_stream()
        .text(text_dir.to_str().expect("utf-8 path"))
        .expect("source");
    assert_eq!(read_all(text), vec![row!["caf\u{FFFD} ok"], row!["plain"]]);
    let csv = spark
        .read_stream()
        .schema(Schema::new([
            Field::new("name", DataType::String),
            Field::new("n", DataType::Int64),
        ]))
        .csv(csv_dir.to_str().expect("utf-8 path"))
        .expect("source");
    assert_eq!(read_all(csv), vec![row!["caf\u{FFFD}", 1], row!["plain", 2]]);

    // A character cut in two by a comma: each half is invalid in its own field, though the
    // record's bytes without the comma would read as one valid character.
    let cut_dir = dir.path().join("cut");
    fs::create_dir(&cut_dir).expect("mkdir");
    fs::write(cut_dir.join("a.csv"), b"x\xc3,\xa9y\n").expect("write");
    let cut = spark
        .read_stream()
        .schema(Schema::new([
            Field::new("a", DataType::String),
            Field::new("b", DataType::String),
        ]))
        .csv(cut_dir.to_str().expect("utf-8 path"))
        .expect("source");
    assert_eq!(read_all(cut), vec![row!["x\u{FFFD}", "\u{FFFD}y"]]);
}

/// A worker reads a file a few thousand records at a time, so a large file is never held whole.
/// Files of more records than that (with a malformed one past the first part), read by 1 and 2
/// workers, still give every row once, and progress counts them and the skipped record.
#[test]
fn files_larger_than_a_read_are_read_whole_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    let mut big = String::from("user_id,amount\n");
    for n in 1..=10_000i64 {
        if n == 9_000 {
            big.push_str("9000,not a number\n");
        } else {
            big.push_str(&format!("{n},{}\n", n % 7));
        }
    }
    put_file(&input, "big.csv", &big);
    put_file(&input, "small.csv", "user_id,amount\n20001,5\n20002,6\n");
    let expected_sum: i64 = (1..=10_000i64)
        .filter(|n| *n != 9_000)
        .map(|n| n % 7)
        .sum::<i64>()
        + 11;
    for workers in [1, 2] {
        let spark = session(workers);
        let totals = spark
            .read_stream()
            .schema(Schema::new([
                Field::new("user_id", DataType::Int64),
                Field::new("amount", DataType::Int64),
            ]))
            .option("header", true)
            .option("mode", "DROPMALFORMED")
            .csv(input.to_str().expect("path"))
            .expect("source")
            .group_by(Vec::<Expr>::new())
            .agg([count(col("*")), sum(col("amount")), max(col("user_id"))])
            .expect("plan");
        let ran = run_to_end(
            totals
                .write_stream()
                .output_mode("complete")
                .trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let last = ran.batches().last().expect("a batch").1.clone();
        assert_eq!(
            last,
            vec![row![10_001, expected_sum, 20_002]],
            "{workers} worker(s)"
        );
        let read: u64 = ran.query.recent_progress().iter().map(|p| p.num_input_rows).sum();
        assert_eq!(read, 10_001, "rows read, {workers} worker(s)");
        let skipped: u64 = ran.malformed_records();
        assert_eq!(skipped, 1, "malformed records, {workers} worker(s)");
    }
}

/// Spark's CSV reader rules for bad numbers and quotes: `3.5` and `99999999999999999999` in a
/// BIGINT column are malformed (not truncated to 3 or saturated), and without `multiLine` an
/// unbalanced quote spoils its own line only, not the rest of the file.
#[test]
fn bad_numbers_and_an_unbalanced_quote_are_malformed_lines_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    put_file(
        dir.path(),
        "n.csv",
        "id,n,note\n1,7,ok\n2,3.5,fraction\n3,99999999999999999999,huge\n4,\"8,open quote\n5,9,after\n6,-2,\"quoted, fine\"\n",
    );
    let read = |mode: &str, corrupt: bool, workers: usize| {
        let mut fields = vec![
            Field::new("id", DataType::Int64),
            Field::new("n", DataType::Int64),
            Field::new("note", DataType::String),
        ];
        if corrupt {
            fields.push(Field::new("_corrupt_record", DataType::String));
        }
        let df = session(workers)
            .read_stream()
            .schema(Schema::new(fields))
            .option("header", true)
            .option("mode", mode)
            .csv(dir.path().to_str().expect("path"))
            .expect("source");
        run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing)
    };
    for workers in [1, 2] {
        // By hand: lines 3, 4 and 5 are malformed; lines 6 and 7 are read as they are.
        let kept = read("PERMISSIVE", true, workers);
        assert_eq!(
            kept.rows(),
            vec![
                // Sorted: null first.
                row![Value::Null, Value::Null, Value::Null, "4,\"8,open quote"],
                row![1, 7, "ok", Value::Null],
                row![2, Value::Null, "fraction", "2,3.5,fraction"],
                row![3, Value::Null, "huge", "3,99999999999999999999,huge"],
                row![5, 9, "after", Value::Null],
                row![6, -2, "quoted, fine", Value::Null],
            ]
        );
        let dropped = read("DROPMALFORMED", false, workers);
        assert_eq!(
            dropped.rows(),
            vec![row![1, 7, "ok"], row![5, 9, "after"], row![6, -2, "quoted, fine"]]
        );
        let progress = dropped.query.last_progress().expect("progress");
        assert_eq!(progress.sources[0].metrics["numMalformedRecords"], "3");
    }
}

/// The default trigger does not cut fast input into an epoch per poll when a file sink is the
/// target: epochs start at least `minBatchInterval` (1 s by default) apart, and empty epochs
/// write nothing, so 150,000 rows at 50,000 a second make a handful of files. Counted from
/// the directory, against the run's own length, not timed.
#[test]
fn a_fast_stream_into_a_file_sink_makes_few_files() {
    for workers in [1, 2] {
        fast_stream_into_a_file_sink(workers);
    }
}

fn fast_stream_into_a_file_sink(workers: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let df = session(workers)
        .read_stream()
        .format("rate")
        .option("rowsPerSecond", 50_000)
        .option("numRows", 150_000)
        .load()
        .expect("rate");
    let query = df
        .select([col("value")])
        .expect("plan")
        .write_stream()
        .format("csv")
        .option("path", out.to_str().expect("path"))
        .start()
        .expect("start");
    await_within(&query, "rate into csv").expect("finishes");
    let seconds = started.elapsed().as_secs();
    let part_files: Vec<String> = fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|name| name.starts_with("part-"))
        .collect();
    // At most one epoch per second of the run, plus the first; each worker writes its own
    // part of an append-mode epoch (`part-<epoch>-w<worker>`).
    let epochs: std::collections::BTreeSet<&str> = part_files
        .iter()
        .filter_map(|name| name.split('-').nth(1))
        .collect();
    assert!(
        !part_files.is_empty()
            && epochs.len() as u64 <= seconds + 2
            && part_files.len() as u64 <= workers as u64 * (seconds + 2),
        "{} part files of {} epochs in {seconds} s with {workers} worker(s)",
        part_files.len(),
        epochs.len()
    );
    let log_files = fs::read_dir(out.join("_tidewater")).expect("log").count();
    assert!(log_files <= 10, "{log_files} log files");
    // Every row exactly once, as the log lists the files.
    let mut values: Vec<i64> = sink_output(&out)
        .iter()
        .flat_map(|(_, text)| {
            text.lines()
                .map(|l| l.parse::<i64>().expect("a number"))
                .collect::<Vec<_>>()
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, (0..150_000).collect::<Vec<_>>());
}

/// Spark's JSON writer keeps the columns' order, and a struct's fields in the type's order, at
/// every level (a sorted map would write `count` before `word` and `a` before `z`).
#[test]
fn json_sink_writes_fields_in_column_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = MemoryStream::new(Schema::new([Field::new("v", DataType::String)]));
    let spark = session(1);
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("t");
    let out = dir.path().join("out");
    let rows = spark
        .sql(
            "SELECT v AS word, 2 AS count, named_struct('z', 1, 'a', v) AS s,
                    array(named_struct('b', 1, 'a', CAST(NULL AS STRING))) AS xs FROM t",
        )
        .expect("plan");
    let query = rows
        .write_stream()
        .format("json")
        .option("path", out.to_str().expect("path"))
        .start()
        .expect("start");
    input.add_data([row!["hi"]]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");
    assert_eq!(
        sink_output(&out),
        vec![(
            "part-000000-w000.json".to_string(),
            "{\"word\":\"hi\",\"count\":2,\"s\":{\"z\":1,\"a\":\"hi\"},\"xs\":[{\"b\":1}]}\n".to_string()
        )]
    );
}

/// Spark's CSV and JSON writers format timestamps with `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in the
/// session time zone; the text writer takes one string column. Asia/Kolkata is 5:30 ahead of
/// UTC all year.
#[test]
fn file_sinks_write_timestamps_as_spark_in_the_session_time_zone() {
    // 2026-01-01T00:00:05Z: day 20454 (56 years, 14 leap days). 2024-02-29T23:59:59.999Z:
    // day 19723 (54 years, 13 leap days) + 59, one millisecond before its end.
    let new_year = (20_454 * 86_400 + 5) * 1_000_000;
    let leap_day = ((19_723 + 59) * 86_400 + 86_399) * 1_000_000 + 999_000;
    let schema = Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .config("spark.sql.session.timeZone", "Asia/Kolkata")
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(schema.clone());
        let df = spark.read_stream().memory(&input);
        let out = |format: &str| dir.path().join(format!("{format}{workers}"));
        let lines = df
            .select_expr(["concat(word, ' ', CAST(ts AS STRING)) AS line"])
            .expect("plan");
        let queries = [(df.clone(), "csv"), (df.clone(), "json"), (lines, "text")].map(|(df, format)| {
            let writer = df.write_stream().format(format);
            let writer = if format == "csv" {
                writer.option("header", true)
            } else {
                writer
            };
            writer
                .option("path", out(format).display())
                .start()
                .expect("start")
        });
        input.add_data([
            row!["a", Value::Timestamp(new_year)],
            row!["b", Value::Timestamp(leap_day)],
        ]);
        for query in &queries {
            query.process_all_available().expect("epoch 0");
            query.stop().expect("stop");
        }
        // In append mode every worker writes its own part (each CSV part with its header): the
        // epoch's lines, as a multiset, are what does not depend on the worker count.
        let lines = |format: &str, header: Option<&str>| -> Vec<String> {
            let mut lines = Vec::new();
            for (_, text) in sink_output(&out(format)) {
                let mut part = text.lines();
                if let Some(header) = header {
                    assert_eq!(part.next(), Some(header), "each part's header");
                }
                lines.extend(part.map(str::to_string));
            }
            lines.sort();
            lines
        };
        assert_eq!(
            lines("csv", Some("word,ts")),
            [
                "a,2026-01-01T05:30:05.000+05:30",
                "b,2024-03-01T05:29:59.999+05:30"
            ],
            "{workers} worker(s)"
        );
        assert_eq!(
            lines("json", None),
            [
                "{\"word\":\"a\",\"ts\":\"2026-01-01T05:30:05.000+05:30\"}",
                "{\"word\":\"b\",\"ts\":\"2024-03-01T05:29:59.999+05:30\"}"
            ],
            "{workers} worker(s)"
        );
        // CAST(ts AS STRING) is show()'s form, in the session's zone.
        assert_eq!(
            lines("text", None),
            ["a 2026-01-01 05:30:05", "b 2024-03-01 05:29:59.999"],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_text_sink_refuses_more_than_one_column_when_the_query_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spark = session(1);
    let input = MemoryStream::new(Schema::new([
        Field::new("a", DataType::String),
        Field::new("b", DataType::Int64),
    ]));
    let error = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .format("text")
        .option("path", dir.path().join("out").display())
        .start()
        .expect_err("two columns");
    assert_eq!(error.code(), "UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE");
    assert!(error.to_string().contains("2 columns (a, b)"), "{error}");
}

/// Writes `name` (under `dir`, in subdirectories as it says) with modification time `seconds`
/// after the Unix epoch.
fn put_file_at(dir: &Path, name: &str, text: &str, seconds: u64) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    put_file(
        path.parent().expect("parent"),
        path.file_name().expect("name").to_str().expect("utf-8"),
        text,
    );
    let file = fs::File::options().write(true).open(&path).expect("open");
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
        .expect("set time");
}

/// `latestFirst` takes the newest files first; `recursiveFileLookup` reads subdirectories and
/// `pathGlobFilter` keeps the names that match; hidden directories stay hidden.
#[test]
fn listing_options_choose_and_order_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    put_file_at(&input, "a.txt", "a\n", 1_000);
    put_file_at(&input, "sub/b.txt", "b\n", 2_000);
    put_file_at(&input, "sub/deeper/c.txt", "c\n", 3_000);
    put_file_at(&input, "d.log", "d\n", 4_000);
    put_file_at(&input, "_skip/e.txt", "e\n", 5_000);
    for workers in [1, 2] {
        let df = session(workers)
            .read_stream()
            .option("maxFilesPerTrigger", 1)
            .option("latestFirst", true)
            .option("recursiveFileLookup", true)
            .option("pathGlobFilter", "*.txt")
            .text(input.to_str().expect("path"))
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        // One file an epoch, the newest .txt first: c (3000 s), b (2000 s), a (1000 s).
        assert_eq!(
            ran.batches(),
            vec![(0, vec![row!["c"]]), (1, vec![row!["b"]]), (2, vec![row!["a"]])],
            "{workers} worker(s)"
        );
    }
}

/// The CSV reader's `nullValue`, `emptyValue`, `timestampFormat` and `dateFormat`, worked out
/// from Spark's rules: an empty unquoted field is null, a field equal to `nullValue` is null, a
/// quoted empty field is `emptyValue` (an empty string by default, unless that is `nullValue`).
#[test]
fn csv_reader_options_turn_text_into_nulls_times_and_dates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    put_file(
        &input,
        "a.csv",
        "name,n,ts,d\n\"\",NA,01/02/2026 10:30,02.01.2026\n,5,29/02/2024 23:59,29.02.2024\nx,,01/01/1970 00:00,01.01.1970\n",
    );
    let second = 1_000_000i64;
    // In +01:00: 2026-02-01 10:30 is 09:30 UTC on day 20485 (20454 + 31); 2024-02-29 23:59 is
    // 22:59 UTC on day 19782; 1970-01-01 00:00 is one hour before the epoch.
    let ts = |days: i64, seconds: i64| Value::Timestamp((days * 86_400 + seconds) * second);
    let read = |workers: usize, extra: &[(&str, &str)]| {
        let spark = Session::builder()
            .workers(workers)
            .config("spark.sql.session.timeZone", "+01:00")
            .get_or_create()
            .expect("session");
        let mut reader = spark
            .read_stream()
            .format("csv")
            .schema("name STRING, n BIGINT, ts TIMESTAMP, d DATE")
            .option("header", true)
            .option("nullValue", "NA")
            .option("timestampFormat", "dd/MM/yyyy HH:mm")
            .option("dateFormat", "dd.MM.yyyy")
            .option("mode", "FAILFAST");
        for (k, v) in extra {
            reader = reader.option(k, v);
        }
        let df = reader.option("path", input.display()).load().expect("source");
        run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing).rows()
    };
    for workers in [1, 2] {
        let mut expected = vec![
            row![
                "",
                Value::Null,
                ts(20_485, 9 * 3600 + 30 * 60),
                Value::Date(20_455)
            ],
            row![
                Value::Null,
                5,
                ts(19_782, 22 * 3600 + 59 * 60),
                Value::Date(19_782)
            ],
            row!["x", Value::Null, ts(0, -3600), Value::Date(0)],
        ];
        expected.sort();
        assert_eq!(read(workers, &[]), expected, "{workers} worker(s)");
        let mut expected = vec![
            row![
                "EMPTY",
                Value::Null,
                ts(20_485, 9 * 3600 + 30 * 60),
                Value::Date(20_455)
            ],
            row![
                Value::Null,
                5,
                ts(19_782, 22 * 3600 + 59 * 60),
                Value::Date(19_782)
            ],
            row!["x", Value::Null, ts(0, -3600), Value::Date(0)],
        ];
        expected.sort();
        assert_eq!(
            read(workers, &[("emptyValue", "EMPTY")]),
            expected,
            "{workers} worker(s)"
        );
    }
}

/// `name: type, ...` of a schema.
fn schema_text(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name, f.data_type))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `inferSchema` types the columns of a CSV stream under `spark.sql.streaming.schemaInference`
/// (and only then: otherwise a warning, and strings); a JSON stream infers its schema, fields
/// sorted by name, as Spark does, and without the setting it needs a declared schema.
#[test]
fn streams_infer_their_schema_only_under_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("csv");
    fs::create_dir(&csv).expect("mkdir");
    put_file(
        &csv,
        "a.csv",
        "id,price,day,ok\n1,2.5,2024-02-29,true\n2,3,2024-03-01,false\n",
    );
    let json = dir.path().join("json");
    fs::create_dir(&json).expect("mkdir");
    put_file(
        &json,
        "a.json",
        "{\"b\": 1, \"a\": {\"y\": \"s\"}}\n{\"b\": 2.5, \"c\": [true]}\n",
    );
    let infer = |workers: usize| {
        Session::builder()
            .workers(workers)
            .config("spark.sql.streaming.schemaInference", "true")
            .get_or_create()
            .expect("session")
    };
    for workers in [1, 2] {
        let df = infer(workers)
            .read_stream()
            .format("csv")
            .option("header", true)
            .option("inferSchema", true)
            .option("path", csv.display())
            .load()
            .expect("csv");
        assert_eq!(
            schema_text(df.schema()),
            "id: bigint, price: double, day: date, ok: boolean",
            "{workers} worker(s)"
        );
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        // 2024-02-29 is day 19782 (54 years and 13 leap days to 2024, then 59 days).
        assert_eq!(
            ran.rows(),
            vec![
                row![1, 2.5, Value::Date(19_782), true],
                row![2, 3.0, Value::Date(19_783), false]
            ]
        );
        let df = infer(workers)
            .read_stream()
            .format("json")
            .option("path", json.display())
            .load()
            .expect("json");
        assert_eq!(
            schema_text(df.schema()),
            "a: struct<y:string>, b: double, c: array<boolean>"
        );
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        let mut expected = vec![
            row![Value::Struct(vec![Value::str("s")].into()), 1.0, Value::Null],
            row![Value::Null, 2.5, Value::Array(vec![Value::Bool(true)].into())],
        ];
        expected.sort();
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
    }
    // Without the setting: a CSV stream reads strings (inferSchema is warned about), a JSON
    // stream needs a schema.
    let plain = session(1);
    let strings = plain
        .read_stream()
        .format("csv")
        .option("header", true)
        .option("inferSchema", true)
        .option("path", csv.display())
        .load()
        .expect("csv");
    assert_eq!(
        schema_text(strings.schema()),
        "id: string, price: string, day: string, ok: string"
    );
    let error = plain
        .read_stream()
        .format("json")
        .option("path", json.display())
        .load()
        .expect_err("no schema");
    assert_eq!(error.code(), "INVALID_OPTION");
    assert!(
        error.to_string().contains("spark.sql.streaming.schemaInference"),
        "{error}"
    );
    // A static table infers without the setting, as spark.read does.
    let table = plain
        .read()
        .format("json")
        .option("path", json.display())
        .load()
        .expect("table");
    assert_eq!(table.schema().names(), ["a", "b", "c"]);
}

/// `multiLine`: a CSV record whose quoted field spans lines, and JSON files that each hold one
/// document (an array of objects, or one object over several lines).
#[test]
fn multi_line_records_span_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("csv");
    fs::create_dir(&csv).expect("mkdir");
    put_file(&csv, "a.csv", "k,note\n1,\"two\nlines\"\n2,\"one\"\n");
    let json = dir.path().join("json");
    fs::create_dir(&json).expect("mkdir");
    put_file(
        &json,
        "a.json",
        "[\n  {\"k\": 1, \"note\": \"x\"},\n  {\"k\": 2}\n]\n",
    );
    put_file(&json, "b.json", "{\n  \"k\": 3,\n  \"note\": \"y\"\n}\n");
    for workers in [1, 2] {
        let spark = session(workers);
        let read = |format: &str, path: &Path| {
            let df = spark
                .read_stream()
                .format(format)
                .schema("k BIGINT, note STRING")
                .option("header", format == "csv")
                .option("multiLine", true)
                .option("mode", "FAILFAST")
                .option("path", path.display())
                .load()
                .expect("source");
            run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing).rows()
        };
        assert_eq!(read("csv", &csv), vec![row![1, "two\nlines"], row![2, "one"]]);
        assert_eq!(
            read("json", &json),
            vec![row![1, "x"], row![2, Value::Null], row![3, "y"]],
            "{workers} worker(s)"
        );
    }
}

/// A parquet sink writes one file per epoch and a parquet source reads them back, with every
/// type; a build without the `parquet` feature refuses both, naming the feature.
#[test]
fn parquet_files_round_trip_or_name_the_missing_feature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = Schema::new([
        Field::new("k", DataType::String),
        Field::new("n", DataType::Int64),
        Field::new("ts", DataType::Timestamp),
        Field::new("xs", DataType::Array(Box::new(DataType::Float64))),
    ]);
    let rows = vec![
        row![
            "a",
            1,
            Value::Timestamp(1_767_225_605_000_001),
            Value::Array(vec![Value::Float(0.5)].into())
        ],
        row![Value::Null, Value::Null, Value::Null, Value::Null],
    ];
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(schema.clone());
        let out = dir.path().join(format!("out{workers}"));
        let started = spark
            .read_stream()
            .memory(&input)
            .write_stream()
            .format("parquet")
            .option("path", out.display())
            .start();
        if !cfg!(feature = "parquet") {
            let error = started.expect_err("no parquet in this build");
            assert!(error.to_string().contains("--features parquet"), "{error}");
            let error = spark
                .read_stream()
                .format("parquet")
                .schema("k STRING")
                .option("path", out.display())
                .load()
                .expect_err("no parquet in this build");
            assert!(error.to_string().contains("--features parquet"), "{error}");
            continue;
        }
        let query = started.expect("start");
        input.add_data(rows.clone());
        query.process_all_available().expect("epoch 0");
        query.stop().expect("stop");
        assert!(out.join("part-000000-w000.parquet").is_file());
        // Read back as a static table (which infers the schema from the file, as spark.read
        // does) and as a stream with a declared schema of a subset, by name.
        let table = spark
            .read()
            .format("parquet")
            .option("path", out.display())
            .load()
            .expect("table");
        assert_eq!(table.schema().fields(), schema.fields());
        let mut expected = rows.clone();
        expected.sort();
        let ran = run_to_end(table.write_stream(), Feed::Nothing);
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
        let stream = spark
            .read_stream()
            .format("parquet")
            .schema("N BIGINT, k STRING, missing STRING")
            .option("path", out.display())
            .load()
            .expect("stream");
        let ran = run_to_end(
            stream.write_stream().trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let mut expected = vec![
            row![1, "a", Value::Null],
            row![Value::Null, Value::Null, Value::Null],
        ];
        expected.sort();
        assert_eq!(ran.rows(), expected, "{workers} worker(s)");
    }
}
