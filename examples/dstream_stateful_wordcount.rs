//! Spark Streaming's `StatefulNetworkWordCount`: running word counts, from a socket.
//!
//! ```text
//! nc -lk 9999                                                              # terminal 1
//! cargo run --release --example dstream_stateful_wordcount -- --port 9999   # terminal 2
//! ```
//! Every batch (`--batch-ms`, default 1000) prints the count of every word seen so far (kept
//! with `update_state_by_key`), every key, in Spark's format. Ends when the server closes the
//! connection. Cluster run (same command in each process, with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

use std::time::Duration;

use clap::Parser;
use tidewater::dstream::{StreamingConfig, StreamingContext};
use tidewater::runtime::ClusterConfig;

/// Keeps running counts of the words read from a socket.
#[derive(Parser, Debug)]
struct Args {
    /// The server to read lines from.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// The server's port.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// The batch interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    batch_ms: u64,
    /// Worker threads per process.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Processes in a cluster run.
    #[arg(long, default_value_t = 1)]
    processes: usize,
    /// This process's index in a cluster run.
    #[arg(long, default_value_t = 0)]
    process: usize,
    /// One host:port per process.
    #[arg(long)]
    hostfile: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cluster = ClusterConfig {
        workers: args.workers,
        processes: args.processes,
        process: args.process,
        hostfile: args.hostfile.clone(),
    };
    let conf = StreamingConfig::new()
        .app_name("StatefulNetworkWordCount")
        .cluster(cluster);
    let ssc = StreamingContext::new(conf, Duration::from_millis(args.batch_ms))?;

    let lines = ssc.socket_text_stream(&args.host, args.port);
    let words = lines.flat_map(|line: String| {
        line.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    });
    let running_counts =
        words
            .map(|word| (word, 1u64))
            .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
            });
    running_counts.print_n(usize::MAX);

    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
