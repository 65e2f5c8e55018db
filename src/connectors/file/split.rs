//! Cutting an epoch's files into byte ranges, so that every worker reads and parses a share
//! of the epoch even when it has one large file, as Spark cuts files into partitions.
//!
//! The size of a range follows the shape of Spark's rule (`FilePartition.maxSplitBytes`):
//! `min(maxPartitionBytes, max(floor, total / workers))`, where `total` is the epoch's bytes.
//! Spark's floor is `openCostInBytes` (4 MB), the cost of starting a task; a range here costs
//! an open and a seek, so the floor is [`MIN_RANGE_BYTES`] (256 KiB), and an epoch of one
//! 1 MB file still gives every worker of four a part. A file is cut into ranges of equal size
//! (none above that size), so no worker waits on a larger share of it. Many small files are
//! not cut (each is one item, as before). The ranges are then dealt to the workers, largest first, each to the
//! worker with the fewest bytes so far (a range weighs its bytes plus [`OPEN_COST_BYTES`]),
//! and each range names the worker that reads it.
//!
//! A range is read by Hadoop's `LineRecordReader` rule (see `read.rs`): a range that does not
//! start at byte 0 skips through its first line break, and every range reads the line that
//! straddles its end. Every line is then read by exactly one range, whatever the cuts, so the
//! rows of a file, as a multiset, do not depend on the number of workers.

use crate::data::{Row, Value};
use crate::error::{Error, Result};

/// Spark's `spark.sql.files.maxPartitionBytes`: the largest byte range of a file that one
/// worker reads as one work item (default 128 MB).
pub const MAX_PARTITION_BYTES_CONF: &str = "spark.sql.files.maxPartitionBytes";

const DEFAULT_MAX_PARTITION_BYTES: u64 = 128 << 20;

/// The smallest range a file is cut into to give every worker work: small enough that an
/// epoch of one modest file still spreads, large enough that opening and seeking (tens of
/// microseconds) stay far below the range's parsing.
pub const MIN_RANGE_BYTES: u64 = 256 << 10;

/// What a work item weighs beyond its bytes when ranges are dealt to workers: opening it
/// costs about as much as reading this many bytes.
pub const OPEN_COST_BYTES: u64 = 64 << 10;

/// How a file source cuts its files (see the module's doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SplitSize {
    /// The largest range, in bytes; `None`: files are never cut (formats whose records may
    /// span lines).
    pub(crate) max_partition_bytes: Option<u64>,
    /// The smallest range a file is cut into, in bytes.
    pub(crate) min_range: u64,
}

impl Default for SplitSize {
    fn default() -> Self {
        SplitSize {
            max_partition_bytes: Some(DEFAULT_MAX_PARTITION_BYTES),
            min_range: MIN_RANGE_BYTES,
        }
    }
}

impl SplitSize {
    /// Reads [`MAX_PARTITION_BYTES_CONF`] from the session's configuration.
    pub(crate) fn from_conf(conf: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let read = |key: &str, default: u64| -> Result<u64> {
            match conf(key) {
                None => Ok(default),
                Some(raw) => parse_bytes(&raw).filter(|n| *n > 0).ok_or_else(|| {
                    Error::InvalidOption(format!(
                        "`{key}` = `{raw}`: use a positive number of bytes, such as 134217728, 128m or 4mb"
                    ))
                }),
            }
        };
        Ok(SplitSize {
            max_partition_bytes: Some(read(MAX_PARTITION_BYTES_CONF, DEFAULT_MAX_PARTITION_BYTES)?),
            min_range: MIN_RANGE_BYTES,
        })
    }

    /// The size ranges are cut to for an epoch of files of `lengths` bytes read by `workers`
    /// workers; `None` when files stay whole.
    pub(crate) fn range_bytes(&self, lengths: &[u64], workers: usize) -> Option<u64> {
        let max = self.max_partition_bytes?;
        let total: u64 = lengths.iter().copied().fold(0, u64::saturating_add);
        let per_worker = total.div_ceil(workers.max(1) as u64);
        Some(max.min(self.min_range.max(per_worker)).max(1))
    }

