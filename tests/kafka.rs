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
fn a_word_count_over_three_partitions_equals_the_reference_with_one_two_and_four_workers() {
    let topic = kafka::topic("words");
    let lines = word_lines(17, 600);
    lines_in_topic(&topic, &lines);
    let expected = reference_counts(&lines);
    for workers in [1, 2, 4] {
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

/// `(partition, offset, value as text)` of each row of a query over `kafka_rows`.
fn records_of(rows: &[Row]) -> Vec<(i64, i64, String)> {
    let mut records: Vec<(i64, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_i64().expect("partition"),
                r[1].as_i64().expect("offset"),
                r[2].as_str().expect("value").to_string(),
            )
        })
        .collect();
    records.sort();
    records
}

/// The records of a Kafka stream as `(partition, offset, value)` rows.
fn kafka_rows(stream: DataFrame) -> DataFrame {
    stream
        .select([
            col("partition"),
            col("offset"),
            col("value").cast(DataType::String).alias("value"),
        ])
        .expect("select")
}

/// Values `{prefix}{i}` for `i` in `range`, written to `partition` in one batch.
fn write_values(topic: &str, partition: i32, prefix: &str, range: std::ops::Range<usize>) {
    let values: Vec<String> = range.map(|i| format!("{prefix}{i}")).collect();
    kafka::produce_values(topic, partition, &values);
}

