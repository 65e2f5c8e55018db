//! Helpers shared by the end-to-end tests: seeded input, reference answers computed without the
//! engine, and a collector of the batches a query writes.
#![allow(dead_code)]

pub mod kafka;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tidewater::prelude::*;

/// A small deterministic generator (SplitMix64), so inputs are the same on every run.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Seeded(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Lines of words from a small vocabulary, with the awkward cases Spark's `split(value, " ")`
/// must handle: double spaces, leading and trailing spaces, and empty lines.
pub fn word_lines(seed: u64, lines: usize) -> Vec<String> {
    const VOCABULARY: [&str; 12] = [
        "apple",
        "banana",
        "cherry",
        "date",
        "elder",
        "fig",
        "grape",
        "a",
        "b",
        "the",
        "of",
        "Ünïcödé",
    ];
    let mut rng = Seeded::new(seed);
    (0..lines)
        .map(|_| {
            let mut line = String::new();
            match rng.below(10) {
                0 => return String::new(),
                1 => line.push(' '),
                _ => {}
            }
            for i in 0..=rng.below(8) {
                if i > 0 {
                    line.push_str(if rng.below(6) == 0 { "  " } else { " " });
                }
                line.push_str(VOCABULARY[rng.below(VOCABULARY.len() as u64) as usize]);
            }
            if rng.below(8) == 0 {
                line.push(' ');
            }
            line
        })
        .collect()
}

/// The words of a line as Spark's `split(line, " ")` defines them (Java's `split` with limit
/// -1): the pieces between single spaces, empty ones included. Written as a character scan,
/// independently of the engine's splitter.
pub fn spark_split_words(line: &str) -> Vec<String> {
    let mut words = vec![String::new()];
    for c in line.chars() {
        if c == ' ' {
            words.push(String::new());
        } else if let Some(last) = words.last_mut() {
            last.push(c);
        }
    }
    words
}

/// The word count of `lines`, computed directly.
pub fn reference_counts(lines: &[String]) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        for word in spark_split_words(line) {
            *counts.entry(word).or_insert(0) += 1;
        }
    }
    counts
}

/// One batch as a sink saw it: `(batch id, rows)`.
pub type BatchRows = (u64, Vec<Row>);

/// Batches written by a query.
#[derive(Clone, Default)]
pub struct Collected(Arc<Mutex<Vec<BatchRows>>>);

impl Collected {
    pub fn batches(&self) -> Vec<BatchRows> {
        self.0.lock().unwrap().clone()
    }

    /// Attaches this collector to a writer as its `foreach_batch` function.
    pub fn attach(&self, writer: DataStreamWriter) -> DataStreamWriter {
        let sink = self.0.clone();
        writer.foreach_batch(move |batch: &Batch<'_>| -> Result<()> {
            sink.lock().unwrap().push((batch.id, batch.rows.to_vec()));
            Ok(())
        })
    }

    /// Starts `result` in output `mode`, checkpointed at `location`, into this collector.
    pub fn start_checkpointed(&self, result: DataFrame, mode: &str, location: &str) -> StreamingQuery {
        self.attach(
            result
                .write_stream()
                .output_mode(mode)
                .option("checkpointLocation", location),
        )
        .start()
        .expect("start")
    }
}

/// `(word, count)` rows as a map; panics on a malformed row (a test failure).
pub fn counts_of(rows: &[Row]) -> BTreeMap<String, i64> {
    rows.iter()
        .map(|r| {
            let word = r[0].as_str().expect("word is a string").to_string();
            let count = r[1].as_i64().expect("count is an integer");
            (word, count)
        })
        .collect()
}

/// Runs `f` with the query's result, failing the test (not hanging) if it takes over a minute.
pub fn await_within(query: &StreamingQuery, what: &str) -> Result<()> {
    match query.await_termination_timeout(std::time::Duration::from_secs(60)) {
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = query.stop();
            panic!("{what}: the query did not finish within 60 s");
        }
        Err(e) => Err(e),
    }
}

