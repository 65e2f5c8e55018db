//! DStreams over real sources and sinks: sockets (in-process and through the examples), text
//! files, `save_as_text_files`, and `stop`. Which line lands in which batch depends on timing,
//! so these tests check what holds for any batching: per-batch counts add up to the reference,
//! running counts never fall and end at the reference, every line is read exactly once.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{finish, free_port, text_files, word_lines};
use tidewater::demo::TextServer;
use tidewater::dstream::{DStream, StreamingConfig, StreamingContext};

/// The words of a line as the examples define them: the non-empty pieces between spaces.
fn words_of(line: &str) -> Vec<String> {
    line.split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

fn reference(lines: &[String]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in lines.iter().flat_map(|l| words_of(l)) {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

fn add(total: &mut BTreeMap<String, u64>, batch: &[(String, u64)]) {
    for (w, n) in batch {
        *total.entry(w.clone()).or_insert(0) += n;
    }
}

/// Runs `make` over the lines served on a local socket; returns every batch.
fn over_socket(
    lines: &[String],
    workers: usize,
    make: impl Fn(DStream<String>) -> DStream<(String, u64)>,
) -> Vec<Vec<(String, u64)>> {
    let server = TextServer::start(lines.to_vec(), 40, Duration::from_millis(3)).expect("server starts");
    let ssc = StreamingContext::new(StreamingConfig::new().workers(workers), Duration::from_millis(10))
        .expect("context");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    make(ssc.socket_text_stream("127.0.0.1", server.port()))
        .foreach_rdd(move |rdd, _| sink.lock().expect("lock").push(rdd.to_vec()));
    ssc.start().expect("start");
    assert!(
        ssc.await_termination_or_timeout(Duration::from_secs(60))
            .expect("no failure"),
        "the context ends when the server closes"
    );
    server.join().expect("server sent everything");
    let batches = seen.lock().expect("lock").clone();
    batches
}

fn split_words(lines: DStream<String>) -> DStream<String> {
    lines.flat_map(|l: String| words_of(&l))
}

#[test]
fn per_batch_counts_from_a_socket_add_up_to_the_reference() {
    let lines = word_lines(11, 600);
    for workers in [1, 2] {
        let batches = over_socket(&lines, workers, |s| {
            split_words(s).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
        });
        assert!(batches.len() > 1, "the lines came in several batches");
        let mut total = BTreeMap::new();
        for batch in &batches {
            let keys: Vec<&String> = batch.iter().map(|(w, _)| w).collect();
            assert!(
                keys.windows(2).all(|k| k[0] < k[1]),
                "one sorted row per word and batch"
            );
            add(&mut total, batch);
        }
        assert_eq!(total, reference(&lines), "{workers} workers");
    }
}

#[test]
fn running_counts_from_a_socket_never_fall_and_end_at_the_reference() {
    let lines = word_lines(12, 600);
    for workers in [1, 2] {
        let batches = over_socket(&lines, workers, |s| {
            split_words(s)
                .map(|w| (w, 1u64))
                .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                    Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
                })
        });
        let mut previous: BTreeMap<String, u64> = BTreeMap::new();
        for batch in &batches {
            let current: BTreeMap<String, u64> = batch.iter().cloned().collect();
            for (w, n) in &previous {
                assert!(current.get(w).is_some_and(|c| c >= n), "the count of {w} fell");
            }
            previous = current;
        }
        assert_eq!(previous, reference(&lines), "{workers} workers");
    }
}

/// The example binaries, built by `cargo test` beside the test executables.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --examples`",
        path.display()
    );
    path
}

/// An example reading the server at `port` with 20 ms batches.
fn example_command(name: &str, port: u16) -> Command {
    let mut command = Command::new(example(name));
    command.args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--batch-ms",
        "20",
    ]);
    command
}

/// Runs an example against a local server serving `lines`; returns its printed batches, each
/// a map of the `(word,count)` lines under one `Time: ... ms` header.
fn run_example(name: &str, lines: &[String], extra: &[&str]) -> Vec<BTreeMap<String, u64>> {
    let server = TextServer::start(lines.to_vec(), 50, Duration::from_millis(3)).expect("server starts");
    let output = example_command(name, server.port())
        .args(extra)
        .output()
        .expect("example runs");
    server.join().expect("server sent everything");
    assert!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    parse_batches(&stdout)
}

