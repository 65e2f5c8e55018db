//! [`KafkaSink`]: writes each epoch's rows as Kafka records, exactly once across restarts
//! without broker transactions.
//!
//! Columns, as Spark's Kafka sink reads them: `value` (string or binary, required), `key`
//! (optional; keyed records go where Kafka's default partitioner puts them), `topic` (unless
//! the `topic` option names one, which wins), `partition` (optional) and `headers`
//! (`array<struct<key: string, value: binary|string>>`, optional).
//!
//! Exactly once: before an epoch is written, where each target partition ends goes into the
//! checkpoint ([`SinkLog`]), and every record carries the query id, the epoch and its place in
//! the epoch in headers (`tidewater.query`, `tidewater.epoch`, `tidewater.seq`). An epoch cut
//! short by a crash runs again with the same rows; the sink reads back from the logged offsets
//! and writes only the records it does not find. Records without a key are spread over the
//! partitions by their place in the (sorted) epoch, so a rerun puts them where the first run
//! did.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use rskafka::client::partition::Compression;
use rskafka::record::Record;

use super::client::{block_on, describe, Connection};
use super::offsets::{PartitionOffsets, TopicPartition};
use super::options::ClientSettings;
use super::partitioner::partition_for_key;
use super::sink_log::SinkLog;
use crate::connectors::{Batch, Options, Sink, SinkError};
use crate::data::{DataType, Schema, Value};
use crate::error::{Error, Result};

/// Header naming the query that wrote a record.
pub const QUERY_HEADER: &str = "tidewater.query";
/// Header naming the epoch that wrote a record.
pub const EPOCH_HEADER: &str = "tidewater.epoch";
/// Header giving a record's place in its epoch's output.
pub const SEQ_HEADER: &str = "tidewater.seq";

/// Attempts at writing an epoch (each reads back first, so none writes a record twice).
const ATTEMPTS: u32 = 3;

/// A configured Kafka sink.
#[derive(Clone)]
pub struct KafkaSink {
    settings: ClientSettings,
    topic: Option<String>,
    query_id: String,
    log: Option<SinkLog>,
}

impl KafkaSink {
    /// Builds the sink from its options; `checkpoint` is the query's checkpoint directory and
    /// id, without which the sink writes each epoch once per run (at least once).
    pub fn from_options(options: &Options, checkpoint: Option<(&std::path::Path, String)>) -> Result<Self> {
        let settings = ClientSettings::from_options(options, "sink")?;
        let topic = options.get("topic").map(|t| t.trim().to_string());
        if topic.as_deref() == Some("") {
            return Err(Error::InvalidOption("option `topic` is empty".into()));
        }
        let (log, query_id) = match checkpoint {
            Some((root, id)) => (Some(SinkLog::new(root)), id),
            None => (None, uuid::Uuid::new_v4().to_string()),
        };
        Ok(KafkaSink {
            settings,
            topic,
            query_id,
            log,
        })
    }
}

/// Where each column the sink reads sits in the batch's rows.
struct Columns {
    value: usize,
    key: Option<usize>,
    topic: Option<usize>,
    partition: Option<usize>,
    headers: Option<usize>,
}

impl Columns {
    fn of(schema: &Schema, has_topic_option: bool) -> std::result::Result<Columns, String> {
        let find = |name: &str| {
            schema
                .fields()
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name))
        };
        let bytes_like = |i: usize, name: &str| match &schema.fields()[i].data_type {
            DataType::String | DataType::Binary | DataType::Null => Ok(i),
            other => Err(format!(
                "column `{name}` is {other}; the kafka sink takes string or binary (CAST it)"
            )),
        };
        let value = find("value").ok_or_else(|| {
            format!(
                "the kafka sink needs a `value` column (string or binary); the query's columns are: {}",
                schema.names().join(", ")
            )
        })?;
        let topic = find("topic");
        if topic.is_none() && !has_topic_option {
            return Err("the kafka sink needs the `topic` option or a `topic` column".into());
        }
        Ok(Columns {
            value: bytes_like(value, "value")?,
            key: find("key").map(|i| bytes_like(i, "key")).transpose()?,
            topic,
            partition: find("partition"),
            headers: find("headers"),
        })
    }

    fn value_of(&self, row: &crate::data::Row) -> Option<Vec<u8>> {
        row.get(self.value).and_then(bytes_of)
    }
}

