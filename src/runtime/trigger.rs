//! Triggers: when the driver closes an epoch.

use std::fmt;
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
