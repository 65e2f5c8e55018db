//! Writing checkpoint files so that a crash never leaves a half-written one under its real
//! name: write a temporary file, fsync it, rename it into place, fsync the directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::CheckpointError;

/// The prefix of temporary files; readers skip every name that starts with it.
pub(super) const TEMPORARY_PREFIX: &str = ".tmp-";

/// Writes `bytes` to `path` atomically and durably. A crash leaves either the old file (or
/// none) or the new one, never a part: the bytes go to a temporary file in the same directory,
/// which is fsynced and then renamed over `path`, and the directory is fsynced so the rename
/// itself survives a power loss.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let directory = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = directory.join(format!("{TEMPORARY_PREFIX}{name}-{}", uuid::Uuid::new_v4()));
    let io = |e| CheckpointError::io(path, e);
    fs::create_dir_all(directory).map_err(io)?;
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        // Best effort: a stray temporary file is ignored by readers anyway.
        let _ = fs::remove_file(&temporary);
        return Err(io(e));
    }
    sync_directory(directory).map_err(io)
}

/// Fsyncs a directory, so that the names created or renamed in it are durable.
pub(super) fn sync_directory(directory: &Path) -> std::io::Result<()> {
    File::open(directory)?.sync_all()
}

/// The bytes of a checkpoint file that must exist.
pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    fs::read(path).map_err(|e| CheckpointError::io(path, e))
}

/// The text of a checkpoint file, or `None` if it does not exist.
pub(super) fn read_text(path: &Path) -> Result<Option<String>, CheckpointError> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| CheckpointError::Corrupt {
                path: path.display().to_string(),
                reason: "it is not UTF-8 text".into(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CheckpointError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("nested/file");
        write_atomically(&path, b"first").expect("write");
        write_atomically(&path, b"second").expect("rewrite");
        assert_eq!(read_text(&path).expect("read").as_deref(), Some("second"));
        let names: Vec<_> = fs::read_dir(dir.path().join("nested"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file")]);
        assert_eq!(read_text(&dir.path().join("missing")).expect("read"), None);
    }
}
