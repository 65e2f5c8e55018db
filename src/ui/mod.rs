//! The UI: an HTTP server for the streaming page, its JSON API and Prometheus metrics, as
//! Spark's UI serves its Structured Streaming and Streaming tabs.
//!
//! Off the hot path: the server runs on a thread of its own (a small tokio runtime) and reads,
//! when asked, what the drivers already keep (each query's recent progress and run totals,
//! each DStream context's recent batches). Nothing is computed per row or per epoch for it.
//!
//! One server per process, started by the first session (or DStream context) that has
//! `spark.ui.enabled` (the default, as in Spark) and shared by every later one: sessions
//! register what they show ([`UiSource`]) and drop out when they are dropped. It binds
//! `spark.ui.host` (127.0.0.1 by default) at `spark.ui.port` (4040 by default), or the next
//! free port of the 16 after it, as Spark does, and prints its URL on stderr. When none is
//! free the queries run on without a UI, with a warning. Tests that do not test the UI set
//! `spark.ui.enabled` to `false`; those that do, `spark.ui.port` to `0` (any free port).
//!
//! Endpoints: `/` (the page), `/api/queries`, `/api/dstreams` (JSON), `/metrics`
//! (Prometheus text, see [`render_metrics`]).

mod metrics;
mod page;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, Weak};

use serde::Serialize;

use crate::error::{Error, Result};
pub use metrics::{render as render_metrics, RunTotals, DURATION_BUCKETS};

/// Spark's `spark.ui.enabled`: whether the session serves the UI (default `true`).
pub const UI_ENABLED: &str = "spark.ui.enabled";
/// Spark's `spark.ui.port`: the UI's port (default 4040; the next free one if taken; `0`
/// for any free port).
pub const UI_PORT: &str = "spark.ui.port";
/// `spark.ui.host`: the address the UI binds (default `127.0.0.1`: only this machine may
/// connect; `0.0.0.0` opens it to the network).
pub const UI_HOST: &str = "spark.ui.host";

/// Ports tried after `spark.ui.port` when it is taken (Spark's `spark.port.maxRetries`).
const PORT_RETRIES: u16 = 16;

/// Where and whether to serve the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiConfig {
    /// Serve it at all.
    pub enabled: bool,
    /// The address to bind.
    pub host: String,
    /// The first port to try.
    pub port: u16,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 4040,
        }
    }
}

impl UiConfig {
    /// The UI settings of a session's configuration.
    pub fn from_conf(conf: &BTreeMap<String, String>) -> Result<Self> {
        let mut config = UiConfig::default();
        if let Some(raw) = conf.get(UI_ENABLED) {
            config.enabled = match raw.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Error::InvalidOption(format!(
                        "`{UI_ENABLED}` = `{raw}`: use true or false"
                    )))
                }
            };
        }
        if let Some(raw) = conf.get(UI_PORT) {
            config.port = raw.trim().parse().map_err(|_| {
                Error::InvalidOption(format!(
                    "`{UI_PORT}` = `{raw}`: use a port number (0 for any free port)"
                ))
            })?;
        }
        if let Some(host) = conf.get(UI_HOST) {
            config.host = host.trim().to_string();
        }
        Ok(config)
    }
}

/// One stateful operator's figures after the last epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OperatorFigures {
    /// Spark's `operatorName`.
    pub name: String,
    /// `numRowsTotal`.
    pub rows: u64,
    /// `memoryUsedBytes`.
    pub memory_bytes: u64,
}

/// One source's lag after the last epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceLag {
    /// The source's description.
    pub description: String,
    /// Offsets available but not read yet, where the source knows them.
    pub lag: Option<u64>,
}

/// The gauges of a query's last epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LastFigures {
    /// `inputRowsPerSecond`.
    pub input_rows_per_second: f64,
    /// `processedRowsPerSecond`.
    pub processed_rows_per_second: f64,
    /// `durationMs.triggerExecution`, seconds.
    pub batch_duration_seconds: f64,
    /// The watermark, seconds since the Unix epoch, when the query has one.
    pub watermark_seconds: Option<f64>,
    /// The stateful operators.
    pub state_operators: Vec<OperatorFigures>,
    /// The sources.
    pub sources: Vec<SourceLag>,
}

