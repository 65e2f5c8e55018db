//! The DStream graph: what a [`DStream`](super::DStream) records, and how every worker builds it.
//!
//! A DStream is a recipe, not a dataflow: defining one on the driver thread records a closure
//! that, given a worker's dataflow scope, builds the stream's differential collection there.
//! `start()` runs every output's recipe on every worker.
//!
//! The collection of a DStream holds, at epoch `e`, exactly the elements of batch `e` (Spark's
//! RDD for that batch). Streams fresh from a source are kept as their *arrivals* (each element
//! inserted once, at its batch) together with how many batches each element lives: 1 for a
//! plain stream, the window length for a window. Their contents are then the arrivals plus the
//! same arrivals retracted `life` epochs later, which is what makes windows cheap: an element
//! enters and leaves a window once, whatever the window's length.

use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use differential_dataflow::input::InputSession;
use differential_dataflow::{ExchangeData, VecCollection};
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::Scope;

use super::durable::DurableGraph;
use super::output::Emitter;
use crate::compile::Events;

/// What a DStream's elements must be: exchanged between workers (serde), ordered (the output
/// of a batch is sorted, so it does not depend on the workers) and hashable (keys are routed
/// by hash), and shareable between threads (Sync). `#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize,
/// Deserialize)]` makes any type one.
pub trait Data: ExchangeData + Hash + Sync {}

impl<T: ExchangeData + Hash + Sync> Data for T {}

/// A collection at epoch timestamps.
pub(crate) type Coll<'s, T> = VecCollection<'s, u64, T, isize>;

/// A DStream as built in one worker's dataflow.
pub(crate) enum Built<'s, T: Data> {
    /// Elements inserted at their batch, each living `life` batches.
    Arrivals { records: Coll<'s, T>, life: u64 },
    /// The batch's elements as the collection's contents at each epoch.
    Contents(Coll<'s, T>),
}

impl<'s, T: Data> Built<'s, T> {
    /// Per-batch elements that live one batch.
    pub(crate) fn arrivals(records: Coll<'s, T>) -> Self {
        Built::Arrivals { records, life: 1 }
    }

    /// The collection whose contents at epoch `e` are batch `e`'s elements.
    pub(crate) fn contents(self) -> Coll<'s, T> {
        match self {
            Built::Arrivals { records, life } => {
                let leaving = records.clone().delay(move |t| t + life).negate();
                records.concat(leaving)
            }
            Built::Contents(contents) => contents,
        }
    }

    /// Applies a per-element function; arrivals stay arrivals.
    pub(crate) fn flat_map<U: Data, I>(self, f: impl FnMut(T) -> I + 'static) -> Built<'s, U>
    where
        I: IntoIterator<Item = U> + 'static,
    {
        match self {
            Built::Arrivals { records, life } => Built::Arrivals {
                records: records.flat_map(f),
                life,
            },
            Built::Contents(contents) => Built::Contents(contents.flat_map(f)),
        }
    }

    /// The arrivals of a stream whose elements live exactly one batch, if this is one.
    pub(crate) fn one_batch_arrivals(self) -> Result<Coll<'s, T>, Self> {
        match self {
            Built::Arrivals { records, life: 1 } => Ok(records),
            other => Err(other),
        }
    }
}

/// Builds a DStream in a worker's dataflow. Called once per worker per use of the stream.
pub(crate) type BuildFn<T> = Arc<dyn for<'s> Fn(&mut BuildCtx<'s>) -> Built<'s, T> + Send + Sync>;

/// Wraps a closure as a [`BuildFn`], pinning down its higher-ranked signature.
pub(crate) fn build_fn<T, F>(f: F) -> BuildFn<T>
where
    T: Data,
    F: for<'s> Fn(&mut BuildCtx<'s>) -> Built<'s, T> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// One worker's state while it builds the DStream graph.
pub(crate) struct BuildCtx<'s> {
    pub(crate) scope: Scope<'s, u64>,
    /// One input per source (an `InputSession<u64, X, isize>` for the source's element type),
    /// created by the first stream that reads the source.
    inputs: HashMap<usize, Box<dyn Any>>,
    /// Fed one `()` per epoch by the driver: batches that exist even when they are empty.
    clock: InputSession<u64, (), isize>,
    /// What sources read inside the dataflow report (file read failures).
    pub(crate) events: Vec<Events<'s>>,
    /// Passes an epoch once every output has it.
    pub(crate) probe: ProbeHandle<u64>,
    /// The outputs, called by the driver for each finished epoch.
    pub(crate) emitters: Vec<Box<dyn Emitter>>,
    /// The batch interval in milliseconds (for timeouts).
    pub(crate) batch_ms: u64,
    /// Where stateful streams keep their state, when the context has a checkpoint.
    pub(crate) durable: Option<Arc<DurableGraph>>,
    /// The number the next stateful stream's state is kept under (`state/<node>`).
    pub(crate) next_node: usize,
    /// The first batch this run feeds (0 unless it resumes from a checkpoint).
    pub(crate) resume: u64,
}

/// What building leaves for the driver: the inputs to feed, the clock and the outputs.
pub(crate) struct BuiltGraph {
    pub(crate) inputs: HashMap<usize, Box<dyn Any>>,
    pub(crate) clock: InputSession<u64, (), isize>,
    pub(crate) emitters: Vec<Box<dyn Emitter>>,
}

impl<'s> BuildCtx<'s> {
    pub(crate) fn new(
        scope: Scope<'s, u64>,
        probe: ProbeHandle<u64>,
        batch_ms: u64,
        durable: Option<Arc<DurableGraph>>,
    ) -> Self {
        BuildCtx {
            resume: durable.as_ref().map_or(0, |d| d.resume),
            durable,
            next_node: 0,
            scope,
            inputs: HashMap::new(),
            clock: InputSession::new(),
            events: Vec::new(),
            probe,
            emitters: Vec::new(),
            batch_ms,
        }
    }

    /// The records of source `source`, as inserted by the driver (on worker 0).
    pub(crate) fn input<X: Data>(&mut self, source: usize) -> Coll<'s, X> {
        let scope = self.scope;
        let session = self
            .inputs
            .entry(source)
            .or_insert_with(|| Box::new(InputSession::<u64, X, isize>::new()));
        match session.downcast_mut::<InputSession<u64, X, isize>>() {
            Some(session) => session.to_collection(scope),
            // Source ids are private and each names one element type.
            None => unreachable!("source {source} was read with two element types"),
        }
    }

    /// A collection holding one `()` in every batch.
    pub(crate) fn clock(&mut self) -> Coll<'s, ()> {
        Built::arrivals(self.clock_arrivals()).contents()
    }

    /// One `()` inserted at every batch (the arrivals of [`clock`](Self::clock)).
    pub(crate) fn clock_arrivals(&mut self) -> Coll<'s, ()> {
        self.clock.to_collection(self.scope)
    }

    pub(crate) fn finish(self) -> BuiltGraph {
        BuiltGraph {
            inputs: self.inputs,
            clock: self.clock,
            emitters: self.emitters,
        }
    }
}
