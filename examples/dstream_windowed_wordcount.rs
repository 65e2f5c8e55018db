//! Spark Streaming's `reduceByKeyAndWindow` word count: the counts of a sliding window, from a
//! socket.
//!
//! ```text
//! nc -lk 9999                                                               # terminal 1
//! cargo run --release --example dstream_windowed_wordcount -- --port 9999   # terminal 2
//! ```
//! Every `--slide-ms` (default: every batch of `--batch-ms`, 1000) prints the counts of the words
//! that arrived in the last `--window-ms` (default 3 batches), every key, in Spark's format,
//! kept up to date with an inverse function: words entering the window are added, words
//! leaving it subtracted. Ends when the server closes the connection. Cluster run (same command
//! in each process, with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

mod dstream_common;

use std::time::Duration;

use clap::Parser;
use dstream_common::StreamArgs;

/// Counts the words of a sliding window over a socket.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    stream: StreamArgs,
    /// The window's length in milliseconds (default: 3 batches).
    #[arg(long)]
    window_ms: Option<u64>,
    /// How often the window is printed, in milliseconds (default: every batch).
    #[arg(long)]
    slide_ms: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let batch_ms = args.stream.batch_ms;
    let window = Duration::from_millis(args.window_ms.unwrap_or(3 * batch_ms));
    let slide = Duration::from_millis(args.slide_ms.unwrap_or(batch_ms));
    let (ssc, words) = args.stream.words("WindowedNetworkWordCount")?;
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