/// A value's bytes: a string's UTF-8, a binary's bytes; `None` for null.
fn bytes_of(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::Null => None,
        Value::Binary(b) => Some(b.to_vec()),
        Value::Str(s) => Some(s.as_bytes().to_vec()),
        other => Some(other.to_string().into_bytes()),
    }
}

/// One record to write, with its place in the epoch.
struct Outgoing {
    seq: u64,
    record: Record,
}

impl KafkaSink {
    /// The epoch's records per target partition, in order, each tagged.
    fn records(
        &self,
        batch: &Batch<'_>,
        partitions: &HashMap<String, i32>,
    ) -> std::result::Result<BTreeMap<TopicPartition, Vec<Outgoing>>, String> {
        let columns = Columns::of(batch.schema, self.topic.is_some())?;
        let now = chrono::Utc::now();
        let mut out: BTreeMap<TopicPartition, Vec<Outgoing>> = BTreeMap::new();
        for (seq, row) in batch.rows.iter().enumerate() {
            let seq = seq as u64;
            let topic = match (&self.topic, columns.topic.and_then(|i| row.get(i))) {
                (Some(topic), _) => topic.clone(),
                (None, Some(Value::Str(t))) if !t.is_empty() => t.to_string(),
                (None, _) => return Err(format!("row {seq} of the epoch has no topic (null or empty)")),
            };
            let count = *partitions.get(&topic).ok_or_else(|| {
                format!(
                    "topic `{topic}` does not exist; create it first (the kafka sink does not create topics)"
                )
            })?;
            let key = columns.key.and_then(|i| row.get(i)).and_then(bytes_of);
            let partition = match (columns.partition.and_then(|i| row.get(i)), &key) {
                (Some(Value::Int(p)), _) => i32::try_from(*p)
                    .ok()
                    .filter(|p| (0..count).contains(p))
                    .ok_or_else(|| {
                        format!("row {seq}: partition {p} is not one of topic `{topic}`'s {count}")
                    })?,
                (_, Some(key)) => partition_for_key(key, count),
                // Spread by place in the epoch: the same place after a rerun.
                (_, None) => (seq % count as u64) as i32,
            };
            let mut headers = BTreeMap::new();
            if let Some(Value::Array(items)) = columns.headers.and_then(|i| row.get(i)) {
                for item in items.iter() {
                    if let Value::Struct(fields) = item {
                        if let (Some(Value::Str(k)), Some(v)) = (fields.first(), fields.get(1)) {
                            headers.insert(k.to_string(), bytes_of(v).unwrap_or_default());
                        }
                    }
                }
            }
            headers.insert(QUERY_HEADER.to_string(), self.query_id.clone().into_bytes());
            headers.insert(EPOCH_HEADER.to_string(), batch.id.to_string().into_bytes());
            headers.insert(SEQ_HEADER.to_string(), seq.to_string().into_bytes());
            let record = Record {
                key,
                value: columns.value_of(row),
                headers,
                timestamp: now,
            };
            out.entry((topic, partition))
                .or_default()
                .push(Outgoing { seq, record });
        }
        Ok(out)
    }

    /// One attempt at writing the epoch: log the ends (or, when a run before logged them,
    /// read back what it wrote), then write what is missing.
    async fn write_epoch(
        &self,
        connection: &Connection,
        epoch: u64,
        mut records: BTreeMap<TopicPartition, Vec<Outgoing>>,
    ) -> std::result::Result<(), String> {
        if let Some(log) = &self.log {
            match log.read(epoch)? {
                Some(ends) => {
                    let written = self.read_back(connection, epoch, &ends, records.keys()).await?;
                    if !written.is_empty() {
                        tracing::info!(
                            "kafka sink: epoch {epoch} was partly written before a restart; {} of its records are there, writing the rest",
                            written.len()
                        );
                    }
                    for outgoing in records.values_mut() {
                        outgoing.retain(|o| !written.contains(&o.seq));
                    }
                }
                None => {
                    let mut ends = PartitionOffsets::new();
                    for (topic, partition) in records.keys() {
                        let (_, end) = connection.bounds(topic, *partition, None).await.map_err(|e| {
                            format!("reading the end of {topic}-{partition}: {}", describe(&e))
                        })?;
                        ends.insert((topic.clone(), *partition), end);
                    }
                    log.write(epoch, &ends)?;
                }
            }
        }
        let mut first = true;
        for ((topic, partition), outgoing) in records {
            if outgoing.is_empty() {
                continue;
            }
            if !first {
                // A crash here leaves the epoch partly written: what the recovery tests try.
                crate::crash::crash_point("in-sink", epoch);
            }
            first = false;
            let client = connection
                .partition(&topic, partition)
                .await
                .map_err(|e| format!("{topic}-{partition}: {}", describe(&e)))?;
            let records: Vec<Record> = outgoing.into_iter().map(|o| o.record).collect();
            client
                .produce(records, Compression::NoCompression)
                .await
                .map_err(|e| format!("writing to {topic}-{partition} failed: {}", describe(&e)))?;
        }
        Ok(())
    }

