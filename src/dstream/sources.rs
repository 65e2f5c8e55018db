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

/// A source as the DStream graph records it.
pub(crate) trait SourceSpec: Send + Sync {
    /// Opens the source on the leader; `input` is the `InputSession` the graph created for it.
    fn feeder(&self, input: Box<dyn Any>, wake: &Wake) -> Result<Box<dyn Feeder>, SourceError>;
}

/// A source on the leader: reads without blocking, and inserts into the dataflow per epoch.
pub(crate) trait Feeder {
    /// Moves what is available now into the feeder's buffer.
    fn poll(&mut self) -> Result<(), SourceError>;
    /// Inserts the records that batch `epoch` takes; returns how many.
    fn feed(&mut self, epoch: u64) -> u64;
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
            input: session::<X>(input)?,
            convert: self.convert,
            limit: self.limit.max(1),
        }))
    }
}

struct ConnectorFeeder<X: Data> {
    reader: Option<Box<dyn SourceReader>>,
    pending: Vec<Row>,
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

    fn feed(&mut self, _epoch: u64) -> u64 {
        let take = self.pending.len().min(self.limit);
        for row in self.pending.drain(..take) {
            self.input.insert((self.convert)(row));
        }
        take as u64
    }

    fn advance(&mut self, next: u64) {
        self.input.advance_to(next);
        self.input.flush();
    }

    fn exhausted(&self) -> bool {
        self.reader.is_none() && self.pending.is_empty()
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
            input: session::<T>(input)?,
        }))
    }
}

struct QueueFeeder<T: Data> {
    batches: VecDeque<Vec<T>>,
    input: InputSession<u64, T, isize>,
}

impl<T: Data> Feeder for QueueFeeder<T> {
    fn poll(&mut self) -> Result<(), SourceError> {
        Ok(())
    }

    fn feed(&mut self, _epoch: u64) -> u64 {
        let batch = self.batches.pop_front().unwrap_or_default();
        let n = batch.len() as u64;
        for element in batch {
            self.input.insert(element);
        }
        n
    }

    fn advance(&mut self, next: u64) {
        self.input.advance_to(next);
        self.input.flush();
    }

    fn exhausted(&self) -> bool {
        self.batches.is_empty()
    }

    fn next_poll(&self) -> Option<Instant> {
        None
    }

    fn stop_reading(&mut self) {
        self.batches.clear();
    }
}
