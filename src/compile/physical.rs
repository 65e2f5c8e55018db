//! The physical plan: which operator runs each part of a logical plan.
//!
//! Every choice of operator is made here, once, from the logical plan and the query's
//! [`Settings`]: how each source's rows enter the dataflow ([`Delivery`]), whether a join looks
//! stream rows up in a static table or arranges both sides, whether a join with a small table
//! is fused into the aggregation above it (and how that fold reads the joined columns), and how
//! an aggregation folds: the word count's piece count, the append-only accumulator, the one
//! that forgets the windows the watermark has closed, or differential's general `reduce`.
//! Compilation builds what the physical plan says ([`compile`](super::compile)) and `explain`
//! prints it ([`describe`](super::describe)), so what `explain` shows is what runs.

use std::fmt;
use std::sync::Arc;

use super::aggregate::PieceCount;
use super::partitions::Readers;
use super::pipeline::Pipeline;
use super::table_aggregate::{ColumnFold, GroupedByTable};
use super::window_fold::WindowedFold;
use crate::connectors::{LocalRows, PartitionReader, Source};
use crate::data::DataType;
use crate::expr::{Accumulator, BoundExpr, Expr};
use crate::plan::{Aggregation, JoinEventTime, JoinKind, LogicalPlan, OutputMode, SourceId};

/// What the choice of operators depends on besides the plan itself. Passed in whole, so that
/// compilation and `explain` decide from the same inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The sink's output mode. Complete mode writes whole results, so a windowed aggregation
    /// keeps every window; append and update let it forget the windows the watermark closed.
    pub output_mode: OutputMode,
    /// The largest static table (bytes on disk) that a join under an aggregation broadcasts
    /// to every worker, fused into the fold (Spark's `spark.sql.autoBroadcastJoinThreshold`);
    /// `None`: never. Larger tables, and tables of unknown size, are hashed by key over the
    /// workers (a lookup join, then the aggregation).
    pub broadcast_threshold: Option<u64>,
    /// How an inner join of two streams that only insert keeps its sides: the format a new
    /// query's checkpoint records, or the one its checkpoint recorded (see
    /// [`JoinStateFormat`]).
    pub join_state_format: JoinStateFormat,
}

/// How an inner join of two streams that only insert, without watermarks, keeps its state: the
/// version a checkpoint records (`joinStateFormatVersion` in its `metadata`), as Spark records
/// `spark.sql.streaming.join.stateFormatVersion`, so that a query resumes with the join its
/// state was written by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum JoinStateFormat {
    /// Version 1: differential's arranged join, each side logged as a collection of rows.
    Arranged,
    /// Version 2: a hash join of each side's rows by key ([`Strategy::AppendHashJoin`]).
    #[default]
    Hashed,
}

impl JoinStateFormat {
    /// The version a checkpoint records.
    pub fn version(self) -> u32 {
        match self {
            JoinStateFormat::Arranged => 1,
            JoinStateFormat::Hashed => 2,
        }
    }

    /// The format of a recorded version, if this build has it.
    pub fn of_version(version: u32) -> Option<Self> {
        match version {
            1 => Some(JoinStateFormat::Arranged),
            2 => Some(JoinStateFormat::Hashed),
            _ => None,
        }
    }
}

impl Settings {
    /// Whether windowed aggregations may forget the windows the watermark has closed: true
    /// unless the query writes whole results (complete mode keeps every window, as in Spark).
    fn forgets_closed_windows(self) -> bool {
        self.output_mode != OutputMode::Complete
    }
}

/// How a source's rows enter the dataflow. This is the one answer to that question:
/// compilation builds the reading it names, `explain` prints it, and the driver feeds the
/// source's input to match (rows it polled, work items it planned, or shares of rows it
/// claimed by count).
#[derive(Clone)]
pub enum Delivery {
    /// The leader polls the rows and feeds them; they are spread round-robin over the workers
    /// before any per-row work.
    Streamed,
    /// The leader plans work items (files), and this reader turns each into rows on the
    /// worker where the item lands ([`Source::partition_reader`]).
    Partitioned(Arc<dyn PartitionReader>),
    /// The rows sit in the leader process's memory ([`Source::local_rows`]): the leader claims
    /// them by count and deals them out by offset, and each worker of its process reads its
    /// share.
    Local(Arc<dyn LocalRows>),
}

impl Delivery {
    /// How `source` delivers its rows. Rows held in memory are read where they lie, whatever
    /// else the source offers.
    pub fn of(source: &dyn Source) -> Self {
        if let Some(rows) = source.local_rows() {
            return Delivery::Local(rows);
        }
        match source.partition_reader() {
            Some(reader) => Delivery::Partitioned(reader),
            None => Delivery::Streamed,
        }
    }
}

