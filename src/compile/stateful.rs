//! `GroupsWithState`: a user's function per key and epoch with a state kept per key. Rows are
//! tagged with their place in the source's order where they enter the dataflow (so "read
//! order" is the same whatever the number of workers), keyed by the key columns, and handed to
//! [`tidewater_operators::groups_with_state()`].
//!
//! Processing time is each epoch's batch time, which the leader reads from its clock when it
//! starts the epoch and shares with the workers of its process ([`BatchTimes`]); workers in
//! other processes read their own clock. A plan with processing-time timeouts runs epochs on
//! the clock too (see [`TIMEOUT_TICK`](crate::runtime::TIMEOUT_TICK)), so a key with no more
//! rows still times out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tidewater_operators::{GroupsWithState, Timeout};

use super::physical::{Physical, Strategy};
use super::{upsert, Compiled, Rows};
use crate::connectors::{OperatorFigures, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use crate::plan::{StateApi, StateFunction};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::Scope;

/// Each epoch's batch time in milliseconds, as the leader decided it: every worker of its
/// process reads the same time for the same epoch. The latest is kept after the others are
/// forgotten: it is the time of the epoch in flight (a query runs one epoch at a time), which
/// `current_timestamp()` reads.
#[derive(Debug, Default)]
pub(crate) struct BatchTimes(Mutex<Times>);

/// The batch times of the epochs not yet forgotten, and the latest epoch with its time.
#[derive(Debug, Default)]
struct Times {
    by_epoch: BTreeMap<u64, i64>,
    latest: Option<(u64, i64)>,
}

impl BatchTimes {
    /// Epoch `epoch` runs at `ms`.
    pub(crate) fn record(&self, epoch: u64, ms: i64) {
        let mut times = self.0.lock().unwrap_or_else(|p| p.into_inner());
        times.by_epoch.insert(epoch, ms);
        times.latest = Some((epoch, ms));
    }

    /// The batch time of `epoch`; the wall clock for an epoch the leader did not record (in
    /// another process).
    pub(crate) fn of(&self, epoch: u64) -> i64 {
        let recorded = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_epoch
            .get(&epoch)
            .copied();
        recorded.unwrap_or_else(wall_clock_ms)
    }

    /// The latest epoch started (the one in flight, or the last one run) and its batch time;
    /// epoch 0 and the wall clock before the first, or in a process other than the leader's.
    pub(crate) fn latest(&self) -> (u64, i64) {
        let latest = self.0.lock().unwrap_or_else(|p| p.into_inner()).latest;
        latest.unwrap_or_else(|| (0, wall_clock_ms()))
    }

    /// Forgets the times of epochs before `epoch`, which every worker has run.
    pub(crate) fn forget_before(&self, epoch: u64) {
        let mut times = self.0.lock().unwrap_or_else(|p| p.into_inner());
        times.by_epoch = times.by_epoch.split_off(&epoch);
    }
}

/// The wall clock in milliseconds since the epoch.
pub(crate) fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The strategy that runs `function`, named after the API that made it.
pub(super) fn strategy_of(function: &StateFunction) -> Strategy {
    match function.1 {
        StateApi::FlatMapGroupsWithState => Strategy::GroupsWithState,
        StateApi::TransformWithState { .. } => Strategy::TransformWithState,
    }
}

/// Builds the function's run over `input` keyed by the columns at `keys`, under the watermark
/// on the column `event_time` names, if any.
pub(super) fn groups_with_state<'s>(
    input: Physical<'_>,
    keys: Vec<usize>,
    function: StateFunction,
    timeout: Timeout,
    event_time: Option<(usize, &str, i64)>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    let key_width = keys.len();
    // Spark's name for the operator, after the API that made it.
    let name = function.1.operator_name();
    // An aggregation right above takes this function's input watermark (taken before the
    // input is built, which may hold a join that would otherwise take it).
    let feeds_aggregation = std::mem::take(&mut compiled.join_feeds_aggregation);
    let ordered = compiled.with_state_input(|compiled| upsert::ordered(input, scope, compiled));
    let column = event_time.map(|(column, ..)| column);
    let keyed = ordered.map(move |(order, row)| {
        let key: Row = keys
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect();
        let time = match column.and_then(|c| row.get(c)) {
            Some(Value::Timestamp(t)) => Some(*t),
            _ => None,
        };
        (key, (order, row, time))
    });
    let (keyed, maxima) =
        compiled.reported_maxima(keyed, event_time.is_some(), |(_, (_, _, time)): &(Row, _)| *time);
    if feeds_aggregation {
        compiled.join_watermark = maxima.clone().map(|maxima| (maxima, false));
    }
    compiled.built(strategy_of(&function));
    let durable = compiled.durable(scope, |restored| match restored {
        super::durable::Restored::GroupStates(entries) => Some(entries),
        _ => None,
    });
    let (restored, log, start) = match durable {
        Some(durable) => {
            // Every restored key has a state: its logged entry is `Some`.
            let restored = durable
                .restored
                .map(|states| states.flat_map(|(key, time, kept)| kept.map(|kept| (key, time, kept))));
            (restored, Some(durable.log), durable.first_new)
        }
        None => (None, None, 0),
    };
    let StateFunction(function, api) = function;
    // A processor's entries with a TTL wake their key on processing time under event time.
    let deadline: Option<tidewater_operators::group_state::Deadline<Vec<u8>>> = match api {
        StateApi::TransformWithState { ttl_wakes: true } => Some(Arc::new(|bytes: &Vec<u8>| {
            crate::plan::processor::ttl_deadline(bytes)
        })),
        _ => None,
    };
    let config = GroupsWithState {
        function,
        timeout,
        maxima,
        delay: event_time.map_or(0, |(_, _, delay)| delay),
        seen: compiled.seen_maxima(),
        batch_time: compiled.batch_time(),
        restored,
        log,
        start,
        deadline,
    };
    let (rows, figures) = tidewater_operators::groups_with_state(keyed, config);
    // A key, its state and its timeout.
    let operator = compiled.state_operator(name, key_width + 2);
    compiled
        .events
        .push(figures.map(move |f| SourceEvent::StateOperator {
            operator,
            figures: OperatorFigures {
                held: StateHeld::Change(f.total_change),
                updated: f.updated,
                removed: f.removed,
                dropped_by_watermark: f.late,
            },
        }));
    rows
}
