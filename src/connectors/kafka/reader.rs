//! The workers' side of the source: each work item (one partition's offset range for one
//! epoch) is fetched on the Kafka runtime and handed to the worker that holds it over a
//! bounded channel, which wakes the worker when rows arrive.

use std::collections::VecDeque;

use tokio::sync::mpsc::error::TryRecvError;

use super::client::{describe, is_offset_out_of_range, is_unknown_topic, runtime, Connection};
use super::options::ClientSettings;
use super::record::to_row;
use crate::connectors::{ItemWake, PartitionRead, PartitionReader, SourceEvent};
use crate::data::{Row, Value};

/// Batches of rows a fetch may run ahead of the worker that reads them.
const BATCHES_AHEAD: usize = 4;

/// How long one fetch waits at the broker for records that the plan says exist.
const FETCH_WAIT_MS: i32 = 500;

/// Fetches in a row that bring nothing although the plan says records are there, before the
/// item fails (a broker that lost them without saying so).
const EMPTY_FETCHES: u32 = 20;

/// One epoch's offset range of one partition: the work item the leader plans and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset to read.
    pub from: i64,
    /// The offset after the last one to read.
    pub until: i64,
}

impl Range {
    /// The item as a row: `[topic, partition, from, until]`.
    pub fn to_row(&self) -> Row {
        crate::row![
            self.topic.as_str(),
            i64::from(self.partition),
            self.from,
            self.until
        ]
    }

    /// Reads a row written by [`to_row`](Self::to_row).
    pub fn from_row(row: &Row) -> Option<Range> {
        let int = |i: usize| row.get(i).and_then(Value::as_i64);
        Some(Range {
            topic: row.first()?.as_str()?.to_string(),
            partition: i32::try_from(int(1)?).ok()?,
            from: int(2)?,
            until: int(3)?,
        })
    }
}

/// Reads the source's work items into rows.
#[derive(Debug)]
pub struct KafkaPartitions {
    /// The client's settings.
    pub settings: ClientSettings,
    /// `includeHeaders`.
    pub include_headers: bool,
    /// `failOnDataLoss`.
    pub fail_on_data_loss: bool,
    /// Bytes per fetch.
    pub fetch_bytes: i32,
    /// The source, as errors name it.
    pub description: String,
}

/// What the fetch task hands the worker.
enum Fetched {
    Rows(Vec<Row>),
    Done,
    Failed(String),
}

impl PartitionReader for KafkaPartitions {
    fn open(&self, item: &Row, source: usize) -> Box<dyn PartitionRead> {
        // Without a wake the worker asks again until rows come (only `read`, never the dataflow).
        self.open_waking(item, source, ItemWake::new(|| {}))
    }

    fn open_waking(&self, item: &Row, source: usize, wake: ItemWake) -> Box<dyn PartitionRead> {
        let (tx, rx) = tokio::sync::mpsc::channel(BATCHES_AHEAD);
        let Some(range) = Range::from_row(item) else {
            let _ = tx.try_send(Fetched::Failed(format!(
                "{}: a work item is not an offset range: {item:?}",
                self.description
            )));
            return Box::new(KafkaRead::new(rx, source));
        };
        let fetch = Fetch {
            settings: self.settings.clone(),
            include_headers: self.include_headers,
            fail_on_data_loss: self.fail_on_data_loss,
            fetch_bytes: self.fetch_bytes,
            description: self.description.clone(),
            range,
        };
        runtime().spawn(async move {
            let end = match fetch.run(&tx, &wake).await {
                Ok(()) => Fetched::Done,
                Err(message) => Fetched::Failed(message),
            };
            let _ = tx.send(end).await;
            wake.wake();
        });
        Box::new(KafkaRead::new(rx, source))
    }
}

/// One item's fetch, on the runtime.
struct Fetch {
    settings: ClientSettings,
    include_headers: bool,
    fail_on_data_loss: bool,
    fetch_bytes: i32,
    description: String,
    range: Range,
}