/// The name of an operator chosen for part of a plan. Compilation records the strategies it
/// built and `explain` names the ones it describes, both in the same order (inputs before what
/// reads them), so a test can hold one against the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// A streamed source: rows fed by worker 0, spread round-robin.
    StreamedRows,
    /// A partitioned source: each work item read by the worker its hash picks.
    PartitionedItems,
    /// A partitioned static table that every worker reads whole, for a fused table join.
    PartitionsOnEveryWorker,
    /// Rows held in memory: each worker copies its share into the dataflow.
    LocalRows,
    /// Rows held in memory, read in place by the fused table-join aggregation above.
    LocalRowsInPlace,
    /// A watermark under an aggregation grouped by the event time itself: rows at or below it
    /// are dropped.
    LateRowsDropped,
    /// A watermark under an aggregation that drops no row by its own time: its greatest event
    /// times are tracked (a windowed fold drops the windows the watermark closed).
    WatermarkTracked,
    /// A join with a static table: stream rows are looked up and forgotten.
    LookupJoin,
    /// A join of two changing inputs: both arranged by key (differential's `join`).
    ArrangedJoin,
    /// A join of two streams under watermarks: each side's rows kept by key until the
    /// watermark shows nothing can match them (Spark's streaming symmetric hash join).
    SymmetricHashJoin,
    /// An inner join of two streams that only insert, without watermarks: the symmetric hash
    /// join's operator, each side's rows kept by key for ever (no retraction to take, so no
    /// arrangement to sort and merge).
    AppendHashJoin,
    /// A join with a table small enough to broadcast, fused into the aggregation above it.
    BroadcastJoin,
    /// An upsert table: the latest row per primary key.
    UpsertTable,
    /// `drop_duplicates`: the first row per key, keys remembered as the watermark allows.
    Deduplicate,
    /// `flat_map_groups_with_state`: a user's function per key and epoch, its state kept per
    /// key, timeouts fired by the watermark or the batch time.
    GroupsWithState,
    /// `transform_with_state`: a stateful processor per key and epoch, on the engine of
    /// `GroupsWithState`, its variables and timers kept per key.
    TransformWithState,
    /// The word count's shape: pieces of a split counted by their text.
    PieceCount,
    /// The append-only accumulator: one state per key, folded locally.
    AppendOnlyFold,
    /// The append-only accumulator of a windowed aggregation that forgets closed windows.
    ExpiringFold,
    /// As `ExpiringFold`, in the common shape (the window first among column keys): each row
    /// folded into its windows' groups keyed by the window's start, no row per window built.
    WindowStartFold,
    /// As `WindowStartFold`, keeping every window: complete mode, or no watermark on the
    /// window's time.
    WindowStartKeptFold,
    /// An aggregation by session windows: each key's sessions merged as rows join them.
    SessionFold,
    /// Differential's general `reduce`, for inputs that retract.
    Reduce,
    /// A fused table-join fold grouped by one column of the table, its groups worked out once
    /// when the table loads; `integer`: the table is keyed by a BIGINT join key itself.
    GroupedByTable {
        /// Whether the table is keyed by the integer join key rather than a value.
        integer: bool,
    },
    /// A fused table-join fold reading the joined columns where they lie.
    ColumnFold,
    /// A fused table-join fold of the joined rows through the aggregation's row pipeline.
    JoinedRowFold,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::StreamedRows => "streamed rows",
            Strategy::PartitionedItems => "partitioned work items",
            Strategy::PartitionsOnEveryWorker => "work items read by every worker",
            Strategy::LocalRows => "local rows",
            Strategy::LocalRowsInPlace => "local rows read in place",
            Strategy::LateRowsDropped => "late rows dropped",
            Strategy::WatermarkTracked => "watermark tracked",
            Strategy::LookupJoin => "lookup join",
            Strategy::ArrangedJoin => "arranged join",
            Strategy::SymmetricHashJoin => "streaming symmetric hash join, state expired by the watermark",
            Strategy::AppendHashJoin => "hash join of two streams that only insert",
            Strategy::BroadcastJoin => "broadcast join",
            Strategy::UpsertTable => "upsert table",
            Strategy::Deduplicate => "deduplication",
            Strategy::GroupsWithState => "flatMapGroupsWithState",
            Strategy::TransformWithState => "transformWithState",
            Strategy::PieceCount => "word-count piece count",
            Strategy::AppendOnlyFold => "append-only accumulator",
            Strategy::ExpiringFold => "append-only accumulator, closed windows forgotten",
            Strategy::WindowStartFold => "append-only accumulator by window start, closed windows forgotten",
            Strategy::WindowStartKeptFold => "append-only accumulator by window start",
            Strategy::Reduce => "differential reduce",
            Strategy::SessionFold => "session windows",
            Strategy::GroupedByTable { integer: false } => "fold grouped by a table column",
            Strategy::GroupedByTable { integer: true } => "fold grouped by a table column, BIGINT key",
            Strategy::ColumnFold => "fold of the joined columns in place",
            Strategy::JoinedRowFold => "fold of the joined rows",
        })
    }
}

