//! Event time on the leader: the watermark each epoch runs under, derived from the same
//! per-worker maxima and by the same rule ([`WatermarkClock`]) as the operators that drop
//! late rows inside the dataflow, so that the driver and the dataflow never disagree.

use std::collections::BTreeMap;

use tidewater_operators::{EventTimeStats, WatermarkClock};

use super::progress::iso_time;

/// The event-time state of a query with a watermark.
#[derive(Debug)]
pub(super) struct EventTime {
    /// How late an event may be, microseconds.
    delay: i64,
    /// Every epoch's greatest event time, over all workers.
    clock: WatermarkClock,
    /// The watermark of the epoch running now (or of the next, between epochs); `None` until
    /// an event has been seen.
    watermark: Option<i64>,
}

impl EventTime {
    /// Event time under a watermark `delay` microseconds behind the greatest event time.
    pub(super) fn new(delay: i64) -> Self {
        EventTime {
            delay,
            clock: WatermarkClock::default(),
            watermark: None,
        }
    }

    /// Records that some worker saw event time `micros` in `epoch`.
    pub(super) fn saw(&mut self, micros: i64, epoch: u64) {
        self.clock.saw(micros, epoch);
    }

    /// Goes on after a restart: the greatest event times of epochs before it, `(max, epoch)`,
    /// and the watermark of the first new epoch.
    pub(super) fn resume(&mut self, seen: &[(i64, u64)], watermark: Option<i64>) {
        for &(max, epoch) in seen {
            self.clock.saw(max, epoch);
        }
        self.watermark = watermark;
    }

    /// The watermark in force: that of the epoch running, or, between epochs, of the next.
    pub(super) fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// After `epoch` is complete (every maximum of it seen): moves to the watermark of the
    /// epoch after it.
    pub(super) fn finish(&mut self, epoch: u64) {
        self.watermark = self.clock.watermark_of(epoch + 1, self.delay);
    }

    /// The `eventTime` part of a progress report, as Spark writes it: the watermark in force,
    /// and, when the epoch had rows with an event time, their least, mean and greatest
    /// (`epoch`), in milliseconds as Spark keeps them.
    pub(super) fn progress(&self, epoch: Option<EventTimeStats>) -> BTreeMap<String, String> {
        let mut progress = BTreeMap::from([("watermark".to_string(), iso_time(self.watermark.unwrap_or(0)))]);
        if let Some(stats) = epoch.filter(|s| s.count > 0) {
            progress.insert("max".to_string(), iso_time(stats.max / 1000 * 1000));
            progress.insert("min".to_string(), iso_time(stats.min / 1000 * 1000));
            progress.insert("avg".to_string(), iso_time(stats.avg_millis() * 1000));
        }
        progress
    }
}

#[cfg(test)]
mod tests {
    use super::{EventTime, EventTimeStats};

    #[test]
    fn the_watermark_trails_the_greatest_earlier_event_and_never_falls() {
        let mut time = EventTime::new(10);
        assert_eq!(time.watermark(), None);
        time.saw(100, 0);
        time.saw(70, 0);
        // Epoch 0's own events do not move epoch 0's watermark, only the next one's.
        assert_eq!(time.watermark(), None);
        time.finish(0);
        assert_eq!(time.watermark(), Some(90));
        // A lower maximum later leaves the watermark where it is.
        time.saw(50, 1);
        time.finish(1);
        assert_eq!(time.watermark(), Some(90));
        // An epoch with no events keeps it too.
        time.finish(2);
        assert_eq!(time.watermark(), Some(90));
        time.saw(200, 3);
        time.finish(3);
        assert_eq!(time.watermark(), Some(190));
        // 1.5 ms, 2.5 ms and 4 ms: Spark's milliseconds, truncated, average to 2.333 ms.
        let stats = [1_500, 2_500, 4_000]
            .map(EventTimeStats::of)
            .into_iter()
            .reduce(EventTimeStats::merge);
        let progress = time.progress(stats);
        assert_eq!(progress["max"], "1970-01-01T00:00:00.004Z");
        assert_eq!(progress["min"], "1970-01-01T00:00:00.001Z");
        assert_eq!(progress["avg"], "1970-01-01T00:00:00.002Z");
        assert!(!time.progress(None).contains_key("max"));
    }
}
