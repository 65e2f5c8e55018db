//! `format("rate")`: generated rows `(timestamp, value)` at a fixed rate, like Spark's rate
//! source: `value` counts 0, 1, 2, ... and `timestamp` is when the row was due. Options:
//! `rowsPerSecond` (default 1) and `numRows` (after which the source is exhausted and the
//! query can finish; default: never).

use std::time::{Duration, Instant};

use super::{Options, ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{DataType, Field, Row, Schema, Value};
use crate::error::{Error, Result};

/// A configured rate source.
#[derive(Clone, Debug)]
pub struct RateSource {
    rows_per_second: u64,
    num_rows: Option<u64>,
}

impl RateSource {
    /// Reads `rowsPerSecond` and `numRows`.
    pub fn from_options(options: &Options) -> Result<Self> {
        let rows_per_second: u64 = options.parse_or("rowsPerSecond", 1)?;
        if rows_per_second == 0 {
            return Err(Error::InvalidOption(
                "option `rowsPerSecond` must be positive".into(),
            ));
        }
        let num_rows = match options.get("numRows") {
            None => None,
            Some(_) => Some(options.parse_or("numRows", 0u64)?),
        };
        Ok(RateSource {
            rows_per_second,
            num_rows,
        })
    }
}

impl Source for RateSource {
    fn description(&self) -> String {
        format!(
            "RateStreamV2[rowsPerSecond={}, numRows={:?}]",
            self.rows_per_second, self.num_rows
        )
    }

    fn schema(&self) -> Schema {
        Schema::new([
            Field::new("timestamp", DataType::Timestamp),
            Field::new("value", DataType::Int64),
        ])
    }

    fn open(&self, _wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        Ok(Box::new(RateReader {
            config: self.clone(),
            started: Instant::now(),
            started_micros: chrono::Utc::now().timestamp_micros(),
            next: 0,
        }))
    }
}

struct RateReader {
    config: RateSource,
    started: Instant,
    started_micros: i64,
    next: u64,
}

impl RateReader {
    /// The rows due by now (all of them at once is fine: rows are due, not scheduled).
    fn due(&self) -> u64 {
        let elapsed = self.started.elapsed().as_secs_f64();
        let due = (elapsed * self.config.rows_per_second as f64) as u64 + 1;
        self.config.num_rows.map_or(due, |n| due.min(n))
    }
}

impl SourceReader for RateReader {
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> std::result::Result<ReadStatus, SourceError> {
        let until = self
            .due()
            .min(self.next.saturating_add(max.saturating_sub(out.len()) as u64));
        let micros_per_row = 1_000_000.0 / self.config.rows_per_second as f64;
        for value in self.next..until {
            let timestamp = self.started_micros + (value as f64 * micros_per_row) as i64;
            out.push(Row::from(vec![
                Value::Timestamp(timestamp),
                Value::Int(value as i64),
            ]));
        }
        self.next = self.next.max(until);
        Ok(match self.config.num_rows {
            Some(n) if self.next >= n => ReadStatus::Exhausted,
            _ => ReadStatus::Open,
        })
    }

    fn resume(&mut self, consumed: u64, _records: &[Row], position: Option<&serde_json::Value>) {
        self.next = consumed;
        // Row `v`'s time counts from the first run's start, as in Spark's rate source: rows
        // that fell due while the query was down are due at once.
        let Some(first_start) = position
            .and_then(|p| p.get("startMicros"))
            .and_then(|s| s.as_i64())
        else {
            return;
        };
        let since = self.started_micros.saturating_sub(first_start).max(0) as u64;
        if let Some(started) = self.started.checked_sub(Duration::from_micros(since)) {
            self.started = started;
            self.started_micros = first_start;
        }
    }

    fn position(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "startMicros": self.started_micros }))
    }

    fn end_at_available_now(&mut self) {
        // Spark's rate source does not support available-now; end with what is due now.
        let due = self.due();
        self.config.num_rows = Some(self.config.num_rows.map_or(due, |n| n.min(due)));
    }

    fn next_poll(&self) -> Option<Instant> {
        let next_row_at = self.next as f64 / self.config.rows_per_second as f64;
        Some(self.started + Duration::from_secs_f64(next_row_at))
    }
}
