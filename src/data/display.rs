//! Text forms of doubles and timestamps, as Spark (that is, the JVM) prints them.

use chrono::{DateTime, Datelike, Utc};

/// Formats a double as Java's `Double.toString` does, which is what Spark's `show()` prints:
/// `1.0`, `0.001`, `1.0E7`, `1.5E-4`, `NaN`, `Infinity`. The digits are the shortest that
/// round-trip, as in Java 19 and later.
pub fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let magnitude = x.abs();
    if x == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust's `{:e}` gives `1.5e-4` or `1e7`; Java wants `1.5E-4` and `1.0E7`.
        let s = format!("{x:e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

/// Formats microseconds since the epoch as Spark shows a timestamp in UTC:
/// `2024-01-01 00:00:00`, with a fraction only when there is one (`...:00.25`).
pub fn format_timestamp(micros: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_micros(micros) else {
        return format!("<timestamp {micros}>");
    };
    let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let fraction = micros.rem_euclid(1_000_000);
    if fraction == 0 {
        base
    } else {
        let digits = format!("{fraction:06}");
        format!("{base}.{}", digits.trim_end_matches('0'))
    }
}

/// Formats days since 1970-01-01 as Spark shows a date: `2024-02-29`; years past 9999 get a
/// `+` as Java's ISO format gives them.
pub fn format_date(days: i32) -> String {
    match chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(days))))
    {
        Some(d) if d.year() > 9999 => format!("+{}", d.format("%Y-%m-%d")),
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("<date {days}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        // Expected strings are Java's Double.toString outputs for these values.
        for (x, java) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (0.0, "0.0"),
            (0.001, "0.001"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.5e-4, "1.5E-4"),
            (-3.0e10, "-3.0E10"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(format_double(x), java, "{x}");
        }
    }

    #[test]
    fn timestamps_print_like_spark() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(1_704_067_200_250_000), "2024-01-01 00:00:00.25");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
    }
}
