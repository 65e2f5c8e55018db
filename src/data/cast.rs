//! Conversions between value types, with Spark's non-ANSI rules.

use std::sync::atomic::{AtomicU64, Ordering};

use super::datetime::{date_of_days, days_of_date, parse_date, parse_timestamp, timestamp_text, Zone};
use super::{DataType, Decimal, Value};

/// Casts with Spark's non-ANSI rules, times read and written in UTC: text that does not parse
/// becomes null.
pub fn cast(v: Value, to: &DataType) -> Value {
    cast_in(v, to, &Zone::utc())
}

/// Casts with Spark's non-ANSI rules in the session time zone `zone`, which is how text
/// becomes a TIMESTAMP (`'2024-01-01 10:00'` is 10:00 there), how a TIMESTAMP becomes text or a
/// DATE (its wall-clock time there), and how a DATE becomes a TIMESTAMP (its midnight there).
/// Text that does not parse becomes null; `'3.7'` as BIGINT is 3.
pub fn cast_in(v: Value, to: &DataType, zone: &Zone) -> Value {
    const MICROS: i64 = 1_000_000;
    match (v, to) {
        (Value::Null, _) => Value::Null,
        (v, DataType::String) => match v {
            Value::Str(s) => Value::Str(s),
            Value::Binary(bytes) => decode_utf8(&bytes),
            v => Value::from(text_in(&v, zone)),
        },
        (Value::Binary(bytes), DataType::Binary) => Value::Binary(bytes),
        (Value::Str(s), DataType::Binary) => Value::binary(s.as_bytes()),
        // Spark: a BIGINT is its 8 bytes, big-endian.
        (Value::Int(i), DataType::Binary) => Value::binary(i.to_be_bytes()),
        (Value::Str(s), DataType::Int64) => text_to_long(&s).map_or(Value::Null, Value::Int),
        (Value::Str(s), DataType::Float64) => parse_double(&s).map_or(Value::Null, Value::Float),
        (Value::Str(s), DataType::Boolean) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" => Value::Bool(true),
            "false" | "f" | "no" | "n" | "0" => Value::Bool(false),
            _ => Value::Null,
        },
        (Value::Str(s), DataType::Timestamp) => {
            parse_timestamp(&s, zone).map_or(Value::Null, Value::Timestamp)
        }
        (Value::Str(s), DataType::Date) => parse_date(&s).map_or(Value::Null, Value::Date),
        (Value::Int(i), DataType::Int64) => Value::Int(i),
        (Value::Int(i), DataType::Float64) => Value::Float(i as f64),
        (Value::Int(i), DataType::Boolean) => Value::Bool(i != 0),
        (Value::Int(i), DataType::Timestamp) => Value::Timestamp(i.saturating_mul(MICROS)),
        (Value::Float(f), DataType::Int64) => Value::Int(f.trunc() as i64),
        (Value::Float(f), DataType::Float64) => Value::Float(f),
        (Value::Float(f), DataType::Boolean) => Value::Bool(f != 0.0),
        (Value::Float(f), DataType::Timestamp) if f.is_nan() || f.is_infinite() => Value::Null,
        (Value::Float(f), DataType::Timestamp) => Value::Timestamp((f * MICROS as f64) as i64),
        (Value::Bool(b), DataType::Boolean) => Value::Bool(b),
        (Value::Bool(b), DataType::Int64) => Value::Int(i64::from(b)),
        (Value::Bool(b), DataType::Float64) => Value::Float(f64::from(u8::from(b))),
        (Value::Bool(b), DataType::Timestamp) => Value::Timestamp(i64::from(b)),
        (Value::Timestamp(t), DataType::Timestamp) => Value::Timestamp(t),
        (Value::Timestamp(t), DataType::Int64) => Value::Int(t.div_euclid(MICROS)),
        (Value::Timestamp(t), DataType::Float64) => Value::Float(t as f64 / MICROS as f64),
        (Value::Timestamp(t), DataType::Date) => zone
            .local(t)
            .map_or(Value::Null, |local| Value::Date(days_of_date(local.date()))),
        (Value::Date(d), DataType::Date) => Value::Date(d),
        (Value::Date(d), DataType::Timestamp) => date_of_days(d)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map_or(Value::Null, |midnight| Value::Timestamp(zone.instant(midnight))),
        (v, DataType::Decimal { precision, scale }) => to_decimal(v, *precision, *scale),
        (Value::Decimal(d), DataType::Int64) => Value::Int(d.to_i64()),
        (Value::Decimal(d), DataType::Float64) => Value::Float(d.to_f64()),
        (Value::Decimal(d), DataType::Boolean) => Value::Bool(!d.is_zero()),
        // Spark: the seconds since the epoch, the fraction truncated to the microsecond.
        (Value::Decimal(d), DataType::Timestamp) => {
            let (unscaled, scale) = (d.unscaled(), u32::from(d.scale()));
            let micros = if scale <= 6 {
                10i128
                    .checked_pow(6 - scale)
                    .and_then(|f| unscaled.checked_mul(f))
            } else {
                10i128.checked_pow(scale - 6).map(|f| unscaled / f)
            };
            micros
                .and_then(|m| i64::try_from(m).ok())
                .map_or(Value::Null, Value::Timestamp)
        }
        (v @ Value::Array(_), DataType::Array(_)) | (v @ Value::Struct(_), DataType::Struct(_)) => v,
        _ => Value::Null,
    }
}

