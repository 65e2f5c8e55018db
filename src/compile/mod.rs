//! Compiling a [`LogicalPlan`] into a differential dataflow, once per worker.
//!
//! Every worker calls [`compile`] with the same plan and gets the same dataflow. Each source
//! becomes an `InputSession` (only the leader worker feeds them; see `runtime`); rows read by a
//! single reader are spread round-robin over the workers before any per-row work, and
//! aggregations exchange by key hash, so a group lives on exactly one worker.
//!
//! Which operator runs each part of the plan is chosen once, in [`physical`]; compilation
//! builds what it chose and [`explain`] prints it.

mod aggregate;
mod dedup;
mod describe;
mod durable;
mod join;
mod local_rows;
mod partitions;
pub(crate) mod physical;
mod pipeline;
mod stateful;
mod stream_join;
mod table_aggregate;
mod upsert;
mod window_fold;

#[cfg(test)]
pub(crate) use describe::described_strategies;
pub use describe::explain;
pub(crate) use durable::{compact as compact_state, restore as restore_state, DurableState};
pub(crate) use local_rows::deal_shares;
pub use physical::{Delivery, JoinStateFormat, Settings, Strategy};
pub(crate) use pipeline::Pipeline;
pub(crate) use stateful::{wall_clock_ms, BatchTimes};

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::input::{Input, InputSession};
use tidewater_operators::Changes;
use timely::dataflow::operators::Exchange;
use timely::dataflow::Scope;

use crate::connectors::{OperatorFigures, Source, SourceEvent, StateHeld};
use crate::data::{Row, Value};
use crate::plan::{JoinEventTime, LogicalPlan, SourceId};

pub(crate) use partitions::{read_partitions, Readers};
use physical::{Aggregate, Fold, LateRule, Physical, Read, StreamSide, TableAggregate, TableFold};

/// A collection of rows at epoch timestamps; the diff is the multiplicity change.
pub type Rows<'s> = VecCollection<'s, u64, Row, isize>;

/// Each worker's greatest event time per epoch, `(max, epoch, +1)`: what watermarks are
/// computed from.
type Maxima<'s> = VecCollection<'s, u64, i64, isize>;

/// What reading partitioned sources reports back (see [`SourceEvent`]).
pub type Events<'s> = VecCollection<'s, u64, SourceEvent, isize>;

/// The inputs a compiled plan reads, one per source.
pub type Inputs = BTreeMap<SourceId, InputSession<u64, Row, isize>>;

