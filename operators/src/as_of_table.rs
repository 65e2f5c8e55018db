//! [`AsOfTable`]: a keyed table that a stream is probed against *as of* each record's time.
//!
//! Shared by the operators that look stream records up in a table without keeping the records
//! ([`lookup_join`](crate::lookup_join()) and [`lookup_aggregate_into`](crate::lookup_aggregate_into())).
//! Both follow one rule, which makes their answers independent of how records and table updates
//! interleave on the wire: a record at time `t` sees exactly the table updates at times `<= t`.
//! So table updates are staged by time, an update at `u` is applied once no record before `u` can
//! still be probed, and a record at `t` is probed once the table input is complete through `t`
//! and every staged update at or before `t` has been applied.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;
use std::hash::Hash;

use timely::order::TotalOrder;
use timely::progress::frontier::MutableAntichain;
use timely::progress::Timestamp;

/// A table as applied so far: each key's rows with their multiplicities.
///
/// A key with one row (the usual case for a table keyed by its primary key) keeps it in the
/// map's entry itself, and the entry is no larger than that row: a large table is probed at the
/// speed of its cache misses, so the fewer bytes an entry takes, the more of a table's hot keys
/// stay in the cache.
pub struct TableRows<K, V> {
    rows: foldhash::HashMap<K, KeyRows<V>>,
}

impl<K, V> Default for TableRows<K, V> {
    fn default() -> Self {
        TableRows {
            rows: Default::default(),
        }
    }
}

impl<K: Hash + Eq, V> TableRows<K, V> {
    /// The rows of `key` with their multiplicities (empty when it has none), looked up by any
    /// borrowed form of the key.
    pub fn get<Q>(&self, key: &Q) -> &[(V, isize)]
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.rows.get(key).map_or(&[][..], KeyRows::as_slice)
    }
}

/// The rows of one key: one inline, more on the heap (a key with several rows costs a pointer
/// in its entry, not room for several rows in every entry).
enum KeyRows<V> {
    One([(V, isize); 1]),
    Many(Box<[(V, isize)]>),
}

impl<V> KeyRows<V> {
    fn as_slice(&self) -> &[(V, isize)] {
        match self {
            KeyRows::One(row) => row,
            KeyRows::Many(rows) => rows,
        }
    }

    /// Adds `diff` to `value`'s multiplicity; true when the key has no rows left.
    fn update(&mut self, value: V, diff: isize) -> bool
    where
        V: PartialEq,
    {
        if let KeyRows::One([(v, n)]) = self {
            if *v == value {
                *n += diff;
                return *n == 0;
            }
        }
        let mut rows = match std::mem::replace(self, KeyRows::Many(Box::default())) {
            KeyRows::One([row]) => vec![row],
            KeyRows::Many(rows) => rows.into_vec(),
        };
        match rows.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += diff,
            None => rows.push((value, diff)),
        }
        rows.retain(|(_, n)| *n != 0);
        let empty = rows.is_empty();
        *self = match <[(V, isize); 1]>::try_from(rows) {
            Ok(one) => KeyRows::One(one),
            Err(rows) => KeyRows::Many(rows.into_boxed_slice()),
        };
        empty
    }
}

/// A table's rows per key, with their multiplicities, and its updates not yet applied.
pub(crate) struct AsOfTable<T, K, V> {
    /// The table as applied so far.
    rows: TableRows<K, V>,
    /// Updates received but not yet applied, by time.
    staged: BTreeMap<T, Vec<(K, V, isize)>>,
}

impl<T, K, V> Default for AsOfTable<T, K, V> {
    fn default() -> Self {
        AsOfTable {
            rows: Default::default(),
            staged: BTreeMap::new(),
        }
    }
}