/// How a source is read inside the dataflow.
pub enum Read {
    /// Rows fed by the leader, spread round-robin ([`Delivery::Streamed`]).
    Spread,
    /// Work items read by `Readers` ([`Delivery::Partitioned`]).
    Items(Arc<dyn PartitionReader>, Readers),
    /// Shares of rows held in memory, each copied by the worker it names ([`Delivery::Local`]).
    Shares(Arc<dyn LocalRows>),
}

impl Read {
    /// The reading of a source delivered as `delivery`, each work item read once.
    fn of(delivery: Delivery) -> Self {
        match delivery {
            Delivery::Streamed => Read::Spread,
            Delivery::Partitioned(reader) => Read::Items(reader, Readers::One),
            Delivery::Local(rows) => Read::Shares(rows),
        }
    }

    /// The strategy's name.
    pub fn strategy(&self) -> Strategy {
        match self {
            Read::Spread => Strategy::StreamedRows,
            Read::Items(_, Readers::One) => Strategy::PartitionedItems,
            Read::Items(_, Readers::Every) => Strategy::PartitionsOnEveryWorker,
            Read::Shares(_) => Strategy::LocalRows,
        }
    }
}

/// A join's keys and kind, borrowed from its logical node.
pub struct JoinOn<'p> {
    /// Inner, outer or semi.
    pub kind: JoinKind,
    /// Key expressions over the left input.
    pub left_keys: &'p [BoundExpr],
    /// Key expressions over the right input.
    pub right_keys: &'p [BoundExpr],
    /// Positions of right columns kept in the output.
    pub right_columns: &'p [usize],
    /// The condition as text (for explain).
    pub condition: &'p str,
    /// The left input's logical plan.
    pub left: &'p LogicalPlan,
    /// The right input's logical plan (for explain: its size, whether it changes).
    pub right: &'p LogicalPlan,
    /// The event-time part of a join of two streams under watermarks.
    pub event_time: Option<&'p JoinEventTime>,
    /// The output columns read above the join, when not all are.
    pub output_read: Option<&'p [bool]>,
}

impl JoinOn<'_> {
    /// The width of the left input's rows: the joined row's columns from there on are the
    /// right side's.
    pub fn left_width(&self) -> usize {
        self.left.schema().len()
    }

    /// The columns an arranged join keeps of each side, and its output's layout (a stream
    /// join keeps its event times too: see `stream_join`).
    pub(super) fn joined_columns(&self) -> super::join::JoinedColumns {
        // A stream join reads its sides' watermarked columns and its time range's.
        let (mut left_needs, mut right_needs) = (Vec::new(), Vec::new());
        if let Some(time) = self.event_time {
            left_needs.extend(time.left_watermark.map(|w| w.column));
            right_needs.extend(time.right_watermark.map(|w| w.column));
            if let Some(range) = time.range {
                left_needs.push(range.left_column);
                right_needs.push(range.right_column);
            }
        }
        super::join::JoinedColumns::new(
            self.left_width(),
            self.right.schema().len(),
            self.right_columns,
            self.output_read,
            (&left_needs, &right_needs),
        )
    }
}

