//! The event-time part of a join of two streams: each side's watermark, the time-range
//! condition between their event-time columns (`c.click_ts BETWEEN i.imp_ts AND i.imp_ts +
//! INTERVAL 1 MINUTE`), and a join key that is itself event time (a window of it). From these
//! the join knows when a row can no longer match (Spark's state watermark predicates), and
//! Spark's checks (`UnsupportedOperationChecker`) decide which joins are allowed.

use super::{JoinKind, LogicalPlan};
use crate::data::{dataset_column_parts, parse_interval, DataType};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Expr, ScalarFunc};

/// A side's watermark: its event-time column and delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SideWatermark {
    /// The event-time column's position in the side's schema.
    pub column: usize,
    /// How late its events may be, microseconds.
    pub delay_micros: i64,
}

/// One end of a [`TimeRange`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The bound, microseconds.
    pub micros: i64,
    /// Whether the bound itself is excluded (`<`, `>`) rather than included (`<=`, `>=`,
    /// `BETWEEN`).
    pub strict: bool,
}

/// The time-range condition of a join: `left time - right time` lies within `lower` and
/// `upper` (either may be open).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// The left event-time column's position.
    pub left_column: usize,
    /// The right event-time column's position.
    pub right_column: usize,
    /// The least `left - right`, if bounded.
    pub lower: Option<Bound>,
    /// The greatest `left - right`, if bounded.
    pub upper: Option<Bound>,
}

impl TimeRange {
    /// Whether a left time and a right time satisfy the range.
    pub fn holds(&self, left: i64, right: i64) -> bool {
        let d = left.saturating_sub(right);
        let above = self
            .lower
            .is_none_or(|b| if b.strict { d > b.micros } else { d >= b.micros });
        let below = self
            .upper
            .is_none_or(|b| if b.strict { d < b.micros } else { d <= b.micros });
        above && below
    }

    /// Whether no right row at or after `watermark` can match a left row at `left`: its
    /// state can go (Spark's state value watermark of the left side).
    pub fn left_expired(&self, left: i64, watermark: i64) -> bool {
        // A match needs right <= left - lower (< for a strict bound).
        self.lower.is_some_and(|b| {
            let last = left.saturating_sub(b.micros);
            if b.strict {
                last <= watermark
            } else {
                last < watermark
            }
        })
    }

    /// Whether no left row at or after `watermark` can match a right row at `right`.
    pub fn right_expired(&self, right: i64, watermark: i64) -> bool {
        // A match needs left <= right + upper (< for a strict bound).
        self.upper.is_some_and(|b| {
            let last = right.saturating_add(b.micros);
            if b.strict {
                last <= watermark
            } else {
                last < watermark
            }
        })
    }

    fn text(&self, left: &LogicalPlan, right: &LogicalPlan) -> String {
        let name = |plan: &LogicalPlan, i: usize| plan.schema().fields()[i].name.clone();
        let (l, r) = (name(left, self.left_column), name(right, self.right_column));
        let micros = |m: i64| format!("{} s", m as f64 / 1e6);
        let mut parts = Vec::new();
        if let Some(b) = self.lower {
            parts.push(format!(
                "{l} - {r} {} {}",
                if b.strict { ">" } else { ">=" },
                micros(b.micros)
            ));
        }
        if let Some(b) = self.upper {
            parts.push(format!(
                "{l} - {r} {} {}",
                if b.strict { "<" } else { "<=" },
                micros(b.micros)
            ));
        }
        parts.join(" AND ")
    }
}

/// The event-time part of a join of two streams (see the module's header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinEventTime {
    /// The left side's watermark, if it has one.
    pub left_watermark: Option<SideWatermark>,
    /// The right side's watermark, if it has one.
    pub right_watermark: Option<SideWatermark>,
    /// The time-range condition, if there is one.
    pub range: Option<TimeRange>,
    /// The position among the join keys of a key that is event time (a side's watermarked
    /// column, or a window of it): a key whose time the watermark passed is gone on both sides.
    pub key_time: Option<usize>,
}

impl JoinEventTime {
    /// No event-time part: a join that drops nothing as late and forgets nothing.
    pub const NONE: JoinEventTime = JoinEventTime {
        left_watermark: None,
        right_watermark: None,
        range: None,
        key_time: None,
    };

