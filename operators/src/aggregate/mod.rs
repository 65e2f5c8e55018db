//! Aggregation of insert-only collections, one accumulator per key.
//!
//! Differential's `reduce` and `count` keep their input arranged, every distinct value of every
//! key, because a later retraction may need any of them (and they arrange their output too): the
//! state of a key grows with the number of its distinct values. When the input only ever inserts
//! (every diff is positive), the fold of a key's values so far is all that the next output depends
//! on, so [`AggregateAppendOnly::aggregate_append_only`] keeps exactly that: one
//! [`Aggregation::State`] per key, whatever the number of values and epochs.
//!
//! It also combines before the exchange. The operator runs in two stages:
//!
//! 1. each worker folds its own records of a time into one partial state per key, without moving
//!    any data; when the input frontier passes the time, it sends the partials on;
//! 2. the partials are exchanged by the hash of the key, and the worker owning a key merges them
//!    into the key's total state, then emits the change of the key's output at that time.
//!
//! A key seen a million times in an epoch thus crosses the network once per worker, not a million
//! times.
//!
//! **Only correct for insert-only inputs.** An accumulator such as a maximum cannot take a value
//! back out, and a key whose values were all removed would still be published. Debug builds panic
//! on a diff `<= 0`; release builds pass it to [`Aggregation::update`] unchecked, and the output is
//! then meaningless. Use differential's `reduce` for inputs with retractions.
//!
//! The operators, one a file: [`aggregate_append_only`](AggregateAppendOnly::aggregate_append_only)
//! and its `_flat` and `_into` forms (`append_only`), and [`aggregate_append_only_expiring`],
//! which also forgets closed keys (`expiring`). Both run the same two stages (`stages`). The
//! ready-made aggregations [`Count`], [`Sum`] and [`Max`] are in `aggregations`.

mod aggregations;
mod append_only;
mod expiring;
mod stages;

use differential_dataflow::Data;

pub use aggregations::{Count, Max, Sum};
pub use append_only::{
    aggregate_append_only_counted, aggregate_append_only_durable, aggregate_append_only_flat,
    aggregate_append_only_into, AggregateAppendOnly, Counted, Durable, PartialStream,
};
pub use expiring::{
    aggregate_append_only_expiring, aggregate_append_only_expiring_durable, ClosesAt, Dropped, Emit, Expired,
    Expiry,
};
pub use stages::KeyPrefix;
pub(crate) use stages::{merge_by_key, Partial, Pending};

/// One worker's figures of the keys an aggregation holds, for one time: Spark's state
/// operator metrics (`numRowsTotal` from the sum of `added - removed` over the run,
/// `numRowsUpdated`, `numRowsRemoved`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyFigures {
    /// Keys that entered the state (new or restored).
    pub added: u64,
    /// Keys whose total a new record changed (restored totals are not updates).
    pub updated: u64,
    /// Keys forgotten: closed by the watermark, or whose output became `None`.
    pub removed: u64,
}

/// What an append-only aggregation emits when a key's output changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Changes {
    /// The retraction of the old output and the insertion of the new one: the output is a
    /// collection that holds each key's current output, for any consumer.
    #[default]
    Both,
    /// The insertion of the new output alone, for every key that had input at the time
    /// whether its output changed or not: what a sink in update mode writes (Spark writes
    /// each key of the batch), at half the updates to move, sort and gather. The output is then no collection of the current
    /// result (an old output is never taken back), so a consumer that keeps it, or counts
    /// its rows, must not read it: the operator's [`KeyFigures`] count the keys instead.
    Insertions,
}

/// Receives, on the worker that owns them, the keys whose totals changed at a time, with their
/// new totals, once the time is merged: what a checkpoint keeps of an aggregation's state, by
/// key, so that it can be restored on any number of workers.
pub type StateLog<T, K, S> = Box<dyn FnMut(&T, Vec<(K, S)>)>;

/// An aggregation described by its accumulator, mergeable so that partial aggregates can be
/// combined.
///
/// The accumulator must form a commutative monoid under [`merge`](Aggregation::merge), with
/// [`init`](Aggregation::init) as its identity, and [`update`](Aggregation::update) must agree
/// with it: folding values into one state, or into several states that are merged afterwards,
/// gives the same state. Partial states of a key are built on every worker in no fixed order.
pub trait Aggregation: Clone + 'static {
    /// The value aggregated per key.
    type Input;
    /// The accumulator: partial on one worker, total on the key's owner. Shipped between workers.
    type State: timely::ExchangeData + Clone;
    /// The value published per key.
    type Output: Data;

    /// The state of a key with no values.
    fn init(&self) -> Self::State;
    /// Folds `input`, present `diff` times (`diff > 0`), into `state`.
    fn update(&self, state: &mut Self::State, input: &Self::Input, diff: isize);
    /// Folds the partial state `other` into `into`.
    fn merge(&self, into: &mut Self::State, other: Self::State);
    /// The value to publish for this key, or `None` to publish nothing (e.g. no rows).
    fn output(&self, state: &Self::State) -> Option<Self::Output>;
}

/// The partial states of one worker at one time, one per key, that the fold given to
/// [`aggregate_append_only_into`] updates.
///
/// Randomly seeded: the keys a worker owns share the low bits of the fixed-seed hash that routed
/// them there, which would cluster them in a map using that hash. hashbrown's map rather than
/// std's, for `entry_ref`: a fold looks a key up borrowed, hashing it once, and copies it
/// into the map only when it is new.
pub type PartialStates<K, S> = hashbrown::HashMap<K, S, foldhash::fast::RandomState>;
