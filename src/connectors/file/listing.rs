//! Finding a file source's files: a directory or a glob, oldest first, each file once.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Lists the data files of `path`: the files in it if it is a directory, the matches if it is
/// a glob. Hidden files (`.` or `_` first, like Spark's) and directories are skipped. Sorted
/// by modification time, then name.
pub fn list_files(path: &str) -> std::io::Result<Vec<PathBuf>> {
    let candidates: Vec<PathBuf> = if Path::new(path).is_dir() {
        std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect()
    } else if path.contains(['*', '?', '[']) {
        glob::glob(path)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?
            .filter_map(Result::ok)
            .collect()
    } else if Path::new(path).is_file() {
        vec![PathBuf::from(path)]
    } else {
        // A directory that does not exist yet simply has no files.
        Vec::new()
    };
    let mut files: Vec<(SystemTime, PathBuf)> = candidates
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && !name.starts_with('_')
        })
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            meta.is_file()
                .then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), p))
        })
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Whether `path` names something that exists: a directory, a file, or a glob that matches
/// at least one entry.
pub fn path_exists(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    path.contains(['*', '?', '[']) && glob::glob(path).is_ok_and(|mut matches| matches.any(|m| m.is_ok()))
}

/// The files of a path not handed out before.
#[derive(Debug, Default)]
pub struct NewFiles {
    seen: HashSet<PathBuf>,
}

impl NewFiles {
    /// Counts `file` as seen: it is never handed out (a file an earlier run of the query read).
    pub fn mark_seen(&mut self, file: PathBuf) {
        self.seen.insert(file);
    }

    /// The files of `path` not seen yet, in order; they count as seen from now on.
    pub fn take(&mut self, path: &str) -> std::io::Result<Vec<PathBuf>> {
        let mut fresh = list_files(path)?;
        fresh.retain(|p| self.seen.insert(p.clone()));
        Ok(fresh)
    }
}
