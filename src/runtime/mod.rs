//! Running queries: timely workers, the epoch loop, triggers, and the query handle.
//!
//! `launch` starts timely with the cluster configuration; every worker compiles every query's
//! plan into its own dataflow (`dataflow`). Worker 0 (the leader) also drives the queries
//! (`epoch_loop`): it polls their sources (`sources`), closes one epoch per trigger
//! (`trigger`), and once the probe shows the epoch complete, hands the epoch's output to the
//! sink in the shape of its output mode (`output`), under the watermark (`event_time`),
//! and reports progress (`progress`). The other workers only step their dataflows and park.
//! The DStream driver runs on the same leader/worker skeleton (`workers`).

mod capture;
mod cluster;
mod dataflow;
mod epoch_loop;
mod eval_errors;
mod event_time;
mod listener;
mod output;
mod parts;
mod peers;
mod progress;
mod query;
pub(crate) mod recovery;
mod sources;
mod spec;
mod trigger;
pub(crate) mod workers;

use std::sync::Arc;

pub use crate::data::parse_interval;
pub use crate::ui::RunTotals;
pub(crate) use capture::{capture, take_through, Captured};
pub(crate) use cluster::parse_master;
pub use cluster::{ClusterArgs, ClusterConfig, ClusterSecret, CLUSTER_SECRET_ENV, DEFAULT_CLUSTER_TIMEOUT};
pub(crate) use epoch_loop::panic_message;
pub use listener::{
    QueryIdleEvent, QueryProgressEvent, QueryStartedEvent, QueryTerminatedEvent, StreamingQueryListener,
    StreamingQueryManager,
};
pub(crate) use output::add_count_hashed;
pub use progress::{QueryProgress, QueryStatus, SinkProgress, SourceProgress, StateOperatorProgress};
pub(crate) use query::Shared;
pub use query::StreamingQuery;
pub(crate) use query::{NO_DATA_PROGRESS_EVENT_INTERVAL, RECENT_PROGRESS};
pub(crate) use spec::{QuerySpec, DEFAULT_MAX_ROWS_PER_EPOCH};
pub use trigger::{ManualClock, Trigger, TIMEOUT_TICK};

use crate::connectors::Wake;
use crate::error::Result;
use epoch_loop::{Queries, QueryRun};

/// Starts the queries on one timely computation (all on the same workers) and returns at once.
/// Each query's handle learns when it ends.
pub(crate) fn launch(cluster: &ClusterConfig, specs: Vec<Arc<QuerySpec>>) -> Result<Vec<StreamingQuery>> {
    let handles = specs
        .iter()
        .map(|s| StreamingQuery {
            shared: s.shared.clone(),
        })
        .collect();
    let shared = specs.iter().map(|s| s.shared.clone()).collect();
    let specs = Arc::new(specs);
    let leader_specs = specs.clone();
    workers::launch(
        cluster,
        "query",
        shared,
        move |worker| dataflow::build_all(worker, &specs),
        move |built| {
            let wake = Wake::current();
            Queries(
                leader_specs
                    .iter()
                    .zip(built)
                    .map(|(spec, built)| QueryRun::start(spec.clone(), built, &wake))
                    .collect(),
            )
        },
    )?;
    Ok(handles)
}
