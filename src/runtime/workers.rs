//! The leader/worker skeleton both drivers (structured queries and DStreams) run on.
//!
//! Timely starts on the cluster's workers; every worker builds the same dataflows. Worker 0,
//! the leader, then drives them: it feeds epochs and writes their output. The other workers
//! drop the inputs they built, so that their frontiers follow the leader's, and only step and
//! park until the dataflows end. A thread waits for the workers and, whatever happens (a
//! worker's failure, a panic of its own), tells every handle that the run has ended.

use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::worker::Worker;

use super::query::Shared;
use super::ClusterConfig;
use crate::error::{Error, Result};

/// The longest the leader parks without a wake-up: an upper bound on how late it notices a
/// deadline that nothing signalled.
const MAX_PARK: Duration = Duration::from_millis(250);

/// What the leader worker drives, stepped between timely's own steps.
pub(crate) trait Lead {
    /// Does whatever is due at `now` without blocking; returns when it next needs to act, if
    /// it knows (otherwise a wake-up or timely activity brings the worker back).
    fn step(&mut self, now: Instant) -> Option<Instant>;

    /// True once there is nothing left to drive: the worker then only lets its dataflows end.
    fn finished(&self) -> bool;
}

/// Starts the workers on `cluster` and returns at once.
///
/// Every worker calls `build` to build its dataflows; on the leader, `lead` then turns what
/// was built into the driver it steps. `what` names the run in errors ("query",
/// "streaming"); `handles` learn when the run ends, and of any failure.
pub(crate) fn launch<T, L>(
    cluster: &ClusterConfig,
    what: &'static str,
    handles: Vec<Arc<Shared>>,
    build: impl Fn(&mut Worker) -> T + Send + Sync + 'static,
    lead: impl Fn(T) -> L + Send + Sync + 'static,
) -> Result<()>
where
    L: Lead,
{
    let addresses = cluster.addresses()?;
    let (allocators, network) = cluster.communication(&addresses)?;
    if cluster.processes > 1 {
        // A peer that goes away ends the run with one clear error on every handle.
        let lost = handles.clone();
        super::peers::watch_losses(addresses, move |error| {
            for shared in &lost {
                shared.fail(error.clone());
                shared.terminate();
            }
        });
    }
    let guards = timely::execute::execute_from(
        allocators,
        network,
        timely::WorkerConfig::default(),
        move |worker| run(worker, &build, &lead),
    )
    .map_err(|e| Error::Runtime(format!("could not start the workers: {e}")))?;
    std::thread::Builder::new()
        .name(format!("tidewater-{what}"))
        .spawn(move || {
            // Whatever happens below (even a panic), the handles learn that the run ended.
            let _terminate = TerminateOnDrop {
                what,
                handles: handles.clone(),
            };
            for result in guards.join() {
                if let Err(e) = result {
                    for shared in &handles {
                        shared.fail(Error::Runtime(format!("a worker failed: {e}")));
                    }
                }
            }
        })
        .map_err(|e| Error::Runtime(format!("could not start the {what} thread: {e}")))?;
    Ok(())
}

/// One worker's life: build, then lead (worker 0) or follow, then let the dataflows end.
fn run<T, L: Lead>(worker: &mut Worker, build: &impl Fn(&mut Worker) -> T, lead: &impl Fn(T) -> L) {
    let built = build(worker);
    if worker.index() == 0 {
        let mut leader = lead(built);
        loop {
            let now = Instant::now();
            let deadline = leader.step(now);
            if leader.finished() {
                break;
            }
            let park = deadline.map_or(MAX_PARK, |at| at.saturating_duration_since(now).min(MAX_PARK));
            worker.step_or_park(Some(park));
        }
    } else {
        // Only the leader feeds inputs: dropping ours lets the frontier follow the leader's.
        drop(built);
    }
    while worker.has_dataflows() {
        worker.step_or_park(None);
    }
}

/// Marks every handle terminated when dropped, so `await_termination` returns even if the
/// thread that waits for the workers panics.
struct TerminateOnDrop {
    what: &'static str,
    handles: Vec<Arc<Shared>>,
}

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        for shared in &self.handles {
            if std::thread::panicking() {
                shared.fail(Error::Runtime(format!("the {} thread panicked", self.what)));
            }
            shared.terminate();
        }
    }
}
