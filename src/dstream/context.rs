//! [`StreamingContext`]: Spark Streaming's entry point: sources, `start`, `await_termination`,
//! `stop`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::batch_info::{BatchInfo, RecentBatches};
use super::driver::{self, Job};
use super::durable::DurableGraph;
use super::graph::{build_fn, BuildCtx, Built, Data};
use super::output::OutputSpec;
use super::sources::{ConnectorSource, QueueSource, SourceSpec};
use super::DStream;
use crate::checkpoint::{fingerprint, read_recovery, Checkpoint, StateStore, DEFAULT_MIN_BATCHES_TO_RETAIN};
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
    /// Batches of offsets and commits a checkpoint keeps (`None`: Spark's default, 100).
    min_batches_to_retain: Option<u64>,
    /// Every how many batches state is compacted into snapshots (`None`: 10).
    min_deltas_for_snapshot: Option<u64>,
    /// Whether and where the UI shows the context's batches (`spark.ui.*`).
    ui: crate::ui::UiConfig,
}

/// Spark's `spark.sql.streaming.minBatchesToRetain`.
const MIN_BATCHES_TO_RETAIN: &str = "spark.sql.streaming.minBatchesToRetain";
/// Spark's `spark.sql.streaming.stateStore.minDeltasForSnapshot`.
const MIN_DELTAS_FOR_SNAPSHOT: &str = "spark.sql.streaming.stateStore.minDeltasForSnapshot";
/// Snapshots of the state every this many batches, by default (as Spark's).
const DEFAULT_MIN_DELTAS_FOR_SNAPSHOT: u64 = 10;

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

    /// Sets a setting by its Spark name (`SparkConf.set`). The checkpoint's settings are
    /// known: `spark.sql.streaming.minBatchesToRetain` (how many batches of offsets and
    /// commits a checkpoint keeps, default 100) and
    /// `spark.sql.streaming.stateStore.minDeltasForSnapshot` (every how many batches the
    /// state is compacted into a snapshot, default 10). Others are refused, so that a typo
    /// does not pass silently.
    ///
    /// ```
    /// use tidewater::dstream::StreamingConfig;
    /// let conf = StreamingConfig::new().set("spark.sql.streaming.minBatchesToRetain", "5").unwrap();
    /// assert!(conf.set("spark.sql.streaming.minBatchesToRetain", "five").is_err());
    /// ```
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let number = || {
            value.trim().parse::<u64>().map_err(|_| {
                Error::InvalidOption(format!("`{key}` = `{value}`: use a whole number of batches"))
            })
        };
        match key {
            MIN_BATCHES_TO_RETAIN => self.min_batches_to_retain = Some(number()?),
            MIN_DELTAS_FOR_SNAPSHOT => self.min_deltas_for_snapshot = Some(number()?),
            crate::ui::UI_ENABLED | crate::ui::UI_PORT | crate::ui::UI_HOST => {
                let conf = std::collections::BTreeMap::from([(key.to_string(), value.to_string())]);
                let parsed = crate::ui::UiConfig::from_conf(&conf)?;
                match key {
                    crate::ui::UI_ENABLED => self.ui.enabled = parsed.enabled,
                    crate::ui::UI_PORT => self.ui.port = parsed.port,
                    _ => self.ui.host = parsed.host,
                }
            }
            other => {
                return Err(Error::InvalidOption(format!(
                    "unknown setting `{other}` for a StreamingContext; known: \
                     {MIN_BATCHES_TO_RETAIN}, {MIN_DELTAS_FOR_SNAPSHOT}, spark.ui.enabled, \
                     spark.ui.port, spark.ui.host"
                )))
            }
        }
        Ok(self)
    }
}

/// Batches a DStream context shows on the page (Spark's Streaming tab shows the last 1000).
const BATCHES_SHOWN: usize = 1000;

