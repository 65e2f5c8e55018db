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
//!
//! The [`registry`] names every format, with its options and its constructor: it is where
//! `format(..)` is looked up and where a new connector is declared.

pub mod console;
pub mod file;
pub mod foreach_batch;
pub mod kafka;
pub mod memory;
pub mod noop;
pub mod options;
pub mod rate;
pub mod registry;
pub mod socket;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::thread::Thread;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::data::{OutputMode, Row, Schema};

// The connector errors live in the error module, below every layer that reports them.
pub use crate::error::{SinkError, SourceError};
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

/// A configured streaming source.
pub trait Source: Send + Sync + fmt::Debug {
    /// How progress reports describe the source, e.g. `TextSocketV2[host: localhost, port: 9999]`.
    fn description(&self) -> String;
    /// The rows' schema.
    fn schema(&self) -> Schema;
    /// Starts reading. Called once per query run, on the leader worker.
    fn open(&self, wake: Wake) -> Result<Box<dyn SourceReader>, SourceError>;

    /// For sources whose reader hands over work items (files) rather than rows: turns one
    /// item into rows, on whichever worker the item lands. `None`: the reader's rows are data.
    fn partition_reader(&self) -> Option<Arc<dyn PartitionReader>> {
        None
    }

    /// For sources whose rows sit in this process's memory ([`MemoryStream`](memory::MemoryStream)):
    /// the rows by offset. The leader then claims rows by count ([`SourceReader::claim`]) instead
    /// of polling them, and each worker of the leader's process copies its share of an epoch's
    /// rows straight into the dataflow: no row passes through the leader's buffers, and the
    /// copying runs on every local worker at once.
    fn local_rows(&self) -> Option<Arc<dyn LocalRows>> {
        None
    }

    /// True for static tables: read once and whole in the first epoch, never again.
    fn is_static(&self) -> bool {
        false
    }

    /// The most items (rows, or files) one epoch takes from this source, if it sets its own.
    fn max_per_epoch(&self) -> Option<usize> {
        None
    }

    /// Whether a restarted query must show the reader every record that earlier epochs took
    /// (the file source skips the files it has seen), not only how many
    /// (see [`SourceReader::resume`]).
    fn resumes_from_records(&self) -> bool {
        false
    }

    /// Called on the leader once the epoch that took `records` (the rows or work items this
    /// source's reader handed over) has been written by the sink, and committed when the query
    /// has a checkpoint: the file source's `cleanSource` deletes or archives its files here.
    fn committed(&self, records: &[Row]) -> Result<(), SourceError> {
        let _ = records;
        Ok(())
    }

    /// A static table's size on disk, if known: what decides whether a join broadcasts it
    /// (Spark's file-size estimate for `spark.sql.autoBroadcastJoinThreshold`).
    fn size_in_bytes(&self) -> Option<u64> {
        None
    }
    /// This source reading only the columns where `read` holds (one flag per schema column),
    /// every other column null in every row, when that saves it work: Spark's column pruning
    /// into the scan, by which a JSON or CSV source converts only the fields its query uses.
    /// `None`: it reads every column, as before.
    fn reading_only(&self, read: &[bool]) -> Option<Arc<dyn Source>> {
        let _ = read;
        None
    }

    /// Which columns it reads (one flag per schema column), if not all: a source made by
    /// [`reading_only`](Self::reading_only).
    fn columns_read(&self) -> Option<Vec<bool>> {
        None
    }
}

/// Reads work items (for example files) into rows, inside the dataflow.
pub trait PartitionReader: Send + Sync + fmt::Debug {
    /// Opens one item, to be read a part at a time; what happens (rows read, records skipped,
    /// failures) is reported tagged with `source`.
    fn open(&self, item: &Row, source: usize) -> Box<dyn PartitionRead>;

