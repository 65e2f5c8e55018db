//! The Kafka source and sink against a real Kafka-protocol broker (see `tests/common/kafka.rs`
//! for where the broker comes from), cross-checked with kafka-python.

mod common;

use common::kafka::{self, Record};
use common::*;
use tidewater::prelude::*;

/// The broker helper itself: what kafka-python writes, kafka-python reads back whole, in
/// order, with keys, values and headers.
#[test]
fn the_test_broker_round_trips_records_through_an_independent_client() {
    let topic = kafka::topic("roundtrip");
    kafka::create_topic(&topic, 2);
    let records: Vec<Record> = (0..6)
        .map(|i| Record {
            partition: i % 2,
            key: Some(format!("k{i}")),
            value: Some(format!("v{i}")),
            headers: vec![("h".into(), format!("x{i}"))],
        })
        .collect();
    kafka::produce(&topic, &records, true);
    let read = kafka::consume_all(&topic);
    // Offsets count from 0 within each partition, in write order.
    let mut next = [0i64; 2];
    let mut expected: Vec<(Record, i64)> = records
        .iter()
        .map(|r| {
            let offset = next[r.partition as usize];
            next[r.partition as usize] += 1;
            (r.clone(), offset)
        })
        .collect();
    expected.sort_by_key(|(r, offset)| (r.partition, *offset));
    assert_eq!(read, expected);
}

/// A session with `workers` workers.
fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

/// A Kafka stream over `topic` with `options` besides the broker and the subscription.
fn kafka_stream(spark: &Session, topic: &str, options: &[(&str, &str)]) -> DataFrame {
    let mut reader = spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
        .option("subscribe", topic);
    for (k, v) in options {
        reader = reader.option(k, v);
    }
    reader.load().expect("the kafka source loads")
}

/// The word count of Spark's guide over Kafka values.
fn word_count(lines: DataFrame) -> DataFrame {
    lines
        .select([explode(split(col("value").cast(DataType::String), " ")).alias("word")])
        .expect("select")
        .group_by([col("word")])
        .count()
        .expect("count")
}

/// The end of each partition's log, as the source plans with it, after batches of several
/// records: the high watermark that fetches report, not ListOffsets' "latest" (which the test
/// broker gets wrong after a multi-record batch). Counted independently: kafka-python wrote
/// the records, one batch per partition.
#[test]
fn end_offsets_are_planned_from_the_high_watermark_after_multi_record_batches() {
    let topic = kafka::topic("ends");
    kafka::create_topic(&topic, 3);
    let sizes = [7usize, 0, 12];
    for (partition, &n) in sizes.iter().enumerate() {
        let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
        if n > 0 {
            kafka::produce_values(&topic, partition as i32, &values);
        }
    }
    let settings = tidewater::connectors::kafka::options::ClientSettings {
        bootstrap: vec![kafka::broker().bootstrap.clone()],
        client_id: None,
        retry_deadline: std::time::Duration::from_secs(10),
    };
    for (partition, &n) in sizes.iter().enumerate() {
        let settings = settings.clone();
        let topic = topic.clone();
        let bounds = tidewater::connectors::kafka::client::block_on(async move {
            let connection = tidewater::connectors::kafka::client::Connection::get(&settings).await?;
            connection
                .bounds(&topic, partition as i32, None)
                .await
                .map_err(|e| e.to_string())
        })
        .expect("bounds");
        assert_eq!(bounds, (0, n as i64), "partition {partition}");
    }
}

/// Lines spread over a 3-partition topic, each partition written in batches.
fn lines_in_topic(topic: &str, lines: &[String]) {
    kafka::create_topic(topic, 3);
    for partition in 0..3 {
        let part: Vec<String> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == partition)
            .map(|(_, l)| l.clone())
            .collect();
        for chunk in part.chunks(40) {
            kafka::produce_values(topic, partition as i32, chunk);
        }
    }
}

#[test]
fn a_word_count_over_three_partitions_equals_the_reference_with_one_and_two_workers() {
    let topic = kafka::topic("words");
    let lines = word_lines(17, 600);
    lines_in_topic(&topic, &lines);
    let expected = reference_counts(&lines);
    for workers in [1, 2] {
        let spark = session(workers);
        let counts = word_count(kafka_stream(&spark, &topic, &[("startingOffsets", "earliest")]));
        let ran = run_to_end(
            counts
                .write_stream()
                .output_mode("complete")
                .trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let last = ran.batch_rows().pop().expect("a batch");
        assert_eq!(counts_of(&last), expected, "{workers} worker(s)");
    }
}