    /// Cuts the files `items` names (`[path]` rows, as the lister hands them over) into the
    /// items the workers read: `[path]` for a file read whole, `[path, start, end, worker]`
    /// for a byte range. Every item names the worker that reads it (see [`route`]); the order
    /// is the files' order, and within a file the ranges' order. A file that cannot be
    /// examined stays whole: reading it reports why.
    pub(crate) fn plan(&self, items: Vec<Row>, workers: usize) -> Vec<Row> {
        let lengths: Vec<Option<u64>> = items
            .iter()
            .map(|item| {
                let path = item.first().and_then(Value::as_str)?;
                std::fs::metadata(path).ok().map(|m| m.len())
            })
            .collect();
        let known: Vec<u64> = lengths.iter().flatten().copied().collect();
        let Some(range_bytes) = self.range_bytes(&known, workers) else {
            return items;
        };
        // (item index, start, end): a file read whole has its length as the end.
        let mut pieces: Vec<(usize, u64, u64)> = Vec::with_capacity(items.len());
        for (i, len) in lengths.iter().enumerate() {
            match len {
                Some(len) if *len > range_bytes => {
                    // Cut into equal ranges, none above `range_bytes`: a remainder range much
                    // smaller than the rest would leave its worker idle for the difference
                    // (a 478 KB file cut at 256 KiB gave one worker 55% of it).
                    let count = len.div_ceil(range_bytes);
                    let size = len.div_ceil(count);
                    let mut start = 0;
                    while start < *len {
                        let end = (start + size).min(*len);
                        pieces.push((i, start, end));
                        start = end;
                    }
                }
                _ => pieces.push((i, 0, len.unwrap_or(0))),
            }
        }
        let workers_of = deal(&pieces, OPEN_COST_BYTES, workers);
        pieces
            .iter()
            .zip(workers_of)
            .map(|(&(i, start, end), worker)| {
                let path = items[i].first().cloned().unwrap_or_default();
                let cut = lengths[i].is_some_and(|len| len > range_bytes);
                if !cut {
                    // Whole: -1 as the end reads to the file's end, whatever its length then.
                    Row::from(vec![
                        path,
                        Value::Int(0),
                        Value::Int(-1),
                        Value::Int(worker as i64),
                    ])
                } else {
                    Row::from(vec![
                        path,
                        Value::Int(start as i64),
                        Value::Int(end as i64),
                        Value::Int(worker as i64),
                    ])
                }
            })
            .collect()
    }
}

/// The worker that reads `item`: the one a planned item names, or by the item's hash for an
/// item not planned (a file read by a run that does not cut them).
pub(crate) fn route(item: &Row) -> u64 {
    match item.get(3).and_then(Value::as_i64) {
        Some(worker) => worker as u64,
        None => differential_dataflow::Hashable::hashed(item),
    }
}

/// The byte range an item asks for: `None` for the whole file.
pub(crate) fn byte_range(item: &Row) -> Option<(u64, u64)> {
    let start = item.get(1).and_then(Value::as_i64)?;
    let end = item.get(2).and_then(Value::as_i64)?;
    (end >= 0 && start >= 0).then_some((start as u64, end as u64))
}

/// Deals `pieces` to `workers` workers: largest first (ties by their order), each to the
/// worker with the fewest bytes so far (ties to the lowest number). Returns each piece's
/// worker, in the pieces' order.
fn deal(pieces: &[(usize, u64, u64)], open_cost: u64, workers: usize) -> Vec<usize> {
    let workers = workers.max(1);
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&p| (std::cmp::Reverse(pieces[p].2 - pieces[p].1), p));
    let mut load = vec![0u64; workers];
    let mut assigned = vec![0; pieces.len()];
    for p in order {
        let (worker, _) = load
            .iter()
            .enumerate()
            .min_by_key(|&(w, bytes)| (*bytes, w))
            .unwrap_or((0, &0));
        load[worker] += pieces[p].2 - pieces[p].1 + open_cost;
        assigned[p] = worker;
    }
    assigned
}

