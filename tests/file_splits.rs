//! Files cut into byte ranges read in parallel (`spark.sql.files.maxPartitionBytes`): whatever
//! the cuts and the number of workers, every line is read once, and the output is that of the
//! file read whole, against references computed from the text itself.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use tidewater::prelude::*;

/// A session of `workers` workers that cuts files into ranges of at most `range` bytes.
fn session(workers: usize, range: u64) -> Session {
    Session::builder()
        .workers(workers)
        .config("spark.sql.files.maxPartitionBytes", range)
        .get_or_create()
        .expect("session")
}

fn put_file(dir: &Path, name: &str, text: &str) {
    let staging = dir.join(format!(".{name}.staging"));
    fs::write(&staging, text).expect("write");
    fs::rename(&staging, dir.join(name)).expect("rename");
}

/// `lines` lines of words with characters of 1 to 4 bytes, some ending in CRLF, some empty,
/// and the last without a line break.
fn awkward_text(seed: u64, lines: usize) -> String {
    const WORDS: [&str; 8] = ["tide", "wäter", "écume", "☃", "🦀", "río", "sea", "ßand"];
    let mut rng = Seeded::new(seed);
    let mut text = String::new();
    for i in 0..lines {
        let n = rng.below(7) as usize;
        let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(8) as usize]).collect();
        text.push_str(&words.join(" "));
        if i + 1 < lines {
            text.push_str(if rng.below(3) == 0 { "\r\n" } else { "\n" });
        }
    }
    text
}

#[test]
fn one_large_text_file_read_by_1_2_and_4_workers_gives_every_line_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = awkward_text(20, 3000);
    put_file(dir.path(), "big.txt", &text);
    // The reference: Rust's line splitting (\n and \r\n), independent of the reader.
    let mut expected: Vec<Row> = text.lines().map(|line| row![line]).collect();
    expected.sort();
    assert!(text.len() > 20 * 997, "the file is cut into many ranges");
    for workers in [1, 2, 4] {
        // An odd range size: the cuts land inside lines, characters and CRLFs.
        let spark = session(workers, 997);
        let df = spark
            .read_stream()
            .text(dir.path().to_str().expect("path"))
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        assert_eq!(ran.rows(), expected, "{workers} workers");
        let read: u64 = ran.query.recent_progress().iter().map(|p| p.num_input_rows).sum();
        assert_eq!(read, 3000, "{workers} workers");
    }
}

#[test]
fn a_word_count_over_one_file_per_epoch_gives_the_same_epochs_for_any_worker_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<String> = (0..3).map(|i| awkward_text(30 + i, 800)).collect();
    for (i, text) in files.iter().enumerate() {
        put_file(dir.path(), &format!("f{i}.txt"), text);
    }
    // The reference: running counts after each file, from the text's own lines.
    let mut running = std::collections::BTreeMap::<String, i64>::new();
    let mut expected = Vec::new();
    for text in &files {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let counts = reference_counts(&lines);
        let mut changed = std::collections::BTreeMap::new();
        for (word, n) in counts {
            let total = running.entry(word.clone()).or_insert(0);
            *total += n;
            changed.insert(word, *total);
        }
        expected.push(changed);
    }
    for workers in [1, 2, 4] {
        let spark = session(workers, 1500);
        let df = spark
            .read_stream()
            .option("maxFilesPerTrigger", 1)
            .text(dir.path().to_str().expect("path"))
            .expect("source");
        let counts = df
            .select([explode(split(col("value"), " ")).alias("word")])
            .and_then(|w| w.group_by([col("word")]).count())
            .expect("plan");
        let ran = run_to_end(
            counts
                .write_stream()
                .output_mode("update")
                .trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let epochs: Vec<_> = ran.batch_rows().iter().map(|rows| counts_of(rows)).collect();
        assert_eq!(epochs, expected, "{workers} workers");
    }
}

#[test]
fn a_csv_file_with_a_header_cut_into_ranges_reads_the_header_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Seeded::new(21);
    let mut text = String::from("name,amount\r\n");
    let mut expected = Vec::new();
    for i in 0..2000 {
        let name = ["ann", "bö", "\"c, d\"", "☃"][rng.below(4) as usize];
        let amount = rng.below(1000) as i64;
        text.push_str(&format!("{name},{amount}"));
        if i < 1999 {
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
        expected.push(row![name.trim_matches('"'), amount]);
    }
    expected.sort();
    put_file(dir.path(), "t.csv", &text);
    let schema = Schema::new([
        Field::new("name", DataType::String),
        Field::new("amount", DataType::Int64),
    ]);
    for workers in [1, 2, 4] {
        let spark = session(workers, 613);
        let df = spark
            .read_stream()
            .schema(schema.clone())
            .option("header", true)
            .option("mode", "FAILFAST")
            .csv(dir.path().to_str().expect("path"))
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        assert_eq!(ran.rows(), expected, "{workers} workers");
    }
}

#[test]
fn json_lines_cut_into_ranges_give_every_record_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    let mut expected = Vec::new();
    for i in 0..1500i64 {
        let tag = ["ä", "b", "🦀"][(i % 3) as usize];
        text.push_str(&format!("{{\"n\":{i},\"tag\":\"{tag}\"}}\n"));
        expected.push(row![i, tag]);
    }
    expected.sort();
    put_file(dir.path(), "e.json", &text);
    let schema = Schema::new([
        Field::new("n", DataType::Int64),
        Field::new("tag", DataType::String),
    ]);
    for workers in [1, 2, 4] {
        let spark = session(workers, 701);
        let df = spark
            .read_stream()
            .schema(schema.clone())
            .option("mode", "FAILFAST")
            .json(dir.path().to_str().expect("path"))
            .expect("source");
        let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
        assert_eq!(ran.rows(), expected, "{workers} workers");
    }
}

