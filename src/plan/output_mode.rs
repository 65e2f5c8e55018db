//! Output modes and Spark's rules for which queries support which.

use std::fmt;
use std::str::FromStr;

use super::LogicalPlan;
use crate::error::{Error, Result};

/// How each epoch's result is written to the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputMode {
    /// Only rows that can never change again (new rows of a query without aggregation).
    Append,
    /// The rows that changed in the epoch, with their new values.
    Update,
    /// The whole result table, every epoch.
    Complete,
}

impl FromStr for OutputMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "update" => Ok(OutputMode::Update),
            "complete" => Ok(OutputMode::Complete),
            _ => Err(Error::InvalidOption(format!(
                "unknown output mode `{s}`; use append, update or complete"
            ))),
        }
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputMode::Append => "append",
            OutputMode::Update => "update",
            OutputMode::Complete => "complete",
        })
    }
}

/// Spark's checks (`UnsupportedOperationChecker`): complete mode needs an aggregation, and
/// append mode on an aggregation needs it grouped by a window of a watermarked column.
/// Queries whose output can lose rows run only in complete mode, the one mode in which a lost
/// row shows (as it does in Spark, which refuses such queries without watermarks). Queries
/// that read an upsert table correct their rows when the table changes: update mode writes the
/// corrected rows, append mode (whose rows are final) is refused.
pub fn validate_output_mode(plan: &LogicalPlan, mode: OutputMode) -> Result<()> {
    let aggregates = plan.has_aggregation();
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
        OutputMode::Append if aggregates && plan.final_window_column().is_none() => {
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