/// What the UI shows of one structured streaming query.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryView {
    /// The query's id.
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// True until it ends.
    pub active: bool,
    /// Its status (Spark's `StreamingQueryStatus` as JSON).
    pub status: serde_json::Value,
    /// The error it failed with, if it did.
    pub exception: Option<String>,
    /// The last epoch's progress report (Spark's JSON), if any.
    pub last_progress: Option<serde_json::Value>,
    /// The recent reports, oldest first.
    pub recent_progress: Vec<serde_json::Value>,
    /// Sums over the run.
    #[serde(skip)]
    pub totals: RunTotals,
    /// The last epoch's gauges.
    #[serde(skip)]
    pub last: Option<LastFigures>,
}

impl QueryView {
    /// The `query` label: the name, or the id of a query without one.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One finished batch of a DStream context (Spark Streaming's `BatchInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    /// The batch's time, ms since the Unix epoch.
    pub batch_time: i64,
    /// Records the sources fed into it.
    pub num_records: u64,
    /// From its scheduled time to the start of its processing, ms.
    pub scheduling_delay: u64,
    /// From the start of its processing until every output wrote it, ms.
    pub processing_delay: u64,
}

/// What the UI shows of one DStream context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DStreamView {
    /// The application's name.
    pub name: String,
    /// True until the context stops.
    pub active: bool,
    /// Batches run in all.
    pub batches_total: u64,
    /// Records in all batches.
    pub records_total: u64,
    /// The recent batches, oldest first.
    pub batches: Vec<BatchView>,
}

/// Something whose queries the UI shows: a session's query manager, a DStream context.
pub trait UiSource: Send + Sync {
    /// Its structured streaming queries, in start order.
    fn queries(&self) -> Vec<QueryView> {
        Vec::new()
    }

    /// Its DStream contexts.
    fn dstreams(&self) -> Vec<DStreamView> {
        Vec::new()
    }
}

/// What the server shows: every source registered and still alive.
static SOURCES: Mutex<Vec<Weak<dyn UiSource>>> = Mutex::new(Vec::new());

/// The server's address once it runs; `Some(None)` once it failed to start.
static SERVER: Mutex<Option<Option<SocketAddr>>> = Mutex::new(None);

/// Every live source's queries and contexts.
pub(crate) fn snapshot() -> (Vec<QueryView>, Vec<DStreamView>) {
    let live: Vec<_> = {
        let mut sources = SOURCES.lock().unwrap_or_else(|p| p.into_inner());
        sources.retain(|s| s.strong_count() > 0);
        sources.iter().filter_map(Weak::upgrade).collect()
    };
    let queries = live.iter().flat_map(|s| s.queries()).collect();
    let dstreams = live.iter().flat_map(|s| s.dstreams()).collect();
    (queries, dstreams)
}

/// Shows `source` in the UI, starting the server if `config` enables it and none runs yet.
/// Returns the server's address, if one runs.
pub fn attach(config: &UiConfig, source: Weak<dyn UiSource>) -> Option<SocketAddr> {
    if !config.enabled {
        return None;
    }
    SOURCES.lock().unwrap_or_else(|p| p.into_inner()).push(source);
    let mut server = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(address) = *server {
        return address;
    }
    let address = match server::start(&config.host, config.port, PORT_RETRIES) {
        Ok(address) => {
            // The one line a user needs to find the page; stderr, as Spark's log says it.
            eprintln!("Tidewater UI at http://{address}/ (metrics at /metrics)");
            Some(address)
        }
        Err(reason) => {
            tracing::warn!("the UI could not start ({reason}); queries run without it");
            None
        }
    };
    *server = Some(address);
    address
}

/// The running server's address, if any.
pub fn address() -> Option<SocketAddr> {
    SERVER.lock().unwrap_or_else(|p| p.into_inner()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_as_spark_names_them() {
        assert_eq!(
            UiConfig::from_conf(&BTreeMap::new()).expect("defaults"),
            UiConfig::default()
        );
        let conf = BTreeMap::from([
            (UI_ENABLED.to_string(), "FALSE".to_string()),
            (UI_PORT.to_string(), " 4050 ".to_string()),
            (UI_HOST.to_string(), "0.0.0.0".to_string()),
        ]);
        let config = UiConfig::from_conf(&conf).expect("valid");
        assert_eq!(
            (config.enabled, config.port, config.host.as_str()),
            (false, 4050, "0.0.0.0")
        );
        for (key, bad) in [(UI_ENABLED, "yes"), (UI_PORT, "70000"), (UI_PORT, "http")] {
            let conf = BTreeMap::from([(key.to_string(), bad.to_string())]);
            assert_eq!(
                UiConfig::from_conf(&conf).expect_err(bad).code(),
                "INVALID_OPTION"
            );
        }
    }
}
