//! Spark's "StructuredNetworkWordCount", line for line.
//!
//! ```text
//! nc -lk 9999                                   # terminal 1: type lines here
//! cargo run --release --example socket_wordcount -- --port 9999    # terminal 2
//! ```
//! Ends when the server closes the connection. Cluster run (same command in each process,
//! with its own `--process`):
//! `--workers 2 --processes 2 --process 0 --hostfile hosts.txt`

use clap::Parser;
use tidewater::prelude::*;

/// Counts words read from a socket, printing the counts every epoch.
#[derive(Parser, Debug)]
struct Args {
    /// The server to read lines from.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// The server's port.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// complete or update.
    #[arg(long, default_value = "complete")]
    output_mode: String,
    #[command(flatten)]
    cluster: ClusterArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("StructuredNetworkWordCount")
        .cluster(args.cluster.config())
        .get_or_create()?;

    let lines = spark
        .read_stream()
        .format("socket")
        .option("host", &args.host)
        .option("port", args.port)
        .load()?;
    let words = lines.select([explode(split(col("value"), " ")).alias("word")])?;
    let word_counts = words.group_by([col("word")]).count()?;
    let query = word_counts
        .write_stream()
        .output_mode(&args.output_mode)
        .format("console")
        .start()?;
    query.await_termination()?;
    Ok(())
}
