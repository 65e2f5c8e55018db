//! Checkpoints: what a query read before each epoch and what it wrote after, so that a query
//! that is killed resumes where it stopped, with exactly-once output.
//!
//! The directory has Spark's layout, so it can be inspected the same way:
//!
//! ```text
//! <checkpointLocation>/
//!   metadata            {"id": query id, kept across restarts, layout version, plan fingerprint}
//!   offsets/<epoch>     written before the epoch runs: its metadata and each source's part
//!   commits/<epoch>     written after the sink has durably taken the epoch
//!   sources/<i>/<epoch> the records source i handed to the epoch, for sources that cannot
//!                       replay them themselves (the file source's files, the socket's lines)
//!   state/<op>/<epoch>/part-<worker>
//!                       the keys whose state operator op changed in the epoch on that worker
//!   .lock               held by the running query
//! ```
//!
//! Every file is written to a temporary name, fsynced and renamed ([`files`]), so a crash
//! leaves whole files only; a temporary file a crash left behind is ignored.
//!
//! On restart an epoch with a commit is done; an epoch with offsets but no commit is run
//! again with exactly the same records, and its output replaces the first attempt's (sinks
//! are idempotent per epoch). A checkpoint of another query (its plan fingerprint differs), of
//! an unknown layout version, with a damaged file, or held by a live query is refused with its
//! own error code ([`CheckpointError`]).

mod files;
mod log;
mod offsets;
mod state;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::data::Row;
use crate::error::CheckpointError;
use files::{read_text, write_atomically};
pub(crate) use log::EpochLog;
pub(crate) use offsets::{CommitEntry, EpochMetadata, OffsetEntry};
pub(crate) use state::StateStore;

/// The layout version this build writes and reads.
pub const LAYOUT_VERSION: u32 = 1;

/// Spark's `spark.sql.streaming.minBatchesToRetain` default: how many epochs of offsets and
/// commits are kept.
pub const DEFAULT_MIN_BATCHES_TO_RETAIN: u64 = 100;

/// The `metadata` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    /// The query's id, the same across restarts (Spark's `id`).
    id: Uuid,
    /// The layout version.
    layout_version: u32,
    /// A fingerprint of the query's plan: a checkpoint is only resumed by the same query.
    plan_fingerprint: String,
    /// How joins of two streams that only insert keep their state (see
    /// [`JoinStateFormat`](crate::compile::JoinStateFormat)); absent in checkpoints written
    /// before it was recorded, which hold version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    join_state_format_version: Option<u32>,
}

/// Where a restarted query resumes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recovery {
    /// The first epoch without a commit: the next to run.
    pub(crate) next_epoch: u64,
    /// The logged offsets of `next_epoch`, when it had started before the stop: it runs again
    /// with exactly these.
    pub(crate) replay: Option<OffsetEntry>,
    /// The offsets of the last committed epoch, if any.
    pub(crate) last_committed: Option<OffsetEntry>,
    /// The last commit, if any.
    pub(crate) last_commit: Option<CommitEntry>,
}

impl Recovery {
    /// The watermark the first epoch of the restarted run runs under (microseconds): the one
    /// its logged offsets recorded if it is run again, else the one the last commit gave the
    /// next epoch.
    pub(crate) fn watermark(&self) -> Option<i64> {
        match &self.replay {
            Some(replay) => replay.metadata.batch_watermark_micros,
            None => self
                .last_commit
                .as_ref()
                .and_then(|c| c.next_batch_watermark_micros),
        }
    }

    /// The watermark the last committed epoch ran under (microseconds).
    pub(crate) fn committed_watermark(&self) -> Option<i64> {
        self.last_committed
            .as_ref()
            .and_then(|entry| entry.metadata.batch_watermark_micros)
    }
}

/// An open checkpoint directory, held (locked) by this query while it runs.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    root: PathBuf,
    id: Uuid,
    offsets: EpochLog,
    commits: EpochLog,
    retain: u64,
    /// Held for as long as the checkpoint is open: a second query on the same directory is
    /// refused while this one lives (the lock goes with the process, even on a crash).
    _lock: File,
}

/// How long opening a checkpoint waits for its lock before it is refused as in use. The lock
/// (`flock`) belongs to the open file, and a process that forks copies its open files until
/// the child starts its program: a query stopped a moment ago may still hold it through a
/// child that another thread was starting, for well under this.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Takes the lock of `file`, trying again for at most `wait` while another holds it.
fn lock_within(file: &File, wait: std::time::Duration) -> Result<(), TryLockError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => return other,
        }
    }
}

