//! `lookup_aggregate_into`: a stream enriched from a small table and aggregated, in one step.
//!
//! The plan "stream JOIN table GROUP BY ..." as [`lookup_join`](crate::lookup_join()) followed by
//! [`aggregate_append_only_into`](crate::aggregate_append_only_into) moves every stream record
//! twice: to the worker owning its join key, then, joined, into the aggregation's fold. When the
//! table is small, Spark broadcasts it and pipelines the probe into the partial aggregation; this
//! operator does the same. Every worker holds the whole table, each worker probes its own records
//! and folds what they join with straight into its partial states, and only those partial states
//! are exchanged (by the aggregation's key). A record is never copied, buffered (once the table
//! has loaded) or sent anywhere.
//!
//! The table is the table *as of* each record's time, with the rule of
//! [`lookup_join`](crate::lookup_join()): a record at `t` sees exactly the table updates at times
//! `<= t`, and later updates do not correct it. Like the aggregation it feeds, it is only correct
//! for insert-only records.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, Data, ExchangeData, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Capability;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::aggregate::{merge_by_key, Partial, Pending};
use crate::as_of_table::{AsOfTable, TableRows};
use crate::{Aggregation, Changes, Counted, Durable, PartialStates};

/// The table input of [`lookup_aggregate_into`], which every worker needs whole.
///
/// A collection converts into a table that each worker holds a part of, and that the operator
/// broadcasts; [`Table::on_every_worker`] marks one that every worker already holds whole (for
/// instance because each worker read the table's files itself), which is used as it is.
pub struct Table<'scope, T: Timestamp, K: 'static, V: 'static> {
    updates: VecCollection<'scope, T, (K, V), isize>,
    whole_on_every_worker: bool,
}

impl<'scope, T: Timestamp, K: 'static, V: 'static> Table<'scope, T, K, V> {
    /// A table whose every update is on every worker already.
    pub fn on_every_worker(updates: VecCollection<'scope, T, (K, V), isize>) -> Self {
        Table {
            updates,
            whole_on_every_worker: true,
        }
    }
}

impl<'scope, T: Timestamp, K: 'static, V: 'static> From<VecCollection<'scope, T, (K, V), isize>>
    for Table<'scope, T, K, V>
{
    fn from(updates: VecCollection<'scope, T, (K, V), isize>) -> Self {
        Table {
            updates,
            whole_on_every_worker: false,
        }
    }
}

/// Records held back until the table is complete through their time, with the capability to
/// fold them at it.
type Waiting<T, D> = (Capability<T>, Vec<(D, isize)>);

/// Aggregates `records` as [`aggregate_append_only_into`](crate::aggregate_append_only_into)
/// does, with each record's fold given the rows of `table` as of the record's time:
/// `fold(record, diff, table, states)` looks the record up in `table` and folds what it joins
/// with into `states` (see the [module documentation](self)).
///
/// Every worker keeps all of `table`, so it is for tables that fit in every worker's memory:
/// it is broadcast unless it is already [whole on every worker](Table::on_every_worker).
/// Records stay on the worker that has them.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{lookup_aggregate_into, Sum};
///
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let sink = changes.clone();
/// timely::execute_directly(move |worker| {
///     let (mut sales, mut shops, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (sales_in, sales) = scope.new_collection::<(u32, i64), isize>();
///         let (shops_in, shops) = scope.new_collection::<(u32, String), isize>();
///         // Revenue per city: each sale is looked up by its shop.
///         let revenue = lookup_aggregate_into(sales, shops, "RevenuePerCity", Sum, |(shop, amount), diff, table, states| {
///             for (city, n) in table.get(&shop) {
///                 *states.entry(city.clone()).or_insert(0) += amount * (diff * n) as i64;
///             }
///         });
///         let (probe, _) = revenue.inspect(move |u| sink.lock().unwrap().push(u.clone())).probe();
///         (sales_in, shops_in, probe)
///     });
///     shops.insert((1, "Oslo".to_string()));
///     shops.insert((2, "Rome".to_string()));
///     sales.insert((1, 10));
///     sales.insert((2, 5));
///     sales.insert((1, 7));
///     sales.insert((3, 99)); // no such shop: joins with nothing
///     sales.advance_to(1); shops.advance_to(1);
///     sales.flush(); shops.flush();
///     worker.step_while(|| probe.less_than(sales.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort();
/// assert_eq!(changes, vec![(("Oslo".to_string(), 17), 0, 1), (("Rome".to_string(), 5), 0, 1)]);
/// ```
pub fn lookup_aggregate_into<'scope, T, D, TK, TV, K, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    table: impl Into<Table<'scope, T, TK, TV>>,
    name: &str,
    agg: A,
    fold: F,
) -> VecCollection<'scope, T, (K, A::Output), isize>
where
    T: Timestamp + TotalOrder,
    D: Data,
    TK: ExchangeData + Hash,
    TV: ExchangeData,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &TableRows<TK, TV>, &mut PartialStates<K, A::State>) + 'static,
{
    lookup_aggregate_durable(records, table, name, agg, fold, None, Changes::Both).0
}

