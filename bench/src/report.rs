//! The comparison report: medians per engine, as a markdown table and as JSON.

use serde::Serialize;

use crate::engines::EngineRun;

/// One engine's runs, as `compare` collected them.
#[derive(Debug)]
pub struct Measured {
    /// The name the report shows (`tidewater-w2`, `spark`, ...).
    pub engine: String,
    pub runs: Vec<EngineRun>,
    /// How the engine was set up, where that matters (`local[2]` for Spark).
    pub notes: Option<String>,
    /// The cores it was given (workers, task threads or parallelism), for the per-core rate.
    pub cores: usize,
}

/// One engine's line of the report. Fields that do not apply are null; a skipped engine has
/// only its name and the reason.
#[derive(Debug, Default, Serialize)]
pub struct EngineReport {
    pub engine: String,
    pub records_per_s: Option<f64>,
    /// `records_per_s` over the cores the engine was given: Flink's Nexmark figures are per
    /// core.
    pub records_per_s_per_core: Option<f64>,
    pub p50_epoch_ms: Option<f64>,
    pub p99_epoch_ms: Option<f64>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub runs: usize,
    pub seconds_median: Option<f64>,
    pub seconds_all: Vec<f64>,
    /// Median start-up time kept out of the measured seconds (Spark's JVM and session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_s_median: Option<f64>,
    /// The median run's per-batch phase medians, where the engine reports phases (Spark).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_ms_median: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Why the engine did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The whole report (`<out>/<workload>.json`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub records: usize,
    /// Every run of every engine that ran gave the same digest.
    pub outputs_equal: bool,
    /// What the digests cover: every epoch's rows, or only the final table when an engine
    /// without epochs ran.
    pub compared: String,
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

/// Engines whose throughput the table divides by, when they ran.
const BASELINES: [&str; 3] = ["loop", "microbatch", "spark"];

impl EngineReport {
    fn measured(records: usize, measured: &Measured) -> Self {
        let runs = &measured.runs;
        let mut seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
        let seconds_all = seconds.clone();
        let seconds_median = median(&mut seconds);
        // The run whose time is the median supplies the epoch percentiles.
        let typical = runs.iter().find(|r| Some(r.seconds) == seconds_median);
        let epochs = typical.map(|r| r.epoch_ms.clone()).unwrap_or_default();
        let mut rss: Vec<f64> = runs.iter().filter_map(|r| r.peak_rss_mb).collect();
        let mut startup: Vec<f64> = runs.iter().filter_map(|r| r.startup_s).collect();
        let mut latency_p50: Vec<f64> = runs.iter().filter_map(|r| r.latency_p50_ms).collect();
        let mut latency_p99: Vec<f64> = runs.iter().filter_map(|r| r.latency_p99_ms).collect();
        EngineReport {
            engine: measured.engine.clone(),
            records_per_s: seconds_median.map(|s| records as f64 / s),
            records_per_s_per_core: seconds_median.map(|s| records as f64 / s / measured.cores.max(1) as f64),
            p50_epoch_ms: percentile(&epochs, 50.0),
            p99_epoch_ms: percentile(&epochs, 99.0),
            latency_p50_ms: median(&mut latency_p50),
            latency_p99_ms: median(&mut latency_p99),
            peak_rss_mb: median(&mut rss),
            runs: runs.len(),
            seconds_median,
            seconds_all,
            startup_s_median: median(&mut startup),
            phase_ms_median: typical.and_then(|r| r.phase_ms_median.clone()),
            notes: measured.notes.clone(),
            skipped: None,
        }
    }
}

impl Report {
    /// The report of the engines that ran and of those skipped, with the reason.
    pub fn new(workload: &str, records: usize, measured: &[Measured], skipped: &[(String, String)]) -> Self {
        let digests: Vec<&str> = measured
            .iter()
            .flat_map(|m| m.runs.iter().map(|r| r.digest.as_str()))
            .collect();
        let outputs_equal = digests.windows(2).all(|w| w[0] == w[1]);
        let mut engines: Vec<EngineReport> = measured
            .iter()
            .map(|m| EngineReport::measured(records, m))
            .collect();
        engines.extend(skipped.iter().map(|(engine, reason)| EngineReport {
            engine: engine.clone(),
            skipped: Some(reason.clone()),
            ..EngineReport::default()
        }));
        Report {
            workload: workload.to_string(),
            records,
            outputs_equal,
            compared: "every epoch's output rows, in order".to_string(),
            engines,
        }
    }

