//! `/metrics`: the queries' figures in Prometheus' text format (version 0.0.4), one family per
//! metric, one sample per query (label `query`: its name, or its id when it has none).
//!
//! Written here rather than through a metrics registry: every figure already lives in the
//! queries' progress and run totals, so a scrape reads them once, off the hot path, and
//! nothing is counted twice. The format's rules that matter are kept: one `# HELP` and
//! `# TYPE` per family, label values escaped, histogram buckets cumulative with `+Inf`.

use std::fmt::Write;

use super::{DStreamView, QueryView};

/// Upper bounds of the batch duration histogram's buckets, seconds (Prometheus' defaults
/// reach 10 s; epochs of a long trigger interval may take longer).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Sums over a query's whole run, which the counters report (recent progress reports are
/// bounded, the counters are not). Updated once per epoch on the driver.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunTotals {
    /// Rows read.
    pub input_rows: u64,
    /// Rows handed to the sink.
    pub output_rows: u64,
    /// Epochs run.
    pub batches: u64,
    /// Rows stateful operators dropped as late.
    pub dropped_by_watermark: u64,
    /// Epochs whose duration was at most each of [`DURATION_BUCKETS`] (cumulative).
    pub duration_buckets: [u64; DURATION_BUCKETS.len()],
    /// All epochs' durations, seconds.
    pub duration_seconds: f64,
}

impl RunTotals {
    /// Counts one more epoch of `input` rows in, `output` rows out, `dropped` late rows,
    /// that took `seconds`.
    pub fn add(&mut self, input: u64, output: u64, dropped: u64, seconds: f64) {
        self.input_rows += input;
        self.output_rows += output;
        self.batches += 1;
        self.dropped_by_watermark += dropped;
        self.duration_seconds += seconds;
        for (bound, count) in DURATION_BUCKETS.iter().zip(self.duration_buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }
}

/// A label value as the text format writes it: `\`, `"` and line feeds escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: integers without a fraction, `NaN` and infinities by their names.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

/// One family: its header and its samples `(labels, value)`; nothing when it has none.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    if samples.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {}", number(*value));
    }
}

