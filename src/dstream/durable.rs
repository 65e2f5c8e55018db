//! The DStream graph's state in a checkpoint: every stateful stream logs, per batch and per
//! worker, what changed, and a restarted context puts it back.
//!
//! Stateful nodes are numbered in the order a worker builds them (`state/<node>/...`), which
//! is the same on every worker and in every run of the same graph. Two kinds are kept:
//! - *keyed state* (`update_state_by_key`, `map_with_state`, `reduce_by_key_and_window` with
//!   an inverse function): the keys whose state changed in a batch, with their new state
//!   (`None` when the key was removed). A restart reads the latest state of every key and
//!   hands it to worker 0, whose exchange routes each key to its new owner: the number of
//!   workers or processes may change.
//! - *window buffers*: the elements that entered a window in each batch, as
//!   `((batch, worker, element), multiplicity)`. A restart feeds them again at their own
//!   batches, so the window holds what it held, and each leaves it when it would have.
//!
//! Restored state enters the dataflow at batches before the first one the restarted context
//! runs. Those batches are never written; the outputs take their contents in with the first
//! new batch, which therefore sees exactly what it would have seen without the stop.
//!
//! A node's changes of batch `e` are written before its output for `e` can reach an output
//! operation (the writing operator is on the probe), so a committed batch's state is always
//! durable.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use differential_dataflow::collection::AsCollection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Capability, Probe, ToStream};

use super::graph::{BuildCtx, Coll, Data};
use crate::checkpoint::StateStore;
use crate::error::CheckpointError;

/// Compacts one node's state as of a committed batch.
type Compaction = Arc<dyn Fn(&StateStore, u64) -> Result<(), CheckpointError> + Send + Sync>;

/// What a checkpointed context's workers share in one process.
pub(crate) struct DurableGraph {
    /// Where the state goes.
    pub(crate) store: StateStore,
    /// The first batch this run feeds (0 on a first run).
    pub(crate) resume: u64,
    /// True in the process of worker 0, whose leader checks `failure` before each commit.
    pub(crate) leader_process: bool,
    /// The first failure to write (or, at the start, to read) state in this process.
    pub(crate) failure: Arc<Mutex<Option<CheckpointError>>>,
    /// How each node's state is compacted, registered by worker 0 as it builds the graph.
    compactions: Mutex<Vec<Compaction>>,
}

impl DurableGraph {
    /// The durable state of a context resuming at batch `resume`, kept in `store`.
    pub(crate) fn new(store: StateStore, resume: u64, leader_process: bool) -> Self {
        DurableGraph {
            store,
            resume,
            leader_process,
            failure: Arc::default(),
            compactions: Mutex::new(Vec::new()),
        }
    }

    /// Records a failure; a process that cannot stop the commit itself must not go on.
    fn failed(&self, error: CheckpointError) {
        tracing::error!("the streaming context's state could not be kept: {error}");
        if !self.leader_process {
            std::process::abort();
        }
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(error);
    }

    /// The first failure, if any (taken: the context fails with it).
    pub(crate) fn take_failure(&self) -> Option<CheckpointError> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Compacts every node's state as of committed batch `through` into snapshots.
    pub(crate) fn compact(&self, through: u64) -> Result<(), CheckpointError> {
        let compactions = self.compactions.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for compaction in compactions {
            compaction(&self.store, through)?;
        }
        Ok(())
    }

    fn register(&self, compaction: Compaction) {
        self.compactions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(compaction);
    }
}

/// A stateful node of the graph being built, when the context has a checkpoint.
pub(crate) struct DurableNode {
    graph: Arc<DurableGraph>,
    node: usize,
}

impl DurableNode {
    /// The next stateful node of the graph `cx` builds, or `None` without a checkpoint.
    pub(crate) fn next(cx: &mut BuildCtx<'_>) -> Option<DurableNode> {
        let graph = cx.durable.clone()?;
        let node = cx.next_node;
        cx.next_node += 1;
        Some(DurableNode { graph, node })
    }

