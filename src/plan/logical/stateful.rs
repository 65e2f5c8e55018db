//! `flat_map_groups_with_state`: the plan node of a user's function over each key's rows with
//! a state kept per key (Spark's `groupByKey(..).flatMapGroupsWithState`).

use std::fmt;
use std::sync::Arc;

pub use tidewater_operators::{GroupState, TimeoutError};

use super::LogicalPlan;
use crate::data::{Row, Schema};
use crate::error::{Error, Result};
use crate::plan::OutputMode;

pub use tidewater_operators::Timeout as GroupStateTimeout;

/// The user's function as the engine runs it: the key's columns, the epoch's rows of the key
/// in read order, and its state serialized (the typed form is
/// [`DataFrame::group_by_key`](crate::session::DataFrame::group_by_key)'s).
pub type RowStateFn = dyn Fn(&Row, Vec<Row>, &mut GroupState<Vec<u8>>) -> Vec<Row> + Send + Sync;

/// A user's stateful function, shared by every worker. Its `Debug` shows no code.
#[derive(Clone)]
pub struct StateFunction(pub Arc<RowStateFn>);

impl fmt::Debug for StateFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateFunction")
    }
}

impl LogicalPlan {
    /// `input.group_by_key(keys).flat_map_groups_with_state(..)`: `keys` must be columns of
    /// the input; `mode` is the output mode the function's rows are meant for (Spark's
    /// `outputMode` argument: append or update), and the query must be started in it.
    pub fn groups_with_state(
        input: Arc<LogicalPlan>,
        keys: &[&str],
        function: StateFunction,
        mode: OutputMode,
        timeout: GroupStateTimeout,
        schema: Schema,
    ) -> Result<Self> {
        let in_schema = input.schema();
        let keys = keys
            .iter()
            .map(|name| {
                in_schema.index_of(name).ok_or_else(|| Error::UnresolvedColumn {
                    name: name.to_string(),
                    available: in_schema.names().join(", "),
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        if mode == OutputMode::Complete {
            return Err(Error::InvalidPlan(
                "flat_map_groups_with_state writes in append or update mode, not complete, as in Spark"
                    .into(),
            ));
        }
        if !input.is_append_only() {
            return Err(Error::InvalidPlan(
                "flat_map_groups_with_state needs rows that are only ever added: its input is an \
                 aggregation or reads a changing table"
                    .into(),
            ));
        }
        if timeout == GroupStateTimeout::EventTime && input.watermark_below().is_none() {
            return Err(Error::InvalidPlan(
                "an event-time timeout needs a watermark on the stream (with_watermark), as in Spark".into(),
            ));
        }
        Ok(LogicalPlan::GroupsWithState {
            input,
            keys,
            function,
            mode,
            timeout,
            schema,
        })
    }
}