impl<T, K, V> AsOfTable<T, K, V>
where
    T: Timestamp + TotalOrder,
    K: Hash + Eq,
    V: PartialEq,
{
    /// Stages the `((key, value), time, diff)` updates of `containers` (as an operator's table
    /// input delivers them), draining them, to be applied in time order.
    pub(crate) fn stage_all<'a>(
        &mut self,
        containers: impl IntoIterator<Item = &'a mut Vec<((K, V), T, isize)>>,
    ) where
        K: 'a,
        V: 'a,
        T: 'a,
    {
        for container in containers {
            for ((key, value), time, diff) in container.drain(..) {
                // Updates nearly always come at the latest staged time: that batch is at the
                // tree's right edge, reached without a search.
                match self.staged.last_entry() {
                    Some(mut latest) if *latest.key() == time => latest.get_mut().push((key, value, diff)),
                    _ => self.staged.entry(time).or_default().push((key, value, diff)),
                }
            }
        }
    }

    /// The table as applied so far.
    pub(crate) fn rows(&self) -> &TableRows<K, V> {
        &self.rows
    }

    /// Applies, in time order, every staged update that no record can still need to miss: one
    /// at `u` once the records' frontier has reached `u`, no record before `u` is waiting
    /// (`earliest_waiting` is the earliest time of records held back, if any), and the table
    /// input is complete through `u` (its frontier `table` has passed it).
    ///
    /// Waiting for the table's frontier costs nothing, since no record at or after `u` may
    /// probe before it passes `u` anyway, and it applies all of `u` at once: a table that
    /// loads at one time grows its map once to its full size, instead of doubling (and
    /// rehashing) as each part of its files arrives.
    pub(crate) fn apply_ready(
        &mut self,
        records: &MutableAntichain<T>,
        table: &MutableAntichain<T>,
        earliest_waiting: Option<&T>,
    ) {
        while let Some(u) = self.staged.keys().next() {
            let ready = !records.frontier().iter().any(|f| f.less_than(u))
                && !table.less_equal(u)
                && earliest_waiting.is_none_or(|r| !r.less_than(u));
            let Some((_, batch)) = ready.then(|| self.staged.pop_first()).flatten() else {
                break;
            };
            self.rows.rows.reserve(batch.len());
            for (key, value, diff) in batch {
                self.apply(key, value, diff);
            }
        }
    }

    /// Applies the updates that are ready, then takes the earliest of the `waiting` records'
    /// times if they may now be probed (see [`ready_for`](Self::ready_for)); `None` when no
    /// waiting time is ready yet.
    pub(crate) fn pop_ready<W>(
        &mut self,
        waiting: &mut BTreeMap<T, W>,
        records: &MutableAntichain<T>,
        table: &MutableAntichain<T>,
    ) -> Option<(T, W)> {
        self.apply_ready(records, table, waiting.keys().next());
        let earliest = waiting.keys().next()?;
        if !self.ready_for(earliest, table) {
            return None;
        }
        waiting.pop_first()
    }

    /// True when records at `time` may be probed now: the table input is complete through
    /// `time` (its frontier `table` has passed it) and no update at or before `time` is staged.
    pub(crate) fn ready_for(&self, time: &T, table: &MutableAntichain<T>) -> bool {
        !table.less_equal(time) && self.staged.keys().next().is_none_or(|u| time.less_than(u))
    }

    fn apply(&mut self, key: K, value: V, diff: isize) {
        // One hash and one probe per update: a table loads at the speed of this loop.
        match self.rows.rows.entry(key) {
            Entry::Vacant(vacant) => {
                if diff != 0 {
                    vacant.insert(KeyRows::One([(value, diff)]));
                }
            }
            // A key whose rows all cancelled leaves the table here, the one place where rows
            // can disappear.
            Entry::Occupied(mut rows) => {
                if rows.get_mut().update(value, diff) {
                    rows.remove();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontier at `t`, as an input's is while it may still deliver data at `t`.
    fn at(t: u64) -> MutableAntichain<u64> {
        let mut frontier = MutableAntichain::new();
        frontier.update_iter([(t, 1)]);
        frontier
    }

    fn rows_of(table: &AsOfTable<u64, i64, &'static str>, key: i64) -> Vec<(&'static str, isize)> {
        table.rows().get(&key).to_vec()
    }

    #[test]
    fn a_container_of_several_times_is_staged_and_applied_time_by_time() {
        let mut table = AsOfTable::<u64, i64, &str>::default();
        let mut first = vec![((1, "a"), 0, 1), ((2, "b"), 1, 1), ((1, "a"), 1, -1)];
        let mut second = vec![((1, "c"), 1, 1), ((3, "d"), 0, 1)];
        table.stage_all([&mut first, &mut second]);
        assert!(first.is_empty() && second.is_empty());

        // The table input may still deliver updates at 0: nothing is applied yet, and a
        // record at 0 must wait.
        table.apply_ready(&at(0), &at(0), None);
        assert_eq!(rows_of(&table, 1), []);
        assert!(!table.ready_for(&0, &at(0)));

        // Complete through 0: time 0's updates (from both containers), and only those.
        table.apply_ready(&at(0), &at(1), None);
        assert_eq!(rows_of(&table, 1), [("a", 1)]);
        assert_eq!(rows_of(&table, 2), []);
        assert_eq!(rows_of(&table, 3), [("d", 1)]);
        assert!(table.ready_for(&0, &at(1)));

        // Time 1 waits for the records' frontier as well as the table's.
        table.apply_ready(&at(0), &at(2), None);
        assert_eq!(rows_of(&table, 2), []);
        assert!(!table.ready_for(&1, &at(2)));
        table.apply_ready(&at(1), &at(2), None);
        assert_eq!(rows_of(&table, 1), [("c", 1)]);
        assert_eq!(rows_of(&table, 2), [("b", 1)]);
        assert!(table.ready_for(&1, &at(2)));
    }
}
