//! The entry points a Spark user knows: [`Session`], `read_stream()`, [`DataFrame`],
//! `write_stream()`.

pub mod conf;
mod dataframe;
mod reader;
mod sql;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use dataframe::{DataFrame, GroupedData, KeyedDataFrame};
pub use reader::{DataStreamReader, IntoSchema};
pub use sql::ScriptDefaults;
pub use writer::DataStreamWriter;

use crate::connectors::memory::MemoryTable;
use crate::data::{Row, Schema};
use crate::error::Result;
use crate::runtime::{parse_master, ClusterConfig, StreamingQueryManager};

/// The entry point, like Spark's `SparkSession`: holds the cluster configuration and the
/// memory sinks' tables.
///
/// A session is cheap to clone (clones share it) and reads streams; the queries started from
/// its DataFrames run on its workers. Spark's word count on a [`MemoryStream`], whose tables
/// the session keeps for the memory sink:
///
/// ```
/// use tidewater::prelude::*;
///
/// # fn main() -> tidewater::Result<()> {
/// let spark = Session::builder().app_name("WordCount").workers(2).get_or_create()?;
/// let lines = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
/// let words = spark.read_stream().memory(&lines)
///     .select([explode(split(col("value"), " ")).alias("word")])?;
/// let counts = words.group_by([col("word")]).count()?;
/// lines.add_data([row!["a b"], row!["b"]]);
/// lines.end(); // the query ends once it has read every row
/// let query = counts.write_stream().output_mode("complete")
///     .format("memory").query_name("counts").start()?;
/// query.await_termination()?;
/// let table = spark.memory_table("counts").expect("the memory sink registers its table");
/// assert_eq!(table.rows(), [row!["a", 1], row!["b", 2]]);
/// # Ok(())
/// # }
/// ```
///
/// [`MemoryStream`]: crate::connectors::memory::MemoryStream
#[derive(Clone, Debug)]
pub struct Session {
    inner: Arc<SessionInner>,
}

#[derive(Debug)]
struct SessionInner {
    app_name: String,
    cluster: ClusterConfig,
    conf: BTreeMap<String, String>,
    /// `spark.sql.autoBroadcastJoinThreshold`, parsed (and checked) when the session is built.
    broadcast_threshold: Option<u64>,
    /// The time zone and evaluation rules that expressions are bound with.
    expr_settings: crate::expr::settings::ExprSettings,
    memory_tables: Mutex<HashMap<String, MemoryTable>>,
    /// Named DataFrames for SQL (streams, tables and temporary views).
    views: Mutex<HashMap<String, DataFrame>>,
    /// The queries started from the session, and their listeners.
    streams: StreamingQueryManager,
    /// Progress reports kept per query, and how long a query waits before it is idle.
    progress_settings: (usize, std::time::Duration),
    /// Where the UI serves this session's queries, if it does.
    ui_address: Option<std::net::SocketAddr>,
}

impl Session {
    /// Starts configuring a session.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// Reads streams: `session.read_stream().format("socket").option(..).load()`.
    pub fn read_stream(&self) -> DataStreamReader {
        DataStreamReader::new(self.clone())
    }

    /// Reads a static table, once and whole, for joins with streams (Spark's `spark.read`):
    /// `spark.read().format("csv").option("header", true).option("path", "users.csv").load()`.
    pub fn read(&self) -> DataStreamReader {
        DataStreamReader::new(self.clone()).once()
    }

    /// A static DataFrame of `rows` (Spark's `createDataFrame(rows, schema)`): a table read
    /// whole at the start of every run, as one read with [`read`](Self::read), for joins with
    /// streams and for [`collect`](DataFrame::collect). Each row must have a value of its
    /// column's type, or null, in every column, as Spark checks (`DATATYPE_MISMATCH` otherwise).
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let schema = Schema::new([Field::new("id", DataType::Int64), Field::new("name", DataType::String)]);
    /// let users = spark.create_data_frame(vec![row![2, "bob"], row![1, "ann"]], schema)?;
    /// assert!(!users.is_streaming());
    /// assert_eq!(users.collect()?, [row![1, "ann"], row![2, "bob"]]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_data_frame(&self, rows: Vec<Row>, schema: Schema) -> Result<DataFrame> {
        let table = crate::connectors::memory::LocalRows::new(schema, rows)?;
        Ok(DataFrame::new(
            self.clone(),
            crate::plan::LogicalPlan::source(Arc::new(table)),
        ))
    }

    /// The queries started from this session, and the listeners that hear about them
    /// (Spark's `spark.streams`).
    pub fn streams(&self) -> StreamingQueryManager {
        self.inner.streams.clone()
    }

    /// The UI's address (`http://host:port/`), when the session serves one (Spark's
    /// `sparkContext.uiWebUrl`); see [`crate::ui`] for `spark.ui.enabled`, `spark.ui.port`
    /// and `spark.ui.host`.
    pub fn ui_web_url(&self) -> Option<String> {
        self.inner.ui_address.map(|a| format!("http://{a}/"))
    }

    /// Reports kept per query and the idle interval, from the session's settings.
    pub(crate) fn progress_settings(&self) -> (usize, std::time::Duration) {
        self.inner.progress_settings
    }

    /// The application name.
    pub fn app_name(&self) -> &str {
        &self.inner.app_name
    }

    /// Spark's `spark.conf.get(key)`: the value a setting was given, if any.
    pub fn conf(&self, key: &str) -> Option<&str> {
        self.inner.conf.get(key).map(String::as_str)
    }

    /// The largest static table (bytes on disk) a join under an aggregation broadcasts; `None`
    /// when broadcasting is off.
    pub(crate) fn broadcast_threshold(&self) -> Option<u64> {
        self.inner.broadcast_threshold
    }

    /// Runs `f` (which builds plans) with this session's expression settings in force, so that
    /// the expressions it binds read this session's time zone.
    pub(crate) fn binding<T>(&self, f: impl FnOnce() -> T) -> T {
        crate::expr::settings::with_settings(self.inner.expr_settings, f)
    }

    /// True under `spark.sql.ansi.enabled`: what this session binds raises Spark's ANSI
    /// errors, which its queries then report.
    pub(crate) fn ansi(&self) -> bool {
        self.inner.expr_settings.ansi
    }

    /// Where queries run.
    pub fn cluster(&self) -> &ClusterConfig {
        &self.inner.cluster
    }

    /// The table of the memory sink of the query named `name` (Spark: `spark.table(name)`).
    pub fn memory_table(&self, name: &str) -> Option<MemoryTable> {
        self.inner
            .memory_tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub(crate) fn register_memory_table(&self, name: &str) -> MemoryTable {
        let table = MemoryTable::default();
        self.inner
            .memory_tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), table.clone());
        table
    }
}

