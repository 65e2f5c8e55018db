//! Operator state in a checkpoint: `state/<operator>/<epoch>/part-<worker>` holds the keys
//! whose state changed in that epoch on that worker, with their new state. State is kept by
//! key, not by worker, so a restore may run on any number of workers: the latest state of
//! every key, over all workers' files of all committed epochs, is routed to the key's new
//! owner by the dataflow itself.

use std::hash::Hash;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::files::{read_bytes, write_atomically};
use super::EpochLog;
use crate::error::CheckpointError;

/// The name of an epoch's snapshot: every key's state as of that epoch.
const SNAPSHOT: &str = "snapshot";

/// The state directory of a checkpoint.
#[derive(Clone, Debug)]
pub(crate) struct StateStore {
    directory: PathBuf,
}

impl StateStore {
    /// The state kept under `checkpoint_root/state`.
    pub(crate) fn new(checkpoint_root: &Path) -> Self {
        StateStore {
            directory: checkpoint_root.join("state"),
        }
    }

    fn epochs(&self, operator: usize) -> EpochLog {
        EpochLog::new(self.directory.join(operator.to_string()))
    }

    /// Writes what worker `worker` of operator `operator` changed in `epoch`, durably.
    pub(crate) fn write<K: Serialize, S: Serialize>(
        &self,
        operator: usize,
        epoch: u64,
        worker: usize,
        entries: &[(K, S)],
    ) -> Result<(), CheckpointError> {
        let path = self
            .epochs(operator)
            .path(epoch)
            .join(format!("part-{worker:03}"));
        let bytes = bincode::serialize(entries).map_err(|e| CheckpointError::Io {
            path: path.display().to_string(),
            reason: format!("the state cannot be encoded: {e}"),
        })?;
        write_atomically(&path, &bytes)?;
        // Other workers' parts of the epoch may be written or not: a restart discards them all.
        crate::crash::crash_point("in-state-write", epoch);
        Ok(())
    }

