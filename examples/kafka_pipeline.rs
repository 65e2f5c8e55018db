//! Files into Kafka, then Kafka -> enrichment join -> Kafka, then the result read back from
//! Kafka: a pipeline in three queries, against a running broker.
//!
//! ```text
//! cargo run --release --example kafka_pipeline -- --bootstrap 127.0.0.1:9092
//! cargo run --release --example kafka_pipeline -- --bootstrap 127.0.0.1:9092 --dir work --workers 2
//! ```
//!
//! 1. CSV files of orders (`order_id,user_id,amount`, in `<dir>/orders`, generated when the
//!    folder does not exist) go to the topic `orders`, keyed by user.
//! 2. The `orders` topic is joined with a users table (`<dir>/users.csv`:
//!    `user_id,name,city`) and each order, with its user's name and city, goes to the topic
//!    `enriched`, keyed by user. This query has a checkpoint (`<dir>/checkpoint`): run the
//!    program again with more order files and only the new orders are enriched, each once.
//! 3. The `enriched` topic is printed.
//!
//! Each query reads what is there and ends (`Trigger::available_now()`). The topics are made
//! if missing (3 partitions each).

use std::path::{Path, PathBuf};

use clap::Parser;
use tidewater::connectors::kafka::client::create_topics;
use tidewater::prelude::*;

/// Orders enriched with their users, through Kafka.
#[derive(Parser, Debug)]
struct Args {
    /// The Kafka brokers, host:port[,host:port...].
    #[arg(long, default_value = "127.0.0.1:9092")]
    bootstrap: String,
    /// The folder of the order files, the users table and the checkpoint (default: a
    /// temporary folder).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The topic the orders go to.
    #[arg(long, default_value = "orders")]
    orders_topic: String,
    /// The topic the enriched orders go to.
    #[arg(long, default_value = "enriched")]
    enriched_topic: String,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// Writes a users table and order files, unless the folder has them.
fn generate(dir: &Path) -> std::io::Result<()> {
    if !dir.join("users.csv").exists() {
        std::fs::write(
            dir.join("users.csv"),
            "user_id,name,city\nu1,Ann,Oslo\nu2,Bob,Rome\nu3,Cy,Lima\nu4,Dee,Kyiv\n",
        )?;
    }
    let orders = dir.join("orders");
    if !orders.exists() {
        std::fs::create_dir_all(&orders)?;
        for file in 0..3 {
            let mut text = String::from("order_id,user_id,amount\n");
            for i in 0..10 {
                let n = file * 10 + i;
                // u5 has no user row: the inner join drops its orders.
                text.push_str(&format!("o{n:03},u{},{}.50\n", n % 5 + 1, 10 + n));
            }
            std::fs::write(orders.join(format!("orders-{file}.csv")), text)?;
        }
    }
    Ok(())
}

fn main() -> tidewater::Result<()> {
    let args = Args::parse();
    let temporary = tempfile_dir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temporary.clone());
    std::fs::create_dir_all(&dir).map_err(|e| Error::InvalidOption(format!("{}: {e}", dir.display())))?;
    generate(&dir).map_err(|e| Error::InvalidOption(format!("{}: {e}", dir.display())))?;
    create_topics(
        &args.bootstrap,
        &[(&args.orders_topic, 3), (&args.enriched_topic, 3)],
    )?;
    let spark = Session::builder()
        .app_name("KafkaPipeline")
        .cluster(args.cluster.config())
        .get_or_create()?;

    // 1. Files -> Kafka.
    let orders_schema = Schema::new([
        Field::new("order_id", DataType::String),
        Field::new("user_id", DataType::String),
        Field::new("amount", DataType::Float64),
    ]);
    let orders = spark
        .read_stream()
        .schema(orders_schema)
        .option("header", true)
        .csv(&dir.join("orders").display().to_string())?;
    let to_kafka = orders.select([
        col("user_id").alias("key"),
        concat([col("order_id"), lit(" "), col("amount").cast(DataType::String)]).alias("value"),
    ])?;
    to_kafka
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("topic", &args.orders_topic)
        .option("checkpointLocation", dir.join("checkpoint-files").display())
        .trigger(Trigger::available_now())
        .start()?
        .await_termination()?;

    // 2. Kafka -> enrichment join -> Kafka.
    let users = spark
        .read()
        .format("csv")
        .option("header", true)
        .option("path", dir.join("users.csv").display())
        .load()?;
    let enriched = spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("subscribe", &args.orders_topic)
        .option("startingOffsets", "earliest")
        .load()?
        .select([
            col("key").cast(DataType::String).alias("user_id"),
            col("value").cast(DataType::String).alias("order"),
        ])?
        .join(&users, &["user_id"], "inner")?
        .select([
            col("user_id").alias("key"),
            concat([col("order"), lit(" "), col("name"), lit(" "), col("city")]).alias("value"),
        ])?;
    enriched
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("topic", &args.enriched_topic)
        .option("checkpointLocation", dir.join("checkpoint").display())
        .trigger(Trigger::available_now())
        .start()?
        .await_termination()?;

    // 3. What the enriched topic holds.
    spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &args.bootstrap)
        .option("subscribe", &args.enriched_topic)
        .option("startingOffsets", "earliest")
        .load()?
        .select([
            col("partition"),
            col("offset"),
            col("key").cast(DataType::String).alias("user"),
            col("value").cast(DataType::String).alias("order"),
        ])?
        .write_stream()
        .format("console")
        .option("numRows", 1000)
        .option("truncate", false)
        .trigger(Trigger::available_now())
        .start()?
        .await_termination()?;
    Ok(())
}

/// A fresh folder under the system's temporary directory, for runs without `--dir`.
fn tempfile_dir() -> tidewater::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tidewater-kafka-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::InvalidOption(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}
