//! The `latency` workload: the word count fed from a TCP socket at a fixed input rate.
//!
//! A line server thread in the engine's process listens on `127.0.0.1:0`, accepts one
//! connection and sends the seeded Zipf lines at `rate` lines per second, in bursts: every
//! millisecond it writes the lines that are due by then, and records the instant before each
//! burst as the send instant of its lines. Then it closes the connection, which ends the stream.
//! Each engine records, per epoch, the instant its output is handed over and how many lines it
//! has consumed up to the end of that epoch. A line's latency is the output instant of the
//! epoch that holds it minus its send instant.
//!
//! The send instants are the real ones: when an engine falls behind and its reader stops
//! reading, TCP backpressure delays the server, and the latency counted from the send does not
//! include the time a line waited in the server. The achieved rate is `records_per_s`.

use std::collections::HashMap as StdHashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tidewater::dstream::{State, StateSpec, StreamingConfig, StreamingContext};
use tidewater::prelude::*;

use super::hashmap_loop::WordCounts;
use super::microbatch::BatchWordCount;
use super::spark::SparkConfig;
use super::EngineRun;
use crate::data::WORDS_PER_LINE;
use crate::digest::Digest;

/// Tells the line server that the engine is ready for the timed lines.
type Gate = Box<dyn Fn() -> bool + Send>;

/// A line server: its port, and the thread that returns each line's send instant.
struct LineServer {
    port: u16,
    thread: JoinHandle<std::io::Result<Vec<Instant>>>,
}

impl LineServer {
    /// Starts serving `lines` at `rate` lines per second to the first connection.
    fn start(lines: Vec<String>, rate: u64) -> anyhow::Result<Self> {
        Self::start_gated(lines, rate, None)
    }