/// What compiling a plan builds besides its output: the inputs to feed, the events of sources
/// read inside the dataflow, and the strategies it built.
pub struct Compiled<'s> {
    /// The plan's sources in [`LogicalPlan::sources`] order (events name them by position).
    sources: Vec<(SourceId, Arc<dyn Source>)>,
    /// What the choice of operators depends on besides the plan.
    settings: Settings,
    /// One input per source, fed by the leader.
    pub inputs: Inputs,
    /// Events of partitioned sources, one collection per such source.
    pub events: Vec<Events<'s>>,
    /// The strategies built, inputs before what reads them: the order in which `explain`
    /// names them (see [`physical`]).
    pub strategies: Vec<Strategy>,
    /// Where stateful operators keep their state, when the query has a checkpoint.
    pub(crate) durable: Option<Arc<DurableState>>,
    /// Each epoch's batch time, as the leader decided it (the wall clock when absent).
    pub(crate) batch_times: Option<Arc<BatchTimes>>,
    /// State slots built so far (their numbers in the checkpoint).
    durable_slots: usize,
    /// True while the inputs of a stateful operator are built: state restored there must come
    /// out, for the operator above to rebuild from it.
    feeds_state: bool,
    /// The rows of each source built so far: a source read twice in a plan (the two sides of
    /// a union of one stream) is one input, read once.
    source_rows: BTreeMap<SourceId, Rows<'s>>,
    /// The delay the leader's watermark is computed with (the plan's first watermark's).
    watermark_delay: Option<i64>,
    /// The watermark of the last join of two streams built, as event-time maxima with delay
    /// `watermark_delay`: an aggregation right above it closes its windows by it.
    /// `true` when it reaches the aggregation an epoch later (a join's does; a stateful
    /// function's input watermark does not).
    join_watermark: Option<(VecCollection<'s, u64, i64, isize>, bool)>,
    /// The stateful operators built so far, in build order: their numbers in the events
    /// they report and their places in progress reports' `stateOperators`.
    pub state_operators: Vec<StateOperatorInfo>,
    /// True while the input of an aggregation that takes the watermark of a join of two
    /// streams right below it is built: that join reports its output watermark.
    join_feeds_aggregation: bool,
    /// Whether the dataflow's output is final rows only, each written once (an append-mode
    /// aggregation that emits the windows its watermark closes): the output mode then
    /// holds nothing back.
    pub final_rows: bool,
    /// How many of the stateful operators emit insertions alone (update mode's new rows, no
    /// retraction): when every one does and nothing stateful is above them, the dataflow's
    /// output holds no retraction, and a sink may take each worker's rows where they are.
    pub(crate) insertions_only_operators: usize,
    /// Set before the build when the sink takes each worker's rows where they are computed in
    /// update mode (see `runtime::dataflow::parts_written_by_workers`): an aggregation whose
    /// insertions are the output then leaves them on their workers instead of gathering them
    /// to worker 0. Whether the sink does take them is decided after the build; if not, the
    /// output's own exchange brings them to worker 0, unsorted.
    pub(crate) output_where_computed: bool,
    /// The streams whose updates of each time reach worker 0 as one run, sorted by row and
    /// consolidated (an aggregation's sorted gather, maybe filtered): the leader need not
    /// check or sort them again.
    sorted_streams: Vec<timely::progress::Source>,
}

impl<'s> Compiled<'s> {
    /// An empty context for `plan`, whose operators are chosen under `settings`.
    pub fn new(plan: &LogicalPlan, settings: Settings) -> Self {
        Compiled {
            sources: plan.sources(),
            settings,
            inputs: Inputs::new(),
            events: Vec::new(),
            strategies: Vec::new(),
            durable: None,
            batch_times: None,
            durable_slots: 0,
            feeds_state: false,
            source_rows: BTreeMap::new(),
            watermark_delay: plan.watermark_delay(),
            join_watermark: None,
            state_operators: Vec::new(),
            join_feeds_aggregation: false,
            final_rows: false,
            insertions_only_operators: 0,
            output_where_computed: false,
            sorted_streams: Vec::new(),
        }
    }

    /// Whether each time's updates of `rows` reach worker 0 as one run, sorted by row and
    /// consolidated (see [`Compiled::sorted_streams`]).
    pub fn is_sorted(&self, rows: &Rows<'s>) -> bool {
        self.sorted_streams.contains(rows.inner.name())
    }

