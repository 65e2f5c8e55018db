//! `lookup_join`: a stream probed against a table, keeping no state for the stream.
//!
//! Differential's `join` arranges both inputs, so a stream joined with a table keeps every
//! stream record forever. When the table side only changes rarely (a static table, loaded
//! once), each stream record can instead be looked up in the table as it stands at the
//! record's time, emitted, and forgotten: state is the table alone.
//!
//! The answer is the table *as of* each record's time. A table update at time `u` does not
//! correct results of records before `u`. That is exactly the join for tables that never
//! change after they load; for tables that change while the stream runs and whose changes must
//! correct earlier results, use differential's `join`.
//!
//! Both inputs are exchanged by key hash, so each worker holds the table rows of its keys.
//! A record at time `t` is probed once the table input is complete through `t`, after every
//! table update at or before `t` has been applied and before any later one is (see
//! `AsOfTable`).

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, Data, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::as_of_table::AsOfTable;

/// Stream records waiting at one time, with the capability to emit their results at it.
type Waiting<T, K, V> = (Capability<T>, Vec<(K, V, isize)>);

/// Joins each `(key, value)` record of `stream` with the rows of `table` under the same key at
/// the record's time. `result(key, value, matches, out)` gets the key's table rows with their
/// multiplicities (empty when there is none) and pushes `(output, multiplicity)` pairs; each
/// is emitted at the record's time with the multiplicity times the record's diff.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::lookup_join;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut clicks, mut users, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (clicks_in, clicks) = scope.new_collection::<(u32, String), isize>();
///         let (users_in, users) = scope.new_collection::<(u32, String), isize>();
///         let joined = lookup_join(clicks, users, "Enrich", |_id, page: &String, matches: &[(String, isize)], out| {
///             match matches {
///                 [] => out.push((format!("{page} by nobody"), 1)),
///                 found => found.iter().for_each(|(name, n)| out.push((format!("{page} by {name}"), *n))),
///             }
///         });
///         let (probe, _) = joined.inspect(move |x| sink.lock().unwrap().push(x.clone())).probe();
///         (clicks_in, users_in, probe)
///     });
///     users.insert((1, "ann".to_string()));
///     clicks.insert((1, "/home".to_string()));
///     clicks.insert((2, "/faq".to_string()));
///     users.advance_to(1); clicks.advance_to(1);
///     users.flush(); clicks.flush();
///     worker.step_while(|| probe.less_than(clicks.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![("/faq by nobody".to_string(), 0, 1), ("/home by ann".to_string(), 0, 1)]);
/// ```
pub fn lookup_join<'scope, T, K, V1, V2, R, F>(
    stream: VecCollection<'scope, T, (K, V1), isize>,
    table: VecCollection<'scope, T, (K, V2), isize>,
    name: &str,
    mut result: F,
) -> VecCollection<'scope, T, R, isize>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    V1: ExchangeData,
    V2: ExchangeData,
    R: Data,
    F: FnMut(&K, &V1, &[(V2, isize)], &mut Vec<(R, isize)>) + 'static,
{
    let by_key_1 = Exchange::new(|((key, _), _, _): &((K, V1), T, isize)| key.hashed());
    let by_key_2 = Exchange::new(|((key, _), _, _): &((K, V2), T, isize)| key.hashed());
    stream
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(R, T, isize)>>, _, _, _, _>(
            table.inner,
            by_key_1,
            by_key_2,
            name,
            move |_initial, _info| {
                let mut table = AsOfTable::<T, K, V2>::default();
                let mut waiting: BTreeMap<T, Waiting<T, K, V1>> = BTreeMap::new();
                let mut out = Vec::new();
                move |(records, record_frontier), (updates, table_frontier), output| {
                    let port = output.output_index();
                    records.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for ((key, value), time, diff) in container.drain(..) {
                                waiting
                                    .entry(time)
                                    .or_insert_with_key(|t| (cap.delayed(t, port), Vec::new()))
                                    .1
                                    .push((key, value, diff));
                            }
                        }
                    });
                    updates.for_each_stamp(|_cap, containers| table.stage_all(containers));
                    while let Some((_, (cap, batch))) =
                        table.pop_ready(&mut waiting, record_frontier, table_frontier)
                    {
                        let mut session = output.session(&cap);
                        for (key, value, diff) in batch {
                            result(&key, &value, table.rows().get(&key), &mut out);
                            for (r, n) in out.drain(..) {
                                session.give((r, cap.time().clone(), n * diff));
                            }
                        }
                    }
                }
            },
        )
        .as_collection()
}
