//! The query's sources as the leader sees them: opening their readers, polling them without
//! blocking, and feeding what they handed over into an epoch.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use super::progress::{rate, EpochTimes, SourceProgress};
use super::spec::QuerySpec;
use super::trigger::Trigger;
use crate::checkpoint::{Checkpoint, OffsetEntry, Recovery};
use crate::compile::{deal_shares, Delivery, Inputs};
use crate::connectors::{PartitionReader, ReadStatus, Source, SourceError, SourceReader, Wake};

/// Every how many epochs the record log of a source that resumes from it (the file source's
/// seen files) is compacted, as Spark's `spark.sql.streaming.fileSource.log.compactInterval`.
pub(crate) const RECORD_LOG_COMPACT_INTERVAL: u64 = 10;
use crate::data::Row;
use crate::error::CheckpointError;
use crate::plan::SourceId;

/// One source as the leader sees it.
struct SourceRun {
    id: SourceId,
    source: Arc<dyn Source>,
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
    /// What turns an epoch's work items into the items the workers read (byte ranges of
    /// files), for partitioned sources.
    planner: Option<Arc<dyn PartitionReader>>,
    /// What the next epoch must take instead of what is waiting: the records a stopped run
    /// logged for the epoch it did not commit.
    replay: Option<Taken>,
    /// The reader's last [position](SourceReader::position), kept once it is exhausted and
    /// gone: the epoch that takes its last records still logs where they end.
    last_position: Option<serde_json::Value>,
    /// The reader's last [offsets behind latest](SourceReader::offsets_behind_latest), kept
    /// once it is exhausted and gone: before and after what it handed over last is taken.
    last_behind: Option<(Behind, Behind)>,
}

/// Offsets behind the newest data, per partition, where a source knows them.
type Behind = Option<Vec<u64>>;

/// The metric of a source's progress that sums, over its partitions, the offsets the query
/// is behind the newest data (where the source knows them, see
/// [`SourceReader::offsets_behind_latest`]): the UI's lag.
pub(crate) const OFFSETS_BEHIND_LATEST: &str = "totalOffsetsBehindLatest";

/// What one epoch takes from one source.
#[derive(Debug)]
pub(super) enum Taken {
    /// Rows (or work items) the reader handed over.
    Rows(Vec<Row>),
    /// Rows held in memory, by offset.
    Range(Range<u64>),
}

impl Taken {
    fn len(&self) -> u64 {
        match self {
            Taken::Rows(rows) => rows.len() as u64,
            Taken::Range(range) => range.end - range.start,
        }
    }
}

/// What one epoch takes from every source, before it is fed.
pub(super) struct EpochInput {
    /// Each source's part, in source order.
    taken: Vec<Taken>,
    /// Each source's offset before the epoch.
    start: Vec<u64>,
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

/// Where each source stood when an epoch was fed: what its progress report needs, and the
/// work items to hand back once the epoch is committed.
pub(super) struct EpochOffsets {
    /// Records (rows, or work items) the epoch took from each source.
    records: Vec<u64>,
    /// Each source's offset before the epoch.
    start: Vec<u64>,
    /// The work items of partitioned sources (file names: small), for
    /// [`Source::committed`].
    items: Vec<Vec<Row>>,
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
                source: source.clone(),
                description: source.description(),
                exhausted: reader.is_none(),
                reader,
                waiting,
                consumed: 0,
                limit,
                partitioned: matches!(delivery, Delivery::Partitioned(_)),
                planner: match &delivery {
                    Delivery::Partitioned(reader) => Some(reader.clone()),
                    _ => None,
                },
                replay: None,
                last_position: None,
                last_behind: None,
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
                source.last_position = reader.position();
                source.last_behind = Some((
                    reader.offsets_behind_latest(false),
                    reader.offsets_behind_latest(true),
                ));
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

    /// True if some source has records for an epoch (or one is due to be replayed).
    pub(super) fn any_waiting(&self) -> bool {
        self.runs
            .iter()
            .any(|s| !s.waiting.is_empty() || s.replay.is_some())
    }

    /// True once every source has handed over all it will ever have.
    pub(super) fn all_exhausted(&self) -> bool {
        self.runs.iter().all(|s| s.exhausted)
    }

