//! DStream checkpoints: a streaming context that is killed resumes where it stopped, and its
//! outputs equal an uninterrupted run's, batch by batch.
//!
//! The job (`word_job`) reads ten batches of lines from a queue and has one output of each
//! stateful kind: running totals (`update_state_by_key`), a window recomputed each batch
//! (`reduce_by_key_and_window`), a sliding window kept with an inverse function, sessions
//! with a timeout (`map_with_state`) and a windowed count. Each output writes every batch to
//! a file named by the batch's time, replacing it if the batch runs again (as a user would
//! deduplicate by `foreach_rdd`'s time). The expected batches are computed here from the
//! input, by brute force, not by the engine.
//!
//! A killed run is a real child process: this test binary runs itself with
//! `DSTREAM_CHECKPOINT_CHILD` set and `TIDEWATER_CRASH_AT=<point>:<batch>`, which aborts it
//! there (see `src/crash.rs`); then it is resumed on the other worker count.
//!
//! The binary has its own `main` (libtest-mimic) so that the child mode is decided before any
//! test runs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{finish, word_lines, CRASH_POINTS};
use libtest_mimic::{Arguments, Failed, Trial};
use tidewater::dstream::{State, StateSpec, StreamingConfig, StreamingContext};

/// The batch interval of the job.
const BATCH_MS: u64 = 20;
/// Lines per batch, and batches.
const LINES: usize = 6;
const BATCHES: usize = 10;
/// `map_with_state`'s timeout: a word idle for longer than two batches times out.
const TIMEOUT_MS: u64 = 2 * BATCH_MS;

/// What tells this binary to run the job as a child process, in the directory it names.
const CHILD: &str = "DSTREAM_CHECKPOINT_CHILD";
/// The child's worker count.
const CHILD_WORKERS: &str = "DSTREAM_CHECKPOINT_WORKERS";
/// Which job the child runs: `words` (the default), `files` or `socket:<port>`.
const CHILD_JOB: &str = "DSTREAM_CHECKPOINT_JOB";

fn main() {
    if let Ok(dir) = std::env::var(CHILD) {
        let workers = std::env::var(CHILD_WORKERS)
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(1);
        let job = std::env::var(CHILD_JOB).unwrap_or_default();
        let dir = Path::new(&dir);
        let result = if job == "files" {
            run_files_job(dir, workers)
        } else if let Some(port) = job.strip_prefix("socket:") {
            run_socket_job(dir, workers, port.parse().expect("a port"))
        } else {
            run_job(dir, workers)
        };
        match result {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                eprintln!("the job failed: [{}] {e}", e.code());
                std::process::exit(3);
            }
        }
    }
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials()).exit();
}

