//! [`StreamingQueryManager`] (Spark's `spark.streams()`): the session's queries, and the
//! listeners that hear about them (Spark's `StreamingQueryListener`).
//!
//! Events travel on one bus per session: the driver posts them (a start, each epoch's
//! progress, an idle trigger, the end) and a thread of the bus calls the listeners, in the
//! order posted, so a slow listener never holds up an epoch. As in Spark, a listener hears
//! `on_query_started` before any progress of that query and `on_query_terminated` last.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::progress::QueryProgress;
use super::query::{Shared, StreamingQuery};
use crate::error::{Error, Result};

/// Hears about a session's queries (Spark's `StreamingQueryListener`). Every method has an
/// empty default, so a listener implements only what it needs. Methods run on the session's
/// listener thread, one event at a time, in the order the events happened.
pub trait StreamingQueryListener: Send + Sync {
    /// A query started (posted by `start()`, before its first epoch).
    fn on_query_started(&self, event: &QueryStartedEvent) {
        let _ = event;
    }

    /// A query finished an epoch.
    fn on_query_progress(&self, event: &QueryProgressEvent) {
        let _ = event;
    }

    /// A query found no new data for `spark.sql.streaming.noDataProgressEventInterval`
    /// (10 s by default) since its last epoch; posted once per such quiet stretch.
    fn on_query_idle(&self, event: &QueryIdleEvent) {
        let _ = event;
    }

    /// A query ended: stopped, exhausted, or failed (then with its error).
    fn on_query_terminated(&self, event: &QueryTerminatedEvent) {
        let _ = event;
    }
}

/// Spark's `QueryStartedEvent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryStartedEvent {
    /// The query's id (kept across restarts from a checkpoint).
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// The query's name, if it has one.
    pub name: Option<String>,
    /// When it started (ISO 8601, UTC).
    pub timestamp: String,
}

/// Spark's `QueryProgressEvent`.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryProgressEvent {
    /// The epoch's report.
    pub progress: QueryProgress,
}

/// Spark's `QueryIdleEvent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryIdleEvent {
    /// The query's id.
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// When the query was found idle (ISO 8601, UTC).
    pub timestamp: String,
}

/// Spark's `QueryTerminatedEvent`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryTerminatedEvent {
    /// The query's id.
    pub id: Uuid,
    /// This run's id.
    pub run_id: Uuid,
    /// The error the query failed with, if it failed.
    pub exception: Option<String>,
    /// The error's stable code (see [`Error::code`]), if it failed.
    pub error_class: Option<String>,
}

/// One event on the bus.
pub(crate) enum Event {
    Started(QueryStartedEvent),
    Progress(Box<QueryProgressEvent>),
    Idle(QueryIdleEvent),
    Terminated(QueryTerminatedEvent),
}

/// Now, as progress reports write times.
pub(crate) fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What the manager keeps.
#[derive(Default)]
struct Queries {
    /// Every query started from the session, in start order: the active ones, and the last
    /// [`RETAINED_FINISHED`] finished ones, which the UI shows.
    all: Vec<StreamingQuery>,
    /// A query ended since the last `reset_terminated` (a failed one rather than one that
    /// ended well), for `await_any_termination`.
    terminated: Option<StreamingQuery>,
}

/// Finished queries a session keeps listing (Spark's `spark.sql.streaming.ui.retainedQueries`).
const RETAINED_FINISHED: usize = 100;

/// Events posted and delivered so far: `flush` waits for the two to meet.
#[derive(Default)]
struct Delivery {
    posted: u64,
    delivered: u64,
}

/// The manager's shared state.
pub(crate) struct ManagerInner {
    queries: Mutex<Queries>,
    ended: Condvar,
    listeners: Arc<Mutex<Vec<Arc<dyn StreamingQueryListener>>>>,
    bus: Mutex<Option<Sender<Event>>>,
    delivery: Arc<(Mutex<Delivery>, Condvar)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ManagerInner {
    /// Whether any listener is registered: without one, no event is even built.
    pub(crate) fn has_listeners(&self) -> bool {
        !lock(&self.listeners).is_empty()
    }

    /// Posts `event` to the listeners (none registered: nothing to do).
    pub(crate) fn post(&self, event: Event) {
        if lock(&self.listeners).is_empty() {
            return;
        }
        let mut bus = lock(&self.bus);
        if bus.is_none() {
            *bus = self.start_bus();
        }
        if let Some(sender) = bus.as_ref() {
            lock(&self.delivery.0).posted += 1;
            if sender.send(event).is_err() {
                lock(&self.delivery.0).posted -= 1;
            }
        }
    }

    /// The bus thread: delivers events in order, until the manager is dropped.
    fn start_bus(&self) -> Option<Sender<Event>> {
        let (sender, receiver) = channel::<Event>();
        let listeners = self.listeners.clone();
        let delivery = self.delivery.clone();
        let spawned = std::thread::Builder::new()
            .name("tidewater-listener-bus".into())
            .spawn(move || {
                for event in receiver {
                    let current: Vec<_> = lock(&listeners).clone();
                    for listener in current {
                        // A panicking listener must not silence the others or later events.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &event {
                            Event::Started(e) => listener.on_query_started(e),
                            Event::Progress(e) => listener.on_query_progress(e),
                            Event::Idle(e) => listener.on_query_idle(e),
                            Event::Terminated(e) => listener.on_query_terminated(e),
                        }));
                    }
                    let (count, changed) = &*delivery;
                    lock(count).delivered += 1;
                    changed.notify_all();
                }
            });
        match spawned {
            Ok(_) => Some(sender),
            Err(e) => {
                tracing::warn!("could not start the listener thread ({e}); listeners will not be called");
                None
            }
        }
    }

    /// A query of this manager ended.
    pub(crate) fn ended(&self, shared: &Arc<Shared>) {
        let mut queries = lock(&self.queries);
        let failed = shared.lock().exception.is_some();
        let earlier_failed = queries
            .terminated
            .as_ref()
            .is_some_and(|q| q.exception().is_some());
        if queries.terminated.is_none() || (failed && !earlier_failed) {
            queries.terminated = Some(StreamingQuery {
                shared: shared.clone(),
            });
        }
        // The oldest finished queries make room.
        let finished = queries.all.iter().filter(|q| !q.is_active()).count();
        if finished > RETAINED_FINISHED {
            if let Some(oldest) = queries.all.iter().position(|q| !q.is_active()) {
                queries.all.remove(oldest);
            }
        }
        self.ended.notify_all();
    }
}

