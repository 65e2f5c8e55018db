//! Ad impressions joined with clicks: Spark's stream-stream join example, with watermarks on
//! both streams and a one-minute attribution window.
//!
//! ```text
//! cargo run --release --example ad_attribution                 # generated data; ends by itself
//! cargo run --release --example ad_attribution -- --how inner --workers 2
//! ```
//!
//! A click is attributed to an impression of the same ad shown at most a minute before it:
//! `click_ad = ad AND click_ts BETWEEN imp_ts AND imp_ts + INTERVAL 1 MINUTE`. Impressions may
//! arrive up to 2 minutes late and clicks up to 3 (the watermarks); the join keeps each side's
//! rows only until the watermark shows no row of the other side can still match them, so its
//! state stays bounded however long the streams run. In a LEFT OUTER join (the default) an
//! impression nobody clicked is written with nulls once its minute is behind the watermark.
//! The same query in SQL:
//!
//! ```sql
//! SELECT * FROM impressions i LEFT OUTER JOIN clicks c
//!   ON c.click_ad = i.ad AND c.click_ts BETWEEN i.imp_ts AND i.imp_ts + INTERVAL 1 MINUTE
//! ```

use clap::Parser;
use tidewater::functions::interval;
use tidewater::prelude::*;

/// Joins generated impressions with the clicks they drew.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// inner, left, right, full or left_semi.
    #[arg(long, default_value = "left")]
    how: String,
    /// Epochs of generated data.
    #[arg(long, default_value_t = 8)]
    rounds: usize,
    /// Impressions per epoch.
    #[arg(long, default_value_t = 6)]
    impressions: usize,
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

/// `impressions` joined with `clicks` within a minute, as `how` says.
fn attributed(impressions: &DataFrame, clicks: &DataFrame, how: &str) -> Result<DataFrame> {
    let impressions = impressions.with_watermark("imp_ts", "2 minutes")?;
    let clicks = clicks.with_watermark("click_ts", "3 minutes")?;
    impressions.join_expr(
        &clicks,
        col("click_ad")
            .eq(col("ad"))
            .and(col("click_ts").gt_eq(col("imp_ts")))
            .and(col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))),
        how,
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("AdAttribution")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let impressions_in = MemoryStream::new(Schema::new([
        Field::new("ad", DataType::Int64),
        Field::new("imp_ts", DataType::Timestamp),
    ]));
    let clicks_in = MemoryStream::new(Schema::new([
        Field::new("click_ad", DataType::Int64),
        Field::new("click_ts", DataType::Timestamp),
    ]));
    let joined = attributed(
        &spark.read_stream().memory(&impressions_in),
        &spark.read_stream().memory(&clicks_in),
        &args.how,
    )?;
    let query = joined
        .write_stream()
        .output_mode("append")
        .format("console")
        .option("truncate", "false")
        .start()?;
    let mut rng = Seeded(args.seed);
    // Event time moves 40 s an epoch; a third of the impressions draw a click 0 to 90 s later
    // (after 60 s it no longer counts).
    for round in 0..args.rounds as i64 {
        let base = 1_767_225_600 * SECOND + round * 40 * SECOND;
        let mut impressions = Vec::new();
        let mut clicks = Vec::new();
        for _ in 0..args.impressions {
            let ad = rng.below(5) as i64;
            let shown = base + rng.below(40) as i64 * SECOND;
            impressions.push(row![ad, Value::Timestamp(shown)]);
            if rng.below(3) == 0 {
                let after = rng.below(90) as i64 * SECOND;
                clicks.push(row![ad, Value::Timestamp(shown + after)]);
            }
        }
        impressions_in.add_data(impressions);
        clicks_in.add_data(clicks);
        query.process_all_available()?;
    }
    impressions_in.end();
    clicks_in.end();
    query.await_termination()?;
    if let Some(progress) = query.last_progress() {
        for operator in &progress.state_operators {
            println!(
                "{}: {} rows held, {} removed in the last epoch",
                operator.operator_name, operator.num_rows_total, operator.num_rows_removed
            );
        }
    }
    Ok(())
}