impl Fetch {
    /// Fetches the range and sends its rows, in offset order; an error is the message that
    /// fails the query.
    async fn run(&self, tx: &tokio::sync::mpsc::Sender<Fetched>, wake: &ItemWake) -> Result<(), String> {
        let Range {
            topic,
            partition,
            from,
            until,
        } = &self.range;
        let (partition, until) = (*partition, *until);
        let name = format!("{}: partition {topic}-{partition}", self.description);
        let connection = Connection::get(&self.settings)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let client = match connection.partition(topic, partition).await {
            Ok(client) => client,
            Err(e) if is_unknown_topic(&e) => {
                return self.lost(&name, *from..until, "the topic or partition no longer exists")
            }
            Err(e) => return Err(format!("{name}: {}", describe(&e))),
        };
        let topic_value = Value::str(topic);
        let mut offset = *from;
        let mut empty = 0;
        while offset < until {
            let fetched = client
                .fetch_records(offset, 1..self.fetch_bytes, FETCH_WAIT_MS)
                .await;
            let (records, high_watermark) = match fetched {
                Ok(fetched) => fetched,
                Err(e) if is_offset_out_of_range(&e) => {
                    self.lost(&name, offset..until, "the broker no longer has them")?;
                    return Ok(());
                }
                Err(e) if is_unknown_topic(&e) => {
                    connection.drop_partition(topic, partition).await;
                    return self.lost(&name, offset..until, "the topic or partition no longer exists");
                }
                Err(e) => {
                    return Err(format!(
                        "{name}: fetching offset {offset} failed: {}",
                        describe(&e)
                    ))
                }
            };
            let start = offset;
            let rows: Vec<Row> = records
                .into_iter()
                .filter(|r| r.offset >= start && r.offset < until)
                .map(|r| {
                    offset = r.offset + 1;
                    to_row(&topic_value, partition, r, self.include_headers)
                })
                .collect();
            if rows.is_empty() {
                if high_watermark <= offset {
                    // The log ends before the plan's range does: records were lost.
                    return self.lost(&name, offset..until, "the log now ends before them");
                }
                empty += 1;
                if empty >= EMPTY_FETCHES {
                    return Err(format!(
                        "{name}: the broker sends no records at offset {offset} although its log ends at {high_watermark}"
                    ));
                }
                continue;
            }
            empty = 0;
            if tx.send(Fetched::Rows(rows)).await.is_err() {
                // The worker let the item go (the query stopped).
                return Ok(());
            }
            wake.wake();
        }
        Ok(())
    }

    /// Records the plan counted on are gone: with `failOnDataLoss` the query fails, naming
    /// them; without it they are skipped with a warning.
    fn lost(&self, name: &str, offsets: std::ops::Range<i64>, why: &str) -> Result<(), String> {
        let message = format!(
            "{name}: offsets {}..{} can no longer be read ({why}); some data was lost, for example to \
             retention or to a deleted topic. Set failOnDataLoss to false to go on without it",
            offsets.start, offsets.end
        );
        if self.fail_on_data_loss {
            Err(message)
        } else {
            tracing::warn!("{message} (failOnDataLoss is false: skipping them)");
            Ok(())
        }
    }
}

/// A worker's view of one item being fetched.
struct KafkaRead {
    rx: tokio::sync::mpsc::Receiver<Fetched>,
    buffer: VecDeque<Row>,
    source: usize,
    rows: u64,
    waiting: bool,
}

impl KafkaRead {
    fn new(rx: tokio::sync::mpsc::Receiver<Fetched>, source: usize) -> Self {
        KafkaRead {
            rx,
            buffer: VecDeque::new(),
            source,
            rows: 0,
            waiting: false,
        }
    }

    fn finish(&mut self, events: &mut Vec<SourceEvent>, failure: Option<String>) -> bool {
        events.push(SourceEvent::Rows {
            source: self.source,
            rows: self.rows,
        });
        if let Some(message) = failure {
            events.push(SourceEvent::Failed {
                source: self.source,
                message,
            });
        }
        false
    }
}

impl PartitionRead for KafkaRead {
    fn read(&mut self, max: usize, rows: &mut dyn FnMut(Row), events: &mut Vec<SourceEvent>) -> bool {
        self.waiting = false;
        let mut given = 0;
        while given < max {
            if let Some(row) = self.buffer.pop_front() {
                rows(row);
                given += 1;
                self.rows += 1;
                continue;
            }
            match self.rx.try_recv() {
                Ok(Fetched::Rows(batch)) => self.buffer.extend(batch),
                Ok(Fetched::Done) => return self.finish(events, None),
                Ok(Fetched::Failed(message)) => return self.finish(events, Some(message)),
                Err(TryRecvError::Empty) => {
                    self.waiting = true;
                    return true;
                }
                Err(TryRecvError::Disconnected) => {
                    let message = "a Kafka fetch ended without a word (its runtime stopped)".to_string();
                    return self.finish(events, Some(message));
                }
            }
        }
        true
    }

    fn waiting(&self) -> bool {
        self.waiting
    }
}
