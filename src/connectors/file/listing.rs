//! Finding a file source's files: a directory (or its whole tree) or a glob, each file once, in
//! Spark's order and under Spark's listing options (`pathGlobFilter`, `recursiveFileLookup`,
//! `latestFirst`, `maxFileAge`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::connectors::Options;
use crate::error::{Error, Result};

/// Spark's default `maxFileAge`: a week.
const DEFAULT_MAX_FILE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How a path is listed, from the source's options.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// `pathGlobFilter`: only files whose name matches.
    name_filter: Option<glob::Pattern>,
    /// `recursiveFileLookup`: the files of subdirectories too (hidden ones skipped).
    recursive: bool,
    /// `latestFirst`: newest files first.
    pub(super) latest_first: bool,
    /// `maxFileAge`: a file older than the newest file seen by more than this is ignored (never
    /// in the first listing). `None` when `latestFirst` and `maxFilesPerTrigger` are both set,
    /// where Spark ignores it.
    max_age: Option<Duration>,
}

impl Listing {
    /// Reads `pathGlobFilter`, `recursiveFileLookup`, `latestFirst` and `maxFileAge` (an
    /// interval such as `7d`, `1 hour`; default a week).
    pub fn from_options(options: &Options) -> Result<Self> {
        let name_filter = match options.get("pathGlobFilter") {
            None => None,
            Some(text) => Some(glob::Pattern::new(text).map_err(|e| {
                Error::InvalidOption(format!("option `pathGlobFilter` = `{text}` is not a glob: {e}"))
            })?),
        };
        let latest_first = options.bool_or("latestFirst", false)?;
        let max_age = match options.get("maxFileAge") {
            None => DEFAULT_MAX_FILE_AGE,
            Some(text) => parse_age(text)?,
        };
        let limited = options.get("maxFilesPerTrigger").is_some();
        Ok(Listing {
            name_filter,
            recursive: options.bool_or("recursiveFileLookup", false)?,
            latest_first,
            max_age: (!(latest_first && limited)).then_some(max_age),
        })
    }

    /// The data files of `path` with their modification times: the files in it if it is a
    /// directory (in its whole tree with `recursiveFileLookup`), the matches if it is a glob.
    /// Hidden files and directories (`.` or `_` first, like Spark's) are skipped, and so are
    /// names `pathGlobFilter` does not match. Oldest first (newest first with `latestFirst`),
    /// then by name.
    pub fn list(&self, path: &str) -> std::io::Result<Vec<(SystemTime, PathBuf)>> {
        let mut candidates = Vec::new();
        if Path::new(path).is_dir() {
            self.walk(Path::new(path), &mut candidates)?;
        } else if path.contains(['*', '?', '[']) {
            let matches = glob::glob(path)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
            for found in matches.filter_map(std::result::Result::ok) {
                if self.recursive && found.is_dir() && !hidden(&found) {
                    self.walk(&found, &mut candidates)?;
                } else {
                    candidates.push(found);
                }
            }
        } else if Path::new(path).is_file() {
            candidates.push(PathBuf::from(path));
        }
        // A directory that does not exist yet simply has no files.
        let mut files: Vec<(SystemTime, PathBuf)> = candidates
            .into_iter()
            .filter(|p| !hidden(p) && self.name_matches(p))
            .filter_map(|p| {
                let meta = std::fs::metadata(&p).ok()?;
                meta.is_file()
                    .then(|| (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), p))
            })
            .collect();
        files.sort();
        if self.latest_first {
            files.sort_by(|(t1, p1), (t2, p2)| t2.cmp(t1).then_with(|| p1.cmp(p2)));
        }
        Ok(files)
    }

    /// The entries of `dir`, and with `recursiveFileLookup` those of its visible subdirectories.
    fn walk(&self, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            if self.recursive && path.is_dir() {
                if !hidden(&path) {
                    self.walk(&path, out)?;
                }
            } else {
                out.push(path);
            }
        }
        Ok(())
    }

    fn name_matches(&self, path: &Path) -> bool {
        let Some(filter) = &self.name_filter else {
            return true;
        };
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|name| filter.matches(name))
    }
}

/// `maxFileAge` as Spark writes it (`7d`, `2h`, `30m`, `10s`, `500ms`) or as an interval
/// (`1 hour`).
fn parse_age(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" | "min" => Some(60_000),
        "h" => Some(3_600_000),
        "d" => Some(86_400_000),
        _ => None,
    };
    match (number.parse::<u64>(), scale) {
        (Ok(n), Some(scale)) => Ok(Duration::from_millis(n.saturating_mul(scale))),
        _ => crate::data::parse_interval(t).map_err(|_| {
            Error::InvalidOption(format!(
                "option `maxFileAge` = `{text}` is not a duration; write it as `7d`, `2h`, `30m` or `1 hour`"
            ))
        }),
    }
}

/// A name that starts with `.` or `_`: hidden from sources, as in Spark.
fn hidden(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || name.starts_with('_')
}

/// Whether `path` names something that exists: a directory, a file, or a glob that matches
/// at least one entry.
pub fn path_exists(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    path.contains(['*', '?', '[']) && glob::glob(path).is_ok_and(|mut matches| matches.any(|m| m.is_ok()))
}

