//! `Upsert`: a changing table from a stream of upserts. Each row is tagged with its place in
//! the source's order where it enters the dataflow, keyed by its primary key, and handed to
//! [`tidewater_operators::upsert()`], which keeps the latest row per key and emits `-old +new`
//! when it changes. The result is an ordinary collection with one row per key, so a join with
//! it arranges both sides and corrects earlier results when a table row changes.

use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Exchange;
use timely::dataflow::Scope;

use super::local_rows::read_local_with;
use super::physical::{Physical, Read, Strategy};
use super::{build, spread, Compiled, Rows};
use crate::connectors::{PartitionReader, SourceEvent};
use crate::data::{Row, Value};

/// Where a row stands in its source's order: `(record, line)`. For sources fed by the leader
/// the record is the row's position in the feed and the line is 0 (for sources held in memory,
/// the row's offset); for files the record is the
/// file's position in the listing and the line the row's position in the file.
pub(super) type Order = (u64, u64);

/// Rows with their place in the source's order.
pub(super) type Ordered<'s> = VecCollection<'s, u64, (Order, Row), isize>;

/// Builds the upsert table of `input` keyed by the columns at `keys`.
pub(super) fn upsert_table<'s>(
    input: Physical<'_>,
    keys: Vec<usize>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    let changes = ordered(input, scope, compiled).flat_map(move |(order, row)| {
        let key: Row = keys
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect();
        if key.iter().any(Value::is_null) {
            return None;
        }
        // A tombstone: every column but the key is null (a table of key columns has none).
        let tombstone = row.len() > keys.len()
            && row
                .iter()
                .enumerate()
                .all(|(i, v)| keys.contains(&i) || v.is_null());
        Some((key, (order, (!tombstone).then_some(row))))
    });
    compiled.built(Strategy::UpsertTable);
    let durable = compiled.durable(scope, |restored| match restored {
        super::durable::Restored::Upserts(entries) => Some(entries),
        _ => None,
    });
    let Some(durable) = durable else {
        return tidewater_operators::upsert(changes, "UpsertTable").map(|(_, row)| row);
    };
    // Restored rows are upserts before any new one: the first order, at the epoch before the
    // first new one (a static table read again there wins over them, with the same rows).
    let changes = match durable.restored {
        Some(restored) => restored
            .map(|(key, time, row)| ((key, ((0, 0), row)), time, 1))
            .as_collection()
            .concat(changes),
        None => changes,
    };
    let log = Some((durable.log, durable.first_new));
    tidewater_operators::upsert_logged(changes, "UpsertTable", log).map(|(_, row)| row)
}

/// Builds an upsert table's input (a source under filters and projections without a
/// generator, as `LogicalPlan::upsert_table` checks), tagging each row with its order.
pub(super) fn ordered<'s>(
    node: Physical<'_>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Ordered<'s> {
    match node {
        Physical::Source { id, read, .. } => {
            let records = compiled.new_input(scope, id);
            compiled.built(read.strategy());
            let reader = match read {
                // A row's offset in the source is its place in the source's order.
                Read::Shares(rows) => {
                    return read_local_with(records, rows, scope.peers(), |offset, row| {
                        ((offset, 0), row.clone())
                    })
                }
                Read::Spread => None,
                Read::Items(reader, _) => Some(reader),
            };
            // Only the leader feeds the input, in the order its reader handed the records
            // over, and nothing reorders them before this counter.
            let mut next = 0u64;
            let numbered = records.map(move |row| {
                next += 1;
                ((next, 0), row)
            });
            match reader {
                None => spread(numbered, scope.peers()),
                Some(reader) => {
                    let index = compiled.source_index(id);
                    let (rows, events) = read_ordered(numbered, reader, index, scope.peers());
                    compiled.events.push(events);
                    rows
                }
            }
        }
        Physical::Rows { pipeline, input, .. } => {
            ordered(*input, scope, compiled).flat_map(move |(order, row)| {
                let mut out = Vec::new();
                pipeline.run(row, &mut |r| out.push((order, r)));
                out
            })
        }
        // Rows pass a watermark unchanged (a deduplication above reads it).
        Physical::Watermark { input, .. } => ordered(*input, scope, compiled),
        // Not reached (upsert_table refuses other inputs); every row keeps one order.
        other => build(other, scope, compiled).map(|row| ((0, 0), row)),
    }
}

/// Reads numbered work items (files) where their hash sends them; each row's order is the
/// item's number and its position in the item.
fn read_ordered<'s>(
    items: Ordered<'s>,
    reader: Arc<dyn PartitionReader>,
    source: usize,
    peers: usize,
) -> (Ordered<'s>, VecCollection<'s, u64, SourceEvent, isize>) {
    let items = if peers > 1 {
        let router = reader.clone();
        items
            .inner
            .exchange(move |((_, item), _, _)| router.route(item))
            .as_collection()
    } else {
        items
    };
    let read = items.flat_map(move |((number, _), item)| {
        let (mut read, mut events) = (Vec::<Result<(Order, Row), SourceEvent>>::new(), Vec::new());
        let mut line = 0;
        let mut numbered = |row| {
            read.push(Ok(((number, line), row)));
            line += 1;
        };
        reader.read(&item, source, &mut numbered, &mut events);
        read.extend(events.into_iter().map(Err));
        read
    });
    let events = read.clone().flat_map(Result::err);
    (read.flat_map(Result::ok), events)
}
