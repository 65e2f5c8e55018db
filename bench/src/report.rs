//! The comparison report: medians per engine, as a markdown table and as JSON.

use serde::Serialize;

use crate::engines::EngineRun;

/// One engine's line of the report. Fields that do not apply are null.
#[derive(Debug, Serialize)]
pub struct EngineReport {
    pub engine: String,
    pub records_per_s: f64,
    pub p50_epoch_ms: Option<f64>,
    pub p99_epoch_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub runs: usize,
    pub seconds_median: f64,
    pub seconds_all: Vec<f64>,
}

/// The whole report (`<out>/<workload>.json`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub records: usize,
    pub outputs_equal: bool,
    pub engines: Vec<EngineReport>,
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    Some(sorted[rank])
}

impl Report {
    pub fn new(workload: &str, records: usize, measured: &[(String, Vec<EngineRun>)]) -> Self {
        let digests: Vec<&str> = measured
            .iter()
            .flat_map(|(_, runs)| runs.iter().map(|r| r.digest.as_str()))
            .collect();
        let outputs_equal = digests.windows(2).all(|w| w[0] == w[1]);
        let engines = measured
            .iter()
            .map(|(engine, runs)| {
                let mut seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
                let seconds_all = seconds.clone();
                let seconds_median = median(&mut seconds).unwrap_or(f64::NAN);
                // The run whose time is the median supplies the epoch percentiles.
                let typical = runs.iter().find(|r| r.seconds == seconds_median);
                let epochs = typical.map(|r| r.epoch_ms.clone()).unwrap_or_default();
                let mut rss: Vec<f64> = runs.iter().filter_map(|r| r.peak_rss_mb).collect();
                EngineReport {
                    engine: engine.clone(),
                    records_per_s: records as f64 / seconds_median,
                    p50_epoch_ms: percentile(&epochs, 50.0),
                    p99_epoch_ms: percentile(&epochs, 99.0),
                    latency_p50_ms: None,
                    latency_p99_ms: None,
                    peak_rss_mb: median(&mut rss),
                    runs: runs.len(),
                    seconds_median,
                    seconds_all,
                }
            })
            .collect();
        Report {
            workload: workload.to_string(),
            records,
            outputs_equal,
            engines,
        }
    }

    /// The report as a markdown table, with each engine's throughput relative to `loop`.
    pub fn markdown(&self) -> String {
        let baseline = self
            .engines
            .iter()
            .find(|e| e.engine == "loop")
            .map(|e| e.records_per_s);
        let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let mut s = format!(
            "workload `{}`, {} records, outputs equal: {}\n\n| engine | records/s | vs loop | p50 epoch ms | p99 epoch ms | peak RSS MiB | runs (s) |\n|---|---|---|---|---|---|---|\n",
            self.workload, self.records, self.outputs_equal
        );
        for e in &self.engines {
            let ratio = baseline.map_or("-".to_string(), |b| format!("{:.2}x", e.records_per_s / b));
            let runs: Vec<String> = e.seconds_all.iter().map(|t| format!("{t:.2}")).collect();
            s.push_str(&format!(
                "| {} | {:.2} M | {} | {} | {} | {} | {} |\n",
                e.engine,
                e.records_per_s / 1e6,
                ratio,
                fmt(e.p50_epoch_ms),
                fmt(e.p99_epoch_ms),
                fmt(e.peak_rss_mb),
                runs.join(", ")
            ));
        }
        s
    }
}
