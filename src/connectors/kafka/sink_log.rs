//! The Kafka sink's log in the checkpoint: for each epoch, where every partition it writes to
//! ended before the epoch was written (`sinks/kafka/<epoch>`, Spark's offset JSON).
//!
//! An epoch that a crash cut short is run again after the restart with the same rows. The log
//! says where its records can be: reading back from those offsets, the sink finds the records
//! the first attempt wrote (by the query id, epoch and sequence number in their headers) and
//! writes only the others.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::offsets::{from_json, to_json, PartitionOffsets};

/// The log of one query's Kafka sink.
#[derive(Clone, Debug)]
pub struct SinkLog {
    dir: PathBuf,
}

impl SinkLog {
    /// The log under the checkpoint at `checkpoint`.
    pub fn new(checkpoint: &Path) -> Self {
        SinkLog {
            dir: checkpoint.join("sinks").join("kafka"),
        }
    }

    fn path(&self, epoch: u64) -> PathBuf {
        self.dir.join(epoch.to_string())
    }

    /// Where the partitions ended before `epoch` was first written, if it was.
    pub fn read(&self, epoch: u64) -> Result<Option<PartitionOffsets>, String> {
        let path = self.path(epoch);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let json: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("{} is corrupt: {e}", path.display()))?;
                from_json(&json)
                    .map(Some)
                    .ok_or_else(|| format!("{} is corrupt: not partition offsets", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Logs where the partitions end before `epoch` is written, durably (temp file, fsync,
    /// rename), and forgets the entries of epochs before the one before it.
    pub fn write(&self, epoch: u64, ends: &PartitionOffsets) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("{}: {e}", self.dir.display());
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let temporary = self.dir.join(format!(".{epoch}.tmp"));
        {
            let mut file = std::fs::File::create(&temporary).map_err(fail)?;
            file.write_all(to_json(ends).to_string().as_bytes())
                .map_err(fail)?;
            file.sync_all().map_err(fail)?;
        }
        std::fs::rename(&temporary, self.path(epoch)).map_err(fail)?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
        // Only the epoch being written can need its entry again.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let old = entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok());
                if old.is_some_and(|old| old + 1 < epoch) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epochs_ends_read_back_as_written_and_old_entries_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = SinkLog::new(dir.path());
        assert_eq!(log.read(0).expect("read"), None);
        let ends = PartitionOffsets::from([(("t".to_string(), 0), 5), (("t".to_string(), 1), 0)]);
        for epoch in 0..4 {
            log.write(epoch, &ends).expect("write");
        }
        assert_eq!(log.read(3).expect("read"), Some(ends.clone()));
        assert_eq!(log.read(2).expect("read"), Some(ends));
        assert_eq!(log.read(1).expect("read"), None, "forgotten");
        std::fs::write(dir.path().join("sinks/kafka/9"), "{").expect("write");
        assert!(log.read(9).is_err());
    }
}
