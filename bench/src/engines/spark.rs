//! `spark`: Spark Structured Streaming itself, through PySpark (`bench/spark/wordcount.py`, and
//! for the `join` workload `bench/spark/join.py`, the same with CSV files and a static table).
//!
//! The engine writes the workload's lines to text files, one file per epoch, and runs the
//! script with the venv's Python: `readStream.text(dir)` with `maxFilesPerTrigger` 1 (one file,
//! one micro-batch), the guide's word count in update mode, and a `foreachBatch` sink that
//! writes each batch's rows sorted by word. This side then digests those rows exactly as it
//! digests the other engines' output. Install PySpark with `bash bench/spark/setup.sh`.
//!
//! Environment: `TIDEWATER_SPARK_VENV` (default `$HOME/.cache/tidewater/spark-venv`) or
//! `TIDEWATER_SPARK_PYTHON` (an interpreter that imports `pyspark`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use serde::Deserialize;

use super::python_engine::PythonEngine;
use super::EngineRun;
use crate::data::Transaction;
use crate::digest::Digest;

/// The PySpark programs, built into the binary so that they run from anywhere.
const SCRIPT: &str = include_str!("../../spark/wordcount.py");
/// The `join` workload's program; it imports `wordcount.py`'s helpers.
const JOIN_SCRIPT: &str = include_str!("../../spark/join.py");
/// The `windowed` workload's program; it imports `wordcount.py`'s helpers.
const WINDOWED_SCRIPT: &str = include_str!("../../spark/windowed.py");
/// The `latency` workload's program; it imports `wordcount.py`'s helpers.
const LATENCY_SCRIPT: &str = include_str!("../../spark/latency.py");

/// The rows of the batches the scripts write.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rows {
    /// `[word, count]`
    Counts,
    /// `[country, count, sum]`
    Sums,
}

/// How `local[N]` and the state store are laid out.
#[derive(Clone, Copy, Debug)]
pub struct SparkConfig {
    /// `local[N]`: task threads.
    pub workers: usize,
    /// `spark.sql.shuffle.partitions`: the partitions of the aggregation and its state store.
    pub shuffle_partitions: usize,
}

/// Spark through PySpark, from the venv `bench/spark/setup.sh` installs.
const SPARK: PythonEngine = PythonEngine {
    name: "Spark",
    package: "PySpark",
    import: ("pyspark", "pyspark"),
    python_var: "TIDEWATER_SPARK_PYTHON",
    venv: ("TIDEWATER_SPARK_VENV", ".cache/tidewater/spark-venv"),
    setup: "bench/spark/setup.sh",
    log_tail: 30,
};

/// The interpreter to run Spark with, or why Spark cannot run here (the engine is then
/// skipped).
pub fn available() -> Result<PathBuf, String> {
    SPARK.available()
}

/// The script's report (see `wordcount.py`).
#[derive(Debug, Deserialize)]
struct Report {
    startup_s: f64,
    seconds: f64,
    batches: usize,
    trigger_ms: Vec<f64>,
    peak_rss_mb: Option<f64>,
    phase_ms_median: BTreeMap<String, f64>,
}