    /// Opens one item as [`open`](Self::open) does, for readers whose items wait on I/O done
    /// elsewhere (a Kafka fetch on the client's runtime): `wake` asks the worker to read the
    /// item again once more has arrived, so it never spins while the item
    /// [waits](PartitionRead::waiting).
    fn open_waking(&self, item: &Row, source: usize, wake: ItemWake) -> Box<dyn PartitionRead> {
        let _ = wake;
        self.open(item, source)
    }

    /// Cuts an epoch's work items, as the source's reader handed them over, into the items the
    /// workers read, for `workers` workers in all: the file source cuts a large file into byte
    /// ranges so that every worker reads a part of it. Called on the leader for each epoch;
    /// the result must not change the rows read, as a multiset, only who reads them, and it
    /// keeps the items' order (the order of rows an upsert table keeps). By default the items
    /// are read as they are.
    fn plan_items(&self, items: Vec<Row>, workers: usize) -> Vec<Row> {
        let _ = workers;
        items
    }

    /// The worker (modulo the number of workers) that reads `item`: by default its hash, which
    /// spreads many items evenly; a reader whose [planned](Self::plan_items) items name their
    /// worker routes them there, so that few items still give every worker one.
    fn route(&self, item: &Row) -> u64 {
        differential_dataflow::Hashable::hashed(item)
    }

    /// Reads all of one item: hands its rows to `rows`, in order, and appends what happened to
    /// `events`.
    fn read(&self, item: &Row, source: usize, rows: &mut dyn FnMut(Row), events: &mut Vec<SourceEvent>) {
        let mut reading = self.open(item, source);
        while reading.read(usize::MAX, rows, events) {}
    }
}

/// One work item being read (see [`PartitionReader::open`]).
pub trait PartitionRead {
    /// Hands up to `max` more of the item's records to `rows` as rows, in order (records
    /// dropped as malformed count, but give no row). Returns false once the item is finished,
    /// by its end or by a failure, and then appends what happened to `events`. Rows go straight
    /// to the caller, which puts them where the dataflow reads them: no buffer in between.
    fn read(&mut self, max: usize, rows: &mut dyn FnMut(Row), events: &mut Vec<SourceEvent>) -> bool;

    /// True while the item is unfinished but nothing more has arrived: the worker then waits
    /// for the item's [`ItemWake`] instead of reading again at once.
    fn waiting(&self) -> bool {
        false
    }
}

/// Asks a worker to read a work item again (see [`PartitionReader::open_waking`]); callable
/// from any thread.
#[derive(Clone)]
pub struct ItemWake(Arc<dyn Fn() + Send + Sync>);

impl ItemWake {
    /// A wake that calls `f`.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        ItemWake(Arc::new(f))
    }

    /// Wakes the worker.
    pub fn wake(&self) {
        (self.0)()
    }
}

impl fmt::Debug for ItemWake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ItemWake")
    }
}

/// Rows held in memory by offset (the first row added is offset 0), readable from any worker
/// thread of the process that holds them (see [`Source::local_rows`]).
pub trait LocalRows: Send + Sync + fmt::Debug {
    /// Calls `f` with the rows at the offsets `range`, in order, in one or more slices. Offsets
    /// past the rows added so far are left out.
    fn for_each_slice(&self, range: Range<u64>, f: &mut dyn FnMut(&[Row]));
}

