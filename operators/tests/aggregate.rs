//! `aggregate_append_only` against differential's general path (`count`, `reduce`), and against
//! hand-written tables of expected changes.

use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate_updates;
use differential_dataflow::input::Input;
use differential_dataflow::VecCollection;
use proptest::prelude::*;
use tidewater_operators::{aggregate_append_only_counted, AggregateAppendOnly, Changes, Count, Max, Sum};

/// An input record: key, value, multiplicity (> 0), and how many epochs after the one it is
/// inserted in it takes effect (scheduled with `update_at`).
type Record = (u8, i64, isize, u64);

/// An output update, tagged with the aggregation that produced it: `((agg, key, value), time, diff)`.
type Change = ((&'static str, u8, i64), u64, isize);

/// Builds the aggregations under test from the input collection.
type Build = for<'s> fn(VecCollection<'s, u64, (u8, i64)>) -> VecCollection<'s, u64, (&'static str, u8, i64)>;

/// The workers to run on.
#[derive(Clone, Copy, Debug)]
enum Workers {
    /// Threads of this process, passing data between them as Rust values.
    Threads(usize),
    /// Threads of this process, passing data between them serialized with bincode, as between
    /// processes.
    Bincode(usize),
}

impl Workers {
    fn config(self) -> timely::Config {
        let communication = match self {
            Workers::Threads(n) => timely::CommunicationConfig::Process(n),
            Workers::Bincode(n) => timely::CommunicationConfig::ProcessBinary(n),
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// When the workers let the dataflow run.
#[derive(Clone, Copy)]
enum Wait {
    /// After each epoch, until the output has passed it.
    EachEpoch,
    /// Only after every epoch has been sent, so several times are pending at once.
    AtEnd,
}

/// Runs `build` on `workers`, with `epochs[e]` inserted at epoch `e` (plus each record's
/// delay), and returns every update of its output, as emitted, sorted.
///
/// Worker `w` of `n` inserts the records at positions `i % n == w` of each epoch, so records of a
/// key start on different workers.
fn run(workers: Workers, epochs: &[Vec<Record>], build: Build, wait: Wait) -> Vec<Change> {
    let epochs = Arc::new(epochs.to_vec());
    let changes = Arc::new(Mutex::new(Vec::new()));
    let sink = changes.clone();
    let guards = timely::execute(workers.config(), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sink = sink.clone();
        let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, records) = scope.new_collection::<(u8, i64), isize>();
            let (probe, _) = build(records)
                .inspect(move |change| sink.lock().unwrap().push(*change))
                .probe();
            (input, probe)
        });
        for (epoch, records) in epochs.iter().enumerate() {
            let epoch = epoch as u64;
            for (i, &(key, value, multiplicity, delay)) in records.iter().enumerate() {
                if i % peers == index {
                    input.update_at((key, value), epoch + delay, multiplicity);
                }
            }
            input.advance_to(epoch + 1);
            input.flush();
            if let Wait::EachEpoch = wait {
                worker.step_or_park_while(None, || probe.less_than(input.time()));
            }
        }
        // Closing the input lets the frontier pass the delayed records too.
        input.close();
        worker.step_or_park_while(None, || !probe.done());
    })
    .expect("timely starts");
    for result in guards.join() {
        result.expect("worker succeeds");
    }
    let mut changes = changes.lock().unwrap().clone();
    changes.sort();
    changes
}

/// The same changes, with updates to the same data at the same time added up.
fn consolidated(mut changes: Vec<Change>) -> Vec<Change> {
    consolidate_updates(&mut changes);
    changes
}

/// Count, sum and maximum per key, by the operator under test.
fn append_only<'s>(
    records: VecCollection<'s, u64, (u8, i64)>,
) -> VecCollection<'s, u64, (&'static str, u8, i64)> {
    let count = records
        .clone()
        .aggregate_append_only("Count", Count::new())
        .map(|(key, n)| ("count", key, n));
    let sum = records
        .clone()
        .aggregate_append_only("Sum", Sum)
        .map(|(key, s)| ("sum", key, s));
    let max = records
        .aggregate_append_only("Max", Max::new())
        .map(|(key, m)| ("max", key, m));
    count.concat(sum).concat(max)
}