    /// Notes that `rows` comes from an aggregation's sorted gather (see [`Compiled::is_sorted`]).
    fn note_sorted(&mut self, rows: Rows<'s>) -> Rows<'s> {
        self.sorted_streams.push(*rows.inner.name());
        rows
    }

    /// Each worker's greatest event time per epoch of `rows` (`event_time`), from which the
    /// watermark is computed, and, as an event for the progress report, the epoch's
    /// event-time statistics there (Spark's `eventTime`, taken where the watermark is declared).
    /// `rows` come back beside the maxima, passed on uncopied, for what reads them next.
    fn event_time_maxima<D, F>(
        &mut self,
        rows: VecCollection<'s, u64, D, isize>,
        event_time: F,
    ) -> (VecCollection<'s, u64, D, isize>, Maxima<'s>)
    where
        D: differential_dataflow::ExchangeData,
        F: Fn(&D) -> Option<i64> + 'static,
    {
        let (rows, stats) = tidewater_operators::event_time_stats(rows, event_time);
        self.events
            .push(stats.clone().map(|stats| SourceEvent::EventTimeStats { stats }));
        (rows, stats.map(|stats| stats.max))
    }

    /// For a stateful operator's input under a watermark (`watermarked`): its maxima as
    /// [`event_time_maxima`](Self::event_time_maxima) takes them, also reported to the leader as
    /// each epoch's greatest event time, with the rows passed on. Without a watermark, the rows
    /// as they are and no maxima.
    fn reported_maxima<D, F>(
        &mut self,
        rows: VecCollection<'s, u64, D, isize>,
        watermarked: bool,
        event_time: F,
    ) -> (VecCollection<'s, u64, D, isize>, Option<Maxima<'s>>)
    where
        D: differential_dataflow::ExchangeData,
        F: Fn(&D) -> Option<i64> + 'static,
    {
        if !watermarked {
            return (rows, None);
        }
        let (rows, maxima) = self.event_time_maxima(rows, event_time);
        self.events
            .push(maxima.clone().map(|micros| SourceEvent::MaxEventTime { micros }));
        (rows, Some(maxima))
    }

    /// The greatest event times of epochs before this run, from the checkpoint.
    fn seen_maxima(&self) -> Vec<(i64, u64)> {
        self.durable
            .as_ref()
            .map(|d| d.seen_maxima.clone())
            .unwrap_or_default()
    }

    /// Each epoch's batch time in milliseconds, the same on every worker of the leader's
    /// process.
    fn batch_time(&self) -> Arc<dyn Fn(u64) -> i64 + Send + Sync> {
        match self.batch_times.clone() {
            Some(times) => Arc::new(move |epoch| times.of(epoch)),
            None => Arc::new(|_| stateful::wall_clock_ms()),
        }
    }

    /// The next state slot's durable wiring, if the query keeps its state.
    fn durable<K, S>(
        &mut self,
        scope: Scope<'s, u64>,
        pick: impl FnOnce(durable::Restored) -> Option<Vec<(K, S)>>,
    ) -> Option<tidewater_operators::Durable<'s, u64, K, S>>
    where
        K: timely::ExchangeData + serde::Serialize,
        S: timely::ExchangeData + serde::Serialize + serde::de::DeserializeOwned,
    {
        let state = self.durable.clone()?;
        let operator = self.durable_slots;
        self.durable_slots += 1;
        // Update mode writes changes only: the restored result itself need not come out,
        // unless a stateful operator above rebuilds from it.
        let quiet = self.settings.output_mode == crate::plan::OutputMode::Update && !self.feeds_state;
        Some(state.operator(scope, operator, pick, quiet))
    }

    /// What an aggregation must emit of a key whose result changes. Update mode writes the new
    /// rows alone, so the retractions of the old ones are not needed, unless a stateful
    /// operator above keeps the result (the rows above an aggregation that is no stateful
    /// operator's input are mapped and filtered one by one, and written as they come, as
    /// Spark writes what its state store updated).
    fn changes_needed(&self) -> Changes {
        if self.settings.output_mode == crate::plan::OutputMode::Update && !self.feeds_state {
            Changes::Insertions
        } else {
            Changes::Both
        }
    }

    /// What the aggregation being built emits ([`changes_needed`](Self::changes_needed)),
    /// noted when it is insertions alone (see `insertions_only_operators`).
    fn emitting(&mut self) -> Changes {
        let changes = self.changes_needed();
        if changes == Changes::Insertions {
            self.insertions_only_operators += 1;
        }
        changes
    }

    /// As [`emitting`](Self::emitting), with whether the aggregation gathers its output to
    /// worker 0: all do, but the one whose insertions are the output, when that stays where
    /// it is computed.
    fn emitting_gathered(&mut self) -> (Changes, bool) {
        let changes = self.emitting();
        let gathered = !(self.output_where_computed && changes == Changes::Insertions);
        (changes, gathered)
    }

    /// Notes that stateful operator `operator` counts the keys it holds itself, in `figures`,
    /// and reports them as its events: its output may not tell them (insertions alone, or
    /// closed windows alone), or not all of them (a filter above).
    fn counted_by_itself(&mut self, operator: usize, figures: aggregate::Figures<'s>) {
        self.state_operators[operator].counts_itself = true;
        self.events.push(figures.map(move |f| SourceEvent::StateOperator {
            operator,
            figures: OperatorFigures {
                held: StateHeld::Change(f.added as i64 - f.removed as i64),
                updated: f.updated,
                removed: f.removed,
                dropped_by_watermark: 0,
            },
        }));
    }

    /// Builds `node`, the input of a stateful operator.
    fn build_state_input(&mut self, node: Physical<'_>, scope: Scope<'s, u64>) -> Rows<'s> {
        self.with_state_input(|compiled| build(node, scope, compiled))
    }

