//! `tidewater-bench`: runs workloads on several engines, each in a process of its own, checks
//! that they produce the same output, and reports medians of several runs.
//!
//! ```text
//! cargo run --release -p tidewater-bench -- compare --workload wordcount --records 10000000 \
//!     --engines tidewater,microbatch,microbatch-versioned,loop,spark --workers 1,2 --runs 3 \
//!     --out bench/results/10m
//! ```

mod data;
mod digest;
mod engines;
mod nexmark;
mod plot;
mod report;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use engines::EngineRun;

/// Every engine of the harness allocates with mimalloc, as the `tidewater` CLI and the Python
/// package do: the harness measures the allocator users run with, and the baselines share it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "tidewater-bench", version, about = "Tidewater against its baselines")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// The workload parameters every engine of a comparison shares.
#[derive(clap::Args, Debug, Clone)]
struct Workload {
    /// The workload: `wordcount` (words from lines, update mode, changed counts per epoch),
    /// `join` (transactions joined with a static users table, count and sum per country),
    /// `latency` (the word count from a socket at fixed input rates, `--rates`) or `windowed`
    /// (events counted per key in 10 s event-time windows under a 5 s watermark, append mode).
    #[arg(long, default_value = "wordcount")]
    workload: String,
    /// Records in total (words for `wordcount`, transactions for `join`, lines for `latency`).
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Records per epoch (one epoch = one micro-batch).
    #[arg(long, default_value_t = 100_000)]
    epoch_records: usize,
    /// Distinct words (`wordcount`) or users (`join`) the Zipf distribution draws from.
    #[arg(long, default_value_t = 50_000)]
    vocabulary: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// `latency`: the input rate of one run, lines per second (`compare` sets it from `--rates`).
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// `nexmark`: the query, `q0` to `q8`, or `all` (`compare` only).
    #[arg(long, default_value = "q0")]
    query: String,
    /// `nexmark`: the events generated (persons, auctions and bids together); the files hold
    /// `--epoch-records` events each.
    #[arg(long, default_value_t = 1_000_000)]
    nexmark_events: u64,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs the engines on one workload and prints a markdown table (and writes JSON and a plot).
    Compare {
        #[command(flatten)]
        workload: Workload,
        /// Comma-separated engines: tidewater, dstream, microbatch, microbatch-versioned, loop, spark,
        /// flink, feldera (built with `--features feldera`).
        #[arg(long, default_value = "tidewater,loop", value_delimiter = ',')]
        engines: Vec<String>,
        /// Worker counts to run `tidewater` with.
        #[arg(long, default_value = "1,2", value_delimiter = ',')]
        workers: Vec<usize>,
        /// `spark`'s `local[N]` task threads.
        #[arg(long, default_value_t = 2)]
        spark_workers: usize,
        /// `spark`'s `spark.sql.shuffle.partitions` (the partitions of its state store).
        #[arg(long, default_value_t = 2)]
        spark_shuffle_partitions: usize,
        /// `flink`'s parallelisms (`parallelism.default` of its mini-cluster), one run each.
        #[arg(long, default_value = "1,2", value_delimiter = ',')]
        flink_parallelism: Vec<usize>,
        /// `latency`: the input rates to run each engine at, lines per second.
        #[arg(long, default_value = "10000,50000,200000", value_delimiter = ',')]
        rates: Vec<u64>,
        /// Runs per engine; medians are reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Directory for `<workload>.json` and `<workload>_throughput.png` (for `latency` also
        /// `latency_vs_rate.png`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Runs one engine once and prints its measurements as JSON (used by `compare`).
    #[command(hide = true)]
    RunEngine {
        #[command(flatten)]
        workload: Workload,
        #[arg(long)]
        engine: String,
        #[arg(long, default_value_t = 1)]
        workers: usize,
        #[arg(long, default_value_t = 2)]
        shuffle_partitions: usize,
        /// Digest the final table rather than every epoch's rows (see `digest.rs`).
        #[arg(long)]
        final_digest: bool,
    },
}

const ENGINES: &str =
    "tidewater, dstream, microbatch, microbatch-versioned, loop, loop-min, spark, flink, feldera";

/// Engines without epochs: with one of them in a comparison, every engine's final table is
/// compared rather than its per-epoch output.
const FINAL_ONLY: [&str; 1] = ["flink"];

const WORKLOADS: &str = "wordcount, join, latency, windowed, stream_join, sessions, nexmark, files";

/// The engines of the `files` workload: `tidewater` is the `tidewater run` binary there.
const FILES_ENGINES: &str = "tidewater, loop-min";

/// The engines of the `stream_join` workload.
const STREAM_JOIN_ENGINES: &str = "tidewater, microbatch, loop";

/// The engines of the `sessions` workload.
const SESSIONS_ENGINES: &str = "tidewater, microbatch, loop";

/// The engines of the `windowed` workload.
const WINDOWED_ENGINES: &str = "tidewater, microbatch, loop, spark, flink, feldera";

/// One engine as `compare` runs it: the name it reports and the arguments of its child.
struct Variant {
    name: String,
    engine: String,
    workers: usize,
    shuffle_partitions: usize,
    /// The cores the variant is meant to use (its workers, threads or parallelism), for the
    /// per-core figures.
    cores: usize,
}

fn run_engine(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    match workload.workload.as_str() {
        "wordcount" => word_count(workload, engine, workers, shuffle_partitions),
        "join" => join_count(workload, engine, workers, shuffle_partitions),
        "latency" => latency(workload, engine, workers, shuffle_partitions),
        "windowed" => windowed(workload, engine, workers, shuffle_partitions),
        "stream_join" => stream_join(workload, engine, workers),
        "sessions" => sessions(workload, engine, workers),
        "nexmark" => nexmark(workload, engine, workers),
        "files" => files(workload, engine, workers),
        other => bail!("unknown workload `{other}`; known: {WORKLOADS}"),
    }
}

fn word_count(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    let lines = data::zipf_lines(workload.seed, workload.records, workload.vocabulary);
    let lines_per_epoch = (workload.epoch_records / data::WORDS_PER_LINE).max(1);
    match engine {
        "loop" => Ok(engines::hashmap_loop::word_count(&lines, lines_per_epoch)),
        "microbatch" => Ok(engines::microbatch::word_count(&lines, lines_per_epoch, false)),
        "microbatch-versioned" => Ok(engines::microbatch::word_count(&lines, lines_per_epoch, true)),
        "tidewater" => engines::tidewater::word_count(&lines, lines_per_epoch, workers),
        "dstream" => engines::dstream::word_count(&lines, lines_per_epoch, workers),
        "spark" => {
            let config = engines::spark::SparkConfig {
                workers,
                shuffle_partitions,
            };
            engines::spark::word_count(&lines, lines_per_epoch, config)
        }
        "flink" => engines::flink::word_count(&lines, lines_per_epoch, flink(workers)),
        "feldera" => engines::feldera::word_count(&lines, lines_per_epoch, workers),
        other => bail!("unknown engine `{other}`; known: {ENGINES}"),
    }
}

/// The `files` workload: the word count through `tidewater run` over a directory of text
/// files, one file an epoch, against `loop-min` (see `engines/files.rs`). The files hold
/// `--epoch-records` words each, `--records` words in all.
fn files(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    let dir = files_data(workload)?;
    match engine {
        "tidewater" => engines::files::tidewater_cli(&dir, workers),
        "loop-min" => engines::files::loop_min(&dir),
        other => bail!("engine `{other}` does not run the files workload; it runs on: {FILES_ENGINES}"),
    }
}

/// The text files of the `files` workload, written once (every run reuses them).
fn files_data(workload: &Workload) -> anyhow::Result<PathBuf> {
    let dir = engines::files::data_dir(
        workload.records,
        workload.epoch_records,
        workload.vocabulary,
        workload.seed,
    );
    engines::files::write(
        &dir,
        workload.records,
        workload.epoch_records,
        workload.vocabulary,
        workload.seed,
    )?;
    Ok(dir)
}

/// The `nexmark` workload: one query over `--nexmark-events` events (see `nexmark.rs` and
/// `engines/nexmark.rs`).
fn nexmark(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    let query = engines::nexmark::query(&workload.query)?;
    let events = workload.nexmark_events;
    let dir = nexmark_data(workload)?;
    let watermark = engines::nexmark::final_watermark(nexmark::last_times(events));
    match engine {
        "tidewater" => engines::nexmark::tidewater(&dir, query, workers, watermark),
        "flink" => engines::nexmark::flink(&dir, query, flink(workers), nexmark::span_s(events), watermark),
        "feldera" => engines::feldera::nexmark(&dir, query, workers, watermark),
        other => {
            bail!("engine `{other}` does not run the nexmark workload; it runs on: tidewater, flink, feldera")
        }
    }
}

/// The Nexmark events of `workload`, written once (the folder is reused by every run).
fn nexmark_data(workload: &Workload) -> anyhow::Result<PathBuf> {
    let dir = nexmark::data_dir(workload.nexmark_events, workload.seed);
    nexmark::write(
        &dir,
        workload.nexmark_events,
        workload.epoch_records.max(1) as u64,
        workload.seed,
    )?;
    Ok(dir)
}

/// `compare --workload nexmark`: the query of `--query`, or with `all` each query that runs,
/// and a table of the events per second per core beside Flink's published figures.
fn nexmark_compare(workload: &Workload, options: &CompareOptions) -> anyhow::Result<()> {
    let names: Vec<&str> = if workload.query == "all" {
        engines::nexmark::QUERIES.iter().map(|q| q.name).collect()
    } else {
        vec![engines::nexmark::query(&workload.query)?.name]
    };
    let started = std::time::Instant::now();
    let dir = nexmark_data(workload)?;
    eprintln!(
        "nexmark: {} events in {} ({:.1} s)",
        workload.nexmark_events,
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    let mut summary = format!(
        "Nexmark, {} events, events/s per core (median of {} runs; Flink's published figures \
         beside)\n\n| query | what | engine | events/s | per core | Flink published, per core |\n\
         |---|---|---|---|---|---|\n",
        report::thousands(workload.nexmark_events as usize),
        options.runs.max(1)
    );
    let mut equal = true;
    for name in names {
        let query = engines::nexmark::query(name)?;
        let published = query
            .flink_published
            .map_or("-".to_string(), |r| report::rate(r as f64));
        if let Err(why) = query.tidewater {
            eprintln!("{name}: waits: {why}");
            summary.push_str(&format!(
                "| {name} | {} | - | waits: {why} | | {published} |\n",
                query.title
            ));
            continue;
        }
        let workload = Workload {
            query: name.to_string(),
            records: workload.nexmark_events as usize,
            ..workload.clone()
        };
        let report = compare(&workload, options)?;
        equal &= report.outputs_equal;
        for e in &report.engines {
            let (rate, per_core) = match (e.records_per_s, e.records_per_s_per_core) {
                (Some(r), Some(c)) => (report::rate(r), report::rate(c)),
                _ => (e.skipped.clone().unwrap_or_default(), String::new()),
            };
            summary.push_str(&format!(
                "| {name} | {} | {} | {rate} | {per_core} | {published} |\n",
                query.title, e.engine
            ));
        }
    }
    println!("{summary}");
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("nexmark.md");
        std::fs::write(&path, &summary)?;
        eprintln!("wrote {}", path.display());
    }
    if !equal {
        bail!("the engines' outputs differ");
    }
    Ok(())
}

/// Flink's set-up for a run whose `--workers` is its parallelism.
fn flink(parallelism: usize) -> engines::flink::FlinkConfig {
    engines::flink::FlinkConfig { parallelism }
}

fn join_count(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    let transactions = data::transactions(workload.seed, workload.records, workload.vocabulary);
    let users_table = data::users(workload.vocabulary);
    let users = data::users_csv(&users_table);
    // Every engine reads the users table from this file, inside its timed run (Flink from a
    // copy without the header, which its csv format cannot skip).
    let dir = tempfile::tempdir()?;
    let users_csv = dir.path().join("users.csv");
    std::fs::write(&users_csv, &users)?;
    let per_epoch = workload.epoch_records.max(1);
    match engine {
        "loop" => engines::hashmap_loop::join_count(&transactions, &users_csv, per_epoch),
        "microbatch" => engines::microbatch::join_count(&transactions, &users_csv, per_epoch, false),
        "microbatch-versioned" => engines::microbatch::join_count(&transactions, &users_csv, per_epoch, true),
        "tidewater" => engines::tidewater::join_count(&transactions, &users_csv, per_epoch, workers),
        "spark" => {
            let config = engines::spark::SparkConfig {
                workers,
                shuffle_partitions,
            };
            engines::spark::join_count(&transactions, &users, per_epoch, config)
        }
        "flink" => engines::flink::join_count(&transactions, &users_table, per_epoch, flink(workers)),
        "feldera" => engines::feldera::join_count(&transactions, &users_csv, per_epoch, workers),
        other => bail!("unknown engine `{other}`; known: {ENGINES}"),
    }
}

/// The `windowed` workload: `--records` events with bounded disorder, counted per key and
/// ten-second window of event time under a watermark, in append mode.
fn windowed(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    let events = data::events(
        workload.seed,
        workload.records,
        workload.vocabulary,
        engines::windowed::DELAY_MS,
    );
    let per_epoch = workload.epoch_records.max(1);
    match engine {
        "loop" => Ok(engines::windowed::hashmap_loop(&events, per_epoch)),
        "microbatch" => Ok(engines::windowed::microbatch(&events, per_epoch)),
        "tidewater" => engines::windowed::tidewater(&events, per_epoch, workers),
        "spark" => engines::windowed::spark(&events, per_epoch, workers, shuffle_partitions),
        "flink" => engines::flink::windowed(
            &events,
            engines::windowed::DELAY_MS,
            engines::windowed::WINDOW_MS,
            flink(workers),
        ),
        "feldera" => engines::feldera::windowed(&events, per_epoch, workers),
        other => bail!("engine `{other}` does not run the windowed workload; it runs on: {WINDOWED_ENGINES}"),
    }
}

/// The `stream_join` workload: `--records` ad impressions LEFT OUTER JOIN the clicks they drew
/// within a second, under watermarks (see `engines/stream_join.rs`).
fn stream_join(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    let streams = engines::stream_join::streams(workload.seed, workload.records, workload.vocabulary);
    let per_epoch = workload.epoch_records.max(1);
    match engine {
        "loop" => Ok(engines::stream_join::hashmap_loop(&streams, per_epoch)),
        "microbatch" => Ok(engines::stream_join::microbatch(&streams, per_epoch)),
        "tidewater" => engines::stream_join::tidewater(&streams, per_epoch, workers),
        other => {
            bail!("engine `{other}` does not run the stream_join workload; it runs on: {STREAM_JOIN_ENGINES}")
        }
    }
}

/// The `sessions` workload: `--records` events with bounded disorder, counted per key and
/// session window of event time under a watermark, in append mode (see
/// `engines/sessions.rs`).
fn sessions(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    let events = data::events(
        workload.seed,
        workload.records,
        workload.vocabulary,
        engines::sessions::DELAY_MS,
    );
    let per_epoch = workload.epoch_records.max(1);
    match engine {
        "loop" => Ok(engines::sessions::hashmap_loop(&events, per_epoch)),
        "microbatch" => Ok(engines::sessions::microbatch(&events, per_epoch)),
        "tidewater" => engines::sessions::tidewater(&events, per_epoch, workers),
        other => bail!("engine `{other}` does not run the sessions workload; it runs on: {SESSIONS_ENGINES}"),
    }
}

/// The `latency` workload: `--records` lines (of `WORDS_PER_LINE` words) sent over a socket at
/// `--rate` lines per second.
fn latency(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    let words = workload.records.saturating_mul(data::WORDS_PER_LINE);
    let lines = data::zipf_lines(workload.seed, words, workload.vocabulary);
    match engine {
        "loop" => engines::latency::hashmap_loop(lines, workload.rate),
        "tidewater" => engines::latency::tidewater(lines, workload.rate, workers),
        "microbatch" => engines::latency::microbatch(lines, workload.rate),
        "dstream" => engines::latency::dstream(lines, workload.rate, workers),
        "spark" => engines::latency::spark(
            lines,
            workload.rate,
            engines::spark::SparkConfig {
                workers,
                shuffle_partitions,
            },
        ),
        other => bail!("engine `{other}` does not run the latency workload; it runs on: {LATENCY_ENGINES}"),
    }
}

/// The engines of the `latency` workload.
const LATENCY_ENGINES: &str = "tidewater, dstream, microbatch, loop, spark";

/// Runs one engine in a child process, so that its memory is measured alone.
fn run_child(workload: &Workload, variant: &Variant, final_digest: bool) -> anyhow::Result<EngineRun> {
    let exe = std::env::current_exe().context("locating tidewater-bench")?;
    let mut command = Command::new(exe);
    if final_digest {
        command.arg("run-engine").arg("--final-digest");
    } else {
        command.arg("run-engine");
    }
    let output = command
        .args(["--engine", &variant.engine])
        .args(["--workers", &variant.workers.to_string()])
        .args(["--shuffle-partitions", &variant.shuffle_partitions.to_string()])
        .args(["--workload", &workload.workload])
        .args(["--records", &workload.records.to_string()])
        .args(["--epoch-records", &workload.epoch_records.to_string()])
        .args(["--vocabulary", &workload.vocabulary.to_string()])
        .args(["--seed", &workload.seed.to_string()])
        .args(["--rate", &workload.rate.to_string()])
        .args(["--query", &workload.query])
        .args(["--nexmark-events", &workload.nexmark_events.to_string()])
        .output()
        .with_context(|| format!("running engine {}", variant.name))?;
    if !output.status.success() {
        bail!(
            "engine {} failed: {}",
            variant.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("reading engine {}'s report", variant.name))
}

/// What `compare` does with one `--engines` entry.
enum Plan {
    /// Runs these variants.
    Run(Vec<Variant>),
    /// Skips the engine, for this reason.
    Skip(String),
}

/// The runs `compare` makes of one `--engines` entry, or why it is skipped.
fn plan(
    workload: &str,
    engine: &str,
    workers: &[usize],
    spark_workers: usize,
    spark_shuffle_partitions: usize,
    flink_parallelism: &[usize],
) -> anyhow::Result<Plan> {
    let one = |name: &str, workers: usize, shuffle_partitions: usize| Variant {
        name: name.to_string(),
        engine: engine.to_string(),
        workers,
        shuffle_partitions,
        cores: workers,
    };
    if workload == "latency" && !LATENCY_ENGINES.split(", ").any(|e| e == engine) {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip("not implemented for the latency workload".to_string()));
    }
    if workload == "windowed" && !WINDOWED_ENGINES.split(", ").any(|e| e == engine) {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip(
            "not implemented for the windowed workload (event-time windows with a watermark)".to_string(),
        ));
    }
    if workload == "sessions" && !SESSIONS_ENGINES.split(", ").any(|e| e == engine) {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip(
            "not implemented for the sessions workload (session windows with a watermark)".to_string(),
        ));
    }
    if workload == "stream_join" && !STREAM_JOIN_ENGINES.split(", ").any(|e| e == engine) {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip(
            "not implemented for the stream_join workload (a stream-stream join under watermarks)"
                .to_string(),
        ));
    }
    if workload == "files" && !FILES_ENGINES.split(", ").any(|e| e == engine) {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip(
            "not implemented for the files workload (the word count through `tidewater run` over files)"
                .to_string(),
        ));
    }
    if engine == "loop-min" && workload != "files" {
        return Ok(Plan::Skip("loop-min runs the files workload only".to_string()));
    }
    if workload == "nexmark" && !matches!(engine, "tidewater" | "flink" | "feldera") {
        if !ENGINES.split(", ").any(|e| e == engine) {
            bail!("unknown engine `{engine}`; known: {ENGINES}");
        }
        return Ok(Plan::Skip("not implemented for the nexmark workload".to_string()));
    }
    if engine == "dstream" && workload == "join" {
        return Ok(Plan::Skip(
            "the dstream engine runs the wordcount and latency workloads only".to_string(),
        ));
    }
    Ok(Plan::Run(match engine {
        "tidewater" | "dstream" => workers
            .iter()
            .map(|w| {
                // Over files, `tidewater` is the binary a user runs.
                let name = if workload == "files" {
                    "tidewater-cli"
                } else {
                    engine
                };
                one(&format!("{name}-w{w}"), *w, 0)
            })
            .collect(),
        "loop" | "loop-min" | "microbatch" | "microbatch-versioned" => vec![one(engine, 1, 0)],
        "spark" => match engines::spark::available() {
            Ok(_) => vec![one(engine, spark_workers, spark_shuffle_partitions)],
            Err(reason) => return Ok(Plan::Skip(reason)),
        },
        "feldera" if !engines::feldera::WORKLOADS.contains(&workload) => {
            return Ok(Plan::Skip(format!(
                "the feldera engine does not run the {workload} workload; it runs: {}",
                engines::feldera::WORKLOADS.join(", ")
            )))
        }
        "feldera" => match engines::feldera::available() {
            Ok(()) => workers
                .iter()
                .map(|w| one(&format!("feldera-w{w}"), *w, 0))
                .collect(),
            Err(reason) => return Ok(Plan::Skip(reason)),
        },
        "flink" if !matches!(workload, "wordcount" | "join" | "windowed" | "nexmark") => {
            return Ok(Plan::Skip(format!(
                "the flink engine runs the wordcount, join, windowed and nexmark workloads, not {workload}"
            )))
        }
        "flink" => match engines::flink::available() {
            Ok(_) => flink_parallelism
                .iter()
                .map(|p| one(&format!("flink-p{p}"), *p, 0))
                .collect(),
            Err(reason) => return Ok(Plan::Skip(reason)),
        },
        other => bail!("unknown engine `{other}`; known: {ENGINES}"),
    }))
}