    /// Forgets what epochs from `epoch` on wrote (an attempt that was not committed): a run
    /// with another number of workers would not overwrite all of it.
    pub(crate) fn discard_from(&self, epoch: u64) -> Result<(), CheckpointError> {
        let operators = match std::fs::read_dir(&self.directory) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CheckpointError::io(&self.directory, e)),
        };
        for operator in operators {
            let operator = operator.map_err(|e| CheckpointError::io(&self.directory, e))?;
            let log = EpochLog::new(operator.path());
            for stale in log.epochs()?.into_iter().filter(|e| *e >= epoch) {
                std::fs::remove_dir_all(log.path(stale))
                    .map_err(|e| CheckpointError::io(&log.path(stale), e))?;
            }
        }
        Ok(())
    }

    /// The latest state of every key of operator `operator` as of epoch `through`: the
    /// latest snapshot up to it, then every worker's changes of the epochs after it, the later
    /// epoch winning.
    pub(crate) fn restore<K, S>(&self, operator: usize, through: u64) -> Result<Vec<(K, S)>, CheckpointError>
    where
        K: DeserializeOwned + Hash + Eq,
        S: DeserializeOwned,
    {
        let (files, sources) = self.files_through(operator, through)?;
        // Within one epoch (or a snapshot) every key is in one file only: those are simply put
        // together; files of several need the latest state of each key.
        let mut together: Vec<(K, S)> = Vec::new();
        let mut latest: foldhash::HashMap<K, S> = foldhash::HashMap::default();
        for file in files {
            let entries: Vec<(K, S)> = decode(&file)?;
            if sources <= 1 {
                together.extend(entries);
            } else {
                latest.extend(entries);
            }
        }
        if sources <= 1 {
            return Ok(together);
        }
        Ok(latest.into_iter().collect())
    }

    /// The contents of a collection that operator `operator` logged as changes `(record,
    /// diff)` (see `tidewater_operators::logged_collection`), as of epoch `through`: the
    /// diffs of the latest snapshot and every worker's changes after it, summed per record,
    /// without the records whose diffs cancel.
    pub(crate) fn restore_summed<K>(
        &self,
        operator: usize,
        through: u64,
    ) -> Result<Vec<(K, isize)>, CheckpointError>
    where
        K: DeserializeOwned + Hash + Eq,
    {
        let (files, _) = self.files_through(operator, through)?;
        let mut totals: foldhash::HashMap<K, isize> = foldhash::HashMap::default();
        for file in files {
            for (record, diff) in decode::<Vec<(K, isize)>>(&file)? {
                *totals.entry(record).or_insert(0) += diff;
            }
        }
        Ok(totals.into_iter().filter(|(_, total)| *total != 0).collect())
    }

    /// The files that hold operator `operator`'s state as of epoch `through`, oldest first:
    /// the latest snapshot up to it and the changes of every epoch after it; and how many
    /// epochs (the snapshot's included) they come from.
    fn files_through(&self, operator: usize, through: u64) -> Result<(Vec<PathBuf>, usize), CheckpointError> {
        let log = self.epochs(operator);
        let mut epochs: Vec<u64> = log.epochs()?.into_iter().filter(|e| *e <= through).collect();
        // A snapshot holds everything up to its epoch: nothing before it need be read.
        let snapshot = epochs
            .iter()
            .rev()
            .copied()
            .find(|e| log.path(*e).join(SNAPSHOT).exists());
        let mut files: Vec<PathBuf> = Vec::new();
        if let Some(at) = snapshot {
            files.push(log.path(at).join(SNAPSHOT));
            epochs.retain(|e| *e > at);
        }
        for &epoch in &epochs {
            let directory = log.path(epoch);
            let mut parts: Vec<PathBuf> = std::fs::read_dir(&directory)
                .map_err(|e| CheckpointError::io(&directory, e))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| {
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("part-"))
                })
                .collect();
            parts.sort();
            files.extend(parts);
        }
        Ok((files, usize::from(snapshot.is_some()) + epochs.len()))
    }

    /// Compacts operator `operator`'s state: `entries`, the latest state of every key as of
    /// epoch `at`, become the snapshot of `at`, and the changes of earlier epochs are deleted.
    /// A stop at any point leaves a state that restores the same: the snapshot is written
    /// whole before anything is deleted, and it agrees with the changes it replaces.
    pub(crate) fn compact<K: Serialize, S: Serialize>(
        &self,
        operator: usize,
        at: u64,
        entries: &[(K, S)],
    ) -> Result<(), CheckpointError> {
        let log = self.epochs(operator);
        let path = log.path(at).join(SNAPSHOT);
        let bytes = bincode::serialize(entries).map_err(|e| CheckpointError::Io {
            path: path.display().to_string(),
            reason: format!("the state cannot be encoded: {e}"),
        })?;
        write_atomically(&path, &bytes)?;
        // The snapshot holds the changes of its own epoch too.
        if let Ok(entries) = std::fs::read_dir(log.path(at)) {
            for part in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
                if part
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-"))
                {
                    if let Err(e) = std::fs::remove_file(&part) {
                        tracing::debug!("could not delete {}: {e}", part.display());
                    }
                }
            }
        }
        for old in log.epochs()?.into_iter().filter(|e| *e < at) {
            if let Err(e) = std::fs::remove_dir_all(log.path(old)) {
                tracing::debug!("could not delete {}: {e}", log.path(old).display());
            }
        }
        Ok(())
    }
}

