//! Spark's interval strings (`10 seconds`, `500 milliseconds`), used by triggers and windows.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses `500 milliseconds`, `1 second`, `10 seconds`, `2 minutes`, `1 hour`, `250ms`, `3s`,
/// and a bare number of milliseconds.
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
        _ => return Err(bad()),
    };
    if !number.is_finite() || number < 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(number * millis_per_unit / 1e3))
}
