//! Progress reports, shaped and named like Spark's `StreamingQueryProgress` JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// Event-time statistics (watermark, ...); empty until event time is used.
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
    /// Result rows that changed in the epoch.
    pub num_rows_updated: u64,
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
