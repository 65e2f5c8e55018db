//! `foreach_batch`: a user function receives each epoch's id and rows.

use crate::connectors::{Batch, Sink, SinkError};

/// The boxed user function: gets each batch, may fail (which stops the query with the error).
pub type BatchFn = Box<dyn FnMut(&Batch<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> + Send>;

/// A sink that calls a function per batch, like Spark's `foreachBatch`.
pub struct ForeachBatchSink {
    function: BatchFn,
}

impl ForeachBatchSink {
    /// Wraps the function.
    pub fn new(function: BatchFn) -> Self {
        ForeachBatchSink { function }
    }
}

impl Sink for ForeachBatchSink {
    fn description(&self) -> String {
        "ForeachBatchSink".into()
    }

    fn add_batch(&mut self, batch: &Batch<'_>) -> Result<(), SinkError> {
        (self.function)(batch).map_err(|e| SinkError::UserFunction {
            batch_id: batch.id,
            reason: e.to_string(),
        })
    }
}
