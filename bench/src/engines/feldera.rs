//! `feldera`: the workloads written in the API of Feldera's incremental engine, the `dbsp`
//! crate, used as a library, so Tidewater can be compared with the fastest incremental engine
//! users would pick instead. Built only with `--features feldera` (dbsp is a heavy build);
//! without it the engine is skipped with that reason, as `spark` is when not installed.
//!
//! Four workloads are written, each a circuit in dbsp's own idioms, after its tutorial,
//! tests and benches; each epoch is one `transaction()`, and the output goes through
//! `accumulate_output()` and `concat().consolidate()`, which gather every internal step of the
//! transaction (a plain `output()` keeps only the last one and gives wrong results). A
//! transaction's change to a table retracts each changed row's old value and inserts its new
//! one: the insertions are the epoch's rows, digested as every engine's are.
//!
//! - `wordcount` (`word_count.rs`): the lines are an input Z-set, split into words inside the
//!   circuit (the fair comparison: every other engine splits too), counted by the incremental
//!   `weighted_count`.
//! - `windowed` (`windowed.rs`): per key and 10 s tumbling window of event time, under Spark's
//!   epoch watermark, in append mode. The watermark is computed inside the circuit
//!   (`waterline_monotonic`, delayed by whole transactions with
//!   `transaction_delay_with_initial_value`), late events are dropped by
//!   `controlled_key_filter`, the counts are a linear aggregate that forgets the groups of
//!   written windows, and the `window` operator selects the windows each epoch's watermark
//!   closes. Outside it: the trailing transaction without data, and whether it is written
//!   (read from the watermarks the circuit outputs).
//! - `join` (`join.rs`): the users table and the transactions are both input Z-sets indexed by
//!   user; the table is read from the same CSV file as the other engines read, inside the timed
//!   run, and fed in the first epoch's transaction; `join_index` and `aggregate_linear` give
//!   each country's `(count, sum)`.
//! - `nexmark` (`nexmark.rs`): the queries Tidewater runs, q0, q1, q2, q3, q7 and q8, each a
//!   circuit over the persons, auctions and bids as input Z-sets. Each epoch reads and parses
//!   one JSON-lines file of each kind the query uses (serde_json into typed records), inside
//!   the clock, as Tidewater's `maxFilesPerTrigger` 1 run does. q7 and q8 follow Tidewater's
//!   1 s watermark and Spark's epoch rules, with the `windowed` circuit's watermark helpers.
//!
//! For `wordcount`, `windowed` and `join`, the clock starts as the circuit is built (as
//! Tidewater's starts with its query) and stops after the last transaction's output is
//! digested; the input batches are prepared before it, as Tidewater's rows are. For
//! `nexmark`, as Tidewater's Nexmark run: the clock covers building the circuit, reading and
//! parsing every file, the transactions and reading the output off the circuit, into a sink
//! that keeps nothing; the digest comes from a second, untimed run. `--workers` is dbsp's
//! worker threads.

#[cfg(feature = "feldera")]
mod driver;
#[cfg(feature = "feldera")]
mod join;
#[cfg(feature = "feldera")]
mod nexmark;
#[cfg(feature = "feldera")]
mod windowed;
#[cfg(feature = "feldera")]
mod word_count;

use super::EngineRun;
use crate::data::{Event, Transaction};

/// Why the engine is skipped when the crate is built without it.
const NOT_BUILT: &str =
    "built without the `feldera` feature (cargo build --release -p tidewater-bench --features feldera)";

/// The workloads the engine runs.
pub const WORKLOADS: [&str; 4] = ["wordcount", "windowed", "join", "nexmark"];

/// Whether the engine is built in: `Err` with the reason it is skipped otherwise.
pub fn available() -> Result<(), String> {
    if cfg!(feature = "feldera") {
        Ok(())
    } else {
        Err(NOT_BUILT.to_string())
    }
}

/// The error of a run asked of an engine that is not built.
#[cfg(not(feature = "feldera"))]
fn not_built() -> anyhow::Result<EngineRun> {
    anyhow::bail!("the feldera engine is not built: {NOT_BUILT}")
}

/// Runs the word count over `lines`, `lines_per_epoch` lines an epoch, on a dbsp circuit of
/// `workers` worker threads.
pub fn word_count(lines: &[String], lines_per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    #[cfg(feature = "feldera")]
    return word_count::run(lines, lines_per_epoch, workers);
    #[cfg(not(feature = "feldera"))]
    {
        let _ = (lines, lines_per_epoch, workers);
        not_built()
    }
}

/// Runs the `windowed` workload over `events`, `per_epoch` events an epoch, on a dbsp circuit
/// of `workers` worker threads.
pub fn windowed(events: &[Event], per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    #[cfg(feature = "feldera")]
    return windowed::run(events, per_epoch, workers);
    #[cfg(not(feature = "feldera"))]
    {
        let _ = (events, per_epoch, workers);
        not_built()
    }
}

/// Runs the `join` workload over `transactions`, `per_epoch` an epoch, with the users table
/// of `users_csv`, on a dbsp circuit of `workers` worker threads.
pub fn join_count(
    transactions: &[Transaction],
    users_csv: &std::path::Path,
    per_epoch: usize,
    workers: usize,
) -> anyhow::Result<EngineRun> {
    #[cfg(feature = "feldera")]
    return join::run(transactions, users_csv, per_epoch, workers);
    #[cfg(not(feature = "feldera"))]
    {
        let _ = (transactions, users_csv, per_epoch, workers);
        not_built()
    }
}

/// Runs the Nexmark query `query` over the JSON-lines folders under `dir` on a dbsp circuit of
/// `workers` worker threads; the digest keeps the windows closed by `watermark_ms`, as
/// Tidewater's does.
pub fn nexmark(
    dir: &std::path::Path,
    query: &super::nexmark::Query,
    workers: usize,
    watermark_ms: i64,
) -> anyhow::Result<EngineRun> {
    #[cfg(feature = "feldera")]
    return nexmark::run(dir, query, workers, watermark_ms);
    #[cfg(not(feature = "feldera"))]
    {
        let _ = (dir, query, workers, watermark_ms);
        not_built()
    }
}
