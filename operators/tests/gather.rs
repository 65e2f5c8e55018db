//! `gather_sorted` and `gather_sorted_map` over containers that hold updates of several times
//! (records scheduled for later epochs with `update_at`), on 1 and 2 workers: every update
//! reaches worker 0, each time's updates sorted, against tables written by hand.

use std::sync::{Arc, Mutex};

use differential_dataflow::input::Input;
use tidewater_operators::{gather_sorted, gather_sorted_map};

/// What worker 0 saw: `(worker, data, time, diff)`, in order of arrival.
type Seen = Vec<(usize, String, u64, isize)>;

/// Inserts, from worker `w`, `("<letter><w>", time)` for each `(letter, time)` of `records`
/// while the input is at time 0, and gathers them (through `f` with `mapped`).
fn run(workers: usize, records: &'static [(&'static str, u64)], mapped: bool) -> Seen {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = seen.clone();
    timely::execute(timely::Config::process(workers), move |worker| {
        let sink = sink.clone();
        let index = worker.index();
        let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, words) = scope.new_collection::<String, isize>();
            let gathered = if mapped {
                gather_sorted_map(words, "Gather", |word: String| mirror(&word))
            } else {
                gather_sorted(words, "Gather")
            };
            let (probe, _) = gathered
                .inspect(move |(word, time, diff)| {
                    sink.lock()
                        .expect("lock")
                        .push((index, word.clone(), *time, *diff))
                })
                .probe();
            (input, probe)
        });
        for (letter, time) in records {
            input.update_at(format!("{letter}{index}"), *time, 1);
        }
        input.advance_to(3);
        input.flush();
        worker.step_while(|| probe.less_than(input.time()));
    })
    .expect("workers start")
    .join()
    .into_iter()
    .for_each(|r| r.expect("worker ok"));
    let seen = seen.lock().expect("lock").clone();
    seen
}

/// Each lowercase letter as its mirror in the alphabet (`a` <-> `z`), which reverses their order.
fn mirror(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'a'..='z' => (b'z' - (c as u8 - b'a')) as char,
            _ => c,
        })
        .collect()
}

const RECORDS: &[(&str, u64)] = &[("c", 2), ("a", 0), ("b", 2), ("d", 1), ("a", 2), ("e", 0)];

#[test]
fn updates_of_several_times_in_one_container_come_out_per_time_and_sorted() {
    let one = run(1, RECORDS, false);
    let expected: Seen = [("a0", 0), ("e0", 0), ("d0", 1), ("a0", 2), ("b0", 2), ("c0", 2)]
        .iter()
        .map(|(word, time)| (0, word.to_string(), *time, 1))
        .collect();
    assert_eq!(one, expected);

    let two = run(2, RECORDS, false);
    let expected: Seen = [
        ("a0", 0),
        ("a1", 0),
        ("e0", 0),
        ("e1", 0),
        ("d0", 1),
        ("d1", 1),
        ("a0", 2),
        ("a1", 2),
        ("b0", 2),
        ("b1", 2),
        ("c0", 2),
        ("c1", 2),
    ]
    .iter()
    .map(|(word, time)| (0, word.to_string(), *time, 1))
    .collect();
    assert_eq!(two, expected);
}

#[test]
fn a_mapped_gather_orders_by_the_data_before_the_map() {
    // "b" < "c", mirrored "y" > "x": the output keeps the order of "b" and "c".
    let two = run(2, &[("c", 1), ("b", 1), ("a", 0)], true);
    let expected: Seen = [("z0", 0), ("z1", 0), ("y0", 1), ("y1", 1), ("x0", 1), ("x1", 1)]
        .iter()
        .map(|(word, time)| (0, word.to_string(), *time, 1))
        .collect();
    assert_eq!(two, expected);
}

/// The containers an operator received: `(worker, container)`.
type Containers = Vec<(usize, Vec<u64>)>;

/// `to_leader` moves every worker's containers to worker 0 whole, in their order, through
/// serialized channels (as between processes), and leaves no record on the other workers.
#[test]
fn to_leader_moves_each_container_whole_to_worker_0() {
    use tidewater_operators::to_leader;
    use timely::dataflow::operators::generic::Operator;
    use timely::dataflow::operators::{Probe, ToStream};

    let seen: Arc<Mutex<Containers>> = Arc::default();
    let sink = seen.clone();
    let config = timely::Config {
        communication: timely::CommunicationConfig::ProcessBinary(3),
        worker: timely::WorkerConfig::default(),
    };
    timely::execute(config, move |worker| {
        let sink = sink.clone();
        let index = worker.index();
        worker.dataflow::<u64, _, _>(|scope| {
            // Worker w sends one container: 10w, 10w + 1, 10w + 2.
            let base = 10 * index as u64;
            vec![base, base + 1, base + 2]
                .to_stream(scope)
                .unary::<timely::container::CapacityContainerBuilder<Vec<u64>>, _, _, _>(
                    to_leader(),
                    "Leader",
                    move |_, _| {
                        move |input, output| {
                            input.for_each(|cap, data: &mut Vec<u64>| {
                                sink.lock().expect("lock").push((index, data.clone()));
                                output.session(&cap).give_container(data);
                            })
                        }
                    },
                )
                .probe();
        });
    })
    .expect("workers start")
    .join()
    .into_iter()
    .for_each(|r| r.expect("worker ok"));
    let mut seen = seen.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![(0, vec![0, 1, 2]), (0, vec![10, 11, 12]), (0, vec![20, 21, 22])]
    );
}
