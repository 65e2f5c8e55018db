//! `dstream`: the word count through the DStream API, as a Spark Streaming user writes running
//! counts with `mapWithState`: each record updates its word's count and emits it, and the
//! batch's last count per word (`reduce_by_key(max)`) is the batch's update-mode output. A
//! queue stream feeds one epoch's lines per batch; the batch interval is 1 ms, so batches run
//! back to back as fast as they are computed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidewater::dstream::{State, StateSpec, StreamingConfig, StreamingContext};

use super::EngineRun;
use crate::digest::Digest;

/// Runs the word count over `lines` with `workers` worker threads.
pub fn word_count(lines: &[String], lines_per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let ssc = StreamingContext::new(StreamingConfig::new().workers(workers), Duration::from_millis(1))?;
    let batches: Vec<Vec<String>> = lines.chunks(lines_per_epoch.max(1)).map(|c| c.to_vec()).collect();
    let running = StateSpec::function(|word: &String, one: Option<u64>, count: &mut State<u64>| {
        let n = count.get().copied().unwrap_or(0) + one.unwrap_or(0);
        count.update(n);
        (word.clone(), n)
    });
    let changed = ssc
        .queue_stream(batches)
        .flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>())
        .map(|word| (word, 1u64))
        .map_with_state(running)
        .reduce_by_key(u64::max);
    let digest = Arc::new(Mutex::new(Digest::default()));
    let sink = digest.clone();
    let epoch_times = Arc::new(Mutex::new(Vec::new()));
    let times = epoch_times.clone();
    let mut batch = 0u64;
    let mut last = Instant::now();
    changed.foreach_rdd(move |rdd, _time| {
        if let Ok(mut digest) = sink.lock() {
            digest.epoch(batch, rdd.iter().map(|(w, n)| (w.as_str(), *n as i64)));
        }
        if let Ok(mut times) = times.lock() {
            times.push(last.elapsed().as_secs_f64() * 1000.0);
        }
        last = Instant::now();
        batch += 1;
    });
    let started = Instant::now();
    ssc.start()?;
    ssc.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let epoch_ms = epoch_times
        .lock()
        .map_err(|_| anyhow::anyhow!("epoch times lock"))?
        .clone();
    let digest = digest.lock().map_err(|_| anyhow::anyhow!("digest lock"))?.value();
    Ok(EngineRun::measured(seconds, epoch_ms, digest))
}

#[cfg(test)]
mod tests {
    use crate::engines::hashmap_loop;

    #[test]
    fn agrees_with_the_loop() {
        let lines = crate::data::zipf_lines(3, 5_000, 200);
        let expected = hashmap_loop::word_count(&lines, 50).digest;
        assert_eq!(super::word_count(&lines, 50, 1).unwrap().digest, expected);
        assert_eq!(super::word_count(&lines, 50, 2).unwrap().digest, expected);
    }
}
