//! [`StreamingQuery`]: the handle to a running query, and the state it shares with the workers.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::listener::{
    now_iso, Event, ManagerInner, QueryIdleEvent, QueryProgressEvent, QueryTerminatedEvent,
};
use super::progress::{QueryProgress, QueryStatus};
use crate::connectors::Wake;
use crate::error::{Error, Result};
use crate::ui::RunTotals;

/// Progress reports kept per query by default (Spark's
/// `spark.sql.streaming.numRecentProgressUpdates`).
pub(crate) const RECENT_PROGRESS: usize = 100;

/// How long a query without new data waits after its last epoch before listeners hear it is
/// idle, by default (Spark's `spark.sql.streaming.noDataProgressEventInterval`).
pub(crate) const NO_DATA_PROGRESS_EVENT_INTERVAL: Duration = Duration::from_secs(10);

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
    /// How many progress reports are kept.
    pub(crate) recent_limit: usize,
    /// How long after its last epoch a query without data is reported idle.
    pub(crate) idle_after: Duration,
    /// Sums over the whole run, for the metrics' counters.
    pub(crate) totals: RunTotals,
}

/// What a query's handle and its workers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: Uuid,
    pub(crate) run_id: Uuid,
    pub(crate) name: Option<String>,
    /// The session's query manager, which hears of progress and the end.
    observer: OnceLock<Weak<ManagerInner>>,
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
            observer: OnceLock::new(),
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
                recent_limit: RECENT_PROGRESS,
                idle_after: NO_DATA_PROGRESS_EVENT_INTERVAL,
                totals: RunTotals::default(),
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

    /// Reports to `manager` from now on.
    pub(crate) fn observe(&self, manager: Weak<ManagerInner>) {
        let _ = self.observer.set(manager);
    }

    /// Posts `event` to the manager's listeners, if the query has a manager.
    fn post(&self, event: Event) {
        if let Some(manager) = self.observer.get().and_then(Weak::upgrade) {
            manager.post(event);
        }
    }

    /// Keeps `limit` progress reports (`spark.sql.streaming.numRecentProgressUpdates`) and
    /// reports the query idle `idle_after` its last epoch.
    pub(crate) fn configure(&self, limit: usize, idle_after: Duration) {
        let mut state = self.lock();
        state.recent_limit = limit;
        state.idle_after = idle_after;
    }

    /// How long after its last epoch a query without data is reported idle.
    pub(crate) fn idle_after(&self) -> Duration {
        self.lock().idle_after
    }

    /// Tells the listeners that the query has found no data for a while.
    pub(crate) fn report_idle(&self) {
        self.post(Event::Idle(QueryIdleEvent {
            id: self.id,
            run_id: self.run_id,
            timestamp: now_iso(),
        }));
    }

    pub(crate) fn record_progress(&self, progress: QueryProgress) {
        tracing::debug!(target: "tidewater::progress", "{}", progress.json());
        // The report is copied for the listeners only when there are some.
        let event = self
            .observer
            .get()
            .and_then(Weak::upgrade)
            .filter(|manager| manager.has_listeners())
            .map(|_| {
                Event::Progress(Box::new(QueryProgressEvent {
                    progress: progress.clone(),
                }))
            });
        {
            let mut state = self.lock();
            let dropped = progress
                .state_operators
                .iter()
                .map(|s| s.num_rows_dropped_by_watermark)
                .sum();
            let seconds = progress.batch_duration as f64 / 1000.0;
            state.totals.add(
                progress.num_input_rows,
                progress.sink.num_output_rows,
                dropped,
                seconds,
            );
            while state.progress.len() >= state.recent_limit.max(1) {
                state.progress.pop_front();
            }
            state.progress.push_back(progress);
        }
        if let Some(event) = event {
            self.post(event);
        }
    }

    /// Sums over the whole run.
    pub(crate) fn totals(&self) -> RunTotals {
        self.lock().totals.clone()
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

    pub(crate) fn terminate(self: &Arc<Self>) {
        let exception = {
            let state = self.lock();
            if state.phase == Phase::Terminated {
                return;
            }
            state.exception.clone()
        };
        // As in Spark, listeners are told (and the manager learns) before anyone waiting
        // for the end wakes up.
        self.post(Event::Terminated(QueryTerminatedEvent {
            id: self.id,
            run_id: self.run_id,
            exception: exception.as_ref().map(ToString::to_string),
            error_class: exception.as_ref().map(|e| e.code().to_string()),
        }));
        {
            let mut state = self.lock();
            state.phase = Phase::Terminated;
            state.status = QueryStatus {
                message: "Stopped".into(),
                is_data_available: false,
                is_trigger_active: false,
            };
            self.changed.notify_all();
        }
        if let Some(manager) = self.observer.get().and_then(Weak::upgrade) {
            manager.ended(self);
        }
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

    /// Sums over the whole run (rows read and written, epochs, late rows, the epochs'
    /// durations): what the metrics' counters report, unbounded unlike
    /// [`recent_progress`](Self::recent_progress).
    pub fn run_totals(&self) -> RunTotals {
        self.shared.totals()
    }

    /// The recent epochs' progress reports, oldest first (at most
    /// `spark.sql.streaming.numRecentProgressUpdates`, 100 by default).
    pub fn recent_progress(&self) -> Vec<QueryProgress> {
        self.shared.lock().progress.iter().cloned().collect()
    }
}

impl StreamingQuery {
    /// What the UI shows of the query, read once per request (off the hot path): the
    /// reports are copied under the lock and turned into JSON outside it.
    pub(crate) fn view(&self) -> crate::ui::QueryView {
        let (progress, status, exception, totals, active) = {
            let state = self.shared.lock();
            (
                state.progress.clone(),
                state.status.clone(),
                state.exception.clone(),
                state.totals.clone(),
                state.phase == Phase::Running,
            )
        };
        let last = progress.back().map(|p| crate::ui::LastFigures {
            input_rows_per_second: p.input_rows_per_second,
            processed_rows_per_second: p.processed_rows_per_second,
            batch_duration_seconds: p
                .duration_ms
                .get("triggerExecution")
                .copied()
                .unwrap_or(p.batch_duration) as f64
                / 1000.0,
            watermark_seconds: p
                .event_time
                .get("watermark")
                .and_then(|w| chrono::DateTime::parse_from_rfc3339(w).ok())
                .map(|w| w.timestamp_micros() as f64 / 1e6),
            state_operators: p
                .state_operators
                .iter()
                .map(|s| crate::ui::OperatorFigures {
                    name: s.operator_name.clone(),
                    rows: s.num_rows_total,
                    memory_bytes: s.memory_used_bytes,
                })
                .collect(),
            sources: p
                .sources
                .iter()
                .map(|s| crate::ui::SourceLag {
                    description: s.description.clone(),
                    // Offsets behind the newest data where the source knows them (Kafka),
                    // else what it has listed but no epoch has taken (files, rows).
                    lag: Some(
                        s.metrics
                            .get(super::sources::OFFSETS_BEHIND_LATEST)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(s.latest_offset.saturating_sub(s.end_offset)),
                    ),
                })
                .collect(),
        });
        let json = |p: &QueryProgress| serde_json::to_value(p).unwrap_or(serde_json::Value::Null);
        crate::ui::QueryView {
            id: self.shared.id.to_string(),
            run_id: self.shared.run_id.to_string(),
            name: self.shared.name.clone(),
            active,
            status: serde_json::to_value(&status).unwrap_or(serde_json::Value::Null),
            exception: exception.map(|e| e.to_string()),
            last_progress: progress.back().map(json),
            recent_progress: progress.iter().map(json).collect(),
            totals,
            last,
        }
    }
}
