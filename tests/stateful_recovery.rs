//! Recovery of queries with state: aggregations keep their state in the checkpoint, by key,
//! and a query killed at any point of an epoch resumes with it, on any number of workers. Its
//! output must equal, epoch by epoch, what the same query writes when nothing interrupts it,
//! and that in turn is checked against counts computed from the input directly. The input
//! files are deleted as their epochs commit, so a restart that started over from nothing, or
//! that lost the state, could not pass.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::*;

/// The input: file `f` holds words of a small vocabulary, a few lines each.
fn input_files(files: usize) -> Vec<String> {
    (0..files)
        .map(|f| word_lines(f as u64 + 7, 4).join("\n") + "\n")
        .collect()
}

fn job(script: &str, files: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    fs::write(dir.path().join("job.sql"), script).expect("script");
    fs::create_dir(dir.path().join("in")).expect("input directory");
    for (f, text) in files.iter().enumerate() {
        fs::write(dir.path().join("in").join(format!("f{f:02}.txt")), text).expect("input");
    }
    dir
}

/// Parses `word,count` CSV lines.
fn counts(text: &str) -> BTreeMap<String, i64> {
    text.lines()
        .map(|line| {
            let (word, n) = line.rsplit_once(',').expect("word,count");
            (word.trim_matches('"').to_string(), n.parse().expect("count"))
        })
        .collect()
}

/// Runs `script` on `files` killed at each point of `epochs`, restored on the other worker
/// count, and checks every restored run against the uninterrupted one, which `check` checks
/// against the input.
fn killed_runs_match(script: &str, files: &[String], check: impl Fn(&[(u64, String)])) {
    let uninterrupted = job(script, files);
    let expected = uninterrupted_epochs(uninterrupted.path());
    check(&expected);
    kill_and_resume_everywhere(
        &STATEFUL_CRASH_POINTS,
        || job(script, files),
        &[1, 3],
        &expected,
        |_| {},
    );
}

#[test]
fn a_word_count_in_complete_mode_resumes_with_its_counts() {
    let files = input_files(5);
    let script = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
";
    killed_runs_match(script, &files, |epochs| {
        assert_eq!(epochs.len(), files.len());
        for (epoch, text) in epochs {
            // Complete mode: every word's count over the files read so far.
            let lines: Vec<String> = files[..=*epoch as usize]
                .iter()
                .flat_map(|f| f.lines().map(String::from))
                .collect();
            assert_eq!(counts(text), reference_counts(&lines), "epoch {epoch}");
        }
    });
}

#[test]
fn a_word_count_in_update_mode_resumes_with_its_counts() {
    let files = input_files(5);
    let script = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'update');
INSERT INTO out SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
";
    killed_runs_match(script, &files, |epochs| {
        for (epoch, text) in epochs {
            // Update mode: the words of this file, with their counts over all files so far.
            let upto: Vec<String> = files[..=*epoch as usize]
                .iter()
                .flat_map(|f| f.lines().map(String::from))
                .collect();
            let this: Vec<String> = files[*epoch as usize].lines().map(String::from).collect();
            let all = reference_counts(&upto);
            let expected: BTreeMap<String, i64> = reference_counts(&this)
                .keys()
                .map(|w| (w.clone(), all[w]))
                .collect();
            assert_eq!(counts(text), expected, "epoch {epoch}");
        }
    });
}

#[test]
fn a_general_aggregation_resumes_with_its_accumulators() {
    // Lines of "key,value": the sum, maximum and count per key take the general fold.
    let files: Vec<String> = (0..5)
        .map(|f| {
            (0..4)
                .map(|l| format!("k{},{}\n", (f + l) % 3, f * 10 + l))
                .collect()
        })
        .collect();
    let script = "
CREATE STREAM pairs (k STRING, v BIGINT) USING csv OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT k, sum(v) AS total, max(v) AS top, count(*) AS n FROM pairs GROUP BY k;
";
    killed_runs_match(script, &files, |epochs| {
        let (_, last) = epochs.last().expect("epochs");
        let mut expected: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
        for line in files.iter().flat_map(|f| f.lines()) {
            let (k, v) = line.split_once(',').expect("pair");
            let v: i64 = v.parse().expect("value");
            let e = expected.entry(k.to_string()).or_insert((0, i64::MIN, 0));
            *e = (e.0 + v, e.1.max(v), e.2 + 1);
        }
        let expected: String = expected
            .into_iter()
            .map(|(k, (total, top, n))| format!("{k},{total},{top},{n}\n"))
            .collect();
        assert_eq!(last, &expected);
    });
}

