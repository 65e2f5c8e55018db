//! Session configuration read by the engine, under Spark's names.

use crate::error::{Error, Result};

/// Spark's `spark.authenticate.secret`: the secret the processes of a cluster prove to each
/// other (as `--cluster-secret`).
pub const AUTHENTICATE_SECRET: &str = "spark.authenticate.secret";

/// Spark's `spark.sql.autoBroadcastJoinThreshold`: the largest static table, in bytes on disk,
/// that a join under an aggregation broadcasts to every worker; `-1` never broadcasts.
pub const AUTO_BROADCAST_JOIN_THRESHOLD: &str = "spark.sql.autoBroadcastJoinThreshold";

/// Spark's `spark.sql.streaming.checkpointLocation`: the root under which each named query
/// keeps its checkpoint, in `<root>/<query name>` (`tidewater run --checkpoint DIR` sets it).
pub const CHECKPOINT_LOCATION: &str = "spark.sql.streaming.checkpointLocation";

/// Spark's `spark.sql.streaming.minBatchesToRetain`: how many epochs of offsets and commits a
/// checkpoint keeps (default 100).
pub const MIN_BATCHES_TO_RETAIN: &str = "spark.sql.streaming.minBatchesToRetain";

/// Spark's `spark.sql.streaming.stateStore.minDeltasForSnapshot`: every how many epochs of
/// state changes a checkpointed aggregation's state is compacted into a snapshot (default 10).
pub const MIN_DELTAS_FOR_SNAPSHOT: &str = "spark.sql.streaming.stateStore.minDeltasForSnapshot";

/// Spark's `spark.sql.session.timeZone`: the zone in which timestamps are read from text,
/// written as text and split into fields (`hour(ts)`). A region (`America/New_York`) or an
/// offset (`+08:00`); UTC by default (Spark's default is the JVM's zone).
pub const SESSION_TIME_ZONE: &str = "spark.sql.session.timeZone";

/// Spark's `spark.sql.ansi.enabled`. `false` (the default here, although Spark 4's default is
/// `true`, so that existing pipelines keep running on bad rows) evaluates with Spark's non-ANSI
/// rules: null for a failed cast or a division by zero, an integer overflow wraps. `true`
/// raises Spark's ANSI errors instead (`DIVIDE_BY_ZERO`, `ARITHMETIC_OVERFLOW`,
/// `CAST_INVALID_INPUT`, ...), and the query stops with the first.
pub const ANSI_ENABLED: &str = "spark.sql.ansi.enabled";

/// Spark's `spark.sql.streaming.numRecentProgressUpdates`: how many progress reports each
/// query keeps for `recent_progress()` and the UI (default 100).
pub const NUM_RECENT_PROGRESS_UPDATES: &str = "spark.sql.streaming.numRecentProgressUpdates";

/// Spark's `spark.sql.streaming.noDataProgressEventInterval`: how long a query without new
/// data waits after its last epoch before listeners hear `on_query_idle` (default `10s`; a
/// duration such as `500ms`, `2 seconds`, or milliseconds).
pub const NO_DATA_PROGRESS_EVENT_INTERVAL: &str = "spark.sql.streaming.noDataProgressEventInterval";

/// The progress settings of a session: reports kept per query, and the idle interval.
pub(crate) fn progress_settings(
    conf: &std::collections::BTreeMap<String, String>,
) -> Result<(usize, std::time::Duration)> {
    let kept = match conf.get(NUM_RECENT_PROGRESS_UPDATES) {
        None => crate::runtime::RECENT_PROGRESS,
        Some(raw) => raw
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Error::InvalidOption(format!(
                    "`{NUM_RECENT_PROGRESS_UPDATES}` = `{raw}`: use a whole number of reports, at least 1"
                ))
            })?,
    };
    let idle = match conf.get(NO_DATA_PROGRESS_EVENT_INTERVAL) {
        None => crate::runtime::NO_DATA_PROGRESS_EVENT_INTERVAL,
        Some(raw) => {
            let text = raw.trim();
            let parsed = match text.parse::<u64>() {
                Ok(ms) => Some(std::time::Duration::from_millis(ms)),
                Err(_) => text
                    .strip_suffix("ms")
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .map(std::time::Duration::from_millis)
                    .or_else(|| {
                        text.strip_suffix('s')
                            .and_then(|s| s.trim().parse::<u64>().ok())
                            .map(std::time::Duration::from_secs)
                    })
                    .or_else(|| crate::data::parse_interval(text).ok()),
            };
            parsed.ok_or_else(|| {
                Error::InvalidOption(format!(
                    "`{NO_DATA_PROGRESS_EVENT_INTERVAL}` = `{raw}`: use a duration such as 10s, 500ms or `2 seconds`"
                ))
            })?
        }
    };
    Ok((kept, idle))
}