    /// Takes each source's part of the next epoch: what a stopped run logged for it, when it
    /// is replayed, or else the waiting records up to the source's limit.
    pub(super) fn take(&mut self) -> EpochInput {
        let mut input = EpochInput {
            taken: Vec::with_capacity(self.runs.len()),
            start: Vec::with_capacity(self.runs.len()),
        };
        for source in self.runs.iter_mut() {
            input.start.push(source.consumed);
            let taken = match source.replay.take() {
                Some(replay) => replay,
                None => {
                    let take = source.waiting.len().min(source.limit);
                    match &mut source.waiting {
                        Waiting::Claimed(claimed) => {
                            *claimed -= take;
                            Taken::Range(source.consumed..source.consumed + take as u64)
                        }
                        Waiting::Rows(rows) => Taken::Rows(rows.drain(..take).collect()),
                    }
                }
            };
            source.consumed += taken.len();
            input.taken.push(taken);
        }
        input
    }

    /// Logs what `epoch` takes into the checkpoint, before it runs: the records of sources
    /// that cannot replay them (files, socket lines, rate rows) under `sources/<i>/<epoch>`,
    /// then each source's offset range in `offsets/<epoch>`.
    pub(super) fn log(
        &self,
        input: &EpochInput,
        epoch: u64,
        checkpoint: &Checkpoint,
        mut entry: OffsetEntry,
    ) -> Result<(), CheckpointError> {
        for (i, (source, taken)) in self.runs.iter().zip(&input.taken).enumerate() {
            if source.source.is_static() {
                // A static table is read whole by every run; it has no offsets.
                entry.sources.push(None);
                continue;
            }
            if let Taken::Rows(rows) = taken {
                checkpoint.write_records(i, epoch, rows)?;
            }
            let start = input.start[i];
            let mut offsets = serde_json::json!({
                "start": start,
                "end": start + taken.len(),
            });
            let position = source
                .reader
                .as_ref()
                .map_or_else(|| source.last_position.clone(), |r| r.position());
            if let Some(position) = position {
                offsets["position"] = position;
            }
            entry.sources.push(Some(offsets));
        }
        checkpoint.write_offsets(epoch, &entry)
    }

    /// Hands an epoch's records to the dataflow's inputs at the inputs' current epoch. Rows
    /// held in memory are dealt out in shares, one per local worker, which each worker copies
    /// in itself. Work items are planned for the `workers` workers of all processes (a large
    /// file cut into byte ranges); the items logged and committed stay those the reader
    /// handed over.
    pub(super) fn feed(
        &self,
        input: EpochInput,
        inputs: &mut Inputs,
        local_workers: usize,
        workers: usize,
    ) -> EpochOffsets {
        let mut offsets = EpochOffsets {
            records: Vec::with_capacity(self.runs.len()),
            start: input.start,
            items: Vec::with_capacity(self.runs.len()),
        };
        for (source, taken) in self.runs.iter().zip(input.taken) {
            offsets.records.push(taken.len());
            offsets.items.push(match &taken {
                Taken::Rows(rows) if source.partitioned => rows.clone(),
                _ => Vec::new(),
            });
            let Some(session) = inputs.get_mut(&source.id) else {
                continue;
            };
            match taken {
                Taken::Range(range) => deal_shares(range, local_workers, |share| session.insert(share)),
                Taken::Rows(rows) => match &source.planner {
                    Some(planner) => planner
                        .plan_items(rows, workers)
                        .into_iter()
                        .for_each(|row| session.insert(row)),
                    None => rows.into_iter().for_each(|row| session.insert(row)),
                },
            }
        }
        offsets
    }

    /// Reads the static tables whole and feeds them at epoch `at`, before the first epoch of a
    /// restarted run: every run reads them, but they are what the query joins with, not new
    /// data, so they belong with the restored state.
    pub(super) fn feed_static_at(&mut self, inputs: &mut Inputs, at: u64) -> Result<(), SourceError> {
        for source in self.runs.iter_mut().filter(|s| s.source.is_static()) {
            let mut rows = Vec::new();
            // A static table is listed once and hands over everything at its first poll.
            if let Some(reader) = source.reader.as_mut() {
                if reader.poll(&mut rows, usize::MAX)? != ReadStatus::Exhausted {
                    return Err(SourceError::Read {
                        source_name: source.description.clone(),
                        reason: "a static table did not hand over all of itself at once".into(),
                    });
                }
                source.exhausted = true;
                source.reader = None;
            }
            if let Some(session) = inputs.get_mut(&source.id) {
                session.advance_to(at);
                rows.into_iter().for_each(|row| session.insert(row));
            }
        }
        Ok(())
    }

