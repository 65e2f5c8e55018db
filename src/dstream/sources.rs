//! DStream sources: what the driver feeds each epoch.
//!
//! Sockets and text files reuse the structured API's connectors (the same readers, threads,
//! retries and errors); a queue stream hands out one prepared batch per epoch. Each source has
//! a [`SourceSpec`], shared by all workers, and on the leader a [`Feeder`] that owns the input.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use differential_dataflow::input::InputSession;

use super::graph::Data;
use crate::connectors::{ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::Row;

/// Where a restarted context's source resumes (read from the checkpoint by the driver).
pub(crate) struct Resume<'a> {
    /// Records earlier runs took: everything before goes to batches already committed, or
    /// to the batch that runs again.
    pub(crate) consumed: u64,
    /// The batch that runs again, if one does: its offsets, and the records it took when the
    /// source logs them.
    pub(crate) replay: Option<(std::ops::Range<u64>, Vec<Row>)>,
    /// Every record earlier runs took, for a source that skips what it has seen (files).
    pub(crate) seen: &'a [Row],
    /// The reader's position, as logged with the offsets.
    pub(crate) position: Option<&'a serde_json::Value>,
}

/// A source as the DStream graph records it.
pub(crate) trait SourceSpec: Send + Sync {
    /// Opens the source on the leader; `input` is the `InputSession` the graph created for it.
    fn feeder(&self, input: Box<dyn Any>, wake: &Wake) -> Result<Box<dyn Feeder>, SourceError>;
}

/// A source on the leader: reads without blocking, and inserts into the dataflow per epoch.
pub(crate) trait Feeder {
    /// Moves what is available now into the feeder's buffer.
    fn poll(&mut self) -> Result<(), SourceError>;
    /// Takes the records of the next batch: a replayed batch's, or what is waiting, up to the
    /// source's limit. Nothing is inserted yet: the checkpoint logs them first.
    fn take(&mut self);
    /// The offsets of what [`take`](Self::take) took: `start..end`.
    fn offsets(&self) -> std::ops::Range<u64>;
    /// The records [`take`](Self::take) took, for a source that cannot replay them itself
    /// and so logs them (`sources/<i>/<batch>`); `None` for one that can (a queue).
    fn logged(&self) -> Option<&[Row]>;
    /// What the reader needs besides its offset to go on where it is, if anything.
    fn position(&self) -> Option<serde_json::Value> {
        None
    }
    /// True if a restart reads every logged record again (the files seen): the log is kept.
    fn keeps_log(&self) -> bool {
        false
    }
    /// Resumes after a restart (see [`Resume`]).
    fn resume(&mut self, resume: Resume<'_>);
    /// Inserts what [`take`](Self::take) took; returns how many.
    fn feed(&mut self) -> u64;
    /// Closes epochs before `next` on this input.
    fn advance(&mut self, next: u64);
    /// True when the source has ended and everything it read has been fed.
    fn exhausted(&self) -> bool;
    /// When the reader wants to be polled even if nothing wakes the worker.
    fn next_poll(&self) -> Option<Instant>;
    /// Reads nothing more (a graceful stop): what was read is still fed.
    fn stop_reading(&mut self);
}

/// Takes the typed input back from the graph.
fn session<X: Data>(input: Box<dyn Any>) -> Result<InputSession<u64, X, isize>, SourceError> {
    input
        .downcast::<InputSession<u64, X, isize>>()
        .map(|b| *b)
        .map_err(|_| SourceError::Read {
            source_name: "dstream".into(),
            reason: "internal error: a source's input has another element type".into(),
        })
}

/// A structured-API source whose rows become elements (`socket`, or `text` files whose work
/// items are file paths read inside the dataflow).
pub(crate) struct ConnectorSource<X> {
    pub(crate) source: Arc<dyn Source>,
    /// Turns a row of the reader into the element fed to the dataflow.
    pub(crate) convert: fn(Row) -> X,
    /// The most records an epoch takes.
    pub(crate) limit: usize,
}

impl<X: Data> SourceSpec for ConnectorSource<X> {
    fn feeder(&self, input: Box<dyn Any>, wake: &Wake) -> Result<Box<dyn Feeder>, SourceError> {
        let reader = self.source.open(wake.clone())?;
        Ok(Box::new(ConnectorFeeder {
            reader: Some(reader),
            pending: Vec::new(),
            taken: Vec::new(),
            consumed: 0,
            replay: None,
            keeps_log: self.source.resumes_from_records(),
            input: session::<X>(input)?,
            convert: self.convert,
            limit: self.limit.max(1),
        }))
    }
}

struct ConnectorFeeder<X: Data> {
    reader: Option<Box<dyn SourceReader>>,
    pending: Vec<Row>,
    /// What the next batch takes.
    taken: Vec<Row>,
    /// Records handed to batches before `taken` (its start offset).
    consumed: u64,
    /// The records of a batch that runs again after a restart.
    replay: Option<Vec<Row>>,
    keeps_log: bool,
    input: InputSession<u64, X, isize>,
    convert: fn(Row) -> X,
    limit: usize,
}

impl<X: Data> Feeder for ConnectorFeeder<X> {
    fn poll(&mut self) -> Result<(), SourceError> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        // A full buffer is backpressure: the reader's thread waits on its bounded channel.
        let room = self.limit.saturating_sub(self.pending.len());
        if room == 0 {
            return Ok(());
        }
        if reader.poll(&mut self.pending, room)? == ReadStatus::Exhausted {
            self.reader = None;
        }
        Ok(())
    }

