//! A digest of a run's output (every epoch's changed rows, in order: `(word, count)` for
//! `wordcount`, `(country, count, sum)` for `join`), so that engines can be checked to agree
//! without shipping their outputs around.
//!
//! Engines without epochs (Flink) can only be compared on what the output says at the end:
//! with [`keep_final_table`] on, a digest keeps the last row written for each key instead, and
//! its value is the digest of that final table ([`final_table`]), which every engine can give.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether new digests keep the final table rather than the per-epoch rows.
static KEEP_FINAL: AtomicBool = AtomicBool::new(false);

/// Makes the digests created from now on digest the final table: for each key the last row
/// written (the last count of a word in update mode; every window written in append mode).
/// `compare` turns it on, in every engine's process, when an engine without epochs runs.
pub fn keep_final_table(on: bool) {
    KEEP_FINAL.store(on, Ordering::SeqCst);
}

/// Whether digests keep the final table (see [`keep_final_table`]).
pub fn keeps_final_table() -> bool {
    KEEP_FINAL.load(Ordering::SeqCst)
}

/// The last `(count, sum)` written for each key.
type FinalTable = HashMap<String, (i64, Option<i64>)>;

/// Accumulates epochs of sorted `(word, count)` rows.
#[derive(Debug)]
pub struct Digest {
    hasher: DefaultHasher,
    rows: u64,
    last: Option<FinalTable>,
}

impl Default for Digest {
    /// A digest of the per-epoch rows, or of the final table when [`keep_final_table`] is on.
    fn default() -> Self {
        Digest {
            hasher: DefaultHasher::new(),
            rows: 0,
            last: keeps_final_table().then(FinalTable::default),
        }
    }
}

impl Digest {
    /// A digest of the final table, whatever [`keep_final_table`] says.
    #[cfg(test)]
    pub fn of_final_table() -> Self {
        Digest {
            last: Some(FinalTable::default()),
            ..Digest::default()
        }
    }

    /// Adds one epoch's rows, which must be sorted by word.
    pub fn epoch<S: AsRef<str>>(&mut self, epoch: u64, rows: impl IntoIterator<Item = (S, i64)>) {
        if let Some(last) = &mut self.last {
            for (word, count) in rows {
                keep(last, word.as_ref(), (count, None));
            }
            return;
        }
        epoch.hash(&mut self.hasher);
        for (word, count) in rows {
            word.as_ref().hash(&mut self.hasher);
            count.hash(&mut self.hasher);
            self.rows += 1;
        }
    }

    /// Adds one epoch's `(key, count, sum)` rows, which must be sorted by key.
    pub fn epoch_sums<'a>(&mut self, epoch: u64, rows: impl IntoIterator<Item = (&'a str, i64, i64)>) {
        if let Some(last) = &mut self.last {
            for (key, count, sum) in rows {
                keep(last, key, (count, Some(sum)));
            }
            return;
        }
        epoch.hash(&mut self.hasher);
        for (key, count, sum) in rows {
            key.hash(&mut self.hasher);
            count.hash(&mut self.hasher);
            sum.hash(&mut self.hasher);
            self.rows += 1;
        }
    }

    /// The digest value: of the per-epoch rows, or of the final table.
    pub fn value(&self) -> String {
        match &self.last {
            Some(last) => final_table(last.iter().map(|(k, &(c, s))| (k.as_str(), c, s))),
            None => format!("{:016x}/{}", self.hasher.finish(), self.rows),
        }
    }
}

/// Keeps `value` as the last row of `key`, allocating only for a new key.
fn keep(last: &mut FinalTable, key: &str, value: (i64, Option<i64>)) {
    match last.get_mut(key) {
        Some(old) => *old = value,
        None => {
            last.insert(key.to_string(), value);
        }
    }
}

/// The digest of a final table of `(key, count, sum)` rows, in any order (one row per key):
/// `final:<hash>/<rows>`.
pub fn final_table<'a>(rows: impl IntoIterator<Item = (&'a str, i64, Option<i64>)>) -> String {
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_unstable();
    let mut hasher = DefaultHasher::new();
    for (key, count, sum) in &rows {
        key.hash(&mut hasher);
        count.hash(&mut hasher);
        sum.hash(&mut hasher);
    }
    format!("final:{:016x}/{}", hasher.finish(), rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_table_keeps_each_keys_last_row() {
        let mut updates = Digest::of_final_table();
        updates.epoch(0, [("a", 1), ("b", 2)]);
        updates.epoch(1, [("a", 3)]);
        updates.epoch(2, [("c", 1)]);
        assert_eq!(
            updates.value(),
            final_table([("c", 1, None), ("a", 3, None), ("b", 2, None)])
        );
        assert_ne!(
            updates.value(),
            final_table([("a", 1, None), ("b", 2, None), ("c", 1, None)])
        );
        assert!(updates.value().ends_with("/3"), "{}", updates.value());
    }
}
