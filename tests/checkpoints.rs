//! Checkpoints and recovery: a query stopped or killed at any point of an epoch resumes where
//! it stopped, and its output equals an uninterrupted run's, epoch by epoch. The reference is
//! always a second run of the same query that is never interrupted; the input files are
//! deleted as their epochs commit (`cleanSource 'delete'`), so a restart that started over
//! would have nothing to read and could not pass.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use tidewater::prelude::*;

/// A stateless script: upper-cased non-empty lines of text files, one file per epoch, into a
/// CSV sink.
const SCRIPT: &str = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out');
INSERT INTO out SELECT upper(value) AS line FROM lines WHERE value <> '';
";

/// A directory with the script and its input: `files` text files of a few lines each.
fn job(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    fs::write(dir.path().join("job.sql"), SCRIPT).expect("script");
    fs::create_dir(dir.path().join("in")).expect("input directory");
    for f in 0..files {
        let text: String = (0..3).map(|l| format!("file {f} line {l}\n")).collect();
        fs::write(dir.path().join("in").join(format!("f{f:02}.txt")), text).expect("input");
    }
    dir
}

fn files_left(dir: &Path) -> Vec<PathBuf> {
    let mut left: Vec<PathBuf> = fs::read_dir(dir.join("in"))
        .expect("input directory")
        .map(|e| e.expect("entry").path())
        .collect();
    left.sort();
    left
}

/// What an uninterrupted run writes: one epoch per file, its lines upper-cased.
fn reference(files: usize) -> Vec<(u64, String)> {
    let dir = job(files);
    let epochs = uninterrupted_epochs(dir.path());
    // Checked against the input by hand: file f's lines, upper-cased, sorted.
    let expected: Vec<(u64, String)> = (0..files)
        .map(|f| {
            let rows: String = (0..3).map(|l| format!("FILE {f} LINE {l}\n")).collect();
            (f as u64, rows)
        })
        .collect();
    assert_eq!(epochs, expected);
    assert!(
        files_left(dir.path()).is_empty(),
        "cleanSource deletes committed files"
    );
    epochs
}

#[test]
fn a_killed_query_resumes_and_writes_each_epoch_exactly_once() {
    let expected = reference(4);
    kill_and_resume_everywhere(
        &CRASH_POINTS,
        || job(4),
        &[0, 2],
        &expected,
        |dir| assert!(files_left(dir).is_empty(), "cleanSource deletes committed files"),
    );
}

#[test]
fn a_restart_reads_only_new_files_and_keeps_counting_epochs() {
    let dir = job(2);
    assert!(run_checkpointed(dir.path(), 1, None).status.success());
    fs::write(dir.path().join("in/f09.txt"), "late\n").expect("new file");
    let again = run_checkpointed(dir.path(), 2, None);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let epochs = sink_epochs(&dir.path().join("out"));
    assert_eq!(epochs.len(), 3, "{epochs:?}");
    assert_eq!(epochs[2], (2, "LATE\n".to_string()));
    // The checkpoint has Spark's layout.
    for entry in ["metadata", "offsets/2", "commits/2", "sources/0/2"] {
        assert!(dir.path().join("ck/out").join(entry).exists(), "{entry}");
    }
    let offsets = fs::read_to_string(dir.path().join("ck/out/offsets/2")).expect("offsets");
    assert!(offsets.starts_with("v1\n"), "{offsets}");
    assert!(offsets.ends_with("{\"end\":3,\"start\":2}"), "{offsets}");
}

fn session() -> Session {
    Session::builder().get_or_create().expect("session")
}

/// A stateless query on `input`: the rows above 10.
fn above_ten(spark: &Session, input: &MemoryStream) -> DataStreamWriter {
    spark
        .read_stream()
        .memory(input)
        .filter(col("n").gt(lit(10)))
        .expect("plan")
        .write_stream()
}

