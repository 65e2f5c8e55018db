//! Progress reports, shaped and named like Spark's `StreamingQueryProgress` JSON, and how an
//! epoch's figures become one.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::query::Shared;

/// Progress of one epoch (Spark's `StreamingQueryProgress`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryProgress {
    /// The query's id.
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// The query's name, if given.
    pub name: Option<String>,
    /// When the epoch's trigger fired (ISO 8601, UTC).
    pub timestamp: String,
    /// The epoch.
    pub batch_id: u64,
    /// Wall time of the whole epoch, ms.
    pub batch_duration: u64,
    /// Rows read by all sources in this epoch.
    pub num_input_rows: u64,
    /// Rows per second arriving since the previous epoch's trigger.
    pub input_rows_per_second: f64,
    /// Rows per second processed during this epoch.
    pub processed_rows_per_second: f64,
    /// Time spent per phase, ms: `latestOffset` (polling sources), `addBatch` (running the
    /// dataflow and the sink), `triggerExecution` (all), and Spark's other phase names.
    pub duration_ms: BTreeMap<String, u64>,
    /// Event-time statistics, as Spark writes them: `watermark` (the one the epoch ran
    /// under) and `max` (the greatest event time of the epoch's rows, when it had some);
    /// empty for a query without a watermark. Spark's `min` and `avg` are not computed: the
    /// workers report only their greatest event time per epoch.
    pub event_time: BTreeMap<String, String>,
    /// Stateful operators' statistics.
    pub state_operators: Vec<StateOperatorProgress>,
    /// One entry per source.
    pub sources: Vec<SourceProgress>,
    /// The sink.
    pub sink: SinkProgress,
}

/// Statistics of one stateful operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateOperatorProgress {
    /// The operator.
    pub operator_name: String,
    /// Result rows (keys) held after the epoch, where known.
    pub num_rows_total: u64,
    /// Result rows that changed in the epoch (a join: rows added to its state).
    pub num_rows_updated: u64,
    /// Result rows (keys) the operator forgot in the epoch (a join: rows the watermark
    /// expired).
    #[serde(default)]
    pub num_rows_removed: u64,
    /// Input rows dropped as late: as in Spark, counted after partial aggregation (the rows
    /// of one group on one worker count once).
    pub num_rows_dropped_by_watermark: u64,
    /// An estimate of the bytes the operator's state takes: `numRowsTotal` times the
    /// estimated size of one entry (the row's
    /// inline and spilled values and a hash table slot, but not long strings' heap bytes, so
    /// a lower bound). Computed on the driver once per epoch, never by walking the state.
    #[serde(default)]
    pub memory_used_bytes: u64,
}

/// Progress of one source in one epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceProgress {
    /// The source's description.
    pub description: String,
    /// Rows consumed before this epoch.
    pub start_offset: u64,
    /// Rows consumed up to the end of this epoch.
    pub end_offset: u64,
    /// The furthest offset the source had made available.
    pub latest_offset: u64,
    /// Rows this source contributed.
    pub num_input_rows: u64,
    /// Arrival rate since the previous trigger.
    pub input_rows_per_second: f64,
    /// Processing rate during this epoch.
    pub processed_rows_per_second: f64,
    /// Source-specific figures, e.g. `numFiles` and `numMalformedRecords` of file sources.
    pub metrics: BTreeMap<String, String>,
}

/// The sink's part of a progress report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SinkProgress {
    /// The sink's description.
    pub description: String,
    /// Rows handed to the sink in this epoch.
    pub num_output_rows: u64,
}

/// What a query is doing now (Spark's `StreamingQueryStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStatus {
    /// A human-readable description.
    pub message: String,
    /// Whether rows are waiting to be processed.
    pub is_data_available: bool,
    /// Whether an epoch is running.
    pub is_trigger_active: bool,
}

impl QueryProgress {
    /// The report as Spark's `prettyJson`.
    pub fn pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as one line of JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// When an epoch ran: where its report's durations and rates come from.
#[derive(Clone, Copy, Debug)]
pub(super) struct EpochTimes {
    /// When the trigger fired.
    pub(super) triggered: Instant,
    /// Time spent polling the sources just before the trigger, ms.
    pub(super) latest_offset_ms: u64,
    /// Seconds since the previous epoch's trigger (0 for the first epoch).
    pub(super) since_previous_trigger: f64,
    /// Time spent writing the epoch's offsets to the checkpoint (Spark's write-ahead log), ms.
    pub(super) wal_commit_ms: u64,
    /// Time spent writing the epoch's commit (and letting sources clean up), ms.
    pub(super) commit_offsets_ms: u64,
}

impl EpochTimes {
    /// Seconds from the trigger until now.
    pub(super) fn processing_secs(&self) -> f64 {
        self.triggered.elapsed().as_secs_f64().max(1e-9)
    }
}

/// `n` rows over `secs` seconds, per second; 0 over no time.
pub(super) fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// What one finished epoch did, as the driver saw it: the figures its report is made of.
pub(super) struct EpochFigures {
    /// The epoch.
    pub(super) epoch: u64,
    /// When it ran.
    pub(super) times: EpochTimes,
    /// Each source's part, and the input rows of all sources.
    pub(super) sources: (Vec<SourceProgress>, u64),
    /// The stateful operators' part.
    pub(super) state_operators: Vec<StateOperatorProgress>,
    /// The watermark in force and the greatest event time, when event time is used.
    pub(super) event_time: BTreeMap<String, String>,
    /// The sink's description.
    pub(super) sink: String,
    /// Rows handed to the sink.
    pub(super) output_rows: u64,
}

impl EpochFigures {
    /// The epoch's report, as Spark's `StreamingQueryProgress` shapes it.
    pub(super) fn report(self, shared: &Shared) -> QueryProgress {
        let total_ms = self.times.triggered.elapsed().as_millis() as u64;
        // From the trigger to the sink's return, less the source polling before the trigger
        // and the checkpoint's writes.
        let add_batch_ms = total_ms
            .saturating_sub(self.times.latest_offset_ms)
            .saturating_sub(self.times.wal_commit_ms)
            .saturating_sub(self.times.commit_offsets_ms);
        let processing_secs = self.times.processing_secs();
        let (sources, num_input_rows) = self.sources;
        let duration_ms = BTreeMap::from([
            ("addBatch".to_string(), add_batch_ms),
            ("commitOffsets".to_string(), self.times.commit_offsets_ms),
            ("getBatch".to_string(), 0),
            ("latestOffset".to_string(), self.times.latest_offset_ms),
            ("queryPlanning".to_string(), 0),
            ("triggerExecution".to_string(), total_ms),
            ("walCommit".to_string(), self.times.wal_commit_ms),
        ]);
        QueryProgress {
            id: shared.id.to_string(),
            run_id: shared.run_id.to_string(),
            name: shared.name.clone(),
            timestamp: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            batch_id: self.epoch,
            batch_duration: total_ms,
            num_input_rows,
            input_rows_per_second: rate(num_input_rows, self.times.since_previous_trigger),
            processed_rows_per_second: rate(num_input_rows, processing_secs),
            duration_ms,
            event_time: self.event_time,
            state_operators: self.state_operators,
            sources,
            sink: SinkProgress {
                description: self.sink,
                num_output_rows: self.output_rows,
            },
        }
    }
}

/// A timestamp in microseconds as Spark's progress reports write it.
pub(super) fn iso_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}
