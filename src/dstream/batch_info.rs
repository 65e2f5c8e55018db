//! [`BatchInfo`]: what happened to each batch (Spark Streaming's `BatchInfo`, as its
//! `StreamingListener` reports it).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::output::Time;

/// Batches whose information is kept (the oldest are dropped first).
const KEPT: usize = 1000;

/// One finished batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// Records the sources fed into the batch.
    pub num_records: u64,
    /// From the batch's scheduled time to the start of its processing: how far behind the
    /// context is.
    pub scheduling_delay: Duration,
    /// From the start of its processing until every output has written it.
    pub processing_delay: Duration,
}

impl BatchInfo {
    /// Scheduling delay plus processing delay.
    pub fn total_delay(&self) -> Duration {
        self.scheduling_delay + self.processing_delay
    }
}

/// The recent batches, shared by the driver and the context's handle.
#[derive(Clone, Debug, Default)]
pub(crate) struct RecentBatches(Arc<Mutex<VecDeque<BatchInfo>>>);

impl RecentBatches {
    pub(crate) fn push(&self, info: BatchInfo) {
        let mut batches = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if batches.len() == KEPT {
            batches.pop_front();
        }
        batches.push_back(info);
    }

    pub(crate) fn all(&self) -> Vec<BatchInfo> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