/// Parses `print()` output: a dashed line, `Time: <ms> ms`, a dashed line, the elements, an
/// empty line. Times must increase.
fn parse_batches(stdout: &str) -> Vec<BTreeMap<String, u64>> {
    let rule = "-------------------------------------------";
    let mut batches = Vec::new();
    let mut last_time = 0u64;
    let mut lines = stdout.lines().peekable();
    while let Some(line) = lines.next() {
        assert_eq!(line, rule, "a batch starts with a dashed line");
        let time = lines.next().expect("time line");
        let ms: u64 = time
            .strip_prefix("Time: ")
            .and_then(|t| t.strip_suffix(" ms"))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("bad time line {time:?}"));
        assert!(ms > last_time, "batch times increase");
        last_time = ms;
        assert_eq!(lines.next(), Some(rule));
        let mut batch = BTreeMap::new();
        for element in lines.by_ref() {
            if element.is_empty() {
                break;
            }
            let inner = element
                .strip_prefix('(')
                .and_then(|e| e.strip_suffix(')'))
                .unwrap_or_else(|| panic!("bad element {element:?}"));
            let (word, count) = inner.rsplit_once(',').expect("(word,count)");
            batch.insert(word.to_string(), count.parse().expect("count"));
        }
        batches.push(batch);
    }
    batches
}

#[test]
fn the_network_word_count_example_prints_every_batch_in_sparks_format() {
    let lines = word_lines(13, 400);
    for workers in ["1", "2"] {
        let batches = run_example("dstream_network_wordcount", &lines, &["--workers", workers]);
        assert!(!batches.is_empty());
        let mut total = BTreeMap::new();
        for batch in &batches {
            add(
                &mut total,
                &batch.iter().map(|(w, n)| (w.clone(), *n)).collect::<Vec<_>>(),
            );
        }
        assert_eq!(total, reference(&lines), "{workers} workers");
    }
}

#[test]
fn the_stateful_word_count_example_ends_with_the_totals() {
    let lines = word_lines(14, 400);
    let batches = run_example("dstream_stateful_wordcount", &lines, &["--workers", "2"]);
    assert_eq!(batches.last(), Some(&reference(&lines)));
}

#[test]
fn the_windowed_word_count_example_counts_its_last_window() {
    let lines = word_lines(15, 400);
    // A window as long as the whole run holds everything at the end.
    let batches = run_example("dstream_windowed_wordcount", &lines, &["--window-ms", "600000"]);
    assert_eq!(batches.last(), Some(&reference(&lines)));
}

#[test]
fn text_files_are_read_once_each_and_saved_per_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = word_lines(16, 90);
    let input = text_files(dir.path(), "in", &lines, 30);
    for workers in [1, 2] {
        let ssc = StreamingContext::new(StreamingConfig::new().workers(workers), Duration::from_millis(10))
            .expect("context");
        let (tx, rx) = mpsc::channel();
        let counts = ssc
            .text_file_stream(&input)
            .expect("text source")
            .map(|l| (l, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.foreach_rdd(move |rdd, _| {
            let _ = tx.send(rdd.iter().map(|(_, n)| *n).sum::<u64>());
        });
        let prefix = dir.path().join(format!("out{workers}/lines"));
        counts.save_as_text_files(prefix.to_str().expect("utf-8 path"), "txt");
        ssc.start().expect("start");
        // A directory is watched for new files forever: stop once every line has been seen.
        let mut seen = 0;
        while seen < lines.len() as u64 {
            seen += rx
                .recv_timeout(Duration::from_secs(30))
                .expect("a batch within 30 s");
        }
        ssc.stop(true).expect("stop");
        assert_eq!(seen, lines.len() as u64, "{workers} workers: every line once");
        // Every batch became a directory lines-<time>.txt whose part file lists its pairs.
        let mut saved = 0u64;
        let out = prefix.parent().expect("parent");
        for entry in std::fs::read_dir(out).expect("output directory") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            assert!(name.starts_with("lines-") && name.ends_with(".txt"), "{name}");
            assert!(path.join("_SUCCESS").exists(), "{name} is complete");
            let text = std::fs::read_to_string(path.join("part-00000")).expect("part file");
            saved += text
                .lines()
                .map(|l| {
                    l.rsplit_once(',')
                        .and_then(|(_, n)| n.trim_end_matches(')').parse::<u64>().ok())
                        .expect("(line,n)")
                })
                .sum::<u64>();
        }
        assert_eq!(
            saved,
            lines.len() as u64,
            "{workers} workers: the saved batches hold every line"
        );
    }
}