#[test]
fn a_stopped_query_restarted_on_its_checkpoint_continues_after_what_it_took() {
    let spark = session();
    let input = MemoryStream::new(Schema::new(vec![Field::new("n", DataType::Int64)]));
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();

    let first = Collected::default();
    let query = first
        .attach(above_ten(&spark, &input).option("checkpointLocation", &location))
        .start()
        .expect("start");
    input.add_data(vec![row![5i64], row![15i64]]);
    query.process_all_available().expect("epoch 0");
    input.add_data(vec![row![20i64]]);
    query.process_all_available().expect("epoch 1");
    query.stop().expect("stop");
    let id = query.id();

    let second = Collected::default();
    let restarted = second
        .attach(above_ten(&spark, &input).option("checkpointLocation", &location))
        .start()
        .expect("restart");
    input.add_data(vec![row![30i64], row![1i64]]);
    restarted.process_all_available().expect("epoch 2");
    restarted.stop().expect("stop");

    assert_eq!(
        first.batches(),
        vec![(0, vec![row![15i64]]), (1, vec![row![20i64]])]
    );
    assert_eq!(second.batches(), vec![(2, vec![row![30i64]])]);
    assert_eq!(restarted.id(), id, "the query id is kept across restarts");
}

#[test]
fn checkpoints_of_other_queries_and_of_live_ones_are_refused() {
    let spark = session();
    let input = MemoryStream::new(Schema::new(vec![Field::new("n", DataType::Int64)]));
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let running = above_ten(&spark, &input)
        .format("noop")
        .option("checkpointLocation", &location)
        .start()
        .expect("start");
    let second = above_ten(&spark, &input)
        .format("noop")
        .option("checkpointLocation", &location)
        .start()
        .map(|_| ())
        .expect_err("a second live query on the same checkpoint");
    assert_eq!(second.code(), "CHECKPOINT_LOCKED", "{second}");
    running.stop().expect("stop");

    let other = spark
        .read_stream()
        .memory(&input)
        .filter(col("n").lt(lit(10)))
        .expect("plan")
        .write_stream()
        .format("noop")
        .option("checkpointLocation", &location)
        .start()
        .map(|_| ())
        .expect_err("another query's checkpoint");
    assert_eq!(other.code(), "CHECKPOINT_FOREIGN", "{other}");

    fs::create_dir_all(checkpoint.path().join("commits")).expect("commits");
    fs::write(checkpoint.path().join("commits").join("0"), "v1\n{\"nextBatch").expect("damage");
    let corrupt = above_ten(&spark, &input)
        .format("noop")
        .option("checkpointLocation", &location)
        .start()
        .map(|_| ())
        .expect_err("a damaged commit");
    assert_eq!(corrupt.code(), "CHECKPOINT_CORRUPT", "{corrupt}");
}

#[test]
fn only_the_retained_epochs_of_offsets_commits_and_replayable_records_are_kept() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("job.sql"),
        "CREATE STREAM ticks USING rate OPTIONS (rowsPerSecond '20000', numRows '4000');
         CREATE SINK out USING csv OPTIONS (path 'out', maxRowsPerTrigger '500',
                                            timestampFormat 'yyyy-MM-dd HH:mm:ss.SSSSSS');
         INSERT INTO out SELECT value FROM ticks;",
    )
    .expect("script");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .args(["run", "job.sql", "--checkpoint", "ck"])
        .args(["--conf", "spark.sql.streaming.minBatchesToRetain=2"])
        .current_dir(dir.path())
        .output()
        .expect("tidewater runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let epochs = sink_epochs(&dir.path().join("out"));
    assert!(
        epochs.len() > 2,
        "the test needs more epochs than are retained: {}",
        epochs.len()
    );
    let rows: usize = epochs.iter().map(|(_, text)| text.lines().count()).sum();
    assert_eq!(rows, 4000, "every row once");
    let last = epochs.last().expect("epochs").0;
    for log in ["offsets", "commits", "sources/0"] {
        let mut kept: Vec<u64> = std::fs::read_dir(dir.path().join("ck/out").join(log))
            .expect("log")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        kept.sort();
        assert_eq!(kept, vec![last - 1, last], "{log}");
    }
}

