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

/// The recent batches, and the number of batches and records over the whole run.
#[derive(Debug, Default)]
struct Batches {
    recent: VecDeque<BatchInfo>,
    total: u64,
    records: u64,
}

/// The recent batches, shared by the driver and the context's handle.
#[derive(Clone, Debug, Default)]
pub(crate) struct RecentBatches(Arc<Mutex<Batches>>);

impl RecentBatches {
    pub(crate) fn push(&self, info: BatchInfo) {
        let mut batches = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if batches.recent.len() == KEPT {
            batches.recent.pop_front();
        }
        batches.total += 1;
        batches.records += info.num_records;
        batches.recent.push_back(info);
    }

    pub(crate) fn all(&self) -> Vec<BatchInfo> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recent
            .iter()
            .cloned()
            .collect()
    }

    /// What the UI shows of the context named `name`: the last `shown` batches and the
    /// run's totals.
    pub(crate) fn view(&self, name: &str, active: bool, shown: usize) -> crate::ui::DStreamView {
        let batches = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let skip = batches.recent.len().saturating_sub(shown);
        crate::ui::DStreamView {
            name: name.to_string(),
            active,
            batches_total: batches.total,
            records_total: batches.records,
            batches: batches
                .recent
                .iter()
                .skip(skip)
                .map(|b| crate::ui::BatchView {
                    batch_time: b.batch_time.milliseconds() as i64,
                    num_records: b.num_records,
                    scheduling_delay: b.scheduling_delay.as_millis() as u64,
                    processing_delay: b.processing_delay.as_millis() as u64,
                })
                .collect(),
        }
    }
}
