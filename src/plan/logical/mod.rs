//! [`LogicalPlan`] nodes: what each node is, its schema and its inputs.
//!
//! The node types are here; the checked constructors that build them (`select`, `filter`,
//! `group_by`, `join`, `with_watermark`) are in `constructors`, and what a plan tells about
//! itself once built (its sources, whether it only appends, its watermark, the window that
//! makes a group final) in `properties`.

mod columns_read;
mod constructors;
mod finish;
mod join_time;
pub mod processor;
mod properties;
mod stateful;
mod union;

pub use join_time::{split_join_condition, Bound, JoinCondition, JoinEventTime, SideWatermark, TimeRange};
pub use stateful::{GroupState, GroupStateTimeout, RowStateFn, StateApi, StateFunction, TimeoutError};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::connectors::Source;
use crate::data::Schema;
use crate::error::{Error, Result};
use crate::expr::{Accumulator, BoundExpr, Expr, SortKey, SortOrder};

/// Identifies one `load()`ed source within a process: the same source read twice in a plan is
/// one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub usize);

impl SourceId {
    fn fresh() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        SourceId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One output column of a projection.
#[derive(Clone, Debug)]
pub enum Projection {
    /// A scalar expression evaluated per input row.
    Scalar(BoundExpr),
    /// The element of the generator's array, for each element (at most one per projection).
    Generated,
}

/// One aggregate of an [`LogicalPlan::Aggregate`].
#[derive(Clone, Debug)]
pub struct Aggregation {
    /// The expression as written (for explain).
    pub expr: Expr,
    /// The bound accumulator.
    pub accumulator: Accumulator,
}

/// The kinds of join. RIGHT, FULL and LEFT SEMI joins are those of two streams under
/// watermarks (Spark's stream-stream joins); a stream joins a table as INNER or LEFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// Rows with a match on both sides.
    Inner,
    /// Every left row; right columns null when nothing matches.
    Left,
    /// Every right row; left columns null when nothing matches.
    Right,
    /// Every row of both sides; the other side's columns null when nothing matches.
    Full,
    /// The left rows that have a match, once each, with the left columns only.
    LeftSemi,
    /// The left rows that have no match, with the left columns only.
    LeftAnti,
}

impl JoinKind {
    /// Spark's name of the join type, as its messages write it (`LeftOuter`, ...).
    pub fn spark_name(self) -> &'static str {
        match self {
            JoinKind::Inner => "Inner",
            JoinKind::Left => "LeftOuter",
            JoinKind::Right => "RightOuter",
            JoinKind::Full => "FullOuter",
            JoinKind::LeftSemi => "LeftSemi",
            JoinKind::LeftAnti => "LeftAnti",
        }
    }

    /// True if the output has the left side's columns alone (LEFT SEMI and LEFT ANTI).
    pub fn keeps_left_only(self) -> bool {
        matches!(self, JoinKind::LeftSemi | JoinKind::LeftAnti)
    }

    /// True if the left side's columns may be null in the output (RIGHT and FULL).
    pub fn pads_left(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }

    /// True if the right side's columns may be null in the output (LEFT and FULL).
    pub fn pads_right(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }
}

impl std::str::FromStr for JoinKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "").as_str() {
            "inner" => Ok(JoinKind::Inner),
            "left" | "leftouter" => Ok(JoinKind::Left),
            "right" | "rightouter" => Ok(JoinKind::Right),
            "full" | "outer" | "fullouter" => Ok(JoinKind::Full),
            "semi" | "leftsemi" => Ok(JoinKind::LeftSemi),
            "anti" | "leftanti" => Ok(JoinKind::LeftAnti),
            _ => Err(Error::Unsupported(format!(
                "join type `{s}`; use inner, left, right, full, left_semi or left_anti"
            ))),
        }
    }
}

