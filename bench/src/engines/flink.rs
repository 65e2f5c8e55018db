//! `flink`: Apache Flink through PyFlink, in local mini-cluster mode and streaming mode
//! (`bench/flink/*.py`; install with `bash bench/flink/setup.sh`).
//!
//! The engine writes the workload's records to files, runs a PyFlink script on them with the
//! venv's Python, and digests what the script's second job wrote. Each script runs its query
//! twice: once into a `blackhole` sink, timed, and once into a `filesystem` sink, for the
//! digest (`collect()` crosses py4j row by row, far too slowly for millions of rows).
//!
//! Flink has no epochs, so it cannot give the per-epoch digest of the other engines. What is
//! compared is the final table ([`crate::digest::final_table`]): for `wordcount` each word's
//! last count (from the changelog the digest job writes as Debezium JSON: `+1` for each row
//! added, `-1` for each retracted, the rows left with weight 1 are the table), for `windowed`
//! the windows the other engines close: those whose end is at or below the greatest event time
//! less the watermark's delay. A bounded source ends with a final watermark, so Flink closes
//! every window, and the later ones are left out.
//!
//! Environment: `TIDEWATER_FLINK_VENV` (default `$HOME/.cache/tidewater/flink-venv`) or
//! `TIDEWATER_FLINK_PYTHON` (an interpreter that imports `pyflink`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::Deserialize;

use super::python_engine::PythonEngine;
use super::EngineRun;
use crate::data::Event;
use crate::digest::final_table;

/// The helpers every script imports.
const JOB: &str = include_str!("../../flink/flinkjob.py");
/// The `wordcount` workload's program.
const WORDCOUNT: &str = include_str!("../../flink/wordcount.py");
/// The `join` workload's program.
const JOIN: &str = include_str!("../../flink/join.py");
/// The `windowed` workload's program.
const WINDOWED: &str = include_str!("../../flink/windowed.py");
/// The `nexmark` workload's program.
const NEXMARK: &str = include_str!("../../flink/nexmark.py");

/// How the mini-cluster runs the job.
#[derive(Clone, Copy, Debug)]
pub struct FlinkConfig {
    /// `parallelism.default`: the parallelism of every operator.
    pub parallelism: usize,
}

/// Set to `false` to run Flink's jobs without mini-batch (`table.exec.mini-batch.enabled`),
/// which the harness otherwise turns on (2 s, 50,000 rows), as Flink's tuning guide advises
/// for aggregations. Read by every run, so `compare` passes it to the runs it starts.
pub const MINI_BATCH_VAR: &str = "TIDEWATER_FLINK_MINI_BATCH";

/// Whether Flink's jobs run with mini-batch (see [`MINI_BATCH_VAR`]).
pub fn mini_batch() -> bool {
    std::env::var(MINI_BATCH_VAR).map_or(true, |v| v != "false")
}

/// Flink through PyFlink, from the venv `bench/flink/setup.sh` installs.
const FLINK: PythonEngine = PythonEngine {
    name: "Flink",
    package: "PyFlink",
    import: ("pyflink.table", "pyflink"),
    python_var: "TIDEWATER_FLINK_PYTHON",
    venv: ("TIDEWATER_FLINK_VENV", ".cache/tidewater/flink-venv"),
    setup: "bench/flink/setup.sh",
    log_tail: 40,
};

/// The interpreter to run Flink with, or why Flink cannot run here (the engine is then
/// skipped).
pub fn available() -> Result<PathBuf, String> {
    FLINK.available()
}

/// The script's report (see `flinkjob.py`).
#[derive(Debug, Deserialize)]
struct Report {
    startup_s: f64,
    seconds: f64,
    peak_rss_mb: Option<f64>,
}

/// A run of a script: its report and the directory its digest job wrote.
struct Ran {
    report: Report,
    output: PathBuf,
    /// Keeps the run's files until the digest is taken.
    _work: tempfile::TempDir,
}