    /// The batch at which restored contents enter the dataflow, if this run restores.
    pub(crate) fn restored_at(&self) -> Option<u64> {
        self.graph.resume.checked_sub(1)
    }

    /// The keyed state as of the batch before this run, read on worker 0 (empty elsewhere and
    /// on a first run). Worker 0 also registers how the node's state is compacted.
    pub(crate) fn restore_keyed<K, S>(&self, cx: &BuildCtx<'_>) -> Vec<(K, S)>
    where
        K: Data + Serialize + DeserializeOwned,
        S: Data + Serialize + DeserializeOwned,
    {
        if cx.scope.index() != 0 {
            return Vec::new();
        }
        let node = self.node;
        let compaction: Compaction = Arc::new(move |store: &StateStore, through: u64| {
            let entries: Vec<(K, Option<S>)> = store.restore(node, through)?;
            let live: Vec<(K, Option<S>)> = entries.into_iter().filter(|(_, s)| s.is_some()).collect();
            store.compact(node, through, &live)
        });
        self.graph.register(compaction.clone());
        let Some(through) = self.restored_at() else {
            return Vec::new();
        };
        // Each restart compacts what it reads, so the next one reads the state, not the history.
        let read = compaction(&self.graph.store, through)
            .and_then(|()| self.graph.store.restore::<K, Option<S>>(node, through));
        match read {
            Ok(entries) => entries.into_iter().filter_map(|(k, s)| Some((k, s?))).collect(),
            Err(e) => {
                self.graph.failed(e);
                Vec::new()
            }
        }
    }

    /// Logs `changes`, a keyed state's changes (`-old`, `+new` per key and batch, each key's
    /// from the worker that holds it), batch by batch, before any output sees the batch.
    pub(crate) fn log_keyed<'s, K, S>(&self, cx: &BuildCtx<'s>, changes: Coll<'s, (K, S)>)
    where
        K: Data + Serialize,
        S: Data + Serialize,
    {
        let resume = self.graph.resume;
        self.log(cx, changes, move |epoch, updates: Vec<((K, S), isize)>| {
            if epoch < resume {
                return Vec::new();
            }
            // Per key: the new state, or `None` when only the old one left.
            let mut latest: BTreeMap<K, Option<S>> = BTreeMap::new();
            for ((key, state), diff) in updates {
                if diff > 0 {
                    latest.insert(key, Some(state));
                } else {
                    latest.entry(key).or_insert(None);
                }
            }
            latest.into_iter().collect()
        });
    }

    /// Logs what enters a window in each batch (`records`, on each worker its share), before
    /// any output sees the batch.
    pub(crate) fn log_window<'s, T: Data + Serialize>(&self, cx: &BuildCtx<'s>, records: Coll<'s, T>) {
        let (resume, worker) = (self.graph.resume, cx.scope.index() as u32);
        self.log(cx, records, move |epoch, updates: Vec<(T, isize)>| {
            if epoch < resume {
                return Vec::new();
            }
            updates
                .into_iter()
                .map(|(x, diff)| ((epoch, worker, x), diff))
                .collect()
        });
    }

