//! State across batches: `update_state_by_key` and `map_with_state`.
//!
//! Both are recurrences over batches (a key's state after batch `e` depends on its state after
//! `e - 1`), so they run on [`keyed_epochs`], which keeps each key's state on the worker its
//! key hashes to and visits the keys batch by batch.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidewater_operators::keyed_epochs::{keyed_epochs, EpochInput, EpochSchedule};

use super::durable::{contents_at, DurableNode};
use super::graph::{build_fn, BuildCtx, Built, Coll, Data};
use super::DStream;

/// What a stateful stream's operator emits: new mapped values, and changes of a key's state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Emitted<K, S, U> {
    Mapped(U),
    State(K, S),
    /// A change of a key's whole state (its value and the last batch it had data), for the
    /// checkpoint only.
    Kept(K, S, u64),
}

/// The input of a stateful operator: the batch's own arrivals when the stream's elements live
/// one batch (each batch's changes are then exactly its elements), the contents otherwise.
fn batch_input<'s, K: Data, V: Data>(
    built: Built<'s, (K, V)>,
    slide: u64,
) -> (Coll<'s, (K, V)>, EpochSchedule) {
    match built.one_batch_arrivals() {
        Ok(arrivals) if slide == 1 => (
            arrivals,
            EpochSchedule {
                input: EpochInput::Changes,
                visit_idle: false,
                every: 1,
                first: 0,
            },
        ),
        Ok(arrivals) => (Built::arrivals(arrivals).contents(), contents_schedule(slide)),
        Err(other) => (other.contents(), contents_schedule(slide)),
    }
}

fn contents_schedule(slide: u64) -> EpochSchedule {
    EpochSchedule {
        input: EpochInput::Contents,
        visit_idle: false,
        every: slide,
        first: 0,
    }
}

/// The change of a key's value from `before` to `after`, as `-old` and `+new` updates of
/// `wrap(key, value)`; nothing when it did not change.
pub(crate) fn push_change<K: Clone, V: PartialEq, T>(
    out: &mut Vec<(T, isize)>,
    key: &K,
    before: Option<V>,
    after: Option<V>,
    wrap: impl Fn(K, V) -> T,
) {
    if before == after {
        return;
    }
    if let Some(old) = before {
        out.push((wrap(key.clone(), old), -1));
    }
    if let Some(new) = after {
        out.push((wrap(key.clone(), new), 1));
    }
}

/// The state of one key in [`map_with_state`](DStream::map_with_state), as Spark's `State`.
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    timing_out: bool,
}

impl<S> State<S> {
    /// True if the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The key's state, if it has one.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the key's state. On a key that is timing out this has no effect: the key is
    /// removed after the call (Spark refuses the update with an exception).
    pub fn update(&mut self, state: S) {
        if !self.timing_out {
            self.value = Some(state);
        }
    }

    /// Forgets the key's state.
    pub fn remove(&mut self) {
        self.value = None;
    }

    /// True when the function is called because the key received no data for the timeout.
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

/// The mapping function of `map_with_state`: key, the record's value (`None` on a timeout),
/// the key's state.
type MappingFn<K, V, S, U> = dyn Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync;

/// How `map_with_state` works: the function, the initial states and the idle timeout (Spark's
/// `StateSpec`).
pub struct StateSpec<K, V, S, U> {
    function: Arc<MappingFn<K, V, S, U>>,
    initial: Vec<(K, S)>,
    timeout: Option<Duration>,
}

impl<K, V, S, U> StateSpec<K, V, S, U> {
    /// `f(key, value, state)` is called for every record of every batch, and with `None` for a
    /// key that timed out; what it returns is the mapped stream's element.
    pub fn function<F>(f: F) -> Self
    where
        F: Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
    {
        StateSpec {
            function: Arc::new(f),
            initial: Vec::new(),
            timeout: None,
        }
    }

    /// States the keys have before the first batch.
    pub fn initial_state(mut self, states: Vec<(K, S)>) -> Self {
        self.initial = states;
        self
    }

