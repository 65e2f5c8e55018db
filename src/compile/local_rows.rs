//! Reading a source whose rows sit in the leader process's memory ([`LocalRows`], a
//! `MemoryStream`). The leader claims an epoch's rows by count and deals them out by offset, one
//! contiguous share to each worker of its process ([`deal_shares`]). Each worker then copies its
//! share from the source straight into the dataflow ([`read_local`]), or, for an operator that
//! only needs to look at each row (the fused table-join aggregation), hands it the share to
//! read in place ([`in_place`]). No row is copied into the leader's buffers or the input's, none
//! is exchanged, and the reading runs on every local worker at once.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use timely::dataflow::channels::pact::Pipeline as Local;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::{Capability, Exchange};
use timely::progress::operate::FrontierInterest;

use super::Rows;
use crate::connectors::LocalRows;
use crate::data::{Row, Value};

/// Rows a worker copies into one container before it lets the operators downstream run: the
/// container is still in the cache when they read it.
const ROWS_PER_CONTAINER: u64 = 1024;

/// Deals the rows at offsets `range` out to `workers` workers (the first `workers` workers are
/// the leader's process's) in contiguous shares as equal as they can be, and gives each
/// non-empty share's work item to `give`.
pub(crate) fn deal_shares(range: Range<u64>, workers: usize, mut give: impl FnMut(Row)) {
    let workers = workers.max(1) as u64;
    let len = range.end - range.start;
    for worker in 0..workers {
        let start = range.start + len * worker / workers;
        let end = range.start + len * (worker + 1) / workers;
        if start < end {
            give(crate::row![start as i64, end as i64, worker as i64]);
        }
    }
}

/// A work item of [`deal_shares`]: the offsets to read (never backwards) and the worker to read
/// them.
fn share_of(item: &Row) -> Option<(Range<u64>, u64)> {
    let offset = |i: usize| match item.get(i) {
        Some(Value::Int(n)) => u64::try_from(*n).ok(),
        _ => None,
    };
    let (start, end) = (offset(0)?, offset(1)?);
    if start > end {
        return None;
    }
    Some((start..end, offset(2)?))
}

/// The rows of `source` that the work items `shares` deal out, each read on the worker its item
/// names.
pub(crate) fn read_local<'s>(shares: Rows<'s>, source: Arc<dyn LocalRows>, peers: usize) -> Rows<'s> {
    read_local_with(shares, source, peers, |_, row| row.clone())
}

/// Reads the shares as [`read_local`] does, making each record of a row and its offset (its
/// place in the source's order) with `make`. A worker copies [`ROWS_PER_CONTAINER`] rows at a
/// time and reschedules itself for the rest, holding the item's time until its share is out.
pub(crate) fn read_local_with<'s, D: differential_dataflow::Data>(
    shares: Rows<'s>,
    source: Arc<dyn LocalRows>,
    peers: usize,
    make: impl Fn(u64, &Row) -> D + 'static,
) -> VecCollection<'s, u64, D, isize> {
    let shares = on_their_workers(shares, peers).inner;
    let scope = shares.scope();
    let mut builder = OperatorBuilder::new("Read local rows".to_owned(), scope);
    let activator = scope.activator_for(builder.operator_info().address);
    let mut input = builder.new_input(shares, Local);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut output, records) = builder.new_output::<Vec<(D, u64, isize)>>();
    builder.build(move |_capabilities| {
        let mut work: VecDeque<(Capability<u64>, Range<u64>, isize)> = VecDeque::new();
        move |_frontiers| {
            input.for_each_stamp(|cap, data| {
                for (item, _, diff) in data.flat_map(|d| d.drain(..)) {
                    if let (Some((offsets, _)), Some(cap)) = (share_of(&item), cap.retain_least(0)) {
                        work.push_back((cap, offsets, diff));
                    }
                }
            });
            let mut output = output.activate();
            let mut budget = ROWS_PER_CONTAINER;
            while let Some((cap, offsets, diff)) = work.front_mut() {
                let end = offsets.end.min(offsets.start + budget);
                let (time, diff) = (*cap.time(), *diff);
                let mut batch = Vec::with_capacity((end - offsets.start) as usize);
                let mut offset = offsets.start;
                source.for_each_slice(offsets.start..end, &mut |rows| {
                    batch.extend(rows.iter().map(|row| {
                        offset += 1;
                        (make(offset - 1, row), time, diff)
                    }))
                });
                output.give(&*cap, &mut batch);
                budget -= end - offsets.start;
                offsets.start = end;
                if offsets.is_empty() {
                    work.pop_front();
                }
                if budget == 0 {
                    break;
                }
            }
            if !work.is_empty() {
                activator.activate();
            }
        }
    });
    records.as_collection()
}

