//! Spark's `StructuredNetworkWordCountWindowed`: word counts in sliding windows of the time
//! each line was read.
//!
//! ```text
//! nc -lk 9999                                                          # terminal 1
//! cargo run --release --example windowed_wordcount -- --port 9999      # terminal 2
//! ```
//! Lines come from a socket with `includeTimestamp`, so every word carries the time its line
//! was read. Counts are kept per word in windows of `--window` (default `10 seconds`) starting
//! every `--slide` (default `5 seconds`), so each word counts in two windows, and the whole
//! table prints every epoch (complete mode). With `--watermark DELAY` (e.g. `"10 seconds"`) the
//! query runs in append mode instead: each window prints once, when the watermark has passed
//! its end. Ends when the server closes the connection.

use clap::Parser;
use tidewater::prelude::*;

/// Counts words in sliding event-time windows.
#[derive(Parser, Debug)]
struct Args {
    /// The server to read lines from.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// The server's port.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// The windows' length.
    #[arg(long, default_value = "10 seconds")]
    window: String,
    /// How often a window starts.
    #[arg(long, default_value = "5 seconds")]
    slide: String,
    /// Declare a watermark of this delay and print each window once, in append mode.
    #[arg(long)]
    watermark: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Rows the console shows per batch.
    #[arg(long, default_value_t = 20)]
    num_rows: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("StructuredNetworkWordCountWindowed")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let lines = spark
        .read_stream()
        .format("socket")
        .option("host", &args.host)
        .option("port", args.port)
        .option("includeTimestamp", true)
        .load()?;
    let mut words = lines.select([explode(split(col("value"), " ")).alias("word"), col("timestamp")])?;
    let mode = match &args.watermark {
        Some(delay) => {
            words = words.with_watermark("timestamp", delay)?;
            "append"
        }
        None => "complete",
    };
    let windowed_counts = words
        .group_by([
            sliding_window(col("timestamp"), &args.window, &args.slide),
            col("word"),
        ])
        .count()?;
    let query = windowed_counts
        .write_stream()
        .output_mode(mode)
        .format("console")
        .option("truncate", false)
        .option("numRows", args.num_rows)
        .start()?;
    query.await_termination()?;
    Ok(())
}
