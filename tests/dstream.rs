//! The DStream API, operation by operation, batch by batch, against references computed in
//! the test with plain Rust collections, with 1 and 2 workers.
//!
//! Every test feeds a `queue_stream` (batch `i` is the queue's entry `i`, some of them empty),
//! collects what `foreach_rdd` sees of every batch, and compares it with the reference.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Seeded;
use tidewater::dstream::{DStream, Data, State, StateSpec, StreamingConfig, StreamingContext};

const BATCH: Duration = Duration::from_millis(5);

/// `batches` batches of random words from a small vocabulary; every fourth batch is empty.
fn word_batches(seed: u64, batches: usize) -> Vec<Vec<String>> {
    let mut rng = Seeded::new(seed);
    (0..batches)
        .map(|b| {
            if b % 4 == 3 {
                return Vec::new();
            }
            let n = 1 + rng.below(12) as usize;
            (0..n).map(|_| format!("w{}", rng.below(6))).collect()
        })
        .collect()
}

/// Runs the stream `make` builds on the queue `input` with `workers` workers; returns every
/// batch `foreach_rdd` saw, with the batch times.
fn run_with_times<T: Data, U: Data>(
    workers: usize,
    input: &[Vec<T>],
    make: impl Fn(DStream<T>) -> DStream<U>,
) -> Vec<(u64, Vec<U>)> {
    let conf = StreamingConfig::new().workers(workers);
    let ssc = StreamingContext::new(conf, BATCH).expect("context");
    let out = make(ssc.queue_stream(input.to_vec()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    out.foreach_rdd(move |rdd, time| {
        sink.lock()
            .expect("lock")
            .push((time.milliseconds(), rdd.to_vec()))
    });
    ssc.start().expect("start");
    assert!(
        ssc.await_termination_or_timeout(Duration::from_secs(60))
            .expect("no failure"),
        "the context did not end after its queue"
    );
    let seen = seen.lock().expect("lock").clone();
    seen
}

fn run<T: Data, U: Data>(
    workers: usize,
    input: &[Vec<T>],
    make: impl Fn(DStream<T>) -> DStream<U>,
) -> Vec<Vec<U>> {
    run_with_times(workers, input, make)
        .into_iter()
        .map(|(_, rdd)| rdd)
        .collect()
}

/// Checks a stream against its reference with 1 and 2 workers.
fn check<T: Data, U: Data>(
    what: &str,
    input: &[Vec<T>],
    make: impl Fn(DStream<T>) -> DStream<U>,
    reference: &[Vec<U>],
) {
    for workers in [1, 2] {
        let got = run(workers, input, &make);
        assert_eq!(
            got.len(),
            reference.len(),
            "{what}, {workers} workers: number of batches"
        );
        for (i, (g, r)) in got.iter().zip(reference).enumerate() {
            assert_eq!(g, r, "{what}, {workers} workers: batch {i}");
        }
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn counts<'a>(words: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for w in words {
        *counts.entry(w.clone()).or_insert(0) += 1;
    }
    counts
}

/// The state function of a running total.
fn add_to_total(values: &[u64], total: Option<&u64>) -> Option<u64> {
    Some(total.copied().unwrap_or(0) + values.iter().sum::<u64>())
}

/// Every batch's running word counts, starting from `totals`.
fn running_totals(input: &[Vec<String>], mut totals: BTreeMap<String, u64>) -> Vec<Vec<(String, u64)>> {
    input
        .iter()
        .map(|b| {
            for (w, n) in counts(b) {
                *totals.entry(w).or_insert(0) += n;
            }
            totals.clone().into_iter().collect()
        })
        .collect()
}

fn pairs(words: &[String]) -> Vec<(String, u64)> {
    counts(words).into_iter().collect()
}

/// The union of batches `i - length + 1 ..= i` (those that exist).
fn window_of<T: Clone>(input: &[Vec<T>], i: usize, length: usize) -> Vec<T> {
    input[(i + 1).saturating_sub(length)..=i].concat()
}

#[test]
fn per_batch_transformations() {
    let input = word_batches(1, 12);
    check(
        "map",
        &input,
        |s| s.map(|w| w.len() as u64),
        &input
            .iter()
            .map(|b| sorted(b.iter().map(|w| w.len() as u64).collect()))
            .collect::<Vec<_>>(),
    );
    check(
        "flat_map + filter",
        &input,
        |s| {
            s.flat_map(|w| w.chars().collect::<Vec<_>>())
                .filter(|c| c.is_ascii_digit())
        },
        &input
            .iter()
            .map(|b| sorted(b.iter().filter_map(|w| w.chars().nth(1)).collect()))
            .collect::<Vec<_>>(),
    );
    check(
        "count (0 for empty batches)",
        &input,
        |s| s.count(),
        &input.iter().map(|b| vec![b.len() as u64]).collect::<Vec<_>>(),
    );
    check(
        "reduce",
        &input,
        |s| s.map(|w| w.len() as u64 * 10).reduce(|a, b| a + b),
        &input
            .iter()
            .map(|b| {
                if b.is_empty() {
                    vec![]
                } else {
                    vec![b.iter().map(|w| w.len() as u64 * 10).sum()]
                }
            })
            .collect::<Vec<_>>(),
    );
    check(
        "count_by_value",
        &input,
        |s| s.count_by_value(),
        &input.iter().map(|b| pairs(b)).collect::<Vec<_>>(),
    );
    check(
        "union with itself doubles every element",
        &input,
        |s| s.union(&s.map(|w| w.to_uppercase())).expect("union"),
        &input
            .iter()
            .map(|b| {
                sorted(
                    b.iter()
                        .cloned()
                        .chain(b.iter().map(|w| w.to_uppercase()))
                        .collect(),
                )
            })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn transform_sees_every_batch_and_can_join_a_static_table() {
    let input = word_batches(2, 9);
    let table: BTreeMap<String, &str> = [("w0", "zero"), ("w1", "one"), ("w2", "two")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let lookup = table.clone();
    check(
        "transform",
        &input,
        move |s| {
            let lookup = lookup.clone();
            s.transform(move |batch: Vec<String>| {
                let mut out: Vec<String> = batch
                    .iter()
                    .filter_map(|w| lookup.get(w).map(|name| format!("{w}={name}")))
                    .collect();
                out.push(format!("size {}", batch.len()));
                out
            })
        },
        &input
            .iter()
            .map(|b| {
                let mut out: Vec<String> = b
                    .iter()
                    .filter_map(|w| table.get(w).map(|name| format!("{w}={name}")))
                    .collect();
                out.push(format!("size {}", b.len()));
                sorted(out)
            })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn pair_operations_are_per_batch() {
    let input = word_batches(3, 12);
    let with_len = |s: DStream<String>| s.map(|w| (w.clone(), w.len() as u64));
    check(
        "reduce_by_key gives each batch's counts, not running totals",
        &input,
        |s| s.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b),
        &input.iter().map(|b| pairs(b)).collect::<Vec<_>>(),
    );
    check(
        "group_by_key",
        &input,
        |s| s.map(|w| (w.len() as u64, w)).group_by_key(),
        &input
            .iter()
            .map(|b| {
                let mut groups: BTreeMap<u64, Vec<String>> = BTreeMap::new();
                for w in b {
                    groups.entry(w.len() as u64).or_default().push(w.clone());
                }
                groups.into_iter().map(|(k, v)| (k, sorted(v))).collect()
            })
            .collect::<Vec<_>>(),
    );
    check(
        "map_values + flat_map_values",
        &input,
        move |s| {
            with_len(s)
                .map_values(|n| n * 2)
                .flat_map_values(|n| vec![n, n + 1])
        },
        &input
            .iter()
            .map(|b| sorted(b.iter().flat_map(|w| [(w.clone(), 4), (w.clone(), 5)]).collect()))
            .collect::<Vec<_>>(),
    );
}

/// Joins of the words of each batch (left) with the batch's words whose digit is even, tagged
/// (right): each kind of join against a nested-loop join of the batch.
#[test]
fn joins_and_cogroup_match_nested_loops() {
    let input = word_batches(4, 12);
    let left = |s: &DStream<String>| s.map(|w| (w.clone(), 1u64));
    let right = |s: &DStream<String>| {
        s.filter(|w| w.ends_with(['0', '2', '4']))
            .map(|w| (w.clone(), format!("even {w}")))
    };
    let right_of = |b: &[String]| -> Vec<(String, String)> {
        b.iter()
            .filter(|w| w.ends_with(['0', '2', '4']))
            .map(|w| (w.clone(), format!("even {w}")))
            .collect()
    };
    let left_of = |b: &[String]| -> Vec<(String, u64)> { b.iter().map(|w| (w.clone(), 1)).collect() };
    let mut inner = Vec::new();
    let mut left_outer = Vec::new();
    let mut full_outer = Vec::new();
    let mut cogrouped = Vec::new();
    for b in &input {
        let (l, r) = (left_of(b), right_of(b));
        let mut i = Vec::new();
        let mut lo = Vec::new();
        let mut fo = Vec::new();
        for (k, v) in &l {
            let matches: Vec<&String> = r.iter().filter(|(k2, _)| k2 == k).map(|(_, w)| w).collect();
            for w in &matches {
                i.push((k.clone(), (*v, (*w).clone())));
                lo.push((k.clone(), (*v, Some((*w).clone()))));
                fo.push((k.clone(), (Some(*v), Some((*w).clone()))));
            }
            if matches.is_empty() {
                lo.push((k.clone(), (*v, None)));
                fo.push((k.clone(), (Some(*v), None)));
            }
        }
        // Every right value has a left match here (right is a filter of left), so the full
        // join adds nothing; the right outer join equals the inner one with `Some` on the left.
        inner.push(sorted(i));
        left_outer.push(sorted(lo));
        full_outer.push(sorted(fo));
        let keys: BTreeSet<&String> = l.iter().map(|(k, _)| k).chain(r.iter().map(|(k, _)| k)).collect();
        cogrouped.push(
            keys.into_iter()
                .map(|k| {
                    let vs: Vec<u64> = l.iter().filter(|(k2, _)| k2 == k).map(|(_, v)| *v).collect();
                    let ws: Vec<String> = sorted(
                        r.iter()
                            .filter(|(k2, _)| k2 == k)
                            .map(|(_, w)| w.clone())
                            .collect(),
                    );
                    (k.clone(), (vs, ws))
                })
                .collect::<Vec<_>>(),
        );
    }
    let right_outer: Vec<Vec<_>> = inner
        .iter()
        .map(|b| {
            b.iter()
                .map(|(k, (v, w))| (k.clone(), (Some(*v), w.clone())))
                .collect()
        })
        .collect();
    check(
        "join",
        &input,
        |s| left(&s).join(&right(&s)).expect("join"),
        &inner,
    );
    check(
        "left_outer_join",
        &input,
        |s| left(&s).left_outer_join(&right(&s)).expect("join"),
        &left_outer,
    );
    check(
        "right_outer_join",
        &input,
        |s| left(&s).right_outer_join(&right(&s)).expect("join"),
        &right_outer,
    );
    check(
        "full_outer_join",
        &input,
        |s| left(&s).full_outer_join(&right(&s)).expect("join"),
        &full_outer,
    );
    check(
        "cogroup",
        &input,
        |s| left(&s).cogroup(&right(&s)).expect("cogroup"),
        &cogrouped,
    );
}

#[test]
fn update_state_by_key_keeps_running_totals_and_removes_keys() {
    let input = word_batches(5, 14);
    // Running totals, as Spark's stateful word count.
    check(
        "update_state_by_key",
        &input,
        |s| s.map(|w| (w, 1u64)).update_state_by_key(add_to_total),
        &running_totals(&input, BTreeMap::new()),
    );
    // A key is forgotten after two batches without it; the state counts its batches.
    let mut state: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let reference: Vec<Vec<(String, (u64, u64))>> = input
        .iter()
        .map(|b| {
            let seen: BTreeSet<&String> = b.iter().collect();
            let keys: BTreeSet<String> = state
                .keys()
                .cloned()
                .chain(seen.iter().map(|w| (*w).clone()))
                .collect();
            for k in keys {
                let (batches, idle) = state.get(&k).copied().unwrap_or((0, 0));
                let next = if seen.contains(&k) {
                    Some((batches + 1, 0))
                } else if idle + 1 >= 2 {
                    None
                } else {
                    Some((batches, idle + 1))
                };
                match next {
                    Some(s) => state.insert(k, s),
                    None => state.remove(&k),
                };
            }
            state.clone().into_iter().collect()
        })
        .collect();
    check(
        "update_state_by_key with removal",
        &input,
        |s| {
            s.map(|w| (w, ()))
                .update_state_by_key(|values: &[()], state: Option<&(u64, u64)>| {
                    let (batches, idle) = state.copied().unwrap_or((0, 0));
                    if !values.is_empty() {
                        Some((batches + 1, 0))
                    } else if idle + 1 >= 2 {
                        None
                    } else {
                        Some((batches, idle + 1))
                    }
                })
        },
        &reference,
    );
    // Initial states count from where they start.
    let initial = vec![("w0".to_string(), 100u64), ("zz".to_string(), 7)];
    let reference = running_totals(&input, initial.iter().cloned().collect());
    check(
        "update_state_by_key_with_initial",
        &input,
        move |s| {
            s.map(|w| (w, 1u64))
                .update_state_by_key_with_initial(add_to_total, initial.clone())
        },
        &reference,
    );
}

#[test]
fn map_with_state_maps_every_record_and_times_out_idle_keys() {
    let input = word_batches(6, 14);
    // Each record is mapped to its key's running count; a key idle for more than 2 batches
    // times out and is mapped to (key, 0).
    let timeout_batches = 2u64;
    let mut state: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut mapped = Vec::new();
    let mut snapshots = Vec::new();
    for (e, b) in input.iter().enumerate() {
        let mut out = Vec::new();
        for w in sorted(b.clone()) {
            let n = state.get(&w).map_or(0, |s| s.0) + 1;
            state.insert(w.clone(), (n, e));
            out.push((w, n));
        }
        let timed_out: Vec<String> = state
            .iter()
            .filter(|(_, (_, last))| (e - last) as u64 * 5 > timeout_batches * 5)
            .map(|(k, _)| k.clone())
            .collect();
        for k in timed_out {
            state.remove(&k);
            out.push((k, 0));
        }
        mapped.push(sorted(out));
        snapshots.push(
            state
                .iter()
                .map(|(k, (n, _))| (k.clone(), *n))
                .collect::<Vec<_>>(),
        );
    }
    let spec = || {
        StateSpec::function(|key: &String, value: Option<()>, state: &mut State<u64>| {
            if state.is_timing_out() {
                return (key.clone(), 0u64);
            }
            let n = state.get().copied().unwrap_or(0) + u64::from(value.is_some());
            state.update(n);
            (key.clone(), n)
        })
        .timeout(BATCH * timeout_batches as u32)
    };
    check(
        "map_with_state",
        &input,
        move |s| s.map(|w| (w, ())).map_with_state(spec()).stream(),
        &mapped,
    );
    check(
        "map_with_state's state snapshots",
        &input,
        move |s| s.map(|w| (w, ())).map_with_state(spec()).state_snapshots(),
        &snapshots,
    );
}

const fn batches(n: u32) -> Duration {
    Duration::from_millis(5 * n as u64)
}

/// The reference for windows of `length` batches sliding by `slide`: one window per batch `i`
/// with `(i + 1) % slide == 0`.
fn windows<T: Clone + Ord, U>(
    input: &[Vec<T>],
    length: usize,
    slide: usize,
    f: impl Fn(Vec<T>) -> U,
) -> Vec<U> {
    (0..input.len())
        .filter(|i| (i + 1) % slide == 0)
        .map(|i| f(sorted(window_of(input, i, length))))
        .collect()
}

#[test]
fn windows_hold_the_last_batches_and_slide() {
    let input = word_batches(7, 15);
    check(
        "window 3/1",
        &input,
        |s| s.window(batches(3), batches(1)).expect("window"),
        &windows(&input, 3, 1, |w| w),
    );
    check(
        "window 4/2",
        &input,
        |s| s.window(batches(4), batches(2)).expect("window"),
        &windows(&input, 4, 2, |w| w),
    );
    check(
        "count_by_window 3/1",
        &input,
        |s| s.count_by_window(batches(3), batches(1)).expect("window"),
        &windows(&input, 3, 1, |w| vec![w.len() as u64]),
    );
    check(
        "count_by_value_and_window 4/2",
        &input,
        |s| {
            s.count_by_value_and_window(batches(4), batches(2))
                .expect("window")
        },
        &windows(&input, 4, 2, |w| pairs(&w)),
    );
    check(
        "reduce_by_window 2/2",
        &input,
        |s| {
            s.map(|w| w.len() as u64)
                .reduce_by_window(|a, b| a + b, batches(2), batches(2))
                .expect("window")
        },
        &windows(&input, 2, 2, |w| {
            if w.is_empty() {
                vec![]
            } else {
                vec![w.iter().map(|x| x.len() as u64).sum()]
            }
        }),
    );
}

#[test]
fn windowed_reductions_with_and_without_an_inverse_agree() {
    let input = word_batches(8, 16);
    for (length, slide) in [(3, 1), (4, 2), (2, 2)] {
        let reference = windows(&input, length, slide, |w| pairs(&w));
        let (l, s_) = (batches(length as u32), batches(slide as u32));
        check(
            &format!("reduce_by_key_and_window {length}/{slide}"),
            &input,
            move |s| {
                s.map(|w| (w, 1u64))
                    .reduce_by_key_and_window(|a, b| a + b, l, s_)
                    .expect("window")
            },
            &reference,
        );
        check(
            &format!("reduce_by_key_and_window_inv {length}/{slide}"),
            &input,
            move |s| {
                s.map(|w| (w, 1u64))
                    .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, l, s_)
                    .expect("window")
            },
            &reference,
        );
    }
    check(
        "group_by_key_and_window 3/1",
        &input,
        |s| {
            s.map(|w| (w.len() as u64, w))
                .group_by_key_and_window(batches(3), batches(1))
                .expect("window")
        },
        &windows(&input, 3, 1, |w| {
            vec![(2u64, w)]
                .into_iter()
                .filter(|(_, w)| !w.is_empty())
                .collect::<Vec<_>>()
        }),
    );
}

#[test]
fn windows_of_windows_and_of_stateful_streams() {
    let input = word_batches(9, 14);
    // A window of 3 batches over a window of 2: batch i counts batch j once for every inner
    // window (i - 2 ..= i) that holds it.
    let nested: Vec<Vec<String>> = (0..input.len())
        .map(|i| {
            sorted(
                (i.saturating_sub(2)..=i)
                    .flat_map(|k| window_of(&input, k, 2))
                    .collect(),
            )
        })
        .collect();
    check(
        "window of a window",
        &input,
        |s| {
            s.window(batches(2), batches(1))
                .and_then(|w| w.window(batches(3), batches(1)))
                .expect("window")
        },
        &nested,
    );
    // A tumbling window over a sliding one: the windows of slide 2 are its batches.
    let sliding = windows(&input, 2, 2, |w| w);
    let tumbling: Vec<Vec<String>> = (0..sliding.len())
        .filter(|i| (i + 1) % 2 == 0)
        .map(|i| sorted(window_of(&sliding, i, 2)))
        .collect();
    check(
        "window of a sliding window",
        &input,
        |s| {
            s.window(batches(2), batches(2))
                .and_then(|w| w.window(batches(4), batches(4)))
                .expect("window")
        },
        &tumbling,
    );
    // A window over running totals: the states of the last two batches.
    let snapshots = running_totals(&input, BTreeMap::new());
    check(
        "window over update_state_by_key",
        &input,
        |s| {
            s.map(|w| (w, 1u64))
                .update_state_by_key(add_to_total)
                .window(batches(2), batches(2))
                .expect("window")
        },
        &windows(&snapshots, 2, 2, |w| w),
    );
}

#[test]
fn bad_windows_and_mismatched_streams_are_refused() {
    let ssc = StreamingContext::new(StreamingConfig::new(), BATCH).expect("context");
    let s = ssc.queue_stream(vec![vec![1u64]]);
    let error = s
        .window(Duration::from_millis(7), BATCH)
        .err()
        .expect("7 ms is not a multiple of 5 ms");
    assert_eq!(error.code(), "INVALID_PLAN");
    assert!(
        error
            .to_string()
            .contains("multiple of the batch interval (5 ms)"),
        "{error}"
    );
    let slid = s.window(batches(2), batches(2)).expect("window");
    let error = slid
        .window(batches(3), batches(2))
        .err()
        .expect("3 batches is not a multiple of the slide");
    assert!(error.to_string().contains("slide duration (10 ms)"), "{error}");
    let error = s.union(&slid).err().expect("different slides");
    assert!(error.to_string().contains("different slide durations"), "{error}");
    let other = StreamingContext::new(StreamingConfig::new(), BATCH).expect("context");
    let error = s
        .union(&other.queue_stream(vec![vec![2u64]]))
        .err()
        .expect("other context");
    assert!(
        error.to_string().contains("different StreamingContexts"),
        "{error}"
    );
    assert_eq!(ssc.start().expect_err("no outputs").code(), "INVALID_PLAN");
    assert_eq!(
        StreamingContext::new(StreamingConfig::new(), Duration::ZERO)
            .err()
            .map(|e| e.code()),
        Some("INVALID_OPTION")
    );
}

#[test]
fn batch_times_are_one_interval_apart() {
    let input: Vec<Vec<u64>> = (0..6).map(|i| vec![i]).collect();
    let seen = run_with_times(1, &input, |s| s);
    let times: Vec<u64> = seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 6);
    assert!(
        times[0].is_multiple_of(5),
        "batch times are multiples of the interval: {times:?}"
    );
    assert!(times.windows(2).all(|w| w[1] - w[0] == 5), "{times:?}");
    assert_eq!(seen.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(), input);
}

#[test]
fn recent_batches_report_records_and_delays() {
    let input: Vec<Vec<u64>> = vec![vec![1, 2, 3], vec![], vec![4], vec![5, 6]];
    let ssc = StreamingContext::new(StreamingConfig::new().workers(2), BATCH).expect("context");
    ssc.queue_stream(input.clone()).count().foreach_rdd(|_, _| {});
    ssc.start().expect("start");
    ssc.await_termination().expect("no failure");
    let batches = ssc.recent_batches();
    let records: Vec<u64> = batches.iter().map(|b| b.num_records).collect();
    assert_eq!(records, vec![3, 0, 1, 2]);
    let times: Vec<u64> = batches.iter().map(|b| b.batch_time.milliseconds()).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] == 5), "{times:?}");
    assert!(batches.iter().all(|b| b.total_delay() >= b.processing_delay));
}