/// A node of the physical plan: the operators that run one part of a logical plan, with every
/// choice made.
pub enum Physical<'p> {
    /// A source, read as `read` says.
    Source {
        /// The input's identity.
        id: SourceId,
        /// The source (for explain).
        source: &'p dyn Source,
        /// How it is read.
        read: Read,
    },
    /// A run of filters and projections applied row by row, as one stage.
    Rows {
        /// The logical nodes of the run, innermost (first applied) first (for explain).
        steps: Vec<&'p LogicalPlan>,
        /// The steps, compiled.
        pipeline: Pipeline,
        /// What the rows come from.
        input: Box<Physical<'p>>,
    },
    /// A watermark that no aggregation right above reads: rows pass unchanged.
    Watermark {
        /// The event-time column's name.
        column_name: &'p str,
        /// What the rows come from.
        input: Box<Physical<'p>>,
    },
    /// A join that is not fused into an aggregation.
    Join {
        /// Its keys and kind.
        on: JoinOn<'p>,
        /// [`Strategy::LookupJoin`] or [`Strategy::ArrangedJoin`].
        strategy: Strategy,
        /// The left (stream) input.
        left: Box<Physical<'p>>,
        /// The right input.
        right: Box<Physical<'p>>,
    },
    /// An upsert table over a source read in order.
    Upsert {
        /// Positions of the primary key columns.
        keys: Vec<usize>,
        /// The source, maybe under filters and projections.
        input: Box<Physical<'p>>,
    },
    /// The first row per key (`drop_duplicates`).
    Deduplicate {
        /// Positions of the key columns.
        keys: Vec<usize>,
        /// How long a key is remembered.
        remember: tidewater_operators::Remember,
        /// The watermark under it: the event-time column's position in its input, its name and
        /// the delay.
        event_time: Option<(usize, &'p str, i64)>,
        /// The input.
        input: Box<Physical<'p>>,
    },
    /// A user's function per key with its state (`flat_map_groups_with_state`).
    GroupsWithState {
        /// Positions of the key columns.
        keys: Vec<usize>,
        /// The function.
        function: crate::plan::StateFunction,
        /// Which timeouts it may set.
        timeout: crate::plan::GroupStateTimeout,
        /// The watermark under it: the event-time column's position in its input, its name and
        /// the delay.
        event_time: Option<(usize, &'p str, i64)>,
        /// The input.
        input: Box<Physical<'p>>,
    },
    /// The rows of several inputs, concatenated (`union`).
    Union(Vec<Physical<'p>>),
    /// An aggregation.
    Aggregate(Box<Aggregate<'p>>),
    /// An aggregation over a join with a table broadcast into its fold.
    TableAggregate(Box<TableAggregate<'p>>),
}

/// The parts of an aggregation that every fold takes.
pub struct Grouping<'p> {
    /// The logical node (to note its strategy in the logical plan's text).
    pub node: &'p LogicalPlan,
    /// Grouping expressions as written (for explain).
    pub key_exprs: &'p [Expr],
    /// The aggregates as written (for explain).
    pub aggregations: &'p [Aggregation],
    /// The filters and projections under the aggregation, run inside its fold.
    pub steps: Vec<&'p LogicalPlan>,
    /// Those steps, compiled.
    pub pipeline: Pipeline,
    /// Bound grouping expressions.
    pub keys: Vec<BoundExpr>,
    /// The aggregates' accumulators.
    pub accumulators: Vec<Accumulator>,
}

/// A watermark under an aggregation.
pub struct Late<'p> {
    /// The event-time column's position.
    pub column: usize,
    /// Its name.
    pub column_name: &'p str,
    /// How late an event may be, in microseconds.
    pub delay_micros: i64,
    /// Which rows are late.
    pub rule: LateRule,
    /// Whether the watermark is computed by the operator right below: a join of two streams
    /// (the least of its sides' watermarks) or a stateful function whose output carries its
    /// input's; otherwise it is read from the rows here.
    pub joined: bool,
}

/// Which rows an aggregation under a watermark drops as late: Spark's rule compares the
/// watermark with the event time of the group a row updates, not with the row's own time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LateRule {
    /// Grouped by a window of the event time (and folded with expiry): a row is late for a
    /// window that ended at or before the watermark, and counts in its other windows.
    WindowEnd,
    /// Grouped by the event time itself (or by a window, over an input that retracts): a row
    /// at or before the watermark is late.
    RowTime,
    /// Complete mode, or not grouped by event time: no row is late, as in Spark; the
    /// watermark is still tracked and reported.
    None,
}

/// An aggregation and the fold chosen for it.
pub struct Aggregate<'p> {
    /// What is grouped and aggregated.
    pub grouping: Grouping<'p>,
    /// The input below the per-row steps (and below the watermark, if late rows are dropped).
    pub input: Physical<'p>,
    /// The watermark right under the steps, if any.
    pub late: Option<Late<'p>>,
    /// How the aggregation folds.
    pub fold: Fold,
}

/// How an aggregation that is not fused with a join folds.
pub enum Fold {
    /// The word count's shape over an append-only input.
    PieceCount(PieceCount),
    /// The append-only accumulator.
    Accumulate,
    /// The append-only accumulator forgetting a window (key `window_key`) once the watermark
    /// passes its end.
    Expiring {
        /// The position of the window among the keys.
        window_key: usize,
    },
    /// As `Expiring`, in the common shape that folds by window start (the window is key 0).
    WindowStarts(WindowedFold),
    /// As `Accumulate`, for a windowed aggregation in that shape whose windows are all kept.
    WindowStartsKept(WindowedFold),
    /// Differential's general `reduce`, for an input that retracts.
    Reduce,
    /// Sessions per key (key `window_key` is the session window), merged as rows join them.
    Session {
        /// The position of the session window among the keys.
        window_key: usize,
    },
}