/// A stream as a fused operator reads it: its rows, or the shares of a source held in memory
/// (see [`in_place`]), whose rows the operator reads where they lie, borrowed: no row is copied
/// into the dataflow or dropped out of it.
pub(crate) struct StreamRows<'s> {
    /// The records: rows, or share items already on the worker that reads them.
    pub(crate) records: Rows<'s>,
    /// How to read the rows a record stands for.
    pub(crate) rows_of: RowsOf,
}

/// What the records of a [`StreamRows`] stand for.
#[derive(Clone, Debug)]
pub(crate) enum RowsOf {
    /// Each record is a row.
    Itself,
    /// Each record is a share of this source's rows, read in place.
    Shares(Arc<dyn LocalRows>),
}

impl RowsOf {
    /// Calls `f` with each row that `record` stands for, in order.
    pub(crate) fn for_each(&self, record: &Row, mut f: impl FnMut(&Row)) {
        match self {
            RowsOf::Itself => f(record),
            RowsOf::Shares(source) => {
                if let Some((offsets, _)) = share_of(record) {
                    source.for_each_slice(offsets, &mut |rows| rows.iter().for_each(&mut f));
                }
            }
        }
    }
}

/// The stream of a source held in memory, as shares its fused consumer reads in place: each
/// share item is sent to the worker it names, and stays an item.
pub(crate) fn in_place<'s>(shares: Rows<'s>, source: Arc<dyn LocalRows>, peers: usize) -> StreamRows<'s> {
    StreamRows {
        records: on_their_workers(shares, peers),
        rows_of: RowsOf::Shares(source),
    }
}

/// The share items, each moved to the worker it names (they are all dealt on the leader).
fn on_their_workers(shares: Rows<'_>, peers: usize) -> Rows<'_> {
    if peers <= 1 {
        return shares;
    }
    shares
        .inner
        .exchange(|(item, _, _)| share_of(item).map_or(0, |(_, worker)| worker))
        .as_collection()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_range_once_in_order() {
        for workers in 1..=5 {
            for len in [0u64, 1, 2, 7, 100] {
                let mut shares = Vec::new();
                deal_shares(10..10 + len, workers, |item| {
                    shares.push(share_of(&item).expect("a share"))
                });
                let covered: Vec<u64> = shares.iter().flat_map(|(r, _)| r.clone()).collect();
                assert_eq!(
                    covered,
                    (10..10 + len).collect::<Vec<_>>(),
                    "{workers} workers, {len} rows"
                );
                assert!(shares.iter().all(|(r, w)| !r.is_empty() && *w < workers as u64));
                let sizes: Vec<u64> = shares.iter().map(|(r, _)| r.end - r.start).collect();
                let (least, most) = (sizes.iter().min(), sizes.iter().max());
                assert!(most.zip(least).is_none_or(|(m, l)| m - l <= 1), "{sizes:?}");
            }
        }
        assert_eq!(
            share_of(&crate::row![5i64, 3i64, 0i64]),
            None,
            "a backwards range"
        );
        assert_eq!(
            share_of(&crate::row![-1i64, 3i64, 0i64]),
            None,
            "a negative offset"
        );
    }
}
