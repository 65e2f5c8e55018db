//! A join of two streams under watermarks (Spark's streaming symmetric hash join): each side's
//! rows are kept by key until the watermark shows that no future row of the other side can
//! match them; outer joins then write the rows that never matched, padded with nulls.
//!
//! The watermark is Spark's global one: each watermarked side's greatest event time less its
//! delay, the least of those, never falling. The join computes it from its sides' rows, reports
//! it to the leader (as the event-time maxima an aggregation reports), and hands it to an
//! aggregation above it, which closes its windows by it.

use differential_dataflow::collection::VecCollection;
use tidewater_operators::{min_watermark, symmetric_hash_join, JoinLogic, JoinWatermark, KeyState};

use super::join::JoinedColumns;
use super::{durable, Compiled, Rows};
use crate::connectors::{OperatorFigures, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::{JoinEventTime, JoinKind, TimeRange};

/// How rows of both sides join: what is late, what matches, what has expired, and the output.
/// The rows it holds keep only the columns read above the join and its own event times
/// (`columns`); the column positions here are positions in those kept rows.
struct RowJoin {
    kind: JoinKind,
    /// The sides' watermarked columns, by which a row is late.
    left_time: Option<usize>,
    right_time: Option<usize>,
    /// The time-range condition, which a pair must satisfy.
    range: Option<TimeRange>,
    /// The range when it relates the watermarked columns: it tells when a row has expired.
    value_range: Option<TimeRange>,
    /// The join key that is event time, if one is.
    key_time: Option<usize>,
    /// The columns each side's rows keep, and the output's layout.
    columns: JoinedColumns,
}

fn time_at(row: &Row, column: usize) -> Option<i64> {
    match row.get(column) {
        Some(Value::Timestamp(t)) => Some(*t),
        _ => None,
    }
}

impl RowJoin {
    /// Whether the key's own time (a timestamp or a window's end) is final under `watermark`.
    fn key_expired(&self, key: &Row, watermark: i64) -> bool {
        self.key_time.and_then(|k| key.get(k)).is_some_and(|v| {
            let time = match v {
                Value::Timestamp(t) => Some(*t),
                other => other.window_end(),
            };
            tidewater_operators::watermark::is_final(time.unwrap_or(i64::MIN), Some(watermark))
        })
    }

    fn joined(&self, left: Option<&Row>, right: Option<&Row>) -> Row {
        self.columns.joined(left, right)
    }
}

impl JoinLogic<Row, Row, Row> for RowJoin {
    type Output = Row;

    fn left_late(&self, left: &Row, watermark: i64) -> bool {
        self.left_time
            .and_then(|c| time_at(left, c))
            .is_some_and(|t| tidewater_operators::watermark::is_final(t, Some(watermark)))
    }

    fn right_late(&self, right: &Row, watermark: i64) -> bool {
        self.right_time
            .and_then(|c| time_at(right, c))
            .is_some_and(|t| tidewater_operators::watermark::is_final(t, Some(watermark)))
    }

    fn matches(&self, key: &Row, left: &Row, right: &Row) -> bool {
        // A key with a null matches nothing, as in SQL.
        if key.iter().any(Value::is_null) {
            return false;
        }
        self.range.is_none_or(|range| {
            match (
                time_at(left, range.left_column),
                time_at(right, range.right_column),
            ) {
                (Some(l), Some(r)) => range.holds(l, r),
                _ => false,
            }
        })
    }

    fn left_expired(&self, key: &Row, left: &Row, watermark: i64) -> bool {
        self.key_expired(key, watermark)
            || self
                .value_range
                .is_some_and(|range| match time_at(left, range.left_column) {
                    Some(t) => range.left_expired(t, watermark),
                    // Without a time the row matches nothing.
                    None => true,
                })
    }

    fn right_expired(&self, key: &Row, right: &Row, watermark: i64) -> bool {
        self.key_expired(key, watermark)
            || self
                .value_range
                .is_some_and(|range| match time_at(right, range.right_column) {
                    Some(t) => range.right_expired(t, watermark),
                    None => true,
                })
    }

    fn pair(&self, left: &Row, right: &Row) -> Row {
        self.joined(Some(left), Some(right))
    }

    fn left_alone(&self, left: &Row) -> Option<Row> {
        self.kind.pads_right().then(|| self.joined(Some(left), None))
    }

    fn right_alone(&self, right: &Row) -> Option<Row> {
        self.kind.pads_left().then(|| self.joined(None, Some(right)))
    }

    fn semi(&self) -> bool {
        self.kind == JoinKind::LeftSemi
    }

    fn left_matched(&self, left: &Row) -> Row {
        // A semi join's output is the left row's own columns.
        self.joined(Some(left), None)
    }
}

/// Narrows the rows of restored join state that are whole (`widths` wide, the sides' widths)
/// to the columns the join keeps: a checkpoint taken before the join kept narrow rows holds
/// whole ones. Rows already narrow are left as they are.
fn narrow_restored(
    entries: &mut [(Row, KeyState<Row, Row>)],
    columns: &JoinedColumns,
    (left_width, right_width): (usize, usize),
) {
    let (left_kept, right_kept) = columns.kept_widths(left_width, right_width);
    for (_, state) in entries {
        for (row, _) in &mut state.left {
            if row.len() == left_width && left_kept < left_width {
                *row = columns.narrow_left(std::mem::take(row));
            }
        }
        for (row, _) in &mut state.right {
            if row.len() == right_width && right_kept < right_width {
                *row = columns.narrow_right(std::mem::take(row));
            }
        }
    }
}

/// What [`build`] needs of the join besides its inputs.
pub(super) struct StreamJoin<'p> {
    pub(super) kind: JoinKind,
    pub(super) left_keys: Vec<BoundExpr>,
    pub(super) right_keys: Vec<BoundExpr>,
    /// The columns each side's rows keep (with the event times), and the output's layout.
    pub(super) columns: JoinedColumns,
    pub(super) left_width: usize,
    pub(super) right_width: usize,
    pub(super) event_time: &'p JoinEventTime,
}