    /// Runs `build`, which builds the input of a stateful operator.
    fn with_state_input<T>(&mut self, build: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::replace(&mut self.feeds_state, true);
        let built = build(self);
        self.feeds_state = outer;
        built
    }

    /// A side of an arranged join, whose arrangement is its state: logged as it changes and
    /// restored from the log unless it is `rebuilt` from restored state below it (see
    /// [`durable::is_rebuilt`]). Either way the side takes its state slot.
    fn kept_join_side(&mut self, rows: Rows<'s>, rebuilt: bool) -> Rows<'s> {
        let Some(durable) = self.durable(rows.scope(), |restored| match restored {
            durable::Restored::Collection(entries) => Some(entries),
            _ => None,
        }) else {
            return rows;
        };
        match durable.restored {
            Some(restored) if !rebuilt => {
                tidewater_operators::logged_collection(rows, restored, durable.log, durable.first_new)
            }
            _ => rows,
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

    /// Registers a stateful operator named `name` (Spark's `operatorName`) whose state entries
    /// hold `values` values each, and returns its number.
    fn state_operator(&mut self, name: &'static str, values: usize) -> usize {
        self.state_operators.push(StateOperatorInfo {
            name,
            entry_bytes: estimated_entry_bytes(values),
            counts_itself: name != "aggregate",
        });
        self.state_operators.len() - 1
    }

    /// Notes that `strategy` was built.
    fn built(&mut self, strategy: Strategy) {
        self.strategies.push(strategy);
    }
}

/// A stateful operator of a compiled plan, as progress reports name and size it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateOperatorInfo {
    /// Spark's `operatorName`: `aggregate`, `symmetricHashJoin`, `dedupe`, ...
    pub name: &'static str,
    /// The estimated bytes one entry of its state takes (see [`estimated_entry_bytes`]).
    pub entry_bytes: u64,
    /// Whether the operator reports the rows it holds and updates itself. An aggregation
    /// that emits every change does not: the driver counts its rows from its output. One
    /// that emits only closed windows (append mode) does, as its output no longer tells.
    pub counts_itself: bool,
}

/// Bookkeeping of one entry in a hash table or a sorted map beyond the entry itself (its
/// hash or node share, and the table's spare capacity, taken as a quarter of a 32-byte slot).
const ENTRY_OVERHEAD: u64 = 24;

/// The estimated bytes of one state entry of `values` values: a [`Row`] (whose first four
/// values live inline), the values past those on the heap, and [`ENTRY_OVERHEAD`]. A lower
/// bound by design: strings longer than a value holds inline (23 bytes), arrays, a stateful
/// function's own state object and the allocator's rounding are not counted, and no entry is
/// walked to find them, so `memoryUsedBytes` costs the driver one multiplication per
/// operator and epoch, never a pass over the state.
pub fn estimated_entry_bytes(values: usize) -> u64 {
    let inline = std::mem::size_of::<Row>();
    let spilled = if values > 4 {
        values * std::mem::size_of::<Value>()
    } else {
        0
    };
    (inline + spilled) as u64 + ENTRY_OVERHEAD
}

/// Builds `plan` in `scope`, creating an input for each source, with the operators its
/// physical plan chooses under the settings of `compiled`.
pub fn compile<'s>(plan: &LogicalPlan, scope: Scope<'s, u64>, compiled: &mut Compiled<'s>) -> Rows<'s> {
    let physical = physical::plan(plan, compiled.settings);
    build(physical, scope, compiled)
}

/// Builds the operators `node` names.
fn build<'s>(node: Physical<'_>, scope: Scope<'s, u64>, compiled: &mut Compiled<'s>) -> Rows<'s> {
    match node {
        Physical::Source { id, read, .. } => {
            compiled.built(read.strategy());
            if let Some(rows) = compiled.source_rows.get(&id) {
                return rows.clone();
            }
            let records = compiled.new_input(scope, id);
            let rows = match read {
                Read::Spread => spread(records, scope.peers()),
                Read::Items(reader, readers) => {
                    let index = compiled.source_index(id);
                    let (rows, events) = read_partitions(records, reader, index, readers);
                    compiled.events.push(events);
                    rows
                }
                Read::Shares(rows) => local_rows::read_local(records, rows, scope.peers()),
            };
            compiled.source_rows.insert(id, rows.clone());
            rows
        }
        Physical::Rows { pipeline, input, .. } => {
            let input = build(*input, scope, compiled);
            // Filters keep a sorted, consolidated run so; a projection may not.
            let keeps_sorted = compiled.is_sorted(&input) && pipeline.only_filters();
            let rows = pipeline.apply(input);
            if keeps_sorted {
                compiled.note_sorted(rows)
            } else {
                rows
            }
        }
        // Rows pass unchanged; an aggregation right above drops the late ones (see below).
        Physical::Watermark { input, .. } => build(*input, scope, compiled),
        Physical::Join {
            on,
            strategy,
            left,
            right,
        } => {
            // A hash join of two streams that only insert is the symmetric hash join's
            // operator without a watermark: it drops nothing and forgets nothing.
            let event_time = match strategy {
                Strategy::AppendHashJoin => Some(on.event_time.unwrap_or(&JoinEventTime::NONE)),
                _ => on.event_time,
            };
            if let (Strategy::SymmetricHashJoin | Strategy::AppendHashJoin, Some(event_time)) =
                (strategy, event_time)
            {
                let left = compiled.build_state_input(*left, scope);
                let right = compiled.build_state_input(*right, scope);
                compiled.built(strategy);
                let join = stream_join::StreamJoin {
                    kind: on.kind,
                    left_keys: on.left_keys.to_vec(),
                    right_keys: on.right_keys.to_vec(),
                    columns: on.joined_columns(),
                    left_width: on.left_width(),
                    right_width: on.right.schema().len(),
                    event_time,
                };
                return stream_join::build(join, left, right, compiled);
            }
            let arranged = strategy != Strategy::LookupJoin;
            let (left, right) = if arranged {
                (
                    compiled.build_state_input(*left, scope),
                    compiled.build_state_input(*right, scope),
                )
            } else {
                (build(*left, scope, compiled), build(*right, scope, compiled))
            };
            let (kind, left_keys, right_keys, right_columns) = (
                on.kind,
                on.left_keys.to_vec(),
                on.right_keys.to_vec(),
                on.right_columns.to_vec(),
            );
            if strategy == Strategy::LookupJoin {
                compiled.built(Strategy::LookupJoin);
                // The table keeps only the columns read above the join.
                let columns = (on.joined_columns(), on.left_width());
                return join::lookup(left, right, kind, (left_keys, right_keys), right_columns, columns);
            }
            compiled.built(Strategy::ArrangedJoin);
            // Each side is logged whole, and narrowed after: a checkpoint holds the same rows
            // whichever columns the query reads.
            let format = compiled.settings.join_state_format;
            let left = compiled.kept_join_side(left, durable::is_rebuilt(on.left, format));
            let right = compiled.kept_join_side(right, durable::is_rebuilt(on.right, format));
            let columns = on.joined_columns();
            join::arranged(left, right, kind, left_keys, right_keys, columns)
        }
        Physical::Upsert { keys, input } => upsert::upsert_table(*input, keys, scope, compiled),
        Physical::Deduplicate {
            keys,
            remember,
            event_time,
            input,
        } => dedup::deduplicate(*input, keys, remember, event_time, scope, compiled),
        Physical::GroupsWithState {
            keys,
            function,
            timeout,
            event_time,
            input,
        } => stateful::groups_with_state(*input, keys, function, timeout, event_time, scope, compiled),
        Physical::Aggregate(aggregate) => build_aggregate(*aggregate, scope, compiled),
        Physical::TableAggregate(aggregate) => build_table_aggregate(*aggregate, scope, compiled),
        Physical::Union(inputs) => {
            let built: Vec<Rows<'s>> = inputs
                .into_iter()
                .map(|input| build(input, scope, compiled))
                .collect();
            differential_dataflow::collection::concatenate(scope, built)
        }
    }
}