/// Count, sum and maximum per key, by differential's `count` and `reduce`.
fn general<'s>(
    records: VecCollection<'s, u64, (u8, i64)>,
) -> VecCollection<'s, u64, (&'static str, u8, i64)> {
    let count = records
        .clone()
        .map(|(key, _)| key)
        .count()
        .map(|(key, n)| ("count", key, n as i64));
    let sum = records
        .clone()
        .reduce(|_key, values: &[(&i64, isize)], out: &mut Vec<(i64, isize)>| {
            out.push((values.iter().map(|(v, m)| **v * *m as i64).sum(), 1));
        })
        .map(|(key, s)| ("sum", key, s));
    // `values` is sorted by value, so the maximum is last.
    let max = records
        .reduce(|_key, values: &[(&i64, isize)], out: &mut Vec<(i64, isize)>| {
            out.push((*values.last().expect("a key has values").0, 1));
        })
        .map(|(key, m)| ("max", key, m));
    count.concat(sum).concat(max)
}

fn inputs() -> impl Strategy<Value = Vec<Vec<Record>>> {
    let record = (0u8..6, -20i64..20, 1isize..4, 0u64..3);
    prop::collection::vec(prop::collection::vec(record, 0..12), 1..6)
}

/// The operator's changes equal differential's, time by time, and come out consolidated,
/// whether the workers wait for each epoch or let all of them pile up.
fn check_against_general(workers: Workers, epochs: &[Vec<Record>]) -> Result<(), TestCaseError> {
    let expected = consolidated(run(workers, epochs, general, Wait::EachEpoch));
    for wait in [Wait::EachEpoch, Wait::AtEnd] {
        let changes = run(workers, epochs, append_only, wait);
        prop_assert_eq!(
            &consolidated(changes.clone()),
            &changes,
            "output not consolidated"
        );
        prop_assert_eq!(&changes, &expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matches_count_and_reduce_one_worker(epochs in inputs()) {
        check_against_general(Workers::Threads(1), &epochs)?;
    }

    #[test]
    fn matches_count_and_reduce_two_workers(epochs in inputs()) {
        check_against_general(Workers::Threads(2), &epochs)?;
    }

    #[test]
    fn matches_count_and_reduce_two_workers_bincode(epochs in inputs()) {
        check_against_general(Workers::Bincode(2), &epochs)?;
    }
}

/// Count per key emitting insertions alone, with the operator's figures as counted data:
/// `("held", 0, 0)` moved by the keys added less those removed, `("updated", 0, 0)` by the keys
/// updated.
fn counted_insertions<'s>(
    records: VecCollection<'s, u64, (u8, i64)>,
) -> VecCollection<'s, u64, (&'static str, u8, i64)> {
    let fold = |(key, _value): (u8, i64), diff, states: &mut tidewater_operators::PartialStates<u8, i64>| {
        *states.entry(key).or_insert(0) += diff as i64
    };
    let (counts, figures) = aggregate_append_only_counted(
        records,
        "Count",
        Count::<()>::new(),
        fold,
        None,
        Changes::Insertions,
        // The key is its own prefix: the partials are sorted by the radix sort.
        Some(|key: &u8| u64::from(*key)),
    );
    let figures = figures.explode(|f| {
        [
            (("held", 0u8, 0i64), f.added as isize - f.removed as isize),
            (("updated", 0, 0), f.updated as isize),
        ]
    });
    counts.map(|(key, n)| ("count", key, n)).concat(figures)
}

/// What [`counted_insertions`] must give, worked out from the records themselves: at each
/// time, every key with records then gets its running count inserted (a count always
/// changes), the keys first seen then add to those held, and the keys with records then are
/// the ones updated.
fn expected_insertions(epochs: &[Vec<Record>]) -> Vec<Change> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut by_time: BTreeMap<u64, BTreeMap<u8, i64>> = BTreeMap::new();
    for (epoch, records) in epochs.iter().enumerate() {
        for &(key, _, multiplicity, delay) in records {
            *by_time
                .entry(epoch as u64 + delay)
                .or_default()
                .entry(key)
                .or_default() += multiplicity as i64;
        }
    }
    let mut totals: BTreeMap<u8, i64> = BTreeMap::new();
    let mut seen: BTreeSet<u8> = BTreeSet::new();
    let mut expected = Vec::new();
    for (time, keys) in by_time {
        let new = keys.keys().filter(|key| seen.insert(**key)).count() as isize;
        if new > 0 {
            expected.push((("held", 0, 0), time, new));
        }
        expected.push((("updated", 0, 0), time, keys.len() as isize));
        for (key, added) in keys {
            let total = totals.entry(key).or_default();
            *total += added;
            expected.push((("count", key, *total), time, 1));
        }
    }
    expected.sort();
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Insertions alone, and figures that count the keys as the retractions would have.
    #[test]
    fn insertions_alone_with_figures_of_the_keys(epochs in inputs()) {
        let expected = expected_insertions(&epochs);
        for workers in [Workers::Threads(1), Workers::Threads(2), Workers::Bincode(2)] {
            for wait in [Wait::EachEpoch, Wait::AtEnd] {
                let changes = consolidated(run(workers, &epochs, counted_insertions, wait));
                prop_assert_eq!(&changes, &expected, "{:?}", workers);
            }
        }
    }
}