/// Configures a [`Session`]: `Session::builder().app_name("x").workers(4).get_or_create()`.
#[derive(Clone, Debug, Default)]
pub struct SessionBuilder {
    app_name: Option<String>,
    cluster: ClusterConfig,
    master: Option<String>,
    conf: BTreeMap<String, String>,
}

impl SessionBuilder {
    /// Spark's `config(key, value)`: a setting the engine reads, such as
    /// [`spark.sql.autoBroadcastJoinThreshold`](conf::AUTO_BROADCAST_JOIN_THRESHOLD). Keys the
    /// engine does not know are kept and ignored, as Spark keeps them.
    pub fn config(mut self, key: &str, value: impl ToString) -> Self {
        self.conf.insert(key.to_string(), value.to_string());
        self
    }

    /// The application's name.
    pub fn app_name(mut self, name: &str) -> Self {
        self.app_name = Some(name.to_string());
        self
    }

    /// Spark's `master("local[N]")` / `local[*]` / `local`: sets the worker threads.
    pub fn master(mut self, master: &str) -> Self {
        self.master = Some(master.to_string());
        self
    }

    /// Worker threads in this process.
    pub fn workers(mut self, n: usize) -> Self {
        self.cluster.workers = n;
        self
    }

    /// Number of processes in a cluster run.
    pub fn processes(mut self, n: usize) -> Self {
        self.cluster.processes = n;
        self
    }

    /// This process's index in a cluster run.
    pub fn process(mut self, index: usize) -> Self {
        self.cluster.process = index;
        self
    }

    /// The hostfile of a cluster run: one `host:port` per process.
    pub fn hostfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.cluster.hostfile = Some(path.into());
        self
    }

    /// The secret the processes of a cluster prove to each other before any data flows
    /// (Spark's `spark.authenticate.secret`, which `config` also takes); required when a host
    /// of the hostfile is not loopback.
    pub fn cluster_secret(mut self, secret: impl Into<String>) -> Self {
        self.cluster.secret = Some(crate::runtime::ClusterSecret::new(secret));
        self
    }

    /// The whole cluster configuration at once.
    pub fn cluster(mut self, cluster: ClusterConfig) -> Self {
        self.cluster = cluster;
        self
    }

    /// Builds the session, checking the configuration.
    pub fn get_or_create(self) -> Result<Session> {
        let mut cluster = self.cluster;
        if let Some(master) = &self.master {
            cluster.workers = parse_master(master)?;
        }
        if let Some(secret) = self.conf.get(conf::AUTHENTICATE_SECRET) {
            cluster.secret = Some(crate::runtime::ClusterSecret::new(secret.as_str()));
        }
        cluster.addresses()?;
        let broadcast_threshold = conf::broadcast_threshold(
            self.conf
                .get(conf::AUTO_BROADCAST_JOIN_THRESHOLD)
                .map(String::as_str),
        )?;
        let expr_settings = conf::expr_settings(&self.conf)?;
        let progress_settings = conf::progress_settings(&self.conf)?;
        let ui = crate::ui::UiConfig::from_conf(&self.conf)?;
        let streams = StreamingQueryManager::default();
        // The UI runs in the leader process only: the other processes of a cluster have no
        // driver to show.
        let ui_address = if cluster.is_leader_process() {
            streams.serve_ui(&ui)
        } else {
            None
        };
        Ok(Session {
            inner: Arc::new(SessionInner {
                app_name: self.app_name.unwrap_or_else(|| "tidewater".into()),
                cluster,
                conf: self.conf,
                broadcast_threshold,
                expr_settings,
                memory_tables: Mutex::default(),
                views: Mutex::default(),
                streams,
                progress_settings,
                ui_address,
            }),
        })
    }
}
