//! `GroupsWithState`: a user's function per key and epoch with a state kept per key. Rows are
//! tagged with their place in the source's order where they enter the dataflow (so "read
//! order" is the same whatever the number of workers), keyed by the key columns, and handed to
//! [`tidewater_operators::groups_with_state()`].
//!
//! Processing time is the clock of the worker that holds the key when it runs the epoch: a
//! key's timeout is set and checked on the same worker. Epochs run when rows come or the
//! watermark moves, so a processing-time timeout fires at the first epoch run after it passes.

use std::sync::Arc;

use tidewater_operators::{GroupsWithState, Timeout};

use super::physical::{Physical, Strategy};
use super::{upsert, Compiled, Rows};
use crate::connectors::{OperatorFigures, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use crate::plan::StateFunction;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::Scope;

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
    let maxima = event_time.map(|_| {
        let maxima =
            tidewater_operators::event_time_maxima(keyed.clone(), |(_, (_, _, time)): &(Row, _)| *time);
        compiled
            .events
            .push(maxima.clone().map(|micros| SourceEvent::MaxEventTime { micros }));
        maxima
    });
    compiled.built(Strategy::GroupsWithState);
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
    let StateFunction(function) = function;
    let config = GroupsWithState {
        function,
        timeout,
        maxima,
        delay: event_time.map_or(0, |(_, _, delay)| delay),
        seen: compiled.seen_maxima(),
        batch_time: Arc::new(|_epoch| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        }),
        restored,
        log,
        start,
    };
    let (rows, figures) = tidewater_operators::groups_with_state(keyed, config);
    // A key, its state and its timeout.
    let operator = compiled.state_operator("flatMapGroupsWithState", key_width + 2);
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