    /// The throughput of `engine`, if it ran.
    fn records_per_s(&self, engine: &str) -> Option<f64> {
        self.engines
            .iter()
            .find(|e| e.engine == engine)
            .and_then(|e| e.records_per_s)
    }

    /// The report as a markdown table, with each engine's throughput relative to the baselines
    /// (`loop`, `microbatch`, `spark`) that ran.
    pub fn markdown(&self) -> String {
        let baselines: Vec<(&str, f64)> = BASELINES
            .iter()
            .filter_map(|b| self.records_per_s(b).map(|r| (*b, r)))
            .collect();
        let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        let mut s = format!(
            "workload `{}`, {} records, outputs equal: {} (compared: {})\n\n| engine | records/s | per core |",
            self.workload, self.records, self.outputs_equal, self.compared
        );
        for (name, _) in &baselines {
            s.push_str(&format!(" vs {name} |"));
        }
        // Latency columns (median over runs of each run's percentile), where an engine has them.
        let latency = self.engines.iter().any(|e| e.latency_p50_ms.is_some());
        if latency {
            s.push_str(" latency p50 ms | latency p99 ms |");
        }
        let latency_columns = if latency { 2 } else { 0 };
        s.push_str(" p50 epoch ms | p99 epoch ms | peak RSS MiB | runs (s) |\n|---|---|---|");
        s.push_str(&"---|".repeat(baselines.len() + latency_columns + 4));
        s.push('\n');
        let columns = baselines.len() + latency_columns + 7;
        for e in &self.engines {
            let Some(records_per_s) = e.records_per_s else {
                let reason = e.skipped.as_deref().unwrap_or("did not run");
                s.push_str(&format!(
                    "| {} | skipped: {reason} |{}\n",
                    e.engine,
                    " |".repeat(columns - 2)
                ));
                continue;
            };
            let per_core = e.records_per_s_per_core.map_or("-".to_string(), rate);
            s.push_str(&format!(
                "| {} | {} | {per_core} |",
                e.engine,
                rate(records_per_s)
            ));
            for (_, baseline) in &baselines {
                s.push_str(&format!(" {} |", ratio(records_per_s / baseline)));
            }
            if latency {
                s.push_str(&format!(
                    " {} | {} |",
                    fmt(e.latency_p50_ms),
                    fmt(e.latency_p99_ms)
                ));
            }
            let runs: Vec<String> = e.seconds_all.iter().map(|t| format!("{t:.2}")).collect();
            s.push_str(&format!(
                " {} | {} | {} | {} |\n",
                fmt(e.p50_epoch_ms),
                fmt(e.p99_epoch_ms),
                fmt(e.peak_rss_mb),
                runs.join(", ")
            ));
        }
        let notes: Vec<String> = self
            .engines
            .iter()
            .filter(|e| e.notes.is_some() || e.startup_s_median.is_some())
            .map(|e| {
                let mut note = format!("- {}:", e.engine);
                if let Some(n) = &e.notes {
                    note.push_str(&format!(" {n};"));
                }
                if let Some(s) = e.startup_s_median {
                    note.push_str(&format!(" start-up {s:.2} s (median), not in its time;"));
                }
                note.pop();
                note
            })
            .collect();
        if !notes.is_empty() {
            s.push('\n');
            s.push_str(&notes.join("\n"));
            s.push('\n');
        }
        s
    }
}

/// Records per second for people: `11.97 M`, `850 k`, `0`.
pub fn rate(records_per_s: f64) -> String {
    if records_per_s >= 1e6 {
        format!("{:.2} M", records_per_s / 1e6)
    } else if records_per_s >= 1e3 {
        format!("{:.0} k", records_per_s / 1e3)
    } else {
        format!("{records_per_s:.0}")
    }
}

/// A throughput ratio with two significant digits below 1: `1.25x`, `0.13x`, `0.0038x`.
fn ratio(r: f64) -> String {
    if r >= 0.1 || r == 0.0 {
        format!("{r:.2}x")
    } else {
        let decimals = (1.0 - r.log10().floor()) as usize;
        format!("{r:.decimals$}x")
    }
}

/// Thousands separated: `10,000,000`.
pub fn thousands(mut n: usize) -> String {
    let mut groups = Vec::new();
    loop {
        let group = n % 1000;
        n /= 1000;
        if n == 0 {
            groups.push(group.to_string());
            break;
        }
        groups.push(format!("{group:03}"));
    }
    groups.reverse();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seconds: f64, digest: &str) -> EngineRun {
        EngineRun {
            seconds,
            epoch_ms: vec![1.0, 2.0, 3.0],
            digest: digest.to_string(),
            peak_rss_mb: Some(10.0),
            startup_s: None,
            phase_ms_median: None,
            latency_p50_ms: None,
            latency_p99_ms: None,
        }
    }

