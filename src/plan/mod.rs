//! The logical plan: what a query computes, independent of how it is executed.
//!
//! Plans are built by the DataFrame calls (and, later, SQL). Each constructor resolves and
//! type-checks its expressions at once, so a bad column name fails at the call that used it,
//! as in Spark. [`validate_output_mode`] applies Spark's rules when a query starts.

mod explain;
mod logical;
mod output_mode;
pub mod sql;
mod upsert;

pub use logical::processor;
pub use logical::{
    split_join_condition, Aggregation, Bound, GroupState, GroupStateTimeout, JoinCondition, JoinEventTime,
    JoinKind, LogicalPlan, Projection, RowStateFn, SideWatermark, SourceId, StateApi, StateFunction,
    TimeRange, TimeoutError,
};
// The mode lives in `data` (the sinks need it too); `plan::OutputMode` keeps naming it here,
// beside the rules about it.
pub use crate::data::OutputMode;
pub use output_mode::validate_output_mode;
