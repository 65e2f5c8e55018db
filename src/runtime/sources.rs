//! The query's sources as the leader sees them: opening their readers, polling them without
//! blocking, and feeding what they handed over into an epoch.

use std::collections::BTreeMap;
use std::time::Instant;

use super::progress::{rate, EpochTimes, SourceProgress};
use super::spec::QuerySpec;
use super::trigger::Trigger;
use crate::compile::{deal_shares, Delivery, Inputs};
use crate::connectors::{ReadStatus, SourceError, SourceReader, Wake};
use crate::plan::SourceId;

/// One source as the leader sees it.
struct SourceRun {
    id: SourceId,
    description: String,
    reader: Option<Box<dyn SourceReader>>,
    exhausted: bool,
    /// What its reader has handed over for the next epoch.
    waiting: Waiting,
    /// Records handed to the dataflow so far (the source's offset).
    consumed: u64,
    /// The most records one epoch takes from this source.
    limit: usize,
    /// Records are work items (files) read inside the dataflow: rows are counted there.
    partitioned: bool,
}

/// The records a source's reader has handed over and no epoch has taken yet.
enum Waiting {
    /// Rows polled from the reader.
    Rows(Vec<crate::data::Row>),
    /// How many rows were claimed from a source whose workers read them by offset
    /// ([`Source::local_rows`](crate::connectors::Source::local_rows)).
    Claimed(usize),
}

impl Waiting {
    fn len(&self) -> usize {
        match self {
            Waiting::Rows(rows) => rows.len(),
            Waiting::Claimed(n) => *n,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        match self {
            Waiting::Rows(rows) => rows.clear(),
            Waiting::Claimed(n) => *n = 0,
        }
    }
}

/// Where each source stood when an epoch was fed: what its progress report needs.
pub(super) struct EpochOffsets {
    /// Records (rows, or work items) the epoch took from each source.
    records: Vec<u64>,
    /// Each source's offset before the epoch.
    start: Vec<u64>,
}

/// What reading inside the dataflow reported for one source in one epoch.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReadCounts {
    /// Rows read.
    pub(super) rows: u64,
    /// Malformed records dropped or repaired.
    pub(super) malformed: u64,
}

/// The query's sources, in the plan's source order.
pub(super) struct Sources {
    runs: Vec<SourceRun>,
}

