//! Recovery of real processes that die without warning: queries killed (SIGKILL) at
//! pseudo-random moments and restarted many times still write every input line exactly once
//! (a stateless query), every word's count (a word count in update mode) and every window
//! once (windows under a watermark in append mode), all reading files they delete once read;
//! and a socket query that aborts between its sink's write and its commit replays the lines it
//! had logged, which the socket cannot send again. The expected output is always computed from
//! the input the test generated, never taken from a run.

#![cfg(unix)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{finish, sink_epochs, sink_latest_epoch, Seeded};

/// The checkpoint of the sink `out` under `tidewater run --checkpoint ck`.
const CHECKPOINT: &str = "ck/out";

/// Starts `tidewater run job.sql --checkpoint ck` in `dir` with `args` after it, and with
/// `crash` (`point:epoch`) as `TIDEWATER_CRASH_AT` when given.
fn start(dir: &Path, args: &[&str], crash: Option<&str>, stdout: Stdio, stderr: Stdio) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command
        .args(["run", "job.sql", "--checkpoint", "ck"])
        .args(args)
        .current_dir(dir)
        .env_remove("TIDEWATER_CRASH_AT")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    if let Some(crash) = crash {
        command.env("TIDEWATER_CRASH_AT", crash);
    }
    command.spawn().expect("tidewater starts")
}

/// The highest epoch a checkpoint log (`offsets`, `commits`) or the sink's log holds, if any;
/// temporary files are skipped.
fn latest(log: &Path) -> Option<u64> {
    fs::read_dir(log)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .max()
}

/// The stateless file query of the kill test: upper-cased non-empty lines, one file an epoch,
/// each file deleted once its epoch is committed. No trigger: the default one, which keeps
/// running and waiting for files until the process dies. `minBatchInterval '0'` lets epochs
/// follow each other at once, as the kills must land inside them (a file sink otherwise
/// spaces them a second apart).
const FILE_SCRIPT: &str = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', minBatchInterval '0');
INSERT INTO out SELECT upper(value) AS line FROM lines WHERE value <> '';
";

/// Input files of the kill test.
const FILES: usize = 200;
/// How many times the query is killed, at least (more if input is still to be fed).
const KILLS: usize = 40;

/// The name of input file `f`: names sort as the files were written, so that files with the
/// same modification time are still read in writing order.
fn file_name(f: usize) -> String {
    format!("f{f:03}.txt")
}

/// The lines of input file `f`: one to four lines, each unique, and now and then an empty
/// line, which the query drops.
fn file_lines(rng: &mut Seeded, f: usize) -> Vec<String> {
    const WORDS: [&str; 6] = ["apple", "river", "stone", "tide", "wind", "ember"];
    let mut lines = Vec::new();
    for l in 0..=rng.below(4) {
        if rng.below(5) == 0 {
            lines.push(String::new());
        }
        let word = WORDS[rng.below(WORDS.len() as u64) as usize];
        lines.push(format!("file {f} line {l} {word}"));
    }
    lines
}

/// What the sink must hold for the files' lines, computed from the input: epoch `f` is file
/// `f` (one file an epoch, oldest first), its non-empty lines upper-cased and sorted (the rows
/// of a batch are sorted), one CSV row each.
fn expected_epochs(files: &[Vec<String>]) -> Vec<(u64, String)> {
    files
        .iter()
        .enumerate()
        .map(|(f, lines)| {
            let mut rows: Vec<String> = lines
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| l.to_uppercase())
                .collect();
            rows.sort();
            (f as u64, rows.iter().map(|r| format!("{r}\n")).collect())
        })
        .collect()
}

/// What the kill loop saw when each run died, for the summary the test prints.
#[derive(Debug, Default)]
struct Kills {
    /// Runs killed before the query had committed anything new.
    without_progress: usize,
    /// Runs killed with an epoch's offsets written and no commit for it: a replay follows.
    inside_an_epoch: usize,
    /// Of those, runs killed after the sink had logged the epoch and before the commit.
    after_the_sink: usize,
    /// Runs killed after a commit and before its file was deleted.
    before_the_clean_up: usize,
}

