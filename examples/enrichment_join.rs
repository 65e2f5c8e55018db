//! Flights enriched with the weather at their airport, a table that changes while the query
//! runs: delay alerts per airport and condition, corrected when the weather changes.
//!
//! ```text
//! cargo run --release --example enrichment_join                 # generated data; ends by itself
//! cargo run --release --example enrichment_join -- --socket --flights-port 9998 --weather-port 9999
//! ```
//!
//! The weather is an upsert table keyed by airport: each new row for an airport replaces the
//! previous one. A flight counts as at risk when it is delayed by `--min-delay` minutes or more
//! and its airport's weather is storm, snow or fog. When the weather at an airport changes,
//! its flights move from one condition to another: the counts are corrected, not appended.
//!
//! With `--socket`, flights are read as `flight,airport,delay` lines and weather as
//! `airport,condition` lines, each from its own server (`nc -lk 9998`, `nc -lk 9999`); the
//! query ends when both servers close their connections.

use clap::Parser;
use tidewater::prelude::*;

/// Counts flights at risk of delay per airport and weather condition.
#[derive(Parser, Debug)]
struct Args {
    /// Read both streams from sockets instead of generating them.
    #[arg(long)]
    socket: bool,
    /// The servers' host (with `--socket`).
    #[arg(long, default_value = "localhost")]
    host: String,
    /// The port of the flights server (with `--socket`).
    #[arg(long, default_value_t = 9998)]
    flights_port: u16,
    /// The port of the weather server (with `--socket`).
    #[arg(long, default_value_t = 9999)]
    weather_port: u16,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// complete or update.
    #[arg(long, default_value = "complete")]
    output_mode: String,
    /// Minutes of delay from which a flight counts.
    #[arg(long, default_value_t = 20)]
    min_delay: i64,
    /// Generated data: the number of rounds (a weather change, then a burst of flights).
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    /// Generated data: flights per round.
    #[arg(long, default_value_t = 30)]
    flights_per_round: usize,
    /// Generated data: the seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

const AIRPORTS: [&str; 5] = ["AMS", "CDG", "JFK", "LHR", "OSL"];
const CONDITIONS: [&str; 5] = ["clear", "rain", "storm", "snow", "fog"];

fn flights_schema() -> Schema {
    Schema::new([
        Field::new("flight", DataType::String),
        Field::new("airport", DataType::String),
        Field::new("delay", DataType::Int64),
    ])
}

fn weather_schema() -> Schema {
    Schema::new([
        Field::new("airport", DataType::String),
        Field::new("condition", DataType::String),
    ])
}

/// At-risk flights per airport and condition.
fn alerts(flights: &DataFrame, weather: &DataFrame, min_delay: i64) -> Result<DataFrame> {
    let weather = weather.as_upsert_table(&["airport"])?;
    flights
        .filter(col("delay").gt_eq(lit(min_delay)))?
        .join(&weather, &["airport"], "inner")?
        .filter(col("condition").is_in([lit("storm"), lit("snow"), lit("fog")]))?
        .group_by([col("airport"), col("condition")])
        .agg([
            count(col("*")).alias("at_risk"),
            max(col("delay")).alias("worst_delay"),
        ])
}

/// A small deterministic generator (SplitMix64), so every run prints the same batches.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Generated data: every airport's weather first, then per round a weather change at a few
/// airports followed by a burst of flights, each round one epoch or more.
fn run_generated(spark: &Session, args: &Args) -> anyhow::Result<()> {
    let flights_in = MemoryStream::new(flights_schema());
    let weather_in = MemoryStream::new(weather_schema());
    let flights = spark.read_stream().memory(&flights_in);
    let weather = spark.read_stream().memory(&weather_in);
    let query = alerts(&flights, &weather, args.min_delay)?
        .write_stream()
        .output_mode(&args.output_mode)
        .format("console")
        .start()?;
    let mut rng = Seeded(args.seed);
    weather_in.add_data(AIRPORTS.iter().map(|a| row![*a, rng.pick(&CONDITIONS)]));
    query.process_all_available()?;
    let mut number = 0;
    for _ in 0..args.rounds {
        let changes = 1 + rng.below(2);
        weather_in.add_data((0..changes).map(|_| row![rng.pick(&AIRPORTS), rng.pick(&CONDITIONS)]));
        query.process_all_available()?;
        flights_in.add_data((0..args.flights_per_round).map(|_| {
            number += 1;
            let delay = rng.below(60) as i64;
            row![format!("TW{number:04}"), rng.pick(&AIRPORTS), delay]
        }));
        query.process_all_available()?;
    }
    flights_in.end();
    weather_in.end();
    query.await_termination()?;
    Ok(())
}

/// Both streams from sockets, as CSV lines of their schemas.
fn run_sockets(spark: &Session, args: &Args) -> anyhow::Result<()> {
    let read = |port: u16, schema: Schema| {
        spark
            .read_stream()
            .format("socket")
            .option("host", &args.host)
            .option("port", port)
            .schema(schema)
            .load()
    };
    let flights = read(args.flights_port, flights_schema())?;
    let weather = read(args.weather_port, weather_schema())?;
    let query = alerts(&flights, &weather, args.min_delay)?
        .write_stream()
        .output_mode(&args.output_mode)
        .format("console")
        .start()?;
    query.await_termination()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spark = Session::builder()
        .app_name("EnrichmentJoin")
        .cluster(args.cluster.config())
        .get_or_create()?;
    if args.socket {
        run_sockets(&spark, &args)
    } else {
        run_generated(&spark, &args)
    }
}