    /// As [`start`](Self::start), but after the first line (the warm-up line) waits until
    /// `ready` says the engine has output it (at most two minutes), so that an engine's start-up
    /// does not hold the timed lines back.
    fn start_gated(lines: Vec<String>, rate: u64, ready: Option<Gate>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let thread = std::thread::spawn(move || -> std::io::Result<Vec<Instant>> {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            let mut out = BufWriter::with_capacity(1 << 16, stream);
            let mut sent = Vec::with_capacity(lines.len());
            if let (Some(first), Some(ready)) = (lines.first(), ready) {
                out.write_all(first.as_bytes())?;
                out.write_all(b"\n")?;
                out.flush()?;
                sent.push(Instant::now());
                let deadline = Instant::now() + Duration::from_secs(120);
                while !ready() {
                    if Instant::now() > deadline {
                        return Err(std::io::Error::other("the engine never output the warm-up line"));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            let rate = rate.max(1) as f64;
            let (started, skip) = (Instant::now(), sent.len());
            while sent.len() < lines.len() {
                let due = (skip + (started.elapsed().as_secs_f64() * rate) as usize).min(lines.len());
                if due > sent.len() {
                    let now = Instant::now();
                    for line in &lines[sent.len()..due] {
                        out.write_all(line.as_bytes())?;
                        out.write_all(b"\n")?;
                    }
                    out.flush()?;
                    sent.resize(due, now);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            out.flush()?;
            drop(out);
            Ok(sent)
        });
        Ok(LineServer { port, thread })
    }

    /// Waits for the server to finish, and returns each line's send instant.
    fn sent(self) -> anyhow::Result<Vec<Instant>> {
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the line server panicked"))?
            .map_err(Into::into)
    }
}

/// The latencies of all lines but the first (the warm-up line, which waits for the engine's
/// start-up), ms: epoch `i` was output at `epochs[i].0` and had consumed the first
/// `epochs[i].1` lines by its end. Lines that no epoch reports are left out.
fn latencies_ms(sent: &[Instant], epochs: &[(Instant, usize)]) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(sent.len());
    let mut first = 1;
    for &(output, end) in epochs {
        let end = end.min(sent.len());
        for send in &sent[first.min(end)..end] {
            latencies.push(output.saturating_duration_since(*send).as_secs_f64() * 1e3);
        }
        first = first.max(end);
    }
    latencies
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[rank])
}

/// The run's report: `seconds` from the first send to the last output, epochs' processing
/// times, the digest of the final counts, and the latency percentiles.
fn finish(
    sent: &[Instant],
    epochs: &[(Instant, usize)],
    epoch_ms: Vec<f64>,
    digest: String,
) -> anyhow::Result<EngineRun> {
    let consumed = epochs.last().map_or(0, |e| e.1);
    if consumed != sent.len() {
        anyhow::bail!("the engine consumed {consumed} of {} lines", sent.len());
    }
    let mut latencies = latencies_ms(sent, epochs);
    latencies.sort_by(f64::total_cmp);
    let seconds = match (sent.first(), epochs.last()) {
        (Some(first), Some(last)) => last.0.saturating_duration_since(*first).as_secs_f64(),
        _ => 0.0,
    };
    Ok(EngineRun {
        latency_p50_ms: percentile(&latencies, 50.0),
        latency_p99_ms: percentile(&latencies, 99.0),
        ..EngineRun::measured(seconds, epoch_ms, digest)
    })
}

/// The digest of a final state of counts: one epoch, sorted by word.
fn final_digest<'a>(counts: impl IntoIterator<Item = (&'a str, i64)>) -> String {
    let mut rows: Vec<(&str, i64)> = counts.into_iter().collect();
    rows.sort_unstable();
    let mut digest = Digest::default();
    digest.epoch(0, rows);
    digest.value()
}

/// What the `tidewater` sink keeps: per epoch, its output instant and the lines consumed, and
/// the latest count of every word.
#[derive(Default)]
struct SinkState {
    epochs: Vec<(Instant, usize)>,
    counts: StdHashMap<String, i64>,
    /// The sum of `counts`: words consumed so far.
    words: i64,
}

/// Tidewater: the socket source, the word count in update mode, and a `foreach_batch` sink that
/// records the instant it is called.
///
/// The lines an epoch has consumed are the sum of the latest counts of all words, divided by
/// the words per line (every line has exactly that many). That equals the socket source's
/// `endOffset` of the epoch, which is checked against `recent_progress()` for the epochs it
/// still holds (the last 100).
pub fn tidewater(lines: Vec<String>, rate: u64, workers: usize) -> anyhow::Result<EngineRun> {
    let server = LineServer::start(lines, rate)?;
    let spark = Session::builder()
        .app_name("bench-latency")
        .workers(workers)
        .get_or_create()?;
    let counts = spark
        .read_stream()
        .format("socket")
        .option("host", "127.0.0.1")
        .option("port", server.port)
        .load()?
        .select([explode(split(col("value"), " ")).alias("word")])?
        .group_by([col("word")])
        .count()?;
    let state = Arc::new(Mutex::new(SinkState::default()));
    let sink = state.clone();
    let query = counts
        .write_stream()
        .output_mode("update")
        .foreach_batch(move |batch: &Batch<'_>| -> anyhow::Result<()> {
            let output = Instant::now();
            let mut state = sink.lock().map_err(|_| anyhow::anyhow!("sink lock"))?;
            for r in batch.rows {
                let word = r[0].as_str().unwrap_or_default();
                let count = r[1].as_i64().unwrap_or_default();
                let old = state.counts.insert(word.to_string(), count).unwrap_or(0);
                state.words += count - old;
            }
            let consumed = state.words as usize / WORDS_PER_LINE;
            state.epochs.push((output, consumed));
            Ok(())
        })
        .start()?;
    query.await_termination()?;
    let sent = server.sent()?;
    let state = state.lock().map_err(|_| anyhow::anyhow!("sink lock"))?;
    let progress = query.recent_progress();
    let skip = state.epochs.len().saturating_sub(progress.len());
    for (p, e) in progress.iter().zip(&state.epochs[skip..]) {
        let end = p.sources.first().map_or(0, |s| s.end_offset) as usize;
        if end != e.1 {
            anyhow::bail!("epoch {}: endOffset {end}, counted {} lines", p.batch_id, e.1);
        }
    }
    let epoch_ms = progress
        .iter()
        .map(|p| p.duration_ms.get("triggerExecution").copied().unwrap_or(0) as f64)
        .collect();
    let digest = final_digest(state.counts.iter().map(|(w, c)| (w.as_str(), *c)));
    finish(&sent, &state.epochs, epoch_ms, digest)
}