impl crate::ui::UiSource for ContextInner {
    fn dstreams(&self) -> Vec<crate::ui::DStreamView> {
        let active = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(StreamingQuery::is_active);
        let name = self.config.app_name.as_deref().unwrap_or("streaming");
        vec![self.batches.view(name, active, BATCHES_SHOWN)]
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
    /// The graph's shape as it was defined, one line per step: what its fingerprint is of.
    description: Mutex<Vec<String>>,
    /// The checkpoint directory (`ssc.checkpoint(dir)`).
    checkpoint_dir: Mutex<Option<PathBuf>>,
    /// The checkpoint, once opened (and locked) by `get_or_create` or `start`.
    opened: Mutex<Option<Checkpoint>>,
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

    fn add_source(&self, source: Arc<dyn SourceSpec>, what: &str) -> usize {
        let mut graph = self.graph.lock().unwrap_or_else(|p| p.into_inner());
        graph.sources.push(source);
        self.describe(&format!("source {}: {what}", graph.sources.len() - 1));
        graph.sources.len() - 1
    }

    /// Records one step of the graph's definition (see [`StreamingContext::get_or_create`]).
    pub(crate) fn describe(&self, step: &str) {
        self.description
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(step.to_string());
    }

    /// The fingerprint of the graph defined so far and of the batch interval.
    fn fingerprint(&self) -> String {
        let description = self.description.lock().unwrap_or_else(|p| p.into_inner());
        fingerprint(&format!(
            "dstream graph, batch {} ms\n{}",
            self.batch_ms(),
            description.join("\n")
        ))
    }

    /// Opens (and locks) the checkpoint at `dir` for this graph, in the process of worker 0.
    fn open_checkpoint(&self, dir: &Path) -> Result<()> {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if opened.is_none() && self.config.cluster.is_leader_process() {
            let retain = self
                .config
                .min_batches_to_retain
                .unwrap_or(DEFAULT_MIN_BATCHES_TO_RETAIN);
            *opened = Some(Checkpoint::open(
                dir,
                &self.fingerprint(),
                retain,
                crate::compile::JoinStateFormat::default().version(),
            )?);
        }
        Ok(())
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
                description: Mutex::new(Vec::new()),
                checkpoint_dir: Mutex::new(None),
                opened: Mutex::new(None),
            }),
        })
    }

    /// Spark's `ssc.checkpoint(directory)`: the context keeps a checkpoint there, so that it
    /// resumes where it stopped when it is started again, exactly once: batches that were
    /// committed are done, the batch that was started but not committed runs again with the
    /// same records and the same batch time, and the state of `update_state_by_key`,
    /// `map_with_state` and windows comes back as it was after the last committed batch.
    ///
    /// Call it before [`start`](Self::start), after the graph is defined (or use
    /// [`get_or_create`](Self::get_or_create), which is the usual way). The directory has
    /// the structured queries' layout (see the README's "Checkpoints and recovery").
    pub fn checkpoint(&self, directory: impl AsRef<Path>) {
        *self
            .inner
            .checkpoint_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(directory.as_ref().to_path_buf());
    }

    /// Spark's `StreamingContext.getOrCreate(checkpointPath, creatingFunc)`: a context that
    /// resumes from the checkpoint at `directory` if there is one, or starts afresh.
    ///
    /// `create` builds the context and its whole DStream graph (sources, transformations,
    /// outputs), and is called in both cases. Spark serialises the graph into the checkpoint
    /// and rebuilds it from there; closures cannot be serialised here, so the graph is built
    /// again by `create`, and **`create` must build the same graph each time**. A checkpoint
    /// keeps a fingerprint of the graph's shape (its sources, the element types of its
    /// streams, its windows and stateful streams, its outputs, the batch interval); a graph
    /// that does not match is refused with `CHECKPOINT_FOREIGN`. Changed function bodies with
    /// the same shape cannot be told apart: do not change them between runs.
    ///
    /// The checkpoint is opened and locked here, so that a foreign, damaged or busy
    /// checkpoint (`CHECKPOINT_FOREIGN`, `CHECKPOINT_VERSION`, `CHECKPOINT_CORRUPT`,
    /// `CHECKPOINT_LOCKED`) is refused at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tidewater::dstream::{StreamingConfig, StreamingContext};
    ///
    /// # fn main() -> tidewater::Result<()> {
    /// let dir = tempfile::tempdir().expect("a temporary directory");
    /// let create = || -> tidewater::Result<StreamingContext> {
    ///     let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(5))?;
    ///     let totals = ssc
    ///         .queue_stream(vec![vec![("a".to_string(), 1u64)], vec![("a".to_string(), 2)]])
    ///         .update_state_by_key(|values: &[u64], total: Option<&u64>| {
    ///             Some(values.iter().sum::<u64>() + total.copied().unwrap_or(0))
    ///         });
    ///     totals.print();
    ///     Ok(ssc)
    /// };
    /// let ssc = StreamingContext::get_or_create(dir.path(), create)?;
    /// ssc.start()?;
    /// ssc.await_termination()?;
    /// // Both batches are committed: a second run has nothing left to do, and ends at once.
    /// let again = StreamingContext::get_or_create(dir.path(), create)?;
    /// again.start()?;
    /// again.await_termination()?;
    /// assert!(again.recent_batches().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_or_create<F>(directory: impl AsRef<Path>, create: F) -> Result<StreamingContext>
    where
        F: FnOnce() -> Result<StreamingContext>,
    {
        let ssc = create()?;
        let directory = directory.as_ref();
        ssc.checkpoint(directory);
        ssc.inner.open_checkpoint(directory)?;
        // A damaged log is refused now too.
        read_recovery(directory)?;
        Ok(ssc)
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
        let source: Arc<dyn Source> =
            Arc::new(FileSource::new(FileFormat::Text, &options, None, false, &|_| {
                None
            })?);
        let Some(reader) = source.partition_reader() else {
            return Err(Error::Runtime("the text source reads no files".into()));
        };
        let id = self.inner.add_source(
            Arc::new(ConnectorSource::<Row> {
                limit: source.max_per_epoch().unwrap_or(DEFAULT_MAX_ROWS_PER_EPOCH),
                source,
                convert: |row| row,
            }),
            &format!("textFileStream {}", path.display()),
        );
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
        let id = self.inner.add_source(
            Arc::new(QueueSource {
                batches: Mutex::new(Some(batches)),
            }),
            &format!("queueStream of {}", std::any::type_name::<T>()),
        );
        let build = build_fn(move |cx: &mut BuildCtx<'_>| {
            let peers = cx.scope.peers();
            Built::arrivals(spread(cx.input::<T>(id), peers))
        });
        DStream::from_source(self.inner.clone(), build)
    }

    fn connector_stream(&self, source: Arc<dyn Source>, convert: fn(Row) -> String) -> DStream<String> {
        let what = source.description();
        let id = self.inner.add_source(
            Arc::new(ConnectorSource {
                limit: source.max_per_epoch().unwrap_or(DEFAULT_MAX_ROWS_PER_EPOCH),
                source,
                convert,
            }),
            &what,
        );
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
        let (checkpoint, durable) = self.prepare_checkpoint()?;
        let shared = Shared::new(self.inner.config.app_name.clone());
        let job = Job {
            sources,
            outputs,
            batch: self.inner.batch,
            shared: shared.clone(),
            graceful: self.inner.graceful.clone(),
            batches: self.inner.batches.clone(),
            checkpoint: Mutex::new(checkpoint),
            durable,
            snapshot_every: self
                .inner
                .config
                .min_deltas_for_snapshot
                .unwrap_or(DEFAULT_MIN_DELTAS_FOR_SNAPSHOT),
        };
        driver::launch(&self.inner.config.cluster, job)?;
        *running = Some(StreamingQuery { shared });
        if self.inner.config.cluster.is_leader_process() {
            let weak: std::sync::Weak<ContextInner> = Arc::downgrade(&self.inner);
            crate::ui::attach(&self.inner.config.ui, weak);
        }
        Ok(())
    }

    /// Opens the checkpoint, if the context has one, and prepares its state: the open
    /// checkpoint (in the process of worker 0) and what every worker needs to restore and
    /// log the state.
    fn prepare_checkpoint(&self) -> Result<(Option<Checkpoint>, Option<Arc<DurableGraph>>)> {
        let Some(dir) = self
            .inner
            .checkpoint_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return Ok((None, None));
        };
        self.inner.open_checkpoint(&dir)?;
        let checkpoint = self.inner.opened.lock().unwrap_or_else(|p| p.into_inner()).take();
        // A damaged log is refused here, by start(), rather than by the running context.
        let recovery = read_recovery(&dir)?;
        let store = StateStore::new(&dir);
        let leader = self.inner.config.cluster.is_leader_process();
        if leader {
            // What an attempt that was not committed wrote is not state.
            store.discard_from(recovery.next_epoch)?;
        }
        let durable = DurableGraph::new(store, recovery.next_epoch, leader);
        Ok((checkpoint, Some(Arc::new(durable))))
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
