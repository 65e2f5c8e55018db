//! [`StreamingContext`]: Spark Streaming's entry point: sources, `start`, `await_termination`,
//! `stop`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::batch_info::{BatchInfo, RecentBatches};
use super::driver::{self, Job};
use super::graph::{build_fn, BuildCtx, Built, Data};
use super::output::OutputSpec;
use super::sources::{ConnectorSource, QueueSource, SourceSpec};
use super::DStream;
use crate::compile::{read_partitions, spread, Readers};
use crate::connectors::file::{FileFormat, FileSource};
use crate::connectors::socket::SocketSource;
use crate::connectors::{Options, Source};
use crate::data::{Row, Value};
use crate::error::{Error, Result};
use crate::runtime::{ClusterConfig, Shared, StreamingQuery, DEFAULT_MAX_ROWS_PER_EPOCH};

/// How a [`StreamingContext`] runs: its name and its workers (Spark's `SparkConf`).
///
/// ```
/// use tidewater::dstream::StreamingConfig;
/// let conf = StreamingConfig::new().app_name("NetworkWordCount").master("local[2]").unwrap();
/// assert_eq!(conf.cluster_config().workers, 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct StreamingConfig {
    app_name: Option<String>,
    cluster: ClusterConfig,
}

impl StreamingConfig {
    /// One worker thread in one process.
    pub fn new() -> Self {
        StreamingConfig::default()
    }

    /// The application's name.
    pub fn app_name(mut self, name: &str) -> Self {
        self.app_name = Some(name.to_string());
        self
    }

    /// Spark's `setMaster("local[N]")` / `local[*]` / `local`: the worker threads.
    pub fn master(mut self, master: &str) -> Result<Self> {
        self.cluster.workers = crate::runtime::parse_master(master)?;
        Ok(self)
    }

    /// Worker threads per process.
    pub fn workers(mut self, n: usize) -> Self {
        self.cluster.workers = n;
        self
    }

    /// Workers, processes, this process's index and the hostfile (timely's cluster mode).
    pub fn cluster(mut self, cluster: ClusterConfig) -> Self {
        self.cluster = cluster;
        self
    }

    /// Where the context runs.
    pub fn cluster_config(&self) -> &ClusterConfig {
        &self.cluster
    }
}

/// The DStream graph recorded so far.
#[derive(Default)]
struct Graph {
    sources: Vec<Arc<dyn SourceSpec>>,
    outputs: Vec<Arc<dyn OutputSpec>>,
}

/// What a context and its streams share.
pub(crate) struct ContextInner {
    config: StreamingConfig,
    pub(crate) batch: Duration,
    graph: Mutex<Graph>,
    running: Mutex<Option<StreamingQuery>>,
    graceful: Arc<AtomicBool>,
    batches: RecentBatches,
}

impl ContextInner {
    pub(crate) fn batch_ms(&self) -> u64 {
        self.batch.as_millis() as u64
    }

    pub(crate) fn add_output(&self, output: Arc<dyn OutputSpec>) {
        self.graph
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .outputs
            .push(output);
    }

    fn add_source(&self, source: Arc<dyn SourceSpec>) -> usize {
        let mut graph = self.graph.lock().unwrap_or_else(|p| p.into_inner());
        graph.sources.push(source);
        graph.sources.len() - 1
    }
}

/// The entry point of the DStream API, like Spark's `StreamingContext`: every batch interval
/// is one epoch.
///
/// Spark's `NetworkWordCount`, which runs until the server closes the connection:
///
/// ```no_run
/// use std::time::Duration;
/// use tidewater::dstream::{StreamingConfig, StreamingContext};
///
/// # fn main() -> tidewater::Result<()> {
/// let conf = StreamingConfig::new().app_name("NetworkWordCount").master("local[2]")?;
/// let ssc = StreamingContext::new(conf, Duration::from_secs(1))?;
/// let lines = ssc.socket_text_stream("localhost", 9999);
/// let words = lines.flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>());
/// let word_counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
/// word_counts.print();
/// ssc.start()?;
/// ssc.await_termination()?;
/// # Ok(())
/// # }
/// ```
///
/// The same counts on a [`queue_stream`](Self::queue_stream), one batch per entry, which ends
/// the context after its last; `foreach_rdd` sees every batch, empty ones too, its elements
/// sorted:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use tidewater::dstream::{StreamingConfig, StreamingContext};
///
/// # fn main() -> tidewater::Result<()> {
/// let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(5))?;
/// let lines = ssc.queue_stream([vec!["a b".to_string(), "b".into()], vec![], vec!["a".into()]]);
/// let words = lines.flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>());
/// let word_counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// word_counts.foreach_rdd(move |rdd, _time| sink.lock().expect("lock").push(rdd.to_vec()));
/// ssc.start()?;
/// ssc.await_termination()?;
/// let pair = |word: &str, n: u64| (word.to_string(), n);
/// assert_eq!(
///     *seen.lock().expect("lock"),
///     [vec![pair("a", 1), pair("b", 2)], vec![], vec![pair("a", 1)]]
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    pub(crate) inner: Arc<ContextInner>,
}

impl StreamingContext {
    /// A context whose batches are `batch_interval` long (at least 1 ms).
    pub fn new(config: StreamingConfig, batch_interval: Duration) -> Result<Self> {
        if batch_interval.as_millis() == 0 {
            return Err(Error::InvalidOption(format!(
                "the batch interval must be at least 1 ms, not {batch_interval:?}"
            )));
        }
        Ok(StreamingContext {
            inner: Arc::new(ContextInner {
                config,
                batch: batch_interval,
                graph: Mutex::new(Graph::default()),
                running: Mutex::new(None),
                graceful: Arc::new(AtomicBool::new(true)),
                batches: RecentBatches::default(),
            }),
        })
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.inner.batch
    }