/// As [`lookup_aggregate_into`], durable when `durable` is given, as
/// [`aggregate_append_only_durable`](crate::aggregate_append_only_durable) is: the keys'
/// totals start from the restored ones, and every time's changed totals are logged before the
/// time's output is released. The output is emitted as `changes` (see [`Changes`]), with each
/// worker's [`KeyFigures`](crate::KeyFigures) per time beside it.
pub fn lookup_aggregate_durable<'scope, T, D, TK, TV, K, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    table: impl Into<Table<'scope, T, TK, TV>>,
    name: &str,
    agg: A,
    mut fold: F,
    durable: Option<Durable<'scope, T, K, A::State>>,
    changes: Changes,
) -> Counted<'scope, T, K, A::Output>
where
    T: Timestamp + TotalOrder,
    D: Data,
    TK: ExchangeData + Hash,
    TV: ExchangeData,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &TableRows<TK, TV>, &mut PartialStates<K, A::State>) + 'static,
{
    let operator = name.to_string();
    let Table {
        updates,
        whole_on_every_worker,
    } = table.into();
    let table = if updates.inner.scope().peers() > 1 && !whole_on_every_worker {
        updates.inner.broadcast()
    } else {
        updates.inner
    };
    let partials = records
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<Partial<K, T, A::State>>>, _, _, _, _>(
            table,
            Pipeline,
            Pipeline,
            &format!("{name}: look up and fold locally"),
            move |_initial, _info| {
                let mut table = AsOfTable::<T, TK, TV>::default();
                let mut waiting: BTreeMap<T, Waiting<T, D>> = BTreeMap::new();
                let mut pending = Pending::<T, K, A::State>::default();
                move |(records, record_frontier), (updates, table_frontier), output| {
                    let port = output.output_index();
                    updates.for_each_stamp(|_cap, containers| table.stage_all(containers));
                    // Records not yet read still hold the frontier back, so no update applied
                    // here can be one that they must not see.
                    table.apply_ready(record_frontier, table_frontier, waiting.keys().next());
                    records.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for (record, time, diff) in container.drain(..) {
                                debug_assert!(
                                    diff > 0,
                                    "{operator}: diff {diff}, only insertions are supported"
                                );
                                if table.ready_for(&time, table_frontier) {
                                    fold(record, diff, table.rows(), pending.at(&cap, time, port));
                                } else {
                                    waiting
                                        .entry(time)
                                        .or_insert_with_key(|t| (cap.delayed(t, port), Vec::new()))
                                        .1
                                        .push((record, diff));
                                }
                            }
                        }
                    });
                    while let Some((time, (cap, batch))) =
                        table.pop_ready(&mut waiting, record_frontier, table_frontier)
                    {
                        let states = pending.at_with(time, |t| cap.delayed(t));
                        for (record, diff) in batch {
                            fold(record, diff, table.rows(), states);
                        }
                    }
                    // A time's partials are complete once no record at or before it can still
                    // arrive or is held back.
                    while pending
                        .times
                        .keys()
                        .next()
                        .is_some_and(|t| waiting.keys().next().is_none_or(|w| t.less_than(w)))
                    {
                        let Some((cap, states)) = pending.pop_complete(record_frontier) else {
                            break;
                        };
                        let time = cap.time();
                        let partials = states.into_iter().map(|(key, state)| (key, time.clone(), state));
                        output.session(&cap).give_iterator(partials);
                    }
                }
            },
        );
    let (partials, logged) = Durable::wire(durable, partials);
    let (results, figures) = merge_by_key(partials, name, agg, logged, changes);
    (results.as_collection(), figures.as_collection())
}
