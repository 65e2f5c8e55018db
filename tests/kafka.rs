//! The Kafka source and sink against a real Kafka-protocol broker (see `tests/common/kafka.rs`
//! for where the broker comes from), cross-checked with kafka-python.

mod common;

use common::kafka::{self, Record};

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
