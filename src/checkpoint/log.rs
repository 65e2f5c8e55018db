//! A directory of one file per epoch (`offsets/<epoch>`, `commits/<epoch>`,
//! `sources/<i>/<epoch>`), as Spark's `HDFSMetadataLog` keeps its batches.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{read_text, write_atomically, TEMPORARY_PREFIX};
use crate::error::CheckpointError;

/// What ends the name of a compaction of a log's entries.
const COMPACT_SUFFIX: &str = ".compact";

/// One file per epoch in a directory, named by the epoch's number.
#[derive(Clone, Debug)]
pub(crate) struct EpochLog {
    directory: PathBuf,
}

impl EpochLog {
    /// The log kept in `directory` (created on the first write).
    pub(crate) fn new(directory: PathBuf) -> Self {
        EpochLog { directory }
    }

    /// The file of `epoch`.
    pub(crate) fn path(&self, epoch: u64) -> PathBuf {
        self.directory.join(epoch.to_string())
    }

    /// Writes `epoch`'s entry, atomically and durably, replacing any earlier one.
    pub(crate) fn write(&self, epoch: u64, text: &str) -> Result<(), CheckpointError> {
        write_atomically(&self.path(epoch), text.as_bytes())
    }

    /// The text of `epoch`'s entry, if it exists.
    pub(crate) fn read(&self, epoch: u64) -> Result<Option<String>, CheckpointError> {
        read_text(&self.path(epoch))
    }

    /// The file of the compaction of every entry up to `epoch` (Spark's `<batch>.compact`).
    pub(crate) fn compact_path(&self, epoch: u64) -> PathBuf {
        self.directory.join(format!("{epoch}{COMPACT_SUFFIX}"))
    }

    /// The epochs that have a compaction, in increasing order.
    pub(crate) fn compactions(&self) -> Result<Vec<u64>, CheckpointError> {
        Ok(self
            .names()?
            .iter()
            .filter_map(|name| name.strip_suffix(COMPACT_SUFFIX)?.parse().ok())
            .collect::<std::collections::BTreeSet<u64>>()
            .into_iter()
            .collect())
    }

    /// The names of the files in the log's directory, temporary files left out.
    fn names(&self) -> Result<Vec<String>, CheckpointError> {
        let entries = match fs::read_dir(&self.directory) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CheckpointError::io(&self.directory, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| CheckpointError::io(&self.directory, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(TEMPORARY_PREFIX) {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// The epochs that have an entry, in increasing order. Temporary files (a write a crash
    /// interrupted) are not entries; any other name that is not a number is a stray file and
    /// is ignored too.
    pub(crate) fn epochs(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut epochs: Vec<u64> = self
            .names()?
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect();
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// The greatest epoch with an entry.
    pub(crate) fn latest(&self) -> Result<Option<u64>, CheckpointError> {
        Ok(self.epochs()?.last().copied())
    }

    /// Deletes the entries of epochs before `epoch` (Spark's `minBatchesToRetain`). Failing to
    /// delete an old entry loses nothing, so it is not an error.
    pub(crate) fn purge_before(&self, epoch: u64) -> Result<(), CheckpointError> {
        for old in self.epochs()?.into_iter().take_while(|e| *e < epoch) {
            if let Err(e) = fs::remove_file(self.path(old)) {
                tracing::debug!("could not delete {}: {e}", self.path(old).display());
            }
        }
        Ok(())
    }

    /// The directory the log keeps its entries in.
    pub(crate) fn directory(&self) -> &Path {
        &self.directory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_listed_by_epoch_and_temporary_files_are_not_entries() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = EpochLog::new(dir.path().join("offsets"));
        assert_eq!(log.latest().expect("latest"), None);
        for epoch in [10, 2, 1] {
            log.write(epoch, &format!("entry {epoch}")).expect("write");
        }
        fs::write(log.directory().join(".tmp-11-abc"), "half").expect("stray temporary");
        assert_eq!(log.epochs().expect("epochs"), vec![1, 2, 10]);
        assert_eq!(log.read(2).expect("read").as_deref(), Some("entry 2"));
        log.purge_before(2).expect("purge");
        assert_eq!(log.epochs().expect("epochs"), vec![2, 10]);
    }
}
