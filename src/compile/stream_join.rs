//! A join of two streams under watermarks (Spark's streaming symmetric hash join): each side's
//! rows are kept by key until the watermark shows that no future row of the other side can
//! match them; outer joins then write the rows that never matched, padded with nulls.
//!
//! The watermark is Spark's global one: each watermarked side's greatest event time less its
//! delay, the least of those, never falling. The join computes it from its sides' rows, reports
//! it to the leader (as the event-time maxima an aggregation reports), and hands it to an
//! aggregation above it, which closes its windows by it.

use differential_dataflow::collection::VecCollection;
use tidewater_operators::{min_watermark, symmetric_hash_join, JoinLogic, JoinWatermark};

use super::{durable, Compiled, Rows};
use crate::connectors::{OperatorFigures, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::{JoinEventTime, JoinKind, TimeRange};

/// How rows of both sides join: what is late, what matches, what has expired, and the output.
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
    left_width: usize,
    right_columns: Vec<usize>,
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
        let mut out = Row::with_capacity(self.left_width + self.right_columns.len());
        match left {
            Some(l) => l.iter().cloned().for_each(|v| out.push(v)),
            None => (0..self.left_width).for_each(|_| out.push(Value::Null)),
        }
        for &i in &self.right_columns {
            out.push(right.and_then(|r| r.get(i).cloned()).unwrap_or(Value::Null));
        }
        out
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
        left.clone()
    }
}

/// What [`build`] needs of the join besides its inputs.
pub(super) struct StreamJoin<'p> {
    pub(super) kind: JoinKind,
    pub(super) left_keys: Vec<BoundExpr>,
    pub(super) right_keys: Vec<BoundExpr>,
    pub(super) right_columns: Vec<usize>,
    pub(super) left_width: usize,
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
    let logic = RowJoin {
        kind: join.kind,
        left_time: event_time.left_watermark.map(|w| w.column),
        right_time: event_time.right_watermark.map(|w| w.column),
        range: event_time.range,
        value_range: event_time.value_range(),
        key_time: event_time.key_time,
        left_width: join.left_width,
        right_columns: join.right_columns,
    };
    let (left_keys, right_keys) = (join.left_keys, join.right_keys);
    let key_width = left_keys.len();
    let row_width = join.left_width.max(logic.right_columns.len());
    let left = left.map(move |row| (left_keys.iter().map(|k| k.eval(&row)).collect::<Row>(), row));
    let right = right.map(move |row| (right_keys.iter().map(|k| k.eval(&row)).collect::<Row>(), row));
    let durable = compiled.durable(scope, |restored| match restored {
        durable::Restored::JoinState(entries) => Some(entries),
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
