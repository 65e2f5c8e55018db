//! Worker and process configuration, turned into timely's own cluster configuration, and the
//! command-line flags that set it.

use std::any::Any;
use std::path::PathBuf;
use std::time::Duration;

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::initialize::Hooks;

use crate::error::{ClusterError, Error, Result};

/// The environment variable that carries the cluster secret, so that it stays out of the
/// process list where `--cluster-secret` would show it.
pub const CLUSTER_SECRET_ENV: &str = "TIDEWATER_CLUSTER_SECRET";

/// How long processes wait for each other at start-up unless told otherwise.
pub const DEFAULT_CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);

/// The secret every process of a cluster shares; peers prove they know it before they get
/// any data. Its `Debug` form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret(String);

impl ClusterSecret {
    /// A secret from its text.
    pub fn new(secret: impl Into<String>) -> Self {
        ClusterSecret(secret.into())
    }
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(..)")
    }
}

impl std::str::FromStr for ClusterSecret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(ClusterSecret::new(s))
    }
}

/// Where a query's workers run: `workers` threads in each of `processes` processes.
///
/// Multi-process runs use timely's cluster mode: every process runs the same program with the
/// same query, a distinct `process` index, and the same hostfile (one `host:port` per line,
/// process `i` listens on line `i`). Without a hostfile, process `i` uses `localhost:2101+i`.
/// Processes authenticate each other with `secret` before any data flows (see
/// `runtime::peers`); it is required when a host is not loopback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Worker threads per process.
    pub workers: usize,
    /// Number of processes.
    pub processes: usize,
    /// This process's index, `0..processes`.
    pub process: usize,
    /// The hostfile, for more than one process.
    pub hostfile: Option<PathBuf>,
    /// The secret the processes prove to each other (none: loopback clusters only).
    pub secret: Option<ClusterSecret>,
    /// How long to wait at start-up for every peer before giving up, naming the missing ones.
    pub timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            workers: 1,
            processes: 1,
            process: 0,
            hostfile: None,
            secret: None,
            timeout: DEFAULT_CLUSTER_TIMEOUT,
        }
    }
}

/// The cluster flags every binary takes (`--workers/-w`, `--processes`, `--process`,
/// `--hostfile`), declared once so that the CLI and every example spell them the same way, as
/// timely gives every program the same flags. Add it to a clap parser with
/// `#[command(flatten)] cluster: ClusterArgs` and turn it into a [`ClusterConfig`] with
/// [`config`](Self::config).
///
/// ```
/// use clap::Parser;
/// use tidewater::runtime::{ClusterArgs, ClusterConfig};
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     cluster: ClusterArgs,
/// }
///
/// let cli = Cli::parse_from(["prog", "-w", "4", "--processes", "2", "--process", "1"]);
/// let config: ClusterConfig = cli.cluster.config();
/// assert_eq!((config.workers, config.processes, config.process), (4, 2, 1));
/// assert_eq!(config.total_workers(), 8);
/// ```
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct ClusterArgs {
    /// Worker threads per process.
    #[arg(long, short = 'w', default_value_t = 1)]
    pub workers: usize,
    /// Number of processes in a cluster run.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// This process's index in a cluster run.
    #[arg(long, default_value_t = 0)]
    pub process: usize,
    /// File with one host:port per process (default: localhost:2101, 2102, ...).
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
    /// The secret the processes of a cluster prove to each other; required when a host is not
    /// loopback. Prefer the TIDEWATER_CLUSTER_SECRET environment variable, which `ps` does not
    /// show.
    #[arg(long, value_name = "SECRET")]
    pub cluster_secret: Option<ClusterSecret>,
    /// Seconds to wait at start-up for every process of the cluster.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_CLUSTER_TIMEOUT.as_secs())]
    pub cluster_timeout: u64,
}

impl ClusterArgs {
    /// The configuration these flags ask for (checked when a session or context is built).
    /// Without `--cluster-secret`, the secret comes from `TIDEWATER_CLUSTER_SECRET` if set.
    pub fn config(&self) -> ClusterConfig {
        self.clone().into()
    }
}

impl From<ClusterArgs> for ClusterConfig {
    fn from(args: ClusterArgs) -> Self {
        ClusterConfig {
            workers: args.workers,
            processes: args.processes,
            process: args.process,
            hostfile: args.hostfile,
            secret: args.cluster_secret.or_else(|| {
                std::env::var(CLUSTER_SECRET_ENV)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .map(ClusterSecret::new)
            }),
            timeout: Duration::from_secs(args.cluster_timeout),
        }
    }
}

