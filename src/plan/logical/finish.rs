//! The steps that finish a query's result: `order_by` and `limit`, with any filter or
//! projection above them. A stream has no order and no end, so these do not run in the
//! dataflow: they run on each epoch's rows after the output mode has shaped them, on the
//! worker that writes them (as Spark runs its streaming sort and limit once, on the result).
//! So they may only be the last steps of a query, which the other constructors check.

use std::sync::Arc;

use super::LogicalPlan;
use crate::data::{DataType, OutputMode};
use crate::error::{Error, Result};
use crate::expr::{SortKey, SortOrder};

impl LogicalPlan {
    /// `input.order_by(order)`: each key bound to the input's columns, without aggregates or
    /// generators. Whether the query may sort is the output mode's question (Spark sorts only
    /// the result of an aggregation in complete mode).
    pub fn sort(input: Arc<LogicalPlan>, order: Vec<SortOrder>) -> Result<Self> {
        if order.is_empty() {
            return Err(Error::InvalidPlan("order_by needs at least one key".into()));
        }
        let mut keys = Vec::with_capacity(order.len());
        for o in &order {
            if o.expr.contains_aggregate() || o.expr.contains_generator() {
                return Err(Error::InvalidPlan(format!(
                    "a sort key cannot contain aggregates or generators: `{}`",
                    o.expr.output_name()
                )));
            }
            let (key, t) = o.expr.bind(input.schema())?;
            if matches!(t, DataType::Array(_)) {
                return Err(Error::TypeMismatch(format!(
                    "cannot sort by the array `{}`",
                    o.expr.output_name()
                )));
            }
            keys.push(SortKey {
                key,
                descending: o.descending,
                nulls_first: o.nulls_first,
            });
        }
        Ok(LogicalPlan::Sort { input, order, keys })
    }

    /// `input.limit(n)`.
    pub fn limit(input: Arc<LogicalPlan>, n: usize) -> Result<Self> {
        Ok(LogicalPlan::Limit { input, n })
    }

    /// True if a sort or a limit finishes this node's rows (maybe under filters and
    /// projections): then nothing but more finishing steps may read it.
    pub fn has_finish(&self) -> bool {
        match self {
            LogicalPlan::Sort { .. } | LogicalPlan::Limit { .. } => true,
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => input.has_finish(),
            _ => false,
        }
    }

    /// The part of the plan the dataflow computes: the plan under its lowest sort or limit
    /// (the whole plan when it has none). What lies above runs on each epoch's shaped rows.
    pub fn dataflow_part(&self) -> &LogicalPlan {
        match self {
            LogicalPlan::Sort { input, .. } | LogicalPlan::Limit { input, .. } => input.dataflow_part(),
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } if input.has_finish() => {
                input.dataflow_part()
            }
            _ => self,
        }
    }

    /// The part of the plan the dataflow computes for a query written in `mode`: the
    /// [`dataflow_part`](Self::dataflow_part), and in append mode, when filters and
    /// projections above a windowed aggregation lose its window (`window.start AS minute`),
    /// the plan under them: the output mode holds each window's rows until the watermark
    /// passes its end, and those steps then run on the rows it writes. So append mode takes
    /// any projection or filter there, as Spark does.
    pub fn dataflow_part_for(&self, mode: OutputMode) -> &LogicalPlan {
        let base = self.dataflow_part();
        if mode != OutputMode::Append || base.final_window_column().is_some() {
            return base;
        }
        let mut node = base;
        while let LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } = node {
            if input.final_window_column().is_some() {
                return input;
            }
            node = input;
        }
        base
    }

    /// The finishing steps above [`dataflow_part_for`](Self::dataflow_part_for) `mode`,
    /// lowest (first applied) first; empty when the plan has none.
    pub fn finish_steps_for(&self, mode: OutputMode) -> Vec<&LogicalPlan> {
        let dataflow = self.dataflow_part_for(mode);
        let mut steps = Vec::new();
        let mut node = self;
        while !std::ptr::eq(node, dataflow) {
            steps.push(node);
            match node.inputs().first() {
                Some(input) => node = input,
                None => break,
            }
        }
        steps.reverse();
        steps
    }

    /// The finishing steps above [`dataflow_part`](Self::dataflow_part), lowest (first
    /// applied) first; empty when the plan has none.
    pub fn finish_steps(&self) -> Vec<&LogicalPlan> {
        let mut steps = Vec::new();
        let mut node = self;
        while node.has_finish() {
            steps.push(node);
            match node.inputs().first() {
                Some(input) => node = input,
                None => break,
            }
        }
        steps.reverse();
        steps
    }

    /// The sort among the finishing steps, if there is one.
    pub fn finishing_sort(&self) -> Option<&LogicalPlan> {
        self.finish_steps()
            .into_iter()
            .find(|n| matches!(n, LogicalPlan::Sort { .. }))
    }

    /// The limit among the finishing steps, if there is one.
    pub fn finishing_limit(&self) -> Option<&LogicalPlan> {
        self.finish_steps()
            .into_iter()
            .find(|n| matches!(n, LogicalPlan::Limit { .. }))
    }
}

/// Refuses `input` as the input of `what` (an aggregation, a join, ...) when a sort or limit
/// finishes it: those run on the written result, after everything the dataflow computes.
pub(super) fn refuse_finished(input: &LogicalPlan, what: &str) -> Result<()> {
    if input.has_finish() {
        return Err(Error::Unsupported(format!(
            "{what} over a sort or limit: on a stream, order_by and limit (ORDER BY, LIMIT) can \
             only be the last steps of a query; move them after the {what}"
        )));
    }
    Ok(())
}