#[test]
fn a_restarted_rate_source_keeps_counting_time_from_its_first_start() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("job.sql"),
        "CREATE STREAM ticks USING rate OPTIONS (rowsPerSecond '10000', numRows '3000');
         CREATE SINK out USING csv OPTIONS (path 'out', maxRowsPerTrigger '500',
                                            timestampFormat 'yyyy-MM-dd HH:mm:ss.SSSSSS');
         INSERT INTO out SELECT timestamp, value FROM ticks;",
    )
    .expect("script");
    let run = |crash: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"));
        command
            .args(["run", "job.sql", "--checkpoint", "ck"])
            .current_dir(dir.path())
            .env_remove("TIDEWATER_CRASH_AT");
        if let Some(crash) = crash {
            command.env("TIDEWATER_CRASH_AT", crash);
        }
        command.output().expect("tidewater runs")
    };
    assert!(
        !run(Some("after-commit:2")).status.success(),
        "the first run is killed"
    );
    let resumed = run(None);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    // Every value once, and row v's time is the first start plus v / 10000 s, before and
    // after the restart alike (written to the microsecond: Spark's default pattern stops at
    // milliseconds).
    let mut rows: Vec<(i64, i64)> = sink_epochs(&dir.path().join("out"))
        .iter()
        .flat_map(|(_, text)| text.lines().map(String::from).collect::<Vec<_>>())
        .map(|line| {
            let (time, value) = line.split_once(',').expect("timestamp,value");
            let time = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%d %H:%M:%S%.f")
                .expect("a timestamp")
                .and_utc()
                .timestamp_micros();
            (value.parse().expect("value"), time)
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
        (0..3000).collect::<Vec<_>>()
    );
    let start = rows[0].1;
    for (value, time) in rows {
        assert_eq!(time - value * 100, start, "row {value}");
    }
}

#[test]
fn the_seen_files_log_is_compacted_and_a_restart_still_skips_every_file_it_names() {
    // 25 files, one an epoch, 2 epochs retained: after epoch 21's commit the entries of
    // epochs 0 to 19 are compacted into `19.compact`, so the log holds that and epochs 20-24.
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("job.sql"),
        "CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1');
         CREATE SINK out USING csv OPTIONS (path 'out');
         INSERT INTO out SELECT value FROM lines;",
    )
    .expect("script");
    std::fs::create_dir(dir.path().join("in")).expect("input directory");
    for f in 0..25 {
        std::fs::write(
            dir.path().join("in").join(format!("f{f:02}.txt")),
            format!("line {f}\n"),
        )
        .expect("input");
    }
    let run = |crash: Option<&str>| {
        let args = ["--conf", "spark.sql.streaming.minBatchesToRetain=2"];
        run_checkpointed_with(dir.path(), &args, crash)
    };
    let first = run(None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let log = dir.path().join("ck/out/sources/0");
    let mut kept: Vec<String> = std::fs::read_dir(&log)
        .expect("log")
        .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_string()))
        .collect();
    kept.sort();
    assert_eq!(kept, ["19.compact", "20", "21", "22", "23", "24"]);
    // A restart reads the compaction and the entries after it: only the new file is read,
    // in an epoch that is killed once and run again.
    std::fs::write(dir.path().join("in/g00.txt"), "new line\n").expect("input");
    let killed = run(Some("after-offsets:25"));
    assert!(!killed.status.success());
    let resumed = run(None);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let epochs = sink_epochs(&dir.path().join("out"));
    let lines: Vec<String> = epochs
        .iter()
        .flat_map(|(_, t)| t.lines().map(String::from))
        .collect();
    let mut expected: Vec<String> = (0..25).map(|f| format!("line {f}")).collect();
    expected.push("new line".into());
    assert_eq!(lines, expected, "every line once, in epoch order");
    assert_eq!(epochs.last().map(|(e, _)| *e), Some(25));
}
