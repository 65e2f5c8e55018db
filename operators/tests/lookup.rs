//! `lookup_join` and `lookup_aggregate_into` against a plain-Rust replay of the "table as of the
//! record's time" rule, with table rows added and removed between epochs, and with the table
//! input running ahead of the records or behind them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate_updates;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use tidewater_operators::{lookup_aggregate_into, lookup_join, Sum};

/// A stream record: join key and amount.
type Record = (u8, i64);

/// A table update: key, group, +1 (add the row) or -1 (remove one copy of it).
type TableUpdate = (u8, u8, isize);

/// One epoch of input: the table's updates and the stream's records.
type Epoch = (Vec<TableUpdate>, Vec<Record>);

/// What the operators under test emit: `((name, group, value), time, diff)`. The join emits
/// `("join", group, amount)` per matched record; the aggregation `("sum", group, total)`.
type Change = ((&'static str, u8, i64), u64, isize);

/// When the table input advances relative to the records.
#[derive(Clone, Copy, Debug)]
enum TablePace {
    /// Complete before any record is sent: every record is folded as it arrives.
    Ahead,
    /// Completed only after every record has been sent: every record waits for it.
    Behind,
}

/// Runs both operators on `workers` threads. Worker `w` of `n` sends the table updates and
/// records at positions `i % n == w` of each epoch.
fn run(workers: usize, epochs: &[Epoch], pace: TablePace) -> Vec<Change> {
    let epochs = Arc::new(epochs.to_vec());
    let changes = Arc::new(Mutex::new(Vec::new()));
    let sink = changes.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sink = sink.clone();
        let (mut records, table, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (records_in, records) = scope.new_collection::<Record, isize>();
            let (table_in, table) = scope.new_collection::<(u8, u8), isize>();
            let joined = lookup_join(
                records.clone(),
                table.clone(),
                "Join",
                |_key, amount, matches, out| {
                    for (group, n) in matches {
                        out.push((("join", *group, *amount), *n));
                    }
                },
            );
            let sums = lookup_aggregate_into(
                records,
                table,
                "Sum",
                Sum,
                |(key, amount), diff, table, states| {
                    for (group, n) in table.get(&key) {
                        *states.entry(*group).or_insert(0) += amount * (diff * n) as i64;
                    }
                },
            )
            .map(|(group, total)| ("sum", group, total));
            let (probe, _) = joined
                .concat(sums)
                .inspect(move |change| sink.lock().unwrap().push(*change))
                .probe();
            (records_in, table_in, probe)
        });
        let mut table = Some(table);
        if let Some(table) = table.as_mut() {
            for (epoch, (updates, _)) in epochs.iter().enumerate() {
                for (i, &(key, group, diff)) in updates.iter().enumerate() {
                    if i % peers == index {
                        table.update_at((key, group), epoch as u64, diff);
                    }
                }
            }
        }
        if let TablePace::Ahead = pace {
            drop(table.take());
        }
        for (epoch, (_, batch)) in epochs.iter().enumerate() {
            for (i, &record) in batch.iter().enumerate() {
                if i % peers == index {
                    records.insert(record);
                }
            }
            records.advance_to(epoch as u64 + 1);
            records.flush();
            worker.step();
        }
        records.close();
        drop(table);
        worker.step_or_park_while(None, || !probe.done());
    })
    .expect("timely starts");
    for result in guards.join() {
        result.expect("worker succeeds");
    }
    let mut changes = changes.lock().unwrap().clone();
    consolidate_updates(&mut changes);
    changes
}

/// The same by replaying the epochs: each epoch applies its table updates, then probes its
/// records against the table as it then stands.
fn reference(epochs: &[Epoch]) -> Vec<Change> {
    let mut table: BTreeMap<(u8, u8), isize> = BTreeMap::new();
    let mut totals: BTreeMap<u8, i64> = BTreeMap::new();
    let mut changes = Vec::new();
    for (epoch, (updates, records)) in epochs.iter().enumerate() {
        let time = epoch as u64;
        for &(key, group, diff) in updates {
            *table.entry((key, group)).or_insert(0) += diff;
        }
        let before = totals.clone();
        for &(key, amount) in records {
            for (&(_, group), &n) in table.range((key, 0)..=(key, u8::MAX)) {
                if n != 0 {
                    changes.push((("join", group, amount), time, n));
                    *totals.entry(group).or_insert(0) += amount * n as i64;
                }
            }
        }
        for (&group, &total) in &totals {
            if before.get(&group) != Some(&total) {
                if let Some(&old) = before.get(&group) {
                    changes.push((("sum", group, old), time, -1));
                }
                changes.push((("sum", group, total), time, 1));
            }
        }
    }
    consolidate_updates(&mut changes);
    changes
}

/// Epochs whose table updates only remove rows that are there, so multiplicities stay positive.
fn epochs() -> impl Strategy<Value = Vec<Epoch>> {
    let epoch = (
        prop::collection::vec((0u8..5, 0u8..3, any::<bool>()), 0..5),
        prop::collection::vec((0u8..6, 1i64..50), 0..10),
    );
    prop::collection::vec(epoch, 1..6).prop_map(|epochs| {
        let mut present: BTreeMap<(u8, u8), isize> = BTreeMap::new();
        epochs
            .into_iter()
            .map(|(updates, records)| {
                let updates = updates
                    .into_iter()
                    .map(|(key, group, remove)| {
                        let n = present.entry((key, group)).or_insert(0);
                        let diff = if remove && *n > 0 { -1 } else { 1 };
                        *n += diff;
                        (key, group, diff)
                    })
                    .collect();
                (updates, records)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Both operators agree with the replay, on one and two workers, whether records arrive
    /// after the table or before it.
    #[test]
    fn lookups_see_the_table_as_of_each_record(epochs in epochs()) {
        let expected = reference(&epochs);
        for workers in [1, 2] {
            for pace in [TablePace::Ahead, TablePace::Behind] {
                prop_assert_eq!(&run(workers, &epochs, pace), &expected, "{} workers, table {:?}", workers, pace);
            }
        }
    }
}