/// Builds the join of `left` and `right` (both built, unfiltered: late rows are the join's to
/// drop), its watermark, and the events that report both.
pub(super) fn build<'s>(
    join: StreamJoin<'_>,
    left: Rows<'s>,
    right: Rows<'s>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    let scope = left.scope();
    let event_time = join.event_time;
    // Each watermarked side's greatest event time per epoch, before late rows are dropped.
    let mut sides = Vec::new();
    let mut maxima_of = |rows: Rows<'s>, watermark: Option<crate::plan::SideWatermark>| match watermark {
        Some(w) => {
            let column = w.column;
            let (rows, maxima) = compiled.event_time_maxima(rows, move |row: &Row| time_at(row, column));
            sides.push((maxima, w.delay_micros));
            rows
        }
        None => rows,
    };
    let left = maxima_of(left, event_time.left_watermark);
    let right = maxima_of(right, event_time.right_watermark);
    // The leader's watermark is read as maxima with the plan's delay (`shift`). It is the
    // join's global watermark, or, under an aggregation, the join's output watermark (moved
    // back by `offset`), by which the aggregation's windows close.
    let shift = compiled.watermark_delay.unwrap_or(0);
    let feeds_aggregation = std::mem::take(&mut compiled.join_feeds_aggregation);
    let offset = if feeds_aggregation {
        event_time.output_offset()
    } else {
        0
    };
    // What an earlier run's leader saw, as the join's own candidates.
    let seen: Vec<(i64, u64)> = compiled
        .seen_maxima()
        .into_iter()
        .map(|(candidate, epoch)| (candidate - offset, epoch))
        .collect();
    let candidates = if sides.is_empty() {
        None
    } else {
        let floor = seen.iter().map(|(max, _)| *max - shift).max();
        Some(min_watermark(sides, floor, shift))
    };
    if let Some(candidates) = &candidates {
        let reported = candidates.clone().map(move |c| c + offset);
        // Every worker computes the same watermark; worker 0 tells the leader.
        let leader = scope.index() == 0;
        compiled.events.push(
            reported
                .clone()
                .filter(move |_| leader)
                .map(|micros| SourceEvent::MaxEventTime { micros }),
        );
        if feeds_aggregation {
            // The aggregation drops as late what the previous epoch's watermark passed (Spark's
            // late-events watermark): the join writes nothing older than that in this epoch.
            compiled.join_watermark = Some((reported.delay(|t| t + 1), true));
        }
    }
    let candidates: VecCollection<'s, u64, i64, isize> = match candidates {
        Some(c) => c,
        None => {
            // No watermark at all: an inner join that drops nothing and forgets nothing.
            use differential_dataflow::input::Input;
            let (_, empty) = scope.new_collection::<i64, isize>();
            empty
        }
    };
    let columns = join.columns;
    let in_kept = |range: TimeRange| TimeRange {
        left_column: columns.left_position(range.left_column),
        right_column: columns.right_position(range.right_column),
        ..range
    };
    let logic = RowJoin {
        kind: join.kind,
        left_time: event_time.left_watermark.map(|w| columns.left_position(w.column)),
        right_time: event_time
            .right_watermark
            .map(|w| columns.right_position(w.column)),
        range: event_time.range.map(in_kept),
        value_range: event_time.value_range().map(in_kept),
        key_time: event_time.key_time,
        columns: columns.clone(),
    };
    let (left_keys, right_keys) = (join.left_keys, join.right_keys);
    let key_width = left_keys.len();
    let (left_kept, right_kept) = columns.kept_widths(join.left_width, join.right_width);
    let row_width = left_kept.max(right_kept);
    let left = columns.keyed_left::<Row>(left, left_keys);
    let right = columns.keyed_right::<Row>(right, right_keys);
    let widths = (join.left_width, join.right_width);
    let durable = compiled.durable(scope, move |restored| match restored {
        durable::Restored::JoinState(mut entries) => {
            narrow_restored(&mut entries, &columns, widths);
            Some(entries)
        }
        _ => None,
    });
    let watermark = JoinWatermark {
        candidates,
        delay: shift,
        seen,
    };
    let (rows, figures) = symmetric_hash_join(left, right, watermark, logic, durable);
    // A held record is its key, its row and its event time.
    let operator = compiled.state_operator("symmetricHashJoin", key_width + row_width + 1);
    compiled
        .events
        .push(figures.map(move |f| SourceEvent::StateOperator {
            operator,
            figures: OperatorFigures {
                held: StateHeld::After(f.held),
                updated: f.added,
                removed: f.removed,
                dropped_by_watermark: f.dropped,
            },
        }));
    rows
}

#[cfg(test)]
mod tests {
    use super::{narrow_restored, JoinedColumns, KeyState, Row, Value};

    #[test]
    fn restored_whole_rows_are_narrowed_and_narrow_ones_kept() {
        // Left rows (a, t, b) keep `t` (read above, and the event time); right rows (c, u)
        // keep both.
        let columns = JoinedColumns::new(
            3,
            2,
            &[0, 1],
            Some(&[false, true, false, true, true]),
            (&[1], &[1]),
        );
        let int = |values: &[i64]| Row::from(values.iter().map(|&v| Value::Int(v)).collect::<Vec<_>>());
        let state = KeyState {
            left: vec![(int(&[1, 10, 2]), true), (int(&[20]), false)],
            right: vec![(int(&[3, 30]), false)],
        };
        let mut entries = vec![(int(&[7]), state)];
        narrow_restored(&mut entries, &columns, (3, 2));
        let state = &entries[0].1;
        assert_eq!(state.left, vec![(int(&[10]), true), (int(&[20]), false)]);
        assert_eq!(state.right, vec![(int(&[3, 30]), false)]);
    }
}
