//! Spark's rules for which queries support which output mode. The mode itself is shared
//! vocabulary and lives in [`crate::data::OutputMode`], low enough for the sinks to use it.

use super::LogicalPlan;
use crate::data::OutputMode;
use crate::error::{Error, Result};

/// Spark's checks (`UnsupportedOperationChecker`): complete mode needs an aggregation, and
/// append mode on an aggregation needs it grouped by a window of a watermarked column.
/// Queries whose output can lose rows run only in complete mode, the one mode in which a lost
/// row shows (as it does in Spark, which refuses such queries without watermarks). Queries
/// that read an upsert table correct their rows when the table changes: update mode writes the
/// corrected rows, append mode (whose rows are final) is refused.
///
/// A sort needs an aggregation and complete mode, and a limit any mode but update, as in
/// Spark: only there is the result whole (complete) or final (append) when it is cut. A plan
/// of static tables alone is a batch query, whose one epoch is its whole result: it sorts in
/// append mode too.
pub fn validate_output_mode(plan: &LogicalPlan, mode: OutputMode) -> Result<()> {
    let aggregates = plan.has_aggregation();
    let whole_in_one_epoch = plan.is_static() && mode == OutputMode::Append;
    if plan.finishing_sort().is_some() && !whole_in_one_epoch && (mode != OutputMode::Complete || !aggregates)
    {
        return Err(Error::UnsupportedOutputMode(format!(
            "Sorting is not supported on streaming DataFrames/Datasets, unless it is on \
             aggregated DataFrame/Dataset in Complete output mode; this query {}",
            if aggregates {
                format!("runs in {mode} mode: use complete")
            } else {
                "has no aggregation: sort the sink's output instead".to_string()
            }
        )));
    }
    if plan.finishing_limit().is_some() && mode == OutputMode::Update {
        return Err(Error::UnsupportedOutputMode(
            "Limits are not supported on streaming DataFrames/Datasets in Update output mode; \
             use complete (the first rows of each result) or append (the first rows written)"
                .into(),
        ));
    }
    // Spark: "Join between two streaming DataFrames/Datasets is not supported in Update output
    // mode, only in Append output mode" (for joins under watermarks; an inner equi-join of two
    // streams without them keeps both sides whole and corrects its aggregates as before).
    if plan.watermarked_joins() > 0 && mode != OutputMode::Append {
        return Err(Error::UnsupportedOutputMode(format!(
            "Join between two streaming DataFrames/Datasets is not supported in {mode} output \
             mode, only in Append output mode"
        )));
    }
    // Spark: the output mode given to flatMapGroupsWithState must be the query's
    // ("flatMapGroupsWithState in update mode is not supported with Append output mode", and
    // the reverse); mapGroupsWithState runs in update mode.
    if let Some(wanted) = plan.groups_with_state_mode().filter(|wanted| *wanted != mode) {
        return Err(Error::UnsupportedOutputMode(format!(
            "flatMapGroupsWithState in {wanted} mode is not supported with {mode} output mode; \
             start the query in {wanted} mode"
        )));
    }
    if let Some(reason) = plan.retraction_reason() {
        if mode != OutputMode::Complete || !aggregates {
            return Err(Error::UnsupportedOutputMode(format!(
                "{reason} can withdraw rows it has output, which {mode} mode cannot express; \
                 run it in complete mode{}",
                if aggregates { "" } else { " after an aggregation" }
            )));
        }
    }
    if let (OutputMode::Append, Some(reason)) = (mode, plan.correction_reason()) {
        return Err(Error::UnsupportedOutputMode(format!(
            "{reason} withdraws and replaces rows it has output when a table row changes, which \
             append mode cannot express; use update mode{}",
            if aggregates { " or complete mode" } else { "" }
        )));
    }
    match mode {
        OutputMode::Complete if !aggregates => Err(Error::UnsupportedOutputMode(
            "Complete output mode not supported when there are no streaming aggregations on \
             streaming DataFrames; use append or update"
                .into(),
        )),
        // A window of the watermarked column is final once the watermark passes its end.
        OutputMode::Append
            if aggregates
                && plan
                    .dataflow_part_for(OutputMode::Append)
                    .final_window_column()
                    .is_none() =>
        {
            Err(Error::UnsupportedOutputMode(
                "Append output mode not supported when there are streaming aggregations on \
             streaming DataFrames without watermark; use update or complete, or group by \
             window(ts, ..) of a column declared with with_watermark(ts, ..)"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}