impl Fold {
    /// The window's position among the keys, when the fold forgets a window once the
    /// watermark passes its end (the window fold by start has it first).
    pub fn expiring_window_key(&self) -> Option<usize> {
        match self {
            Fold::Expiring { window_key } => Some(*window_key),
            Fold::WindowStarts(_) => Some(0),
            _ => None,
        }
    }

    /// True when the fold builds no row for an input row: a window fold whose steps before
    /// the windows only filter, its projections computed inside it.
    pub fn builds_no_row_per_event(&self) -> bool {
        match self {
            Fold::WindowStarts(fold) | Fold::WindowStartsKept(fold) => fold.builds_no_row_per_event(),
            _ => false,
        }
    }

    /// The strategy's name.
    pub fn strategy(&self) -> Strategy {
        match self {
            Fold::PieceCount(_) => Strategy::PieceCount,
            Fold::Accumulate => Strategy::AppendOnlyFold,
            Fold::Expiring { .. } => Strategy::ExpiringFold,
            Fold::WindowStarts(_) => Strategy::WindowStartFold,
            Fold::WindowStartsKept(_) => Strategy::WindowStartKeptFold,
            Fold::Reduce => Strategy::Reduce,
            Fold::Session { .. } => Strategy::SessionFold,
        }
    }
}

/// The stream side of a fused table-join aggregation.
pub enum StreamSide<'p> {
    /// A source held in memory whose shares the fused operator reads in place.
    InPlace {
        /// The input's identity.
        id: SourceId,
        /// The source (for explain).
        source: &'p dyn Source,
        /// Its rows.
        rows: Arc<dyn LocalRows>,
    },
    /// Anything else, compiled into rows.
    Rows(Physical<'p>),
}

/// An aggregation over a stream's join with a static table small enough to broadcast: every
/// worker holds the table and folds what its stream rows join with.
pub struct TableAggregate<'p> {
    /// What is grouped and aggregated.
    pub grouping: Grouping<'p>,
    /// The join's keys and kind.
    pub on: JoinOn<'p>,
    /// The stream (the join's left side).
    pub stream: StreamSide<'p>,
    /// The table (the join's right side).
    pub table: Physical<'p>,
    /// Whether every worker reads the whole table itself, so that it is not broadcast.
    pub table_on_every_worker: bool,
    /// How the joined rows are folded.
    pub fold: TableFold,
}

/// How a fused table-join aggregation folds what a stream row joins with, cheapest first.
pub enum TableFold {
    /// Grouped by one column of the table: groups worked out and hashed once per table row.
    GroupedByTable {
        /// The grouping.
        grouped: GroupedByTable,
        /// The key and argument columns.
        columns: ColumnFold,
        /// Whether the table is keyed by the BIGINT join key itself.
        integer_key: bool,
    },
    /// Keys and arguments are plain columns, read where they lie.
    Columns(ColumnFold),
    /// Anything else: the joined rows are built and run through the row pipeline.
    JoinedRows,
}

impl TableFold {
    /// The strategy's name.
    pub fn strategy(&self) -> Strategy {
        match self {
            TableFold::GroupedByTable { integer_key, .. } => Strategy::GroupedByTable {
                integer: *integer_key,
            },
            TableFold::Columns(_) => Strategy::ColumnFold,
            TableFold::JoinedRows => Strategy::JoinedRowFold,
        }
    }
}

/// Chooses the operators of `plan` under `settings`: those of its
/// [dataflow part](LogicalPlan::dataflow_part_for); a sort or limit above, and in append mode
/// the steps above a windowed aggregation that lose its window, run on the written rows.
pub fn plan(plan: &LogicalPlan, settings: Settings) -> Physical<'_> {
    plan_node(plan.dataflow_part_for(settings.output_mode), settings)
}

