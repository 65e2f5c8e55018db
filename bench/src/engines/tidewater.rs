//! `tidewater`: the word count of Spark's guide through the public API, in update mode, fed
//! from a `MemoryStream` (`maxRowsPerTrigger` lines an epoch), output digested per batch; and
//! the `join` workload's stream-static join and aggregation ([`join_count`]).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tidewater::prelude::*;

use super::EngineRun;
use crate::data::Transaction;
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
    run_over_memory(
        &input,
        rows,
        &counts,
        "update",
        lines_per_epoch,
        |batch, digest| {
            let rows = batch.rows.iter().map(|r| {
                let word = r[0].as_str().unwrap_or_default();
                (word, r[1].as_i64().unwrap_or_default())
            });
            digest.epoch(batch.id, rows);
        },
    )
}

/// Runs the `join` workload through the public API with `workers` worker threads: the users
/// table written to a CSV file and read with `spark.read()`, the transactions from a
/// `MemoryStream` (`maxRowsPerTrigger` transactions an epoch), joined `USING (user_id)`,
/// grouped by country with `count(*)` and `sum(amount)`, in update mode.
pub fn join_count(
    transactions: &[Transaction],
    users_csv: &std::path::Path,
    per_epoch: usize,
    workers: usize,
) -> anyhow::Result<EngineRun> {
    let users_csv = users_csv
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("temporary path is not UTF-8"))?;
    let rows: Vec<Row> = transactions.iter().map(|&(u, a)| row![u, a]).collect();
    let spark = Session::builder()
        .app_name("bench")
        .workers(workers)
        .get_or_create()?;
    let table = spark
        .read()
        .schema(Schema::new([
            Field::new("user_id", DataType::Int64),
            Field::new("country", DataType::String),
        ]))
        .option("header", true)
        .csv(users_csv)?;
    let input = MemoryStream::new(Schema::new([
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ]));
    let totals = spark
        .read_stream()
        .memory(&input)
        .join(&table, &["user_id"], "inner")?
        .group_by([col("country")])
        .agg([count(col("*")).alias("count"), sum(col("amount")).alias("sum")])?;
    run_over_memory(&input, rows, &totals, "update", per_epoch, |batch, digest| {
        let mut rows: Vec<(&str, i64, i64)> = batch
            .rows
            .iter()
            .map(|r| {
                let country = r[0].as_str().unwrap_or_default();
                (
                    country,
                    r[1].as_i64().unwrap_or_default(),
                    r[2].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
        digest.epoch_sums(batch.id, rows);
    })
}

/// Runs `query`, whose source is `input`, over `rows` in output `mode`, `per_epoch` rows an
/// epoch (`maxRowsPerTrigger`), and reports the run: the clock starts as the rows are handed to
/// the source, and `record` writes each batch into the run's digest.
pub(super) fn run_over_memory(
    input: &MemoryStream,
    rows: Vec<Row>,
    query: &DataFrame,
    mode: &str,
    per_epoch: usize,
    record: impl Fn(&Batch<'_>, &mut Digest) + Send + 'static,
) -> anyhow::Result<EngineRun> {
    let digest = Arc::new(Mutex::new(Digest::default()));
    let sink = digest.clone();
    let started = Instant::now();
    input.add_data(rows);
    input.end();
    let query = query
        .write_stream()
        .output_mode(mode)
        .option("maxRowsPerTrigger", per_epoch)
        .foreach_batch(move |batch: &Batch<'_>| -> anyhow::Result<()> {
            let mut digest = sink.lock().map_err(|_| anyhow::anyhow!("digest lock"))?;
            record(batch, &mut digest);
            Ok(())
        })
        .start()?;
    finish_run(&query, started, &digest)
}

/// Waits for `query` and reports its run: wall time since `started`, per-epoch times from its
/// progress, and the output digest its sink filled.
pub(super) fn finish_run(
    query: &StreamingQuery,
    started: Instant,
    digest: &Mutex<Digest>,
) -> anyhow::Result<EngineRun> {
    query.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let epoch_ms = query
        .recent_progress()
        .iter()
        .map(|p| p.duration_ms.get("triggerExecution").copied().unwrap_or(0) as f64)
        .collect();
    let digest = digest.lock().map_err(|_| anyhow::anyhow!("digest lock"))?.value();
    Ok(EngineRun::measured(seconds, epoch_ms, digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::hashmap_loop;

    #[test]
    fn join_agrees_with_the_loop() {
        let join = hashmap_loop::SmallJoin::new();
        for workers in [1, 2] {
            let run = join_count(&join.transactions, &join.users, join.per_epoch, workers).expect("runs");
            assert_eq!(run.digest, join.expected, "{workers} workers");
        }
    }
}
