//! The `files` workload: the word count as a user runs it, through the `tidewater run` binary
//! over a directory of text files, one file an epoch (`maxFilesPerTrigger 1`), update mode
//! into `noop`; against `loop-min`, the least a program must do for the same answer.
//!
//! Neither writes the counts (the sink is `noop`). What the two are checked to agree on is, per
//! epoch, the lines read and the number of words whose count changed: Tidewater's progress
//! reports them (`numInputRows`, and the sink's `numOutputRows`, which in update mode is the
//! changed words), and the loop counts them.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use foldhash::{HashMap, HashMapExt};

use super::EngineRun;
use crate::digest::Digest;

/// The directory of the workload's text files: `words` Zipf words over `vocabulary` words,
/// `per_file` words a file, seeded by `seed`.
pub fn data_dir(words: usize, per_file: usize, vocabulary: usize, seed: u64) -> PathBuf {
    std::env::temp_dir().join(format!("tidewater-files-{words}-{per_file}-{vocabulary}-{seed}"))
}

/// Writes the workload's files under `dir` (`part-NNNNNN.txt`, modification times one second
/// apart in name order, so that the file source takes them in name order), unless a `_DONE`
/// marker says they are there already. The lines are those of the `wordcount` workload.
pub fn write(
    dir: &Path,
    words: usize,
    per_file: usize,
    vocabulary: usize,
    seed: u64,
) -> anyhow::Result<usize> {
    let per_file = per_file.max(crate::data::WORDS_PER_LINE);
    let lines_per_file = per_file / crate::data::WORDS_PER_LINE;
    let files = words
        .div_ceil(crate::data::WORDS_PER_LINE)
        .div_ceil(lines_per_file);
    let done = dir.join("_DONE");
    if std::fs::read_to_string(&done).is_ok_and(|text| text.trim() == files.to_string()) {
        // Nothing generated: the process that runs the engine stays small, and a child's peak
        // memory (which counts what its parent held when it was forked) is the child's own.
        return Ok(files);
    }
    let lines = crate::data::zipf_lines(seed, words, vocabulary);
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let first = std::time::SystemTime::now() - std::time::Duration::from_secs(files as u64 + 60);
    for (i, chunk) in lines.chunks(lines_per_file).enumerate() {
        let path = dir.join(format!("part-{i:06}.txt"));
        let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        for line in chunk {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.set_modified(first + std::time::Duration::from_secs(i as u64))?;
    }
    std::fs::write(&done, files.to_string())?;
    Ok(files)
}

/// The text files of `dir`, in name order.
fn text_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    Ok(files)
}

/// `loop-min`: reads each file whole, splits it on spaces and line breaks, and counts the
/// words in a hash map, noting each word the first time it changes in the file's epoch
/// (no sorting, no output). The timed run ends with the last file counted.
pub fn loop_min(dir: &Path) -> anyhow::Result<EngineRun> {
    let files = text_files(dir)?;
    let started = Instant::now();
    let mut counts: HashMap<Box<[u8]>, (i64, u64)> = HashMap::new();
    // The epoch's changed words, as (offset, length) in the file's buffer.
    let mut changed: Vec<(usize, usize)> = Vec::new();
    let mut buffer = Vec::new();
    let mut epoch_ms = Vec::with_capacity(files.len());
    let mut per_epoch = Vec::with_capacity(files.len());
    for (epoch, path) in files.iter().enumerate() {
        let epoch_started = Instant::now();
        let epoch = epoch as u64;
        buffer.clear();
        std::io::Read::read_to_end(
            &mut std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            &mut buffer,
        )?;
        // A line break ends the last line; no line follows it.
        let text = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
        let mut lines = 0u64;
        if !buffer.is_empty() {
            for line in text.split(|b| *b == b'\n') {
                lines += 1;
                for word in line.split(|b| *b == b' ') {
                    let at = (word.as_ptr() as usize - text.as_ptr() as usize, word.len());
                    match counts.get_mut(word) {
                        Some((count, last)) => {
                            *count += 1;
                            if *last != epoch {
                                *last = epoch;
                                changed.push(at);
                            }
                        }
                        None => {
                            counts.insert(word.into(), (1, epoch));
                            changed.push(at);
                        }
                    }
                }
            }
        }
        per_epoch.push((lines, changed.len() as u64));
        changed.clear();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(EngineRun::measured(seconds, epoch_ms, digest(&per_epoch)))
}

/// The digest of each epoch's `(lines read, words changed)`.
fn digest(per_epoch: &[(u64, u64)]) -> String {
    let mut digest = Digest::default();
    for (epoch, (lines, changed)) in per_epoch.iter().enumerate() {
        digest.epoch(
            epoch as u64,
            [("lines", *lines as i64), ("changed", *changed as i64)],
        );
    }
    digest.value()
}

/// The query `tidewater run` runs: Spark's word count over the directory.
fn script(dir: &Path) -> String {
    format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}', maxFilesPerTrigger '1');\n\
         CREATE SINK out USING noop OPTIONS (outputMode 'update');\n\
         INSERT INTO out\n\
         SELECT word, count(*) AS count\n\
         FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t\n\
         GROUP BY word;\n",
        dir.display()
    )
}

/// The `tidewater` binary next to this one (`cargo build --release -p tidewater`).
fn tidewater_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating tidewater-bench")?;
    let binary = exe.with_file_name("tidewater");
    if !binary.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p tidewater` (the same profile as \
             tidewater-bench)",
            binary.display()
        );
    }
    Ok(binary)
}

/// `tidewater-cli`: runs `tidewater run` with `workers` workers on the directory, available-now,
/// and times it from the start of the process to its end (start-up included, as a user waits
/// for it). Its peak memory is the child's, from `getrusage`.
pub fn tidewater_cli(dir: &Path, workers: usize) -> anyhow::Result<EngineRun> {
    let binary = tidewater_binary()?;
    let started = Instant::now();
    let mut child = Command::new(&binary)
        .arg("run")
        .args(["-e", &script(dir)])
        .args(["--workers", &workers.to_string()])
        .args(["--trigger", "availableNow", "--progress", "json", "--no-ui"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let stderr = child.stderr.take().context("the child's stderr")?;
    let mut reports = Vec::new();
    let mut other = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(report) if report.get("batchId").is_some() => reports.push(report),
            _ => {
                other.push_str(&line);
                other.push('\n');
            }
        }
    }
    let status = child.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("tidewater run failed ({status}): {other}");
    }
    let mut epoch_ms = Vec::new();
    let mut per_epoch = Vec::new();
    for report in &reports {
        let rows = report["numInputRows"].as_u64().unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let changed = report["sink"]["numOutputRows"].as_u64().unwrap_or(0);
        per_epoch.push((rows, changed));
        epoch_ms.push(report["durationMs"]["triggerExecution"].as_f64().unwrap_or(0.0));
    }
    let mut run = EngineRun::measured(seconds, epoch_ms, digest(&per_epoch));
    run.peak_rss_mb = children_peak_rss_mb();
    Ok(run)
}

/// The largest peak resident set of this process's finished children, MiB.
fn children_peak_rss_mb() -> Option<f64> {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let done = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    (done == 0).then(|| usage.ru_maxrss as f64 / 1024.0)
}