impl ClusterConfig {
    /// Total workers across all processes.
    pub fn total_workers(&self) -> usize {
        self.workers * self.processes
    }

    /// True in the process that holds worker 0, which reads single-reader sources and writes
    /// to sinks.
    pub fn is_leader_process(&self) -> bool {
        self.process == 0
    }

    /// The key of the handshake's HMACs: the secret's bytes, or none.
    pub(crate) fn secret_bytes(&self) -> std::sync::Arc<[u8]> {
        self.secret.as_ref().map_or_else(
            || std::sync::Arc::from(&[][..]),
            |s| std::sync::Arc::from(s.0.as_bytes()),
        )
    }

    /// Checks the numbers, reads the hostfile, and checks that a cluster across machines has a
    /// secret.
    pub fn addresses(&self) -> Result<Vec<String>> {
        if self.workers == 0 || self.processes == 0 {
            return Err(Error::InvalidOption(
                "workers and processes must be at least 1".into(),
            ));
        }
        if self.process >= self.processes {
            return Err(Error::InvalidOption(format!(
                "process index {} is out of range for {} process(es); use 0..{}",
                self.process,
                self.processes,
                self.processes - 1
            )));
        }
        let Some(path) = &self.hostfile else {
            return Ok((0..self.processes)
                .map(|i| format!("localhost:{}", 2101 + i))
                .collect());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidOption(format!("cannot read hostfile {}: {e}", path.display())))?;
        let addresses: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        if addresses.len() < self.processes {
            return Err(Error::InvalidOption(format!(
                "hostfile {} lists {} address(es) but {} processes were asked for",
                path.display(),
                addresses.len(),
                self.processes
            )));
        }
        let addresses: Vec<String> = addresses.into_iter().take(self.processes).collect();
        let remote: Vec<&str> = addresses
            .iter()
            .map(String::as_str)
            .filter(|a| !super::peers::is_loopback(a))
            .collect();
        if self.secret.is_none() && !remote.is_empty() {
            let hosts = remote.join(", ");
            return Err(ClusterError::SecretRequired { hosts }.into());
        }
        Ok(addresses)
    }

    /// Timely's communication for this configuration over its `addresses` (as
    /// [`addresses`](Self::addresses) reads them): threads in one process, or, for a
    /// cluster, the sockets that [`peers::form`](super::peers::form) connected and
    /// authenticated, with timely's network threads on them. The second value must live as
    /// long as the workers (it joins the network threads when dropped).
    pub(crate) fn communication(
        &self,
        addresses: &[String],
    ) -> Result<(Vec<AllocatorBuilder>, Box<dyn Any + Send>)> {
        if self.processes == 1 {
            let config = if self.workers > 1 {
                timely::CommunicationConfig::Process(self.workers)
            } else {
                timely::CommunicationConfig::Thread
            };
            return config
                .try_build()
                .map_err(|e| Error::Runtime(format!("could not start the workers: {e}")));
        }
        let sockets = super::peers::form(self, addresses)?;
        let hooks = Hooks::default();
        let local = ProcessBuilder::new_typed_vector(self.workers, hooks.refill.clone(), hooks.spill.clone());
        let (builders, guard) =
            initialize_networking_from_sockets(local, sockets, self.process, self.workers, hooks)
                .map_err(|e| Error::Runtime(format!("could not start the cluster's network threads: {e}")))?;
        Ok((
            builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
            Box::new(guard),
        ))
    }
}

/// The worker threads of Spark's `master` URL: `local` (one), `local[N]`, `local[*]` (one per
/// core). Shared by `Session::builder().master(..)` and `StreamingConfig::master(..)`, which
/// both take Spark's spelling.
pub(crate) fn parse_master(master: &str) -> Result<usize> {
    let bad = || Error::InvalidOption(format!("master `{master}`: use local, local[N] or local[*]"));
    let m = master.trim();
    if m == "local" {
        return Ok(1);
    }
    let inner = m
        .strip_prefix("local[")
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(bad)?;
    if inner == "*" {
        return Ok(std::thread::available_parallelism().map_or(1, |n| n.get()));
    }
    inner.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)
}