/// A node of the logical plan. Nodes are immutable and shared (`Arc`).
#[derive(Clone, Debug)]
pub enum LogicalPlan {
    /// A streaming source.
    Source {
        /// The input's identity.
        id: SourceId,
        /// The configured source.
        source: Arc<dyn Source>,
        /// Its schema.
        schema: Schema,
    },
    /// `select`/`with_column`: computes new columns, optionally exploding one array.
    Project {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The expressions as written (for explain).
        exprs: Vec<Expr>,
        /// The bound output columns.
        columns: Vec<Projection>,
        /// The array expression of `explode`, if any.
        generator: Option<BoundExpr>,
        /// Output schema.
        schema: Schema,
    },
    /// `filter`/`where`: keeps rows whose predicate is true.
    Filter {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The predicate as written.
        expr: Expr,
        /// The bound predicate.
        predicate: BoundExpr,
    },
    /// An equi-join of two inputs on key expressions.
    Join {
        /// Left input (usually the stream).
        left: Arc<LogicalPlan>,
        /// Right input (usually a table).
        right: Arc<LogicalPlan>,
        /// Inner or left.
        kind: JoinKind,
        /// Key expressions over the left input.
        left_keys: Vec<BoundExpr>,
        /// Key expressions over the right input, pairwise equal to the left ones.
        right_keys: Vec<BoundExpr>,
        /// Positions of right columns kept in the output (USING drops the key columns).
        right_columns: Vec<usize>,
        /// The condition as text (for explain).
        condition: String,
        /// For a join of two streams under watermarks or a time-range condition (or of a
        /// kind only such joins have), its event-time part: the join then keeps each side's
        /// rows until the watermark shows that nothing can match them (Spark's streaming
        /// symmetric hash join). `None` for any other join.
        event_time: Option<JoinEventTime>,
        /// The columns of the output that the plan above reads, when it reads fewer than all
        /// (set by [`LogicalPlan::reading_only_what_it_reads`]; `None` means all). An arranged
        /// join keeps only these of its sides' rows, as Spark's `ColumnPruning` projects a
        /// join's inputs; the others are null in its output.
        output_read: Option<Vec<bool>>,
        /// Output schema: left columns, then the kept right columns (left ones only for a
        /// LEFT SEMI join).
        schema: Schema,
    },
    /// `group_by(..).agg(..)`: one row per key with its aggregates.
    Aggregate {
        /// Input.
        input: Arc<LogicalPlan>,
        /// Grouping expressions as written.
        key_exprs: Vec<Expr>,
        /// Bound grouping expressions.
        keys: Vec<BoundExpr>,
        /// The aggregates.
        aggregations: Vec<Aggregation>,
        /// Output schema: keys, then aggregates.
        schema: Schema,
    },
    /// `with_watermark(column, delay)`: declares the event-time column and how late its
    /// events may arrive. Rows pass unchanged; an aggregation above drops the rows that arrive
    /// after the watermark (the greatest event time seen in earlier epochs, less the delay)
    /// and, in append mode, writes a window once the watermark has passed its end.
    Watermark {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The event-time column's position.
        column: usize,
        /// Its name.
        column_name: String,
        /// How late an event may be, in microseconds.
        delay_micros: i64,
    },
    /// A changing table declared from a stream of upserts: the latest row of each primary key
    /// (see [`LogicalPlan::upsert_table`]).
    Upsert {
        /// The stream of upserts: a source, maybe filtered and projected (one row, one upsert).
        input: Arc<LogicalPlan>,
        /// Positions of the primary key columns in the input's schema.
        keys: Vec<usize>,
        /// Output schema: the input's, with the key columns not null.
        schema: Schema,
    },
    /// `drop_duplicates(cols)` / `drop_duplicates_within_watermark(cols)`: the first row of
    /// each combination of the key columns (see [`LogicalPlan::deduplicate`]).
    Deduplicate {
        /// Input.
        input: Arc<LogicalPlan>,
        /// Positions of the key columns in the input's schema.
        keys: Vec<usize>,
        /// Spark's `dropDuplicatesWithinWatermark`: a key is remembered only until the
        /// watermark passes its first row's event time plus the delay.
        within_watermark: bool,
    },
    /// `order_by(..)` / SQL's `ORDER BY`: the result sorted. A stream has no order, so this
    /// sorts what each epoch writes: only the whole result of an aggregation in complete
    /// mode, as in Spark. It runs after the output mode has shaped the epoch's rows, on the
    /// worker that writes them (see [`LogicalPlan::dataflow_part`]).
    Sort {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The keys as written.
        order: Vec<SortOrder>,
        /// The keys, bound to the input's columns.
        keys: Vec<SortKey>,
    },
    /// `limit(n)` / SQL's `LIMIT n`: in complete mode the first `n` rows of each epoch's
    /// result; in append mode the first `n` rows ever written, as Spark's streaming limit. It
    /// runs after the output mode, as [`LogicalPlan::Sort`] does.
    Limit {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The most rows written.
        n: usize,
    },
    /// `group_by_key(keys).flat_map_groups_with_state(..)`: a user's function called per key
    /// and epoch with the key's rows and a state it keeps (see
    /// [`LogicalPlan::groups_with_state`]).
    GroupsWithState {
        /// Input.
        input: Arc<LogicalPlan>,
        /// Positions of the key columns in the input's schema.
        keys: Vec<usize>,
        /// The function.
        function: StateFunction,
        /// The output mode its rows are meant for.
        mode: crate::plan::OutputMode,
        /// Which timeouts the function may set.
        timeout: GroupStateTimeout,
        /// The schema of the rows it returns.
        schema: Schema,
        /// The position of the output's event-time column, which carries the input's
        /// watermark on to the operators above (`transform_with_state_event_time`).
        event_time_output: Option<usize>,
    },
    /// `union` / SQL's `UNION ALL`: the rows of every input, columns matched by position (the
    /// inputs are cast to common types first; see [`LogicalPlan::union`]).
    Union {
        /// The inputs, two or more.
        inputs: Vec<Arc<LogicalPlan>>,
        /// Output schema: the first input's names, the common types.
        schema: Schema,
    },
}

