//! What a query's checkpoint gives it when it starts: the checkpoint itself (opened and
//! locked in the process that drives the query) and, for a query with state, where its
//! operators log their state and what they restore.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::warn;

use crate::checkpoint::{fingerprint, read_recovery, recorded_join_state_format, Checkpoint, StateStore};
use crate::compile::{compact_state, restore_state, DurableState, JoinStateFormat, Settings};
use crate::error::{CheckpointError, Result};
use crate::plan::LogicalPlan;

/// Compacts the state of `plan`'s durable operators as of committed epoch `through` into
/// snapshots, on a thread of its own so that epochs go on meanwhile. A failure loses nothing
/// (the changes it would have replaced stay), so it is logged.
pub(crate) fn compact_in_background(
    plan: Arc<LogicalPlan>,
    settings: Settings,
    store: StateStore,
    through: u64,
    closed_by: Option<i64>,
) -> Option<std::thread::JoinHandle<()>> {
    let compaction = move || {
        let started = std::time::Instant::now();
        match compact_state(&plan, settings, &store, through, closed_by) {
            Ok(()) => tracing::debug!(
                "state compacted into the snapshot of epoch {through} in {:.3} s",
                started.elapsed().as_secs_f64()
            ),
            Err(e) => warn!("the state could not be compacted at epoch {through}: {e}"),
        }
    };
    match std::thread::Builder::new()
        .name("tidewater-compaction".into())
        .spawn(compaction)
    {
        Ok(handle) => Some(handle),
        Err(e) => {
            warn!("the state could not be compacted at epoch {through}: {e}");
            None
        }
    }
}

/// A query's checkpoint, as `start()` prepares it.
#[derive(Default)]
pub(crate) struct Prepared {
    /// The checkpoint, in the process of worker 0 (which writes offsets and commits).
    pub(crate) checkpoint: Option<Checkpoint>,
    /// The stateful operators' durable state, in every process.
    pub(crate) durable: Option<Arc<DurableState>>,
    /// How joins of two streams that only insert keep their state: as the checkpoint
    /// recorded it, the newest format for a new one.
    pub(crate) join_state_format: JoinStateFormat,
}

/// Opens the checkpoint at `location` for `plan` (run as `sink` describes, under `settings`),
/// reads where it resumes, and restores its operators' state. `leader` is true in the
/// process of worker 0; `retain` is how many epochs of offsets and commits are kept.
pub(crate) fn prepare(
    location: &Path,
    plan: &LogicalPlan,
    sink: &str,
    settings: Settings,
    leader: bool,
    retain: u64,
    snapshot_every: u64,
) -> Result<Prepared> {
    // A query resumes with the joins its state was written by (every process reads it).
    let join_state_format = match recorded_join_state_format(location)? {
        None => JoinStateFormat::default(),
        Some(version) => JoinStateFormat::of_version(version).ok_or_else(|| CheckpointError::Corrupt {
            path: location.join("metadata").display().to_string(),
            reason: format!("joinStateFormatVersion {version} is not one this build reads (1 or 2)"),
        })?,
    };
    let settings = Settings {
        join_state_format,
        ..settings
    };
    let checkpoint = if leader {
        let fingerprint = fingerprint(&format!("{plan}\n{sink}"));
        Some(Checkpoint::open(
            location,
            &fingerprint,
            retain,
            join_state_format.version(),
        )?)
    } else {
        None
    };
    // A damaged log is refused here, by start(), rather than by the running query.
    let recovery = read_recovery(location)?;
    let durable = if plan.has_state() {
        let store = StateStore::new(location);
        let resume_epoch = recovery.next_epoch;
        let restored = match (leader, resume_epoch.checked_sub(1)) {
            (true, Some(through)) => {
                // What an attempt that was not committed wrote is not state.
                store.discard_from(resume_epoch)?;
                let started = std::time::Instant::now();
                let restored =
                    restore_state(plan, settings, &store, through, recovery.committed_watermark())?;
                tracing::info!(
                    "read the state of {} operator(s) as of epoch {through} in {:.3} s",
                    restored.len(),
                    started.elapsed().as_secs_f64()
                );
                restored
            }
            _ => Vec::new(),
        };
        // The watermark goes on from where it was: the greatest event time before the last
        // committed epoch and before the first new one, each its watermark plus the delay.
        let mut seen_maxima = Vec::new();
        if let Some(delay) = plan.watermark_delay() {
            let before = [
                (recovery.committed_watermark(), resume_epoch.checked_sub(2)),
                (recovery.watermark(), resume_epoch.checked_sub(1)),
            ];
            for (watermark, epoch) in before {
                if let (Some(watermark), Some(epoch)) = (watermark, epoch) {
                    seen_maxima.push((watermark + delay, epoch));
                }
            }
        }
        Some(Arc::new(DurableState {
            store,
            resume_epoch,
            restored: Mutex::new(restored.into_iter().map(Some).collect()),
            failure: Arc::default(),
            leader_process: leader,
            seen_maxima,
            snapshot_every: snapshot_every.max(1),
        }))
    } else {
        None
    };
    Ok(Prepared {
        checkpoint,
        durable,
        join_state_format,
    })
}