/// With `multiLine` a record may span lines, so a file is read whole, never cut: a CSV field
/// quoted across line breaks, and a JSON document of many lines, each well past the range
/// size, come out as the records they are on 1, 2 and 4 workers.
#[test]
fn multi_line_files_are_read_whole_however_small_the_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (csv_dir, json_dir) = (dir.path().join("csv"), dir.path().join("json"));
    fs::create_dir(&csv_dir).expect("mkdir");
    fs::create_dir(&json_dir).expect("mkdir");
    let mut csv = String::from("n,note\n");
    let mut json = String::from("[\n");
    let mut expected = Vec::new();
    for i in 0..300i64 {
        // A note of three lines: a cut at any line break would split the record.
        let note = format!("line one of {i}\nline two\nline three");
        csv.push_str(&format!("{i},\"{note}\"\n"));
        let comma = if i < 299 { "," } else { "" };
        json.push_str(&format!(
            "  {{\n    \"n\": {i},\n    \"note\": {note:?}\n  }}{comma}\n"
        ));
        expected.push(row![i, note.as_str()]);
    }
    json.push_str("]\n");
    expected.sort();
    put_file(&csv_dir, "notes.csv", &csv);
    put_file(&json_dir, "notes.json", &json);
    let schema = Schema::new([
        Field::new("n", DataType::Int64),
        Field::new("note", DataType::String),
    ]);
    for workers in [1, 2, 4] {
        for format in ["csv", "json"] {
            let spark = session(workers, 509);
            let reader = spark
                .read_stream()
                .schema(schema.clone())
                .option("multiLine", true)
                .option("mode", "FAILFAST");
            let df = if format == "csv" {
                reader.option("header", true).csv(csv_dir.to_str().expect("path"))
            } else {
                reader.json(json_dir.to_str().expect("path"))
            }
            .expect("source");
            let ran = run_to_end(df.write_stream().trigger(Trigger::available_now()), Feed::Nothing);
            assert_eq!(ran.rows(), expected, "{format}, {workers} workers");
        }
    }
}

#[test]
fn a_bad_max_partition_bytes_is_refused_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spark = Session::builder()
        .config("spark.sql.files.maxPartitionBytes", "lots")
        .get_or_create()
        .expect("session");
    let error = spark
        .read_stream()
        .text(dir.path().to_str().expect("path"))
        .expect_err("refused");
    assert!(
        error.to_string().contains("spark.sql.files.maxPartitionBytes"),
        "{error}"
    );
}

#[test]
fn an_append_mode_csv_sink_is_written_by_every_worker_and_committed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    let text = awkward_text(22, 4000);
    put_file(&input, "big.txt", &text);
    // The reference: the text's own lines, each written as one CSV field (empty as `""`).
    let mut expected: Vec<String> = text
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\"\"".to_string()
            } else {
                line.to_string()
            }
        })
        .collect();
    expected.sort();
    for workers in [1, 2, 4] {
        let out = dir.path().join(format!("out{workers}"));
        let spark = session(workers, 997);
        let query = spark
            .read_stream()
            .text(input.to_str().expect("path"))
            .expect("source")
            .write_stream()
            .format("csv")
            .option("header", true)
            .option("path", out.to_str().expect("path"))
            .trigger(Trigger::available_now())
            .start()
            .expect("start");
        await_within(&query, "csv sink").expect("finishes");
        let log = sink_log(&out);
        assert_eq!(log.len(), 1, "one epoch, {workers} workers");
        let files: Vec<&str> = log[0]["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f.as_str().expect("name"))
            .collect();
        // Every worker read ranges of the file, so every worker wrote a part.
        let names: Vec<String> = (0..workers).map(|w| format!("part-000000-w{w:03}.csv")).collect();
        assert_eq!(files, names, "{workers} workers");
        let mut rows = Vec::new();
        for file in &files {
            let part = fs::read_to_string(out.join(file)).expect("part");
            let mut lines = part.lines();
            assert_eq!(lines.next(), Some("value"), "each part has the header");
            rows.extend(lines.map(str::to_string));
        }
        rows.sort();
        assert_eq!(rows, expected, "{workers} workers");
        assert_eq!(
            log[0]["rows"].as_u64(),
            Some(expected.len() as u64),
            "{workers} workers"
        );
        let written: u64 = query
            .recent_progress()
            .iter()
            .map(|p| p.sink.num_output_rows)
            .sum();
        assert_eq!(written, expected.len() as u64, "{workers} workers");
    }
}

#[test]
fn a_part_that_cannot_be_written_fails_the_query_and_commits_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    put_file(&input, "a.txt", "one\ntwo\n");
    // The sink's path is a file: no worker can create its part there.
    let out = dir.path().join("out");
    fs::write(&out, "not a directory").expect("write");
    for workers in [1, 2] {
        let query = session(workers, 1 << 20)
            .read_stream()
            .text(input.to_str().expect("path"))
            .expect("source")
            .write_stream()
            .format("csv")
            .option("path", out.to_str().expect("path"))
            .trigger(Trigger::available_now())
            .start()
            .expect("start");
        let error = await_within(&query, "csv sink").expect_err("the part cannot be written");
        let message = error.to_string();
        assert!(
            message.contains("part of batch 0") && message.contains(out.to_str().expect("path")),
            "{message}"
        );
        assert_eq!(fs::read_to_string(&out).expect("still a file"), "not a directory");
    }
}
