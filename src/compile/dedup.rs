//! `Deduplicate`: the first row of each key. Rows are tagged with their place in the source's
//! order where they enter the dataflow (as an upsert table tags them, so "first" means the row
//! read first whatever the number of workers), keyed by the key columns, and handed to
//! [`tidewater_operators::deduplicate()`], which remembers the keys it has let through for as long
//! as the watermark says (see [`Remember`]).

use tidewater_operators::{Dedup, Remember};

use super::physical::{Physical, Strategy};
use super::{upsert, Compiled, Rows};
use crate::connectors::{OperatorFigures, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::Scope;

/// Builds the deduplication of `input` by the columns at `keys`, under the watermark on the
/// column `event_time` names, if any.
pub(super) fn deduplicate<'s>(
    input: Physical<'_>,
    keys: Vec<usize>,
    remember: Remember,
    event_time: Option<(usize, &str, i64)>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    // Spark names the operator by the call that made it.
    let name = if matches!(remember, Remember::WithinDelay) {
        "dedupeWithinWatermark"
    } else {
        "dedupe"
    };
    let key_width = keys.len();
    let ordered = compiled.with_state_input(|compiled| upsert::ordered(input, scope, compiled));
    let column = event_time.map(|(column, ..)| column);
    let time_of = move |row: &Row| match column.and_then(|c| row.get(c)) {
        Some(Value::Timestamp(t)) => Some(*t),
        _ => None,
    };
    let keyed = ordered.map(move |(order, row)| {
        let key: Row = keys
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect();
        let time = time_of(&row);
        (key, (order, row, time))
    });
    let (keyed, maxima) =
        compiled.reported_maxima(keyed, event_time.is_some(), |(_, (_, _, time)): &(Row, _)| *time);
    compiled.built(Strategy::Deduplicate);
    let durable = compiled.durable(scope, |restored| match restored {
        super::durable::Restored::SeenKeys(entries) => Some(entries),
        _ => None,
    });
    let (restored, log) = match durable {
        Some(durable) => {
            // Every restored key is remembered: its logged state is `Some(until)`.
            let restored = durable
                .restored
                .map(|keys| keys.map(|(key, time, until)| (key, time, until.flatten())));
            (restored, Some((durable.log, durable.first_new)))
        }
        None => (None, None),
    };
    let dedup = Dedup {
        maxima,
        delay: event_time.map_or(0, |(_, _, delay)| delay),
        remember,
        seen: compiled.seen_maxima(),
        restored,
        log,
    };
    let (first, figures) = tidewater_operators::deduplicate(keyed, dedup);
    let operator = compiled.state_operator(
        name,
        // A remembered key and when it expires.
        key_width + 1,
    );
    compiled
        .events
        .push(figures.map(move |f| SourceEvent::StateOperator {
            operator,
            figures: OperatorFigures {
                held: StateHeld::Change(f.added as i64 - f.removed as i64),
                updated: f.added,
                removed: f.removed,
                dropped_by_watermark: f.late,
            },
        }));
    first
}
