//! A Kafka record as a row, with Spark's columns: `key`, `value`, `topic`, `partition`,
//! `offset`, `timestamp`, `timestampType` and, with `includeHeaders`, `headers`.

use std::sync::Arc;

use rskafka::record::RecordAndOffset;

use crate::data::{DataType, Field, Row, Schema, Value};

/// The type of the `headers` column: `array<struct<key: string, value: binary>>`.
pub fn headers_type() -> DataType {
    DataType::Array(Box::new(DataType::Struct(vec![
        Field::new("key", DataType::String),
        Field::new("value", DataType::Binary),
    ])))
}

/// The source's schema, as Spark's Kafka source has it. `partition` and `timestampType` are
/// Spark's `int`, here BIGINT (all integers are 64-bit).
pub fn schema(include_headers: bool) -> Schema {
    let mut fields = vec![
        Field::new("key", DataType::Binary),
        Field::new("value", DataType::Binary),
        Field::new("topic", DataType::String).not_null(),
        Field::new("partition", DataType::Int64).not_null(),
        Field::new("offset", DataType::Int64).not_null(),
        Field::new("timestamp", DataType::Timestamp).not_null(),
        Field::new("timestampType", DataType::Int64).not_null(),
    ];
    if include_headers {
        fields.push(Field::new("headers", headers_type()));
    }
    Schema::new(fields)
}

/// One record as a row of [`schema`]. The client does not pass on the batch's timestamp type,
/// so `timestampType` is 0 (CreateTime, what producers set by default).
pub fn to_row(topic: &Value, partition: i32, record: RecordAndOffset, include_headers: bool) -> Row {
    let RecordAndOffset { record, offset } = record;
    let bytes = |b: Option<Vec<u8>>| b.map_or(Value::Null, |b| Value::Binary(Arc::from(b)));
    let mut values = vec![
        bytes(record.key),
        bytes(record.value),
        topic.clone(),
        Value::Int(i64::from(partition)),
        Value::Int(offset),
        Value::Timestamp(record.timestamp.timestamp_micros()),
        Value::Int(0),
    ];
    if include_headers {
        let headers: Vec<Value> = record
            .headers
            .into_iter()
            .map(|(k, v)| Value::Struct(Arc::from([Value::from(k), Value::Binary(Arc::from(v))])))
            .collect();
        values.push(Value::Array(headers.into()));
    }
    Row::from(values)
}
