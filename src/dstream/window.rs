//! Windows over batches: `window`, `reduce_by_key_and_window` (with and without an inverse
//! function), `count_by_window`, `count_by_value_and_window`, `reduce_by_window`.
//!
//! A window of `L` batches holds, at batch `e`, the batches `e - L + 1 ..= e`; with a slide of
//! `S` batches it produces output only at batches `e` with `(e + 1) % S == 0` (Spark's window
//! times are multiples of the slide). A stream fresh from its source becomes a window by
//! letting each element live `L` batches instead of one: it enters the window once and leaves
//! it once. The inverse-function form keeps one running value per key and applies each
//! element twice, on entering (`f`) and on leaving (`inverse`), which is what differential
//! dataflow does for any collection.

use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::collection::AsCollection;
use serde::{Deserialize, Serialize};
use tidewater_operators::keyed_epochs::{keyed_epochs, EpochInput, EpochSchedule};
use timely::dataflow::operators::vec::Filter;

use super::durable::{contents_at, DurableNode};
use super::graph::{build_fn, BuildCtx, Built, Coll, Data};
use super::state::push_change;
use super::DStream;
use crate::error::{Error, Result};

impl<T: Data> DStream<T> {
    /// `duration` in batches, checked to be a positive multiple of this stream's slide.
    fn in_batches(&self, what: &str, duration: Duration) -> Result<u64> {
        let batch_ms = self.ctx.batch_ms();
        let ms = duration.as_millis() as u64;
        let slide_ms = self.slide * batch_ms;
        if ms == 0 || !ms.is_multiple_of(slide_ms) {
            let of = if self.slide == 1 {
                format!("the batch interval ({batch_ms} ms)")
            } else {
                format!("the stream's slide duration ({slide_ms} ms)")
            };
            return Err(Error::InvalidPlan(format!(
                "the window's {what} ({ms} ms) must be a positive multiple of {of}"
            )));
        }
        Ok(ms / batch_ms)
    }

    /// The elements of the last `length` of time, every `slide` (both multiples of the batch
    /// interval, and of this stream's own slide).
    pub fn window(&self, length: Duration, slide: Duration) -> Result<DStream<T>> {
        let length = self.in_batches("length", length)?;
        let slide = self.in_batches("slide duration", slide)?;
        let parent = self.build.clone();
        let parent_slide = self.slide;
        self.ctx
            .describe(&format!("window length={length} slide={slide}"));
        let build = build_fn(
            move |cx: &mut BuildCtx<'_>| match parent(cx).one_batch_arrivals() {
                Ok(records) if parent_slide == 1 => Built::Arrivals {
                    records: buffered(cx, records, length, false),
                    life: length,
                },
                Ok(records) => shifted_sum(cx, Built::arrivals(records), length, parent_slide),
                Err(other) => shifted_sum(cx, other, length, parent_slide),
            },
        );
        Ok(DStream {
            build,
            slide,
            ctx: self.ctx.clone(),
        })
    }

    /// The number of elements in each window.
    pub fn count_by_window(&self, length: Duration, slide: Duration) -> Result<DStream<u64>> {
        Ok(self.window(length, slide)?.count())
    }

    /// How often each distinct element occurs in each window.
    pub fn count_by_value_and_window(&self, length: Duration, slide: Duration) -> Result<DStream<(T, u64)>> {
        Ok(self.window(length, slide)?.count_by_value())
    }

    /// Each window's elements folded with `f`.
    pub fn reduce_by_window<F>(&self, f: F, length: Duration, slide: Duration) -> Result<DStream<T>>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        Ok(self.window(length, slide)?.reduce(f))
    }
}

/// The window of a stream that is not a plain per-batch stream: the sum of its last
/// `length / parent_slide` batches, each a copy of its contents delayed by a multiple of the
/// parent's slide.
fn shifted_sum<'s, T: Data>(
    cx: &mut BuildCtx<'s>,
    parent: Built<'s, T>,
    length: u64,
    parent_slide: u64,
) -> Built<'s, T> {
    let contents = buffered(cx, parent.contents(), length, true);
    let copies = length / parent_slide;
    let delayed: Vec<_> = (1..copies)
        .map(|k| contents.clone().delay(move |t| t + k * parent_slide))
        .collect();
    Built::Contents(contents.concatenate(delayed))
}

