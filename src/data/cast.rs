//! Conversions between value types, with Spark's non-ANSI rules.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDate, NaiveDateTime};

use super::{DataType, Value};

/// Casts with Spark's non-ANSI rules: text that does not parse becomes null.
pub fn cast(v: Value, to: &DataType) -> Value {
    const MICROS: i64 = 1_000_000;
    match (v, to) {
        (Value::Null, _) => Value::Null,
        (v, DataType::String) => match v {
            Value::Str(s) => Value::Str(s),
            Value::Binary(bytes) => decode_utf8(&bytes),
            v => Value::from(v.to_string()),
        },
        (Value::Binary(bytes), DataType::Binary) => Value::Binary(bytes),
        (Value::Str(s), DataType::Binary) => Value::binary(s.as_bytes()),
        // Spark: a BIGINT is its 8 bytes, big-endian.
        (Value::Int(i), DataType::Binary) => Value::binary(i.to_be_bytes()),
        (Value::Str(s), DataType::Int64) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| {
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .map(|f| f.trunc() as i64)
                })
                .map_or(Value::Null, Value::Int)
        }
        (Value::Str(s), DataType::Float64) => s.trim().parse::<f64>().map_or(Value::Null, Value::Float),
        (Value::Str(s), DataType::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "0" => Value::Bool(false),
            _ => Value::Null,
        },
        (Value::Str(s), DataType::Timestamp) => {
            parse_timestamp(s.trim()).map_or(Value::Null, Value::Timestamp)
        }
        (Value::Int(i), DataType::Int64) => Value::Int(i),
        (Value::Int(i), DataType::Float64) => Value::Float(i as f64),
        (Value::Int(i), DataType::Boolean) => Value::Bool(i != 0),
        (Value::Int(i), DataType::Timestamp) => Value::Timestamp(i.saturating_mul(MICROS)),
        (Value::Float(f), DataType::Int64) => Value::Int(f.trunc() as i64),
        (Value::Float(f), DataType::Float64) => Value::Float(f),
        (Value::Float(f), DataType::Boolean) => Value::Bool(f != 0.0),
        (Value::Float(f), DataType::Timestamp) => Value::Timestamp((f * MICROS as f64) as i64),
        (Value::Bool(b), DataType::Boolean) => Value::Bool(b),
        (Value::Bool(b), DataType::Int64) => Value::Int(i64::from(b)),
        (Value::Bool(b), DataType::Float64) => Value::Float(f64::from(u8::from(b))),
        (Value::Timestamp(t), DataType::Timestamp) => Value::Timestamp(t),
        (Value::Timestamp(t), DataType::Int64) => Value::Int(t.div_euclid(MICROS)),
        (Value::Timestamp(t), DataType::Float64) => Value::Float(t as f64 / MICROS as f64),
        _ => Value::Null,
    }
}

/// Invalid UTF-8 bytes that casts to STRING have replaced, in this process.
static INVALID_UTF8_BYTES: AtomicU64 = AtomicU64::new(0);

/// How many invalid UTF-8 bytes `CAST(binary AS STRING)` has replaced with U+FFFD so far, in
/// this process: a Kafka value that is not text shows up here (and in a warning) instead of
/// failing the query or vanishing.
pub fn invalid_utf8_bytes() -> u64 {
    INVALID_UTF8_BYTES.load(Ordering::Relaxed)
}

/// Decodes bytes as UTF-8, as Spark's cast does: each invalid sequence becomes U+FFFD. The
/// invalid bytes are counted, and a warning is logged when the count reaches a power of two
/// (so a stream of bad values logs a few lines, not one per value).
fn decode_utf8(bytes: &[u8]) -> Value {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Value::str(text);
    }
    let invalid: u64 = bytes.utf8_chunks().map(|c| c.invalid().len() as u64).sum();
    let before = INVALID_UTF8_BYTES.fetch_add(invalid, Ordering::Relaxed);
    let after = before + invalid;
    if before == 0 || after.ilog2() > before.ilog2() {
        tracing::warn!(
            invalid_utf8_bytes = after,
            "CAST(binary AS STRING) replaced invalid UTF-8 with U+FFFD ({after} invalid bytes so far)"
        );
    }
    Value::from(String::from_utf8_lossy(bytes).into_owned())
}

/// Parses `yyyy-MM-dd`, `yyyy-MM-dd HH:mm:ss[.fraction]` or the same with a `T`, as UTC.
fn parse_timestamp(s: &str) -> Option<i64> {
    let datetime = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })?;
    Some(datetime.and_utc().timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_string_cast_both_ways_replacing_and_counting_invalid_bytes() {
        let hello = cast(Value::str("héllo"), &DataType::Binary);
        assert_eq!(hello.as_bytes(), Some("héllo".as_bytes()));
        assert_eq!(cast(hello, &DataType::String), Value::str("héllo"));
        let before = invalid_utf8_bytes();
        // 0xff alone and a truncated two-byte sequence (0xc3): two invalid sequences, 2 bytes.
        let bad = Value::binary([b'a', 0xff, b'b', 0xc3]);
        assert_eq!(cast(bad, &DataType::String), Value::str("a\u{fffd}b\u{fffd}"));
        assert!(invalid_utf8_bytes() >= before + 2);
        assert_eq!(
            cast(Value::Int(258), &DataType::Binary).as_bytes(),
            Some(&[0, 0, 0, 0, 0, 0, 1, 2][..])
        );
        assert_eq!(cast(Value::Null, &DataType::Binary), Value::Null);
    }
}