fn trials() -> Vec<Trial> {
    vec![
        Trial::test(
            "an_uninterrupted_run_gives_the_reference_batches_on_1_and_2_workers",
            || {
                for workers in [1, 2] {
                    let dir = tempfile::tempdir().expect("temporary directory");
                    run_job(dir.path(), workers).map_err(|e| Failed::from(e.to_string()))?;
                    check_outputs(dir.path(), &format!("uninterrupted on {workers} worker(s)"));
                }
                Ok(())
            },
        ),
        Trial::test(
            "a_run_killed_anywhere_resumes_to_the_same_batches_on_the_other_worker_count",
            || {
                kill_and_resume_everywhere(&[2, 5]);
                Ok(())
            },
        ),
        Trial::test("a_run_killed_twice_resumes_twice", || {
            let dir = tempfile::tempdir().expect("temporary directory");
            let first = child(dir.path(), 2, Some("before-commit:3"));
            assert!(!first.status.success(), "the first run should have been killed");
            let second = child(dir.path(), 1, Some("after-offsets:7"));
            assert!(!second.status.success(), "the second run should have been killed");
            let third = child(dir.path(), 2, None);
            assert!(
                third.status.success(),
                "{}",
                String::from_utf8_lossy(&third.stderr)
            );
            check_outputs(dir.path(), "killed at batches 3 and 7");
            Ok(())
        }),
        Trial::test("a_finished_run_started_again_writes_nothing_more", || {
            let dir = tempfile::tempdir().expect("temporary directory");
            run_job(dir.path(), 1).map_err(|e| Failed::from(e.to_string()))?;
            let before = outputs(dir.path());
            std::fs::remove_dir_all(dir.path().join("out")).expect("clear the outputs");
            run_job(dir.path(), 2).map_err(|e| Failed::from(e.to_string()))?;
            assert!(
                !dir.path().join("out").exists() || outputs(dir.path()).values().all(Vec::is_empty),
                "a run after the last committed batch writes nothing"
            );
            assert_eq!(before, expected_outputs());
            Ok(())
        }),
        Trial::test("the_offset_log_keeps_min_batches_to_retain", || {
            let dir = tempfile::tempdir().expect("temporary directory");
            let conf = StreamingConfig::new()
                .set("spark.sql.streaming.minBatchesToRetain", "3")
                .expect("a known setting");
            let ssc = StreamingContext::get_or_create(dir.path().join("ck"), || word_job(conf, dir.path()))
                .expect("the context");
            ssc.start().expect("start");
            ssc.await_termination().expect("the run");
            drop(ssc);
            let offsets = epochs_in(&dir.path().join("ck/offsets"));
            assert_eq!(offsets, vec![7, 8, 9], "the last three batches");
            assert_eq!(epochs_in(&dir.path().join("ck/commits")), vec![7, 8, 9]);
            Ok(())
        }),
        Trial::test("a_file_is_read_once_across_restarts", || {
            files_read_once();
            Ok(())
        }),
        Trial::test(
            "socket_lines_that_entered_a_batch_are_counted_once_across_a_kill",
            || {
                socket_lines_counted_once();
                Ok(())
            },
        ),
        Trial::test("refusals_have_their_codes", || {
            refusals();
            Ok(())
        }),
    ]
}

/// The job's input: `BATCHES` batches of `LINES` lines.
fn input_batches() -> Vec<Vec<String>> {
    word_lines(16, LINES * BATCHES)
        .chunks(LINES)
        .map(|chunk| chunk.to_vec())
        .collect()
}

fn words_of(line: &str) -> Vec<String> {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Writes `elements` as batch `time`'s file of output `name`, replacing an earlier one.
fn write_batch<T: std::fmt::Debug>(out: &Path, name: &str, elements: &[T], time: u64) {
    let folder = out.join(name);
    std::fs::create_dir_all(&folder).expect("the output folder");
    let text: String = elements.iter().map(|e| format!("{e:?}\n")).collect();
    let temporary = folder.join(format!(".{time}.tmp"));
    std::fs::write(&temporary, text).expect("write a batch");
    std::fs::rename(&temporary, folder.join(time.to_string())).expect("replace the batch");
}

/// The job: its graph, built the same way by every run.
fn word_job(conf: StreamingConfig, dir: &Path) -> tidewater::Result<StreamingContext> {
    let conf = conf.set("spark.sql.streaming.stateStore.minDeltasForSnapshot", "3")?;
    let ssc = StreamingContext::new(conf, Duration::from_millis(BATCH_MS))?;
    let out = dir.join("out");
    let batch = Duration::from_millis(BATCH_MS);
    let pairs = ssc
        .queue_stream(input_batches())
        .flat_map(|line: String| words_of(&line))
        .map(|word| (word, 1u64));

    let running = pairs.update_state_by_key(|values: &[u64], total: Option<&u64>| {
        Some(values.iter().sum::<u64>() + total.copied().unwrap_or(0))
    });
    let o = out.clone();
    running.foreach_rdd(move |rdd, time| write_batch(&o, "running", rdd, time.milliseconds()));

    let window = pairs.reduce_by_key_and_window(|a, b| a + b, batch * 3, batch)?;
    let o = out.clone();
    window.foreach_rdd(move |rdd, time| write_batch(&o, "window", rdd, time.milliseconds()));

    let sliding = pairs.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, batch * 4, batch * 2)?;
    let o = out.clone();
    sliding.foreach_rdd(move |rdd, time| write_batch(&o, "sliding", rdd, time.milliseconds()));

    let spec = StateSpec::function(
        |word: &String, one: Option<u64>, state: &mut State<i64>| match one {
            Some(_) => {
                let seen = state.get().copied().unwrap_or(0) + 1;
                state.update(seen);
                (word.clone(), seen)
            }
            None => (word.clone(), -1),
        },
    )
    .timeout(Duration::from_millis(TIMEOUT_MS));
    let sessions = pairs.map_with_state(spec);
    let o = out.clone();
    sessions.foreach_rdd(move |rdd, time| write_batch(&o, "sessions", rdd, time.milliseconds()));

    let counted = pairs.count_by_window(batch * 2, batch)?;
    let o = out;
    counted.foreach_rdd(move |rdd, time| write_batch(&o, "count", rdd, time.milliseconds()));
    Ok(ssc)
}

