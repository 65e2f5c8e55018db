//! Spark's interval strings (`10 seconds`, `500 milliseconds`), used by triggers and windows.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest interval accepted: 10,000 years of 365.25 days, in seconds. Every use of an
/// interval (a trigger's period, a window's size, a watermark's delay, a join's bound) then
/// fits in microseconds with room to add it to any timestamp of years 1 to 9999 without
/// overflow; a longer one is a typo, never a useful setting.
pub const MAX_INTERVAL_SECONDS: u64 = 315_576_000_000;

/// Parses `500 milliseconds`, `1 second`, `10 seconds`, `2 minutes`, `1 hour`, `250ms`, `3s`,
/// and a bare number of milliseconds. Negative, not-a-number and longer than
/// [`MAX_INTERVAL_SECONDS`] intervals are errors (`INVALID_OPTION`), never a panic.
pub fn parse_interval(text: &str) -> Result<Duration> {
    let bad = || {
        Error::InvalidOption(format!(
            "`{text}` is not an interval; write e.g. `500 milliseconds`, `1 second`, `2 minutes`"
        ))
    };
    let trimmed = text.trim().to_ascii_lowercase();
    let trimmed = trimmed.strip_prefix("interval").unwrap_or(&trimmed).trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.trim().parse().map_err(|_| bad())?;
    let millis_per_unit = match unit.trim() {
        "" | "ms" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => 1e3,
        "m" | "min" | "mins" | "minute" | "minutes" => 60e3,
        "h" | "hour" | "hours" => 3600e3,
        "d" | "day" | "days" => 86_400e3,
        _ => return Err(bad()),
    };
    if !number.is_finite() || number < 0.0 {
        return Err(bad());
    }
    let seconds = number * millis_per_unit / 1e3;
    // Compared as a double before any conversion: `Duration::from_secs_f64` panics beyond its
    // range, and a duration beyond i64 microseconds wraps where it becomes a time span.
    if seconds > MAX_INTERVAL_SECONDS as f64 {
        return Err(Error::InvalidOption(format!(
            "interval `{text}` is too long; the longest is {MAX_INTERVAL_SECONDS} seconds (10000 years)"
        )));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_intervals_are_errors_not_panics() {
        for text in [
            "99999999999999999999 seconds",
            "1e400",
            "18446744073709551616 s",
            "9999999999999999 hours",
            "315576000001 seconds",
        ] {
            let error = parse_interval(text).expect_err(text);
            assert_eq!(error.code(), "INVALID_OPTION", "{text}");
        }
        assert_eq!(
            parse_interval("315576000000 seconds").ok(),
            Some(Duration::from_secs(MAX_INTERVAL_SECONDS))
        );
        assert_eq!(parse_interval("2 days").ok(), Some(Duration::from_secs(172_800)));
    }
}