    fn measured(engine: &str, runs: Vec<EngineRun>) -> Measured {
        Measured {
            engine: engine.to_string(),
            runs,
            notes: None,
            cores: 1,
        }
    }

    #[test]
    fn medians_ratios_and_skipped_engines() {
        let report = Report::new(
            "wordcount",
            1_000_000,
            &[
                measured("loop", vec![run(0.5, "d"), run(0.1, "d"), run(0.2, "d")]),
                measured("microbatch", vec![run(0.4, "d")]),
            ],
            &[("spark".to_string(), "no PySpark".to_string())],
        );
        assert!(report.outputs_equal);
        assert_eq!(report.engines[0].seconds_median, Some(0.2));
        assert_eq!(report.engines[0].records_per_s, Some(5e6));
        assert_eq!(report.engines[2].records_per_s, None);
        let table = report.markdown();
        assert!(
            table.contains("| loop | 5.00 M | 5.00 M | 1.00x | 2.00x |"),
            "{table}"
        );
        assert!(
            table.contains("| microbatch | 2.50 M | 2.50 M | 0.50x | 1.00x |"),
            "{table}"
        );
        assert!(table.contains("| spark | skipped: no PySpark |"), "{table}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["engines"][2]["skipped"], "no PySpark");
        assert!(json["engines"][2]["records_per_s"].is_null());
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(ratio(1.254), "1.25x");
        assert_eq!(ratio(0.13), "0.13x");
        assert_eq!(ratio(0.0391), "0.039x");
        assert_eq!(ratio(0.00385), "0.0039x");
        assert_eq!(rate(850_000.0), "850 k");
        assert_eq!(rate(0.0), "0");
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn latency_columns_and_series() {
        let mut fast = run(2.0, "d");
        fast.latency_p50_ms = Some(1.5);
        fast.latency_p99_ms = Some(4.0);
        let mut slow = fast.clone();
        slow.latency_p50_ms = Some(30.0);
        let report = Report::new(
            "latency",
            1000,
            &[measured("loop@100", vec![fast]), measured("loop@10", vec![slow])],
            &[("spark".to_string(), "not run".to_string())],
        );
        let table = report.markdown();
        assert!(table.contains("latency p50 ms | latency p99 ms |"), "{table}");
        assert!(
            table.contains("| loop@100 | 500 | 500 | 1.5 | 4.0 | 2.0 | 3.0 | 10.0 | 2.00 |"),
            "{table}"
        );
        assert!(
            table.contains("| spark | skipped: not run | | | | | | | |\n"),
            "{table}"
        );
        let series = crate::plot::latency_series(&report);
        assert_eq!(
            series,
            vec![("loop".to_string(), vec![(10.0, 30.0, 4.0), (100.0, 1.5, 4.0)])]
        );
    }

    #[test]
    fn different_digests_are_reported() {
        let report = Report::new(
            "wordcount",
            10,
            &[
                measured("loop", vec![run(1.0, "a")]),
                measured("microbatch", vec![run(1.0, "b")]),
            ],
            &[],
        );
        assert!(!report.outputs_equal);
    }
}
