//! `tidewater-bench`: runs workloads on several engines, each in a process of its own, checks
//! that they produce the same output, and reports medians of several runs.
//!
//! ```text
//! cargo run --release -p tidewater-bench -- compare --workload wordcount --records 10000000 \
//!     --engines tidewater,loop --workers 1,2 --runs 3 --out bench/results
//! ```

mod data;
mod digest;
mod engines;
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
    /// The workload: `wordcount` (words from lines, update mode, changed counts per epoch).
    #[arg(long, default_value = "wordcount")]
    workload: String,
    /// Records (words) in total.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Records per epoch (one epoch = one micro-batch).
    #[arg(long, default_value_t = 100_000)]
    epoch_records: usize,
    /// Distinct words the Zipf distribution draws from.
    #[arg(long, default_value_t = 50_000)]
    vocabulary: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs the engines on one workload and prints a markdown table (and writes JSON).
    Compare {
        #[command(flatten)]
        workload: Workload,
        /// Comma-separated engines: tidewater, loop.
        #[arg(long, default_value = "tidewater,loop", value_delimiter = ',')]
        engines: Vec<String>,
        /// Worker counts to run `tidewater` with.
        #[arg(long, default_value = "1,2", value_delimiter = ',')]
        workers: Vec<usize>,
        /// Runs per engine; medians are reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Directory for `<workload>.json`.
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
    },
}

fn run_engine(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    if workload.workload != "wordcount" {
        bail!("unknown workload `{}`; known: wordcount", workload.workload);
    }
    let lines = data::zipf_lines(workload.seed, workload.records, workload.vocabulary);
    let lines_per_epoch = (workload.epoch_records / data::WORDS_PER_LINE).max(1);
    match engine {
        "loop" => Ok(engines::hashmap_loop::word_count(&lines, lines_per_epoch)),
        "tidewater" => engines::tidewater::word_count(&lines, lines_per_epoch, workers),
        other => bail!("unknown engine `{other}`; known: tidewater, loop"),
    }
}

/// Runs one engine in a child process, so that its memory is measured alone.
fn run_child(workload: &Workload, engine: &str, workers: usize) -> anyhow::Result<EngineRun> {
    let exe = std::env::current_exe().context("locating tidewater-bench")?;
    let output = Command::new(exe)
        .args([
            "run-engine",
            "--engine",
            engine,
            "--workers",
            &workers.to_string(),
        ])
        .args(["--workload", &workload.workload])
        .args(["--records", &workload.records.to_string()])
        .args(["--epoch-records", &workload.epoch_records.to_string()])
        .args(["--vocabulary", &workload.vocabulary.to_string()])
        .args(["--seed", &workload.seed.to_string()])
        .output()
        .with_context(|| format!("running engine {engine}"))?;
    if !output.status.success() {
        bail!(
            "engine {engine} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| format!("reading engine {engine}'s report"))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::RunEngine {
            workload,
            engine,
            workers,
        } => {
            let run = run_engine(&workload, &engine, workers)?;
            println!("{}", serde_json::to_string(&run)?);
        }
        Cmd::Compare {
            workload,
            engines,
            workers,
            runs,
            out,
        } => {
            let mut measured = Vec::new();
            for engine in &engines {
                let variants: Vec<(String, usize)> = match engine.as_str() {
                    "tidewater" => workers.iter().map(|w| (format!("tidewater-w{w}"), *w)).collect(),
                    other => vec![(other.to_string(), 1)],
                };
                for (name, w) in variants {
                    let mut results = Vec::new();
                    for run in 0..runs.max(1) {
                        eprintln!("{name}: run {}/{}", run + 1, runs.max(1));
                        results.push(run_child(&workload, engine, w)?);
                    }
                    measured.push((name, results));
                }
            }
            let report = report::Report::new(&workload.workload, workload.records, &measured);
            println!("{}", report.markdown());
            if let Some(dir) = out {
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{}.json", workload.workload));
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
                eprintln!("wrote {}", path.display());
            }
            if !report.outputs_equal {
                bail!("the engines' outputs differ");
            }
        }
    }
    Ok(())
}