/// The files of a path not handed out before, and the newest modification time seen (from
/// which `maxFileAge` counts).
#[derive(Debug, Default)]
pub struct NewFiles {
    seen: HashMap<PathBuf, SystemTime>,
    newest: Option<SystemTime>,
}

impl NewFiles {
    /// Counts `file` as seen: it is never handed out (a file an earlier run of the query read).
    pub fn mark_seen(&mut self, file: PathBuf) {
        let modified = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.newest = self.newest.max(Some(modified));
        self.seen.insert(file, modified);
    }

    /// The files of `path` not seen yet, in the listing's order, with their modification
    /// times; they count as seen from now on. A file older than `maxFileAge` before the newest
    /// file seen in earlier listings is skipped, as Spark skips it.
    pub fn take(&mut self, path: &str, listing: &Listing) -> std::io::Result<Vec<(SystemTime, PathBuf)>> {
        let oldest = match (listing.max_age, self.newest) {
            (Some(age), Some(newest)) => newest.checked_sub(age),
            _ => None,
        };
        let mut fresh = listing.list(path)?;
        fresh.retain(|(modified, p)| {
            if self.seen.contains_key(p) {
                return false;
            }
            let too_old = oldest.is_some_and(|oldest| *modified < oldest);
            if too_old {
                tracing::debug!("{} is older than maxFileAge and is skipped", p.display());
            }
            self.seen.insert(p.clone(), *modified);
            !too_old
        });
        if let Some(newest) = fresh.iter().map(|(t, _)| *t).max() {
            self.newest = self.newest.max(Some(newest));
        }
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(pairs: &[(&str, &str)]) -> Listing {
        let mut options = Options::default();
        for (k, v) in pairs {
            options.set(k, v);
        }
        Listing::from_options(&options).expect("options")
    }

    /// Writes `name` under `dir` with modification time `seconds` after the Unix epoch.
    fn put(dir: &Path, name: &str, seconds: u64) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, name).expect("write");
        let file = std::fs::File::options().write(true).open(&path).expect("open");
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
            .expect("set time");
    }

    fn names(files: &[(SystemTime, PathBuf)], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|(_, p)| p.strip_prefix(root).expect("under root").display().to_string())
            .collect()
    }

    #[test]
    fn options_filter_names_descend_into_directories_and_order_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        put(root, "a.csv", 100);
        put(root, "b.txt", 200);
        put(root, "sub/c.csv", 300);
        put(root, "_hidden/d.csv", 400);
        put(root, "sub/.e.csv", 500);
        let path = root.display().to_string();
        assert_eq!(
            names(&listing(&[]).list(&path).expect("list"), root),
            ["a.csv", "b.txt"]
        );
        assert_eq!(
            names(
                &listing(&[("recursiveFileLookup", "true")])
                    .list(&path)
                    .expect("list"),
                root
            ),
            ["a.csv", "b.txt", "sub/c.csv"]
        );
        assert_eq!(
            names(
                &listing(&[("recursiveFileLookup", "true"), ("pathGlobFilter", "*.csv")])
                    .list(&path)
                    .expect("list"),
                root
            ),
            ["a.csv", "sub/c.csv"]
        );
        assert_eq!(
            names(
                &listing(&[("recursiveFileLookup", "true"), ("latestFirst", "true")])
                    .list(&path)
                    .expect("list"),
                root
            ),
            ["sub/c.csv", "b.txt", "a.csv"]
        );
        let bad = Listing::from_options(&{
            let mut o = Options::default();
            o.set("pathGlobFilter", "[");
            o
        });
        assert_eq!(bad.expect_err("not a glob").code(), "INVALID_OPTION");
    }

    #[test]
    fn max_file_age_counts_back_from_the_newest_file_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let path = root.display().to_string();
        // An hour's age: the first listing takes everything, even a file two hours older.
        let hour = listing(&[("maxFileAge", "1h")]);
        put(root, "old.txt", 10_000);
        put(root, "new.txt", 17_200);
        let mut files = NewFiles::default();
        assert_eq!(
            names(&files.take(&path, &hour).expect("list"), root),
            ["old.txt", "new.txt"]
        );
        // The newest seen is 17,200 s: 13,600 s is the oldest time still taken.
        put(root, "late.txt", 13_599);
        put(root, "edge.txt", 13_600);
        assert_eq!(
            names(&files.take(&path, &hour).expect("list"), root),
            ["edge.txt"]
        );
        assert!(
            files.take(&path, &hour).expect("list").is_empty(),
            "each file once"
        );
        // With latestFirst and maxFilesPerTrigger, Spark ignores maxFileAge.
        let ignored = listing(&[
            ("maxFileAge", "1h"),
            ("latestFirst", "true"),
            ("maxFilesPerTrigger", "1"),
        ]);
        let mut files = NewFiles::default();
        files.take(&path, &ignored).expect("list");
        put(root, "older.txt", 1);
        assert_eq!(
            names(&files.take(&path, &ignored).expect("list"), root),
            ["older.txt"]
        );
        assert_eq!(parse_age("7d").expect("age"), DEFAULT_MAX_FILE_AGE);
        assert_eq!(parse_age("1 hour").expect("age"), Duration::from_secs(3600));
        assert!(parse_age("soon").is_err());
    }
}