/// Runs the job in `dir` (checkpoint `dir/ck`, outputs `dir/out`) to its end.
fn run_job(dir: &Path, workers: usize) -> tidewater::Result<()> {
    let conf = StreamingConfig::new().workers(workers);
    let ssc = StreamingContext::get_or_create(dir.join("ck"), || word_job(conf, dir))?;
    ssc.start()?;
    match ssc.await_termination_or_timeout(Duration::from_secs(60))? {
        true => Ok(()),
        false => Err(tidewater::Error::Runtime(
            "the job did not end within 60 s".into(),
        )),
    }
}

/// Runs the job as a child process in `dir` on `workers` workers, killed at `crash`.
fn child(dir: &Path, workers: usize, crash: Option<&str>) -> std::process::Output {
    child_job(dir, "words", workers, crash)
}

/// Runs `job` as a child process in `dir` on `workers` workers, killed at `crash`.
fn child_job(dir: &Path, job: &str, workers: usize, crash: Option<&str>) -> std::process::Output {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .env(CHILD, dir)
        .env(CHILD_JOB, job)
        .env(CHILD_WORKERS, workers.to_string())
        .env_remove("TIDEWATER_CRASH_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(crash) = crash {
        command.env("TIDEWATER_CRASH_AT", crash);
    }
    finish(command.spawn().expect("the child starts"), "the job")
}

fn kill_and_resume_everywhere(batches: &[u64]) {
    for point in CRASH_POINTS {
        for &batch in batches {
            for workers in [1, 2] {
                let dir = tempfile::tempdir().expect("temporary directory");
                let crash = format!("{point}:{batch}");
                let killed = child(dir.path(), workers, Some(&crash));
                let said = format!("aborting at {point} of epoch {batch}");
                assert!(
                    !killed.status.success() && String::from_utf8_lossy(&killed.stderr).contains(&said),
                    "{crash} should have killed the run: {}",
                    String::from_utf8_lossy(&killed.stderr)
                );
                let resumed = child(dir.path(), 3 - workers, None);
                assert!(
                    resumed.status.success(),
                    "{crash}: {}",
                    String::from_utf8_lossy(&resumed.stderr)
                );
                check_outputs(
                    dir.path(),
                    &format!(
                        "killed at {crash} on {workers} worker(s), resumed on {}",
                        3 - workers
                    ),
                );
            }
        }
    }
}

/// Every output's batches in time order: `name -> [lines of each batch]`.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut all = BTreeMap::new();
    for name in ["running", "window", "sliding", "sessions", "count"] {
        let folder = dir.join("out").join(name);
        let mut times: Vec<u64> = std::fs::read_dir(&folder)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        times.sort();
        let batches = times
            .iter()
            .map(|t| {
                std::fs::read_to_string(folder.join(t.to_string()))
                    .expect("a batch file")
                    .lines()
                    .map(String::from)
                    .collect()
            })
            .collect();
        all.insert(name.to_string(), batches);
    }
    all
}

fn check_outputs(dir: &Path, what: &str) {
    let got = outputs(dir);
    let expected = expected_outputs();
    for (name, batches) in &expected {
        assert_eq!(got.get(name), Some(batches), "{what}: output `{name}`");
    }
}

