//! Sessions of clicks: Spark's `session_window` example. Each user's clicks that come within
//! the gap of one another form one session; a session is written once, with its clicks and
//! pages, when the watermark shows that no later click can extend it.
//!
//! ```text
//! cargo run --release --example click_sessions                  # generated data; ends by itself
//! cargo run --release --example click_sessions -- --gap "45 seconds" --workers 2
//! ```
//!
//! The same query in SQL:
//!
//! ```sql
//! CREATE STREAM clicks (user STRING, page STRING, ts TIMESTAMP,
//!                       WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE) USING ...;
//! SELECT user, session_window(ts, '30 seconds') AS session, count(*) AS clicks,
//!        collect_set(page) AS pages
//! FROM clicks GROUP BY user, session_window(ts, '30 seconds');
//! ```

use clap::Parser;
use tidewater::functions::{col, collect_set, count, session_window};
use tidewater::prelude::*;

/// Counts generated clicks by user session.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// The gap that ends a session.
    #[arg(long, default_value = "30 seconds")]
    gap: String,
    /// How late a click may be (the watermark's delay).
    #[arg(long, default_value = "1 minute")]
    delay: String,
    /// Epochs of generated clicks.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Generated data: the seed.
    #[arg(long, default_value_t = 3)]
    seed: u64,
}

/// A small deterministic generator (SplitMix64), so every run prints the same batches.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

const SECOND: i64 = 1_000_000;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("ClickSessions")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let clicks_in = MemoryStream::new(Schema::new([
        Field::new("user", DataType::String),
        Field::new("page", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]));
    let sessions = spark
        .read_stream()
        .memory(&clicks_in)
        .with_watermark("ts", &args.delay)?
        .group_by([col("user"), session_window(col("ts"), &args.gap)])
        .agg([
            count(col("*")).alias("clicks"),
            collect_set(col("page")).alias("pages"),
        ])?;
    let query = sessions
        .write_stream()
        .output_mode("append")
        .format("console")
        .option("truncate", "false")
        .start()?;
    let mut rng = Seeded(args.seed);
    let users = ["ann", "bob", "cy", "dee"];
    let pages = ["home", "search", "item", "cart", "pay"];
    // Event time moves 20 s an epoch; each user clicks now and then, so some sessions run on
    // across epochs and others end when a user pauses.
    for round in 0..args.rounds as i64 {
        let base = 1_767_225_600 * SECOND + round * 20 * SECOND;
        let mut clicks = Vec::new();
        for user in users {
            if rng.below(4) == 0 {
                continue;
            }
            for _ in 0..=rng.below(3) {
                let page = pages[rng.below(pages.len() as u64) as usize];
                let at = base + rng.below(20) as i64 * SECOND;
                clicks.push(row![user, page, Value::Timestamp(at)]);
            }
        }
        clicks_in.add_data(clicks);
        query.process_all_available()?;
    }
    clicks_in.end();
    query.await_termination()?;
    Ok(())
}
