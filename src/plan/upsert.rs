//! [`LogicalPlan::upsert_table`]: a table whose rows change while the query runs, declared from
//! a stream of upserts keyed by a primary key.
//!
//! The table holds the latest row of each key. Rows are ordered by when the source read them
//! (for files: file by file in listing order, line by line), and within an epoch the row read
//! last wins, so the table never depends on how many workers run. A row whose columns other
//! than the key are all null is a tombstone: it deletes its key (as a null value does in an
//! upsert-Kafka topic). Rows with a null in their key are ignored: a primary key is never null.

use std::sync::Arc;

use super::LogicalPlan;
use crate::data::{Field, Schema};
use crate::error::{Error, Result};

impl LogicalPlan {
    /// The upsert table of `input` keyed by the columns named in `keys`. `input` must be a
    /// stream read directly, maybe filtered and projected, so that one input row is one upsert
    /// with a well-defined place in the source's order (no `explode`, join or aggregation).
    pub fn upsert_table(input: Arc<LogicalPlan>, keys: &[&str]) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::InvalidPlan(
                "an upsert table needs a primary key: name at least one key column".into(),
            ));
        }
        let in_schema = input.schema();
        let mut positions = Vec::with_capacity(keys.len());
        for name in keys {
            let position = in_schema.index_of(name).ok_or_else(|| Error::UnresolvedColumn {
                name: name.to_string(),
                available: in_schema.names().join(", "),
            })?;
            if positions.contains(&position) {
                return Err(Error::InvalidPlan(format!(
                    "primary key column `{name}` is named twice"
                )));
            }
            positions.push(position);
        }
        if let Some(problem) = upsert_input_problem(&input) {
            return Err(Error::InvalidPlan(format!(
                "an upsert table reads a stream directly (maybe filtered and projected), but its \
                 input has {problem}; declare the table on the stream itself"
            )));
        }
        let fields: Vec<Field> = in_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if positions.contains(&i) {
                    f.clone().not_null()
                } else {
                    f.clone()
                }
            })
            .collect();
        Ok(LogicalPlan::Upsert {
            input,
            keys: positions,
            schema: Schema::new(fields),
        })
    }
}

/// What keeps `plan` from being the input of an upsert table, if anything: everything but a
/// source under filters and projections without a generator.
fn upsert_input_problem(plan: &LogicalPlan) -> Option<&'static str> {
    match plan {
        LogicalPlan::Source { .. } => None,
        LogicalPlan::Filter { input, .. } | LogicalPlan::Watermark { input, .. } => {
            upsert_input_problem(input)
        }
        LogicalPlan::Project { input, generator, .. } => match generator {
            Some(_) => Some("an explode (one row must be one upsert)"),
            None => upsert_input_problem(input),
        },
        LogicalPlan::Join { .. } => Some("a join"),
        LogicalPlan::Aggregate { .. } => Some("an aggregation"),
        LogicalPlan::Upsert { .. } => Some("an upsert table already"),
        LogicalPlan::Deduplicate { .. } => Some("a deduplication"),
        LogicalPlan::GroupsWithState { .. } => Some("a stateful function"),
        LogicalPlan::Sort { .. } => Some("a sort"),
        LogicalPlan::Limit { .. } => Some("a limit"),
        LogicalPlan::Union { .. } => Some("a union"),
    }
}
