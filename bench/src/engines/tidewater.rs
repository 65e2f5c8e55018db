//! `tidewater`: the word count of Spark's guide through the public API, in update mode, fed
//! from a `MemoryStream` (`maxRowsPerTrigger` lines an epoch), output digested per batch.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tidewater::prelude::*;

use super::{peak_rss_mb, EngineRun};
use crate::digest::Digest;

/// Runs the word count over `lines` with `workers` worker threads.
pub fn word_count(lines: &[String], lines_per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let rows: Vec<Row> = lines.iter().map(|l| row![l.as_str()]).collect();
    let spark = Session::builder()
        .app_name("bench")
        .workers(workers)
        .get_or_create()?;
    let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
    let counts = spark
        .read_stream()
        .memory(&input)
        .select([explode(split(col("value"), " ")).alias("word")])?
        .group_by([col("word")])
        .count()?;
    let digest = Arc::new(Mutex::new(Digest::default()));
    let sink = digest.clone();
    let started = Instant::now();
    input.add_data(rows);
    input.end();
    let query = counts
        .write_stream()
        .output_mode("update")
        .option("maxRowsPerTrigger", lines_per_epoch)
        .foreach_batch(move |batch: &Batch<'_>| -> anyhow::Result<()> {
            let rows = batch.rows.iter().map(|r| {
                let word = r[0].as_str().unwrap_or_default();
                (word, r[1].as_i64().unwrap_or_default())
            });
            sink.lock()
                .map_err(|_| anyhow::anyhow!("digest lock"))?
                .epoch(batch.id, rows);
            Ok(())
        })
        .start()?;
    query.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let epoch_ms = query
        .recent_progress()
        .iter()
        .map(|p| p.duration_ms.get("triggerExecution").copied().unwrap_or(0) as f64)
        .collect();
    let digest = digest.lock().map_err(|_| anyhow::anyhow!("digest lock"))?.value();
    Ok(EngineRun {
        seconds,
        epoch_ms,
        digest,
        peak_rss_mb: peak_rss_mb(),
        startup_s: None,
        phase_ms_median: None,
    })
}