/// What enters a window (`records`: arrivals, or with `contents` a stream's contents), with,
/// when the context has a checkpoint, its buffer logged batch by batch and, in a restarted
/// run, what the window held before the stop fed again in place of the parent's earlier
/// batches.
fn buffered<'s, T: Data>(
    cx: &mut BuildCtx<'s>,
    records: Coll<'s, T>,
    length: u64,
    contents: bool,
) -> Coll<'s, T> {
    let Some(node) = DurableNode::next(cx) else {
        return records;
    };
    let resume = cx.resume;
    // The parent's own batches before this run (restored state of its own) are replaced by
    // what the window's buffer kept.
    let records = records
        .inner
        .filter(move |(_, time, _)| *time >= resume)
        .as_collection();
    node.log_window(cx, records.clone());
    records.concat(node.restore_window(cx, length, contents))
}

/// What the incremental windowed reduce emits: the values, and, for the checkpoint only, the
/// changes of each key's whole state (its value and how many values are in the window).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum WindowOut<K, V> {
    Value(K, V),
    Kept(K, V, isize),
}

impl<K: Data, V: Data> DStream<(K, V)> {
    /// Each window's values of a key folded with `f`, recomputed from the window's values.
    pub fn reduce_by_key_and_window<F>(
        &self,
        f: F,
        length: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        Ok(self.window(length, slide)?.reduce_by_key(f))
    }

    /// Each window's values of a key folded with `f`, kept up to date incrementally: values
    /// entering the window are added with `f`, values leaving it are taken out with `inverse`
    /// (`inverse(f(a, b), b) == a`). A key whose values have all left the window is dropped,
    /// so the result equals [`reduce_by_key_and_window`](Self::reduce_by_key_and_window)'s.
    pub fn reduce_by_key_and_window_inv<F, G>(
        &self,
        f: F,
        inverse: G,
        length: Duration,
        slide: Duration,
    ) -> Result<DStream<(K, V)>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let windowed = self.window(length, slide)?;
        let parent = windowed.build.clone();
        let (f, inverse) = (Arc::new(f), Arc::new(inverse));
        self.ctx.describe("reduceByKeyAndWindow with an inverse function");
        Ok(windowed.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (f, inverse) = (f.clone(), inverse.clone());
            let input = parent(cx).contents();
            let schedule = EpochSchedule {
                input: EpochInput::Changes,
                visit_idle: false,
                every: 1,
                first: cx.resume,
            };
            let node = DurableNode::next(cx);
            let durable = node.is_some();
            let restored = node.as_ref().map(|n| n.restore_keyed::<K, (V, isize)>(cx));
            let (starting, at) = match (restored, node.as_ref().and_then(DurableNode::restored_at)) {
                (Some(restored), Some(at)) => (restored, at),
                _ => (Vec::new(), 0),
            };
            // Per key: the running value and how many values are in the window.
            let changes = keyed_epochs(
                input,
                starting.clone(),
                "ReduceByKeyAndWindow",
                schedule,
                move |_epoch, key: &K, changes: &[(V, isize)], state: &mut Option<(V, isize)>, out| {
                    let kept_before = if durable { state.clone() } else { None };
                    let before = state.as_ref().map(|(v, _)| v.clone());
                    let (mut value, mut count) = state.take().map_or((None, 0), |(v, n)| (Some(v), n));
                    // Entering values first, so a leaving one never meets an empty value.
                    for (v, n) in changes.iter().filter(|(_, n)| *n > 0) {
                        for _ in 0..*n {
                            value = Some(match value {
                                None => v.clone(),
                                Some(acc) => f(acc, v.clone()),
                            });
                        }
                        count += n;
                    }
                    for (v, n) in changes.iter().filter(|(_, n)| *n < 0) {
                        for _ in 0..-n {
                            value = value.map(|acc| inverse(acc, v.clone()));
                        }
                        count += n;
                    }
                    *state = value.filter(|_| count > 0).map(|v| (v, count));
                    let after = state.as_ref().map(|(v, _)| v.clone());
                    push_change(out, key, before, after, WindowOut::Value);
                    if durable {
                        push_change(out, key, kept_before, state.clone(), |k, (v, n)| {
                            WindowOut::Kept(k, v, n)
                        });
                    }
                },
            );
            if let Some(node) = &node {
                let kept = changes.clone().flat_map(|out| match out {
                    WindowOut::Kept(k, v, n) => Some((k, (v, n))),
                    WindowOut::Value(..) => None,
                });
                node.log_keyed(cx, kept);
            }
            let values = changes.flat_map(|out| match out {
                WindowOut::Value(k, v) => Some((k, v)),
                WindowOut::Kept(..) => None,
            });
            let starting = starting.into_iter().map(|(k, (v, _))| (k, v)).collect();
            Built::Contents(contents_at(cx, starting, at).concat(values))
        })))
    }

    /// Each window's values of a key, sorted.
    pub fn group_by_key_and_window(&self, length: Duration, slide: Duration) -> Result<DStream<(K, Vec<V>)>> {
        Ok(self.window(length, slide)?.group_by_key())
    }
}