/// The `compare` flags other than the workload's.
struct CompareOptions {
    engines: Vec<String>,
    workers: Vec<usize>,
    spark_workers: usize,
    spark_shuffle_partitions: usize,
    flink_parallelism: Vec<usize>,
    rates: Vec<u64>,
    runs: usize,
    out: Option<PathBuf>,
}

/// Runs the engines on one workload, prints the table and writes the report and the plots.
fn compare(workload: &Workload, options: &CompareOptions) -> anyhow::Result<report::Report> {
    let CompareOptions {
        engines,
        workers,
        spark_workers,
        spark_shuffle_partitions,
        flink_parallelism,
        rates,
        runs,
        out,
    } = options;
    let (spark_workers, spark_shuffle_partitions, runs) = (*spark_workers, *spark_shuffle_partitions, *runs);
    let plans = engines
        .iter()
        .map(|e| {
            plan(
                &workload.workload,
                e,
                workers,
                spark_workers,
                spark_shuffle_partitions,
                flink_parallelism,
            )
        })
        .collect::<anyhow::Result<Vec<Plan>>>()?;
    let mut skipped = Vec::new();
    let mut rows: Vec<(Variant, Option<u64>)> = Vec::new();
    for (engine, plan) in engines.iter().zip(plans) {
        let variants = match plan {
            Plan::Run(variants) => variants,
            Plan::Skip(reason) => {
                eprintln!("{engine}: skipped: {reason}");
                skipped.push((engine.clone(), reason));
                continue;
            }
        };
        // One row per variant, or for `latency` per variant and rate.
        let rated: Vec<(Variant, Option<u64>)> = if workload.workload == "latency" {
            if rates.is_empty() {
                bail!("the latency workload needs at least one rate (--rates)");
            }
            variants
                .into_iter()
                .flat_map(|v| {
                    rates.iter().map(move |&r| {
                        let variant = Variant {
                            name: format!("{}@{r}", v.name),
                            engine: v.engine.clone(),
                            workers: v.workers,
                            shuffle_partitions: v.shuffle_partitions,
                            cores: v.cores,
                        };
                        (variant, Some(r))
                    })
                })
                .collect()
        } else {
            variants.into_iter().map(|v| (v, None)).collect()
        };
        rows.extend(rated);
    }
    // Runs go round the rows, one run of each a round, so that a spell of load on
    // the machine falls on every engine alike rather than on whichever ran then:
    // the ratios between engines are what the benchmark reports.
    // An engine without epochs makes every engine digest its final table.
    // (Nexmark's digests are of the result's rows in any order in every engine.)
    let final_digest =
        workload.workload != "nexmark" && rows.iter().any(|(v, _)| FINAL_ONLY.contains(&v.engine.as_str()));
    let mut results: Vec<Vec<_>> = rows.iter().map(|_| Vec::new()).collect();
    for run in 0..runs.max(1) {
        for ((variant, rate), results) in rows.iter().zip(&mut results) {
            let workload = Workload {
                rate: rate.unwrap_or(workload.rate),
                ..workload.clone()
            };
            eprintln!("{}: run {}/{}", variant.name, run + 1, runs.max(1));
            results.push(run_child(&workload, variant, final_digest)?);
        }
    }
    let measured: Vec<_> = rows
        .into_iter()
        .zip(results)
        .map(|((variant, _), runs)| {
            let notes = (variant.engine == "spark").then(|| {
                format!(
                    "local[{}], spark.sql.shuffle.partitions={}",
                    variant.workers, variant.shuffle_partitions
                )
            });
            let notes = notes.or_else(|| {
                (variant.engine == "flink").then(|| {
                    let mini_batch = if engines::flink::mini_batch() {
                        "mini-batch 2 s / 50,000 rows"
                    } else {
                        "no mini-batch"
                    };
                    format!("parallelism {}, streaming mode, {mini_batch}", variant.workers)
                })
            });
            report::Measured {
                engine: variant.name,
                runs,
                notes,
                cores: variant.cores,
            }
        })
        .collect();
    let mut report = report::Report::new(&workload.workload, workload.records, &measured, &skipped);
    if final_digest {
        report.compared = compared_at_the_end(&workload.workload).to_string();
    }
    if workload.workload == "files" {
        report.compared = "per epoch (file), the lines read and the number of words whose count changed \
                           (the noop sink writes nothing)"
            .to_string();
    }
    let name = if workload.workload == "nexmark" {
        report.workload = format!("nexmark-{}", workload.query);
        report.compared = "the result's rows, in any order (of a windowed query, those of the windows \
                           both engines close; for q7, each window's highest price, since Nexmark's \
                           form writes every bid that ties and max_by one)"
            .to_string();
        report.workload.clone()
    } else {
        workload.workload.clone()
    };
    println!("{}", report.markdown());
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
        let path = dir.join(format!("{name}_throughput.png"));
        plot::throughput(&report, &path)?;
        eprintln!("wrote {}", path.display());
        if workload.workload == "latency" {
            let path = dir.join("latency_vs_rate.png");
            plot::latency_vs_rate(&report, &path)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(report)
}

/// What a comparison with an engine without epochs compares, per workload.
fn compared_at_the_end(workload: &str) -> &'static str {
    match workload {
        "wordcount" => "the final table: each word's last count (Flink has no epochs)",
        "windowed" => {
            "the final table: every window closed by the final watermark (the greatest event \
             time less the delay), with its count; Flink's bounded source closes the later \
             windows too, and they are left out"
        }
        _ => "the final table: each key's last row",
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::RunEngine {
            workload,
            engine,
            workers,
            shuffle_partitions,
            final_digest,
        } => {
            digest::keep_final_table(final_digest);
            // The engines that run in this process get the `tidewater` CLI's setting; the JVM
            // peers, which run in processes of their own, keep the system's (the mark would be
            // inherited).
            if !matches!(engine.as_str(), "spark" | "flink") {
                tidewater::process::avoid_transparent_huge_pages();
            }
            let run = run_engine(&workload, &engine, workers, shuffle_partitions)?;
            println!("{}", serde_json::to_string(&run)?);
        }
        Cmd::Compare {
            workload,
            engines,
            workers,
            spark_workers,
            spark_shuffle_partitions,
            flink_parallelism,
            rates,
            runs,
            out,
        } => {
            // The workload and every engine are checked before any runs, so that a typo fails at
            // once.
            if !WORKLOADS.split(", ").any(|w| w == workload.workload) {
                bail!("unknown workload `{}`; known: {WORKLOADS}", workload.workload);
            }
            let options = CompareOptions {
                engines,
                workers,
                spark_workers,
                spark_shuffle_partitions,
                flink_parallelism,
                rates,
                runs,
                out,
            };
            if workload.workload != "nexmark" {
                let report = compare(&workload, &options)?;
                if !report.outputs_equal {
                    bail!("the engines' outputs differ");
                }
                return Ok(());
            }
            nexmark_compare(&workload, &options)?;
        }
    }
    Ok(())
}