/// What reading work items reports back to the leader (these travel through the dataflow, so
/// they reach it from any worker of any process).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SourceEvent {
    /// `rows` rows were read for source number `source`.
    Rows {
        /// The source's position in the plan's source list.
        source: usize,
        /// How many.
        rows: u64,
    },
    /// Malformed records were dropped or repaired.
    Malformed {
        /// The source's position in the plan's source list.
        source: usize,
        /// How many.
        records: u64,
    },
    /// The greatest event time one worker saw in an epoch, under a watermark (microseconds):
    /// what the watermark moves by.
    MaxEventTime {
        /// The event time.
        micros: i64,
    },
    /// One worker's event-time statistics of an epoch's rows at one `withWatermark`: what the
    /// progress report's `eventTime` (`min`, `avg`, `max`) shows.
    EventTimeStats {
        /// The figures.
        stats: tidewater_operators::EventTimeStats,
    },
    /// One worker's figures of one stateful operator for an epoch: every stateful operator
    /// (join of two streams, deduplication, stateful function, aggregation) reports in this
    /// one shape, under the number the compiler gave it (its position in the progress
    /// report's `stateOperators`).
    StateOperator {
        /// The operator's number among the query's stateful operators, in build order.
        operator: usize,
        /// What it did.
        figures: OperatorFigures,
    },
    /// The query must stop: a `FAILFAST` record or an unreadable file.
    Failed {
        /// The source's position in the plan's source list.
        source: usize,
        /// What went wrong, naming the file and line.
        message: String,
    },
    /// One worker wrote its part of an epoch's output (see [`Sink::part_writer`]): the sink
    /// lists it when it commits the epoch.
    PartWritten {
        /// The part's name, as the sink's log lists it.
        name: String,
        /// The rows in it.
        rows: u64,
    },
    /// A worker could not write its part of an epoch's output: the epoch is not committed,
    /// and the query stops.
    PartFailed {
        /// What went wrong.
        message: String,
    },
    /// An expression failed on a row of the epoch under ANSI mode: the epoch is not written,
    /// and the query stops with the error.
    EvalFailed {
        /// The error, with Spark's class.
        error: crate::error::EvalError,
    },
}

/// What one stateful operator did on one worker in one epoch (see
/// [`SourceEvent::StateOperator`]). Summed over workers, these are Spark's
/// `numRowsUpdated`, `numRowsRemoved` and `numRowsDroppedByWatermark`; `held` gives
/// `numRowsTotal`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OperatorFigures {
    /// The rows (keys) the operator holds on this worker.
    pub held: StateHeld,
    /// Rows (keys) added or changed in the epoch.
    pub updated: u64,
    /// Rows (keys) forgotten in the epoch.
    pub removed: u64,
    /// Input rows dropped as late. An aggregation counts partial states, as Spark counts its
    /// input after partial aggregation.
    pub dropped_by_watermark: u64,
}

/// How an operator tells the rows it holds: some know their state's size after the epoch,
/// others only how it changed (the driver sums the changes over the run).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StateHeld {
    /// Rows held after the epoch.
    After(u64),
    /// Change in the rows held during the epoch (restored rows count at the epoch they
    /// enter).
    Change(i64),
    /// The operator does not count them; the driver does, from the operator's output.
    #[default]
    Unknown,
}

/// A running source, polled by the leader worker.
pub trait SourceReader {
    /// Moves up to `max` available rows into `out` without blocking.
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> Result<ReadStatus, SourceError>;

    /// For a source with [`Source::local_rows`]: claims up to `max` of the rows available next,
    /// by count, without copying them (the workers read them by offset), and returns how many.
    /// Other readers hand rows over with [`poll`](Self::poll) and fail here.
    fn claim(&mut self, max: usize) -> Result<(usize, ReadStatus), SourceError> {
        let _ = max;
        Err(SourceError::Read {
            source_name: "source".into(),
            reason: "it hands rows over by value, not by offset".into(),
        })
    }

    /// For `Trigger::AvailableNow`: from now on, end after the rows that exist at this moment.
    /// Sources without such a notion (a socket) keep reading until their peer closes.
    fn end_at_available_now(&mut self) {}

    /// When the reader wants to be polled again even if nothing wakes the worker (a rate
    /// source's next row, a directory's next listing).
    fn next_poll(&self) -> Option<Instant> {
        None
    }

    /// Look for new data at the next poll even if the reader would otherwise wait (for
    /// `process_all_available`).
    fn discover_now(&mut self) {}

