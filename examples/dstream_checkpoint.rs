//! Spark Streaming's `RecoverableNetworkWordCount`: running word counts from a socket that
//! survive a restart, with `StreamingContext::get_or_create` and a checkpoint.
//!
//! ```text
//! nc -lk 9999                                                                      # terminal 1
//! cargo run --release --example dstream_checkpoint -- --port 9999 --checkpoint ck  # terminal 2
//! ```
//! Type words in terminal 1: every batch (`--batch-ms`, default 1000) prints the count of every
//! word seen so far. Stop the example (Ctrl-C, or kill it) and start it again with the same
//! `--checkpoint`: the counts go on from where they were, every line that entered a batch
//! counted once. A batch that was running when the example stopped runs again with the same
//! lines and the same batch time, so it may be printed twice (printing is at-least-once); an
//! output that writes files or rows would replace it by its time (`foreach_rdd`'s `time`).
//!
//! The graph is built by the same closure on the first run and on every restart; a closure
//! that built another graph would be refused (`CHECKPOINT_FOREIGN`).

mod dstream_common;

use std::path::PathBuf;

use clap::Parser;
use dstream_common::StreamArgs;
use tidewater::dstream::StreamingContext;

/// Keeps running counts of the words read from a socket, in a checkpoint.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    stream: StreamArgs,
    /// The checkpoint directory: where the counts and the batches' offsets are kept.
    #[arg(long, default_value = "dstream-checkpoint")]
    checkpoint: PathBuf,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let create = || -> tidewater::Result<StreamingContext> {
        let (ssc, words) = args.stream.words("RecoverableNetworkWordCount")?;
        let running_counts =
            words
                .map(|word| (word, 1u64))
                .update_state_by_key(|new: &[u64], total: Option<&u64>| {
                    Some(total.copied().unwrap_or(0) + new.iter().sum::<u64>())
                });
        running_counts.foreach_rdd(|counts, time| {
            println!("Counts at time {time}: {counts:?}");
        });
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(&args.checkpoint, create)?;
    ssc.start()?;
    ssc.await_termination()?;
    Ok(())
}
