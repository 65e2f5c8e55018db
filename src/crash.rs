//! Crash points for recovery tests: `TIDEWATER_CRASH_AT=<point>:<epoch>` (for example
//! `after-offsets:2`) aborts the process at that point of that epoch, as a kill would: nothing
//! is flushed or cleaned up. Without the variable a crash point costs one comparison.
//!
//! The points, in the order an epoch passes them:
//! - `after-offsets`: `offsets/<epoch>` is written; the epoch has not run;
//! - `in-state-write`: one worker has written its part of an operator's state for the epoch,
//!   others may not have (queries with state only);
//! - `in-sink`: the file sink has written the epoch's part file but not its log entry (in a
//!   DStream context: the first output operation has taken the batch, the others have not);
//!   the Kafka sink has written the epoch's records to one partition but not to the others;
//! - `before-commit`: the sink has taken the epoch; `commits/<epoch>` is not written;
//! - `after-commit`: `commits/<epoch>` is written.

use std::sync::OnceLock;

/// The crash point the environment names, read once.
fn requested() -> Option<&'static (String, u64)> {
    static REQUESTED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    REQUESTED
        .get_or_init(|| {
            let value = std::env::var("TIDEWATER_CRASH_AT").ok()?;
            let (point, epoch) = value.split_once(':')?;
            Some((point.to_string(), epoch.trim().parse().ok()?))
        })
        .as_ref()
}

/// Aborts the process if a recovery test asked for a crash at `point` of `epoch`.
pub(crate) fn crash_point(point: &str, epoch: u64) {
    if let Some((wanted, at)) = requested() {
        if wanted == point && *at == epoch {
            eprintln!("TIDEWATER_CRASH_AT: aborting at {point} of epoch {epoch}");
            std::process::abort();
        }
    }
}