/// The job's outputs computed from its input directly.
fn expected_outputs() -> BTreeMap<String, Vec<Vec<String>>> {
    let batches: Vec<Vec<String>> = input_batches()
        .iter()
        .map(|lines| lines.iter().flat_map(|l| words_of(l)).collect())
        .collect();
    let counts = |range: std::ops::RangeInclusive<usize>| -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for e in range {
            for w in &batches[e] {
                *counts.entry(w.clone()).or_insert(0) += 1;
            }
        }
        counts
    };
    let lines = |counts: BTreeMap<String, u64>| -> Vec<String> {
        counts.into_iter().map(|pair| format!("{pair:?}")).collect()
    };
    let mut expected: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut sessions: BTreeMap<String, (i64, usize)> = BTreeMap::new();
    for (e, batch) in batches.iter().enumerate() {
        expected
            .entry("running".into())
            .or_default()
            .push(lines(counts(0..=e)));
        expected
            .entry("window".into())
            .or_default()
            .push(lines(counts(e.saturating_sub(2)..=e)));
        if (e + 1) % 2 == 0 {
            expected
                .entry("sliding".into())
                .or_default()
                .push(lines(counts(e.saturating_sub(3)..=e)));
        }
        let in_window = counts(e.saturating_sub(1)..=e).values().sum::<u64>();
        expected
            .entry("count".into())
            .or_default()
            .push(vec![in_window.to_string()]);
        // Sessions: each occurrence counts; a word idle for longer than the timeout ends.
        let mut mapped = Vec::new();
        for w in batch {
            let entry = sessions.entry(w.clone()).or_insert((0, e));
            entry.0 += 1;
            entry.1 = e;
            mapped.push((w.clone(), entry.0));
        }
        let timed_out: Vec<String> = sessions
            .iter()
            .filter(|(_, (_, last))| (e - last) as u64 * BATCH_MS > TIMEOUT_MS)
            .map(|(w, _)| w.clone())
            .collect();
        for w in timed_out {
            sessions.remove(&w);
            mapped.push((w, -1));
        }
        mapped.sort();
        expected
            .entry("sessions".into())
            .or_default()
            .push(mapped.iter().map(|pair| format!("{pair:?}")).collect());
    }
    expected
}

fn epochs_in(folder: &Path) -> Vec<u64> {
    let mut epochs: Vec<u64> = std::fs::read_dir(folder)
        .expect("a log folder")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    epochs.sort();
    epochs
}

/// A small graph other than the job's, for the refusals.
fn other_job() -> tidewater::Result<StreamingContext> {
    let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(BATCH_MS))?;
    ssc.queue_stream(vec![vec![1u64, 2], vec![3]])
        .map(|x| (x % 2, x))
        .update_state_by_key(|values: &[u64], total: Option<&u64>| {
            Some(values.iter().sum::<u64>() + total.copied().unwrap_or(0))
        })
        .foreach_rdd(|_rdd, _time| {});
    Ok(ssc)
}

fn code_of(result: tidewater::Result<StreamingContext>) -> String {
    match result {
        Ok(_) => "no error".into(),
        Err(e) => e.code().to_string(),
    }
}

fn refusals() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ck: PathBuf = dir.path().join("ck");
    run_job(dir.path(), 1).expect("the job runs");

    // Another graph on the job's checkpoint.
    assert_eq!(
        code_of(StreamingContext::get_or_create(&ck, other_job)),
        "CHECKPOINT_FOREIGN"
    );

    // The same graph while a context holds the checkpoint.
    let conf = StreamingConfig::new();
    let holder = StreamingContext::get_or_create(&ck, || word_job(conf.clone(), dir.path()))
        .expect("the job's context");
    assert_eq!(
        code_of(StreamingContext::get_or_create(&ck, || word_job(
            conf.clone(),
            dir.path()
        ))),
        "CHECKPOINT_LOCKED"
    );
    drop(holder);

    // A damaged commit.
    let commit = ck.join("commits").join((BATCHES - 1).to_string());
    let original = std::fs::read(&commit).expect("the last commit");
    std::fs::write(&commit, &original[..original.len() / 2]).expect("truncate");
    assert_eq!(
        code_of(StreamingContext::get_or_create(&ck, || word_job(
            conf.clone(),
            dir.path()
        ))),
        "CHECKPOINT_CORRUPT"
    );
    std::fs::write(&commit, &original).expect("restore");

    // A damaged state file is refused when the context starts. The last batch is made to
    // run again, so the state as of the batch before is read.
    let last = BATCHES as u64 - 1;
    std::fs::remove_file(ck.join("commits").join(last.to_string())).expect("uncommit the last batch");
    let mut damaged = 0;
    for epoch in std::fs::read_dir(ck.join("state/0"))
        .expect("the first node's state")
        .flatten()
    {
        let before_last = epoch
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|e| e < last);
        for file in std::fs::read_dir(epoch.path()).into_iter().flatten().flatten() {
            if before_last {
                std::fs::write(file.path(), [7, 7, 7]).expect("damage");
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0, "the running totals have state files");
    let ssc =
        StreamingContext::get_or_create(&ck, || word_job(conf.clone(), dir.path())).expect("the context");
    ssc.start().expect("start");
    let failed = ssc
        .await_termination_or_timeout(Duration::from_secs(60))
        .expect_err("a damaged state file");
    assert_eq!(failed.code(), "CHECKPOINT_CORRUPT", "{failed}");
    drop(ssc);

    // A layout from the future.
    let metadata = ck.join("metadata");
    let text = std::fs::read_to_string(&metadata).expect("metadata");
    std::fs::write(
        &metadata,
        text.replace("\"layoutVersion\":1", "\"layoutVersion\":99"),
    )
    .expect("rewrite");
    assert_eq!(
        code_of(StreamingContext::get_or_create(&ck, || word_job(
            conf.clone(),
            dir.path()
        ))),
        "CHECKPOINT_VERSION"
    );
}