    /// A key that receives no data for longer than `timeout` is called once more, with `None`
    /// and a state that [`is_timing_out`](State::is_timing_out), and then removed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// The stream of mapped values of `map_with_state`, which also gives the states
/// ([`state_snapshots`](Self::state_snapshots)). It dereferences to the mapped stream.
pub struct MapWithStateDStream<K: Data, S: Data, U: Data> {
    mapped: DStream<U>,
    snapshots: DStream<(K, S)>,
}

impl<K: Data, S: Data, U: Data> MapWithStateDStream<K, S, U> {
    /// Every key's state after each batch.
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        self.snapshots.clone()
    }

    /// The mapped values as a plain stream.
    pub fn stream(&self) -> DStream<U> {
        self.mapped.clone()
    }
}

impl<K: Data, S: Data, U: Data> Deref for MapWithStateDStream<K, S, U> {
    type Target = DStream<U>;

    fn deref(&self) -> &DStream<U> {
        &self.mapped
    }
}

impl<K: Data, V: Data> DStream<(K, V)> {
    /// Running state per key (Spark's `updateStateByKey`): after every batch, `f(values,
    /// state)` gives each key's new state from the batch's values of the key (possibly none)
    /// and its previous state; `None` removes the key. The stream holds every key's state
    /// after each batch. `f` is called for every key with state in every batch.
    pub fn update_state_by_key<S: Data, F>(&self, f: F) -> DStream<(K, S)>
    where
        F: Fn(&[V], Option<&S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_with_initial(f, Vec::new())
    }