impl LogicalPlan {
    /// Whether any expression of the plan reads the current time (`current_timestamp()`).
    pub(crate) fn reads_clock(&self) -> bool {
        let own = match self {
            LogicalPlan::Project {
                columns, generator, ..
            } => {
                columns
                    .iter()
                    .any(|c| matches!(c, Projection::Scalar(e) if e.reads_clock()))
                    || generator.as_ref().is_some_and(BoundExpr::reads_clock)
            }
            LogicalPlan::Filter { predicate, .. } => predicate.reads_clock(),
            LogicalPlan::Join {
                left_keys,
                right_keys,
                ..
            } => left_keys.iter().chain(right_keys).any(BoundExpr::reads_clock),
            LogicalPlan::Aggregate {
                keys, aggregations, ..
            } => {
                keys.iter().any(BoundExpr::reads_clock)
                    || aggregations
                        .iter()
                        .any(|a| a.accumulator.argument().is_some_and(BoundExpr::reads_clock))
            }
            LogicalPlan::Sort { keys, .. } => keys.iter().any(|k| k.key.reads_clock()),
            _ => false,
        };
        own || self.inputs().iter().any(|input| input.reads_clock())
    }

    /// The plan with every `current_timestamp()`, `now()` and `current_date()` reading
    /// `clock` (a query's batch times); a subplan that reads no time is shared as it is.
    pub(crate) fn with_clock(self: &Arc<Self>, clock: &crate::expr::BatchClock) -> Arc<Self> {
        self.map_bound(
            &|plan| plan.reads_clock(),
            &mut |e| e.attach_clock(clock),
            &mut |a| a.attach_clock(clock),
        )
    }

    /// The plan with the errors of its ANSI expressions (and integer sums) going to `slot`,
    /// the query's: see [`FailureSlot`](crate::expr::FailureSlot).
    pub(crate) fn with_failure_slot(self: &Arc<Self>, slot: &crate::expr::FailureSlot) -> Arc<Self> {
        self.map_bound(&|_| true, &mut |e| e.attach_failure_slot(slot), &mut |a| {
            a.attach_failure_slot(slot)
        })
    }

