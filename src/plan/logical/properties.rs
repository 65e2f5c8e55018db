//! What a built [`LogicalPlan`] tells about itself: the sources it reads, whether its output
//! only appends (and why not), its watermark, and the window column that makes a group final.
//! Compilation, output-mode checks and `explain` ask these questions.

use std::sync::Arc;

use super::{JoinKind, LogicalPlan, Projection, SourceId};
use crate::connectors::Source;
use crate::expr::{BoundExpr, Expr, ScalarFunc};

impl LogicalPlan {
    /// Every source the plan reads, each once, in the order first met (depth first).
    pub fn sources(&self) -> Vec<(SourceId, Arc<dyn Source>)> {
        let mut found: Vec<(SourceId, Arc<dyn Source>)> = Vec::new();
        self.visit(&mut |node| {
            if let LogicalPlan::Source { id, source, .. } = node {
                if !found.iter().any(|(seen, _)| seen == id) {
                    found.push((*id, source.clone()));
                }
            }
        });
        found
    }

    /// True if an aggregation occurs anywhere in the plan.
    pub fn has_aggregation(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| found |= matches!(node, LogicalPlan::Aggregate { .. }));
        found
    }

    /// True if some operator keeps state across epochs: an aggregation, an upsert table, a
    /// deduplication, or a join of two changing inputs (a stream joined with a static table keeps none: the table
    /// is read whole by every run).
    pub fn has_state(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| {
            found |= match node {
                LogicalPlan::Aggregate { .. }
                | LogicalPlan::Upsert { .. }
                | LogicalPlan::Deduplicate { .. }
                | LogicalPlan::GroupsWithState { .. } => true,
                // A join of two changing inputs keeps both arranged.
                LogicalPlan::Join { right, .. } => !right.is_static(),
                _ => false,
            }
        });
        found
    }

    /// True if the node's output only ever gains rows (no retractions): sources insert, and
    /// projections and filters preserve that; an aggregation updates its rows. The engine picks
    /// the per-key accumulator for aggregations over append-only inputs.
    pub fn is_append_only(&self) -> bool {
        match self {
            LogicalPlan::Source { .. } => true,
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.is_append_only(),
            LogicalPlan::Aggregate { .. } => false,
            // The function's rows are written once each, never withdrawn.
            LogicalPlan::GroupsWithState { .. } => true,
            LogicalPlan::Union { inputs, .. } => inputs.iter().all(|i| i.is_append_only()),
            // A key's row is replaced when it is upserted again; a static table's upserts are
            // all resolved in the epoch that reads it, and nothing changes afterwards.
            LogicalPlan::Upsert { input, .. } => input.is_static(),
            // Rows are only ever added while the right side only grows (tables load once; a
            // left join's null-padded row would be retracted if a match arrived later).
            // A join of two streams under watermarks writes a padded row only once the row can
            // no longer match: it never withdraws one.
            LogicalPlan::Join {
                left,
                right,
                kind,
                event_time,
                ..
            } => {
                left.is_append_only()
                    && right.is_append_only()
                    && (*kind == JoinKind::Inner || right.is_static() || event_time.is_some())
            }
        }
    }

    /// Why the node's output can lose rows in a way only complete mode shows, if it can: an
    /// aggregation over an aggregation (its groups can vanish), or a LEFT join whose right side
    /// is a stream (a null-padded row is withdrawn when its match arrives). An aggregation over
    /// an insert-only input only replaces a key's row, which update mode expresses; rows
    /// corrected by a changing table are [`correction_reason`](Self::correction_reason)'s.
    pub fn retraction_reason(&self) -> Option<&'static str> {
        match self {
            LogicalPlan::Source { .. } | LogicalPlan::Upsert { .. } => None,
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::GroupsWithState { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.retraction_reason(),
            LogicalPlan::Aggregate { input, .. } => input.retraction_reason().or_else(|| {
                input
                    .has_aggregation()
                    .then_some("an aggregation over an aggregation (groups can disappear)")
            }),
            LogicalPlan::Union { inputs, .. } => inputs.iter().find_map(|i| i.retraction_reason()),
            LogicalPlan::Join {
                left,
                right,
                kind,
                event_time,
                ..
            } => {
                if *kind == JoinKind::Left
                    && event_time.is_none()
                    && !right.is_static()
                    && !right.is_changing_table()
                {
                    return Some("a LEFT join with a streaming right side");
                }
                left.retraction_reason().or_else(|| right.retraction_reason())
            }
        }
    }

    /// Why the node's output corrects rows it has already produced, if it does: it reads an
    /// upsert table whose rows change while the query runs, so a join result (or a group's
    /// aggregate) is withdrawn and replaced when a table row changes. Update mode writes the
    /// corrected rows; append mode cannot.
    pub fn correction_reason(&self) -> Option<&'static str> {
        let mut changing = false;
        self.visit(&mut |node| {
            changing |= matches!(node, LogicalPlan::Upsert { input, .. } if !input.is_static())
        });
        changing.then_some("a query that reads an upsert table (its rows change while the query runs)")
    }

    /// True if the node is an upsert table that changes while the query runs, maybe filtered
    /// or projected: a right side of a join whose rows are corrected, never a stream.
    pub fn is_changing_table(&self) -> bool {
        match self {
            LogicalPlan::Upsert { input, .. } => !input.is_static(),
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => {
                input.is_changing_table()
            }
            _ => false,
        }
    }

    /// The watermark under this node, through filters and projections: its event-time column's
    /// name and delay.
    pub fn watermark_below(&self) -> Option<(&str, i64)> {
        match self {
            LogicalPlan::Watermark {
                column_name,
                delay_micros,
                ..
            } => Some((column_name, *delay_micros)),
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.watermark_below(),
            // A stateful function's event-time output column carries its input's watermark.
            LogicalPlan::GroupsWithState {
                input,
                schema,
                event_time_output: Some(column),
                ..
            } => {
                let (_, delay) = input.watermark_below()?;
                Some((schema.fields().get(*column)?.name.as_str(), delay))
            }
            _ => None,
        }
    }

    /// The event-time columns under this node, through filters, projections and joins of
    /// two streams under watermarks (whose output keeps both sides' event times): a window
    /// of any of them makes an aggregation's groups final.
    pub fn event_time_columns(&self) -> Vec<&str> {
        match self {
            LogicalPlan::Watermark { column_name, .. } => vec![column_name.as_str()],
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => {
                input.event_time_columns()
            }
            LogicalPlan::Join {
                left,
                right,
                event_time: Some(_),
                ..
            } => [left.event_time_columns(), right.event_time_columns()].concat(),
            LogicalPlan::GroupsWithState {
                event_time_output: Some(_),
                ..
            } => self.watermark_below().map(|(name, _)| name).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// True if this node reads a join of two streams under watermarks through filters and
    /// projections: an aggregation above takes that join's watermark.
    pub fn is_watermarked_join(&self) -> bool {
        match self {
            LogicalPlan::Join { event_time, .. } => event_time.is_some(),
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => {
                input.is_watermarked_join()
            }
            _ => false,
        }
    }

    /// How many joins of two streams under watermarks the plan has.
    pub fn watermarked_joins(&self) -> usize {
        let mut found = 0;
        self.visit(&mut |node| {
            found += matches!(
                node,
                LogicalPlan::Join {
                    event_time: Some(_),
                    ..
                }
            ) as usize
        });
        found
    }

    /// Whether some stateful operator evicts its state by the watermark: a join of two streams
    /// under watermarks, an aggregation grouped by a window or session of the event time or by
    /// the event time itself, or a deduplication whose keys expire. In append and update modes
    /// Spark then runs a batch without data whenever the watermark moves, which evicts state
    /// (and writes what it closes), and the late rows of the next batch are judged by it.
    pub fn evicts_by_watermark(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| {
            found |= match node {
                LogicalPlan::Join { event_time, .. } => event_time.is_some(),
                // Event-time timeouts fire as the watermark moves, rows or not.
                LogicalPlan::GroupsWithState { input, timeout, .. } => {
                    *timeout == super::GroupStateTimeout::EventTime && input.watermark_below().is_some()
                }
                LogicalPlan::Aggregate { .. } => {
                    node.final_window_column().is_some() || node.event_time_key().is_some()
                }
                LogicalPlan::Deduplicate {
                    input,
                    keys,
                    within_watermark,
                } => input.watermark_below().is_some_and(|(name, _)| {
                    *within_watermark || input.schema().index_of(name).is_some_and(|c| keys.contains(&c))
                }),
                _ => false,
            }
        });
        found
    }

    /// The delay of the plan's watermark, in microseconds, if it has one.
    pub fn watermark_delay(&self) -> Option<i64> {
        let mut delay = None;
        self.visit(&mut |node| {
            if let LogicalPlan::Watermark { delay_micros, .. } = node {
                delay = delay.or(Some(*delay_micros));
            }
        });
        delay
    }

    /// For an aggregation grouped by a window of its input's watermarked column (maybe under a
    /// projection that keeps that column): the output position of the window, whose end tells
    /// when a group is final (append mode).
    pub fn final_window_column(&self) -> Option<usize> {
        match self {
            LogicalPlan::Aggregate { input, key_exprs, .. } => {
                let event_times = input.event_time_columns();
                key_exprs.iter().position(|key| {
                    matches!(key.unaliased(), Expr::Call(ScalarFunc::Window | ScalarFunc::SessionWindow, args)
                        if matches!(args.first().map(Expr::unaliased), Some(Expr::Column(c))
                            if event_times.iter().any(|t| column_named(input, c).eq_ignore_ascii_case(t))))
                })
            }
            LogicalPlan::Project {
                input,
                columns,
                generator: None,
                ..
            } => {
                let window = input.final_window_column()?;
                columns
                    .iter()
                    .position(|c| matches!(c, Projection::Scalar(BoundExpr::Column(i)) if *i == window))
            }
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.final_window_column(),
            _ => None,
        }
    }

    /// For an aggregation grouped by a session window, the position of that key.
    pub fn session_window_key(&self) -> Option<usize> {
        let LogicalPlan::Aggregate { key_exprs, .. } = self else {
            return None;
        };
        key_exprs
            .iter()
            .position(|key| matches!(key.unaliased(), Expr::Call(ScalarFunc::SessionWindow, _)))
    }

    /// For an aggregation under a watermark, the position among its keys of the event-time
    /// column itself, if it groups by it.
    pub fn event_time_key(&self) -> Option<usize> {
        let LogicalPlan::Aggregate { input, key_exprs, .. } = self else {
            return None;
        };
        let (event_time, _) = input.watermark_below()?;
        key_exprs
            .iter()
            .position(|key| matches!(key.unaliased(), Expr::Column(c) if column_named(input, c).eq_ignore_ascii_case(event_time)))
    }

    /// True if the plan runs a function with state per key (`flat_map_groups_with_state`),
    /// whose figures progress reports as `flatMapGroupsWithState`.
    pub fn has_groups_with_state(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| found |= matches!(node, LogicalPlan::GroupsWithState { .. }));
        found
    }

    /// True if the plan runs a stateful function with processing-time timeouts (or state
    /// whose time to live passes on processing time): the clock alone may then call for an
    /// epoch (Spark's no-data batch).
    pub fn has_processing_time_timeouts(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| {
            found |= matches!(
                node,
                LogicalPlan::GroupsWithState {
                    timeout: super::GroupStateTimeout::ProcessingTime,
                    ..
                }
            ) || matches!(
                node,
                LogicalPlan::GroupsWithState { function, .. }
                    if matches!(function.1, super::StateApi::TransformWithState { ttl_wakes: true })
            )
        });
        found
    }

    /// Spark's name of the plan's stateful function in progress reports, if it has one:
    /// `flatMapGroupsWithState` or `transformWithStateExec`.
    pub fn groups_with_state_name(&self) -> Option<&'static str> {
        let mut found = None;
        self.visit(&mut |node| {
            if let LogicalPlan::GroupsWithState { function, .. } = node {
                found = found.or(Some(function.1.operator_name()));
            }
        });
        found
    }

    /// The output mode the plan's stateful function (`flat_map_groups_with_state`) was
    /// given, if it has one: the query must run in it.
    pub fn groups_with_state_mode(&self) -> Option<crate::plan::OutputMode> {
        let mut found = None;
        self.visit(&mut |node| {
            if let LogicalPlan::GroupsWithState { mode, .. } = node {
                found = found.or(Some(*mode));
            }
        });
        found
    }

    /// Spark's name of the plan's deduplication in progress reports, if it has one: `dedupe`,
    /// or `dedupeWithinWatermark`.
    pub fn deduplication_name(&self) -> Option<&'static str> {
        let mut name = None;
        self.visit(&mut |node| {
            if let LogicalPlan::Deduplicate { within_watermark, .. } = node {
                name = name.or(Some(if *within_watermark {
                    "dedupeWithinWatermark"
                } else {
                    "dedupe"
                }));
            }
        });
        name
    }

    /// True if every source under this node is a static table (read once, at the start).
    pub fn is_static(&self) -> bool {
        let mut all = true;
        self.visit(&mut |node| {
            if let LogicalPlan::Source { source, .. } = node {
                all &= source.is_static();
            }
        });
        all
    }

    /// The size on disk of a static plan's tables, if every source knows its own (see
    /// [`Source::size_in_bytes`](crate::connectors::Source::size_in_bytes)).
    pub fn static_size_in_bytes(&self) -> Option<u64> {
        let mut total = Some(0u64);
        self.visit(&mut |node| {
            if let LogicalPlan::Source { source, .. } = node {
                total = total
                    .zip(source.size_in_bytes())
                    .map(|(t, s)| t.saturating_add(s));
            }
        });
        total
    }

    fn visit(&self, f: &mut dyn FnMut(&LogicalPlan)) {
        f(self);
        for input in self.inputs() {
            input.visit(f);
        }
    }
}

/// The name of the column `written` finds in `plan`'s output: a qualified `p.ts` is the column
/// `ts` of relation `p`, which event-time names (kept unqualified) then match. Where `plan`'s
/// own columns no longer carry relations (a projection computed them), `p.ts` is `ts`.
pub(super) fn column_named<'a>(plan: &'a LogicalPlan, written: &'a str) -> &'a str {
    match plan.schema().index_of(written) {
        Some(i) => plan.schema().fields()[i].name.as_str(),
        None => written.split_once('.').map_or(written, |(_, column)| column),
    }
}