/// A value as `DECIMAL(precision, scale)` by Spark's non-ANSI rules: HALF_UP to the scale,
/// null when the number does not fit the precision or the text does not parse; a double's
/// shortest decimal text is what is rounded (`CAST(2.675 AS DECIMAL(3, 2))` is 2.68); a
/// boolean is 1 or 0.
fn to_decimal(v: Value, precision: u8, scale: u8) -> Value {
    let d = match v {
        Value::Decimal(d) => d.rescale(precision, scale),
        Value::Int(i) => Decimal::from_i128(i128::from(i), 0, precision, scale),
        Value::Float(f) => Decimal::from_f64(f, precision, scale),
        Value::Bool(b) => Decimal::from_i128(i128::from(b), 0, precision, scale),
        Value::Str(s) => Decimal::parse(&s, precision, scale),
        // Spark goes through the double of the seconds since the epoch.
        Value::Timestamp(t) => Decimal::from_f64(t as f64 / 1e6, precision, scale),
        _ => None,
    };
    d.map_or(Value::Null, Value::Decimal)
}

/// Spark's `try_cast`: the cast, but null wherever ANSI mode would fail, which for text to
/// BIGINT means anything but an integer (`try_cast('3.7' AS BIGINT)` is null while the
/// non-ANSI cast gives 3), and for DOUBLE to BIGINT a value out of range.
pub fn try_cast_in(v: Value, to: &DataType, zone: &Zone) -> Value {
    match (&v, to) {
        (Value::Str(s), DataType::Int64) => s.trim().parse::<i64>().map_or(Value::Null, Value::Int),
        (Value::Float(f), DataType::Int64)
            if !(*f >= -9.223_372_036_854_776e18 && *f < 9.223_372_036_854_776e18) =>
        {
            Value::Null
        }
        _ => cast_in(v, to, zone),
    }
}

/// Text to a BIGINT by Spark's non-ANSI cast rule: surrounding white space and control
/// characters are ignored, then an optional sign, digits, and optionally a `.` followed by
/// digits only, which are dropped (`'3.7'` is 3, `'-3.7'` is -3). Anything else, an exponent
/// (`'1e3'`) included, is not a number, and a value outside the BIGINT range is null rather
/// than saturated (`'99999999999999999999'`).
pub fn text_to_long(text: &str) -> Option<i64> {
    let t = text.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let (negative, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // Accumulated negatively, so that i64::MIN, one further from zero than i64::MAX, fits.
    let mut value: i64 = 0;
    for b in whole.bytes() {
        value = value.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
    }
    if negative {
        Some(value)
    } else {
        value.checked_neg()
    }
}

/// Text to a double as Spark reads it: Java's forms, with `Infinity`, `-Infinity` and `NaN`
/// spelt out, and surrounding spaces ignored.
fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim();
    match t {
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        // Rust also reads `inf` and `nan`, which Java does not.
        _ if t
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !matches!(b, b'e' | b'E' | b'd' | b'D' | b'f' | b'F')) =>
        {
            None
        }
        _ => t.trim_end_matches(['d', 'D', 'f', 'F']).parse().ok(),
    }
}