    /// What entered the window in its last `length` batches before this run, fed again at
    /// their own batches (on worker 0; nothing elsewhere or on a first run). With
    /// `accumulate`, the window holds a stream's contents rather than arrivals that live
    /// `length` batches: then everything from before those batches is fed as one
    /// accumulation at the first of them.
    pub(crate) fn restore_window<'s, T>(
        &self,
        cx: &BuildCtx<'s>,
        length: u64,
        accumulate: bool,
    ) -> Coll<'s, T>
    where
        T: Data + Serialize + DeserializeOwned,
    {
        let node = self.node;
        // The batches a window that resumes after `through` still needs: from `oldest` on.
        let fold = move |entries: Vec<((u64, u32, T), isize)>, through: u64| {
            let oldest = (through + 1).saturating_sub(length);
            let mut kept: BTreeMap<(u64, u32, T), isize> = BTreeMap::new();
            for ((epoch, worker, x), diff) in entries {
                let key = if epoch >= oldest {
                    (epoch, worker, x)
                } else if accumulate {
                    (oldest, u32::MAX, x)
                } else {
                    continue;
                };
                *kept.entry(key).or_insert(0) += diff;
            }
            kept.retain(|_, diff| *diff != 0);
            kept.into_iter().collect::<Vec<_>>()
        };
        let mut restored = Vec::new();
        if cx.scope.index() == 0 {
            let compaction: Compaction = Arc::new(move |store: &StateStore, through: u64| {
                let entries = store.restore(node, through)?;
                store.compact(node, through, &fold(entries, through))
            });
            self.graph.register(compaction.clone());
            if let Some(through) = self.restored_at() {
                let read = compaction(&self.graph.store, through)
                    .and_then(|()| self.graph.store.restore::<(u64, u32, T), isize>(node, through));
                match read {
                    Ok(entries) => restored = entries,
                    Err(e) => self.graph.failed(e),
                }
            }
        }
        restored
            .into_iter()
            .map(|((epoch, _, x), diff)| (x, epoch, diff))
            .to_stream(cx.scope)
            .as_collection()
    }

    /// Writes, per batch, `entries(batch, its consolidated updates)` as this worker's part of
    /// the node's state, once the batch is complete, and holds the batch back from the
    /// outputs (through the probe) until it is written.
    fn log<'s, X, EK, ES, F>(&self, cx: &BuildCtx<'s>, changes: Coll<'s, X>, entries: F)
    where
        X: Data,
        EK: Serialize + 'static,
        ES: Serialize + 'static,
        F: Fn(u64, Vec<(X, isize)>) -> Vec<(EK, ES)> + 'static,
    {
        let graph = self.graph.clone();
        let (node, worker) = (self.node, cx.scope.index());
        // Per batch: its updates, and a capability that holds the batch back until written
        // (every worker's share: the outputs' frontier is global).
        type Pending<X> = BTreeMap<u64, (Vec<(X, isize)>, Capability<u64>)>;
        let pending: Rc<RefCell<Pending<X>>> = Rc::default();
        changes
            .inner
            .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                Pipeline,
                "LogState",
                move |_cap, _info| {
                    move |(input, frontier), _output| {
                        let mut pending = pending.borrow_mut();
                        input.for_each(|cap, data| {
                            for (x, time, diff) in data.drain(..) {
                                let entry = pending
                                    .entry(time)
                                    .or_insert_with(|| (Vec::new(), cap.delayed(&time, 0)));
                                entry.0.push((x, diff));
                            }
                        });
                        let frontier = frontier.frontier();
                        let done: Vec<u64> = pending
                            .keys()
                            .copied()
                            .take_while(|t| !frontier.less_equal(t))
                            .collect();
                        for epoch in done {
                            let Some((mut updates, capability)) = pending.remove(&epoch) else {
                                continue;
                            };
                            differential_dataflow::consolidation::consolidate(&mut updates);
                            let entries = entries(epoch, updates);
                            if !entries.is_empty() {
                                if let Err(e) = graph.store.write(node, epoch, worker, &entries) {
                                    graph.failed(e);
                                }
                            }
                            // Written: the batch may reach the outputs.
                            drop(capability);
                        }
                    }
                },
            )
            .probe_with(&cx.probe);
    }
}

/// `states` as contents of a stream at batch `at`, contributed once (by worker 0).
pub(crate) fn contents_at<'s, X: Data>(cx: &BuildCtx<'s>, states: Vec<X>, at: u64) -> Coll<'s, X> {
    let states = if cx.scope.index() == 0 { states } else { Vec::new() };
    states
        .to_stream(cx.scope)
        .map(move |x| (x, at, 1isize))
        .as_collection()
}
