//! `aggregate_append_only_expiring` under `Emit::Closed`: each key's final result comes out
//! once, at the time whose watermark closes it, also in a time without any record, and its
//! figures tell the keys held. Expected outputs are worked out by hand below.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use differential_dataflow::input::Input;
use tidewater_operators::{aggregate_append_only_expiring, Count, Emit, Expiry, KeyFigures};

/// Keys by epoch; `maxima[e]` is the greatest event time of epoch `e`, if it had one. Delay 0.
/// Key `a` and `d` close at 10, `b` at 20, `c` at 30; `z` never closes.
///
/// - Epoch 0: a, a, b; max 5. Watermark of epoch 1: 5.
/// - Epoch 1: b, c, z, d; max 12. Nothing closes (5). Watermark of epoch 2: 12.
/// - Epoch 2, no records: its watermark 12 closes a (2) and d (1).
/// - Epoch 3: b, c; max 25. Late rows are judged by epoch 2's watermark, 12: b and c are on
///   time. Nothing more closes (12).
/// - Epoch 4, no records: its watermark 25 closes b (3).
/// - Epoch 5: a, which closed at 10, at or before epoch 4's watermark 25: dropped, one
///   partial state. Max 40.
/// - Epoch 6, no records: its watermark 40 closes c (2). z stays.
fn epochs() -> (Vec<Vec<char>>, Vec<Option<i64>>) {
    let keys = vec![
        vec!['a', 'a', 'b'],
        vec!['b', 'c', 'z', 'd'],
        vec![],
        vec!['b', 'c'],
        vec![],
        vec!['a'],
        vec![],
    ];
    let maxima = vec![Some(5), Some(12), None, Some(25), None, Some(40), None];
    (keys, maxima)
}

fn closes_at(key: &char) -> Option<i64> {
    match key {
        'a' | 'd' => Some(10),
        'b' => Some(20),
        'c' => Some(30),
        _ => None,
    }
}

type Output = (
    Vec<((char, i64), u64, isize)>,
    Vec<(u64, isize)>,
    Vec<(KeyFigures, u64, isize)>,
);

/// Runs the epochs on `workers`, worker `w` inserting the keys at positions `i % n == w`;
/// returns the output as emitted (on one worker, in emission order), the late counts and
/// the figures.
fn run(workers: usize) -> Output {
    let out = Arc::new(Mutex::new((Vec::new(), Vec::new(), Vec::new())));
    let sink = out.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let (rows_sink, late_sink, figures_sink) = (sink.clone(), sink.clone(), sink.clone());
        let (mut keys, mut maxima, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (keys_in, keys) = scope.new_collection::<char, isize>();
            let (maxima_in, maxima) = scope.new_collection::<i64, isize>();
            let expiry = Expiry {
                maxima,
                delay: 0,
                closes_at: Box::new(closes_at),
                seen: Vec::new(),
                emit: Emit::Closed,
            };
            let (counts, dropped, figures) = aggregate_append_only_expiring(
                keys,
                "Count",
                Count::<()>::new(),
                expiry,
                |key: char, diff, states| {
                    *states.entry(key).or_insert(0) += diff as i64;
                },
            );
            dropped.inspect(move |(n, t, d)| late_sink.lock().unwrap().1.push((*t, *n as isize * d)));
            figures.inspect(move |f| figures_sink.lock().unwrap().2.push(*f));
            let (probe, _) = counts
                .inspect(move |u| rows_sink.lock().unwrap().0.push(*u))
                .probe();
            (keys_in, maxima_in, probe)
        });
        let (epoch_keys, epoch_maxima) = epochs();
        for (epoch, (ks, max)) in epoch_keys.iter().zip(&epoch_maxima).enumerate() {
            for (i, key) in ks.iter().enumerate() {
                if i % peers == index {
                    keys.insert(*key);
                }
            }
            if let (Some(max), 0) = (max, index) {
                maxima.insert(*max);
            }
            let next = epoch as u64 + 1;
            keys.advance_to(next);
            maxima.advance_to(next);
            keys.flush();
            maxima.flush();
            worker.step_or_park_while(None, || probe.less_than(keys.time()));
        }
        keys.close();
        maxima.close();
        worker.step_or_park_while(None, || !probe.done());
    })
    .expect("timely starts");
    for result in guards.join() {
        result.expect("worker succeeds");
    }
    let out = out.lock().unwrap();
    out.clone()
}

#[test]
fn each_key_comes_out_once_when_its_watermark_closes_it_even_without_records() {
    let expected = vec![
        (('a', 2), 2, 1),
        (('d', 1), 2, 1),
        (('b', 3), 4, 1),
        (('c', 2), 6, 1),
    ];
    for workers in [1, 2, 3] {
        let (mut rows, late, figures) = run(workers);
        if workers == 1 {
            // One worker's output of a time is sorted by key, as `gather_sorted` expects.
            assert_eq!(rows, expected, "as emitted");
        }
        rows.sort_by_key(|(data, t, _)| (*t, *data));
        assert_eq!(rows, expected, "{workers} worker(s)");
        assert_eq!(
            late.iter().map(|(_, n)| n).sum::<isize>(),
            1,
            "{workers} worker(s)"
        );
        assert!(late.iter().all(|(t, _)| *t == 5), "{workers} worker(s): {late:?}");

        // Figures summed over workers, by time: keys added (a, b; c, z, d), updated (every key
        // of an epoch's records that was not dropped), and removed when closed.
        let mut by_time: BTreeMap<u64, (u64, u64, u64)> = BTreeMap::new();
        for (f, t, d) in figures {
            assert_eq!(d, 1);
            let entry = by_time.entry(t).or_default();
            entry.0 += f.added;
            entry.1 += f.updated;
            entry.2 += f.removed;
        }
        let want: BTreeMap<u64, (u64, u64, u64)> = [
            (0, (2, 2, 0)),
            (1, (3, 4, 0)),
            (2, (0, 0, 2)),
            (3, (0, 2, 0)),
            (4, (0, 0, 1)),
            (6, (0, 0, 1)),
        ]
        .into_iter()
        .collect();
        assert_eq!(by_time, want, "{workers} worker(s)");
    }
}
