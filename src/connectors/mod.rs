//! Sources and sinks, each behind one small trait.
//!
//! A [`Source`] is configured once (by `read_stream().format(..).option(..)`) and shared by all
//! workers; the leader worker [`opens`](Source::open) it, and the resulting [`SourceReader`] is
//! polled from the worker's loop without ever blocking: I/O happens on the reader's own thread,
//! which hands rows over a bounded channel (a full channel is backpressure, never loss) and
//! wakes the worker with [`Wake`].
//!
//! A [`Sink`] receives each epoch's output exactly once, in epoch order, on the leader worker,
//! after the dataflow has finished the epoch.

pub mod console;
pub mod foreach_batch;
pub mod memory;
pub mod noop;
pub mod options;
pub mod socket;

use std::fmt;
use std::thread::Thread;

use crate::data::{Row, Schema};
use crate::plan::OutputMode;

pub use options::Options;

/// Wakes the worker that polls a reader (it may be parked waiting for timely events).
#[derive(Clone, Debug)]
pub struct Wake(Thread);

impl Wake {
    /// A waker for the calling thread.
    pub fn current() -> Self {
        Wake(std::thread::current())
    }

    /// Wakes the worker.
    pub fn wake(&self) {
        self.0.unpark()
    }
}

/// What a [`SourceReader::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStatus {
    /// More rows may come later.
    Open,
    /// The source has ended: every row has been handed over.
    Exhausted,
}

/// Errors of sources: each names the source and says what to do.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SourceError {
    /// Could not connect (after retrying).
    #[error("{source_name}: could not connect to {address}: {reason}; is the server running?")]
    Connect {
        /// Which source.
        source_name: String,
        /// host:port
        address: String,
        /// The last error.
        reason: String,
    },
    /// Reading failed mid-stream.
    #[error("{source_name}: read failed: {reason}")]
    Read {
        /// Which source.
        source_name: String,
        /// What happened.
        reason: String,
    },
}

/// Errors of sinks.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing an epoch failed.
    #[error("{sink_name}: writing batch {batch_id} failed: {reason}")]
    Write {
        /// Which sink.
        sink_name: String,
        /// The epoch.
        batch_id: u64,
        /// What happened.
        reason: String,
    },
    /// A user's `foreach_batch` function returned an error.
    #[error("foreach_batch function failed on batch {batch_id}: {reason}")]
    UserFunction {
        /// The epoch.
        batch_id: u64,
        /// The function's error.
        reason: String,
    },
}

/// A configured streaming source.
pub trait Source: Send + Sync + fmt::Debug {
    /// How progress reports describe the source, e.g. `TextSocketV2[host: localhost, port: 9999]`.
    fn description(&self) -> String;
    /// The rows' schema.
    fn schema(&self) -> Schema;
    /// Starts reading. Called once per query run, on the leader worker.
    fn open(&self, wake: Wake) -> Result<Box<dyn SourceReader>, SourceError>;
}

/// A running source, polled by the leader worker.
pub trait SourceReader {
    /// Moves up to `max` available rows into `out` without blocking.
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> Result<ReadStatus, SourceError>;

    /// For `Trigger::AvailableNow`: from now on, end after the rows that exist at this moment.
    /// Sources without such a notion (a socket) keep reading until their peer closes.
    fn end_at_available_now(&mut self) {}
}

/// One epoch's output, as the output mode shapes it.
#[derive(Debug)]
pub struct Batch<'a> {
    /// The epoch (Spark's batch id).
    pub id: u64,
    /// The rows' schema.
    pub schema: &'a Schema,
    /// Append: the new rows. Update: the rows that changed, with their new values.
    /// Complete: the whole result. Always sorted, so that output does not depend on workers.
    pub rows: &'a [Row],
    /// The query's output mode.
    pub mode: OutputMode,
}

/// A streaming sink.
pub trait Sink: Send {
    /// How progress reports describe the sink.
    fn description(&self) -> String;
    /// Takes one epoch's output; called once per epoch, in order.
    fn add_batch(&mut self, batch: &Batch<'_>) -> Result<(), SinkError>;
}
