//! Conversions between value types, with Spark's non-ANSI rules.

use chrono::{NaiveDate, NaiveDateTime};

use super::{DataType, Value};

/// Casts with Spark's non-ANSI rules: text that does not parse becomes null.
pub fn cast(v: Value, to: &DataType) -> Value {
    const MICROS: i64 = 1_000_000;
    match (v, to) {
        (Value::Null, _) => Value::Null,
        (v, DataType::String) => match v {
            Value::Str(s) => Value::Str(s),
            v => Value::from(v.to_string()),
        },
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