/// Runs `script` (written beside `flinkjob.py` in a temporary directory) with `--input`,
/// `--output`, `--report` and `--parallelism`, plus `extra` arguments; `write_input` fills the
/// run's own input directory, or names another, and returns the path the script reads.
fn run_script(
    script: &str,
    config: FlinkConfig,
    extra: &[String],
    write_input: impl FnOnce(&Path) -> anyhow::Result<PathBuf>,
) -> anyhow::Result<Ran> {
    let python = available().map_err(anyhow::Error::msg)?;
    let work = tempfile::Builder::new()
        .prefix("tidewater-bench-flink-")
        .tempdir()
        .context("creating a temporary directory for Flink")?;
    let (input, output) = (work.path().join("input"), work.path().join("output"));
    fs::create_dir(&input)?;
    let input = write_input(&input)?;
    fs::write(work.path().join("flinkjob.py"), JOB)?;
    fs::write(work.path().join("procmem.py"), super::PROCMEM)?;
    let path = work.path().join("job.py");
    fs::write(&path, script)?;
    let report_path = work.path().join("report.json");
    let log_path = work.path().join("flink.log");
    let mut command = Command::new(&python);
    command
        .arg(&path)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .arg("--report")
        .arg(&report_path)
        .args(["--parallelism", &config.parallelism.to_string()])
        .args(["--mini-batch", if mini_batch() { "true" } else { "false" }])
        .args(extra);
    FLINK.run_logged(command, &log_path, &python)?;
    let report = serde_json::from_str(&fs::read_to_string(&report_path)?)
        .context("reading the Flink script's report")?;
    Ok(Ran {
        report,
        output,
        _work: work,
    })
}

/// The lines of every finished file the filesystem sink wrote under `dir` (in-progress and
/// hidden files, whose names start with `.` or `_`, are not output).
fn output_lines(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    if !dir.exists() {
        return Ok(lines);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let text =
                    fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
            }
        }
    }
    Ok(lines)
}

/// The EngineRun of a script run whose final table digests to `digest`.
fn engine_run(report: &Report, digest: String) -> EngineRun {
    EngineRun {
        seconds: report.seconds,
        epoch_ms: Vec::new(),
        digest,
        peak_rss_mb: report.peak_rss_mb,
        startup_s: Some(report.startup_s),
        phase_ms_median: None,
        latency_p50_ms: None,
        latency_p99_ms: None,
    }
}

/// Each row of a changelog written as Debezium JSON (`{"before", "after", "op"}` lines, `op`
/// `c`, `u`, `d` or `r`) with its weight: a row `after` +1, a row `before` -1.
pub fn changelog_changes(lines: &[String]) -> anyhow::Result<Vec<(serde_json::Value, i64)>> {
    let mut changes = Vec::new();
    for line in lines {
        let mut change: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("a changelog line: {line}"))?;
        for (side, weight) in [("before", -1), ("after", 1)] {
            let row = change[side].take();
            if !row.is_null() {
                changes.push((row, weight));
            }
        }
    }
    Ok(changes)
}

/// The final table of a changelog written as Debezium JSON (`{"before", "after", "op"}` lines,
/// `op` `c`, `u`, `d` or `r`): each row `after` adds counts `+1`, each row `before` `-1`, in
/// any order; the rows left with weight 1 are the table. `key` and `value` name the columns.
pub fn changelog_table(lines: &[String], key: &str, value: &str) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(changelog_rows(lines, key, &[value])?
        .into_iter()
        .map(|(k, values)| (k, values[0]))
        .collect())
}

/// The final table of a Debezium JSON changelog, as [`changelog_table`], for rows of a string
/// `key` and the integer columns `values`, in that order; sorted by key.
pub fn changelog_rows(
    lines: &[String],
    key: &str,
    values: &[&str],
) -> anyhow::Result<Vec<(String, Vec<i64>)>> {
    let mut weights: HashMap<(String, Vec<i64>), i64> = HashMap::new();
    for (row, weight) in changelog_changes(lines)? {
        let numbers: Option<Vec<i64>> = values.iter().map(|v| row[*v].as_i64()).collect();
        let (Some(k), Some(numbers)) = (row[key].as_str(), numbers) else {
            bail!("a changelog row without `{key}` and {values:?}: {row}");
        };
        *weights.entry((k.to_string(), numbers)).or_insert(0) += weight;
    }
    let mut table = Vec::new();
    for ((k, v), weight) in weights {
        match weight {
            0 => {}
            1 => table.push((k, v)),
            w => bail!("the changelog leaves ({k}, {v:?}) with weight {w}"),
        }
    }
    table.sort_unstable();
    if let Some(w) = table.windows(2).find(|w| w[0].0 == w[1].0) {
        bail!("the changelog leaves two rows of `{}`", w[0].0);
    }
    Ok(table)
}