/// The input a test gives a query it runs to the end (see [`run_to_end`]).
pub enum Feed<'a> {
    /// No rows from the test: the query's sources end by themselves (a once or available-now trigger, a rate
    /// source with `numRows`, a static table).
    Nothing,
    /// Each of the epochs to `input`, one epoch each (`process_all_available` closes it), then
    /// the end of the stream.
    Epochs(&'a MemoryStream, Vec<Vec<Row>>),
    /// Epochs to several streams, in this order, one `(stream, rows)` each; then every stream
    /// ends.
    Interleaved(Vec<(&'a MemoryStream, Vec<Row>)>),
}

/// A query that ran to its end, and what its sink saw.
pub struct Ran {
    /// The query, for its progress.
    pub query: StreamingQuery,
    collected: Collected,
}

impl Ran {
    /// Every batch as the sink saw it, in order: `(batch id, rows)`.
    pub fn batches(&self) -> Vec<BatchRows> {
        self.collected.batches()
    }

    /// The rows of each batch, in batch order, without the batch ids.
    pub fn batch_rows(&self) -> Vec<Vec<Row>> {
        self.batches().into_iter().map(|(_, rows)| rows).collect()
    }

    /// The rows the query's stateful operators dropped as late, over every epoch (Spark's
    /// `numRowsDroppedByWatermark`, summed).
    pub fn dropped_by_watermark(&self) -> u64 {
        self.query
            .recent_progress()
            .iter()
            .flat_map(|p| p.state_operators.iter().map(|s| s.num_rows_dropped_by_watermark))
            .sum()
    }

    /// The malformed records the query's first source skipped or kept, over every epoch
    /// (its `numMalformedRecords`, summed).
    pub fn malformed_records(&self) -> u64 {
        self.query
            .recent_progress()
            .iter()
            .map(|p| {
                p.sources[0].metrics["numMalformedRecords"]
                    .parse::<u64>()
                    .expect("a count")
            })
            .sum()
    }

    /// Every row of every batch, sorted: the answer of a query whose batch boundaries do not
    /// matter (an append-mode query, or one whose input the worker count splits differently).
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self.batches().into_iter().flat_map(|(_, rows)| rows).collect();
        rows.sort();
        rows
    }
}

/// Starts the query `writer` describes with a collector as its sink, gives it `feed`, and waits
/// (at most a minute) for it to end. A query that fails fails the test: a test of a failure
/// starts its query itself and awaits the error with [`await_within`].
pub fn run_to_end(writer: DataStreamWriter, feed: Feed<'_>) -> Ran {
    let collected = Collected::default();
    let query = collected.attach(writer).start().expect("the query starts");
    let (inputs, epochs): (Vec<&MemoryStream>, Vec<_>) = match feed {
        Feed::Nothing => (vec![], vec![]),
        Feed::Epochs(input, epochs) => (
            vec![input],
            epochs.into_iter().map(|rows| (input, rows)).collect(),
        ),
        Feed::Interleaved(epochs) => (epochs.iter().map(|(input, _)| *input).collect(), epochs),
    };
    for (input, rows) in epochs {
        input.add_data(rows);
        query.process_all_available().expect("the epoch is processed");
    }
    // Ending a stream twice is harmless.
    inputs.iter().for_each(|input| input.end());
    await_within(&query, "the query").expect("the query succeeds");
    Ran { query, collected }
}

/// Parses the console sink's last batch (`|word|count|` rows) into a map.
pub fn last_console_table(stdout: &str) -> BTreeMap<String, i64> {
    let last = stdout.rsplit("Batch: ").next().expect("a batch was printed");
    last.lines()
        .filter(|l| l.starts_with('|'))
        .skip(1) // the header
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
            let count = cells[1].trim().parse().expect("count cell is a number");
            (cells[0].trim().to_string(), count)
        })
        .collect()
}

