//! Triggers: when the driver closes an epoch.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::data::parse_interval;
use crate::error::Result;

/// When epochs run, as Spark's `Trigger`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trigger {
    /// As soon as the previous epoch is done and data waits (Spark's default).
    #[default]
    Default,
    /// At most one epoch per interval, started on interval boundaries, skipped without data.
    ProcessingTime(Duration),
    /// One epoch with everything available at start, then finish (deprecated in Spark).
    Once,
    /// Process everything available at start, in as many epochs as needed, then finish.
    AvailableNow,
}

impl Trigger {
    /// `Trigger.ProcessingTime("1 second")`: parses Spark's interval strings.
    pub fn processing_time(interval: &str) -> Result<Self> {
        parse_interval(interval).map(Trigger::ProcessingTime)
    }

    /// `Trigger.AvailableNow()`.
    pub fn available_now() -> Self {
        Trigger::AvailableNow
    }

    /// `Trigger.Once()`.
    pub fn once() -> Self {
        Trigger::Once
    }

    /// Reads the SQL/CLI spelling: `once`, `availableNow`, or an interval like `1 second`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "once" => Ok(Trigger::Once),
            "availablenow" | "available_now" | "available-now" => Ok(Trigger::AvailableNow),
            "default" => Ok(Trigger::Default),
            _ => Trigger::processing_time(text),
        }
    }

    /// True for triggers that end the query once the data available at start is processed.
    pub fn is_bounded(&self) -> bool {
        matches!(self, Trigger::Once | Trigger::AvailableNow)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Default => f.write_str("ProcessingTime(0)"),
            Trigger::ProcessingTime(d) => write!(f, "ProcessingTime({} ms)", d.as_millis()),
            Trigger::Once => f.write_str("Once"),
            Trigger::AvailableNow => f.write_str("AvailableNow"),
        }
    }
}

/// How often a query whose plan has processing-time timeouts runs an epoch without data under
/// the default trigger, so that a key with no more rows still times out (Spark runs such
/// no-data batches back to back; a tick bounds their cost). A processing-time trigger's
/// interval takes its place.
pub const TIMEOUT_TICK: Duration = Duration::from_secs(1);

/// A processing-time clock a program moves by hand (Spark's `StreamManualClock`): given to
/// [`DataStreamWriter::processing_clock`](crate::session::DataStreamWriter::processing_clock),
/// it is the batch time of every epoch the query runs, so processing-time timeouts and TTLs
/// fire when the program says, not when the wall clock does. Clones share one time.
///
/// It drives the workers of the leader's process; workers in other processes read their own
/// wall clock. After [`advance`](Self::advance), `process_all_available` runs the epochs the
/// new time calls for.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock at `ms` milliseconds since the epoch.
    pub fn new(ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(ms)))
    }

    /// The time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spark_intervals() {
        assert_eq!(parse_interval("1 second").ok(), Some(Duration::from_secs(1)));
        assert_eq!(parse_interval("10 seconds").ok(), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_interval("500 milliseconds").ok(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_interval("2 minutes").ok(), Some(Duration::from_secs(120)));
        assert_eq!(parse_interval("250ms").ok(), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_interval("interval 1 hour").ok(),
            Some(Duration::from_secs(3600))
        );
        assert!(parse_interval("soon").is_err());
        assert_eq!(Trigger::parse("availableNow").ok(), Some(Trigger::AvailableNow));
    }
}
