//! Running queries: timely workers, the epoch driver, triggers, and the query handle.
//!
//! [`launch`] starts timely with the cluster configuration; every worker compiles every query's
//! plan into its own dataflow. Worker 0 (the leader) also drives the queries: it polls their
//! sources, closes one epoch per trigger, and once the probe shows the epoch complete, hands the
//! epoch's output to the sink. The other workers only step their dataflows and park.

mod cluster;
mod driver;
mod open_windows;
mod progress;
mod query;
mod spec;
mod trigger;
mod worker;

use std::sync::Arc;

pub use crate::data::parse_interval;
pub(crate) use cluster::parse_master;
pub use cluster::{ClusterArgs, ClusterConfig};
pub(crate) use driver::panic_message;
pub use progress::{QueryProgress, QueryStatus, SinkProgress, SourceProgress, StateOperatorProgress};
pub(crate) use query::Shared;
pub use query::StreamingQuery;
pub(crate) use spec::{QuerySpec, DEFAULT_MAX_ROWS_PER_EPOCH};
pub use trigger::Trigger;

use crate::error::{Error, Result};

/// Starts the queries on one timely computation (all on the same workers) and returns at once.
/// Each query's handle learns when it ends.
pub(crate) fn launch(cluster: &ClusterConfig, specs: Vec<Arc<QuerySpec>>) -> Result<Vec<StreamingQuery>> {
    let config = cluster.timely_config()?;
    let handles = specs
        .iter()
        .map(|s| StreamingQuery {
            shared: s.shared.clone(),
        })
        .collect();
    let specs = Arc::new(specs);
    let worker_specs = specs.clone();
    let guards = timely::execute(config, move |worker| worker::run(worker, &worker_specs))
        .map_err(|e| Error::Runtime(format!("could not start the workers: {e}")))?;
    std::thread::Builder::new()
        .name("tidewater-query".into())
        .spawn(move || {
            // Whatever happens below (even a panic), the handles learn that the queries ended.
            let _terminate = TerminateOnDrop(specs.clone());
            for result in guards.join() {
                if let Err(e) = result {
                    for spec in specs.iter() {
                        spec.shared.fail(Error::Runtime(format!("a worker failed: {e}")));
                    }
                }
            }
        })
        .map_err(|e| Error::Runtime(format!("could not start the query thread: {e}")))?;
    Ok(handles)
}

/// Marks every query terminated when dropped, so `await_termination` returns even if the thread
/// that waits for the workers panics.
struct TerminateOnDrop(Arc<Vec<Arc<QuerySpec>>>);

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        for spec in self.0.iter() {
            if std::thread::panicking() {
                spec.shared
                    .fail(Error::Runtime("the query thread panicked".into()));
            }
            spec.shared.terminate();
        }
    }
}
