//! Compiling a [`LogicalPlan`] into a differential dataflow, once per worker.
//!
//! Every worker calls [`compile`] with the same plan and gets the same dataflow. Each source
//! becomes an `InputSession` (only the leader worker feeds them; see `runtime`); rows read by a
//! single reader are spread round-robin over the workers before any per-row work, and
//! aggregations exchange by key hash, so a group lives on exactly one worker.

mod aggregate;
mod describe;
mod join;
mod local_rows;
mod partitions;
mod pipeline;
mod table_aggregate;
mod upsert;

pub use describe::describe;
pub(crate) use local_rows::deal_shares;

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::input::{Input, InputSession};
use timely::dataflow::operators::Exchange;
use timely::dataflow::Scope;

use crate::connectors::{Source, SourceEvent};
use crate::data::{DataType, Row, Value};
use crate::expr::BoundExpr;
use crate::plan::{LogicalPlan, SourceId};

use partitions::compile_table;
pub(crate) use partitions::{read_partitions, Readers};
use pipeline::Pipeline;

/// A collection of rows at epoch timestamps; the diff is the multiplicity change.
pub type Rows<'s> = VecCollection<'s, u64, Row, isize>;

/// What reading partitioned sources reports back (see [`SourceEvent`]).
pub type Events<'s> = VecCollection<'s, u64, SourceEvent, isize>;

/// The inputs a compiled plan reads, one per source.
pub type Inputs = BTreeMap<SourceId, InputSession<u64, Row, isize>>;

/// What compiling a plan builds besides its output: the inputs to feed, and the events of
/// sources read inside the dataflow.
pub struct Compiled<'s> {
    /// The plan's sources in [`LogicalPlan::sources`] order (events name them by position).
    sources: Vec<(SourceId, Arc<dyn Source>)>,
    /// One input per source, fed by the leader.
    pub inputs: Inputs,
    /// Events of partitioned sources, one collection per such source.
    pub events: Vec<Events<'s>>,
    /// Whether windowed aggregations may forget the windows the watermark has closed: true
    /// unless the query writes whole results (complete mode).
    pub forget_closed_windows: bool,
    /// The largest static table (bytes on disk) that a join under an aggregation broadcasts to
    /// every worker, fused into the fold; `None`: never. Larger tables, and tables of unknown
    /// size, are hashed by key over the workers (a lookup join, then the aggregation).
    pub broadcast_threshold: Option<u64>,
}

impl<'s> Compiled<'s> {
    /// An empty context for `plan`.
    pub fn new(plan: &LogicalPlan) -> Self {
        Compiled {
            sources: plan.sources(),
            inputs: Inputs::new(),
            events: Vec::new(),
            forget_closed_windows: false,
            broadcast_threshold: None,
        }
    }