/// Writes `lines` into a new folder `name` under `dir`, `per_file` lines a file, as text files
/// named in line order (`f00.txt`, `f01.txt`, ...), and returns the folder.
pub fn text_files(
    dir: &std::path::Path,
    name: &str,
    lines: &[String],
    per_file: usize,
) -> std::path::PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir(&folder).expect("mkdir");
    for (i, chunk) in lines.chunks(per_file).enumerate() {
        std::fs::write(folder.join(format!("f{i:02}.txt")), chunk.join("\n") + "\n").expect("write");
    }
    folder
}

/// A port nothing listens on now (for a hostfile).
///
/// Taken below Linux's ephemeral range (32768 and up), never from it: a port the kernel hands
/// out for `:0` is free only until the next outgoing connection, and the tests of a binary run
/// clusters side by side, whose processes connect to each other while a neighbour has chosen
/// its ports but not yet bound them. Each call in a process takes the next port of its own
/// run, starting from a place set by the process id, and skips ports in use.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 10_000;
    const SPAN: u32 = 20_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % SPAN;
    for _ in 0..SPAN {
        let port = (FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN)
}

/// Waits for `child` at most two minutes, so that a broken cluster fails the test instead of
/// hanging it; the output is read once the process has exited.
pub fn finish(mut child: std::process::Child, what: &str) -> std::process::Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "{what} did not finish in time: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// A file sink's log entries, in epoch order, read as the sink's readers must: the newest
/// `<c>.compact` file (one JSON entry a line), then the entries `<e>` with `e > c`. Anything
/// else in the log directory (temporary files, entries a compaction replaced) is not read.
pub fn sink_log(out: &std::path::Path) -> Vec<serde_json::Value> {
    let log = out.join("_tidewater");
    let names: Vec<String> = match std::fs::read_dir(&log) {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect(),
        Err(_) => return Vec::new(),
    };
    let compact = names
        .iter()
        .filter_map(|n| n.strip_suffix(".compact")?.parse::<u64>().ok())
        .max();
    let mut entries: Vec<serde_json::Value> = match compact {
        Some(c) => std::fs::read_to_string(log.join(format!("{c}.compact")))
            .expect("compact file")
            .lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect(),
        None => Vec::new(),
    };
    let mut later: Vec<u64> = names
        .iter()
        .filter_map(|n| n.parse::<u64>().ok())
        .filter(|e| compact.is_none_or(|c| *e > c))
        .collect();
    later.sort();
    for epoch in later {
        let text = std::fs::read_to_string(log.join(epoch.to_string())).expect("entry");
        entries.push(serde_json::from_str(&text).expect("json"));
    }
    entries
}

/// The newest epoch a file sink's log records as complete.
pub fn sink_latest_epoch(out: &std::path::Path) -> Option<u64> {
    sink_log(out).last().and_then(|entry| entry["epoch"].as_u64())
}

/// A file sink's output epoch by epoch, as its log lists them (see [`sink_log`]):
/// `(epoch, lines of its part files, sorted)`. Sorted, because an append-mode epoch is written
/// in parts by the workers that computed its rows, in no order: what must not depend on the
/// worker count is the epoch's rows as a multiset (other modes write one sorted part). Files
/// the log does not name (a crash's leftovers) are not output, so they are not read.
pub fn sink_epochs(out: &std::path::Path) -> Vec<(u64, String)> {
    sink_log(out)
        .into_iter()
        .map(|entry| {
            let parts: Vec<String> = entry["files"]
                .as_array()
                .expect("files")
                .iter()
                .map(|f| std::fs::read_to_string(out.join(f.as_str().expect("name"))).expect("part"))
                .collect();
            let mut lines: Vec<&str> = parts.iter().flat_map(|part| part.lines()).collect();
            lines.sort_unstable();
            let rows = lines.iter().map(|line| format!("{line}\n")).collect();
            (entry["epoch"].as_u64().expect("epoch"), rows)
        })
        .collect()
}