/// Sum and maximum per key, by the operator under test.
fn sum_and_max<'s>(
    records: VecCollection<'s, u64, (u8, i64)>,
) -> VecCollection<'s, u64, (&'static str, u8, i64)> {
    let sum = records
        .clone()
        .aggregate_append_only("Sum", Sum)
        .map(|(key, s)| ("sum", key, s));
    let max = records
        .aggregate_append_only("Max", Max::new())
        .map(|(key, m)| ("max", key, m));
    sum.concat(max)
}

#[test]
fn unchanged_aggregate_emits_nothing() {
    let epochs = vec![
        vec![(1, 5, 1, 0), (2, 4, 1, 0)],
        // Key 1's maximum stays 5; key 2's sum and maximum stay 4.
        vec![(1, 3, 1, 0), (1, 5, 1, 0), (2, 0, 2, 0)],
        vec![(1, 9, 1, 0)],
    ];
    #[rustfmt::skip]
    let mut expected: Vec<Change> = vec![
        (("max", 1, 5), 0, 1),
        (("max", 2, 4), 0, 1),
        (("sum", 1, 5), 0, 1),
        (("sum", 2, 4), 0, 1),

        (("sum", 1, 5), 1, -1),
        (("sum", 1, 13), 1, 1),

        (("max", 1, 5), 2, -1),
        (("max", 1, 9), 2, 1),
        (("sum", 1, 13), 2, -1),
        (("sum", 1, 22), 2, 1),
    ];
    expected.sort();
    for workers in [Workers::Threads(1), Workers::Threads(2)] {
        let changes = run(workers, &epochs, sum_and_max, Wait::EachEpoch);
        assert_eq!(changes, expected, "{workers:?}");
    }
}

#[test]
fn several_epochs_pending_at_once() {
    let epochs = vec![
        // (7, 10) takes effect at epoch 2, (8, 1) at epoch 1: times complete out of input order.
        vec![(7, 1, 1, 0), (7, 10, 1, 2), (8, 1, 1, 1)],
        vec![(7, 2, 1, 0)],
        vec![(7, 3, 1, 0), (8, 2, 1, 0)],
        vec![],
    ];
    #[rustfmt::skip]
    let mut expected: Vec<Change> = vec![
        (("max", 7, 1), 0, 1),
        (("sum", 7, 1), 0, 1),

        (("max", 7, 1), 1, -1),
        (("max", 7, 2), 1, 1),
        (("max", 8, 1), 1, 1),
        (("sum", 7, 1), 1, -1),
        (("sum", 7, 3), 1, 1),
        (("sum", 8, 1), 1, 1),

        (("max", 7, 2), 2, -1),
        (("max", 7, 10), 2, 1),
        (("max", 8, 1), 2, -1),
        (("max", 8, 2), 2, 1),
        (("sum", 7, 3), 2, -1),
        (("sum", 7, 16), 2, 1),
        (("sum", 8, 1), 2, -1),
        (("sum", 8, 3), 2, 1),
    ];
    expected.sort();
    for workers in [Workers::Threads(1), Workers::Threads(2)] {
        let changes = run(workers, &epochs, sum_and_max, Wait::AtEnd);
        assert_eq!(changes, expected, "{workers:?}");
    }
}

/// Only in debug builds: release builds pass the diff to `update` unchecked.
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "diff -1, only insertions are supported")]
fn retraction_panics_in_debug_builds() {
    // On this thread, so that the panic message reaches the test harness (a worker thread's
    // panic comes back from `join` as an opaque "Any").
    timely::execute_directly(|worker| {
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, records) = scope.new_collection::<(u8, i64), isize>();
            records.aggregate_append_only("Sum", Sum);
            input
        });
        input.insert((1, 5));
        input.advance_to(1);
        input.remove((1, 5));
    });
}