/// The expression settings a session's configuration gives (see [`SESSION_TIME_ZONE`] and
/// [`ANSI_ENABLED`]).
pub(crate) fn expr_settings(
    conf: &std::collections::BTreeMap<String, String>,
) -> Result<crate::expr::settings::ExprSettings> {
    let mut settings = crate::expr::settings::ExprSettings::default();
    if let Some(zone) = conf.get(SESSION_TIME_ZONE) {
        settings.zone = crate::data::datetime::Zone::parse(zone).ok_or_else(|| {
            Error::InvalidOption(format!(
                "`{SESSION_TIME_ZONE}` = `{zone}` is not a time zone; use a region such as Europe/Paris or an offset such as +08:00"
            ))
        })?;
    }
    match conf.get(ANSI_ENABLED).map(|v| v.trim().to_ascii_lowercase()) {
        None => {}
        Some(v) if v == "false" => {}
        Some(v) if v == "true" => settings.ansi = true,
        Some(v) => {
            return Err(Error::InvalidOption(format!(
                "`{ANSI_ENABLED}` = `{v}`: use true or false"
            )))
        }
    }
    Ok(settings)
}

/// Spark's default for [`AUTO_BROADCAST_JOIN_THRESHOLD`]: 10 MiB.
const DEFAULT_BROADCAST_THRESHOLD: u64 = 10 << 20;

/// The broadcast threshold `value` sets (the default when `None`): `None` when broadcasting is
/// off (`-1`, or any negative number, as in Spark). Takes bytes, or a number with a unit of
/// `b`, `k`/`kb`, `m`/`mb` or `g`/`gb` (powers of 1024, any case).
pub(crate) fn broadcast_threshold(value: Option<&str>) -> Result<Option<u64>> {
    let Some(raw) = value else {
        return Ok(Some(DEFAULT_BROADCAST_THRESHOLD));
    };
    let bad = || {
        Error::InvalidOption(format!(
            "`{AUTO_BROADCAST_JOIN_THRESHOLD}` = `{raw}`: use a size in bytes such as 10485760 or 10m, or -1 to never broadcast"
        ))
    };
    let text = raw.trim().to_ascii_lowercase();
    if let Ok(n) = text.parse::<i64>() {
        return Ok(u64::try_from(n).ok());
    }
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match &text[digits.len()..] {
        "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        _ => return Err(bad()),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).map(Some).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::broadcast_threshold;

    #[test]
    fn thresholds_parse_as_spark_reads_them() {
        assert_eq!(broadcast_threshold(None).unwrap(), Some(10 * 1024 * 1024));
        assert_eq!(broadcast_threshold(Some("1048576")).unwrap(), Some(1 << 20));
        assert_eq!(broadcast_threshold(Some(" 10m ")).unwrap(), Some(10 << 20));
        assert_eq!(broadcast_threshold(Some("2KB")).unwrap(), Some(2048));
        assert_eq!(broadcast_threshold(Some("1g")).unwrap(), Some(1 << 30));
        assert_eq!(broadcast_threshold(Some("-1")).unwrap(), None);
        assert_eq!(broadcast_threshold(Some("0")).unwrap(), Some(0));
        for bad in ["", "ten", "10 parsecs", "m", "99999999999999999999g"] {
            assert!(broadcast_threshold(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