/// Reads and decodes one state file; a file that does not decode is corrupt.
fn decode<T: DeserializeOwned>(file: &Path) -> Result<T, CheckpointError> {
    let bytes = read_bytes(file)?;
    bincode::deserialize(&bytes).map_err(|e| CheckpointError::Corrupt {
        path: file.display().to_string(),
        reason: format!("the state does not decode: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_state_of_each_key_over_all_workers_is_restored() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = StateStore::new(dir.path());
        store
            .write(0, 0, 0, &[("a".to_string(), 1i64), ("c".to_string(), 7)])
            .expect("write");
        store.write(0, 0, 1, &[("b".to_string(), 2i64)]).expect("write");
        // Epoch 1 ran on one worker: "b" moved to worker 0.
        store.write(0, 1, 0, &[("b".to_string(), 5i64)]).expect("write");
        // Epoch 2 was not committed.
        store.write(0, 2, 1, &[("a".to_string(), 99i64)]).expect("write");
        let mut restored: Vec<(String, i64)> = store.restore(0, 1).expect("restore");
        restored.sort();
        assert_eq!(restored, vec![("a".into(), 1), ("b".into(), 5), ("c".into(), 7)]);
        store.discard_from(2).expect("discard");
        let mut again: Vec<(String, i64)> = store.restore(0, 5).expect("restore");
        again.sort();
        assert_eq!(again, restored);
        assert!(store.restore::<String, i64>(1, 5).expect("no state").is_empty());
    }

    #[test]
    fn a_snapshot_replaces_the_changes_before_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = StateStore::new(dir.path());
        store
            .write(0, 0, 0, &[("a".to_string(), 1i64), ("b".to_string(), 2)])
            .expect("write");
        store.write(0, 1, 1, &[("a".to_string(), 3i64)]).expect("write");
        let mut latest: Vec<(String, i64)> = store.restore(0, 1).expect("restore");
        latest.sort();
        store.compact(0, 1, &latest).expect("compact");
        assert!(
            !dir.path().join("state/0/0").exists(),
            "changes before the snapshot go"
        );
        assert!(
            !dir.path().join("state/0/1/part-001").exists(),
            "and those of its own epoch"
        );
        // The snapshot and epoch 1's own changes agree: each key comes back once.
        let mut again: Vec<(String, i64)> = store.restore(0, 1).expect("restore");
        again.sort();
        assert_eq!(again, vec![("a".into(), 3), ("b".into(), 2)]);
        store
            .write(0, 2, 0, &[("b".to_string(), 5i64), ("c".to_string(), 1)])
            .expect("write");
        let mut later: Vec<(String, i64)> = store.restore(0, 2).expect("restore");
        later.sort();
        assert_eq!(later, vec![("a".into(), 3), ("b".into(), 5), ("c".into(), 1)]);
    }

    #[test]
    fn a_logged_collection_is_the_sum_of_its_changes_over_workers_and_epochs() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = StateStore::new(dir.path());
        // The same record may change on several workers in one epoch: a collection is not keyed.
        store.write(1, 0, 0, &[("a".to_string(), 1isize)]).expect("write");
        store
            .write(1, 0, 1, &[("a".to_string(), 1isize), ("b".to_string(), 1)])
            .expect("write");
        store
            .write(1, 1, 0, &[("b".to_string(), -1isize), ("c".to_string(), 3)])
            .expect("write");
        let mut summed: Vec<(String, isize)> = store.restore_summed(1, 1).expect("restore");
        summed.sort();
        assert_eq!(summed, vec![("a".into(), 2), ("c".into(), 3)]);
        store.compact(1, 1, &summed).expect("compact");
        store
            .write(1, 2, 1, &[("a".to_string(), -2isize)])
            .expect("write");
        let after: Vec<(String, isize)> = store.restore_summed(1, 2).expect("restore");
        assert_eq!(after, vec![("c".into(), 3)]);
    }

    #[test]
    fn a_damaged_state_file_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = StateStore::new(dir.path());
        store.write(0, 0, 0, &[("a".to_string(), 1i64)]).expect("write");
        std::fs::write(dir.path().join("state/0/0/part-000"), [1, 2, 3]).expect("damage");
        let refused = store.restore::<String, i64>(0, 0).expect_err("corrupt");
        assert_eq!(refused.code(), "CHECKPOINT_CORRUPT");
    }
}