#[test]
fn stop_without_grace_ends_a_context_whose_server_never_closes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(10)).expect("context");
    ssc.socket_text_stream("127.0.0.1", port)
        .count()
        .foreach_rdd(|_, _| {});
    ssc.start().expect("start");
    let _connection = listener.accept().expect("the context connects");
    assert!(ssc.is_active());
    ssc.stop(false).expect("stop");
    assert!(!ssc.is_active());
}

#[test]
fn two_processes_give_the_running_totals_of_one() {
    let lines = word_lines(17, 400);
    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = dir.path().join("hosts.txt");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .expect("hostfile");
    let server = TextServer::start(lines.clone(), 50, Duration::from_millis(3)).expect("server starts");
    let process = |index: &str| {
        example_command("dstream_stateful_wordcount", server.port())
            .args(["--workers", "2", "--processes", "2", "--process", index])
            .arg("--hostfile")
            .arg(&hostfile)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("process starts")
    };
    let second = process("1");
    let first = process("0");
    let first = finish(first, "process 0");
    let second = finish(second, "process 1");
    server.join().expect("server sent everything");
    for (output, name) in [(&first, "process 0"), (&second, "process 1")] {
        assert!(
            output.status.success(),
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // timely reports its connection set-up on standard output, before any batch.
    let printed = |output: &std::process::Output| -> String {
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        text.find("-----")
            .map(|start| text[start..].to_string())
            .unwrap_or_default()
    };
    assert_eq!(printed(&second), "", "only process 0 prints batches");
    let batches = parse_batches(&printed(&first));
    assert_eq!(batches.last(), Some(&reference(&lines)));
}

#[test]
fn a_panicking_output_fails_the_context_with_its_message() {
    let ssc =
        StreamingContext::new(StreamingConfig::new().workers(2), Duration::from_millis(5)).expect("context");
    ssc.queue_stream(vec![vec![1u64], vec![2], vec![3]])
        .foreach_rdd(|rdd, _| {
            if rdd.contains(&2) {
                panic!("no twos here");
            }
        });
    ssc.start().expect("start");
    let error = ssc.await_termination().expect_err("the output panicked");
    assert_eq!(error.code(), "SINK_FAILED");
    assert!(error.to_string().contains("no twos here"), "{error}");
}

#[test]
fn an_unwritable_output_directory_fails_the_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A file where the batches' directories should go.
    let blocker = dir.path().join("taken");
    std::fs::write(&blocker, "").expect("write");
    let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(5)).expect("context");
    let prefix = blocker.join("batch");
    ssc.queue_stream(vec![vec![1u64]])
        .save_as_text_files(prefix.to_str().expect("utf-8"), "");
    ssc.start().expect("start");
    let error = ssc
        .await_termination()
        .expect_err("the directory cannot be created");
    assert_eq!(error.code(), "SINK_FAILED");
    assert!(error.to_string().contains("cannot create"), "{error}");
}

#[test]
fn an_unreadable_file_fails_the_context_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.txt"), "a b\n").expect("write");
    // A file that opens but cannot be read: reading /proc/self/mem at offset 0 fails with EIO.
    std::os::unix::fs::symlink("/proc/self/mem", dir.path().join("bad.txt")).expect("symlink");
    let ssc =
        StreamingContext::new(StreamingConfig::new().workers(2), Duration::from_millis(5)).expect("context");
    ssc.text_file_stream(dir.path())
        .expect("source")
        .count()
        .foreach_rdd(|_, _| {});
    ssc.start().expect("start");
    let finished = ssc.await_termination_or_timeout(Duration::from_secs(30));
    let error = finished.expect_err("the bad file stops the context");
    assert_eq!(error.code(), "SOURCE_FAILED");
    assert!(error.to_string().contains("bad.txt"), "{error}");
}