    fn take(&mut self) {
        self.taken = match self.replay.take() {
            Some(rows) => rows,
            None => {
                let take = self.pending.len().min(self.limit);
                self.pending.drain(..take).collect()
            }
        };
    }

    fn offsets(&self) -> std::ops::Range<u64> {
        self.consumed..self.consumed + self.taken.len() as u64
    }

    fn logged(&self) -> Option<&[Row]> {
        Some(&self.taken)
    }

    fn position(&self) -> Option<serde_json::Value> {
        self.reader.as_ref().and_then(|r| r.position())
    }

    fn keeps_log(&self) -> bool {
        self.keeps_log
    }

    fn resume(&mut self, resume: Resume<'_>) {
        if let Some(reader) = self.reader.as_mut() {
            let end = resume
                .replay
                .as_ref()
                .map_or(resume.consumed, |(range, _)| range.end);
            reader.resume(end, resume.seen, resume.position);
        }
        self.consumed = resume.consumed;
        self.replay = resume.replay.map(|(_, rows)| rows);
    }

    fn feed(&mut self) -> u64 {
        let n = self.taken.len() as u64;
        for row in self.taken.drain(..) {
            self.input.insert((self.convert)(row));
        }
        self.consumed += n;
        n
    }

    fn advance(&mut self, next: u64) {
        self.input.advance_to(next);
        self.input.flush();
    }

    fn exhausted(&self) -> bool {
        self.reader.is_none() && self.pending.is_empty() && self.replay.is_none()
    }

    fn next_poll(&self) -> Option<Instant> {
        self.reader.as_ref().and_then(|r| r.next_poll())
    }

    fn stop_reading(&mut self) {
        self.reader = None;
    }
}

/// `queue_stream`: batch `e` is the queue's `e`-th entry; the source ends when it is empty.
pub(crate) struct QueueSource<T> {
    /// Taken by the leader when the context starts.
    pub(crate) batches: Mutex<Option<VecDeque<Vec<T>>>>,
}

impl<T: Data> SourceSpec for QueueSource<T> {
    fn feeder(&self, input: Box<dyn Any>, _wake: &Wake) -> Result<Box<dyn Feeder>, SourceError> {
        let batches = self
            .batches
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        Ok(Box::new(QueueFeeder {
            batches,
            taken: Vec::new(),
            took: 0,
            consumed: 0,
            replay: None,
            input: session::<T>(input)?,
        }))
    }
}

struct QueueFeeder<T: Data> {
    batches: VecDeque<Vec<T>>,
    /// The elements the next batch takes, and from how many entries (0 or 1).
    taken: Vec<T>,
    took: u64,
    /// Entries handed to batches so far (the queue's offset).
    consumed: u64,
    /// How many entries the batch that runs again after a restart took.
    replay: Option<u64>,
    input: InputSession<u64, T, isize>,
}

impl<T: Data> Feeder for QueueFeeder<T> {
    fn poll(&mut self) -> Result<(), SourceError> {
        Ok(())
    }

    fn take(&mut self) {
        // One entry per batch; a replayed batch takes as many as it did (the same one).
        let entries = self.replay.take().unwrap_or(1);
        self.taken.clear();
        self.took = 0;
        for _ in 0..entries {
            if let Some(batch) = self.batches.pop_front() {
                self.taken.extend(batch);
                self.took += 1;
            }
        }
    }

    fn offsets(&self) -> std::ops::Range<u64> {
        self.consumed..self.consumed + self.took
    }

    fn logged(&self) -> Option<&[Row]> {
        // The queue is built again by the same code: its offset is enough.
        None
    }

    fn resume(&mut self, resume: Resume<'_>) {
        let skip = resume.consumed.min(self.batches.len() as u64);
        self.batches.drain(..skip as usize);
        self.consumed = resume.consumed;
        self.replay = resume.replay.map(|(range, _)| range.end - range.start);
    }

    fn feed(&mut self) -> u64 {
        let n = self.taken.len() as u64;
        for element in self.taken.drain(..) {
            self.input.insert(element);
        }
        self.consumed += self.took;
        self.took = 0;
        n
    }

    fn advance(&mut self, next: u64) {
        self.input.advance_to(next);
        self.input.flush();
    }

    fn exhausted(&self) -> bool {
        self.batches.is_empty() && self.replay.is_none()
    }

    fn next_poll(&self) -> Option<Instant> {
        None
    }

    fn stop_reading(&mut self) {
        self.batches.clear();
    }
}
