//! Per-batch operations on streams of `(key, value)` pairs (Spark's `PairDStreamFunctions`).

// The joins' result types are their documentation (Spark's types, spelled out): no aliases.
#![allow(clippy::type_complexity)]

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::graph::{build_fn, BuildCtx, Built, Data};
use super::stream::{expand, fold};
use super::DStream;
use crate::error::Result;
use tidewater_operators::epoch_reduce;

/// One side of a cogroup, tagged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Side<V, W> {
    Left(V),
    Right(W),
}

impl<K: Data, V: Data> DStream<(K, V)> {
    /// Applies `f` to every value, keeping the keys.
    pub fn map_values<U: Data, F>(&self, f: F) -> DStream<(K, U)>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        self.map(move |(k, v)| (k, f(v)))
    }

    /// Applies `f` to every value and pairs the key with each value it returns.
    pub fn flat_map_values<U: Data, I, F>(&self, f: F) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.flat_map(move |(k, v)| f(v).into_iter().map(|u| (k.clone(), u)).collect::<Vec<_>>())
    }

    /// Each batch's values of a key folded with `f` (associative and commutative): per batch,
    /// not running totals (those are [`update_state_by_key`](DStream::update_state_by_key)).
    pub fn reduce_by_key<F>(&self, f: F) -> DStream<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let parent = self.build.clone();
        self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let f = f.clone();
            match parent(cx).one_batch_arrivals() {
                // Each batch's own elements: folded per batch in a hash map, each worker's
                // share first, so the exchange carries one partial per key and worker.
                Ok(records) => Built::arrivals(epoch_reduce(records, "ReduceByKey", move |a, b| f(a, b))),
                // Windows and the like: differential's reduce over the batch's contents.
                Err(other) => Built::Contents(other.contents().reduce(move |_key, values, out| {
                    if let Some(total) = fold(values, &*f) {
                        out.push((total, 1))
                    }
                })),
            }
        }))
    }

    /// Each batch's values of a key, sorted.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.derive_contents(|_cx, pairs| pairs.reduce(|_key, values, out| out.push((expand(values), 1))))
    }

    /// Pairs every value of a key with every value of the same key in `other`'s batch.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> Result<DStream<(K, (V, W))>> {
        self.check_same_context(other, "join")?;
        let (left, right) = (self.build.clone(), other.build.clone());
        Ok(self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (l, r) = (left(cx).contents(), right(cx).contents());
            Built::Contents(l.join(r))
        })))
    }

    /// As [`join`](Self::join), and every value without a match paired with `None`.
    pub fn left_outer_join<W: Data>(&self, other: &DStream<(K, W)>) -> Result<DStream<(K, (V, Option<W>))>> {
        self.check_same_context(other, "left_outer_join")?;
        let (left, right) = (self.build.clone(), other.build.clone());
        Ok(self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (l, r) = (left(cx).contents(), right(cx).contents());
            let keys = r.clone().map(|(k, _)| k).distinct();
            let matched = l.clone().join(r).map(|(k, (v, w))| (k, (v, Some(w))));
            let unmatched = l.antijoin(keys).map(|(k, v)| (k, (v, None)));
            Built::Contents(matched.concat(unmatched))
        })))
    }

    /// As [`join`](Self::join), and every value of `other` without a match paired with `None`.
    pub fn right_outer_join<W: Data>(&self, other: &DStream<(K, W)>) -> Result<DStream<(K, (Option<V>, W))>> {
        Ok(other.left_outer_join(self)?.map(|(k, (w, v))| (k, (v, w))))
    }

    /// Both outer joins at once: every value of either side, paired with its matches or `None`.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> Result<DStream<(K, (Option<V>, Option<W>))>> {
        self.check_same_context(other, "full_outer_join")?;
        let (left, right) = (self.build.clone(), other.build.clone());
        Ok(self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let (l, r) = (left(cx).contents(), right(cx).contents());
            let left_keys = l.clone().map(|(k, _)| k).distinct();
            let right_keys = r.clone().map(|(k, _)| k).distinct();
            let matched = l
                .clone()
                .join(r.clone())
                .map(|(k, (v, w))| (k, (Some(v), Some(w))));
            let left_only = l.antijoin(right_keys).map(|(k, v)| (k, (Some(v), None)));
            let right_only = r.antijoin(left_keys).map(|(k, w)| (k, (None, Some(w))));
            Built::Contents(matched.concat(left_only).concat(right_only))
        })))
    }

    /// For every key in either batch, its values in this stream and in `other`, each sorted.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> Result<DStream<(K, (Vec<V>, Vec<W>))>> {
        self.check_same_context(other, "cogroup")?;
        let (left, right) = (self.build.clone(), other.build.clone());
        Ok(self.derive(build_fn(move |cx: &mut BuildCtx<'_>| {
            let l = left(cx).contents().map(|(k, v)| (k, Side::Left(v)));
            let r = right(cx).contents().map(|(k, w)| (k, Side::Right(w)));
            Built::Contents(l.concat(r).reduce(|_key, values, out| {
                let (mut vs, mut ws) = (Vec::new(), Vec::new());
                for side in expand(values) {
                    match side {
                        Side::Left(v) => vs.push(v),
                        Side::Right(w) => ws.push(w),
                    }
                }
                out.push(((vs, ws), 1))
            }))
        })))
    }
}
