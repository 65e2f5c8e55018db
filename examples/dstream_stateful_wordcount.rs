//! Spark Streaming's `StatefulNetworkWordCount`: running word counts, from a socket.
//!
//! ```text
//! nc -lk 9999                                                               # terminal 1
//! cargo run --release --example dstream_stateful_wordcount -- --port 9999   # terminal 2
//! ```
//! Every batch (`--batch-ms`, default 1000) prints the count of every word seen so far (kept
//! with `update_state_by_key`), every key, in Spark's format. Ends when the server closes the
//! connection. Cluster run (same command in each process, with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

mod dstream_common;

use clap::Parser;
use dstream_common::StreamArgs;

/// Keeps running counts of the words read from a socket.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    stream: StreamArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (ssc, words) = args.stream.words("StatefulNetworkWordCount")?;
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
