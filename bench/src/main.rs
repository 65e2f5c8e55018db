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
mod plot;
mod report;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use engines::EngineRun;

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
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs the engines on one workload and prints a markdown table (and writes JSON and a plot).
    Compare {
        #[command(flatten)]
        workload: Workload,
        /// Comma-separated engines: tidewater, dstream, microbatch, microbatch-versioned, loop, spark.
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
    },
}

const ENGINES: &str = "tidewater, dstream, microbatch, microbatch-versioned, loop, spark";

const WORKLOADS: &str = "wordcount, join, latency, windowed, stream_join, sessions";

/// The engines of the `stream_join` workload.
const STREAM_JOIN_ENGINES: &str = "tidewater, microbatch, loop";

/// The engines of the `sessions` workload.
const SESSIONS_ENGINES: &str = "tidewater, microbatch, loop";

/// The engines of the `windowed` workload.
const WINDOWED_ENGINES: &str = "tidewater, microbatch, loop, spark";

/// One engine as `compare` runs it: the name it reports and the arguments of its child.
struct Variant {
    name: String,
    engine: String,
    workers: usize,
    shuffle_partitions: usize,
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
        other => bail!("unknown engine `{other}`; known: {ENGINES}"),
    }
}

fn join_count(
    workload: &Workload,
    engine: &str,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    let transactions = data::transactions(workload.seed, workload.records, workload.vocabulary);
    let users = data::users_csv(&data::users(workload.vocabulary));
    // Every engine reads the users table from this file, inside its timed run.
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
fn run_child(workload: &Workload, variant: &Variant) -> anyhow::Result<EngineRun> {
    let exe = std::env::current_exe().context("locating tidewater-bench")?;
    let output = Command::new(exe)
        .args(["run-engine", "--engine", &variant.engine])
        .args(["--workers", &variant.workers.to_string()])
        .args(["--shuffle-partitions", &variant.shuffle_partitions.to_string()])
        .args(["--workload", &workload.workload])
        .args(["--records", &workload.records.to_string()])
        .args(["--epoch-records", &workload.epoch_records.to_string()])
        .args(["--vocabulary", &workload.vocabulary.to_string()])
        .args(["--seed", &workload.seed.to_string()])
        .args(["--rate", &workload.rate.to_string()])
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
) -> anyhow::Result<Plan> {
    let one = |name: &str, workers: usize, shuffle_partitions: usize| Variant {
        name: name.to_string(),
        engine: engine.to_string(),
        workers,
        shuffle_partitions,
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
    if engine == "dstream" && workload == "join" {
        return Ok(Plan::Skip(
            "the dstream engine runs the wordcount and latency workloads only".to_string(),
        ));
    }
    Ok(Plan::Run(match engine {
        "tidewater" | "dstream" => workers
            .iter()
            .map(|w| one(&format!("{engine}-w{w}"), *w, 0))
            .collect(),
        "loop" | "microbatch" | "microbatch-versioned" => vec![one(engine, 1, 0)],
        "spark" => match engines::spark::available() {
            Ok(_) => vec![one(engine, spark_workers, spark_shuffle_partitions)],
            Err(reason) => return Ok(Plan::Skip(reason)),
        },
        other => bail!("unknown engine `{other}`; known: {ENGINES}"),
    }))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::RunEngine {
            workload,
            engine,
            workers,
            shuffle_partitions,
        } => {
            let run = run_engine(&workload, &engine, workers, shuffle_partitions)?;
            println!("{}", serde_json::to_string(&run)?);
        }
        Cmd::Compare {
            workload,
            engines,
            workers,
            spark_workers,
            spark_shuffle_partitions,
            rates,
            runs,
            out,
        } => {
            // The workload and every engine are checked before any runs, so that a typo fails at
            // once.
            if !WORKLOADS.split(", ").any(|w| w == workload.workload) {
                bail!("unknown workload `{}`; known: {WORKLOADS}", workload.workload);
            }
            let plans = engines
                .iter()
                .map(|e| {
                    plan(
                        &workload.workload,
                        e,
                        &workers,
                        spark_workers,
                        spark_shuffle_partitions,
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
            let mut results: Vec<Vec<_>> = rows.iter().map(|_| Vec::new()).collect();
            for run in 0..runs.max(1) {
                for ((variant, rate), results) in rows.iter().zip(&mut results) {
                    let workload = Workload {
                        rate: rate.unwrap_or(workload.rate),
                        ..workload.clone()
                    };
                    eprintln!("{}: run {}/{}", variant.name, run + 1, runs.max(1));
                    results.push(run_child(&workload, variant)?);
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
                    report::Measured {
                        engine: variant.name,
                        runs,
                        notes,
                    }
                })
                .collect();
            let report = report::Report::new(&workload.workload, workload.records, &measured, &skipped);
            println!("{}", report.markdown());
            if let Some(dir) = out {
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{}.json", workload.workload));
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
                eprintln!("wrote {}", path.display());
                let path = dir.join(format!("{}_throughput.png", workload.workload));
                plot::throughput(&report, &path)?;
                eprintln!("wrote {}", path.display());
                if workload.workload == "latency" {
                    let path = dir.join("latency_vs_rate.png");
                    plot::latency_vs_rate(&report, &path)?;
                    eprintln!("wrote {}", path.display());
                }
            }
            if !report.outputs_equal {
                bail!("the engines' outputs differ");
            }
        }
    }
    Ok(())
}