    /// Whether the left side's rows are ever forgotten: by their key's time, or by their own
    /// time once the other side's watermark passes the range.
    pub fn left_expires(&self) -> bool {
        self.key_time.is_some() || self.value_range().is_some_and(|r| r.lower.is_some())
    }

    /// Whether the right side's rows are ever forgotten.
    pub fn right_expires(&self) -> bool {
        self.key_time.is_some() || self.value_range().is_some_and(|r| r.upper.is_some())
    }

    /// How far behind the watermark the event times of the join's output can still be (Spark's
    /// output watermark of a join, `produceOutputWatermark`): the least of the sides' state
    /// watermarks, each the watermark moved by the range's bound on that side's time (zero for
    /// an event-time key, or when neither side expires). An aggregation above takes the join's
    /// watermark moved by this much, so no row the join still writes is late for it.
    pub fn output_offset(&self) -> i64 {
        let mut offsets = Vec::new();
        if self.key_time.is_some() {
            offsets.push(0);
        }
        if let Some(range) = self.value_range() {
            offsets.extend(range.lower.map(|b| b.micros));
            offsets.extend(range.upper.map(|b| -b.micros));
        }
        offsets.into_iter().min().unwrap_or(0)
    }

    /// The time range, when it relates the two sides' watermarked columns: only then does a
    /// watermark tell when a row's matches are over.
    pub fn value_range(&self) -> Option<TimeRange> {
        let (l, r) = (self.left_watermark?, self.right_watermark?);
        self.range
            .filter(|range| range.left_column == l.column && range.right_column == r.column)
    }
}

/// A join condition split by what each of its parts (`AND`) does.
#[derive(Clone, Debug, Default)]
pub struct JoinCondition {
    /// Equalities of a left and a right expression: the join's keys.
    pub pairs: Vec<(Expr, Expr)>,
    /// Comparisons of the two streams' event-time columns (timestamps): the time range, which
    /// tells when a row can no longer match.
    pub ranges: Vec<Expr>,
    /// Every other part (`a.num >= b.most`, `p.state = 'OR'`): it decides which pairs match as
    /// a filter of them would (see [`LogicalPlan::join_on`](super::LogicalPlan::join_on)).
    pub residual: Vec<Expr>,
}

/// Splits a join condition into its equalities of a left and a right expression (the keys),
/// its comparisons of two streams' event times (the time range) and the rest, for
/// [`LogicalPlan::join_on`](super::LogicalPlan::join_on).
pub fn split_join_condition(condition: &Expr, left: &LogicalPlan, right: &LogicalPlan) -> JoinCondition {
    let mut split = JoinCondition::default();
    let mut conjuncts = vec![condition];
    while let Some(c) = conjuncts.pop() {
        match c.unaliased() {
            Expr::Binary(BinaryOp::And, a, b) => {
                conjuncts.push(b);
                conjuncts.push(a);
            }
            Expr::Binary(BinaryOp::Eq, a, b) => {
                if reads_side(a, left, right) && reads_side(b, right, left) {
                    split.pairs.push((a.as_ref().clone(), b.as_ref().clone()));
                } else if reads_side(b, left, right) && reads_side(a, right, left) {
                    split.pairs.push((b.as_ref().clone(), a.as_ref().clone()));
                } else {
                    split.residual.push(c.clone());
                }
            }
            Expr::Binary(BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq, a, b)
                if relates_event_times(a, b, left, right) =>
            {
                split.ranges.push(c.clone())
            }
            _ => split.residual.push(c.clone()),
        }
    }
    split
}

/// Whether `e` reads `side`'s columns alone (an expression without columns too): it binds to
/// that side's schema and names no DataFrame column that only `other` holds.
pub(super) fn reads_side(e: &Expr, side: &LogicalPlan, other: &LogicalPlan) -> bool {
    e.bind(side.schema()).is_ok() && !names_other_side(e, side, other)
}

