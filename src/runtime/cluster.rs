//! Worker and process configuration, turned into timely's own cluster configuration, and the
//! command-line flags that set it.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where a query's workers run: `workers` threads in each of `processes` processes.
///
/// Multi-process runs use timely's cluster mode: every process runs the same program with the
/// same query, a distinct `process` index, and the same hostfile (one `host:port` per line,
/// process `i` listens on line `i`). Without a hostfile, process `i` uses `localhost:2101+i`.
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
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            workers: 1,
            processes: 1,
            process: 0,
            hostfile: None,
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
}

impl ClusterArgs {
    /// The configuration these flags ask for (checked when a session or context is built).
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

    /// Checks the numbers and reads the hostfile.
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
        Ok(addresses.into_iter().take(self.processes).collect())
    }

    /// The timely configuration for this cluster.
    pub fn timely_config(&self) -> Result<timely::Config> {
        let addresses = self.addresses()?;
        let communication = if self.processes > 1 {
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses,
                report: false,
                zerocopy: false,
            }
        } else if self.workers > 1 {
            timely::CommunicationConfig::Process(self.workers)
        } else {
            timely::CommunicationConfig::Thread
        };
        Ok(timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        })
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