impl Sources {
    /// Opens every source's reader. A source that fails to open is left exhausted, and the
    /// first failure is returned beside the sources (the query then ends).
    pub(super) fn open(spec: &QuerySpec, wake: &Wake) -> (Sources, Option<SourceError>) {
        let mut runs = Vec::new();
        let mut failure = None;
        for (id, source) in spec.plan.sources() {
            // Once takes everything available in one epoch, ignoring rate limits (as Spark's
            // Trigger.Once does); a cap would leave the source unexhausted and the query waiting.
            let limit = if spec.trigger == Trigger::Once {
                usize::MAX
            } else {
                source.max_per_epoch().unwrap_or(spec.max_rows_per_epoch).max(1)
            };
            let delivery = Delivery::of(source.as_ref());
            let waiting = match delivery {
                Delivery::Local(_) => Waiting::Claimed(0),
                _ => Waiting::Rows(Vec::new()),
            };
            let reader = match source.open(wake.clone()) {
                Ok(mut reader) => {
                    if spec.trigger.is_bounded() {
                        reader.end_at_available_now();
                    }
                    Some(reader)
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            };
            runs.push(SourceRun {
                id,
                description: source.description(),
                exhausted: reader.is_none(),
                reader,
                waiting,
                consumed: 0,
                limit,
                partitioned: matches!(delivery, Delivery::Partitioned(_)),
            });
        }
        (Sources { runs }, failure)
    }

    /// How many sources there are.
    pub(super) fn len(&self) -> usize {
        self.runs.len()
    }

    /// Lets the readers go and forgets what they handed over: no epoch will take it.
    pub(super) fn close(&mut self) {
        for source in &mut self.runs {
            source.reader = None;
            source.waiting.clear();
        }
    }

    /// Asks every reader to look for new data at its next poll (`process_all_available`).
    pub(super) fn discover_now(&mut self) {
        for reader in self.runs.iter_mut().filter_map(|s| s.reader.as_mut()) {
            reader.discover_now();
        }
    }

    /// Takes what the readers have, up to each source's per-epoch limit, without blocking.
    pub(super) fn poll(&mut self) -> Result<(), SourceError> {
        for source in &mut self.runs {
            let room = source.limit.saturating_sub(source.waiting.len());
            let Some(reader) = source.reader.as_mut().filter(|_| room > 0) else {
                continue;
            };
            let polled = match &mut source.waiting {
                Waiting::Claimed(claimed) => reader.claim(room).map(|(n, status)| {
                    *claimed += n;
                    status
                }),
                Waiting::Rows(rows) => reader.poll(rows, room),
            };
            if polled? == ReadStatus::Exhausted {
                source.exhausted = true;
                source.reader = None;
            }
        }
        Ok(())
    }

    /// The earliest time a reader wants to be polled again though nothing wakes the worker.
    pub(super) fn next_poll(&self) -> Option<Instant> {
        self.runs
            .iter()
            .filter_map(|s| s.reader.as_ref().and_then(|r| r.next_poll()))
            .min()
    }

    /// True if some source has records for an epoch.
    pub(super) fn any_waiting(&self) -> bool {
        self.runs.iter().any(|s| !s.waiting.is_empty())
    }

    /// True once every source has handed over all it will ever have.
    pub(super) fn all_exhausted(&self) -> bool {
        self.runs.iter().all(|s| s.exhausted)
    }

    /// Hands each source's waiting records (up to its limit) to the dataflow's inputs at the
    /// inputs' current epoch. Rows held in memory are dealt out in shares, one per local worker,
    /// which each worker copies in itself.
    pub(super) fn feed(&mut self, inputs: &mut Inputs, local_workers: usize) -> EpochOffsets {
        let mut offsets = EpochOffsets {
            records: Vec::with_capacity(self.runs.len()),
            start: Vec::with_capacity(self.runs.len()),
        };
        for source in self.runs.iter_mut() {
            offsets.start.push(source.consumed);
            let Some(input) = inputs.get_mut(&source.id) else {
                offsets.records.push(0);
                continue;
            };
            let take = source.waiting.len().min(source.limit);
            let n = take as u64;
            match &mut source.waiting {
                Waiting::Claimed(claimed) => {
                    *claimed -= take;
                    let range = source.consumed..source.consumed + n;
                    deal_shares(range, local_workers, |share| input.insert(share));
                }
                Waiting::Rows(rows) => rows.drain(..take).for_each(|row| input.insert(row)),
            }
            source.consumed += n;
            offsets.records.push(n);
        }
        offsets
    }

    /// Each source's part of an epoch's progress report, and the epoch's input rows in all.
    pub(super) fn progress(
        &self,
        offsets: &EpochOffsets,
        counts: &[ReadCounts],
        times: &EpochTimes,
    ) -> (Vec<SourceProgress>, u64) {
        let mut num_input_rows = 0;
        let sources = self
            .runs
            .iter()
            .enumerate()
            .zip(offsets.records.iter().zip(&offsets.start))
            .map(|((i, source), (&records, &start))| {
                let read = counts.get(i).copied().unwrap_or_default();
                // Records of a partitioned source are files; its rows were counted where read.
                let n = if source.partitioned { read.rows } else { records };
                num_input_rows += n;
                let mut metrics = BTreeMap::new();
                if source.partitioned {
                    metrics.insert("numFiles".to_string(), records.to_string());
                    metrics.insert("numMalformedRecords".to_string(), read.malformed.to_string());
                }
                SourceProgress {
                    description: source.description.clone(),
                    start_offset: start,
                    end_offset: start + records,
                    latest_offset: source.consumed + source.waiting.len() as u64,
                    num_input_rows: n,
                    input_rows_per_second: rate(n, times.since_previous_trigger),
                    processed_rows_per_second: rate(n, times.processing_secs()),
                    metrics,
                }
            })
            .collect();
        (sources, num_input_rows)
    }
}