/// Chooses the operators of the node `plan` and those below it.
fn plan_node(plan: &LogicalPlan, settings: Settings) -> Physical<'_> {
    match plan {
        LogicalPlan::Source { id, source, .. } => Physical::Source {
            id: *id,
            source: source.as_ref(),
            read: Read::of(Delivery::of(source.as_ref())),
        },
        LogicalPlan::Project { .. } | LogicalPlan::Filter { .. } => {
            let (mut base, mut steps, mut pipeline) = peel(plan);
            // A watermark that only passes rows on (nothing right above reads it) between two
            // runs of filters and projections: one run, so the rows are built once. Explain
            // still shows the watermark, among the steps.
            while let LogicalPlan::Watermark { input, .. } = base {
                if !matches!(**input, LogicalPlan::Project { .. } | LogicalPlan::Filter { .. }) {
                    break;
                }
                let (below, mut below_steps, below_pipeline) = peel(input);
                below_steps.push(base);
                below_steps.append(&mut steps);
                (base, steps, pipeline) = (below, below_steps, below_pipeline.then(pipeline));
            }
            let input = filters_into_join(plan_node(base, settings), &pipeline);
            with_steps(steps, pipeline, input)
        }
        LogicalPlan::Watermark {
            input, column_name, ..
        } => Physical::Watermark {
            column_name,
            input: Box::new(plan_node(input, settings)),
        },
        LogicalPlan::Join {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            right_columns,
            condition,
            event_time,
            output_read,
            ..
        } => Physical::Join {
            on: JoinOn {
                kind: *kind,
                left_keys,
                right_keys,
                right_columns,
                condition,
                left,
                right,
                event_time: event_time.as_ref(),
                output_read: output_read.as_deref(),
            },
            strategy: if event_time.is_some() {
                Strategy::SymmetricHashJoin
            } else if right.is_static() {
                Strategy::LookupJoin
            } else if super::durable::hash_joins(*kind, left, right, settings.join_state_format) {
                Strategy::AppendHashJoin
            } else {
                Strategy::ArrangedJoin
            },
            left: Box::new(plan_node(left, settings)),
            right: Box::new(plan_node(right, settings)),
        },
        LogicalPlan::Deduplicate {
            input,
            keys,
            within_watermark,
        } => {
            let event_time = input.watermark_below().and_then(|(name, delay)| {
                let column = input.schema().index_of(name)?;
                Some((column, name, delay))
            });
            // As in Spark: a key holding the event time is forgotten once the watermark passes
            // it; without the event time among the keys, never (late rows are still dropped).
            let remember = match event_time {
                Some(_) if *within_watermark => tidewater_operators::Remember::WithinDelay,
                Some((column, ..)) if keys.contains(&column) => tidewater_operators::Remember::UntilEventTime,
                _ => tidewater_operators::Remember::Forever,
            };
            Physical::Deduplicate {
                keys: keys.clone(),
                remember,
                event_time,
                input: Box::new(plan_node(input, settings)),
            }
        }
        LogicalPlan::GroupsWithState {
            input,
            keys,
            function,
            timeout,
            ..
        } => Physical::GroupsWithState {
            keys: keys.clone(),
            function: function.clone(),
            timeout: *timeout,
            event_time: input.watermark_below().and_then(|(name, delay)| {
                let column = input.schema().index_of(name)?;
                Some((column, name, delay))
            }),
            input: Box::new(plan_node(input, settings)),
        },
        // Only under a plan's dataflow part, which a valid plan never has (see
        // `LogicalPlan::has_finish`): the rows pass.
        LogicalPlan::Sort { input, .. } | LogicalPlan::Limit { input, .. } => plan_node(input, settings),
        LogicalPlan::Union { inputs, .. } => {
            Physical::Union(inputs.iter().map(|i| plan_node(i, settings)).collect())
        }
        LogicalPlan::Upsert { input, keys, .. } => Physical::Upsert {
            keys: keys.clone(),
            input: Box::new(plan_node(input, settings)),
        },
        LogicalPlan::Aggregate {
            input,
            key_exprs,
            keys,
            aggregations,
            ..
        } => {
            let (base, steps, pipeline) = peel(input);
            let grouping = Grouping {
                node: plan,
                key_exprs,
                aggregations,
                steps,
                pipeline,
                keys: keys.clone(),
                accumulators: aggregations.iter().map(|a| a.accumulator.clone()).collect(),
            };
            let append_only = input.is_append_only();
            // Over a join with a small static table, every worker holds the table and folds
            // what its stream rows join with; the join's sides are planned again there, as the
            // fused operator reads them.
            if let LogicalPlan::Join { right, kind, .. } = base {
                // Semi and anti joins keep the stream rows whole: they run as lookups.
                let fuses = matches!(kind, JoinKind::Inner | JoinKind::Left);
                if fuses && append_only && broadcasts(right, settings.broadcast_threshold) {
                    if let Physical::Join { on, .. } = plan_node(base, settings) {
                        return table_aggregate(grouping, on, settings);
                    }
                }
            }
            let (input, mut late) = match base {
                LogicalPlan::Watermark {
                    input,
                    column,
                    column_name,
                    delay_micros,
                } => (
                    plan_node(input, settings),
                    Some(Late {
                        column: *column,
                        column_name,
                        delay_micros: *delay_micros,
                        rule: LateRule::None,
                        joined: false,
                    }),
                ),
                // Over a join of two streams under watermarks, the join's watermark (Spark's
                // global one) is the aggregation's: it closes windows of either side's time.
                LogicalPlan::Join {
                    event_time: Some(_), ..
                } => {
                    let late = plan.watermark_delay().map(|delay_micros| Late {
                        column: 0,
                        column_name: base.event_time_columns().first().copied().unwrap_or(""),
                        delay_micros,
                        rule: LateRule::None,
                        joined: true,
                    });
                    (plan_node(base, settings), late)
                }
                // Over a stateful function whose output carries the watermark on, its input's
                // watermark (Spark's, the same for both) is the aggregation's.
                LogicalPlan::GroupsWithState {
                    event_time_output: Some(column),
                    ..
                } => {
                    let late = base.watermark_below().map(|(column_name, delay_micros)| Late {
                        column: *column,
                        column_name,
                        delay_micros,
                        rule: LateRule::None,
                        joined: true,
                    });
                    (plan_node(base, settings), late)
                }
                _ => (plan_node(base, settings), None),
            };
            // Grouped by a window of the watermarked column, a window's state is forgotten once
            // the watermark passes its end; complete mode keeps every window, as in Spark.
            let fold = match plan.final_window_column() {
                // A session's extent depends on the rows of its key: only the session fold knows it.
                _ if plan.session_window_key().is_some() => Fold::Session {
                    window_key: plan.session_window_key().unwrap_or(0),
                },
                // Closed windows come out in the order of their keys: by start only when the
                // window is the first.
                Some(window_key) if late.is_some() && append_only && settings.forgets_closed_windows() => {
                    (window_key == 0)
                        .then(|| {
                            WindowedFold::detect(
                                &grouping.pipeline,
                                &grouping.keys,
                                &grouping.accumulators,
                                0,
                            )
                        })
                        .flatten()
                        .map_or(Fold::Expiring { window_key }, Fold::WindowStarts)
                }
                _ if !append_only => Fold::Reduce,
                // Windows kept (complete mode, or no watermark on their time): folded by their
                // start too when the shape allows, the window anywhere among the keys.
                _ => {
                    let (pipeline, keys, accumulators) =
                        (&grouping.pipeline, &grouping.keys, &grouping.accumulators);
                    match (0..keys.len())
                        .find_map(|at| WindowedFold::detect(pipeline, keys, accumulators, at))
                    {
                        Some(by_start) => Fold::WindowStartsKept(by_start),
                        None => PieceCount::detect(pipeline, keys, accumulators)
                            .map_or(Fold::Accumulate, Fold::PieceCount),
                    }
                }
            };
            if let Some(late) = late.as_mut() {
                late.rule = match &fold {
                    // Complete mode keeps and rewrites every group: Spark drops nothing there.
                    _ if !settings.forgets_closed_windows() => LateRule::None,
                    // The join below dropped its late rows already.
                    _ if late.joined && fold.expiring_window_key().is_none() => LateRule::None,
                    Fold::Expiring { .. } | Fold::WindowStarts(_) | Fold::Session { .. } => {
                        LateRule::WindowEnd
                    }
                    _ if plan.final_window_column().is_some() || plan.event_time_key().is_some() => {
                        LateRule::RowTime
                    }
                    _ => LateRule::None,
                };
            }
            Physical::Aggregate(Box::new(Aggregate {
                grouping,
                input,
                late,
                fold,
            }))
        }
    }
}