/// Running word totals of `lines`, each batch's written by time to `out/running`.
fn running_totals(
    lines: tidewater::dstream::DStream<String>,
    out: PathBuf,
) -> tidewater::dstream::DStream<(String, u64)> {
    let totals = lines
        .flat_map(|line: String| words_of(&line))
        .map(|word| (word, 1u64))
        .update_state_by_key(|values: &[u64], total: Option<&u64>| {
            Some(values.iter().sum::<u64>() + total.copied().unwrap_or(0))
        });
    totals.foreach_rdd(move |rdd, time| write_batch(&out, "running", rdd, time.milliseconds()));
    totals
}

/// The last batch of `out/running` as a map.
fn last_totals(dir: &Path) -> BTreeMap<String, u64> {
    let running = outputs(dir).remove("running").unwrap_or_default();
    let last = running.last().cloned().unwrap_or_default();
    last.iter()
        .map(|line| {
            let (word, n) = line
                .trim_start_matches("(\"")
                .trim_end_matches(')')
                .split_once("\", ")
                .expect("a (word, count) pair");
            (word.to_string(), n.parse().expect("a count"))
        })
        .collect()
}

fn reference_totals(lines: &[String]) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for line in lines {
        for word in words_of(line) {
            *totals.entry(word).or_insert(0) += 1;
        }
    }
    totals
}

