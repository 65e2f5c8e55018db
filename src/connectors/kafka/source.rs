//! [`KafkaSource`]: the leader plans each epoch's offset range per partition; the workers fetch
//! them (see [`reader`](super::reader)).
//!
//! A watcher on the Kafka runtime looks at the subscribed partitions every
//! [`LOOK_INTERVAL`]: which exist (a pattern picks up new topics, a topic new partitions) and
//! where each log begins and ends. The leader's [`SourceReader`] turns that into work items
//! without ever waiting on the network: for each partition that has new records, the range
//! from where the last epoch stopped to the end (or a share of `maxOffsetsPerTrigger`). The
//! items are the epoch's records, so the checkpoint logs them before the epoch runs and a
//! replay reads exactly the same offsets; the offsets where the epoch leaves each partition
//! are the reader's [position](SourceReader::position), in Spark's JSON form, from which a
//! restarted query goes on.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::client::{block_on, describe, is_unknown_topic, runtime, Connection};
use super::offsets::{from_json, plan_ends, to_json, OffsetSpec, PartitionOffsets, TopicPartition};
use super::options::{SourceOptions, Subscription};
use super::reader::{KafkaPartitions, Range};
use super::record::schema;
use crate::connectors::{Options, PartitionReader, ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{Row, Schema};
use crate::error::Result;

/// How often the watcher looks for new records, partitions and topics.
pub const LOOK_INTERVAL: Duration = Duration::from_millis(100);

/// A configured Kafka source.
#[derive(Debug)]
pub struct KafkaSource {
    options: SourceOptions,
    partitions: Arc<KafkaPartitions>,
    description: String,
}

impl KafkaSource {
    /// Builds the source from its options (see the format registry for their meaning).
    pub fn from_options(options: &Options) -> Result<Self> {
        let options = SourceOptions::from_options(options)?;
        let description = format!("KafkaV2[{}]", options.subscription.describe());
        let partitions = Arc::new(KafkaPartitions {
            settings: options.client.clone(),
            include_headers: options.include_headers,
            fail_on_data_loss: options.fail_on_data_loss,
            fetch_bytes: options.fetch_bytes,
            description: description.clone(),
        });
        Ok(KafkaSource {
            options,
            partitions,
            description,
        })
    }
}

impl Source for KafkaSource {
    fn description(&self) -> String {
        self.description.clone()
    }

    fn schema(&self) -> Schema {
        schema(self.options.include_headers)
    }

    fn open(&self, wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        let watch = Arc::new(Mutex::new(Watch::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = Watcher {
            settings: self.options.client.clone(),
            subscription: self.options.subscription.clone(),
            watch: watch.clone(),
        };
        let (task_stop, task_watcher) = (stop.clone(), watcher.clone());
        runtime().spawn(async move {
            while !task_stop.load(Ordering::Relaxed) {
                let failed = task_watcher.look().await.is_err();
                wake.wake();
                if failed {
                    break;
                }
                tokio::time::sleep(LOOK_INTERVAL).await;
            }
        });
        Ok(Box::new(Planner {
            description: self.description.clone(),
            options: self.options.clone(),
            watcher,
            stop,
            next: PartitionOffsets::new(),
            planned: None,
            started: false,
            end: None,
            bounded: self.options.ending.is_some(),
            force: false,
        }))
    }

    fn partition_reader(&self) -> Option<Arc<dyn PartitionReader>> {
        Some(self.partitions.clone())
    }

    /// Every planned range goes into the next epoch: `maxOffsetsPerTrigger` limits offsets
    /// when the ranges are planned, not ranges.
    fn max_per_epoch(&self) -> Option<usize> {
        Some(usize::MAX)
    }
}

/// What the watcher last saw.
#[derive(Debug, Default)]
struct Watch {
    /// How many looks have completed.
    looks: u64,
    /// Each subscribed partition's `(earliest, end)`.
    bounds: BTreeMap<TopicPartition, (i64, i64)>,
    /// Why the last look failed (the broker is gone after the client's retries).
    error: Option<String>,
}

/// Looks at the broker, on the Kafka runtime.
#[derive(Clone, Debug)]
struct Watcher {
    settings: super::options::ClientSettings,
    subscription: Subscription,
    watch: Arc<Mutex<Watch>>,
}

impl Watcher {
    /// One look: the subscribed partitions and their bounds, stored in the watch.
    async fn look(&self) -> std::result::Result<(), ()> {
        match self.bounds().await {
            Ok(bounds) => {
                let mut watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
                watch.bounds = bounds;
                watch.looks += 1;
                Ok(())
            }
            Err(message) => {
                self.watch.lock().unwrap_or_else(|p| p.into_inner()).error = Some(message);
                Err(())
            }
        }
    }

    async fn bounds(&self) -> std::result::Result<BTreeMap<TopicPartition, (i64, i64)>, String> {
        let connection = Connection::get(&self.settings).await?;
        let topics = connection
            .topics()
            .await
            .map_err(|e| format!("listing the topics failed: {}", describe(&e)))?;
        let hints: BTreeMap<TopicPartition, i64> = {
            let watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
            watch
                .bounds
                .iter()
                .map(|(p, (_, end))| (p.clone(), *end))
                .collect()
        };
        let mut bounds = BTreeMap::new();
        for (topic, partitions) in topics {
            for partition in partitions {
                if !self.subscription.wants(&topic, partition) {
                    continue;
                }
                let key = (topic.clone(), partition);
                let hint = hints.get(&key).copied();
                match connection.bounds(&topic, partition, hint).await {
                    Ok(found) => {
                        bounds.insert(key, found);
                    }
                    // Deleted between the listing and now: the next look will not list it.
                    Err(e) if is_unknown_topic(&e) => connection.drop_partition(&topic, partition).await,
                    Err(e) => {
                        return Err(format!(
                            "reading the bounds of partition {topic}-{partition} failed: {}",
                            describe(&e)
                        ))
                    }
                }
            }
        }
        Ok(bounds)
    }
}

/// The leader's side: plans each epoch's ranges from what the watcher saw.
struct Planner {
    description: String,
    options: SourceOptions,
    watcher: Watcher,
    stop: Arc<AtomicBool>,
    /// Where each partition stands after the epochs taken so far.
    next: PartitionOffsets,
    /// The ends of the ranges waiting for the next epoch (they move into `next` once taken).
    planned: Option<PartitionOffsets>,
    /// Whether `next` holds the starting offsets (or a restored position).
    started: bool,
    /// Where a bounded source stops (`endingOffsets`, or the ends seen at start for
    /// available-now), once known.
    end: Option<PartitionOffsets>,
    /// Whether the source stops at `end`.
    bounded: bool,
    /// Look at the broker now, at the next poll (`process_all_available`).
    force: bool,
}

impl Drop for Planner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Planner {
    fn error(&self, reason: String) -> SourceError {
        SourceError::Read {
            source_name: self.description.clone(),
            reason,
        }
    }

    /// A partition's records from `offset` on are gone (`why`): an error with
    /// `failOnDataLoss`, else a warning.
    fn lost(&self, partition: &TopicPartition, why: String) -> std::result::Result<(), SourceError> {
        let (topic, p) = partition;
        let message = format!(
            "partition {topic}-{p}: {why}; some data was lost, for example to retention or to a deleted \
             topic. Set failOnDataLoss to false to go on without it"
        );
        if self.options.fail_on_data_loss {
            Err(self.error(message))
        } else {
            tracing::warn!(
                "{}: {message} (failOnDataLoss is false: going on)",
                self.description
            );
            Ok(())
        }
    }

    /// Brings `next` in line with the partitions that exist: starting offsets the first time,
    /// the earliest offset for partitions that appeared since, and data loss for partitions
    /// whose records are gone.
    fn reconcile(
        &mut self,
        bounds: &BTreeMap<TopicPartition, (i64, i64)>,
    ) -> std::result::Result<(), SourceError> {
        if !self.started {
            for (partition, &(earliest, end)) in bounds {
                let start = self
                    .options
                    .starting
                    .resolve(partition, earliest, end)
                    .ok_or_else(|| {
                        self.error(format!(
                        "startingOffsets names no offset for partition {}-{}: with JSON offsets, name every \
                         partition the query reads",
                        partition.0, partition.1
                    ))
                    })?;
                self.next.insert(partition.clone(), start);
            }
            self.started = true;
        }
        for (partition, &(earliest, _)) in bounds {
            if !self.next.contains_key(partition) {
                tracing::info!(
                    "{}: new partition {}-{}, read from its earliest offset {earliest}",
                    self.description,
                    partition.0,
                    partition.1
                );
                self.next.insert(partition.clone(), earliest);
            }
        }
        let known: Vec<(TopicPartition, i64)> = self.next.iter().map(|(p, o)| (p.clone(), *o)).collect();
        for (partition, offset) in known {
            match bounds.get(&partition) {
                None => {
                    self.lost(
                        &partition,
                        format!("it no longer exists (the query had read to offset {offset})"),
                    )?;
                    self.next.remove(&partition);
                }
                Some(&(earliest, _)) if offset < earliest => {
                    self.lost(
                        &partition,
                        format!("offsets {offset}..{earliest} are no longer available (the log now starts at {earliest})"),
                    )?;
                    self.next.insert(partition, earliest);
                }
                Some(&(earliest, end)) if offset > end => {
                    self.lost(
                        &partition,
                        format!("the log now ends at {end}, before offset {offset} the query had read to"),
                    )?;
                    self.next.insert(partition, earliest);
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Where each partition would stand if the waiting ranges were taken.
    fn after_plan(&self) -> PartitionOffsets {
        let mut offsets = self.next.clone();
        if let Some(planned) = &self.planned {
            offsets.extend(planned.iter().map(|(p, o)| (p.clone(), *o)));
        }
        offsets
    }
}

impl SourceReader for Planner {
    fn poll(&mut self, out: &mut Vec<Row>, _max: usize) -> std::result::Result<ReadStatus, SourceError> {
        if self.force {
            self.force = false;
            let watcher = self.watcher.clone();
            // `process_all_available` must see what is there now, not at the watcher's next look.
            let _ = block_on(async move { watcher.look().await });
        }
        let (looks, bounds) = {
            let watch = self.watcher.watch.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(error) = &watch.error {
                return Err(self.error(error.clone()));
            }
            (watch.looks, watch.bounds.clone())
        };
        if looks == 0 {
            return Ok(ReadStatus::Open);
        }
        // The waiting ranges went into an epoch: the partitions stand at their ends now.
        if out.is_empty() {
            if let Some(planned) = self.planned.take() {
                self.next.extend(planned);
            }
        }
        self.reconcile(&bounds)?;
        let mut latest: PartitionOffsets = bounds.iter().map(|(p, (_, end))| (p.clone(), *end)).collect();
        if self.bounded {
            if self.end.is_none() {
                let spec = self.options.ending.clone().unwrap_or(OffsetSpec::Latest);
                let end = bounds
                    .iter()
                    .map(|(p, &(earliest, end))| (p.clone(), spec.resolve(p, earliest, end).unwrap_or(end)))
                    .collect();
                self.end = Some(end);
            }
            let end = self.end.as_ref().expect("set above");
            for (partition, offset) in latest.iter_mut() {
                let stop = end.get(partition).copied().unwrap_or(self.next[partition]);
                *offset = (*offset).min(stop);
            }
        }
        let ends = plan_ends(&self.next, &latest, self.options.max_offsets_per_trigger);
        let ranges: Vec<Row> = ends
            .iter()
            .filter(|(p, end)| **end > self.next[*p])
            .map(|((topic, partition), &until)| {
                Range {
                    topic: topic.clone(),
                    partition: *partition,
                    from: self.next[&(topic.clone(), *partition)],
                    until,
                }
                .to_row()
            })
            .collect();
        // Nothing of the waiting plan has been taken yet: the new plan replaces it.
        out.clear();
        out.extend(ranges);
        self.planned = (!out.is_empty()).then_some(ends);
        if let Some(end) = self.end.as_ref().filter(|_| self.bounded) {
            let reached = self.after_plan();
            let done = end.iter().all(|(p, e)| reached.get(p).is_none_or(|r| r >= e));
            if done {
                return Ok(ReadStatus::Exhausted);
            }
        }
        Ok(ReadStatus::Open)
    }

    fn end_at_available_now(&mut self) {
        self.bounded = true;
    }

    fn discover_now(&mut self) {
        self.force = true;
    }

    fn offsets_behind_latest(&self, all_taken: bool) -> Option<Vec<u64>> {
        // The planned ranges were handed over; once taken, the partitions stand at their ends.
        let read = if all_taken {
            self.after_plan()
        } else {
            self.next.clone()
        };
        let watch = self.watcher.watch.lock().unwrap_or_else(|p| p.into_inner());
        if watch.looks == 0 {
            return None;
        }
        Some(
            watch
                .bounds
                .iter()
                .map(|(partition, &(_, end))| {
                    let read = read.get(partition).copied().unwrap_or(end);
                    u64::try_from(end.saturating_sub(read)).unwrap_or(0)
                })
                .collect(),
        )
    }

    fn resume(&mut self, _consumed: u64, _records: &[Row], position: Option<&serde_json::Value>) {
        // A restarted query goes on where the last logged epoch left each partition; the
        // starting offsets are for a query's first run only.
        if let Some(offsets) = position.and_then(from_json) {
            self.next = offsets;
            self.planned = None;
            self.started = true;
        }
    }

    fn position(&self) -> Option<serde_json::Value> {
        Some(to_json(&self.after_plan()))
    }
}