impl Checkpoint {
    /// Opens the checkpoint at `root` for the query whose plan has `fingerprint`, creating it
    /// on first use (recording `join_state_format_version`), and keeps `retain` epochs of
    /// offsets and commits.
    pub(crate) fn open(
        root: &Path,
        fingerprint: &str,
        retain: u64,
        join_state_format_version: u32,
    ) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(root).map_err(|e| CheckpointError::io(root, e))?;
        let lock_path = root.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| CheckpointError::io(&lock_path, e))?;
        lock_within(&lock, LOCK_WAIT).map_err(|e| match e {
            TryLockError::WouldBlock => CheckpointError::Locked {
                path: root.display().to_string(),
            },
            TryLockError::Error(e) => CheckpointError::io(&lock_path, e),
        })?;
        let metadata_path = root.join("metadata");
        let id = match read_text(&metadata_path)? {
            Some(text) => {
                let metadata = parse_metadata(&metadata_path, &text)?;
                if metadata.plan_fingerprint != fingerprint {
                    return Err(CheckpointError::Foreign {
                        path: root.display().to_string(),
                        found: metadata.plan_fingerprint,
                        expected: fingerprint.to_string(),
                    });
                }
                metadata.id
            }
            None => {
                let metadata = Metadata {
                    id: Uuid::new_v4(),
                    layout_version: LAYOUT_VERSION,
                    plan_fingerprint: fingerprint.to_string(),
                    join_state_format_version: Some(join_state_format_version),
                };
                let text = serde_json::to_string(&metadata).unwrap_or_default();
                write_atomically(&metadata_path, text.as_bytes())?;
                metadata.id
            }
        };
        Ok(Checkpoint {
            offsets: EpochLog::new(root.join("offsets")),
            commits: EpochLog::new(root.join("commits")),
            root: root.to_path_buf(),
            id,
            retain: retain.max(1),
            _lock: lock,
        })
    }

    /// The query's id, kept across restarts.
    pub(crate) fn id(&self) -> Uuid {
        self.id
    }

    /// The checkpoint directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the query resumes, read from the offset and commit logs.
    pub(crate) fn recovery(&self) -> Result<Recovery, CheckpointError> {
        read_recovery(&self.root)
    }

    /// Records, before it runs, what epoch `epoch` takes from each source.
    pub(crate) fn write_offsets(&self, epoch: u64, entry: &OffsetEntry) -> Result<(), CheckpointError> {
        self.offsets.write(epoch, &entry.to_text())
    }

    /// Records that every sink has durably taken epoch `epoch`, and forgets the epochs that
    /// fall out of the retained window. Returns the first epoch still retained.
    pub(crate) fn commit(&self, epoch: u64, entry: &CommitEntry) -> Result<u64, CheckpointError> {
        self.commits.write(epoch, &entry.to_text())?;
        let first_kept = (epoch + 1).saturating_sub(self.retain);
        if first_kept > 0 {
            self.offsets.purge_before(first_kept)?;
            self.commits.purge_before(first_kept)?;
        }
        Ok(first_kept)
    }

    /// The log of the records source `index` handed to each epoch.
    pub(crate) fn source_log(&self, index: usize) -> EpochLog {
        EpochLog::new(self.root.join("sources").join(index.to_string()))
    }

    /// Logs the records source `index` hands to `epoch` (JSON lines).
    pub(crate) fn write_records(
        &self,
        index: usize,
        epoch: u64,
        rows: &[Row],
    ) -> Result<(), CheckpointError> {
        let log = self.source_log(index);
        let mut text = String::new();
        for row in rows {
            let line = serde_json::to_string(row).map_err(|e| CheckpointError::Io {
                path: log.path(epoch).display().to_string(),
                reason: format!("a record cannot be logged: {e}"),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        log.write(epoch, &text)
    }

    /// The records source `index` handed to `epoch`, as logged.
    pub(crate) fn read_records(&self, index: usize, epoch: u64) -> Result<Vec<Row>, CheckpointError> {
        let log = self.source_log(index);
        let path = log.path(epoch);
        let text = log.read(epoch)?.ok_or_else(|| CheckpointError::Corrupt {
            path: path.display().to_string(),
            reason: format!("the records of epoch {epoch} are missing"),
        })?;
        parse_records(&path, &text)
    }

    /// Every record source `index` handed to the epochs up to `last`: its latest compaction up
    /// to `last`, then the entries of the epochs after it.
    pub(crate) fn read_records_through(&self, index: usize, last: u64) -> Result<Vec<Row>, CheckpointError> {
        let log = self.source_log(index);
        let compacted = log.compactions()?.into_iter().rev().find(|c| *c <= last);
        let mut records = Vec::new();
        if let Some(at) = compacted {
            let path = log.compact_path(at);
            let text = files::read_text(&path)?.ok_or_else(|| CheckpointError::Corrupt {
                path: path.display().to_string(),
                reason: "the compacted records vanished while they were read".into(),
            })?;
            records = parse_records(&path, &text)?;
        }
        for epoch in log
            .epochs()?
            .into_iter()
            .filter(|e| *e <= last && compacted.is_none_or(|c| *e > c))
        {
            records.extend(self.read_records(index, epoch)?);
        }
        Ok(records)
    }

    /// Compacts the records source `index` handed to the epochs up to `through` into one
    /// file, `sources/<index>/<through>.compact` (as Spark's file source log does), and deletes
    /// the entries and compactions it replaces. A log that a restart reads whole (the file
    /// source's seen files) then costs a few files, not one per epoch. A stop at any point
    /// leaves a log that reads the same: the compaction is written whole before anything goes.
    pub(crate) fn compact_records(&self, index: usize, through: u64) -> Result<(), CheckpointError> {
        let log = self.source_log(index);
        let records = self.read_records_through(index, through)?;
        let mut text = String::new();
        for row in &records {
            let line = serde_json::to_string(row).map_err(|e| CheckpointError::Io {
                path: log.compact_path(through).display().to_string(),
                reason: format!("a record cannot be logged: {e}"),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        files::write_atomically(&log.compact_path(through), text.as_bytes())?;
        for old in log.compactions()?.into_iter().filter(|c| *c < through) {
            if let Err(e) = std::fs::remove_file(log.compact_path(old)) {
                tracing::debug!("could not delete {}: {e}", log.compact_path(old).display());
            }
        }
        log.purge_before(through + 1)
    }
}

/// Parses logged records, one JSON row a line, from the file at `path`.
fn parse_records(path: &Path, text: &str) -> Result<Vec<Row>, CheckpointError> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line).map_err(|e| CheckpointError::Corrupt {
                path: path.display().to_string(),
                reason: format!("bad record `{line}`: {e}"),
            })
        })
        .collect()
}

/// Where a query resumes, read from the offset and commit logs of the checkpoint at `root`
/// (without taking its lock: other processes of a cluster run read it too).
pub(crate) fn read_recovery(root: &Path) -> Result<Recovery, CheckpointError> {
    let offsets = EpochLog::new(root.join("offsets"));
    let commits = EpochLog::new(root.join("commits"));
    let committed = commits.latest()?;
    let last_commit = match committed {
        // The commit must parse: a damaged one is refused, not skipped.
        Some(epoch) => {
            let text = commits.read(epoch)?.unwrap_or_default();
            Some(CommitEntry::parse(&commits.path(epoch), &text)?)
        }
        None => None,
    };
    let next_epoch = committed.map_or(0, |e| e + 1);
    let read_offsets = |epoch: u64| -> Result<Option<OffsetEntry>, CheckpointError> {
        match offsets.read(epoch)? {
            Some(text) => OffsetEntry::parse(&offsets.path(epoch), &text).map(Some),
            None => Ok(None),
        }
    };
    let last_committed = match committed {
        Some(epoch) => Some(read_offsets(epoch)?.ok_or_else(|| CheckpointError::Corrupt {
            path: offsets.path(epoch).display().to_string(),
            reason: format!("epoch {epoch} has a commit but no offsets"),
        })?),
        None => None,
    };
    let latest_offsets = offsets.latest()?;
    if latest_offsets.is_some_and(|e| e > next_epoch) {
        return Err(CheckpointError::Corrupt {
            path: offsets.directory().display().to_string(),
            reason: format!(
                "offsets run ahead to epoch {} but the last commit is of epoch {}",
                latest_offsets.unwrap_or_default(),
                committed.map_or("none".into(), |e| e.to_string())
            ),
        });
    }
    Ok(Recovery {
        next_epoch,
        replay: read_offsets(next_epoch)?,
        last_committed,
        last_commit,
    })
}

/// The join state format version the checkpoint at `root` recorded: 1 for one written before
/// versions were recorded, `None` where there is no checkpoint yet.
pub(crate) fn recorded_join_state_format(root: &Path) -> Result<Option<u32>, CheckpointError> {
    let path = root.join("metadata");
    Ok(match read_text(&path)? {
        Some(text) => Some(
            parse_metadata(&path, &text)?
                .join_state_format_version
                .unwrap_or(1),
        ),
        None => None,
    })
}

fn parse_metadata(path: &Path, text: &str) -> Result<Metadata, CheckpointError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| CheckpointError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let version = value.get("layoutVersion").cloned().unwrap_or_default();
    if version.as_u64() != Some(u64::from(LAYOUT_VERSION)) {
        return Err(CheckpointError::UnknownVersion {
            path: path.display().to_string(),
            found: version.to_string(),
            supported: LAYOUT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| CheckpointError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// A stable fingerprint of a query's plan text (FNV-1a, 64 bits, as hex): the same plan
/// gives the same fingerprint in every build and process, unlike the standard hashers.
pub(crate) fn fingerprint(plan_text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in plan_text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests;