/// The fused aggregation over `join` (whose table broadcasts): every worker holds the table
/// and probes its own stream rows in it (Spark's broadcast hash join into a partial
/// aggregation).
fn table_aggregate<'p>(grouping: Grouping<'p>, on: JoinOn<'p>, settings: Settings) -> Physical<'p> {
    let left = on.left;
    // A source held in memory is read in place by the fused operator.
    let stream = match left {
        LogicalPlan::Source { id, source, .. } => match Delivery::of(source.as_ref()) {
            Delivery::Local(rows) => StreamSide::InPlace {
                id: *id,
                source: source.as_ref(),
                rows,
            },
            _ => StreamSide::Rows(plan_node(left, settings)),
        },
        _ => StreamSide::Rows(plan_node(left, settings)),
    };
    // A table read from files (under filters and projections) is read whole by every worker,
    // with nothing to broadcast; anything else is compiled as usual and broadcast.
    let (base, steps, pipeline) = peel(on.right);
    let (table, table_on_every_worker) = match base {
        LogicalPlan::Source { id, source, .. } if source.is_static() => match Delivery::of(source.as_ref()) {
            Delivery::Partitioned(reader) => {
                let read = Read::Items(reader, Readers::Every);
                let table = Physical::Source {
                    id: *id,
                    source: source.as_ref(),
                    read,
                };
                (with_steps(steps, pipeline, table), true)
            }
            _ => (plan_node(on.right, settings), false),
        },
        _ => (plan_node(on.right, settings), false),
    };
    let fold = match ColumnFold::detect(&grouping.pipeline, &grouping.keys, &grouping.accumulators) {
        None => TableFold::JoinedRows,
        Some(columns) => match GroupedByTable::detect(&on, &columns) {
            Some(grouped) => TableFold::GroupedByTable {
                grouped,
                columns,
                integer_key: integer_key(&on),
            },
            None => TableFold::Columns(columns),
        },
    };
    Physical::TableAggregate(Box::new(TableAggregate {
        grouping,
        on,
        stream,
        table,
        table_on_every_worker,
        fold,
    }))
}

