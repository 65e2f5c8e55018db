//! Spark Streaming's `NetworkWordCount`: each batch's word counts, from a socket.
//!
//! ```text
//! nc -lk 9999                                                              # terminal 1
//! cargo run --release --example dstream_network_wordcount -- --port 9999   # terminal 2
//! ```
//! Every batch (`--batch-ms`, default 1000) prints the counts of the words that arrived in it,
//! every key, in Spark's format. Ends when the server closes the connection. Cluster run (same
//! command in each process, with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

mod dstream_common;

use clap::Parser;
use dstream_common::StreamArgs;

/// Counts the words of each batch read from a socket.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    stream: StreamArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (ssc, words) = args.stream.words("NetworkWordCount")?;
    let word_counts = words.map(|word| (word, 1u64)).reduce_by_key(|a, b| a + b);
    word_counts.print_n(usize::MAX);
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
