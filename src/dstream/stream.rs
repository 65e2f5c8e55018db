//! [`DStream`]: a typed stream of batches, and its per-batch transformations and outputs.

use std::sync::{Arc, Mutex};

use super::context::ContextInner;
use super::graph::{build_fn, BuildCtx, BuildFn, Built, Coll, Data};
use super::output::{print_action, save_action, Output, Time};
use super::show::Show;
use crate::connectors::SinkError;
use crate::error::{Error, Result};
use tidewater_operators::epoch_reduce;

/// A discretized stream: one batch of `T`s per batch interval, like Spark's `DStream[T]`.
///
/// Transformations are per batch (`reduce_by_key` gives each batch's totals); state across
/// batches comes from [`update_state_by_key`](DStream::update_state_by_key),
/// [`map_with_state`](DStream::map_with_state) and windows. Nothing runs until an output
/// (`print`, `save_as_text_files`, `foreach_rdd`) is registered and the context is started.
///
/// As in Spark, a stream that feeds several outputs is computed once for each of them.
pub struct DStream<T: Data> {
    pub(crate) build: BuildFn<T>,
    /// How many batches apart its batches are (more than 1 after a sliding window).
    pub(crate) slide: u64,
    pub(crate) ctx: Arc<ContextInner>,
}

impl<T: Data> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            build: self.build.clone(),
            slide: self.slide,
            ctx: self.ctx.clone(),
        }
    }
}

impl<T: Data> DStream<T> {
    pub(crate) fn from_source(ctx: Arc<ContextInner>, build: BuildFn<T>) -> Self {
        DStream { build, slide: 1, ctx }
    }

    /// A stream of this context with the same slide, built by `build`.
    pub(crate) fn derive<U: Data>(&self, build: BuildFn<U>) -> DStream<U> {
        self.ctx.describe(&format!(
            "stream of {} slide={}",
            std::any::type_name::<U>(),
            self.slide
        ));
        DStream {
            build,
            slide: self.slide,
            ctx: self.ctx.clone(),
        }
    }

