//! `format("noop")`: takes every epoch and discards it (for benchmarks), like Spark's.

use crate::connectors::{Batch, Sink, SinkError};

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
}