impl crate::ui::UiSource for ManagerInner {
    fn queries(&self) -> Vec<crate::ui::QueryView> {
        let all = lock(&self.queries).all.clone();
        all.iter().map(StreamingQuery::view).collect()
    }
}

/// The queries of a session and their listeners (Spark's `StreamingQueryManager`, which
/// `spark.streams()` returns). Cheap to clone; clones share it.
#[derive(Clone)]
pub struct StreamingQueryManager {
    inner: Arc<ManagerInner>,
}

impl std::fmt::Debug for StreamingQueryManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingQueryManager")
            .field("queries", &lock(&self.inner.queries).all.len())
            .finish()
    }
}

impl Default for StreamingQueryManager {
    fn default() -> Self {
        StreamingQueryManager {
            inner: Arc::new(ManagerInner {
                queries: Mutex::default(),
                ended: Condvar::new(),
                listeners: Arc::default(),
                bus: Mutex::new(None),
                delivery: Arc::default(),
            }),
        }
    }
}

impl StreamingQueryManager {
    /// Takes in a query about to start: listeners hear of its start before anything else
    /// of it, and it is listed from now on.
    pub(crate) fn attach(&self, shared: &Arc<Shared>) {
        shared.observe(Arc::downgrade(&self.inner));
        lock(&self.inner.queries).all.push(StreamingQuery {
            shared: shared.clone(),
        });
        self.inner.post(Event::Started(QueryStartedEvent {
            id: shared.id,
            run_id: shared.run_id,
            name: shared.name.clone(),
            timestamp: now_iso(),
        }));
    }

    /// Shows this manager's queries in the UI (starting it if `config` enables it and none
    /// runs yet); the UI's address, if one runs.
    pub(crate) fn serve_ui(&self, config: &crate::ui::UiConfig) -> Option<std::net::SocketAddr> {
        let weak: std::sync::Weak<ManagerInner> = Arc::downgrade(&self.inner);
        crate::ui::attach(config, weak)
    }

    /// The queries still running (Spark's `active`).
    pub fn active(&self) -> Vec<StreamingQuery> {
        lock(&self.inner.queries)
            .all
            .iter()
            .filter(|q| q.is_active())
            .cloned()
            .collect()
    }

    /// Every query started from the session, finished ones too, in start order: what the
    /// UI lists.
    pub fn all(&self) -> Vec<StreamingQuery> {
        lock(&self.inner.queries).all.clone()
    }

    /// The active query with this id (Spark's `get`); `None` when none is running.
    pub fn get(&self, id: Uuid) -> Option<StreamingQuery> {
        self.active().into_iter().find(|q| q.id() == id)
    }

    /// Adds a listener; it hears of events from now on.
    pub fn add_listener(&self, listener: Arc<dyn StreamingQueryListener>) {
        lock(&self.inner.listeners).push(listener);
    }

    /// Removes a listener added with [`add_listener`](Self::add_listener) (the same `Arc`).
    pub fn remove_listener(&self, listener: &Arc<dyn StreamingQueryListener>) {
        lock(&self.inner.listeners).retain(|l| !Arc::ptr_eq(l, listener));
    }

    /// Waits until every event posted so far has been delivered to the listeners (Spark's
    /// tests wait for the listener bus the same way); at most `timeout`. True if it was.
    pub fn wait_for_listeners(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (count, changed) = &*self.inner.delivery;
        let mut state = lock(count);
        while state.delivered < state.posted {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// Waits until some query has ended since the start or the last
    /// [`reset_terminated`](Self::reset_terminated) (Spark's `awaitAnyTermination`); returns
    /// that query's error if it failed.
    pub fn await_any_termination(&self) -> Result<()> {
        self.await_any(None).map(|_| ())
    }

    /// As [`await_any_termination`](Self::await_any_termination), waiting at most `timeout`:
    /// `Ok(true)` if a query ended in time.
    pub fn await_any_termination_timeout(&self, timeout: Duration) -> Result<bool> {
        self.await_any(Some(timeout))
    }

    fn await_any(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut queries = lock(&self.inner.queries);
        loop {
            if let Some(query) = queries.terminated.as_ref() {
                return query.exception().map_or(Ok(true), Err::<bool, Error>);
            }
            match deadline {
                None => queries = self.inner.ended.wait(queries).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    queries = self
                        .inner
                        .ended
                        .wait_timeout(queries, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    /// Forgets the queries that have ended, so that `await_any_termination` waits for the
    /// next one (Spark's `resetTerminated`).
    pub fn reset_terminated(&self) {
        lock(&self.inner.queries).terminated = None;
    }
}