    /// How far the query is behind the newest data, per partition, for a source that knows
    /// (Kafka: each partition's end offset, as of the last look at the broker, minus the
    /// offset epochs have taken records to): Spark's `minOffsetsBehindLatest`,
    /// `maxOffsetsBehindLatest` and `avgOffsetsBehindLatest`, and the UI's lag. `all_taken`
    /// says whether epochs have taken everything the reader handed over. `None` for sources
    /// that do not know.
    fn offsets_behind_latest(&self, all_taken: bool) -> Option<Vec<u64>> {
        let _ = all_taken;
        None
    }

    /// Resumes a restarted query after what earlier runs took: the first `consumed` records
    /// (rows, or work items) went to epochs already committed or about to be replayed, so the
    /// reader hands over what comes after them. `records` lists those records when the source
    /// [resumes from records](Source::resumes_from_records), and is empty otherwise.
    /// `position` is what [`position`](Self::position) returned when that offset was logged.
    /// A source that cannot replay (a socket) has nothing to skip.
    fn resume(&mut self, consumed: u64, records: &[Row], position: Option<&serde_json::Value>) {
        let _ = (consumed, records, position);
    }

    /// What, besides its offset, a restarted reader needs to go on exactly where this one
    /// is (the rate source's start time, from which its rows' timestamps count); logged with
    /// the offsets of every epoch.
    fn position(&self) -> Option<serde_json::Value> {
        None
    }
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
    /// The least time between the starts of two epochs under the default trigger. A sink
    /// whose cost is per epoch rather than per row (a file sink writes files for each) asks
    /// for one, so that fast input is cut into fewer, larger epochs instead of one per poll.
    fn min_epoch_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// For sinks that can write an append-mode epoch where its rows are computed: every
    /// worker writes its own part, streaming, and no row travels to worker 0 or waits there
    /// for the epoch's end (Spark writes one part file per task). The query then calls
    /// [`commit_parts`](Self::commit_parts) instead of [`add_batch`](Self::add_batch), once
    /// every worker has finished the epoch. `None` (the default): the sink takes whole epochs.
    fn part_writer(&self) -> Option<Arc<dyn PartWriter>> {
        None
    }

    /// Commits epoch `epoch`, whose rows the workers wrote as `parts` (their names and row
    /// counts, in name order) through the [`part_writer`](Self::part_writer); called once per
    /// epoch, in order, after every part is durable. Until it returns, the epoch is not
    /// output: a crash before leaves parts no reader lists, which the epoch's rerun replaces.
    fn commit_parts(
        &mut self,
        epoch: u64,
        mode: OutputMode,
        parts: &[(String, u64)],
    ) -> Result<(), SinkError> {
        let _ = (mode, parts);
        Err(SinkError::Write {
            sink_name: self.description(),
            batch_id: epoch,
            reason: "this sink does not take epochs written in parts".into(),
        })
    }
}

/// Writes parts of an epoch's output on the workers (see [`Sink::part_writer`]): shared by
/// every worker of a process, and called from their threads.
pub trait PartWriter: Send + Sync + fmt::Debug {
    /// Opens the part of epoch `epoch` that worker `worker` writes, with rows of `schema`.
    /// Its name depends only on the epoch and the worker, so that an epoch run again after a
    /// crash replaces what the first run left.
    fn open(&self, schema: &Schema, epoch: u64, worker: usize) -> std::io::Result<Box<dyn PartFile>>;

    /// Whether the parts may hold an update-mode epoch too: each worker's new rows, when the
    /// query's output has no retraction (its stateful operators emit insertions alone). For a
    /// sink that keeps nothing of a row, as noop; a file sink writes append mode only.
    fn takes_updates(&self) -> bool {
        false
    }
}

/// One part being written (see [`PartWriter::open`]).
pub trait PartFile {
    /// Writes one row; buffered, so memory stays bounded whatever the part's size.
    fn write(&mut self, row: &Row) -> std::io::Result<()>;
    /// Makes the part durable under its final name, and returns that name.
    fn finish(self: Box<Self>) -> std::io::Result<String>;
}
