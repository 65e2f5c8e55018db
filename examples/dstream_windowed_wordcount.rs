//! Spark Streaming's `reduceByKeyAndWindow` word count: the counts of a sliding window, from a
//! socket.
//!
//! ```text
//! nc -lk 9999                                                              # terminal 1
//! cargo run --release --example dstream_windowed_wordcount -- --port 9999  # terminal 2
//! ```
//! Every `--slide-ms` (default: every batch of `--batch-ms`, 1000) prints the counts of the words
//! that arrived in the last `--window-ms` (default 3 batches), every key, in Spark's format,
//! kept up to date with an inverse function: words entering the window are added, words
//! leaving it subtracted. Ends when the server closes the connection. Cluster run (same
//! command in each process, with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

use std::time::Duration;

use clap::Parser;
use tidewater::dstream::{StreamingConfig, StreamingContext};
use tidewater::runtime::ClusterConfig;

/// Counts the words of a sliding window over a socket.
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
    /// The window's length in milliseconds (default: 3 batches).
    #[arg(long)]
    window_ms: Option<u64>,
    /// How often the window is printed, in milliseconds (default: every batch).
    #[arg(long)]
    slide_ms: Option<u64>,
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
        .app_name("WindowedNetworkWordCount")
        .cluster(cluster);
    let ssc = StreamingContext::new(conf, Duration::from_millis(args.batch_ms))?;

    let lines = ssc.socket_text_stream(&args.host, args.port);
    let words = lines.flat_map(|line: String| {
        line.split(' ')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    });
    let window = Duration::from_millis(args.window_ms.unwrap_or(3 * args.batch_ms));
    let slide = Duration::from_millis(args.slide_ms.unwrap_or(args.batch_ms));
    let window_counts = words.map(|word| (word, 1u64)).reduce_by_key_and_window_inv(
        |a, b| a + b,
        |a, b| a - b,
        window,
        slide,
    )?;
    window_counts.print_n(usize::MAX);

    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