/// The text of a value as Spark's `CAST(x AS STRING)` writes it in `zone`: doubles as Java
/// prints them (`1.0E10`), timestamps with their fraction (`2024-01-01 10:00:00.5`), dates as
/// `2024-02-29`, decimals with their scale (`1.50`, and `1E-7` below 10^-6, as Java's
/// `BigDecimal.toString`), arrays as `[a, null, c]`, structs as `{1, x}`, binary as its UTF-8 text.
pub fn text_in(v: &Value, zone: &Zone) -> String {
    match v {
        Value::Timestamp(t) => timestamp_text(*t, zone),
        Value::Str(s) => s.to_string(),
        Value::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        // Spark's non-ANSI cast prints Java's BigDecimal.toString (`1.50`, `1E-7`).
        Value::Decimal(d) => d.to_java_string(),
        Value::Array(items) | Value::Struct(items) => {
            let (open, close) = if matches!(v, Value::Array(_)) {
                ('[', ']')
            } else {
                ('{', '}')
            };
            let mut out = String::new();
            out.push(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&text_in(item, zone));
            }
            out.push(close);
            out
        }
        v => v.to_string(),
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

    #[test]
    fn casts_follow_sparks_non_ansi_rules() {
        let s = |t: &str| Value::str(t);
        assert_eq!(cast(s("3.7"), &DataType::Int64), Value::Int(3));
        assert_eq!(cast(s(" -3.7 "), &DataType::Int64), Value::Int(-3));
        assert_eq!(cast(s("3."), &DataType::Int64), Value::Int(3));
        assert_eq!(
            cast(s("99999999999999999999"), &DataType::Int64),
            Value::Null,
            "out of range is null, not saturated"
        );
        assert_eq!(
            cast(s("-9223372036854775808"), &DataType::Int64),
            Value::Int(i64::MIN)
        );
        assert_eq!(cast(s("9223372036854775808"), &DataType::Int64), Value::Null);
        assert_eq!(cast(s("1e3"), &DataType::Int64), Value::Null, "no exponent");
        assert_eq!(cast(s("3.x"), &DataType::Int64), Value::Null);
        assert_eq!(cast(s("-"), &DataType::Int64), Value::Null);
        assert_eq!(cast(s("1e400"), &DataType::Float64), Value::Float(f64::INFINITY));
        assert_eq!(
            cast(s("-1e400"), &DataType::Float64),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(try_cast_in(s("3.7"), &DataType::Int64, &Zone::utc()), Value::Null);
        assert_eq!(
            try_cast_in(s(" 42 "), &DataType::Int64, &Zone::utc()),
            Value::Int(42)
        );
        assert_eq!(
            try_cast_in(Value::Float(1e19), &DataType::Int64, &Zone::utc()),
            Value::Null
        );
        assert_eq!(
            cast(Value::Float(1e19), &DataType::Int64),
            Value::Int(i64::MAX),
            "Java's (long) saturates"
        );
        assert_eq!(cast(s("1e3"), &DataType::Float64), Value::Float(1000.0));
        assert_eq!(
            cast(s("inf"), &DataType::Float64),
            Value::Null,
            "Java spells it Infinity"
        );
        assert_eq!(
            cast(s("-Infinity"), &DataType::Float64),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(cast(Value::Float(1e10), &DataType::String), s("1.0E10"));
        assert_eq!(cast(s("2024-02-29"), &DataType::Date), Value::Date(19782));
        assert_eq!(cast(Value::Date(19782), &DataType::String), s("2024-02-29"));
        assert_eq!(
            cast(Value::Date(-1), &DataType::Timestamp),
            Value::Timestamp(-86_400_000_000)
        );
        // 1969-12-31 23:59:59.999999 is still the last day of 1969.
        assert_eq!(cast(Value::Timestamp(-1), &DataType::Date), Value::Date(-1));
        assert_eq!(
            cast(Value::Timestamp(-1), &DataType::String),
            s("1969-12-31 23:59:59.999999")
        );
        let tokyo = Zone::parse("Asia/Tokyo").expect("a region");
        assert_eq!(
            cast_in(Value::Timestamp(0), &DataType::String, &tokyo),
            s("1970-01-01 09:00:00")
        );
        assert_eq!(
            cast_in(s("1970-01-01 09:00:00"), &DataType::Timestamp, &tokyo),
            Value::Timestamp(0)
        );
        let nested = Value::Array(
            vec![
                Value::Int(1),
                Value::Null,
                Value::Struct(vec![Value::Float(0.5), s("x")].into()),
            ]
            .into(),
        );
        assert_eq!(cast(nested, &DataType::String), s("[1, null, {0.5, x}]"));
    }

    #[test]
    fn decimals_cast_as_spark_without_ansi() {
        let s = |t: &str| Value::str(t);
        let dec = |precision, scale| DataType::Decimal { precision, scale };
        let text = |v: Value| cast(v, &DataType::String);
        // Text: HALF_UP to the scale, null when it does not parse or does not fit.
        assert_eq!(text(cast(s("1.5"), &dec(10, 2))), s("1.50"));
        assert_eq!(text(cast(s(" 2.345 "), &dec(10, 2))), s("2.35"));
        assert_eq!(text(cast(s("-2.345"), &dec(10, 2))), s("-2.35"));
        assert_eq!(text(cast(s("-2.344"), &dec(10, 2))), s("-2.34"));
        assert_eq!(text(cast(s("1.2e2"), &dec(5, 1))), s("120.0"));
        assert_eq!(cast(s("abc"), &dec(10, 2)), Value::Null);
        assert_eq!(cast(s("12345.6"), &dec(5, 2)), Value::Null);
        // BIGINT: exact, or null when the whole part has too many digits.
        assert_eq!(text(cast(Value::Int(-42), &dec(5, 2))), s("-42.00"));
        assert_eq!(cast(Value::Int(1000), &dec(5, 2)), Value::Null);
        // DOUBLE: its shortest text, HALF_UP; NaN is null.
        assert_eq!(text(cast(Value::Float(0.125), &dec(3, 2))), s("0.13"));
        assert_eq!(text(cast(Value::Float(-0.125), &dec(3, 2))), s("-0.13"));
        assert_eq!(cast(Value::Float(f64::NAN), &dec(3, 2)), Value::Null);
        assert_eq!(cast(Value::Float(f64::INFINITY), &dec(3, 2)), Value::Null);
        // BOOLEAN both ways.
        assert_eq!(text(cast(Value::Bool(true), &dec(3, 1))), s("1.0"));
        let one_and_a_half = cast(s("1.5"), &dec(2, 1));
        assert_eq!(
            cast(one_and_a_half.clone(), &DataType::Boolean),
            Value::Bool(true)
        );
        assert_eq!(
            cast(cast(s("0.00"), &dec(3, 2)), &DataType::Boolean),
            Value::Bool(false)
        );
        // Out: BIGINT truncates toward zero, DOUBLE is the nearest.
        assert_eq!(
            cast(cast(s("-1.99"), &dec(3, 2)), &DataType::Int64),
            Value::Int(-1)
        );
        assert_eq!(
            cast(one_and_a_half.clone(), &DataType::Float64),
            Value::Float(1.5)
        );
        // DECIMAL to DECIMAL: HALF_UP; overflow null.
        assert_eq!(text(cast(s("9.95"), &dec(3, 1))), s("10.0"));
        assert_eq!(cast(cast(s("9.95"), &dec(3, 2)), &dec(2, 1)), Value::Null);
        assert_eq!(text(cast(s("0.05"), &dec(3, 2))), s("0.05"));
        // A timestamp is its seconds; 1.5 s after the epoch.
        assert_eq!(
            cast(one_and_a_half, &DataType::Timestamp),
            Value::Timestamp(1_500_000)
        );
        assert_eq!(text(cast(Value::Timestamp(-1_500_000), &dec(4, 1))), s("-1.5"));
        assert_eq!(cast(Value::Null, &dec(4, 1)), Value::Null);
        assert_eq!(text(cast(s("0.0000001"), &dec(8, 7))), s("1E-7"));
        assert_eq!(
            try_cast_in(s("1.25"), &dec(2, 1), &Zone::utc()),
            cast(s("1.3"), &dec(2, 1))
        );
    }
}