/// Builds an aggregation with the fold its physical plan chose. Under a watermark, rows at or
/// below the watermark of their epoch are dropped first (a stateful operator ignores late data,
/// as in Spark), and each epoch's greatest event time goes to worker 0, which reports the
/// watermark and decides when windows are final.
fn build_aggregate<'s>(
    aggregate: Aggregate<'_>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    let Aggregate {
        grouping,
        input,
        late,
        fold,
    } = aggregate;
    let joined = late.as_ref().is_some_and(|l| l.joined);
    // Whether the watermark handed over from below reaches this fold an epoch later.
    let mut watermark_later = false;
    compiled.join_feeds_aggregation = joined;
    let rows = compiled.build_state_input(input, scope);
    compiled.join_feeds_aggregation = false;
    let (rows, watermark) = match late {
        None => (rows, None),
        Some(late) => {
            let column = late.column;
            let event_time = move |row: &Row| match row.get(column) {
                Some(Value::Timestamp(t)) => Some(*t),
                _ => None,
            };
            if late.joined {
                // The join below computed the watermark, reported it, and dropped late rows.
                compiled.built(Strategy::WatermarkTracked);
                let (watermark, later) = match compiled.join_watermark.take() {
                    Some((maxima, later)) => (Some((maxima, late.delay_micros)), later),
                    None => (None, false),
                };
                watermark_later = later;
                (rows, watermark)
            } else {
                let (rows, maxima) = if late.rule == LateRule::RowTime {
                    let seen = compiled.seen_maxima();
                    compiled.built(Strategy::LateRowsDropped);
                    let (rows, maxima) = compiled.event_time_maxima(rows, event_time);
                    let on_time = tidewater_operators::drop_late_given(
                        rows,
                        &maxima,
                        late.delay_micros,
                        event_time,
                        seen,
                    );
                    (on_time, maxima)
                } else {
                    // Spark drops no row by its own time here: a windowed fold drops the
                    // windows the watermark closed, and complete mode nothing.
                    compiled.built(Strategy::WatermarkTracked);
                    compiled.event_time_maxima(rows, event_time)
                };
                compiled
                    .events
                    .push(maxima.clone().map(|micros| SourceEvent::MaxEventTime { micros }));
                (rows, Some((maxima, late.delay_micros)))
            }
        }
    };
    let (pipeline, keys, accumulators) = (grouping.pipeline, grouping.keys, grouping.accumulators);
    let operator = compiled.state_operator("aggregate", keys.len() + accumulators.len());
    let dropped_event = move |rows: u64| SourceEvent::StateOperator {
        operator,
        figures: OperatorFigures {
            dropped_by_watermark: rows,
            ..OperatorFigures::default()
        },
    };
    match (fold, watermark) {
        (fold @ (Fold::Expiring { .. } | Fold::WindowStarts(_)), Some((maxima, delay))) => {
            compiled.built(fold.strategy());
            let window_key = fold.expiring_window_key().unwrap_or(0);
            let mut seen = compiled.seen_maxima();
            if watermark_later {
                // The join's watermark reaches the aggregation an epoch later (see
                // `stream_join`): so do the ones an earlier run saw.
                seen.iter_mut().for_each(|(_, epoch)| *epoch += 1);
            }
            // Windows the watermark had closed before the stop are left out of what is
            // restored (see `durable::restore`).
            // In append mode the sink writes each window once, when the watermark closes it:
            // the aggregation then emits just that, unless a stateful operator above needs
            // every change, or its watermark lags the leader's by an epoch (a join's does),
            // which would move the epoch a window is written in.
            // In update mode, the new rows alone (see `changes_needed`).
            let (emit, gathered) = if compiled.settings.output_mode == crate::plan::OutputMode::Append
                && !compiled.feeds_state
                && !watermark_later
            {
                (tidewater_operators::Emit::Closed, true)
            } else {
                match compiled.emitting_gathered() {
                    (Changes::Insertions, gathered) => (tidewater_operators::Emit::Insertions, gathered),
                    (Changes::Both, _) => (tidewater_operators::Emit::Changes, true),
                }
            };
            let mut durable = compiled.durable(rows.scope(), |restored| match restored {
                durable::Restored::Rows(entries) => Some(entries),
                _ => None,
            });
            if emit == tidewater_operators::Emit::Closed {
                // Restored windows are open (the closed ones are not restored): nothing of
                // them is written until the watermark closes them.
                if let Some(durable) = durable.as_mut() {
                    durable.quiet_restore = true;
                }
                compiled.final_rows = true;
            }
            let expiry = aggregate::Expiring {
                maxima,
                delay,
                window_key,
                seen,
                emit,
                gathered,
            };
            let (rows, dropped, figures) = match fold {
                Fold::WindowStarts(by_start) => by_start.aggregate(rows, expiry, durable),
                _ => aggregate::aggregate_expiring(rows, pipeline, keys, accumulators, expiry, durable),
            };
            compiled.events.push(dropped.map(dropped_event));
            if emit != tidewater_operators::Emit::Changes {
                compiled.counted_by_itself(operator, figures);
            }
            rows
        }
        (Fold::PieceCount(count), _) => {
            compiled.built(Strategy::PieceCount);
            let durable = compiled.durable(rows.scope(), |restored| match restored {
                durable::Restored::Pieces(entries) => Some(entries),
                _ => None,
            });
            let (changes, gathered) = compiled.emitting_gathered();
            let (counted, figures) = count.aggregate(rows, durable, (changes, gathered));
            compiled.counted_by_itself(operator, figures);
            if gathered {
                compiled.note_sorted(counted)
            } else {
                counted
            }
        }
        (Fold::Session { window_key }, watermark) => {
            compiled.built(Strategy::SessionFold);
            let forget = compiled.settings.output_mode != crate::plan::OutputMode::Complete;
            let seen = compiled.seen_maxima();
            let watermark = watermark.map(|(maxima, delay)| tidewater_operators::SessionWatermark {
                maxima,
                delay,
                seen,
                forget,
            });
            let durable = compiled
                .durable(rows.scope(), |restored| match restored {
                    durable::Restored::Sessions(entries) => Some(entries),
                    _ => None,
                })
                .and_then(|d| {
                    Some(tidewater_operators::SessionLog {
                        restored: d.restored?,
                        log: d.log,
                        first_new: d.first_new,
                    })
                });
            let (rows, dropped) = aggregate::aggregate_sessions(
                rows,
                pipeline,
                keys,
                accumulators,
                window_key,
                watermark,
                durable,
            );
            compiled.events.push(dropped.map(dropped_event));
            rows
        }
        (Fold::Reduce, _) => {
            compiled.built(Strategy::Reduce);
            aggregate::retractable(rows, pipeline, keys, accumulators)
        }
        // An expiring fold without a watermark is not planned; it would fold without expiry.
        (
            fold @ (Fold::Accumulate
            | Fold::Expiring { .. }
            | Fold::WindowStarts(_)
            | Fold::WindowStartsKept(_)),
            _,
        ) => {
            let durable = compiled.durable(rows.scope(), |restored| match restored {
                durable::Restored::Rows(entries) => Some(entries),
                _ => None,
            });
            let emitted = compiled.emitting_gathered();
            let gathered = emitted.1;
            let (folded, figures, sorted) = match fold {
                Fold::WindowStartsKept(by_start) => {
                    compiled.built(Strategy::WindowStartKeptFold);
                    let sorted = by_start.keeps_row_order() && gathered;
                    let (folded, figures) = by_start.aggregate_kept(rows, durable, emitted);
                    (folded, figures, sorted)
                }
                _ => {
                    compiled.built(Strategy::AppendOnlyFold);
                    let (folded, figures) = aggregate::RowFold::new(pipeline, keys, accumulators)
                        .aggregate(rows, durable, emitted);
                    (folded, figures, gathered)
                }
            };
            compiled.counted_by_itself(operator, figures);
            if sorted {
                compiled.note_sorted(folded)
            } else {
                folded
            }
        }
    }
}