    /// A stream whose batches are a function of this stream's contents.
    pub(crate) fn derive_contents<U, F>(&self, f: F) -> DStream<U>
    where
        U: Data,
        F: for<'s> Fn(&mut BuildCtx<'s>, Coll<'s, T>) -> Coll<'s, U> + Send + Sync + 'static,
    {
        let parent = self.build.clone();
        self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let contents = parent(cx).contents();
            Built::Contents(f(cx, contents))
        }))
    }

    /// Checks that `other` can be combined with this stream: the same context, the same slide.
    pub(crate) fn check_same_context<U: Data>(&self, other: &DStream<U>, operation: &str) -> Result<()> {
        if !Arc::ptr_eq(&self.ctx, &other.ctx) {
            return Err(Error::InvalidPlan(format!(
                "{operation}: the two streams belong to different StreamingContexts"
            )));
        }
        if self.slide != other.slide {
            let ms = self.ctx.batch_ms();
            return Err(Error::InvalidPlan(format!(
                "{operation}: the streams have different slide durations ({} ms and {} ms); \
                 window them to the same slide first",
                self.slide * ms,
                other.slide * ms
            )));
        }
        Ok(())
    }

    /// Applies `f` to every element.
    pub fn map<U: Data, F>(&self, f: F) -> DStream<U>
    where
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.flat_map(move |x| Some(f(x)))
    }

    /// Applies `f` to every element and keeps all the elements it returns.
    pub fn flat_map<U: Data, I, F>(&self, f: F) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let parent = self.build.clone();
        self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let f = f.clone();
            parent(cx).flat_map(move |x| f(x))
        }))
    }

    /// Keeps the elements for which `f` is true.
    pub fn filter<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.flat_map(move |x| f(&x).then_some(x))
    }

    /// The elements of both streams, batch by batch.
    pub fn union(&self, other: &DStream<T>) -> Result<DStream<T>> {
        self.check_same_context(other, "union")?;
        let (left, right) = (self.build.clone(), other.build.clone());
        Ok(self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (l, r) = (left(cx), right(cx));
            match (l, r) {
                (Built::Arrivals { records: a, life: la }, Built::Arrivals { records: b, life: lb })
                    if la == lb =>
                {
                    Built::Arrivals {
                        records: a.concat(b),
                        life: la,
                    }
                }
                (l, r) => Built::Contents(l.contents().concat(r.contents())),
            }
        })))
    }

    /// Each batch's number of elements: one element per batch, 0 for an empty batch.
    pub fn count(&self) -> DStream<u64> {
        let parent = self.build.clone();
        self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            match parent(cx).one_batch_arrivals() {
                // Each batch's own elements: a hash fold per batch, no arrangement.
                Ok(records) => {
                    let zero = cx.clock_arrivals().map(|()| ((), 0u64));
                    let ones = records.map(|_| ((), 1u64)).concat(zero);
                    Built::arrivals(epoch_reduce(ones, "Count", |a, b| a + b).map(|((), n)| n))
                }
                Err(other) => {
                    let zero = cx.clock().map(|()| ((), 0u64));
                    Built::Contents(
                        other
                            .contents()
                            .map(|_| ((), 1u64))
                            .concat(zero)
                            .reduce(|_unit, ones, out| {
                                out.push((ones.iter().map(|(v, n)| **v * *n as u64).sum::<u64>(), 1))
                            })
                            .map(|((), n)| n),
                    )
                }
            }
        }))
    }

    /// Each batch's elements folded with `f` (associative and commutative); an empty batch
    /// gives no element.
    pub fn reduce<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        self.map(|x| ((), x)).reduce_by_key(f).map(|((), x)| x)
    }

    /// How often each distinct element occurs in each batch.
    pub fn count_by_value(&self) -> DStream<(T, u64)> {
        self.map(|x| (x, 1u64)).reduce_by_key(|a, b| a + b)
    }

    /// Each batch replaced by `f` of the batch (its elements, sorted), called for every batch,
    /// empty ones too (Spark's `transform`, e.g. to join each batch with a static dataset).
    /// `f` sees the whole batch, so it runs on one worker.
    pub fn transform<U: Data, F>(&self, f: F) -> DStream<U>
    where
        F: Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.derive_contents(move |cx, contents| {
            let f = f.clone();
            let every_batch = cx.clock().map(|()| ((), None));
            contents
                .map(|x| ((), Some(x)))
                .concat(every_batch)
                .reduce(move |_unit, values, out: &mut Vec<(U, isize)>| {
                    let batch: Vec<T> = expand(values).into_iter().flatten().collect();
                    let mut result = f(batch);
                    result.sort();
                    for u in result {
                        match out.last_mut() {
                            Some((last, n)) if *last == u => *n += 1,
                            _ => out.push((u, 1)),
                        }
                    }
                })
                .map(|((), u)| u)
        })
    }

    /// Calls `f` with every batch (its elements, sorted) and the batch's time, on the leader
    /// worker (Spark's `foreachRDD`). A panic in `f` stops the context with its message.
    pub fn foreach_rdd<F>(&self, mut f: F)
    where
        F: FnMut(&[T], Time) + Send + 'static,
    {
        self.register(move |elements: &[T], time| {
            f(elements, time);
            Ok(())
        });
    }

    pub(crate) fn register<F>(&self, action: F)
    where
        F: FnMut(&[T], Time) -> std::result::Result<(), SinkError> + Send + 'static,
    {
        self.ctx
            .describe(&format!("output of {}", std::any::type_name::<T>()));
        self.ctx.add_output(Arc::new(Output {
            build: self.build.clone(),
            slide: self.slide,
            action: Arc::new(Mutex::new(action)),
        }));
    }
}

impl<T: Data + Show> DStream<T> {
    /// Prints the first 10 elements of every batch in Spark's format.
    pub fn print(&self) {
        self.print_n(10)
    }

    /// Prints the first `num` elements of every batch, under a `Time: <ms> ms` header between
    /// dashed lines, with `...` when the batch has more.
    pub fn print_n(&self, num: usize) {
        self.register(print_action(num));
    }

    /// Writes every batch to the directory `prefix-<time ms>.suffix` (without `.suffix` when it
    /// is empty), one element per line.
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str) {
        self.register(save_action(prefix.to_string(), suffix.to_string()));
    }
}

/// Folds values with multiplicities with `f`; `None` for no values.
pub(crate) fn fold<V: Clone>(values: &[(&V, isize)], f: &dyn Fn(V, V) -> V) -> Option<V> {
    let mut total: Option<V> = None;
    for (value, n) in values {
        for _ in 0..(*n).max(0) {
            total = Some(match total {
                None => (*value).clone(),
                Some(t) => f(t, (*value).clone()),
            });
        }
    }
    total
}

/// Values with multiplicities as a list with repeats.
pub(crate) fn expand<V: Clone>(values: &[(&V, isize)]) -> Vec<V> {
    values
        .iter()
        .flat_map(|(v, n)| std::iter::repeat_n(*v, (*n).max(0) as usize).cloned())
        .collect()
}