/// Whether `a` and `b`, the terms of a comparison, are event times (a column `± INTERVAL`s) of
/// the two sides of a join of two streams, both timestamps: a part of the time range. A term
/// whose interval does not parse, or whose column is ambiguous, counts too, so that the time
/// range reports it. Any other comparison filters the joined rows.
fn relates_event_times(a: &Expr, b: &Expr, left: &LogicalPlan, right: &LogicalPlan) -> bool {
    let streams = !left.is_static() && !right.is_static() && !right.is_changing_table();
    let (true, Some(a), Some(b)) = (streams, time_term(a), time_term(b)) else {
        return false;
    };
    let ((a_col, _), (b_col, _)) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return true,
    };
    let (Ok((a_left, a_pos)), Ok((b_left, b_pos))) =
        (side_of(&a_col, left, right), side_of(&b_col, left, right))
    else {
        return true;
    };
    let is_time = |left_side: bool, pos: usize| {
        let plan = if left_side { left } else { right };
        plan.schema().fields()[pos].data_type == DataType::Timestamp
    };
    a_left != b_left && is_time(a_left, a_pos) && is_time(b_left, b_pos)
}

/// Whether `e` reads a DataFrame's column (`df["c"]`) that only `other` holds: `r.id == l.id`
/// puts `r.id` on the right, even though the left has an `id` its plain name would find.
fn names_other_side(e: &Expr, side: &LogicalPlan, other: &LogicalPlan) -> bool {
    let mut found = false;
    e.for_each(&mut |e| {
        if let Expr::Column(name) = e {
            found |= matches!(own_side(name, side, other), Some((false, _)));
        }
    });
    found
}

/// For a DataFrame's column (`df["c"]`) that exactly one of `left` and `right` holds: whether
/// it is the left, and the column's position there. `None` for a plain name, and for a
/// DataFrame's column that both sides hold (a self-join) or neither does.
fn own_side(name: &str, left: &LogicalPlan, right: &LogicalPlan) -> Option<(bool, usize)> {
    let (dataset, column) = dataset_column_parts(name)?;
    let of_dataset = |side: &LogicalPlan| side.schema().index_in_dataset(dataset, column);
    match (of_dataset(left), of_dataset(right)) {
        (Some(i), None) => Some((true, i)),
        (None, Some(i)) => Some((false, i)),
        _ => None,
    }
}

fn not_a_join_condition(e: &Expr) -> Error {
    Error::Unsupported(format!(
        "join conditions must be equalities of left and right columns, and for two streams \
         comparisons of their event times, joined by AND; got `{}`",
        e.output_name()
    ))
}