/// What an engine that batches the lines available at each moment records: per epoch, its
/// output instant and the lines consumed, and its processing time.
struct Epochs {
    epochs: Vec<(Instant, usize)>,
    epoch_ms: Vec<f64>,
}

/// Reads the server at `port` on a thread, line by line into a channel; blocks for one line,
/// then takes every line already in the channel as one epoch, hands it to `process` with its
/// epoch number, and records the instant `process` returns. Ends when the server closes.
fn available_batches(port: u16, mut process: impl FnMut(&[String], u64)) -> anyhow::Result<Epochs> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        for line in BufReader::with_capacity(1 << 16, stream).lines() {
            if tx.send(line?).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut recorded = Epochs {
        epochs: Vec::new(),
        epoch_ms: Vec::new(),
    };
    let mut consumed = 0;
    let mut batch = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        batch.extend(rx.try_iter());
        let started = Instant::now();
        process(&batch, recorded.epochs.len() as u64);
        consumed += batch.len();
        batch.clear();
        let done = Instant::now();
        recorded.epochs.push((done, consumed));
        recorded
            .epoch_ms
            .push(done.duration_since(started).as_secs_f64() * 1e3);
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
    Ok(recorded)
}

/// `loop`: each epoch is the lines available when the previous one finished; it counts them
/// and builds the epoch's changed words with their new counts (sorted).
pub fn hashmap_loop(lines: Vec<String>, rate: u64) -> anyhow::Result<EngineRun> {
    let server = LineServer::start(lines, rate)?;
    let mut counts = WordCounts::default();
    let mut output: Vec<(String, i64)> = Vec::new();
    let recorded = available_batches(server.port, |batch, epoch| {
        for line in batch {
            counts.add_line(line, epoch);
        }
        output.extend(counts.finish_epoch());
        output.clear();
    })?;
    let sent = server.sent()?;
    let digest = final_digest(counts.totals());
    finish(&sent, &recorded.epochs, recorded.epoch_ms, digest)
}

/// `microbatch`: Spark's execution with its default trigger (a batch starts as soon as the
/// previous one ends, with every line available then): per batch the hash aggregate and the
/// state store's read-modify-write of `microbatch::BatchWordCount`.
pub fn microbatch(lines: Vec<String>, rate: u64) -> anyhow::Result<EngineRun> {
    let server = LineServer::start(lines, rate)?;
    let mut engine = BatchWordCount::new(false);
    let mut totals: StdHashMap<String, i64> = StdHashMap::new();
    let recorded = available_batches(server.port, |batch, _epoch| {
        let mut partial = foldhash::HashMap::default();
        let mut updated = Vec::new();
        engine.batch(batch, &mut partial, &mut updated);
        for (word, count) in updated {
            totals.insert(word.to_string(), count);
        }
    })?;
    let sent = server.sent()?;
    let digest = final_digest(totals.iter().map(|(w, c)| (w.as_str(), *c)));
    finish(&sent, &recorded.epochs, recorded.epoch_ms, digest)
}