/// Runs `job.sql` in `dir` (`tidewater run`) on `workers` workers until its input is read
/// (available-now), with a checkpoint, and with `crash` (`point:epoch`) as
/// `TIDEWATER_CRASH_AT` when given.
pub fn run_checkpointed(dir: &std::path::Path, workers: usize, crash: Option<&str>) -> std::process::Output {
    run_checkpointed_with(dir, &["--workers", &workers.to_string()], crash)
}

/// As [`run_checkpointed`], with `args` for the CLI instead of a worker count.
pub fn run_checkpointed_with(
    dir: &std::path::Path,
    args: &[&str],
    crash: Option<&str>,
) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command
        .args([
            "run",
            "job.sql",
            "--trigger",
            "availableNow",
            "--checkpoint",
            "ck",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("TIDEWATER_CRASH_AT");
    if let Some(crash) = crash {
        command.env("TIDEWATER_CRASH_AT", crash);
    }
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tidewater starts");
    finish(child, "tidewater run")
}

/// Runs the job in `dir` once, uninterrupted, on one worker, and returns its sink's epochs:
/// what every interrupted run of the same job must write.
pub fn uninterrupted_epochs(dir: &std::path::Path) -> Vec<(u64, String)> {
    let output = run_checkpointed(dir, 1, None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    sink_epochs(&dir.join("out"))
}

/// The points of an epoch at which the recovery tests kill a run (see `src/crash.rs`).
pub const CRASH_POINTS: [&str; 4] = ["after-offsets", "in-sink", "before-commit", "after-commit"];

/// The crash points of a query with state: those of every query, and inside the write of
/// an operator's state.
pub const STATEFUL_CRASH_POINTS: [&str; 5] = [
    "after-offsets",
    "in-state-write",
    "in-sink",
    "before-commit",
    "after-commit",
];

/// For every crash point of `points`, each of `epochs` and 1 and 2 workers: a fresh job from
/// `job` is run with a checkpoint and killed there, then resumed on the other worker count; its
/// sink's epochs must equal `expected`, and `after(dir)` checks what else must hold.
pub fn kill_and_resume_everywhere(
    points: &[&str],
    job: impl Fn() -> tempfile::TempDir,
    epochs: &[u64],
    expected: &[(u64, String)],
    after: impl Fn(&std::path::Path),
) {
    for point in points {
        for &epoch in epochs {
            for workers in [1, 2] {
                let dir = job();
                let killed = run_checkpointed(dir.path(), workers, Some(&format!("{point}:{epoch}")));
                assert!(
                    !killed.status.success(),
                    "{point}:{epoch} should have killed the run: {}",
                    String::from_utf8_lossy(&killed.stderr)
                );
                // Restored on the other worker count: nothing is pinned to a worker.
                let resumed = run_checkpointed(dir.path(), 3 - workers, None);
                assert!(
                    resumed.status.success(),
                    "{point}:{epoch}: {}",
                    String::from_utf8_lossy(&resumed.stderr)
                );
                assert_eq!(
                    sink_epochs(&dir.path().join("out")),
                    expected,
                    "killed at {point}:{epoch} with {workers} worker(s), resumed with {}",
                    3 - workers
                );
                after(dir.path());
            }
        }
    }
}

/// The figures of the state operator named `operator` (Spark's `operatorName`) in each of the
/// query's recent progress reports, oldest first.
pub fn state_operator_figures(
    query: &StreamingQuery,
    operator: &str,
) -> Vec<tidewater::runtime::StateOperatorProgress> {
    query
        .recent_progress()
        .iter()
        .flat_map(|p| {
            p.state_operators
                .iter()
                .filter(|s| s.operator_name == operator)
                .cloned()
        })
        .collect()
}
