//! The Kafka client's side of the process: one small tokio runtime that every Kafka reader and
//! writer of the process shares (workers never run async code), and one connected client per
//! broker list.
//!
//! The client retries a failing request with exponential backoff (rskafka logs each retry)
//! until the settings' deadline, then gives up with an error: a broker that is gone fails the
//! query with a clear message instead of hanging it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rskafka::client::error::{Error as KafkaError, ProtocolError};
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;

use super::options::ClientSettings;

/// The process's Kafka runtime: two threads, enough for loopback and LAN brokers.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tidewater-kafka")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the Kafka client's runtime: {e}"))
    })
}

/// Runs `future` on the Kafka runtime and waits for it: for the leader's one-off requests
/// (never on a worker's hot path).
pub fn block_on<F: Future + Send + 'static>(future: F) -> F::Output
where
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .unwrap_or_else(|_| panic!("the Kafka runtime dropped a request"))
}

/// A connected client, shared per settings, with the partition clients it has made.
#[derive(Debug)]
pub struct Connection {
    client: Client,
    settings: ClientSettings,
    partitions: tokio::sync::Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
}

/// What went wrong talking to Kafka, in words for the query's error.
pub fn describe(error: &KafkaError) -> String {
    match error {
        KafkaError::ServerError { protocol_error, .. } => format!("the broker answered {protocol_error}"),
        KafkaError::Connection(_) => format!("{error}; is the broker running?"),
        other => other.to_string(),
    }
}

/// Whether the broker said the offset asked for is outside the partition's log.
pub fn is_offset_out_of_range(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::ServerError {
            protocol_error: ProtocolError::OffsetOutOfRange,
            ..
        }
    )
}

/// Whether the broker said the topic or partition does not exist.
pub fn is_unknown_topic(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::ServerError {
            protocol_error: ProtocolError::UnknownTopicOrPartition,
            ..
        }
    )
}

fn backoff(settings: &ClientSettings) -> BackoffConfig {
    BackoffConfig {
        init_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_secs(2),
        base: 2.0,
        deadline: Some(settings.retry_deadline),
    }
}

impl Connection {
    /// The process's client for `settings`, connected on first use.
    pub async fn get(settings: &ClientSettings) -> Result<Arc<Connection>, String> {
        static CLIENTS: OnceLock<Mutex<HashMap<ClientSettings, Arc<Connection>>>> = OnceLock::new();
        let clients = CLIENTS.get_or_init(Default::default);
        if let Some(found) = clients.lock().unwrap_or_else(|p| p.into_inner()).get(settings) {
            return Ok(found.clone());
        }
        let mut builder = ClientBuilder::new(settings.bootstrap.clone()).backoff_config(backoff(settings));
        if let Some(id) = &settings.client_id {
            builder = builder.client_id(id.as_str());
        }
        let client = builder.build().await.map_err(|e| {
            format!(
                "could not connect to {} ({}); is the broker running?",
                settings.bootstrap.join(","),
                describe(&e)
            )
        })?;
        let connection = Arc::new(Connection {
            client,
            settings: settings.clone(),
            partitions: Default::default(),
        });
        clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(settings.clone())
            .or_insert(connection.clone());
        Ok(connection)
    }

    /// Every topic and its partitions.
    pub async fn topics(&self) -> Result<Vec<(String, Vec<i32>)>, KafkaError> {
        let topics = self.client.list_topics().await?;
        Ok(topics
            .into_iter()
            .map(|t| (t.name, t.partitions.into_iter().collect()))
            .collect())
    }

    /// The client of one partition, made once.
    pub async fn partition(&self, topic: &str, partition: i32) -> Result<Arc<PartitionClient>, KafkaError> {
        let mut partitions = self.partitions.lock().await;
        if let Some(found) = partitions.get(&(topic.to_string(), partition)) {
            return Ok(found.clone());
        }
        let client = Arc::new(
            self.client
                .partition_client(topic, partition, UnknownTopicHandling::Error)
                .await?,
        );
        partitions.insert((topic.to_string(), partition), client.clone());
        Ok(client)
    }

    /// Forgets a partition's client (its topic was deleted, or its leader moved for good).
    pub async fn drop_partition(&self, topic: &str, partition: i32) {
        self.partitions
            .lock()
            .await
            .remove(&(topic.to_string(), partition));
    }

    /// The partition's log bounds `(earliest, end)`. The end is the high watermark that a fetch
    /// response carries, not ListOffsets' "latest", which some brokers get wrong after a batch
    /// of several records; `hint` is an offset believed to be inside the log (where the last
    /// look ended), so that the fetch brings back little or nothing.
    pub async fn bounds(
        &self,
        topic: &str,
        partition: i32,
        hint: Option<i64>,
    ) -> Result<(i64, i64), KafkaError> {
        let client = self.partition(topic, partition).await?;
        let earliest = client.get_offset(OffsetAt::Earliest).await?;
        let at = hint.unwrap_or(earliest).max(earliest);
        // A fetch that may wait 1 ms: some brokers answer a fetch that may not wait at all with
        // an empty response.
        let end = match client.fetch_records(at, 1..2, 1).await {
            Ok((_, end)) => end,
            // The hint was past the end (the topic was recreated): look from the start.
            Err(e) if is_offset_out_of_range(&e) => client.fetch_records(earliest, 1..2, 1).await?.1,
            Err(e) => return Err(e),
        };
        Ok((earliest, end.max(earliest)))
    }

    /// Creates `topic` with `partitions` partitions (replication 1), unless it exists: the
    /// Kafka sink writes to existing topics only, so programs that own their topics (the
    /// examples) make them first.
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), KafkaError> {
        if self.topics().await?.iter().any(|(name, _)| name == topic) {
            return Ok(());
        }
        match self
            .client
            .controller_client()?
            .create_topic(topic, partitions, 1, 5_000)
            .await
        {
            Err(KafkaError::ServerError {
                protocol_error: ProtocolError::TopicAlreadyExists,
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// The settings this client was made with.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }
}

/// Creates each of `topics` (name and partition count) that does not exist yet, on the brokers
/// `bootstrap` names: for programs that set up their own pipeline.
pub fn create_topics(bootstrap: &str, topics: &[(&str, i32)]) -> crate::error::Result<()> {
    let mut options = crate::connectors::Options::default();
    options.set("kafka.bootstrap.servers", bootstrap);
    let settings = ClientSettings::from_options(&options, "client")?;
    let topics: Vec<(String, i32)> = topics.iter().map(|(t, p)| (t.to_string(), *p)).collect();
    block_on(async move {
        let connection = Connection::get(&settings).await?;
        for (topic, partitions) in topics {
            connection
                .create_topic(&topic, partitions)
                .await
                .map_err(|e| format!("creating topic `{topic}` failed: {}", describe(&e)))?;
        }
        Ok::<(), String>(())
    })
    .map_err(|reason| {
        crate::error::Error::Source(crate::error::SourceError::Read {
            source_name: "kafka".into(),
            reason,
        })
    })
}