/// `spark`: Spark Structured Streaming's socket word count (`bench/spark/latency.py`) in update
/// mode with the default trigger. The timed lines start once Spark has output the warm-up line
/// (its start-up takes seconds). Spark reports wall-clock instants; they are mapped onto this
/// process's clock through one pair of readings of both clocks taken at the start.
pub fn spark(lines: Vec<String>, rate: u64, config: SparkConfig) -> anyhow::Result<EngineRun> {
    let total = lines.len();
    let (anchor, anchor_wall) = (Instant::now(), SystemTime::now());
    let anchor_ms = anchor_wall
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let work = tempfile::Builder::new()
        .prefix("tidewater-bench-spark-")
        .tempdir()?;
    let ready = work.path().join("ready");
    let flag = ready.clone();
    let server = LineServer::start_gated(lines, rate, Some(Box::new(move || flag.exists())))?;
    let report = super::spark::latency(server.port, total, WORDS_PER_LINE, &ready, config)?;
    let sent = server.sent()?;
    let epochs: Vec<(Instant, usize)> = report
        .epochs
        .iter()
        .map(|&(wall_ms, consumed)| {
            let after = Duration::from_secs_f64(((wall_ms - anchor_ms) / 1e3).max(0.0));
            (anchor + after, consumed)
        })
        .collect();
    let digest = final_digest(report.counts.iter().map(|(w, c)| (w.as_str(), *c)));
    let mut run = finish(&sent, &epochs, report.trigger_ms, digest)?;
    run.peak_rss_mb = report.peak_rss_mb;
    run.startup_s = Some(report.startup_s);
    Ok(run)
}

/// The batch interval of the `dstream` engine: Spark Streaming's batches are fixed intervals,
/// so a line waits on average half of one before its batch starts.
pub const DSTREAM_BATCH: Duration = Duration::from_millis(10);

/// `dstream`: the DStream API's running word count (`map_with_state`, then the batch's last
/// count per word) over `socket_text_stream`, one batch every [`DSTREAM_BATCH`].
pub fn dstream(lines: Vec<String>, rate: u64, workers: usize) -> anyhow::Result<EngineRun> {
    let server = LineServer::start(lines, rate)?;
    let ssc = StreamingContext::new(StreamingConfig::new().workers(workers), DSTREAM_BATCH)?;
    let running = StateSpec::function(|word: &String, one: Option<u64>, count: &mut State<u64>| {
        let n = count.get().copied().unwrap_or(0) + one.unwrap_or(0);
        count.update(n);
        (word.clone(), n)
    });
    let changed = ssc
        .socket_text_stream("127.0.0.1", server.port)
        .flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|word| (word, 1u64))
        .map_with_state(running)
        .reduce_by_key(u64::max);
    let state = Arc::new(Mutex::new((SinkState::default(), Vec::new())));
    let sink = state.clone();
    changed.foreach_rdd(move |rdd, _time| {
        let started = Instant::now();
        if let Ok(mut guard) = sink.lock() {
            let (state, epoch_ms) = &mut *guard;
            for (word, count) in rdd {
                let count = *count as i64;
                let old = state.counts.insert(word.clone(), count).unwrap_or(0);
                state.words += count - old;
            }
            let consumed = state.words as usize / WORDS_PER_LINE;
            state.epochs.push((Instant::now(), consumed));
            epoch_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
    });
    ssc.start()?;
    ssc.await_termination()?;
    let sent = server.sent()?;
    let guard = state.lock().map_err(|_| anyhow::anyhow!("sink lock"))?;
    let (state, epoch_ms) = &*guard;
    let digest = final_digest(state.counts.iter().map(|(w, c)| (w.as_str(), *c)));
    finish(&sent, &state.epochs, epoch_ms.clone(), digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_follow_the_epochs() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let sent = vec![at(0), at(1), at(2), at(3)];
        let epochs = vec![(at(5), 2), (at(10), 4)];
        assert_eq!(latencies_ms(&sent, &epochs), vec![4.0, 8.0, 7.0]);
    }

    #[test]
    fn engines_agree_on_the_final_counts() {
        let lines = crate::data::zipf_lines(3, 20_000, 500);
        let looped = hashmap_loop(lines.clone(), 20_000).unwrap();
        let tide = tidewater(lines.clone(), 20_000, 2).unwrap();
        let batched = microbatch(lines.clone(), 20_000).unwrap();
        let discretized = dstream(lines, 20_000, 2).unwrap();
        assert_eq!(looped.digest, tide.digest);
        assert_eq!(looped.digest, batched.digest);
        assert_eq!(looped.digest, discretized.digest);
        assert!(tide.latency_p50_ms.is_some() && looped.latency_p99_ms.is_some());
        assert!(batched.latency_p50_ms.is_some() && discretized.latency_p50_ms.is_some());
    }
}
