//! Operator state in a checkpoint: `state/<operator>/<epoch>/part-<worker>` holds the keys
//! whose state changed in that epoch on that worker, with their new state. State is kept by
//! key, not by worker, so a restore may run on any number of workers: the latest state of
//! every key, over all workers' files of all committed epochs, is routed to the key's new
//! owner by the dataflow itself.

use std::hash::Hash;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::files::{read_bytes, write_atomically, TEMPORARY_PREFIX};
use super::EpochLog;
use crate::error::CheckpointError;

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
        write_atomically(&path, &bytes)
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

    /// The latest state of every key of operator `operator` as of epoch `through`: every
    /// worker's files of every epoch up to it, the later epoch winning.
    pub(crate) fn restore<K, S>(&self, operator: usize, through: u64) -> Result<Vec<(K, S)>, CheckpointError>
    where
        K: DeserializeOwned + Hash + Eq,
        S: DeserializeOwned,
    {
        let log = self.epochs(operator);
        let epochs: Vec<u64> = log.epochs()?.into_iter().filter(|e| *e <= through).collect();
        // Within one epoch every key is in one worker's file only: a single epoch's parts are
        // simply put together; several need the latest state of each key.
        let mut single: Vec<(K, S)> = Vec::new();
        let mut latest: foldhash::HashMap<K, S> = foldhash::HashMap::default();
        for &epoch in &epochs {
            let directory = log.path(epoch);
            let mut parts: Vec<PathBuf> = std::fs::read_dir(&directory)
                .map_err(|e| CheckpointError::io(&directory, e))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| {
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("part-") && !n.starts_with(TEMPORARY_PREFIX))
                })
                .collect();
            parts.sort();
            for part in parts {
                let bytes = read_bytes(&part)?;
                let entries: Vec<(K, S)> =
                    bincode::deserialize(&bytes).map_err(|e| CheckpointError::Corrupt {
                        path: part.display().to_string(),
                        reason: format!("the state does not decode: {e}"),
                    })?;
                if epochs.len() == 1 {
                    single.extend(entries);
                } else {
                    latest.extend(entries);
                }
            }
        }
        if epochs.len() == 1 {
            return Ok(single);
        }
        Ok(latest.into_iter().collect())
    }
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
    fn a_damaged_state_file_is_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = StateStore::new(dir.path());
        store.write(0, 0, 0, &[("a".to_string(), 1i64)]).expect("write");
        std::fs::write(dir.path().join("state/0/0/part-000"), [1, 2, 3]).expect("damage");
        let refused = store.restore::<String, i64>(0, 0).expect_err("corrupt");
        assert_eq!(refused.code(), "CHECKPOINT_CORRUPT");
    }
}