/// Runs `script` in a fresh directory over `files` (one text file each, fed into `in` a few
/// at a time between runs) and kills it (SIGKILL) at pseudo-random moments at least
/// [`KILLS`] times, then lets a last run read what is left and end. Returns the directory,
/// whose `out` holds what the sink wrote; cleanSource must have deleted every input file.
fn killed_many_times(script: &str, files: &[String], seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path();
    fs::write(root.join("job.sql"), script).expect("script");
    fs::create_dir(root.join("in")).expect("input directory");
    // Every file is written up front, in order, outside the input directory, and renamed in
    // a few at a time between runs: a file appears whole, and modification times follow the
    // file numbers.
    let staging = root.join("staging");
    fs::create_dir(&staging).expect("staging directory");
    for (f, text) in files.iter().enumerate() {
        fs::write(staging.join(file_name(f)), text).expect("input file");
    }
    let mut rng = Seeded::new(seed);
    let started = Instant::now();
    let log_path = root.join("run.log");
    let checkpoint = root.join(CHECKPOINT);
    let (mut fed, mut kills, mut seen) = (0, 0, Kills::default());
    let mut committed_before = None;
    // Kills land up to `longest` ms after the start; a loaded machine starts slower, so a
    // run of kills without progress lengthens it.
    let (mut longest, mut stalled) = (40u64, 0);
    while kills < KILLS || fed < files.len() {
        for _ in 0..(rng.below(15) as usize).min(files.len() - fed) {
            let name = file_name(fed);
            fs::rename(staging.join(&name), root.join("in").join(&name)).expect("feed a file");
            fed += 1;
        }
        let log = fs::File::create(&log_path).expect("log file");
        let mut child = start(root, &[], None, Stdio::null(), Stdio::from(log));
        // The point of the test: the kill lands wherever the run happens to be.
        std::thread::sleep(Duration::from_millis(2 + rng.below(longest)));
        let _ = child.kill();
        let status = child.wait().expect("wait for the killed run");
        const SIGKILL: i32 = 9;
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "run {kills} ended by itself ({status}) instead of waiting for files: {}",
            fs::read_to_string(&log_path).unwrap_or_default()
        );
        kills += 1;
        let offsets = latest(&checkpoint.join("offsets"));
        let committed = latest(&checkpoint.join("commits"));
        if committed == committed_before {
            seen.without_progress += 1;
            stalled += 1;
            if stalled >= 3 {
                longest = (longest * 2).min(5_000);
                stalled = 0;
            }
        } else {
            stalled = 0;
        }
        if offsets.is_some() && offsets > committed {
            seen.inside_an_epoch += 1;
            if sink_latest_epoch(&root.join("out")) > committed {
                seen.after_the_sink += 1;
            }
        }
        // Epoch `e` reads file `e` while nothing but files makes epochs.
        if committed.is_some_and(|e| root.join("in").join(file_name(e as usize)).exists()) {
            seen.before_the_clean_up += 1;
        }
        committed_before = committed;
    }
    eprintln!("{kills} kills in {:?}: {seen:?}", started.elapsed());
    // The kills must have hit running epochs, or the last run alone would have done the work.
    assert!(
        seen.inside_an_epoch > 0 && committed_before.is_some(),
        "no kill landed inside an epoch: {seen:?}"
    );

    // The last run reads what is left and ends.
    let last = finish(
        start(
            root,
            &["--trigger", "availableNow"],
            None,
            Stdio::piped(),
            Stdio::piped(),
        ),
        "the last run",
    );
    assert!(last.status.success(), "{}", String::from_utf8_lossy(&last.stderr));
    let left: Vec<PathBuf> = fs::read_dir(root.join("in"))
        .expect("input directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(
        left.is_empty(),
        "cleanSource deletes every committed file: {left:?}"
    );
    dir
}

#[test]
fn a_query_killed_at_random_moments_writes_every_line_exactly_once() {
    let mut rng = Seeded::new(16);
    let files: Vec<Vec<String>> = (0..FILES).map(|f| file_lines(&mut rng, f)).collect();
    let texts: Vec<String> = files.iter().map(|lines| lines.join("\n") + "\n").collect();
    let dir = killed_many_times(FILE_SCRIPT, &texts, 16);
    // Epochs 0..n without gaps, each exactly one file's lines, each line once.
    let written = sink_epochs(&dir.path().join("out"));
    let expected = expected_epochs(&files);
    for (found, wanted) in written.iter().zip(&expected) {
        assert_eq!(found, wanted, "the first epoch that differs");
    }
    assert_eq!(written.len(), expected.len(), "epochs written");
}

/// A word count in update mode, its state in the checkpoint.
const WORD_COUNT_SCRIPT: &str = "
CREATE STREAM lines USING text OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'update', minBatchInterval '0');
INSERT INTO out SELECT word, count(*) AS n
  FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
";

