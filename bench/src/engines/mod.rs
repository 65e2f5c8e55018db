//! The engines a workload can run on. Each runs in its own process (see `main.rs`) and
//! reports an [`EngineRun`].

pub mod dstream;
pub mod epoch_watermark;
pub mod feldera;
pub mod files;
pub mod flink;
pub mod hashmap_loop;
pub mod latency;
pub mod microbatch;
pub mod nexmark;
pub mod python_engine;
pub mod sessions;
pub mod spark;
pub mod stream_join;
pub mod tidewater;
pub mod windowed;

/// `bench/procmem.py`, the peak-memory reading the Spark and Flink scripts import: written
/// beside them in each run's temporary directory, where Python finds it next to the script.
pub(crate) const PROCMEM: &str = include_str!("../../procmem.py");

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one run of one engine measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EngineRun {
    /// Wall time from the first record offered to the last epoch written, seconds.
    pub seconds: f64,
    /// Each epoch's processing time, ms.
    pub epoch_ms: Vec<f64>,
    /// Digest of the output (see `digest.rs`).
    pub digest: String,
    /// Peak resident memory of the engine's process, MiB (for `spark`, its whole process tree).
    pub peak_rss_mb: Option<f64>,
    /// Start-up time kept out of `seconds` (for `spark`: the JVM and the session), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_s: Option<f64>,
    /// The median per batch of each phase the engine reports (Spark's `durationMs`), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_ms_median: Option<BTreeMap<String, f64>>,
    /// `latency` workload: the median latency over all lines, from a line's send to the output
    /// of the epoch that holds it, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p50_ms: Option<f64>,
    /// `latency` workload: the 99th percentile of the same, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99_ms: Option<f64>,
}

impl EngineRun {
    /// A run measured in this process: its wall time, epoch times and output digest, with the
    /// process's peak memory; the optional figures (start-up, phases, latency) unset.
    pub fn measured(seconds: f64, epoch_ms: Vec<f64>, digest: String) -> Self {
        EngineRun {
            seconds,
            epoch_ms,
            digest,
            peak_rss_mb: peak_rss_mb(),
            startup_s: None,
            phase_ms_median: None,
            latency_p50_ms: None,
            latency_p99_ms: None,
        }
    }
}

/// The process's peak resident set (`VmHWM`), in MiB, where /proc has it.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
