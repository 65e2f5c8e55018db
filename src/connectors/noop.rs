//! `format("noop")`: takes every epoch and discards it (for benchmarks), like Spark's.
//!
//! Spark's noop writer discards each task's rows where the task ran. Here too, every worker
//! discards its own rows (the sink's [`PartWriter`]), so that nothing is gathered to worker 0
//! or sorted there only to be dropped: in append mode when the query keeps no state, and in
//! update mode when its output holds no retraction (an aggregation's new rows). Other epochs
//! arrive whole, through [`Sink::add_batch`], and are dropped.

use std::sync::Arc;

use crate::connectors::{Batch, PartFile, PartWriter, Sink, SinkError};
use crate::data::{OutputMode, Row, Schema};

/// Discards every batch.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopSink;

impl Sink for NoopSink {
    fn description(&self) -> String {
        "NoopSink".into()
    }

    fn add_batch(&mut self, _batch: &Batch<'_>) -> Result<(), SinkError> {
        Ok(())
    }

    fn part_writer(&self) -> Option<Arc<dyn PartWriter>> {
        Some(Arc::new(NoopSink))
    }

    fn commit_parts(
        &mut self,
        _epoch: u64,
        _mode: OutputMode,
        _parts: &[(String, u64)],
    ) -> Result<(), SinkError> {
        Ok(())
    }
}

impl PartWriter for NoopSink {
    fn open(&self, _schema: &Schema, _epoch: u64, _worker: usize) -> std::io::Result<Box<dyn PartFile>> {
        Ok(Box::new(DiscardedPart))
    }

    /// Spark's noop writer drops each task's rows in any output mode.
    fn takes_updates(&self) -> bool {
        true
    }
}

/// A worker's part of an epoch, discarded row by row.
struct DiscardedPart;

impl PartFile for DiscardedPart {
    fn write(&mut self, _row: &Row) -> std::io::Result<()> {
        Ok(())
    }

    /// A part with no file: its name is empty, and the epoch's row count is the parts'.
    fn finish(self: Box<Self>) -> std::io::Result<String> {
        Ok(String::new())
    }
}
