//! `loop`: the hand-written word count, the practical limit. One hash map of counts; per epoch
//! it splits the epoch's lines, bumps counts, and emits the changed words with their new counts
//! (sorted, as the other engines' output is). For `join`, see [`join_count`].

use std::time::Instant;

use foldhash::HashMap;
use foldhash::HashMapExt;

use super::EngineRun;
use crate::data::Transaction;
use crate::digest::Digest;

/// The loop's word-count state: per word its count and the last epoch in which it changed,
/// and the words changed in the current epoch.
#[derive(Default)]
pub struct WordCounts {
    counts: HashMap<String, (i64, u64)>,
    changed: Vec<String>,
}

impl WordCounts {
    /// Counts the words of `line` (split on single spaces, as Spark's `split(value, " ")`)
    /// in `epoch`.
    pub fn add_line(&mut self, line: &str, epoch: u64) {
        for word in line.split(' ') {
            match self.counts.get_mut(word) {
                Some((count, last)) => {
                    *count += 1;
                    if *last != epoch {
                        *last = epoch;
                        self.changed.push(word.to_string());
                    }
                }
                None => {
                    self.counts.insert(word.to_string(), (1, epoch));
                    self.changed.push(word.to_string());
                }
            }
        }
    }

    /// Ends the epoch: its changed words with their new counts, sorted by word.
    pub fn finish_epoch(&mut self) -> impl Iterator<Item = (String, i64)> + '_ {
        self.changed.sort_unstable();
        let counts = &self.counts;
        self.changed.drain(..).map(move |word| {
            let count = counts[word.as_str()].0;
            (word, count)
        })
    }

    /// Every word with its count, in no order.
    pub fn totals(&self) -> impl Iterator<Item = (&str, i64)> {
        self.counts
            .iter()
            .map(|(word, (count, _))| (word.as_str(), *count))
    }
}

/// Runs the word count over `lines`, `lines_per_epoch` lines an epoch.
pub fn word_count(lines: &[String], lines_per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut counts = WordCounts::default();
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    for (epoch, chunk) in lines.chunks(lines_per_epoch.max(1)).enumerate() {
        let epoch_started = Instant::now();
        let epoch = epoch as u64;
        for line in chunk {
            counts.add_line(line, epoch);
        }
        digest.epoch(epoch, counts.finish_epoch());
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest.value())
}

/// A small `join` workload for the engines' tests: 500 transactions over 40 users, 64 an
/// epoch, the users table in a CSV file (its directory kept while the fixture lives), and this
/// loop's digest of it, which every engine must equal.
#[cfg(test)]
pub(crate) struct SmallJoin {
    _dir: tempfile::TempDir,
    pub users: std::path::PathBuf,
    pub transactions: Vec<Transaction>,
    pub per_epoch: usize,
    pub expected: String,
}

#[cfg(test)]
impl SmallJoin {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let users = dir.path().join("users.csv");
        std::fs::write(&users, crate::data::users_csv(&crate::data::users(40))).expect("users written");
        let transactions = crate::data::transactions(5, 500, 40);
        let per_epoch = 64;
        let expected = join_count(&transactions, &users, per_epoch)
            .expect("loop runs")
            .digest;
        SmallJoin {
            _dir: dir,
            users,
            transactions,
            per_epoch,
            expected,
        }
    }
}

/// Runs the `join` workload over `transactions`, `per_epoch` an epoch: reads the users table
/// from `users_csv` (the file Tidewater reads), then each transaction looks up its user's
/// country and bumps that country's `(count, sum)`; per epoch the changed countries are
/// emitted, sorted, with their new totals.
pub fn join_count(
    transactions: &[Transaction],
    users_csv: &std::path::Path,
    per_epoch: usize,
) -> anyhow::Result<EngineRun> {
    let started = Instant::now();
    let users = crate::data::read_users_csv(users_csv)?;
    let country_of: HashMap<i64, &str> = users.iter().map(|(id, c)| (*id, c.as_str())).collect();
    // Per country: count, sum and the last epoch in which it changed.
    let mut totals: HashMap<&str, (i64, i64, u64)> = HashMap::new();
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    let mut changed: Vec<&str> = Vec::new();
    for (epoch, chunk) in transactions.chunks(per_epoch.max(1)).enumerate() {
        let epoch_started = Instant::now();
        let epoch = epoch as u64;
        for (user_id, amount) in chunk {
            let Some(&country) = country_of.get(user_id) else {
                continue;
            };
            let entry = totals.entry(country).or_insert((0, 0, u64::MAX));
            entry.0 += 1;
            entry.1 += amount;
            if entry.2 != epoch {
                entry.2 = epoch;
                changed.push(country);
            }
        }
        changed.sort_unstable();
        digest.epoch_sums(
            epoch,
            changed.iter().map(|c| {
                let (count, sum, _) = totals[c];
                (*c, count, sum)
            }),
        );
        changed.clear();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(EngineRun::measured(
        started.elapsed().as_secs_f64(),
        epoch_ms,
        digest.value(),
    ))
}