    /// As [`update_state_by_key`](Self::update_state_by_key), the keys starting from `initial`.
    pub fn update_state_by_key_with_initial<S: Data, F>(&self, f: F, initial: Vec<(K, S)>) -> DStream<(K, S)>
    where
        F: Fn(&[V], Option<&S>) -> Option<S> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let parent = self.build.clone();
        let slide = self.slide;
        let initial = Arc::new(initial);
        self.ctx.describe("updateStateByKey");
        self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (input, mut schedule) = batch_input(parent(cx), slide);
            schedule.visit_idle = true;
            let node = DurableNode::next(cx);
            // A restarted run starts from the states its checkpoint kept, not the initial ones.
            let restored = node.as_ref().map(|n| n.restore_keyed::<K, S>(cx));
            let (starting, at) = match (restored, node.as_ref().and_then(DurableNode::restored_at)) {
                (Some(restored), Some(at)) => (restored, at),
                _ => (initial.to_vec(), 0),
            };
            schedule.first = cx.resume;
            let f = f.clone();
            let changes = keyed_epochs(
                input,
                starting.clone(),
                "UpdateStateByKey",
                schedule,
                move |_epoch, key: &K, values, state: &mut Option<S>, out| {
                    let values: Vec<V> = values
                        .iter()
                        .flat_map(|(v, n)| std::iter::repeat_n(v, (*n).max(0) as usize).cloned())
                        .collect();
                    let new = f(&values, state.as_ref());
                    // Compared before cloning: most keys' states do not change in a batch.
                    if new != *state {
                        push_change(out, key, state.take(), new.clone(), |k, s| (k, s));
                    }
                    *state = new;
                },
            );
            if let Some(node) = &node {
                node.log_keyed(cx, changes.clone());
            }
            Built::Contents(contents_at(cx, starting, at).concat(changes))
        }))
    }

    /// Stateful mapping of every record (Spark's `mapWithState`): `spec`'s function sees each
    /// record with its key's state, may update or remove the state, and returns the mapped
    /// stream's element. Only keys with data in a batch are visited (and, with a timeout,
    /// keys that time out).
    pub fn map_with_state<S: Data, U: Data>(
        &self,
        spec: StateSpec<K, V, S, U>,
    ) -> MapWithStateDStream<K, S, U> {
        let StateSpec {
            function,
            initial,
            timeout,
        } = spec;
        let parent = self.build.clone();
        let slide = self.slide;
        let initial: Arc<Vec<(K, S)>> = Arc::new(initial);
        let timeout_ms = timeout.map(|t| t.as_millis() as u64);
        self.ctx.describe(&format!("mapWithState timeout={timeout_ms:?}"));
        // Built for the mapped stream or for the state snapshots, each emitting only its own
        // records: most programs read only the mapped stream, and a snapshot change (a key
        // and its state, retracted and inserted) per changed key would be made for nothing.
        let emitted = move |snapshots: bool| {
            let (parent, initial, function) = (parent.clone(), initial.clone(), function.clone());
            build_fn(move |cx: &mut BuildCtx<'_>| {
                let (input, mut schedule) = batch_input(parent(cx), slide);
                schedule.visit_idle = timeout_ms.is_some();
                schedule.first = cx.resume;
                let batch_ms = cx.batch_ms;
                let function = function.clone();
                let node = DurableNode::next(cx);
                let durable = node.is_some();
                // The state of a key, with the last epoch it received data; a restarted run's
                // from its checkpoint.
                let restored = node.as_ref().map(|n| n.restore_keyed::<K, (S, u64)>(cx));
                let (starting, at) = match (restored, node.as_ref().and_then(DurableNode::restored_at)) {
                    (Some(restored), Some(at)) => (restored, at),
                    _ => (
                        initial.iter().map(|(k, s)| (k.clone(), (s.clone(), 0))).collect(),
                        0,
                    ),
                };
                let changes = keyed_epochs(
                    input,
                    starting.clone(),
                    "MapWithState",
                    schedule,
                    move |epoch, key: &K, values: &[(V, isize)], state: &mut Option<(S, u64)>, out| {
                        let kept_before = if durable { state.clone() } else { None };
                        let before = if snapshots {
                            state.as_ref().map(|(s, _)| s.clone())
                        } else {
                            None
                        };
                        if values.is_empty() {
                            // An idle visit: only timeouts happen here.
                            let (Some(timeout), Some((s, last))) = (timeout_ms, state.as_ref()) else {
                                return;
                            };
                            if (epoch - last) * batch_ms <= timeout {
                                return;
                            }
                            let mut timing_out = State {
                                value: Some(s.clone()),
                                timing_out: true,
                            };
                            let mapped = function(key, None, &mut timing_out);
                            if !snapshots {
                                out.push((Emitted::Mapped(mapped), 1));
                            }
                            *state = None;
                        } else {
                            let mut current = State {
                                value: state.take().map(|(s, _)| s),
                                timing_out: false,
                            };
                            for (value, n) in values {
                                for _ in 0..(*n).max(0) {
                                    let mapped = function(key, Some(value.clone()), &mut current);
                                    if !snapshots {
                                        out.push((Emitted::Mapped(mapped), 1));
                                    }
                                }
                            }
                            *state = current.value.map(|s| (s, epoch));
                        }
                        if snapshots {
                            let after = state.as_ref().map(|(s, _)| s.clone());
                            push_change(out, key, before, after, Emitted::State);
                        }
                        if durable {
                            push_change(out, key, kept_before, state.clone(), |k, (s, t)| {
                                Emitted::Kept(k, s, t)
                            });
                        }
                    },
                );
                if let Some(node) = &node {
                    let kept = changes.clone().flat_map(|e| match e {
                        Emitted::Kept(k, s, t) => Some((k, (s, t))),
                        _ => None,
                    });
                    node.log_keyed(cx, kept);
                }
                let starting = if snapshots {
                    starting
                        .into_iter()
                        .map(|(k, (s, _))| Emitted::State(k, s))
                        .collect()
                } else {
                    Vec::new()
                };
                let changes = changes.filter(|e| !matches!(e, Emitted::Kept(..)));
                Built::Contents(contents_at(cx, starting, at).concat(changes))
            })
        };
        let mapped_from = emitted(false);
        let snapshots_from = emitted(true);
        let mapped = self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let Built::Contents(emitted) = mapped_from(cx) else {
                unreachable!("map_with_state builds contents")
            };
            // Mapped values belong to the batch that produced them only.
            Built::arrivals(emitted.flat_map(|e| match e {
                Emitted::Mapped(u) => Some(u),
                _ => None,
            }))
        }));
        let snapshots = self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let Built::Contents(emitted) = snapshots_from(cx) else {
                unreachable!("map_with_state builds contents")
            };
            Built::Contents(emitted.flat_map(|e| match e {
                Emitted::State(k, s) => Some((k, s)),
                _ => None,
            }))
        }));
        MapWithStateDStream { mapped, snapshots }
    }
}