/// Runs the word count on Flink, on the lines written as one file per epoch.
pub fn word_count(
    lines: &[String],
    lines_per_epoch: usize,
    config: FlinkConfig,
) -> anyhow::Result<EngineRun> {
    let ran = run_script(WORDCOUNT, config, &[], |input| {
        super::spark::write_epochs(input, lines, lines_per_epoch)?;
        Ok(input.to_path_buf())
    })?;
    let table = changelog_table(&output_lines(&ran.output)?, "word", "cnt")?;
    let digest = final_table(table.iter().map(|(w, c)| (w.as_str(), *c, None)));
    Ok(engine_run(&ran.report, digest))
}

/// Runs the `join` workload on Flink: the transactions as one tab-separated file per epoch,
/// the users table as one more (`user_id<TAB>country`, without the header), joined and
/// aggregated per country; the digest is the final table of `(country, count, sum)`.
pub fn join_count(
    transactions: &[crate::data::Transaction],
    users: &[(i64, String)],
    per_epoch: usize,
    config: FlinkConfig,
) -> anyhow::Result<EngineRun> {
    let lines: Vec<String> = transactions.iter().map(|(u, a)| format!("{u}\t{a}")).collect();
    let users_dir = tempfile::Builder::new()
        .prefix("tidewater-bench-flink-users-")
        .tempdir()
        .context("creating a directory for Flink's users table")?;
    let users_file = users_dir.path().join("users.tsv");
    let mut text = String::with_capacity(users.len() * 12);
    for (id, country) in users {
        text.push_str(&format!("{id}\t{country}\n"));
    }
    fs::write(&users_file, text).context("writing Flink's users table")?;
    let extra = ["--users".to_string(), users_file.display().to_string()];
    let ran = run_script(JOIN, config, &extra, |input| {
        super::spark::write_epochs(input, &lines, per_epoch)?;
        Ok(input.to_path_buf())
    })?;
    let table = changelog_rows(&output_lines(&ran.output)?, "country", &["cnt", "total"])?;
    let digest = final_table(table.iter().map(|(c, v)| (c.as_str(), v[0], Some(v[1]))));
    Ok(engine_run(&ran.report, digest))
}

/// Runs the `windowed` workload on Flink: the events as one file of `key<TAB>ts_ms` lines, a
/// watermark `delay_ms` behind, windows of `window_ms`. The windows compared are those whose
/// end is at or below the greatest event time less `delay_ms`, which the other engines close.
pub fn windowed(
    events: &[Event],
    delay_ms: i64,
    window_ms: i64,
    config: FlinkConfig,
) -> anyhow::Result<EngineRun> {
    let extra = ["--delay-ms".to_string(), delay_ms.to_string()];
    let ran = run_script(WINDOWED, config, &extra, |input| {
        let mut text = String::with_capacity(events.len() * 20);
        for (key, ts) in events {
            text.push_str(&format!("{key}\t{ts}\n"));
        }
        fs::write(input.join("events.tsv"), text).context("writing Flink's input")?;
        Ok(input.to_path_buf())
    })?;
    let Some(newest) = events.iter().map(|(_, t)| *t).max() else {
        return Ok(engine_run(&ran.report, final_table([])));
    };
    let watermark = newest - delay_ms;
    let mut rows = Vec::new();
    for line in output_lines(&ran.output)? {
        let mut fields = line.split('\t');
        let (Some(key), Some(start), Some(count), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            bail!("Flink wrote a row that is not `key, start_ms, count`: {line}");
        };
        let (start, count): (i64, i64) = (start.parse()?, count.parse()?);
        if start + window_ms <= watermark {
            rows.push((super::windowed::label(key, start), count));
        }
    }
    let digest = final_table(rows.iter().map(|(l, c)| (l.as_str(), *c, None)));
    Ok(engine_run(&ran.report, digest))
}