    /// The input of source `id`, fed by the leader: registered here, and its records (rows,
    /// or the work items of a source read inside the dataflow) in `scope`.
    pub(crate) fn new_input(&mut self, scope: Scope<'s, u64>, id: SourceId) -> Rows<'s> {
        let (session, records) = scope.new_collection::<Row, isize>();
        self.inputs.insert(id, session);
        records
    }

    /// The position of source `id` in the plan's source list, by which events name it.
    pub(crate) fn source_index(&self, id: SourceId) -> usize {
        self.sources.iter().position(|(s, _)| *s == id).unwrap_or(0)
    }
}

/// Builds `plan` in `scope`, creating an input for each source.
pub fn compile<'s>(plan: &LogicalPlan, scope: Scope<'s, u64>, compiled: &mut Compiled<'s>) -> Rows<'s> {
    match plan {
        LogicalPlan::Source { id, source, .. } => {
            let records = compiled.new_input(scope, *id);
            if let Some(rows) = source.local_rows() {
                return local_rows::read_local(records, rows, scope.peers());
            }
            match source.partition_reader() {
                None => spread(records, scope.peers()),
                Some(reader) => {
                    let index = compiled.source_index(*id);
                    let (rows, events) = read_partitions(records, reader, index, Readers::One);
                    compiled.events.push(events);
                    rows
                }
            }
        }
        LogicalPlan::Project { .. } | LogicalPlan::Filter { .. } => {
            let (base, pipeline) = Pipeline::peel(plan);
            pipeline.apply(compile(base, scope, compiled))
        }
        LogicalPlan::Join {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            right_columns,
            ..
        } => {
            let left_rows = compile(left, scope, compiled);
            let right_rows = compile(right, scope, compiled);
            join::join(
                left_rows,
                right_rows,
                *kind,
                left_keys.clone(),
                right_keys.clone(),
                right_columns.clone(),
                right.is_static(),
            )
        }
        // Rows pass unchanged; the aggregation above drops the late ones (see below).
        LogicalPlan::Watermark { input, .. } => compile(input, scope, compiled),
        LogicalPlan::Upsert { input, keys, .. } => upsert::upsert_table(input, keys.clone(), scope, compiled),
        LogicalPlan::Aggregate {
            input,
            keys,
            aggregations,
            ..
        } => {
            // The filters and projections under an aggregation run inside its local fold.
            let (base, pipeline) = Pipeline::peel(input);
            let accumulators = aggregations.iter().map(|a| a.accumulator.clone()).collect();
            // Over a join with a static table, every worker holds the table and folds what its
            // stream rows join with (Spark's broadcast hash join into a partial aggregation).
            if let LogicalPlan::Join {
                left,
                right,
                kind,
                left_keys,
                right_keys,
                right_columns,
                ..
            } = base
            {
                if input.is_append_only() && broadcasts(right, compiled.broadcast_threshold) {
                    let stream = compile_stream_rows(left, scope, compiled);
                    let (table, table_on_every_worker) = compile_table(right, scope, compiled);
                    let join = table_aggregate::TableJoinInput {
                        stream,
                        left_width: left.schema().len(),
                        table,
                        table_on_every_worker,
                        kind: *kind,
                        left_keys: left_keys.clone(),
                        right_keys: right_keys.clone(),
                        right_columns: right_columns.clone(),
                        integer_key: integer_key(left, left_keys, right, right_keys),
                    };
                    return table_aggregate::aggregate_over_table(join, pipeline, keys.clone(), accumulators);
                }
            }
            let (rows, watermark) = compile_dropping_late(base, scope, compiled);
            // Grouped by a window of the watermarked column, a window's state is forgotten once
            // the watermark passes its end; complete mode keeps every window, as in Spark.
            match (watermark, plan.final_window_column()) {
                (Some((maxima, delay)), Some(window_key))
                    if compiled.forget_closed_windows && input.is_append_only() =>
                {
                    aggregate::aggregate_expiring(
                        rows,
                        pipeline,
                        keys.clone(),
                        accumulators,
                        maxima,
                        delay,
                        window_key,
                    )
                }
                _ => aggregate::aggregate(rows, pipeline, keys.clone(), accumulators, input.is_append_only()),
            }
        }
    }
}

/// Whether a join is on one column that is a BIGINT on both sides.
fn integer_key(
    left: &LogicalPlan,
    left_keys: &[BoundExpr],
    right: &LogicalPlan,
    right_keys: &[BoundExpr],
) -> bool {
    let is_bigint = |plan: &LogicalPlan, keys: &[BoundExpr]| match keys {
        [BoundExpr::Column(i)] => plan
            .schema()
            .fields()
            .get(*i)
            .is_some_and(|f| f.data_type == DataType::Int64),
        _ => false,
    };
    is_bigint(left, left_keys) && is_bigint(right, right_keys)
}

/// Compiles the stream side of a fused operator: a source held in memory is read in place by
/// the operator; anything else is compiled into rows.
fn compile_stream_rows<'s>(
    plan: &LogicalPlan,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> local_rows::StreamRows<'s> {
    if let LogicalPlan::Source { id, source, .. } = plan {
        if let Some(rows) = source.local_rows() {
            let shares = compiled.new_input(scope, *id);
            return local_rows::in_place(shares, rows, scope.peers());
        }
    }
    local_rows::StreamRows {
        records: compile(plan, scope, compiled),
        rows_of: local_rows::RowsOf::Itself,
    }
}

/// Whether a join with `right` under an aggregation broadcasts it into the fold: `right` is a
/// static table whose files are at most `threshold` bytes (Spark's
/// `spark.sql.autoBroadcastJoinThreshold`; `None`: never).
pub(crate) fn broadcasts(right: &LogicalPlan, threshold: Option<u64>) -> bool {
    right.is_static()
        && right
            .static_size_in_bytes()
            .zip(threshold)
            .is_some_and(|(size, threshold)| size <= threshold)
}

/// Every worker's greatest event time per epoch, and the watermark's delay.
type Watermarked<'s> = (VecCollection<'s, u64, i64, isize>, i64);

/// Builds the input of an aggregation. Under a watermark, rows at or below the watermark of
/// their epoch are dropped (a stateful operator ignores late data, as in Spark), and each
/// epoch's greatest event time goes to worker 0, which reports the watermark and decides when
/// windows are final.
/// Returns the rows, and under a watermark also every worker's greatest event time per epoch
/// with the watermark's delay.
fn compile_dropping_late<'s>(
    plan: &LogicalPlan,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> (Rows<'s>, Option<Watermarked<'s>>) {
    let LogicalPlan::Watermark {
        input,
        column,
        delay_micros,
        ..
    } = plan
    else {
        return (compile(plan, scope, compiled), None);
    };
    let column = *column;
    let rows = compile(input, scope, compiled);
    let (on_time, maxima) =
        tidewater_operators::drop_late(rows, *delay_micros, move |row: &Row| match row.get(column) {
            Some(Value::Timestamp(t)) => Some(*t),
            _ => None,
        });
    compiled
        .events
        .push(maxima.clone().map(|micros| SourceEvent::MaxEventTime { micros }));
    (on_time, Some((maxima, *delay_micros)))
}

/// Spreads records fed at one worker round-robin over all workers, so that parsing, splitting
/// and pre-aggregation run in parallel. Free with one worker (no exchange is built).
pub(crate) fn spread<'s, D: differential_dataflow::ExchangeData>(
    rows: VecCollection<'s, u64, D, isize>,
    peers: usize,
) -> VecCollection<'s, u64, D, isize> {
    if peers <= 1 {
        return rows;
    }
    let mut next = 0u64;
    rows.inner
        .exchange(move |_| {
            next = next.wrapping_add(1);
            next
        })
        .as_collection()
}