#[test]
fn a_word_count_killed_at_random_moments_counts_every_word_once() {
    let files: Vec<Vec<String>> = (0..FILES / 2)
        .map(|f| common::word_lines(f as u64 + 100, 3))
        .collect();
    let texts: Vec<String> = files.iter().map(|lines| lines.join("\n") + "\n").collect();
    let dir = killed_many_times(WORD_COUNT_SCRIPT, &texts, 17);
    // Update mode, one file an epoch: epoch `e` writes each word of file `e` with its count
    // over files 0..=e, counted here with Spark's split rules.
    let mut totals = std::collections::BTreeMap::<String, i64>::new();
    let expected: Vec<(u64, String)> = files
        .iter()
        .enumerate()
        .map(|(e, lines)| {
            let now = common::reference_counts(lines);
            for (word, n) in &now {
                *totals.entry(word.clone()).or_default() += n;
            }
            let rows: String = now
                .keys()
                .map(|word| format!("{},{}\n", csv_field(word), totals[word]))
                .collect();
            (e as u64, rows)
        })
        .collect();
    let written = sink_epochs(&dir.path().join("out"));
    for (found, wanted) in written.iter().zip(&expected) {
        assert_eq!(found, wanted, "the first epoch that differs");
    }
    assert_eq!(written.len(), expected.len(), "epochs written");
}

/// A CSV field as the sink writes it: an empty string is quoted, as Spark writes it.
fn csv_field(text: &str) -> String {
    if text.is_empty() {
        "\"\"".to_string()
    } else {
        text.to_string()
    }
}

/// Clicks per page in windows of 10 s under a watermark of 5 s, in append mode.
const WINDOWS_SCRIPT: &str = "
CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  USING csv OPTIONS (path 'in', maxFilesPerTrigger '1', cleanSource 'delete');
CREATE SINK out USING csv OPTIONS (path 'out', outputMode 'append', minBatchInterval '0');
INSERT INTO out SELECT window.start AS start, window.end AS end, page, count(*) AS clicks
FROM clicks GROUP BY window(ts, '10 seconds'), page;
";