/// The text of `/metrics` for these queries (in start order) and DStream contexts.
///
/// A label names one series: when several runs share a name (a query restarted in the same
/// process), the latest started is the one reported.
pub fn render(queries: &[QueryView], dstreams: &[DStreamView]) -> String {
    let mut latest: Vec<&QueryView> = Vec::new();
    for q in queries {
        match latest.iter_mut().find(|kept| kept.label() == q.label()) {
            Some(kept) => *kept = q,
            None => latest.push(q),
        }
    }
    let queries: Vec<QueryView> = latest.into_iter().cloned().collect();
    let queries = &queries[..];
    let mut out = String::new();
    let label = |q: &QueryView| format!("query=\"{}\"", escape(q.label()));
    let each = |f: &dyn Fn(&QueryView) -> Option<f64>| -> Vec<(String, f64)> {
        queries.iter().filter_map(|q| Some((label(q), f(q)?))).collect()
    };
    family(
        &mut out,
        "tidewater_input_rows_total",
        "counter",
        "Rows the query's sources read.",
        &each(&|q| Some(q.totals.input_rows as f64)),
    );
    family(
        &mut out,
        "tidewater_output_rows_total",
        "counter",
        "Rows the query handed to its sink.",
        &each(&|q| Some(q.totals.output_rows as f64)),
    );
    family(
        &mut out,
        "tidewater_batches_total",
        "counter",
        "Epochs (micro-batches) the query ran.",
        &each(&|q| Some(q.totals.batches as f64)),
    );
    family(
        &mut out,
        "tidewater_dropped_by_watermark_rows_total",
        "counter",
        "Rows the query's stateful operators dropped as late (numRowsDroppedByWatermark).",
        &each(&|q| Some(q.totals.dropped_by_watermark as f64)),
    );
    family(
        &mut out,
        "tidewater_input_rows_per_second",
        "gauge",
        "Rows per second arriving, in the last epoch (inputRowsPerSecond).",
        &each(&|q| q.last.as_ref().map(|l| l.input_rows_per_second)),
    );
    family(
        &mut out,
        "tidewater_processed_rows_per_second",
        "gauge",
        "Rows per second processed, in the last epoch (processedRowsPerSecond).",
        &each(&|q| q.last.as_ref().map(|l| l.processed_rows_per_second)),
    );
    family(
        &mut out,
        "tidewater_batch_duration_seconds",
        "gauge",
        "The last epoch's duration (durationMs.triggerExecution), seconds.",
        &each(&|q| q.last.as_ref().map(|l| l.batch_duration_seconds)),
    );
    let histograms: Vec<&QueryView> = queries.iter().filter(|q| q.totals.batches > 0).collect();
    if !histograms.is_empty() {
        let name = "tidewater_batch_duration_histogram_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Epochs' durations over the whole run, seconds."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for q in histograms {
            let l = label(q);
            for (bound, count) in DURATION_BUCKETS.iter().zip(q.totals.duration_buckets) {
                let _ = writeln!(out, "{name}_bucket{{{l},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{l},le=\"+Inf\"}} {}", q.totals.batches);
            let _ = writeln!(out, "{name}_sum{{{l}}} {}", number(q.totals.duration_seconds));
            let _ = writeln!(out, "{name}_count{{{l}}} {}", q.totals.batches);
        }
    }
    family(
        &mut out,
        "tidewater_watermark_seconds",
        "gauge",
        "The event-time watermark of the last epoch, seconds since the Unix epoch.",
        &each(&|q| q.last.as_ref().and_then(|l| l.watermark_seconds)),
    );
    let per_operator = |f: &dyn Fn(&super::OperatorFigures) -> f64| -> Vec<(String, f64)> {
        queries
            .iter()
            .flat_map(|q| {
                q.last.iter().flat_map(move |l| {
                    l.state_operators.iter().enumerate().map(move |(i, s)| {
                        (
                            format!("{},operator=\"{}\",index=\"{i}\"", label(q), escape(&s.name)),
                            f(s),
                        )
                    })
                })
            })
            .collect()
    };
    family(
        &mut out,
        "tidewater_state_rows",
        "gauge",
        "Rows (keys) a stateful operator holds after the last epoch (numRowsTotal).",
        &per_operator(&|s| s.rows as f64),
    );
    family(
        &mut out,
        "tidewater_state_memory_bytes",
        "gauge",
        "Estimated bytes of a stateful operator's state after the last epoch (memoryUsedBytes).",
        &per_operator(&|s| s.memory_bytes as f64),
    );
    let lags: Vec<(String, f64)> = queries
        .iter()
        .flat_map(|q| {
            q.last.iter().flat_map(move |l| {
                l.sources.iter().filter_map(move |s| {
                    Some((
                        format!("{},source=\"{}\"", label(q), escape(&s.description)),
                        s.lag? as f64,
                    ))
                })
            })
        })
        .collect();
    family(
        &mut out,
        "tidewater_source_lag_rows",
        "gauge",
        "How far a source is behind: Kafka, its partitions' end offsets minus the offsets epochs took; others, records listed that no epoch took yet.",
        &lags,
    );
    let contexts = |f: &dyn Fn(&DStreamView) -> Option<f64>| -> Vec<(String, f64)> {
        dstreams
            .iter()
            .filter_map(|d| Some((format!("context=\"{}\"", escape(&d.name)), f(d)?)))
            .collect()
    };
    family(
        &mut out,
        "tidewater_dstream_batches_total",
        "counter",
        "Batches a DStream context ran.",
        &contexts(&|d| Some(d.batches_total as f64)),
    );
    family(
        &mut out,
        "tidewater_dstream_records_total",
        "counter",
        "Records a DStream context's sources fed into its batches.",
        &contexts(&|d| Some(d.records_total as f64)),
    );
    family(
        &mut out,
        "tidewater_dstream_batch_records",
        "gauge",
        "Records in the last batch of a DStream context.",
        &contexts(&|d| d.batches.last().map(|b| b.num_records as f64)),
    );
    family(
        &mut out,
        "tidewater_dstream_scheduling_delay_seconds",
        "gauge",
        "The last batch's scheduling delay: from its time to the start of its processing.",
        &contexts(&|d| d.batches.last().map(|b| b.scheduling_delay as f64 / 1000.0)),
    );
    family(
        &mut out,
        "tidewater_dstream_processing_delay_seconds",
        "gauge",
        "The last batch's processing delay: from its start until every output wrote it.",
        &contexts(&|d| d.batches.last().map(|b| b.processing_delay as f64 / 1000.0)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_format_says() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }

    #[test]
    fn buckets_are_cumulative() {
        let mut totals = RunTotals::default();
        totals.add(10, 5, 1, 0.02);
        totals.add(3, 3, 0, 2.0);
        assert_eq!(totals.duration_buckets[0], 0); // 5 ms
        assert_eq!(totals.duration_buckets[2], 1); // 25 ms
        assert_eq!(totals.duration_buckets[8], 2); // 2.5 s
        assert_eq!(
            (totals.input_rows, totals.output_rows, totals.batches),
            (13, 8, 2)
        );
    }
}
