//! [`StreamingQuery`]: the handle to a running query, and the state it shares with the workers.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::progress::{QueryProgress, QueryStatus};
use crate::connectors::Wake;
use crate::error::{Error, Result};

/// Progress reports kept per query (Spark's `spark.sql.streaming.numRecentProgressUpdates`).
const RECENT_PROGRESS: usize = 100;

/// Where a query is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Running,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) phase: Phase,
    pub(crate) status: QueryStatus,
    pub(crate) progress: VecDeque<QueryProgress>,
    pub(crate) exception: Option<Error>,
    pub(crate) stop_requested: bool,
    /// The leader worker, woken on `stop()`.
    pub(crate) leader: Option<Wake>,
    /// `process_all_available` calls so far; the leader answers each with `drained`.
    pub(crate) drain_requested: u64,
    /// The last request the leader saw answered: everything available then was processed.
    pub(crate) drained: u64,
}

/// What a query's handle and its workers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: Uuid,
    pub(crate) run_id: Uuid,
    pub(crate) name: Option<String>,
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    pub(crate) fn new(name: Option<String>) -> Arc<Self> {
        Self::with_id(Uuid::new_v4(), name)
    }

    /// The shared state of a query whose id is given: a checkpointed query keeps its id across
    /// restarts, as in Spark.
    pub(crate) fn with_id(id: Uuid, name: Option<String>) -> Arc<Self> {
        Arc::new(Shared {
            id,
            run_id: Uuid::new_v4(),
            name,
            state: Mutex::new(State {
                phase: Phase::Running,
                status: QueryStatus {
                    message: "Initializing sources".into(),
                    is_data_available: false,
                    is_trigger_active: false,
                },
                progress: VecDeque::new(),
                exception: None,
                stop_requested: false,
                leader: None,
                drain_requested: 0,
                drained: 0,
            }),
            changed: Condvar::new(),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_status(&self, message: &str, data_available: bool, trigger_active: bool) {
        let mut state = self.lock();
        state.status = QueryStatus {
            message: message.into(),
            is_data_available: data_available,
            is_trigger_active: trigger_active,
        };
    }

    pub(crate) fn record_progress(&self, progress: QueryProgress) {
        tracing::debug!(target: "tidewater::progress", "{}", progress.json());
        let mut state = self.lock();
        if state.progress.len() == RECENT_PROGRESS {
            state.progress.pop_front();
        }
        state.progress.push_back(progress);
    }

    /// Records the first failure; later ones are consequences of it.
    pub(crate) fn fail(&self, error: Error) {
        let mut state = self.lock();
        if state.exception.is_none() {
            tracing::error!("query {} failed: {error}", self.id);
            state.exception = Some(error);
        }
    }

    pub(crate) fn stop_requested(&self) -> bool {
        self.lock().stop_requested
    }

    /// The newest `process_all_available` request, read before the leader polls its sources.
    pub(crate) fn drain_requested(&self) -> u64 {
        self.lock().drain_requested
    }

    /// The leader found nothing left to do after the poll that followed `request`.
    pub(crate) fn drained(&self, request: u64) {
        let mut state = self.lock();
        if request > state.drained {
            state.drained = request;
            self.changed.notify_all();
        }
    }

    pub(crate) fn terminate(&self) {
        let mut state = self.lock();
        state.phase = Phase::Terminated;
        state.status = QueryStatus {
            message: "Stopped".into(),
            is_data_available: false,
            is_trigger_active: false,
        };
        self.changed.notify_all();
    }

    fn wait_terminated(&self, timeout: Option<Duration>) -> MutexGuard<'_, State> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.lock();
        while state.phase != Phase::Terminated {
            match deadline {
                None => state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    state = self
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
        state
    }
}

/// A running (or finished) streaming query, like Spark's `StreamingQuery`.
///
/// Cloning gives another handle to the same query.
#[derive(Clone, Debug)]
pub struct StreamingQuery {
    pub(crate) shared: Arc<Shared>,
}

impl StreamingQuery {
    /// The query's unique id.
    pub fn id(&self) -> Uuid {
        self.shared.id
    }

    /// The id of this run of the query.
    pub fn run_id(&self) -> Uuid {
        self.shared.run_id
    }

    /// The name given with `query_name`, if any.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Waits until the query ends: `Ok` when its sources were exhausted or it was stopped, the
    /// query's error when it failed.
    pub fn await_termination(&self) -> Result<()> {
        let state = self.shared.wait_terminated(None);
        state.exception.clone().map_or(Ok(()), Err)
    }

    /// As [`await_termination`](Self::await_termination), waiting at most `timeout`; `Ok(true)`
    /// if the query ended in time.
    pub fn await_termination_timeout(&self, timeout: Duration) -> Result<bool> {
        let state = self.shared.wait_terminated(Some(timeout));
        match (&state.exception, state.phase) {
            (Some(e), _) => Err(e.clone()),
            (None, phase) => Ok(phase == Phase::Terminated),
        }
    }

    /// Stops the query (epochs not yet started are not run) and waits until it has ended.
    pub fn stop(&self) -> Result<()> {
        {
            let mut state = self.shared.lock();
            state.stop_requested = true;
            if let Some(leader) = &state.leader {
                leader.wake();
            }
        }
        drop(self.shared.wait_terminated(None));
        Ok(())
    }

    /// Waits until every row the sources had made available when this was called has been
    /// processed and written, or the query has ended (Spark's `processAllAvailable`; meant for
    /// tests). Returns the query's error if it failed.
    pub fn process_all_available(&self) -> Result<()> {
        let mut state = self.shared.lock();
        state.drain_requested += 1;
        let request = state.drain_requested;
        if let Some(leader) = &state.leader {
            leader.wake();
        }
        while state.drained < request && state.phase == Phase::Running {
            state = self.shared.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.exception.clone().map_or(Ok(()), Err)
    }

    /// True until the query has ended.
    pub fn is_active(&self) -> bool {
        self.shared.lock().phase == Phase::Running
    }

    /// The error the query failed with, if it did.
    pub fn exception(&self) -> Option<Error> {
        self.shared.lock().exception.clone()
    }

    /// What the query is doing now.
    pub fn status(&self) -> QueryStatus {
        self.shared.lock().status.clone()
    }

    /// The last epoch's progress report.
    pub fn last_progress(&self) -> Option<QueryProgress> {
        self.shared.lock().progress.back().cloned()
    }

    /// The recent epochs' progress reports, oldest first (at most 100).
    pub fn recent_progress(&self) -> Vec<QueryProgress> {
        self.shared.lock().progress.iter().cloned().collect()
    }
}