#[test]
fn windows_killed_at_random_moments_are_each_written_once() {
    // File `f` holds clicks around `3 f` seconds, and now and then one 40 s older, whose
    // window has ended: it is late.
    let mut rng = Seeded::new(18);
    let files: Vec<Vec<(&str, i64)>> = (0..FILES / 2)
        .map(|f| {
            let mut clicks: Vec<(&str, i64)> = (0..=rng.below(3))
                .map(|_| {
                    (
                        ["a", "b", "c"][rng.below(3) as usize],
                        3 * f as i64 + rng.below(4) as i64,
                    )
                })
                .collect();
            // Late against either of Spark's two watermarks (the previous epoch's, or this
            // one's after a no-data epoch), so the epochs' timing cannot change the answer.
            if f >= 14 && rng.below(4) == 0 {
                clicks.push(("a", 3 * f as i64 - 40));
            }
            clicks
        })
        .collect();
    let stamp = |s: i64| format!("2026-01-01 {:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    // The window's start and end as the CSV sink writes them: Spark's default timestampFormat.
    let written = |s: i64| format!("2026-01-01T{:02}:{:02}:{:02}.000Z", s / 3600, s / 60 % 60, s % 60);
    let texts: Vec<String> = files
        .iter()
        .map(|clicks| {
            clicks
                .iter()
                .map(|(p, s)| format!("{p},{}\n", stamp(*s)))
                .collect()
        })
        .collect();
    let dir = killed_many_times(WINDOWS_SCRIPT, &texts, 19);
    // Spark's rules, applied here file by file: the watermark of file f's epoch is the
    // greatest time of the files before it less 5 s; a click is late when its window ended at
    // or before it; a window is written once the watermark reaches its end, and the last
    // (no-data) epoch runs under the greatest time of all less 5 s. Epoch numbers depend on
    // when no-data epochs ran, so the rows of all epochs are compared.
    let (mut counts, mut max) = (std::collections::BTreeMap::<(i64, &str), i64>::new(), None::<i64>);
    for clicks in &files {
        let watermark = max.map(|m| m - 5);
        for (page, s) in clicks {
            let start = s - s % 10;
            if watermark.is_some_and(|w| start + 10 <= w) {
                continue;
            }
            *counts.entry((start, page)).or_default() += 1;
        }
        max = clicks.iter().map(|(_, s)| *s).chain(max).max();
    }
    let last_watermark = max.expect("clicks") - 5;
    let mut expected: Vec<String> = counts
        .iter()
        .filter(|((start, _), _)| start + 10 <= last_watermark)
        .map(|((start, page), n)| format!("{},{},{page},{n}", written(*start), written(start + 10)))
        .collect();
    expected.sort();
    let mut written: Vec<String> = sink_epochs(&dir.path().join("out"))
        .iter()
        .flat_map(|(_, rows)| rows.lines().map(String::from).collect::<Vec<_>>())
        .collect();
    written.sort();
    assert_eq!(
        written, expected,
        "every closed window once, with its on-time clicks"
    );
}

/// The stateless socket query of the socket test: upper-cased lines into a CSV sink.
fn socket_script(port: u16) -> String {
    format!(
        "
CREATE STREAM lines USING socket OPTIONS (host '127.0.0.1', port '{port}');
CREATE SINK out USING csv OPTIONS (path 'out');
INSERT INTO out SELECT upper(value) AS line FROM lines;
"
    )
}

/// Waits until `path` exists (a checkpoint file, written whole under its name), at most a
/// minute; false if it never came.
fn appears(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Lines as one write, so that they reach the reader together and make one epoch.
fn burst(lines: &[&str]) -> Vec<u8> {
    lines
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        .into_bytes()
}

/// An epoch's rows as the CSV sink writes the query's output of `lines`: upper-cased, sorted.
fn epoch_of(lines: &[&str]) -> String {
    let mut rows: Vec<String> = lines.iter().map(|l| l.to_uppercase()).collect();
    rows.sort();
    rows.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn a_socket_query_aborted_before_its_commit_replays_the_lines_it_logged() {
    const FIRST: [&str; 2] = ["alpha one", "alpha two"];
    const SECOND: [&str; 3] = ["bravo one", "bravo two", "bravo three"];
    // Sent after the second epoch started: received, perhaps, but taken by no epoch before
    // the abort, so lost with the process (the socket's documented limit).
    const LOST: [&str; 1] = ["charlie lost"];
    const THIRD: [&str; 2] = ["delta one", "delta two"];
    const FOURTH: [&str; 1] = ["echo one"];

    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().to_path_buf();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    fs::write(root.join("job.sql"), socket_script(port)).expect("script");

    // One server for both runs: each burst goes out once the query has taken the one before
    // (its epoch's offsets are written), so each burst is one epoch.
    let offsets = root.join(CHECKPOINT).join("offsets");
    let server = std::thread::spawn(move || {
        let (mut first, _) = listener.accept().expect("the first run connects");
        first.write_all(&burst(&FIRST)).expect("send");
        assert!(appears(&offsets.join("0")), "epoch 0 never started");
        first.write_all(&burst(&SECOND)).expect("send");
        assert!(appears(&offsets.join("1")), "epoch 1 never started");
        let _ = first.write_all(&burst(&LOST));
        // Held open until the process dies: the source must not end before the abort.
        let _ = first.read_to_end(&mut Vec::new());

        let (mut second, _) = listener.accept().expect("the restart connects");
        second.write_all(&burst(&THIRD)).expect("send");
        assert!(appears(&offsets.join("2")), "epoch 2 never started");
        second.write_all(&burst(&FOURTH)).expect("send");
        assert!(appears(&offsets.join("3")), "epoch 3 never started");
        // Closing the connection ends the stream, and the run.
    });

    let aborted = finish(
        start(
            &root,
            &[],
            Some("before-commit:1"),
            Stdio::piped(),
            Stdio::piped(),
        ),
        "the aborted run",
    );
    let stderr = String::from_utf8_lossy(&aborted.stderr);
    assert!(
        !aborted.status.success() && stderr.contains("aborting at before-commit of epoch 1"),
        "{stderr}"
    );
    // The sink has written epoch 1, which is not committed, and its lines are in the log.
    let checkpoint = root.join(CHECKPOINT);
    assert_eq!(sink_latest_epoch(&root.join("out")), Some(1));
    assert_eq!(latest(&checkpoint.join("commits")), Some(0));
    assert!(checkpoint.join("sources/0/1").exists());

    let resumed = finish(
        start(&root, &[], None, Stdio::piped(), Stdio::piped()),
        "the restart",
    );
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    server.join().expect("the server");
    assert_eq!(
        sink_epochs(&root.join("out")),
        vec![
            (0, epoch_of(&FIRST)),
            (1, epoch_of(&SECOND)),
            (2, epoch_of(&THIRD)),
            (3, epoch_of(&FOURTH)),
        ]
    );
}
