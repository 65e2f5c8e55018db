//! `flat_map_groups_with_state`: the plan node of a user's function over each key's rows with
//! a state kept per key (Spark's `groupByKey(..).flatMapGroupsWithState`).

use std::fmt;
use std::sync::Arc;

pub use tidewater_operators::{GroupState, TimeoutError};

use super::LogicalPlan;
use crate::data::{DataType, Row, Schema};
use crate::error::{Error, Result};
use crate::plan::OutputMode;

pub use tidewater_operators::Timeout as GroupStateTimeout;

/// The user's function as the engine runs it: the key's columns, the epoch's rows of the key
/// in read order, and its state serialized (the typed form is
/// [`DataFrame::group_by_key`](crate::session::DataFrame::group_by_key)'s).
pub type RowStateFn = dyn Fn(&Row, Vec<Row>, &mut GroupState<Vec<u8>>) -> Vec<Row> + Send + Sync;

/// Which API made a stateful function: it names the operator in plans and progress reports,
/// and its state's slot in a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateApi {
    /// `flat_map_groups_with_state` / `map_groups_with_state`.
    FlatMapGroupsWithState,
    /// `transform_with_state`, whose function runs a
    /// [`StatefulProcessor`](super::processor::StatefulProcessor).
    TransformWithState {
        /// Whether its keys also wake on processing time, for entries whose time to live
        /// passes, whatever its timers' time mode (event time: the timeout is the timers').
        ttl_wakes: bool,
    },
}

impl StateApi {
    /// Spark's name of the operator in progress reports.
    pub fn operator_name(self) -> &'static str {
        match self {
            StateApi::FlatMapGroupsWithState => "flatMapGroupsWithState",
            StateApi::TransformWithState { .. } => "transformWithStateExec",
        }
    }
}

/// A user's stateful function, shared by every worker, and the API that made it. Its `Debug`
/// shows no code.
#[derive(Clone)]
pub struct StateFunction(pub Arc<RowStateFn>, pub StateApi);

impl fmt::Debug for StateFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateFunction({:?})", self.1)
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
        let api = match function.1 {
            StateApi::FlatMapGroupsWithState => "flat_map_groups_with_state",
            StateApi::TransformWithState { .. } => "transform_with_state",
        };
        if mode == OutputMode::Complete {
            return Err(Error::InvalidPlan(format!(
                "{api} writes in append or update mode, not complete, as in Spark"
            )));
        }
        if !input.is_append_only() {
            return Err(Error::InvalidPlan(format!(
                "{api} needs rows that are only ever added: its input is an aggregation or reads a \
                 changing table"
            )));
        }
        if timeout == GroupStateTimeout::EventTime && input.watermark_below().is_none() {
            return Err(Error::InvalidPlan(format!(
                "{api}: event time needs a watermark on the stream (with_watermark), as in Spark"
            )));
        }
        Ok(LogicalPlan::GroupsWithState {
            input,
            keys,
            function,
            mode,
            timeout,
            schema,
            event_time_output: None,
        })
    }
}

impl LogicalPlan {
    /// `input.group_by_key(keys).transform_with_state(processor, time_mode, mode, schema)`:
    /// runs the processor's `init`, then plans it as a stateful function (see
    /// [`processor`](super::processor)). State names declared twice are refused.
    ///
    /// With `event_time_column` (Spark's `eventTimeColumnName`, which implies event time),
    /// that column of the output carries the input's watermark on: an aggregation above
    /// closes its windows of it by the same watermark as the processor's timers.
    pub fn transform_with_state<P: super::processor::StatefulProcessor>(
        input: Arc<LogicalPlan>,
        keys: &[&str],
        processor: P,
        time_mode: super::processor::TimeMode,
        mode: OutputMode,
        schema: Schema,
        event_time_column: Option<&str>,
    ) -> Result<Self> {
        let time_mode = match event_time_column {
            Some(_) => super::processor::TimeMode::EventTime,
            None => time_mode,
        };
        let event_time_output = match event_time_column {
            Some(name) => match schema.index_of(name) {
                Some(i) if schema.fields().get(i).map(|f| &f.data_type) == Some(&DataType::Timestamp) => {
                    Some(i)
                }
                Some(_) => {
                    return Err(Error::InvalidPlan(format!(
                    "transform_with_state: the event-time column `{name}` of the output is not a timestamp"
                )))
                }
                None => {
                    return Err(Error::UnresolvedColumn {
                        name: name.to_string(),
                        available: schema.names().join(", "),
                    })
                }
            },
            None => None,
        };
        let prepared = super::processor::prepare(processor, time_mode);
        if let Some(name) = prepared.duplicates.first() {
            return Err(Error::InvalidPlan(format!(
                "transform_with_state: the state variable `{name}` is declared twice in init"
            )));
        }
        let mut plan =
            Self::groups_with_state(input, keys, prepared.function, mode, prepared.timeout, schema)?;
        if let LogicalPlan::GroupsWithState {
            event_time_output: carried,
            ..
        } = &mut plan
        {
            *carried = event_time_output;
        }
        Ok(plan)
    }
}
