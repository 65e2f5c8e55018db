//! A digest of a run's output (every epoch's changed rows, in order: `(word, count)` for
//! `wordcount`, `(country, count, sum)` for `join`), so that engines can be checked to agree
//! without shipping their outputs around.

use std::hash::{DefaultHasher, Hash, Hasher};

/// Accumulates epochs of sorted `(word, count)` rows.
#[derive(Debug, Default)]
pub struct Digest {
    hasher: DefaultHasher,
    rows: u64,
}

impl Digest {
    /// Adds one epoch's rows, which must be sorted by word.
    pub fn epoch<S: AsRef<str>>(&mut self, epoch: u64, rows: impl IntoIterator<Item = (S, i64)>) {
        epoch.hash(&mut self.hasher);
        for (word, count) in rows {
            word.as_ref().hash(&mut self.hasher);
            count.hash(&mut self.hasher);
            self.rows += 1;
        }
    }

    /// Adds one epoch's `(key, count, sum)` rows, which must be sorted by key.
    pub fn epoch_sums<'a>(&mut self, epoch: u64, rows: impl IntoIterator<Item = (&'a str, i64, i64)>) {
        epoch.hash(&mut self.hasher);
        for (key, count, sum) in rows {
            key.hash(&mut self.hasher);
            count.hash(&mut self.hasher);
            sum.hash(&mut self.hasher);
            self.rows += 1;
        }
    }

    /// The digest value.
    pub fn value(&self) -> String {
        format!("{:016x}/{}", self.hasher.finish(), self.rows)
    }
}