/// Spark's rule, worked by hand: 10 offsets waiting (6, 3 and 1 in three partitions) and at
/// most 5 an epoch. The first epoch's shares are 5 * 6/10 = 3, 5 * 3/10 = 1.5 -> 1 and
/// 5 * 1/10 = 0.5 -> 1 (a share below one rounds up); the second takes the 5 left.
#[test]
fn max_offsets_per_trigger_splits_the_backlog_into_the_expected_epochs() {
    let topic = kafka::topic("rate");
    kafka::create_topic(&topic, 3);
    for (partition, n) in [(0, 6), (1, 3), (2, 1)] {
        write_values(&topic, partition, &format!("p{partition}-"), 0..n);
    }
    for workers in [1, 2] {
        let spark = session(workers);
        let stream = kafka_stream(
            &spark,
            &topic,
            &[("startingOffsets", "earliest"), ("maxOffsetsPerTrigger", "5")],
        );
        let ran = run_to_end(
            kafka_rows(stream)
                .write_stream()
                .trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let epochs: Vec<Vec<(i64, i64)>> = ran
            .batch_rows()
            .iter()
            .map(|rows| records_of(rows).into_iter().map(|(p, o, _)| (p, o)).collect())
            .filter(|e: &Vec<(i64, i64)>| !e.is_empty())
            .collect();
        assert_eq!(
            epochs,
            vec![
                vec![(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)],
                vec![(0, 3), (0, 4), (0, 5), (1, 1), (1, 2)],
            ],
            "{workers} worker(s)"
        );
        // Spark's lag metrics: after the first epoch the partitions are 3, 2 and 0 offsets
        // behind their ends; after the second, none is.
        let behind: Vec<Vec<String>> = ran
            .query
            .recent_progress()
            .iter()
            .filter(|p| p.num_input_rows > 0)
            .map(|p| {
                let m = &p.sources[0].metrics;
                [
                    "minOffsetsBehindLatest",
                    "maxOffsetsBehindLatest",
                    "avgOffsetsBehindLatest",
                    "totalOffsetsBehindLatest",
                ]
                .iter()
                .map(|k| m.get(*k).cloned().unwrap_or_default())
                .collect()
            })
            .collect();
        assert_eq!(
            behind,
            [["0", "3", "1.7", "5"], ["0", "0", "0.0", "0"]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn starting_offsets_as_json_start_each_partition_where_it_says() {
    let topic = kafka::topic("json");
    kafka::create_topic(&topic, 2);
    write_values(&topic, 0, "a", 0..5);
    write_values(&topic, 1, "b", 0..4);
    let starting = format!(r#"{{"{topic}":{{"0":3,"1":-2}}}}"#);
    let spark = session(2);
    let stream = kafka_stream(&spark, &topic, &[("startingOffsets", &starting)]);
    let ran = run_to_end(
        kafka_rows(stream)
            .write_stream()
            .trigger(Trigger::available_now()),
        Feed::Nothing,
    );
    let expected: Vec<(i64, i64, String)> = [
        (0, 3, "a3"),
        (0, 4, "a4"),
        (1, 0, "b0"),
        (1, 1, "b1"),
        (1, 2, "b2"),
        (1, 3, "b3"),
    ]
    .into_iter()
    .map(|(p, o, v)| (p, o, v.to_string()))
    .collect();
    assert_eq!(records_of(&ran.rows()), expected);
}

/// `latest` (the default) skips what was there when the query started and reads what comes
/// after; a topic matching `subscribePattern` that is created while the query runs is read
/// from its start.
#[test]
fn latest_skips_the_backlog_and_a_pattern_picks_up_a_topic_created_while_running() {
    let prefix = kafka::topic("pattern");
    let first = format!("{prefix}-a");
    kafka::create_topic(&first, 1);
    write_values(&first, 0, "old", 0..3);
    let spark = session(2);
    let stream = spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
        .option("subscribePattern", format!("{prefix}-.*"))
        .load()
        .expect("load");
    let rows = stream
        .select([
            col("topic"),
            col("offset"),
            col("value").cast(DataType::String).alias("value"),
        ])
        .expect("select");
    let collected = Collected::default();
    let query = collected.attach(rows.write_stream()).start().expect("start");
    query.process_all_available().expect("the backlog is skipped");
    write_values(&first, 0, "new", 0..2);
    let second = format!("{prefix}-b");
    kafka::create_topic(&second, 1);
    write_values(&second, 0, "b", 0..2);
    query.process_all_available().expect("new records are read");
    query.stop().expect("stop");
    let mut seen: Vec<(String, i64, String)> = collected
        .batches()
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| {
            (
                r[0].as_str().expect("topic").to_string(),
                r[1].as_i64().expect("offset"),
                r[2].as_str().expect("value").to_string(),
            )
        })
        .collect();
    seen.sort();
    let expected = vec![
        (first.clone(), 3, "new0".to_string()),
        (first.clone(), 4, "new1".to_string()),
        (second.clone(), 0, "b0".to_string()),
        (second.clone(), 1, "b1".to_string()),
    ];
    assert_eq!(seen, expected);
}

/// Runs `(partition, offset, value)` over `topic` to the end of what is there, with a
/// checkpoint in `checkpoint` and `options`; the rows, or the query's error.
fn checkpointed_run(
    topic: &str,
    checkpoint: &std::path::Path,
    options: &[(&str, &str)],
) -> Result<Vec<(i64, i64, String)>> {
    let spark = session(2);
    let mut all = vec![("startingOffsets", "earliest")];
    all.extend_from_slice(options);
    let collected = Collected::default();
    let query = collected
        .attach(
            kafka_rows(kafka_stream(&spark, topic, &all))
                .write_stream()
                .trigger(Trigger::available_now())
                .option("checkpointLocation", checkpoint.display()),
        )
        .start()?;
    await_within(&query, "the checkpointed run")?;
    Ok(records_of(
        &collected
            .batches()
            .into_iter()
            .flat_map(|(_, rows)| rows)
            .collect::<Vec<_>>(),
    ))
}

fn values(partition: i64, prefix: &str, offsets: std::ops::Range<i64>) -> Vec<(i64, i64, String)> {
    offsets.map(|o| (partition, o, format!("{prefix}{o}"))).collect()
}

/// A restarted query goes on from the offsets its checkpoint logged (`startingOffsets` is for
/// the first run only); when those offsets are gone (the topic was deleted and made again with
/// fewer records), `failOnDataLoss` (the default) fails it with a clear error, and
/// `failOnDataLoss=false` goes on from the new log's start.
#[test]
fn a_restart_resumes_from_the_checkpoint_and_lost_offsets_fail_unless_told_otherwise() {
    let topic = kafka::topic("loss");
    kafka::create_topic(&topic, 1);
    write_values(&topic, 0, "v", 0..5);
    let dir = tempfile::tempdir().expect("tempdir");
    let checkpoint = dir.path().join("ck");
    assert_eq!(
        checkpointed_run(&topic, &checkpoint, &[]).expect("first run"),
        values(0, "v", 0..5)
    );
    write_values(&topic, 0, "v", 5..8);
    assert_eq!(
        checkpointed_run(&topic, &checkpoint, &[]).expect("second run"),
        values(0, "v", 5..8),
        "only what came after the first run"
    );

    kafka::delete_topic(&topic);
    kafka::create_topic(&topic, 1);
    write_values(&topic, 0, "w", 0..2);
    let error = checkpointed_run(&topic, &checkpoint, &[]).expect_err("offsets 8.. are gone");
    let message = error.to_string();
    assert_eq!(error.code(), "SOURCE_FAILED", "{message}");
    assert!(
        message.contains(&format!("partition {topic}-0")) && message.contains("failOnDataLoss"),
        "{message}"
    );
    assert_eq!(
        checkpointed_run(&topic, &checkpoint, &[("failOnDataLoss", "false")]).expect("goes on"),
        values(0, "w", 0..2)
    );
}

/// A broker that dies under a running query fails it with an error that says what happened,
/// after the client's retries (`kafka.request.timeout.ms`), instead of hanging it.
#[test]
fn a_broker_killed_mid_run_fails_the_query_with_a_clear_error() {
    let mut broker = kafka::PrivateBroker::start();
    let topic = kafka::topic("dies");
    let create = r#"
import json, sys
from kafka.admin import KafkaAdminClient, NewTopic
from kafka import KafkaProducer
a = json.load(sys.stdin)
KafkaAdminClient(bootstrap_servers=a["server"]).create_topics([NewTopic(a["topic"], 1, 1)])
p = KafkaProducer(bootstrap_servers=a["server"])
for i in range(3):
    p.send(a["topic"], value=b"x", partition=0)
p.flush()
print("null")
"#;
    kafka::python(
        create,
        serde_json::json!({"server": broker.bootstrap, "topic": topic}),
    );
    let spark = session(1);
    let stream = spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &broker.bootstrap)
        .option("subscribe", &topic)
        .option("startingOffsets", "earliest")
        .option("kafka.request.timeout.ms", "2000")
        .load()
        .expect("load");
    let collected = Collected::default();
    let query = collected
        .attach(kafka_rows(stream).write_stream())
        .start()
        .expect("start");
    query.process_all_available().expect("the first records are read");
    assert_eq!(collected.batches().iter().map(|(_, r)| r.len()).sum::<usize>(), 3);
    broker.kill();
    let started = std::time::Instant::now();
    let error = await_within(&query, "the query after its broker died").expect_err("the query fails");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let message = error.to_string();
    assert_eq!(error.code(), "SOURCE_FAILED", "{message}");
    assert!(
        message.contains("KafkaV2") && message.contains(&topic),
        "{message}"
    );
}

/// Writes `input`'s rows to `topic` with the Kafka sink, one epoch per entry of `epochs`.
fn write_to_kafka(
    workers: usize,
    topic: &str,
    epochs: Vec<Vec<Row>>,
    mode: &str,
    df: impl Fn(DataFrame) -> DataFrame,
    schema: Schema,
) {
    let spark = session(workers);
    let input = MemoryStream::new(schema);
    let query = df(spark.read_stream().memory(&input))
        .write_stream()
        .output_mode(mode)
        .format("kafka")
        .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
        .option("topic", topic)
        .start()
        .expect("the kafka sink starts");
    for rows in epochs {
        input.add_data(rows);
        query.process_all_available().expect("the epoch is written");
    }
    input.end();
    await_within(&query, "the kafka sink query").expect("succeeds");
}

fn key_value_schema() -> Schema {
    Schema::new([
        Field::new("key", DataType::String),
        Field::new("value", DataType::String),
    ])
}

/// What the sink wrote, read back by kafka-python, is exactly the rows written: the same
/// multiset of keys and values, each keyed record in the partition the Java producer's
/// partitioner gives its key (computed by kafka-python), and tagged with its epoch.
#[test]
fn the_sinks_records_read_back_independently_are_exactly_the_rows_written() {
    for workers in [1, 2] {
        let topic = kafka::topic("sink");
        kafka::create_topic(&topic, 3);
        let mut rng = Seeded::new(5 + workers as u64);
        let epochs: Vec<Vec<Row>> = (0..3)
            .map(|epoch| {
                (0..40)
                    .map(|i| {
                        let key = match rng.below(5) {
                            0 => Value::Null,
                            k => Value::from(format!("key-{k}-{}", rng.below(7))),
                        };
                        Row::from(vec![key, Value::from(format!("e{epoch}-{i}"))])
                    })
                    .collect()
            })
            .collect();
        let mut expected: Vec<(Option<String>, String)> = epochs
            .iter()
            .flatten()
            .map(|r| {
                (
                    r[0].as_str().map(String::from),
                    r[1].as_str().expect("value").to_string(),
                )
            })
            .collect();
        expected.sort();
        write_to_kafka(workers, &topic, epochs, "append", |df| df, key_value_schema());
        let read = kafka::consume_all(&topic);
        let mut got: Vec<(Option<String>, String)> = read
            .iter()
            .map(|(r, _)| (r.key.clone(), r.value.clone().expect("a value")))
            .collect();
        got.sort();
        assert_eq!(got, expected, "{workers} worker(s)");
        let keyed: Vec<&(Record, i64)> = read.iter().filter(|(r, _)| r.key.is_some()).collect();
        let keys: Vec<String> = keyed.iter().map(|(r, _)| r.key.clone().expect("key")).collect();
        let java = kafka::java_partitions(&keys, 3);
        for ((record, _), partition) in keyed.iter().zip(java) {
            assert_eq!(record.partition, partition, "key {:?}", record.key);
        }
        for (record, _) in &read {
            let epoch = record
                .headers
                .iter()
                .find(|(k, _)| k == "tidewater.epoch")
                .map(|(_, v)| v.clone());
            let value = record.value.as_deref().expect("value");
            assert_eq!(epoch.as_deref(), Some(&value[1..2]), "{record:?}");
        }
    }
}

/// Update mode writes each changed count keyed by its word: the last record of each key, read
/// back, is the word's count in the reference.
#[test]
fn update_mode_leaves_the_latest_count_of_every_word_as_its_last_keyed_record() {
    let topic = kafka::topic("updates");
    kafka::create_topic(&topic, 2);
    let lines = word_lines(23, 90);
    let epochs: Vec<Vec<Row>> = lines
        .chunks(30)
        .map(|c| {
            c.iter()
                .map(|l| Row::from(vec![Value::from(l.as_str())]))
                .collect()
        })
        .collect();
    write_to_kafka(
        2,
        &topic,
        epochs,
        "update",
        |df| {
            df.select([explode(split(col("value"), " ")).alias("word")])
                .expect("select")
                .group_by([col("word")])
                .count()
                .expect("count")
                .select([
                    col("word").alias("key"),
                    col("count").cast(DataType::String).alias("value"),
                ])
                .expect("select")
        },
        Schema::new([Field::new("value", DataType::String)]),
    );
    let mut last: std::collections::BTreeMap<String, i64> = Default::default();
    for (record, _) in kafka::consume_all(&topic) {
        let count = record.value.expect("value").parse().expect("a count");
        last.insert(record.key.expect("keyed"), count);
    }
    assert_eq!(last, reference_counts(&lines));
}

/// Keyed input over 3 partitions for the Kafka -> Kafka job: `(key, value)` with values
/// unique, so that a duplicate or a loss shows.
fn keyed_input(topic: &str, n: usize) -> Vec<(String, String)> {
    kafka::create_topic(topic, 3);
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            partition: (i % 3) as i32,
            key: Some(format!("k{}", i % 7)),
            value: Some(format!("v{i}")),
            headers: vec![],
        })
        .collect();
    kafka::produce(topic, &records, true);
    records
        .into_iter()
        .map(|r| (r.key.expect("key"), r.value.expect("value").to_uppercase()))
        .collect()
}

/// A folder with `job.sql`: Kafka -> upper-cased values -> Kafka, 20 offsets an epoch.
fn kafka_job(input: &str, output: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let bootstrap = &kafka::broker().bootstrap;
    std::fs::write(
        dir.path().join("job.sql"),
        format!(
            "CREATE STREAM src USING kafka OPTIONS (kafka.bootstrap.servers '{bootstrap}', subscribe '{input}', \
               startingOffsets 'earliest', maxOffsetsPerTrigger '20');
             CREATE SINK out USING kafka OPTIONS ('kafka.bootstrap.servers' '{bootstrap}', topic '{output}');
             INSERT INTO out SELECT key, upper(CAST(value AS STRING)) AS value FROM src;"
        ),
    )
    .expect("job.sql");
    dir
}

fn sorted_pairs(records: &[(Record, i64)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = records
        .iter()
        .map(|(r, _)| (r.key.clone().expect("key"), r.value.clone().expect("value")))
        .collect();
    pairs.sort();
    pairs
}

/// Kafka -> Kafka killed (as by kill -9) at every point of an epoch, on 1 or 2 workers, then
/// resumed on the other count: every output record is there exactly once. A kill inside the
/// sink leaves the epoch partly written; the rerun finishes it without writing twice.
#[test]
fn kafka_to_kafka_killed_anywhere_and_resumed_writes_every_record_exactly_once() {
    let input = kafka::topic("eo-in");
    let mut expected = keyed_input(&input, 60);
    expected.sort();
    for point in CRASH_POINTS {
        for workers in [1, 2] {
            let output = kafka::topic("eo-out");
            kafka::create_topic(&output, 2);
            let dir = kafka_job(&input, &output);
            let killed = run_checkpointed(dir.path(), workers, Some(&format!("{point}:1")));
            assert!(
                !killed.status.success(),
                "{point}: the run should have been killed: {}",
                String::from_utf8_lossy(&killed.stderr)
            );
            let before = kafka::consume_all(&output).len();
            if point == "in-sink" {
                assert!(
                    before > 20 && before < 40,
                    "killed inside the sink, epoch 1 is partly written: {before} records"
                );
            }
            let resumed = run_checkpointed(dir.path(), 3 - workers, None);
            assert!(
                resumed.status.success(),
                "{point}: {}",
                String::from_utf8_lossy(&resumed.stderr)
            );
            assert_eq!(
                sorted_pairs(&kafka::consume_all(&output)),
                expected,
                "killed at {point}:1 on {workers} worker(s), resumed on {}",
                3 - workers
            );
        }
    }
}

/// The word count over a 3-partition topic as two processes (two workers each): the same
/// counts as the reference, printed by process 0 only.
#[test]
fn a_word_count_over_kafka_on_two_processes_equals_the_reference() {
    let topic = kafka::topic("words2p");
    let lines = word_lines(31, 450);
    lines_in_topic(&topic, &lines);
    let script = format!(
        "CREATE STREAM lines USING kafka OPTIONS (kafka.bootstrap.servers '{}', subscribe '{topic}', startingOffsets 'earliest');
         SELECT word, count(*) AS count FROM (SELECT explode(split(CAST(value AS STRING), ' ')) AS word FROM lines) t GROUP BY word;",
        kafka::broker().bootstrap
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = dir.path().join("hosts.txt");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .expect("hostfile");
    let process = |index: usize| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
            .args([
                "run",
                "--trigger",
                "availableNow",
                "-e",
                &script,
                "--workers",
                "2",
                "--processes",
                "2",
            ])
            .args(["--process", &index.to_string(), "--hostfile"])
            .arg(&hostfile)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let second = process(1);
    let first = finish(process(0), "process 0");
    let second = finish(second, "process 1");
    for (output, name) in [(&first, "process 0"), (&second, "process 1")] {
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert_eq!(last_console_table(&stdout), reference_counts(&lines));
    assert!(!String::from_utf8_lossy(&second.stdout).contains("Batch:"));
}

/// A sink whose broker dies retries with backoff, then fails the query with an error naming
/// the sink and the batch: no record is dropped silently and nothing hangs.
#[test]
fn a_sink_whose_broker_dies_fails_the_query_after_retrying() {
    let mut broker = kafka::PrivateBroker::start();
    let topic = kafka::topic("sink-dies");
    let create = r#"
import json, sys
from kafka.admin import KafkaAdminClient, NewTopic
a = json.load(sys.stdin)
KafkaAdminClient(bootstrap_servers=a["server"]).create_topics([NewTopic(a["topic"], 1, 1)])
print("null")
"#;
    kafka::python(
        create,
        serde_json::json!({"server": broker.bootstrap, "topic": topic}),
    );
    let spark = session(1);
    let input = MemoryStream::new(key_value_schema());
    let query = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &broker.bootstrap)
        .option("kafka.request.timeout.ms", "1000")
        .option("topic", &topic)
        .start()
        .expect("start");
    input.add_data([row!["k", "first"]]);
    query.process_all_available().expect("the first epoch is written");
    broker.kill();
    input.add_data([row!["k", "second"]]);
    let started = std::time::Instant::now();
    let error = await_within(&query, "the sink after its broker died").expect_err("the query fails");
    assert!(started.elapsed() < std::time::Duration::from_secs(40));
    let message = error.to_string();
    assert_eq!(error.code(), "SINK_FAILED", "{message}");
    assert!(
        message.contains(&format!("KafkaSink[{topic}]"))
            && message.contains("batch 1")
            && message.contains("attempts"),
        "{message}"
    );
}

/// `examples/kafka_pipeline.rs` against the test broker: files into Kafka, the enrichment join
/// from Kafka to Kafka, each order once with its user; orders of unknown users are dropped.
/// The expected records are the join worked out here from the files the test writes.
#[test]
fn the_kafka_pipeline_example_enriches_every_order_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("users.csv"),
        "user_id,name,city\na,Ann,Oslo\nb,Bob,Rome\n",
    )
    .expect("users");
    std::fs::create_dir(dir.path().join("orders")).expect("mkdir");
    let orders = [
        ("o1", "a", "1.5"),
        ("o2", "b", "2.5"),
        ("o3", "z", "3.5"),
        ("o4", "a", "4.5"),
    ];
    let mut text = String::from("order_id,user_id,amount\n");
    for (order, user, amount) in orders {
        text.push_str(&format!("{order},{user},{amount}\n"));
    }
    std::fs::write(dir.path().join("orders/part-0.csv"), text).expect("orders");
    let (orders_topic, enriched_topic) = (kafka::topic("orders"), kafka::topic("enriched"));
    let exe = std::env::current_exe().expect("test executable");
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .join("examples/kafka_pipeline");
    let child = std::process::Command::new(&example)
        .args(["--bootstrap", &kafka::broker().bootstrap, "--workers", "2"])
        .args([
            "--orders-topic",
            &orders_topic,
            "--enriched-topic",
            &enriched_topic,
            "--dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{} does not run ({e}): cargo test builds the examples",
                example.display()
            )
        });
    let output = finish(child, "the kafka_pipeline example");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let users = [("a", "Ann Oslo"), ("b", "Bob Rome")];
    let mut expected: Vec<(String, String)> = orders
        .iter()
        .filter_map(|(order, user, amount)| {
            let (_, who) = users.iter().find(|(id, _)| id == user)?;
            Some((user.to_string(), format!("{order} {amount} {who}")))
        })
        .collect();
    expected.sort();
    assert_eq!(sorted_pairs(&kafka::consume_all(&enriched_topic)), expected);
    assert_eq!(kafka::consume_all(&orders_topic).len(), orders.len());
}

/// `assign` reads exactly the partitions it names, and `includeHeaders` adds each record's
/// headers as `array<struct<key, value>>`, as kafka-python wrote them.
#[test]
fn assign_reads_only_its_partitions_and_include_headers_adds_the_headers() {
    let topic = kafka::topic("headers");
    kafka::create_topic(&topic, 3);
    let records: Vec<Record> = (0..6)
        .map(|i| Record {
            partition: i % 3,
            key: Some(format!("k{i}")),
            value: Some(format!("v{i}")),
            headers: vec![("origin".into(), format!("o{i}")), ("n".into(), i.to_string())],
        })
        .collect();
    kafka::produce(&topic, &records, true);
    let spark = session(2);
    let stream = spark
        .read_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
        .option("assign", format!(r#"{{"{topic}":[0,2]}}"#))
        .option("startingOffsets", "earliest")
        .option("includeHeaders", true)
        .load()
        .expect("load");
    assert_eq!(
        stream
            .schema()
            .fields()
            .last()
            .map(|f| (f.name.clone(), f.data_type.to_string())),
        Some((
            "headers".to_string(),
            "array<struct<key:string,value:binary>>".to_string()
        ))
    );
    let ran = run_to_end(
        stream
            .select([col("value").cast(DataType::String).alias("value"), col("headers")])
            .expect("select")
            .write_stream()
            .trigger(Trigger::available_now()),
        Feed::Nothing,
    );
    let mut got: Vec<(String, Vec<(String, String)>)> = ran
        .rows()
        .iter()
        .map(|r| {
            let Value::Array(headers) = &r[1] else {
                panic!("headers are an array: {r:?}");
            };
            let mut headers: Vec<(String, String)> = headers
                .iter()
                .map(|h| match h {
                    Value::Struct(kv) => (
                        kv[0].as_str().expect("key").to_string(),
                        String::from_utf8(kv[1].as_bytes().expect("binary").to_vec()).expect("utf-8"),
                    ),
                    other => panic!("a header is a struct: {other:?}"),
                })
                .collect();
            headers.sort();
            (r[0].as_str().expect("value").to_string(), headers)
        })
        .collect();
    got.sort();
    let mut expected: Vec<(String, Vec<(String, String)>)> = records
        .iter()
        .filter(|r| r.partition != 1)
        .map(|r| {
            let mut headers = r.headers.clone();
            headers.sort();
            (r.value.clone().expect("value"), headers)
        })
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}

/// Without the `topic` option, each row's `topic` column says where it goes.
#[test]
fn the_sink_routes_rows_by_their_topic_column() {
    let (a, b) = (kafka::topic("route-a"), kafka::topic("route-b"));
    kafka::create_topic(&a, 1);
    kafka::create_topic(&b, 2);
    let spark = session(2);
    let input = MemoryStream::new(Schema::new([
        Field::new("topic", DataType::String),
        Field::new("value", DataType::String),
    ]));
    let query = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .format("kafka")
        .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
        .start()
        .expect("start");
    let values: Vec<Row> = (0..10)
        .map(|i| {
            let topic = if i % 3 == 0 { &a } else { &b };
            row![topic.as_str(), format!("x{i}")]
        })
        .collect();
    input.add_data(values);
    input.end();
    await_within(&query, "the routed sink").expect("succeeds");
    let values_of = |topic: &str| {
        let mut v: Vec<String> = kafka::consume_all(topic)
            .into_iter()
            .map(|(r, _)| r.value.expect("value"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(values_of(&a), ["x0", "x3", "x6", "x9"]);
    assert_eq!(values_of(&b), ["x1", "x2", "x4", "x5", "x7", "x8"]);
}

/// Kafka -> Kafka with `includeHeaders`: the records' own headers go out again with them,
/// beside the sink's tags (read back by kafka-python).
#[test]
fn headers_read_with_include_headers_are_written_back_out() {
    let (input, output) = (kafka::topic("hdr-in"), kafka::topic("hdr-out"));
    kafka::create_topic(&input, 1);
    kafka::create_topic(&output, 1);
    let records: Vec<Record> = (0..3)
        .map(|i| Record {
            partition: 0,
            key: None,
            value: Some(format!("v{i}")),
            headers: vec![("trace".into(), format!("t{i}"))],
        })
        .collect();
    kafka::produce(&input, &records, true);
    let spark = session(1);
    let query = kafka_stream(
        &spark,
        &input,
        &[("startingOffsets", "earliest"), ("includeHeaders", "true")],
    )
    .select([col("value"), col("headers")])
    .expect("select")
    .write_stream()
    .format("kafka")
    .option("kafka.bootstrap.servers", &kafka::broker().bootstrap)
    .option("topic", &output)
    .trigger(Trigger::available_now())
    .start()
    .expect("start");
    await_within(&query, "the headers query").expect("succeeds");
    let read = kafka::consume_all(&output);
    assert_eq!(read.len(), 3);
    for (record, _) in read {
        let value = record.value.clone().expect("value");
        let trace = record
            .headers
            .iter()
            .find(|(k, _)| k == "trace")
            .map(|(_, v)| v.clone());
        assert_eq!(trace, Some(format!("t{}", &value[1..])), "{record:?}");
        for tag in ["tidewater.query", "tidewater.epoch", "tidewater.seq"] {
            assert!(record.headers.iter().any(|(k, _)| k == tag), "{tag}: {record:?}");
        }
    }
}

/// The `timestamp` column is the record's own timestamp: 10-second windows over it, under a
/// watermark, count the records a hand-made schedule put in each window, whichever partition
/// they came from.
#[test]
fn windows_over_the_record_timestamp_count_what_each_window_holds() {
    let topic = kafka::topic("event-time");
    kafka::create_topic(&topic, 2);
    // Seconds after 2024-01-01 00:00:00 UTC, two partitions interleaved in time.
    let base_ms = 1_704_067_200_000i64;
    let seconds = [1, 4, 9, 12, 15, 19, 23, 25, 31, 39];
    let records: Vec<(i32, String, i64)> = seconds
        .iter()
        .enumerate()
        .map(|(i, s)| ((i % 2) as i32, format!("e{i}"), base_ms + s * 1000))
        .collect();
    kafka::produce_at(&topic, &records);
    for workers in [1, 2] {
        let spark = session(workers);
        let counts = kafka_stream(&spark, &topic, &[("startingOffsets", "earliest")])
            .with_watermark("timestamp", "1 minute")
            .expect("watermark")
            .group_by([window(col("timestamp"), "10 seconds")])
            .count()
            .expect("count");
        let ran = run_to_end(
            counts
                .write_stream()
                .output_mode("complete")
                .trigger(Trigger::available_now()),
            Feed::Nothing,
        );
        let last = ran.batch_rows().pop().expect("a batch");
        let got: Vec<(i64, i64)> = last
            .iter()
            .map(|r| {
                let start = match &r[0] {
                    Value::Struct(w) => match w[0] {
                        Value::Timestamp(t) => (t / 1_000_000) - base_ms / 1000,
                        _ => panic!("a window start"),
                    },
                    other => panic!("a window: {other:?}"),
                };
                (start, r[1].as_i64().expect("count"))
            })
            .collect();
        // 0-10 s: 1, 4, 9; 10-20: 12, 15, 19; 20-30: 23, 25; 30-40: 31, 39.
        assert_eq!(
            got,
            vec![(0, 3), (10, 3), (20, 2), (30, 2)],
            "{workers} worker(s)"
        );
    }
}