/// Builds an aggregation over a stream's join with a table broadcast into its fold (see
/// [`table_aggregate`]).
fn build_table_aggregate<'s>(
    aggregate: TableAggregate<'_>,
    scope: Scope<'s, u64>,
    compiled: &mut Compiled<'s>,
) -> Rows<'s> {
    let TableAggregate {
        grouping,
        on,
        stream,
        table,
        table_on_every_worker,
        fold,
    } = aggregate;
    let stream = match stream {
        StreamSide::InPlace { id, rows, .. } => {
            let shares = compiled.new_input(scope, id);
            compiled.built(Strategy::LocalRowsInPlace);
            local_rows::in_place(shares, rows, scope.peers())
        }
        StreamSide::Rows(node) => local_rows::StreamRows {
            records: compiled.build_state_input(node, scope),
            rows_of: local_rows::RowsOf::Itself,
        },
    };
    let table = build(table, scope, compiled);
    compiled.built(Strategy::BroadcastJoin);
    let join = table_aggregate::TableJoinInput {
        stream,
        left_width: on.left_width(),
        table,
        table_on_every_worker,
        kind: on.kind,
        left_keys: on.left_keys.to_vec(),
        right_keys: on.right_keys.to_vec(),
        right_columns: on.right_columns.to_vec(),
    };
    compiled.built(fold.strategy());
    let operator = compiled.state_operator("aggregate", grouping.keys.len() + grouping.accumulators.len());
    let durable = compiled.durable(scope, |restored| match restored {
        durable::Restored::Rows(entries) => Some(entries),
        _ => None,
    });
    // The table is read as of each stream row's epoch, and a change to it corrects no result
    // already written: in update mode the insertions alone will do, as for any append-only fold.
    let changes = compiled.emitting();
    let (rows, figures) = match fold {
        TableFold::GroupedByTable {
            grouped,
            columns,
            integer_key,
        } => table_aggregate::aggregate_grouped(join, grouped, columns, integer_key, durable, changes),
        TableFold::Columns(columns) => table_aggregate::aggregate_columns(join, columns, durable, changes),
        TableFold::JoinedRows => table_aggregate::fold_joined_rows(
            join,
            grouping.pipeline,
            grouping.keys,
            grouping.accumulators,
            durable,
            changes,
        ),
    };
    compiled.counted_by_itself(operator, figures);
    rows
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
