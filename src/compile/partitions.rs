//! Sources whose reader hands over work items (files) rather than rows: each item is read
//! inside the dataflow, on one worker, or on every worker for a table every worker needs whole.

use std::collections::VecDeque;
use std::sync::Arc;

use differential_dataflow::collection::AsCollection;
use timely::dataflow::channels::pact::Pipeline as Local;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Capability, Exchange};
use timely::progress::operate::FrontierInterest;

use super::{Events, Rows};
use crate::connectors::{ItemWake, PartitionRead, PartitionReader, SourceEvent};
use crate::data::Row;

/// Records one worker reads from its work items before it lets the operators downstream take
/// them: their rows are still in the cache then.
const ROWS_PER_ACTIVATION: usize = 4096;

/// A work item being read, with the capabilities to send its rows and its events at its time.
struct Reading {
    item: Box<dyn PartitionRead>,
    rows_at: Capability<u64>,
    events_at: Capability<u64>,
    diff: isize,
}

/// Which workers read a work item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Readers {
    /// One worker, chosen by the item's hash: the rows are spread over the workers.
    One,
    /// Every worker reads every item: each gets the whole of the rows without any crossing
    /// between workers. For static tables that every worker holds whole (a broadcast join).
    Every,
}

/// Reads each work item (a file) on the worker or workers `readers` says, and splits what
/// comes out into rows and events. Read by every worker, an item's row and malformed-record
/// counts are reported by worker 0 alone, so progress counts each row once; every worker
/// reports its own failures.
pub(crate) fn read_partitions<'s>(
    items: Rows<'s>,
    reader: Arc<dyn PartitionReader>,
    source: usize,
    readers: Readers,
) -> (Rows<'s>, Events<'s>) {
    let scope = items.inner.scope();
    let (peers, reports_counts) = (scope.peers(), readers == Readers::One || scope.index() == 0);
    let items = match readers {
        _ if peers <= 1 => items.inner,
        Readers::One => {
            let router = reader.clone();
            items.inner.exchange(move |(item, _, _)| router.route(item))
        }
        Readers::Every => items.inner.broadcast(),
    };
    // One operator with two outputs: the items' rows (no per-row stage after the reader), and
    // their events. Each activation reads at most `ROWS_PER_ACTIVATION` records and then lets
    // the operators downstream take them, so a large file is never held whole.
    let mut builder = OperatorBuilder::new("Read partitions".to_owned(), scope);
    let activator = scope.activator_for(builder.operator_info().address);
    // Items that wait on I/O elsewhere wake the operator from that thread when more arrives.
    let sync_activator = scope
        .worker()
        .sync_activator_for(builder.operator_info().address.to_vec());
    let wake = ItemWake::new(move || {
        let _ = sync_activator.activate();
    });
    let mut input = builder.new_input(items, Local);
    builder.set_notify_for(0, FrontierInterest::Never);
    let (mut rows_output, rows) = builder.new_output::<Vec<(Row, u64, isize)>>();
    let (mut events_output, events) = builder.new_output::<Vec<(SourceEvent, u64, isize)>>();
    builder.build(move |_capabilities| {
        let mut reading: VecDeque<Reading> = VecDeque::new();
        let mut happened = Vec::new();
        move |_frontiers| {
            input.for_each_stamp(|cap, data| {
                for (item, _, diff) in data.flat_map(|d| d.drain(..)) {
                    if let (Some(rows_at), Some(events_at)) = (cap.retain_least(0), cap.retain_least(1)) {
                        reading.push_back(Reading {
                            item: reader.open_waking(&item, source, wake.clone()),
                            rows_at,
                            events_at,
                            diff,
                        });
                    }
                }
            });
            let (mut rows_out, mut events_out) = (rows_output.activate(), events_output.activate());
            let mut budget = ROWS_PER_ACTIVATION;
            // Items waiting for I/O in a row: once every item waits, the operator sleeps until
            // one of their wakes brings it back (items waiting on nothing never wait).
            let mut waited = 0;
            while let Some(now) = reading.front_mut() {
                let (time, diff) = (*now.rows_at.time(), now.diff);
                // Room for the whole budget at once: grown by doubling, the batch was copied
                // about as many times as it doubled.
                let mut batch = Vec::with_capacity(budget);
                let mut records = 0;
                let more = now.item.read(
                    budget,
                    &mut |row| {
                        records += 1;
                        batch.push((row, time, diff))
                    },
                    &mut happened,
                );
                rows_out.give(&now.rows_at, &mut batch);
                let mut batch: Vec<_> = happened
                    .drain(..)
                    .filter(|event| reports_counts || matches!(event, SourceEvent::Failed { .. }))
                    .map(|event| (event, time, diff))
                    .collect();
                events_out.give(&now.events_at, &mut batch);
                budget = budget.saturating_sub(records);
                if more && now.item.waiting() {
                    // Read the items behind it meanwhile.
                    waited += 1;
                    if waited >= reading.len() {
                        break;
                    }
                    reading.rotate_left(1);
                    continue;
                }
                waited = 0;
                if more {
                    // The item took the whole budget.
                    break;
                }
                reading.pop_front();
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    break;
                }
            }
            if !reading.is_empty() && waited < reading.len() {
                activator.activate();
            }
        }
    });
    (rows.as_collection(), events.as_collection())
}
