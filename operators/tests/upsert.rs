//! `upsert` against a reference that replays the upserts one by one in `(time, order, value)`
//! order into a map, with 1 and 2 workers (also serialized between threads), and with the
//! records of an epoch spread over the workers in different ways.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::consolidation::consolidate_updates;
use differential_dataflow::input::Input;
use proptest::prelude::*;
use tidewater_operators::upsert;

/// An upsert: key, order, value (`None` deletes).
type Upsert = (u8, u32, Option<i8>);

/// An output update: `((key, value), time, diff)`.
type Change = ((u8, i8), u64, isize);

fn config(workers: usize, binary: bool) -> timely::Config {
    let communication = if binary {
        timely::CommunicationConfig::ProcessBinary(workers)
    } else {
        timely::CommunicationConfig::Process(workers)
    };
    timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    }
}

/// Runs `upsert` with `epochs[e]` inserted at time `e`: record `i` by worker `(i + shift) % n`.
fn run(workers: usize, binary: bool, shift: usize, epochs: &[Vec<Upsert>]) -> Vec<Change> {
    let epochs = Arc::new(epochs.to_vec());
    let changes = Arc::new(Mutex::new(Vec::new()));
    let sink = changes.clone();
    let guards = timely::execute(config(workers, binary), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let sink = sink.clone();
        let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, records) = scope.new_collection::<(u8, (u32, Option<i8>)), isize>();
            let (probe, _) = upsert(records, "Upsert")
                .inspect(move |change| sink.lock().expect("lock").push(*change))
                .probe();
            (input, probe)
        });
        for (epoch, records) in epochs.iter().enumerate() {
            for (i, &(key, order, value)) in records.iter().enumerate() {
                if (i + shift) % peers == index {
                    input.insert((key, (order, value)));
                }
            }
            input.advance_to(epoch as u64 + 1);
            input.flush();
            worker.step_while(|| probe.less_than(input.time()));
        }
    })
    .expect("workers start");
    for result in guards.join() {
        result.expect("worker ok");
    }
    let mut changes = changes.lock().expect("lock").clone();
    consolidate_updates(&mut changes);
    changes
}

/// Applies each epoch's upserts sorted by `(order, value)` to a map, one at a time, and
/// reports the map's difference from one epoch to the next.
fn reference(epochs: &[Vec<Upsert>]) -> Vec<Change> {
    let mut table: BTreeMap<u8, i8> = BTreeMap::new();
    let mut changes = Vec::new();
    for (epoch, records) in epochs.iter().enumerate() {
        let before = table.clone();
        let mut sorted = records.clone();
        sorted.sort_by_key(|&(key, order, value)| (order, value, key));
        for (key, _, value) in sorted {
            match value {
                Some(v) => table.insert(key, v),
                None => table.remove(&key),
            };
        }
        let time = epoch as u64;
        changes.extend(before.iter().map(|(&k, &v)| ((k, v), time, -1)));
        changes.extend(table.iter().map(|(&k, &v)| ((k, v), time, 1)));
    }
    consolidate_updates(&mut changes);
    changes
}

fn upserts() -> impl Strategy<Value = Vec<Vec<Upsert>>> {
    let one = (0u8..4, 0u32..6, prop::option::weighted(0.8, -3i8..4));
    prop::collection::vec(prop::collection::vec(one, 0..10), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn upsert_matches_replaying_in_order(epochs in upserts(), shift in 0usize..2) {
        let expected = reference(&epochs);
        prop_assert_eq!(run(1, false, 0, &epochs), expected.clone(), "1 worker");
        prop_assert_eq!(run(2, false, shift, &epochs), expected.clone(), "2 workers");
        prop_assert_eq!(run(2, true, shift, &epochs), expected, "2 workers, serialized");
    }
}

#[test]
fn a_row_equal_to_the_current_one_changes_nothing() {
    let epochs = vec![
        vec![(1, 0, Some(5))],
        vec![(1, 1, Some(5))],
        vec![(1, 2, None), (1, 1, Some(7))],
    ];
    assert_eq!(
        run(1, false, 0, &epochs),
        vec![((1, 5), 0, 1), ((1, 5), 2, -1)],
        "the delete (order 2) is read after the 7 (order 1)"
    );
}