    /// The plan with `expr` applied to every bound expression of every node (projections,
    /// generators, predicates, join, grouping and sort keys) and `accumulator` to every
    /// aggregate. A node is copied only where `wanted` holds for it; otherwise it and its
    /// inputs are shared unchanged.
    fn map_bound(
        self: &Arc<Self>,
        wanted: &dyn Fn(&LogicalPlan) -> bool,
        expr: &mut dyn FnMut(&mut BoundExpr),
        accumulator: &mut dyn FnMut(&mut Accumulator),
    ) -> Arc<Self> {
        if !wanted(self) {
            return self.clone();
        }
        let mut node = (**self).clone();
        for input in node.inputs_mut() {
            *input = input.map_bound(wanted, expr, accumulator);
        }
        match &mut node {
            LogicalPlan::Project {
                columns, generator, ..
            } => {
                for column in columns {
                    if let Projection::Scalar(e) = column {
                        expr(e);
                    }
                }
                if let Some(generator) = generator {
                    expr(generator);
                }
            }
            LogicalPlan::Filter { predicate, .. } => expr(predicate),
            LogicalPlan::Join {
                left_keys,
                right_keys,
                ..
            } => left_keys
                .iter_mut()
                .chain(right_keys.iter_mut())
                .for_each(&mut *expr),
            LogicalPlan::Aggregate {
                keys, aggregations, ..
            } => {
                keys.iter_mut().for_each(&mut *expr);
                for aggregation in aggregations {
                    accumulator(&mut aggregation.accumulator);
                }
            }
            LogicalPlan::Sort { keys, .. } => keys.iter_mut().for_each(|k| expr(&mut k.key)),
            // No bound expressions of their own.
            LogicalPlan::Source { .. }
            | LogicalPlan::Watermark { .. }
            | LogicalPlan::Upsert { .. }
            | LogicalPlan::Deduplicate { .. }
            | LogicalPlan::Limit { .. }
            | LogicalPlan::GroupsWithState { .. }
            | LogicalPlan::Union { .. } => {}
        }
        Arc::new(node)
    }

    /// This plan with its output columns marked as coming from relation `relation` (a SQL
    /// query's alias or name for it), so that `relation.c` finds them among a join's columns.
    pub fn qualified(self: &Arc<Self>, relation: &str) -> Arc<Self> {
        self.with_output(&|schema| schema.qualified(relation))
    }

    /// This plan with its output columns marked as the output of the DataFrame `dataset`, so
    /// that its `df["c"]` finds them among a join's columns (see
    /// [`Field::datasets`](crate::data::Field::datasets)).
    pub fn of_dataset(self: &Arc<Self>, dataset: u64) -> Arc<Self> {
        self.with_output(&|schema| schema.of_dataset(dataset))
    }

    /// This plan with `mark` applied to its output schema. Nodes that pass their input's
    /// schema on are rebuilt around a marked input.
    fn with_output(self: &Arc<Self>, mark: &dyn Fn(&Schema) -> Schema) -> Arc<Self> {
        let mut node = self.as_ref().clone();
        match &mut node {
            LogicalPlan::Source { schema, .. }
            | LogicalPlan::Project { schema, .. }
            | LogicalPlan::Join { schema, .. }
            | LogicalPlan::Aggregate { schema, .. }
            | LogicalPlan::Upsert { schema, .. }
            | LogicalPlan::GroupsWithState { schema, .. }
            | LogicalPlan::Union { schema, .. } => *schema = mark(schema),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => *input = input.with_output(mark),
        }
        Arc::new(node)
    }

    /// The output schema.
    pub fn schema(&self) -> &Schema {
        match self {
            LogicalPlan::Source { schema, .. }
            | LogicalPlan::Project { schema, .. }
            | LogicalPlan::Join { schema, .. }
            | LogicalPlan::Aggregate { schema, .. }
            | LogicalPlan::Upsert { schema, .. }
            | LogicalPlan::GroupsWithState { schema, .. }
            | LogicalPlan::Union { schema, .. } => schema,
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => input.schema(),
        }
    }

    /// The inputs of this node.
    pub fn inputs(&self) -> Vec<&Arc<LogicalPlan>> {
        match self {
            LogicalPlan::Source { .. } => vec![],
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Upsert { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::GroupsWithState { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => vec![input],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
            LogicalPlan::Union { inputs, .. } => inputs.iter().collect(),
        }
    }

    /// The inputs of this node, to be replaced, in the order of [`inputs`](Self::inputs) (one
    /// match over the node kinds each; Rust has no one accessor for shared and unique borrows).
    fn inputs_mut(&mut self) -> Vec<&mut Arc<LogicalPlan>> {
        match self {
            LogicalPlan::Source { .. } => vec![],
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Upsert { input, .. }
            | LogicalPlan::Deduplicate { input, .. }
            | LogicalPlan::GroupsWithState { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. } => vec![input],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
            LogicalPlan::Union { inputs, .. } => inputs.iter_mut().collect(),
        }
    }
}