/// Runs a Nexmark query on Flink over the folders under `dir`, with watermarks `delay_s`
/// behind: the run, and the lines its digest job wrote (tab-separated fields, or for a
/// [`complete`](super::nexmark::Query::complete) query its changelog as Debezium JSON).
pub fn nexmark(
    dir: &Path,
    query: &super::nexmark::Query,
    delay_s: i64,
    config: FlinkConfig,
) -> anyhow::Result<(EngineRun, Vec<String>)> {
    let work = tempfile::tempdir().context("a directory for the query")?;
    let query_file = work.path().join("query.sql");
    fs::write(&query_file, query.flink)?;
    let format = if query.complete { "debezium-json" } else { "csv" };
    let extra = [
        "--query-file".to_string(),
        query_file.display().to_string(),
        "--columns".to_string(),
        query.columns.to_string(),
        "--delay-s".to_string(),
        delay_s.to_string(),
        "--digest-format".to_string(),
        format.to_string(),
    ];
    let ran = run_script(NEXMARK, config, &extra, |_| Ok(dir.to_path_buf()))?;
    let lines = output_lines(&ran.output)?;
    Ok((engine_run(&ran.report, String::new()), lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changelog_nets_to_its_final_table() {
        let lines: Vec<String> = [
            r#"{"before":null,"after":{"word":"a","cnt":1},"op":"c"}"#,
            r#"{"before":null,"after":{"word":"b","cnt":1},"op":"c"}"#,
            // Rows may come in any order: the retraction of a=1 before or after a=2.
            r#"{"before":null,"after":{"word":"a","cnt":2},"op":"c"}"#,
            r#"{"before":{"word":"a","cnt":1},"after":null,"op":"d"}"#,
            r#"{"before":{"word":"b","cnt":1},"after":{"word":"b","cnt":4},"op":"u"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            changelog_table(&lines, "word", "cnt").unwrap(),
            [("a".to_string(), 2), ("b".to_string(), 4)]
        );
        let twice = [lines[0].clone(), lines[0].clone()];
        assert!(
            changelog_table(&twice, "word", "cnt").is_err(),
            "a row added twice"
        );
        let two_rows = [lines[0].clone(), lines[2].clone()];
        assert!(
            changelog_table(&two_rows, "word", "cnt").is_err(),
            "two counts of a"
        );
        assert!(
            changelog_table(&["{}".to_string()], "word", "cnt").is_ok(),
            "no row"
        );
        assert!(changelog_table(&["[".to_string()], "word", "cnt").is_err());
    }

    #[test]
    fn a_changelog_of_two_values_nets_to_its_final_rows() {
        let lines: Vec<String> = [
            r#"{"before":null,"after":{"country":"c01","cnt":1,"total":5},"op":"c"}"#,
            r#"{"before":{"country":"c01","cnt":1,"total":5},"after":{"country":"c01","cnt":2,"total":12},"op":"u"}"#,
            r#"{"before":null,"after":{"country":"c02","cnt":1,"total":3},"op":"c"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            changelog_rows(&lines, "country", &["cnt", "total"]).unwrap(),
            [("c01".to_string(), vec![2, 12]), ("c02".to_string(), vec![1, 3])]
        );
        let no_total = [r#"{"before":null,"after":{"country":"c01","cnt":1},"op":"c"}"#.to_string()];
        assert!(changelog_rows(&no_total, "country", &["cnt", "total"]).is_err());
    }

    #[test]
    fn finished_files_only_are_output() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("part-0-0"), "a\nb\n").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/part-1-0"), "c\n").unwrap();
        fs::write(dir.path().join(".part-2-0.inprogress"), "x\n").unwrap();
        fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        let mut lines = output_lines(dir.path()).unwrap();
        lines.sort();
        assert_eq!(lines, ["a", "b", "c"]);
    }
}