/// A word count over a `MemoryStream`, checkpointed at `location`, collected by `collected`.
fn word_count(
    spark: &tidewater::prelude::Session,
    input: &tidewater::prelude::MemoryStream,
    location: &str,
    collected: &Collected,
) -> tidewater::prelude::StreamingQuery {
    use tidewater::prelude::*;
    let words = spark
        .read_stream()
        .memory(input)
        .select([explode(split(col("value"), " ")).alias("word")])
        .expect("plan");
    let counts = words.group_by([col("word")]).count().expect("plan");
    collected.start_checkpointed(counts, "update", location)
}

#[test]
fn a_stopped_word_count_restarted_in_process_keeps_its_counts() {
    use tidewater::prelude::*;
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(Schema::new(vec![Field::new("value", DataType::String)]));
    let first = Collected::default();
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let query = word_count(&spark, &input, &location, &first);
    input.add_data(vec![row!["a b a"]]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    let second = Collected::default();
    let spark = Session::builder().workers(1).get_or_create().expect("session");
    let restarted = word_count(&spark, &input, &location, &second);
    input.add_data(vec![row!["a c"]]);
    restarted.process_all_available().expect("epoch 1");
    restarted.stop().expect("stop");

    assert_eq!(first.batches(), vec![(0, vec![row!["a", 2i64], row!["b", 1i64]])]);
    // "a" goes on from its count before the stop; "c" is new; "b" did not change.
    assert_eq!(
        second.batches(),
        vec![(1, vec![row!["a", 3i64], row!["c", 1i64]])]
    );
}

/// Clicks over five epochs, each file an epoch. An epoch judges late rows by the watermark of
/// the epoch before (Spark's rule) and closes windows by its own. Epoch 0: a@1, b@3. Epoch 1
/// (watermark -2): a@12, a@4. Epoch 2 (watermark 7): b@25, b@14. Epoch 3 (watermark 20, late
/// rows judged by 7): a@41, and b@13, which counts in [10, 20); [0, 10) and [10, 20) close.
/// Epoch 4 (watermark 36, late rows judged by 20): a@45, and b@12, late since [10, 20) ended at
/// 20; [20, 30) closes. Epoch 5, without data (watermark 40), closes nothing: [40, 50) never
/// closes.
fn click_files() -> Vec<String> {
    [
        "a,2026-01-01 00:00:01\nb,2026-01-01 00:00:03\n",
        "a,2026-01-01 00:00:12\na,2026-01-01 00:00:04\n",
        "b,2026-01-01 00:00:25\nb,2026-01-01 00:00:14\n",
        "a,2026-01-01 00:00:41\nb,2026-01-01 00:00:13\n",
        "a,2026-01-01 00:00:45\nb,2026-01-01 00:00:12\n",
    ]
    .iter()
    .map(|rows| format!("page,ts\n{rows}"))
    .collect()
}

/// Clicks per page in 10-second windows under a 5-second watermark, in append mode.
const WINDOWED_CLICKS: &str = "
CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  USING csv OPTIONS (path 'in', header 'true', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append');
INSERT INTO out SELECT window.start AS start, window.end AS end, page, count(*) AS clicks
FROM clicks GROUP BY window(ts, '10 seconds'), page;
";

/// What [`WINDOWED_CLICKS`] writes over [`click_files`], worked out by hand from the comment
/// there: each window once, when the watermark passes its end, without the late row. Epochs
/// 0 to 2 close no window, and epoch 5 (the no-data epoch of the watermark's last move) closes
/// none either: a file sink writes and logs nothing for them.
fn windowed_clicks_epochs() -> Vec<(u64, String)> {
    // CSV cannot hold the window struct (Spark refuses it): its start and end, in Spark's
    // default timestampFormat.
    let window =
        |start: u32, end: u32| format!("2026-01-01T00:00:{start:02}.000Z,2026-01-01T00:00:{end:02}.000Z");
    vec![
        (
            3,
            format!(
                "{w0},a,2\n{w0},b,1\n{w1},a,1\n{w1},b,2\n",
                w0 = window(0, 10),
                w1 = window(10, 20)
            ),
        ),
        (4, format!("{},b,1\n", window(20, 30))),
    ]
}

#[test]
fn open_windows_are_written_once_after_a_restart_and_late_rows_stay_dropped() {
    killed_runs_match(WINDOWED_CLICKS, &click_files(), |epochs| {
        assert_eq!(epochs, windowed_clicks_epochs().as_slice());
    });
}

/// Three epochs whose windows only the watermark's last move closes, in the epoch without data
/// that follows them. Epoch 0: a@1. Epoch 1 (watermark -4): a@12. Epoch 2 (watermark 7): b@17.
/// Epoch 3, without data, runs under watermark 12 (17 - 5): it closes [0, 10), which holds
/// a@1 alone; [10, 20) ends at 20 and is never written.
fn quiet_close_files() -> Vec<String> {
    [
        "a,2026-01-01 00:00:01\n",
        "a,2026-01-01 00:00:12\n",
        "b,2026-01-01 00:00:17\n",
    ]
    .iter()
    .map(|rows| format!("page,ts\n{rows}"))
    .collect()
}

#[test]
fn a_window_opened_before_a_restart_is_written_once_by_the_watermark_alone_after_it() {
    // Killed at every point of epochs 1 and 2, before [0, 10) closes, on one worker count and
    // resumed on the other: the window comes from the restored state of the aggregation, and
    // is written once, in the epoch without data.
    let files = quiet_close_files();
    let expected = vec![(
        3,
        "2026-01-01T00:00:00.000Z,2026-01-01T00:00:10.000Z,a,1\n".to_string(),
    )];
    let uninterrupted = job(WINDOWED_CLICKS, &files);
    assert_eq!(uninterrupted_epochs(uninterrupted.path()), expected);
    kill_and_resume_everywhere(
        &STATEFUL_CRASH_POINTS,
        || job(WINDOWED_CLICKS, &files),
        &[1, 2],
        &expected,
        |_| {},
    );
}

#[test]
fn windows_resume_from_snapshots_that_leave_the_closed_windows_out() {
    // A snapshot after every epoch: a restore reads a snapshot, never the changes of a window
    // the watermark had closed and the fold had forgotten.
    let files = click_files();
    let snapshots = "spark.sql.streaming.stateStore.minDeltasForSnapshot=1";
    let expected = windowed_clicks_epochs();
    for point in STATEFUL_CRASH_POINTS {
        for epoch in [2, 3] {
            for workers in [1, 2] {
                let dir = job(WINDOWED_CLICKS, &files);
                let run = |workers: usize, crash: Option<&str>| {
                    let args = ["--workers", &workers.to_string(), "--conf", snapshots];
                    run_checkpointed_with(dir.path(), &args, crash)
                };
                let killed = run(workers, Some(&format!("{point}:{epoch}")));
                assert!(
                    !killed.status.success(),
                    "{point}:{epoch} should have killed the run"
                );
                let resumed = run(3 - workers, None);
                assert!(
                    resumed.status.success(),
                    "{}",
                    String::from_utf8_lossy(&resumed.stderr)
                );
                assert_eq!(
                    sink_epochs(&dir.path().join("out")),
                    expected,
                    "killed at {point}:{epoch} with {workers} worker(s)"
                );
                // Compacted: the last snapshot, and at most the changes of epochs after it.
                let state = dir.path().join("ck/out/state/0");
                let mut kept: Vec<u64> = std::fs::read_dir(&state)
                    .expect("state")
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect();
                kept.sort();
                assert!(
                    state.join(kept[0].to_string()).join("snapshot").exists(),
                    "{point}:{epoch}: the oldest state kept is a snapshot: {kept:?}"
                );
                assert!(kept.len() <= 2, "{point}:{epoch}: {kept:?}");
            }
        }
    }
}

#[test]
fn a_long_run_compacts_its_state_into_snapshots_and_still_restores() {
    // 25 files, one an epoch, and a snapshot every 10 epochs: after the run the state holds
    // the snapshot of epoch 19 and the changes of epochs 20 to 24 (the compaction of epoch 19
    // runs in the background and is waited for when the query ends).
    let files = input_files(25);
    let script = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'complete');
INSERT INTO out SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
";
    let dir = job(script, &files[..25]);
    let run = |workers: &str| {
        let snapshots = "spark.sql.streaming.stateStore.minDeltasForSnapshot=10";
        let args = ["--workers", workers, "--conf", snapshots];
        let output = run_checkpointed_with(dir.path(), &args, None);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run("1");
    let state = dir.path().join("ck/out/state/0");
    let mut epochs: Vec<u64> = std::fs::read_dir(&state)
        .expect("state")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    epochs.sort();
    assert_eq!(epochs, (19..25).collect::<Vec<u64>>());
    assert!(state.join("19/snapshot").exists());
    // A restart from the snapshot and the changes after it goes on with the right counts.
    std::fs::write(dir.path().join("in/zz.txt"), "late words\n").expect("input");
    run("2");
    let (_, last) = sink_epochs(&dir.path().join("out")).pop().expect("epochs");
    let mut lines: Vec<String> = files.iter().flat_map(|f| f.lines().map(String::from)).collect();
    lines.push("late words".into());
    assert_eq!(counts(&last), reference_counts(&lines));
}

#[test]
fn a_distinct_under_a_watermark_resumes_with_the_keys_it_remembers() {
    // File f holds visits of visitors f to f + 2 around 3 f seconds, some of them late, and
    // always one visitor never seen before (so every epoch writes state).
    let mut rng = common::Seeded::new(23);
    let visits: Vec<Vec<(u64, i64)>> = (0..6u64)
        .map(|f| {
            let mut v: Vec<(u64, i64)> = (0..4)
                .map(|_| (f + rng.below(3), 3 * f as i64 + rng.below(5) as i64 - 2))
                .collect();
            v.push((f + 3, 3 * f as i64 + 6));
            v
        })
        .collect();
    let stamp = |s: i64| format!("2026-01-01 00:00:{:02}", s.max(0));
    let files: Vec<String> = visits
        .iter()
        .map(|v| v.iter().map(|(u, s)| format!("v{u},{}\n", stamp(*s))).collect())
        .collect();
    let script = "
CREATE STREAM visits (visitor STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  USING csv OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out');
INSERT INTO out SELECT DISTINCT visitor FROM visits;
";
    killed_runs_match(script, &files, |epochs| {
        // Spark's distinct() of `visitor` under a watermark that is not among the keys: each
        // visitor once, the first time it comes on time (visits at or before the previous
        // epoch's watermark are late), and remembered for ever.
        let mut seen = std::collections::BTreeSet::new();
        let mut max: Option<i64> = None;
        let mut previous: Option<i64> = None;
        let mut expected = Vec::new();
        for (f, file) in visits.iter().enumerate() {
            // Late against the previous epoch's watermark.
            let late = std::mem::replace(&mut previous, max.map(|m| m - 5));
            let mut new: Vec<String> = Vec::new();
            for (u, s) in file {
                let s = (*s).max(0);
                if late.is_some_and(|w| s <= w) {
                    continue;
                }
                if seen.insert(*u) {
                    new.push(format!("v{u}\n"));
                }
            }
            new.sort();
            expected.push((f as u64, new.concat()));
            max = file.iter().map(|(_, s)| (*s).max(0)).chain(max).max();
        }
        assert_eq!(epochs, expected.as_slice());
    });
}