/// A time term `column [+|- INTERVAL ..]`: the column and the offset in microseconds.
fn time_term(e: &Expr) -> Option<Result<(String, i64)>> {
    match e.unaliased() {
        Expr::Column(c) => Some(Ok((c.clone(), 0))),
        // SQL's `time ± INTERVAL ..`, as the SQL translation writes it: months, microseconds.
        Expr::Call(ScalarFunc::AddInterval, args) => match args.as_slice() {
            [time, months, micros] => match (months.unaliased(), micros.unaliased()) {
                (
                    Expr::Literal(crate::data::Value::Int(0)),
                    Expr::Literal(crate::data::Value::Int(micros)),
                ) => time_term(time).map(|term| term.map(|(c, o)| (c, o + micros))),
                _ => None,
            },
            _ => None,
        },
        Expr::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), a, b) => {
            let sign = if *op == BinaryOp::Add { 1 } else { -1 };
            match (time_term(a), interval_micros(b)) {
                (Some(term), Some(span)) => Some(term.and_then(|(c, o)| Ok((c, o + sign * span?)))),
                _ if *op == BinaryOp::Add => match (interval_micros(a), time_term(b)) {
                    (Some(span), Some(term)) => Some(term.and_then(|(c, o)| Ok((c, o + span?)))),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

/// The span of an `INTERVAL` expression, microseconds.
fn interval_micros(e: &Expr) -> Option<Result<i64>> {
    match e.unaliased() {
        Expr::Call(ScalarFunc::Interval, args) => match args.first().map(Expr::unaliased) {
            Some(Expr::Literal(crate::data::Value::Str(text))) => {
                Some(parse_interval(text).map(|d| d.as_micros() as i64))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Which side a column of a time term belongs to, and its position there.
fn side_of(name: &str, left: &LogicalPlan, right: &LogicalPlan) -> Result<(bool, usize)> {
    // A DataFrame's column (`df["ts"]`) is on the side of that DataFrame, or else goes by its
    // plain name.
    if let Some(side) = own_side(name, left, right) {
        return Ok(side);
    }
    if let Some((_, column)) = dataset_column_parts(name) {
        return side_of(column, left, right);
    }
    match (left.schema().index_of(name), right.schema().index_of(name)) {
        (Some(i), None) => Ok((true, i)),
        (None, Some(i)) => Ok((false, i)),
        (Some(_), Some(_)) => Err(Error::InvalidPlan(format!(
            "`{name}` names a column of both sides of the join; qualify it with its relation \
             (`c.{name}`), or rename one side's event-time column before the join"
        ))),
        (None, None) => Err(Error::UnresolvedColumn {
            name: name.to_string(),
            available: [left.schema().names(), right.schema().names()]
                .concat()
                .join(", "),
        }),
    }
}

/// The time range that the comparisons `ranges` put on the two sides' event-time columns.
fn time_range(ranges: &[Expr], left: &LogicalPlan, right: &LogicalPlan) -> Result<Option<TimeRange>> {
    let mut range: Option<TimeRange> = None;
    for comparison in ranges {
        let Expr::Binary(op, a, b) = comparison.unaliased() else {
            return Err(not_a_join_condition(comparison));
        };
        let (Some(a), Some(b)) = (time_term(a), time_term(b)) else {
            return Err(Error::Unsupported(format!(
                "a join's comparison must relate the two sides' event times, as `l.ts <= r.ts + \
                 INTERVAL 1 MINUTE`; got `{}`",
                comparison.output_name()
            )));
        };
        let ((a_col, a_off), (b_col, b_off)) = (a?, b?);
        let (a_left, a_pos) = side_of(&a_col, left, right)?;
        let (b_left, b_pos) = side_of(&b_col, left, right)?;
        if a_left == b_left {
            return Err(Error::Unsupported(format!(
                "a join's comparison must relate a left and a right column; `{}` compares one side \
                 with itself",
                comparison.output_name()
            )));
        }
        // `l + lo op r + ro` is `l - r op ro - lo`; with the sides the other way round the
        // operator turns.
        let (op, left_pos, right_pos, bound) = if a_left {
            (*op, a_pos, b_pos, b_off - a_off)
        } else {
            (flip(*op), b_pos, a_pos, a_off - b_off)
        };
        for (plan, pos) in [(left, left_pos), (right, right_pos)] {
            let field = &plan.schema().fields()[pos];
            if field.data_type != DataType::Timestamp {
                return Err(Error::TypeMismatch(format!(
                    "a join's time-range condition compares timestamps; `{}` is a {}",
                    field.name, field.data_type
                )));
            }
        }
        let current = range.get_or_insert(TimeRange {
            left_column: left_pos,
            right_column: right_pos,
            lower: None,
            upper: None,
        });
        if (current.left_column, current.right_column) != (left_pos, right_pos) {
            return Err(Error::Unsupported(
                "a join's time-range condition relates one pair of event-time columns".into(),
            ));
        }
        let strict = matches!(op, BinaryOp::Lt | BinaryOp::Gt);
        let new = Bound {
            micros: bound,
            strict,
        };
        match op {
            BinaryOp::Lt | BinaryOp::LtEq => {
                current.upper = Some(match current.upper {
                    Some(old) if (old.micros, !old.strict) <= (new.micros, !new.strict) => old,
                    _ => new,
                })
            }
            _ => {
                current.lower = Some(match current.lower {
                    Some(old) if (old.micros, old.strict) >= (new.micros, new.strict) => old,
                    _ => new,
                })
            }
        }
    }
    Ok(range)
}

/// `a op b` as `b flip(op) a`.
fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::LtEq => BinaryOp::GtEq,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::GtEq => BinaryOp::LtEq,
        other => other,
    }
}

/// A side's watermark, if its event-time column is among its columns.
fn side_watermark(side: &LogicalPlan) -> Option<SideWatermark> {
    let (name, delay_micros) = side.watermark_below()?;
    Some(SideWatermark {
        column: side.schema().index_of(name)?,
        delay_micros,
    })
}

/// Whether a key expression is a side's event time: its watermarked column, or a window of it.
fn is_event_time_key(key: &Expr, side: &LogicalPlan) -> bool {
    let Some((event_time, _)) = side.watermark_below() else {
        return false;
    };
    // By the column it finds, so that a qualified `r.ts` is the event time too.
    let is_time = |e: &Expr| matches!(e.unaliased(), Expr::Column(c) if super::properties::column_named(side, c).eq_ignore_ascii_case(event_time));
    match key.unaliased() {
        Expr::Call(ScalarFunc::Window, args) => args.first().is_some_and(is_time),
        other => is_time(other),
    }
}

/// The event-time part of a join of `left` and `right` on `pairs` and the comparisons
/// `ranges`, under Spark's rules; `None` when the join is not one of two streams that needs
/// one (an inner equi-join without watermarks keeps both sides whole, as before).
pub(super) fn join_event_time(
    left: &LogicalPlan,
    right: &LogicalPlan,
    kind: JoinKind,
    pairs: &[(Expr, Expr)],
    ranges: &[Expr],
) -> Result<Option<JoinEventTime>> {
    let streams = !left.is_static() && !right.is_static() && !right.is_changing_table();
    if !streams {
        if !ranges.is_empty() {
            return Err(Error::Unsupported(
                "a join condition other than equalities needs two streams (a time-range \
                 condition between their event times); a join with a table takes equalities only"
                    .into(),
            ));
        }
        // As Spark's checks: a static table joins as INNER, LEFT, LEFT SEMI or LEFT ANTI with
        // the stream on the left; a table that changes, as INNER or LEFT.
        let allowed = match kind {
            JoinKind::Inner | JoinKind::Left => true,
            JoinKind::LeftSemi | JoinKind::LeftAnti => right.is_static() && !left.is_static(),
            JoinKind::Right | JoinKind::Full => false,
        };
        if !allowed {
            return Err(Error::Unsupported(format!(
                "{} joins are supported between two streams; a stream joins a table as INNER or \
                 LEFT, and a static table as LEFT SEMI or LEFT ANTI too",
                kind.spark_name()
            )));
        }
        return Ok(None);
    }
    if kind == JoinKind::LeftAnti {
        // Spark: "Left anti joins with a streaming DataFrame/Dataset on the right are not
        // supported".
        return Err(Error::UnsupportedStreamJoin(
            "Left anti joins with a streaming DataFrame/Dataset on the right are not supported; \
             join a static table"
                .into(),
        ));
    }
    let event_time = JoinEventTime {
        left_watermark: side_watermark(left),
        right_watermark: side_watermark(right),
        range: time_range(ranges, left, right)?,
        key_time: pairs
            .iter()
            .position(|(l, r)| is_event_time_key(l, left) || is_event_time_key(r, right)),
    };
    let plain = kind == JoinKind::Inner
        && event_time.left_watermark.is_none()
        && event_time.right_watermark.is_none()
        && event_time.range.is_none();
    if plain {
        return Ok(None);
    }
    // Spark's `checkForStreamStreamJoinWatermark`: an outer or semi join must know when a row
    // of the side it keeps can no longer match, from a watermark in the join keys, or from a
    // watermark on the other side and a range condition that bounds this side by it.
    let left_bounded = event_time.right_watermark.is_some_and(|w| {
        event_time
            .range
            .is_some_and(|r| r.right_column == w.column && r.lower.is_some())
    });
    let right_bounded = event_time.left_watermark.is_some_and(|w| {
        event_time
            .range
            .is_some_and(|r| r.left_column == w.column && r.upper.is_some())
    });
    let valid_range = match kind {
        JoinKind::Inner => true,
        JoinKind::Left | JoinKind::LeftSemi | JoinKind::LeftAnti => left_bounded,
        JoinKind::Right => right_bounded,
        JoinKind::Full => left_bounded && right_bounded,
    };
    if event_time.key_time.is_none() && !valid_range {
        return Err(Error::UnsupportedStreamJoin(format!(
            "Stream-stream {} join between two streaming DataFrame/Datasets is not supported \
             without a watermark in the join keys, or a watermark on the nullable side and an \
             appropriate range condition; declare with_watermark on both sides and bound the \
             event times, e.g. `c.click_ts BETWEEN i.imp_ts AND i.imp_ts + INTERVAL 1 MINUTE`",
            kind.spark_name()
        )));
    }
    Ok(Some(event_time))
}

/// The text of a join's time-range condition (for explain), if it has one.
pub(super) fn range_text(
    event_time: &JoinEventTime,
    left: &LogicalPlan,
    right: &LogicalPlan,
) -> Option<String> {
    event_time.range.map(|r| r.text(left, right))
}