/// A number of bytes as Spark's configuration writes it: `134217728`, `128m`, `128mb`, `4k`,
/// `1g` (binary units, any case).
fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim() {
        "" | "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        "t" | "tb" => 40,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_as_spark_writes_them() {
        assert_eq!(parse_bytes("134217728"), Some(134_217_728));
        assert_eq!(parse_bytes("128m"), Some(128 * 1024 * 1024));
        assert_eq!(parse_bytes(" 4MB "), Some(4 * 1024 * 1024));
        assert_eq!(parse_bytes("2k"), Some(2048));
        assert_eq!(parse_bytes("12 x"), None);
        assert_eq!(parse_bytes("-5"), None);
        assert_eq!(parse_bytes("99999999999g"), None);
    }

    #[test]
    fn a_range_is_the_smallest_of_the_limit_and_the_share_of_a_worker_but_not_below_the_floor() {
        let split = SplitSize::default();
        let mb = 1 << 20;
        // One 100 MB file, 4 workers: 25 MB each.
        assert_eq!(split.range_bytes(&[100 * mb], 4), Some(25 * mb));
        // One 1 GB file, 2 workers: capped at 128 MB.
        assert_eq!(split.range_bytes(&[1024 * mb], 2), Some(128 * mb));
        // One 1 MB file, 2 workers: halves.
        assert_eq!(split.range_bytes(&[mb], 2), Some(mb / 2));
        // Small files: never below 256 KiB.
        assert_eq!(split.range_bytes(&[mb, mb], 16), Some(mb / 4));
        let never = SplitSize {
            max_partition_bytes: None,
            ..split
        };
        assert_eq!(never.range_bytes(&[1024 * mb], 2), None);
    }

    #[test]
    fn pieces_are_dealt_largest_first_to_the_least_loaded_worker() {
        // Sizes 10, 30, 20, 30 (no open cost): 30 -> w0, 30 -> w1; both then hold 30, so 20
        // goes to w0 (the lower number), then 10 to w1.
        let pieces = [(0, 0, 10), (1, 0, 30), (2, 0, 20), (3, 0, 30)];
        assert_eq!(deal(&pieces, 0, 2), vec![1, 0, 0, 1]);
        assert_eq!(deal(&pieces, 0, 1), vec![0, 0, 0, 0]);
    }

    #[test]
    fn a_large_file_is_cut_into_ranges_that_cover_it_and_are_dealt_to_every_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.txt");
        let small = dir.path().join("small.txt");
        std::fs::write(&big, vec![b'x'; 1000]).expect("write");
        std::fs::write(&small, b"hello\n").expect("write");
        let split = SplitSize {
            max_partition_bytes: Some(300),
            min_range: 10,
        };
        let items = vec![
            Row::from(vec![Value::str(big.to_string_lossy())]),
            Row::from(vec![Value::str(small.to_string_lossy())]),
        ];
        let planned = split.plan(items, 4);
        // The epoch's total is 1006 bytes, 252 per worker (rounded up): below the 300-byte
        // limit, so ranges of at most 252; four of them, cut equal, are 250 bytes each.
        let ranges: Vec<Option<(u64, u64)>> = planned.iter().map(byte_range).collect();
        assert_eq!(
            ranges,
            vec![
                Some((0, 250)),
                Some((250, 500)),
                Some((500, 750)),
                Some((750, 1000)),
                None
            ]
        );
        // The four equal ranges go to workers 0, 1, 2 and 3; the 6-byte file then goes to
        // worker 0, the first of those holding the fewest bytes.
        let workers: Vec<u64> = planned.iter().map(route).collect();
        assert_eq!(workers, vec![0, 1, 2, 3, 0]);
        // A file just above the size is cut in two halves, not into a full range and a
        // sliver: 478 bytes at most 262 a range.
        std::fs::write(&big, vec![b'x'; 478]).expect("write");
        let split = SplitSize {
            max_partition_bytes: Some(262),
            min_range: 262,
        };
        let planned = split.plan(vec![Row::from(vec![Value::str(big.to_string_lossy())])], 2);
        let ranges: Vec<Option<(u64, u64)>> = planned.iter().map(byte_range).collect();
        assert_eq!(ranges, vec![Some((0, 239)), Some((239, 478))]);
        assert_eq!(planned.iter().map(route).collect::<Vec<_>>(), vec![0, 1]);
    }
}
