//! [`QuerySpec`]: everything a worker needs to build and drive one query.

use std::sync::{Arc, Mutex};

use super::query::Shared;
use super::trigger::ManualClock;
use super::trigger::Trigger;
use crate::checkpoint::Checkpoint;
use crate::compile::{BatchTimes, DurableState};
use crate::connectors::{PartWriter, Sink};
use crate::plan::{LogicalPlan, OutputMode};

/// Rows a source may have waiting before its reader is no longer polled (backpressure).
pub(crate) const DEFAULT_MAX_ROWS_PER_EPOCH: usize = 1 << 20;

/// A query ready to run: its plan, how to output it, and its handle's shared state.
pub(crate) struct QuerySpec {
    pub(crate) plan: Arc<LogicalPlan>,
    pub(crate) mode: OutputMode,
    pub(crate) trigger: Trigger,
    /// Taken by the leader worker; other workers never write output.
    pub(crate) sink: Mutex<Option<Box<dyn Sink>>>,
    /// The sink's writer of parts, if it has one (see [`Sink::part_writer`]): taken from the
    /// sink before any worker starts, so that every worker builds the same dataflow.
    pub(crate) part_writer: Option<Arc<dyn PartWriter>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_rows_per_epoch: usize,
    /// The largest static table (bytes on disk) a join under an aggregation broadcasts to every
    /// worker; `None`: never (see [`crate::session::conf::AUTO_BROADCAST_JOIN_THRESHOLD`]).
    pub(crate) broadcast_threshold: Option<u64>,
    /// How a join of two streams that only insert keeps its state: as the checkpoint recorded,
    /// or the newest format for a new query.
    pub(crate) join_state_format: crate::compile::JoinStateFormat,
    /// The query's checkpoint, opened (and locked) by `start()` in the leader process; the
    /// leader worker takes it.
    pub(crate) checkpoint: Mutex<Option<Checkpoint>>,
    /// Where stateful operators log and restore their state, when the query has a checkpoint.
    pub(crate) durable: Option<Arc<DurableState>>,
    /// Worker threads in each process: those of the leader's process read the shares of
    /// sources held in its memory.
    pub(crate) local_workers: usize,
    /// The clock epochs take their batch time from: the wall clock when `None`.
    pub(crate) clock: Option<ManualClock>,
    /// Each epoch's batch time, recorded by the leader for its process's workers.
    pub(crate) batch_times: Arc<BatchTimes>,
    /// Where the query's expressions put their errors when they were bound under ANSI mode
    /// (see `expr::ansi`): its dataflow then reports them, which costs a look at every output
    /// batch, so it is only built then.
    pub(crate) failures: Option<crate::expr::FailureSlot>,
}

impl QuerySpec {
    /// The processing time now, in milliseconds: the query's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        match &self.clock {
            Some(clock) => clock.now_ms(),
            None => crate::compile::wall_clock_ms(),
        }
    }
}