/// The files job: running totals of the words of the files in `dir/in`; it stops once the
/// totals hold as many words as `dir/expected` says (a count too high never stops it).
fn run_files_job(dir: &Path, workers: usize) -> tidewater::Result<()> {
    let expected: u64 = std::fs::read_to_string(dir.join("expected"))
        .expect("the expected count")
        .trim()
        .parse()
        .expect("a number");
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = reached.clone();
    let create = || -> tidewater::Result<StreamingContext> {
        let ssc = StreamingContext::new(
            StreamingConfig::new().workers(workers),
            Duration::from_millis(BATCH_MS),
        )?;
        let totals = running_totals(ssc.text_file_stream(dir.join("in"))?, dir.join("out"));
        totals.foreach_rdd(move |rdd, _time| {
            if rdd.iter().map(|(_, n)| n).sum::<u64>() >= expected {
                seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(dir.join("ck"), create)?;
    ssc.start()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !reached.load(std::sync::atomic::Ordering::SeqCst) && std::time::Instant::now() < deadline {
        if !ssc.await_termination_or_timeout(Duration::from_millis(10))? {
            continue;
        }
        break;
    }
    ssc.stop(true)
}

fn files_read_once() {
    let lines = word_lines(23, 40);
    let dir = tempfile::tempdir().expect("temporary directory");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("the input folder");
    // Staged under a hidden name and renamed, so the source never sees half a file.
    let add = |name: &str, lines: &[String]| {
        let staged = input.join(format!(".{name}"));
        std::fs::write(&staged, lines.join("\n") + "\n").expect("write");
        std::fs::rename(&staged, input.join(name)).expect("rename");
    };
    for (i, chunk) in lines[..30].chunks(10).enumerate() {
        add(&format!("f{i}.txt"), chunk);
    }
    let count = |lines: &[String]| reference_totals(lines).values().sum::<u64>().to_string();
    assert!(
        !lines[30..].iter().all(|l| words_of(l).is_empty()),
        "the last file has words"
    );
    // The first run never stops by itself: it is killed after its fourth batch.
    std::fs::write(dir.path().join("expected"), u64::MAX.to_string()).expect("expected");
    let killed = child_job(dir.path(), "files", 2, Some("after-commit:3"));
    assert!(
        !killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    assert_eq!(
        last_totals(dir.path()),
        reference_totals(&lines[..30]),
        "before the kill"
    );
    // A new file after the kill: the restart reads it, and only it.
    add("f3.txt", &lines[30..]);
    std::fs::write(dir.path().join("expected"), count(&lines)).expect("expected");
    let resumed = child_job(dir.path(), "files", 1, None);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        last_totals(dir.path()),
        reference_totals(&lines),
        "after the restart"
    );
}

/// The socket job: running totals of the lines of the server at `port`, until it closes.
fn run_socket_job(dir: &Path, workers: usize, port: u16) -> tidewater::Result<()> {
    let create = || -> tidewater::Result<StreamingContext> {
        let ssc = StreamingContext::new(
            StreamingConfig::new().workers(workers),
            Duration::from_millis(BATCH_MS),
        )?;
        running_totals(ssc.socket_text_stream("127.0.0.1", port), dir.join("out"));
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(dir.join("ck"), create)?;
    ssc.start()?;
    match ssc.await_termination_or_timeout(Duration::from_secs(60))? {
        true => Ok(()),
        false => Err(tidewater::Error::Runtime(
            "the job did not end within 60 s".into(),
        )),
    }
}

/// The lines the checkpoint logged for the socket (`sources/0/<batch>`), in batch order.
fn logged_lines(ck: &Path) -> Vec<String> {
    let log = ck.join("sources/0");
    epochs_in(&log)
        .into_iter()
        .flat_map(|epoch| {
            let text = std::fs::read_to_string(log.join(epoch.to_string())).expect("a log entry");
            text.lines()
                .map(|line| {
                    let row: serde_json::Value = serde_json::from_str(line).expect("a logged row");
                    row.pointer("/0/Str")
                        .or_else(|| row.get(0))
                        .and_then(|v| v.as_str())
                        .map(String::from)
                        .unwrap_or_else(|| panic!("a logged line: {line}"))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn socket_lines_counted_once() {
    use std::io::{Read, Write};
    let first: Vec<String> = word_lines(31, 200)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let second: Vec<String> = word_lines(32, 50)
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("address").port();
    let (first_lines, second_lines) = (first.clone(), second.clone());
    let server = std::thread::spawn(move || {
        // The first run gets the first lines, and the connection stays open until it dies.
        let (mut peer, _) = listener.accept().expect("the first run connects");
        peer.write_all((first_lines.join("\n") + "\n").as_bytes())
            .expect("send");
        let mut rest = Vec::new();
        let _ = peer.read_to_end(&mut rest);
        // The resumed run gets the second lines; closing ends its stream.
        let (mut peer, _) = listener.accept().expect("the resumed run connects");
        peer.write_all((second_lines.join("\n") + "\n").as_bytes())
            .expect("send");
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    let job = format!("socket:{port}");
    let killed = child_job(dir.path(), &job, 2, Some("before-commit:5"));
    assert!(
        !killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    // What entered a batch was logged first; what was still in flight is lost, as the README says.
    let logged = logged_lines(&dir.path().join("ck"));
    assert!(
        !logged.is_empty(),
        "the first run logged lines before it was killed"
    );
    assert!(
        first.starts_with(&logged),
        "the log holds the first lines, in order"
    );
    let resumed = child_job(dir.path(), &job, 1, None);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    server.join().expect("the server");
    let mut counted = logged.clone();
    counted.extend(second);
    assert_eq!(last_totals(dir.path()), reference_totals(&counted));
}