/// Writes one text file per epoch into `dir`, named and timestamped in epoch order: Spark's
/// file source takes files oldest first, so the modification times fix the batch order.
pub(super) fn write_epochs(dir: &Path, lines: &[String], lines_per_epoch: usize) -> anyhow::Result<usize> {
    let epochs = lines.len().div_ceil(lines_per_epoch.max(1));
    let first = SystemTime::now() - Duration::from_secs(epochs as u64 + 60);
    for (epoch, chunk) in lines.chunks(lines_per_epoch.max(1)).enumerate() {
        let path = dir.join(format!("epoch-{epoch:06}.txt"));
        let mut text = String::with_capacity(chunk.iter().map(|l| l.len() + 1).sum());
        for line in chunk {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(first + Duration::from_secs(epoch as u64))?;
    }
    Ok(epochs)
}

/// Digests the batches the script wrote, `batch-NNNNNN.json` each, in batch order.
fn digest_batches(dir: &Path, batches: usize, kind: Rows) -> anyhow::Result<String> {
    let mut digest = Digest::default();
    for batch in 0..batches {
        let path = dir.join(format!("batch-{batch:06}.json"));
        let text = fs::read_to_string(&path)
            .with_context(|| format!("reading Spark's batch {batch} ({})", path.display()))?;
        let rows: Vec<(String, i64, Option<i64>)> = match kind {
            Rows::Counts => serde_json::from_str::<Vec<(String, i64)>>(&text)
                .map(|rows| rows.into_iter().map(|(w, c)| (w, c, None)).collect()),
            Rows::Sums => serde_json::from_str::<Vec<(String, i64, i64)>>(&text)
                .map(|rows| rows.into_iter().map(|(k, c, s)| (k, c, Some(s))).collect()),
        }
        .with_context(|| format!("parsing {}", path.display()))?;
        if !rows.windows(2).all(|w| w[0].0 < w[1].0) {
            bail!("Spark's batch {batch} is not sorted by key ({})", path.display());
        }
        match kind {
            Rows::Counts => digest.epoch(batch as u64, rows.iter().map(|(w, c, _)| (w.as_str(), *c))),
            Rows::Sums => digest.epoch_sums(
                batch as u64,
                rows.iter()
                    .map(|(k, c, s)| (k.as_str(), *c, s.unwrap_or_default())),
            ),
        }
    }
    Ok(digest.value())
}

/// Runs the word count on Spark, `lines_per_epoch` lines a micro-batch.
pub fn word_count(
    lines: &[String],
    lines_per_epoch: usize,
    config: SparkConfig,
) -> anyhow::Result<EngineRun> {
    run(lines, lines_per_epoch, config, Script::WordCount)
}

/// Runs the `windowed` workload on Spark, `per_epoch` events (`key,ts_ms` lines) a
/// micro-batch. Spark adds batches without data when its watermark calls for them; their
/// output counts too.
pub fn windowed(
    events: &[crate::data::Event],
    per_epoch: usize,
    config: SparkConfig,
) -> anyhow::Result<EngineRun> {
    let lines: Vec<String> = events.iter().map(|(k, t)| format!("{k},{t}")).collect();
    run(&lines, per_epoch, config, Script::Windowed)
}

/// Which program `run` starts.
enum Script<'a> {
    WordCount,
    /// The `join` workload, with the users table (CSV text).
    Join(&'a str),
    Windowed,
}

/// Runs the `join` workload on Spark, `per_epoch` transactions a micro-batch: the
/// transactions as CSV files (`user_id,amount`), the users table (`users_csv`, the text of a
/// CSV file with a header) as one file.
pub fn join_count(
    transactions: &[Transaction],
    users_csv: &str,
    per_epoch: usize,
    config: SparkConfig,
) -> anyhow::Result<EngineRun> {
    let lines: Vec<String> = transactions.iter().map(|(u, a)| format!("{u},{a}")).collect();
    run(&lines, per_epoch, config, Script::Join(users_csv))
}

/// Writes `lines` as one file per epoch and runs a script on them.
fn run(
    lines: &[String],
    lines_per_epoch: usize,
    config: SparkConfig,
    script: Script<'_>,
) -> anyhow::Result<EngineRun> {
    let (python, work) = prepare()?;
    let (input, output) = (work.path().join("input"), work.path().join("output"));
    fs::create_dir(&input)?;
    fs::create_dir(&output)?;
    let epochs = write_epochs(&input, lines, lines_per_epoch)?;
    fs::write(work.path().join("wordcount.py"), SCRIPT)?;
    fs::write(work.path().join("procmem.py"), super::PROCMEM)?;
    let mut command = Command::new(&python);
    let kind = match script {
        Script::WordCount => {
            command.arg(work.path().join("wordcount.py"));
            Rows::Counts
        }
        Script::Join(users) => {
            let (script, table) = (work.path().join("join.py"), work.path().join("users.csv"));
            fs::write(&script, JOIN_SCRIPT)?;
            fs::write(&table, users)?;
            command.arg(script).arg("--users").arg(table);
            Rows::Sums
        }
        Script::Windowed => {
            let script = work.path().join("windowed.py");
            fs::write(&script, WINDOWED_SCRIPT)?;
            command.arg(script);
            Rows::Counts
        }
    };
    let with_no_data_batches = matches!(script, Script::Windowed);
    let report_path = work.path().join("report.json");
    let log_path = work.path().join("spark.log");
    command.arg("--input").arg(&input).arg("--output").arg(&output);
    common_args(&mut command, work.path(), &report_path, config);
    SPARK.run_logged(command, &log_path, &python)?;
    let report: Report = serde_json::from_str(&fs::read_to_string(&report_path)?)
        .context("reading the Spark script's report")?;
    if report.batches != epochs {
        bail!(
            "Spark ran {} batches with data for {epochs} files; expected one batch per file",
            report.batches
        );
    }
    // The batches written: one per file, and after them those without data.
    let written = if with_no_data_batches {
        fs::read_dir(&output)?.count()
    } else {
        epochs
    };
    Ok(EngineRun {
        seconds: report.seconds,
        epoch_ms: report.trigger_ms,
        digest: digest_batches(&output, written, kind)?,
        peak_rss_mb: report.peak_rss_mb,
        startup_s: Some(report.startup_s),
        phase_ms_median: Some(report.phase_ms_median),
        latency_p50_ms: None,
        latency_p99_ms: None,
    })
}

/// The interpreter that imports PySpark, and a temporary directory for one run.
fn prepare() -> anyhow::Result<(PathBuf, tempfile::TempDir)> {
    let python = available().map_err(anyhow::Error::msg)?;
    let work = tempfile::Builder::new()
        .prefix("tidewater-bench-spark-")
        .tempdir()
        .context("creating a temporary directory for Spark")?;
    Ok((python, work))
}

/// The arguments every script takes: its checkpoint in `work`, its report, and Spark's
/// parallelism.
fn common_args(command: &mut Command, work: &Path, report: &Path, config: SparkConfig) {
    command
        .arg("--checkpoint")
        .arg(work.join("checkpoint"))
        .arg("--report")
        .arg(report)
        .args(["--workers", &config.workers.to_string()])
        .args(["--shuffle-partitions", &config.shuffle_partitions.to_string()]);
}

/// What `latency.py` reports.
#[derive(Debug, Deserialize)]
pub struct LatencyReport {
    /// The JVM's and the session's start-up, seconds.
    pub startup_s: f64,
    /// Per batch: the wall-clock instant (ms since the Unix epoch) its rows reached the sink,
    /// and the lines consumed by then.
    pub epochs: Vec<(f64, usize)>,
    /// Each batch's `triggerExecution`, ms.
    pub trigger_ms: Vec<f64>,
    /// The final count of every word.
    pub counts: Vec<(String, i64)>,
    /// The peak memory of the script and the JVM, MiB.
    pub peak_rss_mb: Option<f64>,
}

/// Runs Spark's socket word count against the line server at `port`, until it has consumed
/// `lines` lines of `words_per_line` words. The script creates the file `ready` once its first
/// batch is written.
pub fn latency(
    port: u16,
    lines: usize,
    words_per_line: usize,
    ready: &Path,
    config: SparkConfig,
) -> anyhow::Result<LatencyReport> {
    let (python, work) = prepare()?;
    fs::write(work.path().join("wordcount.py"), SCRIPT)?;
    fs::write(work.path().join("procmem.py"), super::PROCMEM)?;
    let script = work.path().join("latency.py");
    fs::write(&script, LATENCY_SCRIPT)?;
    let report_path = work.path().join("report.json");
    let mut command = Command::new(&python);
    command
        .arg(&script)
        .args(["--port", &port.to_string()])
        .args(["--lines", &lines.to_string()])
        .args(["--words-per-line", &words_per_line.to_string()])
        .arg("--ready")
        .arg(ready);
    common_args(&mut command, work.path(), &report_path, config);
    SPARK.run_logged(command, &work.path().join("spark.log"), &python)?;
    serde_json::from_str(&fs::read_to_string(&report_path)?).context("reading the Spark script's report")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_files_in_order_of_age() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = ["a b", "c", "d d", "e", "f"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(write_epochs(dir.path(), &lines, 2).unwrap(), 3);
        let mut files: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let texts: Vec<String> = files.iter().map(|f| fs::read_to_string(f).unwrap()).collect();
        assert_eq!(texts, ["a b\nc\n", "d d\ne\n", "f\n"]);
        let times: Vec<SystemTime> = files
            .iter()
            .map(|f| f.metadata().unwrap().modified().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }

    #[test]
    fn batches_are_digested_like_the_other_engines() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("batch-000000.json"), r#"[["a",2],["b",1]]"#).unwrap();
        fs::write(dir.path().join("batch-000001.json"), r#"[["a",3]]"#).unwrap();
        let mut expected = Digest::default();
        expected.epoch(0, [("a", 2), ("b", 1)]);
        expected.epoch(1, [("a", 3)]);
        assert_eq!(
            digest_batches(dir.path(), 2, Rows::Counts).unwrap(),
            expected.value()
        );
        assert!(
            digest_batches(dir.path(), 3, Rows::Counts).is_err(),
            "a missing batch is an error"
        );
        fs::write(dir.path().join("batch-000001.json"), r#"[["b",1],["a",3]]"#).unwrap();
        assert!(
            digest_batches(dir.path(), 2, Rows::Counts).is_err(),
            "unsorted rows are an error"
        );
        fs::write(
            dir.path().join("batch-000000.json"),
            r#"[["c01",2,30],["c07",1,5]]"#,
        )
        .unwrap();
        let mut expected = Digest::default();
        expected.epoch_sums(0, [("c01", 2, 30), ("c07", 1, 5)]);
        assert_eq!(
            digest_batches(dir.path(), 1, Rows::Sums).unwrap(),
            expected.value()
        );
    }
}
