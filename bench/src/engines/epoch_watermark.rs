//! The watermark the event-time baselines keep, by Spark's rules: the watermark of epoch `e`
//! is the greatest event time of the epochs before it less a delay; events are late against the
//! previous epoch's watermark, and state is closed by the epoch's own.

/// The greatest event time seen, the epoch's watermark and the previous epoch's.
#[derive(Debug)]
pub struct EpochWatermark {
    delay_ms: i64,
    max: Option<i64>,
    current: Option<i64>,
    previous: Option<i64>,
}

impl EpochWatermark {
    /// A watermark `delay_ms` behind the greatest event time.
    pub fn new(delay_ms: i64) -> Self {
        EpochWatermark {
            delay_ms,
            max: None,
            current: None,
            previous: None,
        }
    }

    /// Notes an event time of the epoch.
    pub fn saw(&mut self, time_ms: i64) {
        self.max = Some(self.max.map_or(time_ms, |m| m.max(time_ms)));
    }

    /// Whether something ending at `end_ms` had ended by the previous epoch's watermark: an
    /// event that could only update it is late.
    pub fn ended_before(&self, end_ms: i64) -> bool {
        self.previous.is_some_and(|w| end_ms <= w)
    }

    /// Whether something ending at `end_ms` is closed by the epoch's watermark.
    pub fn closes(&self, end_ms: i64) -> bool {
        self.current.is_some_and(|w| end_ms <= w)
    }

    /// Ends an epoch: the next epoch's watermark; whether it moved (Spark then runs a batch
    /// without data when no more data is waiting).
    pub fn advance(&mut self) -> bool {
        self.previous = self.current;
        if let Some(max) = self.max {
            let candidate = max - self.delay_ms;
            self.current = Some(self.current.map_or(candidate, |w| w.max(candidate)));
        }
        self.current != self.previous
    }
}