    /// Forgets the logged records of epochs before `first_kept`, for sources that need them
    /// only to replay an uncommitted epoch (a socket's lines, a rate's rows). The file source
    /// keeps what its log says, since a restart skips every file it names, but every
    /// [`RECORD_LOG_COMPACT_INTERVAL`] epochs the entries before `first_kept` are compacted
    /// into one file.
    pub(super) fn purge_logs(&self, checkpoint: &Checkpoint, first_kept: u64) -> Result<(), CheckpointError> {
        if first_kept == 0 {
            return Ok(());
        }
        for (i, source) in self.runs.iter().enumerate() {
            if source.source.is_static() {
                continue;
            }
            if !source.source.resumes_from_records() {
                checkpoint.source_log(i).purge_before(first_kept)?;
            } else if first_kept.is_multiple_of(RECORD_LOG_COMPACT_INTERVAL) {
                checkpoint.compact_records(i, first_kept - 1)?;
            }
        }
        Ok(())
    }

    /// Tells each partitioned source that the epoch that took its work items is written
    /// (and committed), so that it may let them go (`cleanSource`).
    pub(super) fn committed(&self, offsets: &EpochOffsets) -> Result<(), SourceError> {
        for (source, items) in self.runs.iter().zip(&offsets.items) {
            if !items.is_empty() {
                source.source.committed(items)?;
            }
        }
        Ok(())
    }

    /// Resumes a restarted query from its checkpoint: each reader skips what earlier runs
    /// took, the epoch that was not committed is set to be replayed with the records it took,
    /// and the offsets continue where they stopped.
    pub(super) fn resume(
        &mut self,
        checkpoint: &Checkpoint,
        recovery: &Recovery,
    ) -> Result<(), CheckpointError> {
        let Some(last) = recovery.replay.as_ref().or(recovery.last_committed.as_ref()) else {
            return Ok(());
        };
        let last_epoch = if recovery.replay.is_some() {
            recovery.next_epoch
        } else {
            recovery.next_epoch.saturating_sub(1)
        };
        for (i, source) in self.runs.iter_mut().enumerate() {
            if source.source.is_static() {
                continue;
            }
            let range = |entry: &OffsetEntry| -> Option<Range<u64>> {
                let offsets = entry.sources.get(i)?.as_ref()?;
                let start = offsets.get("start")?.as_u64()?;
                let end = offsets.get("end")?.as_u64()?;
                Some(start..end)
            };
            let Some(last_range) = range(last) else {
                return Err(CheckpointError::Corrupt {
                    path: checkpoint.root().join("offsets").display().to_string(),
                    reason: format!("no offsets for source {i} ({})", source.description),
                });
            };
            let records = if source.source.resumes_from_records() {
                checkpoint.read_records_through(i, last_epoch)?
            } else {
                Vec::new()
            };
            let position = last
                .sources
                .get(i)
                .and_then(|o| o.as_ref())
                .and_then(|o| o.get("position"));
            if let Some(reader) = source.reader.as_mut() {
                reader.resume(last_range.end, &records, position);
            }
            // A stop between a commit and the clean-up after it leaves the last committed
            // epoch's files behind: clean them up now (`cleanSource`).
            if source.partitioned && recovery.last_committed.is_some() {
                let committed_epoch = recovery.next_epoch - 1;
                if let Err(e) = source
                    .source
                    .committed(&checkpoint.read_records(i, committed_epoch)?)
                {
                    tracing::warn!("{}: {e}", source.description);
                }
            }
            match &recovery.replay {
                Some(_) => {
                    source.consumed = last_range.start;
                    source.replay = Some(match source.waiting {
                        Waiting::Claimed(_) => Taken::Range(last_range),
                        Waiting::Rows(_) => Taken::Rows(checkpoint.read_records(i, last_epoch)?),
                    });
                }
                None => source.consumed = last_range.end,
            }
        }
        Ok(())
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
                let all_taken = source.waiting.is_empty();
                let behind = match (&source.reader, &source.last_behind) {
                    (Some(reader), _) => reader.offsets_behind_latest(all_taken),
                    (None, Some((before, after))) => if all_taken { after } else { before }.clone(),
                    (None, None) => None,
                };
                if source.partitioned && behind.is_none() {
                    metrics.insert("numFiles".to_string(), records.to_string());
                    metrics.insert("numMalformedRecords".to_string(), read.malformed.to_string());
                }
                if let Some(behind) = behind.filter(|b| !b.is_empty()) {
                    // Spark's Kafka metrics, and the sum over partitions: the source's lag.
                    let total: u64 = behind.iter().sum();
                    let min = behind.iter().min().copied().unwrap_or(0);
                    let max = behind.iter().max().copied().unwrap_or(0);
                    let avg = total as f64 / behind.len() as f64;
                    metrics.insert("minOffsetsBehindLatest".to_string(), min.to_string());
                    metrics.insert("maxOffsetsBehindLatest".to_string(), max.to_string());
                    metrics.insert("avgOffsetsBehindLatest".to_string(), format!("{avg:.1}"));
                    metrics.insert(OFFSETS_BEHIND_LATEST.to_string(), total.to_string());
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