    /// The places (sequence numbers) of this query's records of `epoch` found in `targets`
    /// after the logged ends.
    async fn read_back(
        &self,
        connection: &Connection,
        epoch: u64,
        ends: &PartitionOffsets,
        targets: impl Iterator<Item = &TopicPartition>,
    ) -> std::result::Result<BTreeSet<u64>, String> {
        let epoch_text = epoch.to_string();
        let mut found = BTreeSet::new();
        for (topic, partition) in targets {
            let name = format!("{topic}-{partition}");
            let mut offset = ends.get(&(topic.clone(), *partition)).copied().unwrap_or(0);
            let client = connection
                .partition(topic, *partition)
                .await
                .map_err(|e| format!("{name}: {}", describe(&e)))?;
            loop {
                let (records, high_watermark) = client
                    .fetch_records(offset, 1..1_048_576, 100)
                    .await
                    .map_err(|e| format!("reading back {name} from offset {offset}: {}", describe(&e)))?;
                for r in records.iter().filter(|r| r.offset >= offset) {
                    let header = |name: &str| r.record.headers.get(name).map(Vec::as_slice);
                    if header(QUERY_HEADER) == Some(self.query_id.as_bytes())
                        && header(EPOCH_HEADER) == Some(epoch_text.as_bytes())
                    {
                        let seq = header(SEQ_HEADER)
                            .and_then(|s| std::str::from_utf8(s).ok())
                            .and_then(|s| s.parse::<u64>().ok());
                        found.extend(seq);
                    }
                }
                offset = records.last().map_or(offset, |r| r.offset + 1).max(offset);
                if offset >= high_watermark || records.is_empty() {
                    break;
                }
            }
        }
        Ok(found)
    }
}

impl Sink for KafkaSink {
    fn description(&self) -> String {
        match &self.topic {
            Some(topic) => format!("KafkaSink[{topic}]"),
            None => "KafkaSink[topic column]".to_string(),
        }
    }

    fn add_batch(&mut self, batch: &Batch<'_>) -> std::result::Result<(), SinkError> {
        let fail = |reason: String| SinkError::Write {
            sink_name: self.description(),
            batch_id: batch.id,
            reason,
        };
        if batch.rows.is_empty() {
            return Ok(());
        }
        let settings = self.settings.clone();
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let partitions = {
                let settings = settings.clone();
                block_on(async move {
                    let connection = Connection::get(&settings).await?;
                    let topics = connection
                        .topics()
                        .await
                        .map_err(|e| format!("listing the topics failed: {}", describe(&e)))?;
                    Ok::<_, String>(
                        topics
                            .into_iter()
                            .map(|(t, p)| (t, p.len() as i32))
                            .collect::<HashMap<_, _>>(),
                    )
                })
            };
            // A missing topic may come back (a broker restarting, a topic being made again):
            // worth the retries.
            let partitions = partitions.and_then(|partitions| match &self.topic {
                Some(topic) if !partitions.contains_key(topic) => Err(format!(
                    "topic `{topic}` does not exist; create it first (the kafka sink does not create topics)"
                )),
                _ => Ok(partitions),
            });
            let result = match partitions {
                Ok(partitions) => {
                    // A bad row is not worth retrying.
                    let records = self.records(batch, &partitions).map_err(fail)?;
                    let sink = self.clone();
                    let (epoch, settings) = (batch.id, settings.clone());
                    block_on(async move {
                        let connection = Connection::get(&settings).await?;
                        sink.write_epoch(&connection, epoch, records).await
                    })
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    last = reason;
                    if attempt < ATTEMPTS {
                        let wait = Duration::from_millis(500 << attempt);
                        tracing::warn!(
                            "kafka sink: writing batch {} failed (attempt {attempt} of {ATTEMPTS}): {last}; retrying in {:?}",
                            batch.id,
                            wait
                        );
                        std::thread::sleep(wait);
                    }
                }
            }
        }
        Err(fail(format!("{last} (after {ATTEMPTS} attempts)")))
    }
}