/// Splits `plan` into the node below its topmost run of filters and projections, that run's
/// logical nodes (innermost first) and its pipeline.
fn peel(plan: &LogicalPlan) -> (&LogicalPlan, Vec<&LogicalPlan>, Pipeline) {
    let (base, pipeline) = Pipeline::peel(plan);
    let mut steps = Vec::new();
    let mut node = plan;
    while !std::ptr::eq(node, base) {
        steps.push(node);
        match node.inputs().first() {
            Some(input) => node = input,
            None => break,
        }
    }
    steps.reverse();
    (base, steps, pipeline)
}

/// `node` with the parts of `pipeline`'s first filters that read one side of an inner join
/// run on that side too, before the join (Spark's `PushPredicateThroughJoin`): a row they drop
/// could join only into rows the filter above drops, so the join keeps and matches fewer rows.
/// The filters stay above as well. A part that reads a side's watermarked column stays above
/// alone, as Spark keeps it above the side's watermark, whose event times it would change.
fn filters_into_join<'p>(node: Physical<'p>, pipeline: &Pipeline) -> Physical<'p> {
    let Physical::Join {
        on,
        strategy,
        left,
        right,
    } = node
    else {
        return node;
    };
    if on.kind != JoinKind::Inner {
        return Physical::Join {
            on,
            strategy,
            left,
            right,
        };
    }
    let width = on.left_width();
    let watermarked = |side: Option<&crate::plan::SideWatermark>| side.map(|w| w.column);
    let (left_time, right_time) = match on.event_time {
        Some(time) => (
            watermarked(time.left_watermark.as_ref()),
            watermarked(time.right_watermark.as_ref()),
        ),
        None => (None, None),
    };
    let left_column = |j: usize| (j < width && Some(j) != left_time).then_some(j);
    let right_column = |j: usize| {
        let k = *on.right_columns.get(j.checked_sub(width)?)?;
        (Some(k) != right_time).then_some(k)
    };
    let (mut on_left, mut on_right) = (Vec::new(), Vec::new());
    for part in pipeline
        .leading_filters()
        .into_iter()
        .flat_map(BoundExpr::conjuncts)
        .filter(|part| part.reads_columns())
    {
        if let Some(predicate) = part.over_columns(&left_column) {
            on_left.push(predicate);
        } else if let Some(predicate) = part.over_columns(&right_column) {
            on_right.push(predicate);
        }
    }
    let filtered = |side: Box<Physical<'p>>, predicates: Vec<BoundExpr>| {
        if predicates.is_empty() {
            return side;
        }
        Box::new(Physical::Rows {
            steps: Vec::new(),
            pipeline: Pipeline::filters(predicates),
            input: side,
        })
    };
    Physical::Join {
        on,
        strategy,
        left: filtered(left, on_left),
        right: filtered(right, on_right),
    }
}

/// `input` under the run of filters and projections `steps`, if there is one.
fn with_steps<'p>(steps: Vec<&'p LogicalPlan>, pipeline: Pipeline, input: Physical<'p>) -> Physical<'p> {
    if steps.is_empty() {
        return input;
    }
    Physical::Rows {
        steps,
        pipeline,
        input: Box::new(input),
    }
}

/// Whether a join with `right` under an aggregation broadcasts it into the fold: `right` is a
/// static table whose files are at most `threshold` bytes (Spark's
/// `spark.sql.autoBroadcastJoinThreshold`; `None`: never).
pub fn broadcasts(right: &LogicalPlan, threshold: Option<u64>) -> bool {
    right.is_static()
        && right
            .static_size_in_bytes()
            .zip(threshold)
            .is_some_and(|(size, threshold)| size <= threshold)
}

/// Whether a join is on one column that is a BIGINT on both sides: its table can then be keyed
/// by the integer itself, in entries a third smaller than those keyed by a value.
fn integer_key(on: &JoinOn<'_>) -> bool {
    let is_bigint = |plan: &LogicalPlan, keys: &[BoundExpr]| match keys {
        [BoundExpr::Column(i)] => plan
            .schema()
            .fields()
            .get(*i)
            .is_some_and(|f| f.data_type == DataType::Int64),
        _ => false,
    };
    is_bigint(on.left, on.left_keys) && is_bigint(on.right, on.right_keys)
}