    /// Lines of text from a TCP server (Spark's `socketTextStream`). One connection serves the
    /// whole cluster; the lines are spread over the workers. The stream ends when the server
    /// closes the connection.
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<String> {
        let mut options = Options::default();
        options.set("host", host);
        options.set("port", port);
        let source = match SocketSource::from_options(&options, None) {
            Ok(source) => source,
            // Both options are set just above, with valid values.
            Err(e) => unreachable!("socket options: {e}"),
        };
        self.connector_stream(Arc::new(source), row_text)
    }

    /// Lines of the text files in a directory (or matching a glob): the files there at the
    /// start, then each new file, in modification-time order, each read once (Spark's
    /// `textFileStream` reads only files that appear after the start).
    pub fn text_file_stream(&self, directory: impl AsRef<Path>) -> Result<DStream<String>> {
        let path: PathBuf = directory.as_ref().to_path_buf();
        let mut options = Options::default();
        options.set("path", path.display());
        let source: Arc<dyn Source> = Arc::new(FileSource::new(FileFormat::Text, &options, None, false)?);
        let Some(reader) = source.partition_reader() else {
            return Err(Error::Runtime("the text source reads no files".into()));
        };
        let id = self.inner.add_source(Arc::new(ConnectorSource::<Row> {
            limit: source.max_per_epoch().unwrap_or(DEFAULT_MAX_ROWS_PER_EPOCH),
            source,
            convert: |row| row,
        }));
        let build = build_fn(move |cx: &mut BuildCtx<'_>| {
            let files = cx.input::<Row>(id);
            let (rows, events) = read_partitions(files, reader.clone(), id, Readers::One);
            cx.events.push(events);
            Built::arrivals(rows.map(row_text))
        });
        Ok(DStream::from_source(self.inner.clone(), build))
    }

    /// One batch per entry of `batches`, in order (Spark's `queueStream` with
    /// `oneAtATime = true`); the stream ends after the last. Meant for tests.
    pub fn queue_stream<T: Data>(&self, batches: impl IntoIterator<Item = Vec<T>>) -> DStream<T> {
        let batches: VecDeque<Vec<T>> = batches.into_iter().collect();
        let id = self.inner.add_source(Arc::new(QueueSource {
            batches: Mutex::new(Some(batches)),
        }));
        let build = build_fn(move |cx: &mut BuildCtx<'_>| {
            let peers = cx.scope.peers();
            Built::arrivals(spread(cx.input::<T>(id), peers))
        });
        DStream::from_source(self.inner.clone(), build)
    }

    fn connector_stream(&self, source: Arc<dyn Source>, convert: fn(Row) -> String) -> DStream<String> {
        let id = self.inner.add_source(Arc::new(ConnectorSource {
            limit: source.max_per_epoch().unwrap_or(DEFAULT_MAX_ROWS_PER_EPOCH),
            source,
            convert,
        }));
        let build = build_fn(move |cx: &mut BuildCtx<'_>| {
            let peers = cx.scope.peers();
            Built::arrivals(spread(cx.input::<String>(id), peers))
        });
        DStream::from_source(self.inner.clone(), build)
    }

    /// Starts running the streams' outputs on the workers, and returns at once.
    pub fn start(&self) -> Result<()> {
        let mut running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_some() {
            return Err(Error::InvalidPlan(
                "the StreamingContext has already been started; a context starts once".into(),
            ));
        }
        let (sources, outputs) = {
            let graph = self.inner.graph.lock().unwrap_or_else(|p| p.into_inner());
            (graph.sources.clone(), graph.outputs.clone())
        };
        if outputs.is_empty() {
            return Err(Error::InvalidPlan(
                "no output operations registered, so nothing to execute: call print(), \
                 save_as_text_files() or foreach_rdd() on a stream before start()"
                    .into(),
            ));
        }
        let shared = Shared::new(self.inner.config.app_name.clone());
        let job = Job {
            sources,
            outputs,
            batch: self.inner.batch,
            shared: shared.clone(),
            graceful: self.inner.graceful.clone(),
            batches: self.inner.batches.clone(),
        };
        driver::launch(&self.inner.config.cluster, job)?;
        *running = Some(StreamingQuery { shared });
        Ok(())
    }

    fn query(&self) -> Result<StreamingQuery> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Error::InvalidPlan("the StreamingContext has not been started".into()))
    }

    /// Waits until the context ends: every source ended and its last batch was written, or
    /// `stop` was called. Returns the error it failed with, if any.
    pub fn await_termination(&self) -> Result<()> {
        self.query()?.await_termination()
    }

    /// As [`await_termination`](Self::await_termination), waiting at most `timeout`;
    /// `Ok(true)` if the context ended in time.
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool> {
        self.query()?.await_termination_timeout(timeout)
    }

    /// Stops the context and waits until it has. `graceful`: stop reading, but process and
    /// write what was already received; otherwise stop at once (the batch being computed is
    /// not written).
    pub fn stop(&self, graceful: bool) -> Result<()> {
        self.inner.graceful.store(graceful, Ordering::SeqCst);
        self.query()?.stop()
    }

    /// The finished batches, oldest first (the last 1000): their times, records and delays.
    pub fn recent_batches(&self) -> Vec<BatchInfo> {
        self.inner.batches.all()
    }

    /// True once started and until the context ends.
    pub fn is_active(&self) -> bool {
        self.query().is_ok_and(|q| q.is_active())
    }
}

/// The text of a line read by the socket or text source (its `value` column).
fn row_text(row: Row) -> String {
    match row.into_iter().next() {
        Some(Value::Str(s)) => s.to_string(),
        Some(other) if !other.is_null() => other.to_string(),
        _ => String::new(),
    }
}
