//! The text of `explain`: the logical plan, each aggregation noted with how it folds, and the
//! operators every worker runs, read off the same physical plan that compilation builds (see
//! [`physical`]), so that it names what runs.

use super::physical::{
    self, broadcasts, Grouping, JoinOn, LateRule, Physical, Settings, Strategy, StreamSide, TableAggregate,
};
use crate::connectors::Source;
use crate::plan::{JoinKind, LogicalPlan, OutputMode};

/// The logical plan and the dataflow every worker runs for it under `settings`, as `explain`
/// prints them (Spark's `explain()`; `tidewater explain` adds each query's title, output mode
/// and trigger).
pub fn explain(plan: &LogicalPlan, settings: Settings) -> String {
    // The plan as a started query runs it: its sources read only the columns it uses.
    let pruned = std::sync::Arc::new(plan.clone()).reading_only_what_it_reads();
    let plan = &*pruned;
    let physical = physical::plan(plan, settings);
    let mut dataflow = Dataflow::of(&physical, settings);
    dataflow.finish(plan);
    let note = |node: &LogicalPlan| dataflow.note(node);
    format!(
        "== Logical plan ==\n{}\n== Dataflow (every worker) ==\n{}",
        plan.display_with(&note),
        dataflow.text()
    )
}

/// The strategies that [`explain`] names for `plan`, in the order it names them: the order in
/// which compilation builds them.
#[cfg(test)]
pub(crate) fn described_strategies(plan: &LogicalPlan, settings: Settings) -> Vec<Strategy> {
    strategies_of(&physical::plan(plan, settings), settings)
}

/// The strategies that [`explain`] names for the physical plan `physical`, in the order it
/// names them: the order in which compilation builds them.
pub(crate) fn strategies_of(physical: &Physical<'_>, settings: Settings) -> Vec<Strategy> {
    Dataflow::of(physical, settings).strategies
}

/// The description of a physical plan.
struct Dataflow<'p> {
    settings: Settings,
    lines: Vec<String>,
    /// The strategies described, in order.
    strategies: Vec<Strategy>,
    /// How each aggregation folds, for the logical plan's text.
    notes: Vec<(&'p LogicalPlan, &'static str)>,
}

impl<'p> Dataflow<'p> {
    fn of(physical: &Physical<'p>, settings: Settings) -> Self {
        let mut dataflow = Dataflow {
            settings,
            lines: Vec::new(),
            strategies: Vec::new(),
            notes: Vec::new(),
        };
        dataflow.walk(physical);
        dataflow
            .line("exchange: every output change to worker 0 -> probe -> sink (once per epoch, in order)");
        dataflow
    }

    /// The lines, numbered.
    fn text(&self) -> String {
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{:>2}. {l}\n", i + 1))
            .collect()
    }

    /// How the aggregation `node` folds, if it is one.
    fn note(&self, node: &LogicalPlan) -> Option<&'static str> {
        self.notes
            .iter()
            .find(|(aggregation, _)| std::ptr::eq(*aggregation, node))
            .map(|(_, note)| *note)
    }

    /// The lines of the steps that run on worker 0 on each epoch's shaped rows (see
    /// [`LogicalPlan::dataflow_part`]).
    fn finish(&mut self, plan: &LogicalPlan) {
        let append = self.settings.output_mode == crate::plan::OutputMode::Append;
        for step in plan.finish_steps_for(self.settings.output_mode) {
            let line = match step {
                LogicalPlan::Sort { order, .. } => {
                    let keys: Vec<String> = order.iter().map(|o| o.sql_text()).collect();
                    format!(
                        "sort: [{}] (stable; ties in the result's row order)",
                        keys.join(", ")
                    )
                }
                LogicalPlan::Limit { n, .. } if append => {
                    format!("limit: the first {n} rows written over all epochs")
                }
                LogicalPlan::Limit { n, .. } => format!("limit: the first {n} rows of each epoch's result"),
                LogicalPlan::Project { exprs, .. } => {
                    let names: Vec<String> = exprs.iter().map(|e| e.sql_text()).collect();
                    format!("project [{}]", names.join(", "))
                }
                LogicalPlan::Filter { expr, .. } => format!("filter: {}", expr.output_name()),
                _ => continue,
            };
            self.line(format!("on worker 0, after the output mode: {line}"));
        }
    }

    fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn walk(&mut self, node: &Physical<'p>) {
        match node {
            Physical::Source { source, read, .. } => self.source(*source, read.strategy()),
            Physical::Rows {
                steps,
                pipeline,
                input,
            } => {
                self.walk(input);
                let run = pipeline.outline();
                if steps.is_empty() {
                    // Parts of a filter above an inner join, run on a side (`filters_into_join`).
                    self.line(format!(
                        "filter before the join: {} part(s) of the filter above that read this side alone",
                        run.len()
                    ));
                }
                self.steps(steps);
                // Filters move below projections and selections fold into the projection below
                // (see `Pipeline`): what each row goes through, when that differs.
                if steps.len() > 1 && run.len() < steps.len() {
                    self.line(format!(
                        "  run as one pass over each row: {}",
                        run.join(", then ")
                    ));
                }
            }
            Physical::Watermark { column_name, input } => {
                self.walk(input);
                self.watermark_passing(column_name);
            }
            Physical::Join {
                on,
                strategy,
                left,
                right,
            } => {
                self.walk(left);
                self.walk(right);
                self.join(on, *strategy);
            }
            Physical::Deduplicate {
                keys,
                remember,
                event_time,
                input,
            } => {
                self.walk(input);
                self.strategies.push(Strategy::Deduplicate);
                if let Some((_, name, _)) = event_time {
                    self.line(format!(
                        "watermark on {name}: each worker's greatest event time per epoch, broadcast; \
                         rows at or before the watermark are late and dropped"
                    ));
                }
                let kept = match remember {
                    tidewater_operators::Remember::Forever => "remembered for ever",
                    tidewater_operators::Remember::UntilEventTime => {
                        "forgotten once the watermark passes the key's event time"
                    }
                    tidewater_operators::Remember::WithinDelay => {
                        "forgotten once the watermark passes the first row's event time plus the delay"
                    }
                };
                self.line(format!(
                    "map: number each row in the source's order; exchange: rows by the hash of columns {keys:?}; \
                     {} (each key's first row, in read order; keys {kept})",
                    Strategy::Deduplicate
                ));
            }
            Physical::GroupsWithState {
                keys,
                timeout,
                event_time,
                input,
                function,
            } => {
                self.walk(input);
                let strategy = super::stateful::strategy_of(function);
                self.strategies.push(strategy);
                if let Some((_, name, _)) = event_time {
                    self.line(format!(
                        "watermark on {name}: each worker's greatest event time per epoch, broadcast"
                    ));
                }
                self.line(format!(
                    "map: number each row in the source's order; exchange: rows by the hash of columns {keys:?}; \
                     {} (the function per key and epoch, rows in read order; state per key; timeout {timeout:?})",
                    strategy
                ));
            }
            Physical::Upsert { input, .. } => {
                self.walk(input);
                self.strategies.push(Strategy::UpsertTable);
                self.line("map: number each row in the source's order (where it enters)");
                self.line(
                    "exchange: upserts by primary key hash; upsert table: keep the latest row per key \
                     (the row read last wins), emit -old +new when it changes",
                );
            }
            Physical::Aggregate(aggregate) => {
                self.walk(&aggregate.input);
                if aggregate.late.as_ref().is_some_and(|l| l.joined) {
                    self.strategies.push(Strategy::WatermarkTracked);
                    self.line(format!(
                        "watermark ({}): the one of the operator below (a join's moved back by its \
                         range, Spark's output watermark of a join; a stateful function's input's); \
                         the fold drops a row's windows that ended at or before it",
                        Strategy::WatermarkTracked
                    ));
                } else if let Some(late) = &aggregate.late {
                    let (strategy, what) = match late.rule {
                        LateRule::RowTime => (
                            Strategy::LateRowsDropped,
                            "the aggregation above drops rows at or below the watermark",
                        ),
                        LateRule::WindowEnd => (
                            Strategy::WatermarkTracked,
                            "the fold drops a row's windows that ended at or before the watermark",
                        ),
                        LateRule::None => (
                            Strategy::WatermarkTracked,
                            "no row is late (complete mode, or not grouped by event time)",
                        ),
                    };
                    self.strategies.push(strategy);
                    self.line(format!(
                        "watermark on {} ({strategy}): each worker's greatest event time per epoch, \
                         broadcast; {what}",
                        late.column_name
                    ));
                }
                self.steps(&aggregate.grouping.steps);
                let no_row_per_event = aggregate.fold.builds_no_row_per_event();
                self.aggregate(&aggregate.grouping, aggregate.fold.strategy(), no_row_per_event);
            }
            Physical::TableAggregate(aggregate) => self.table_aggregate(aggregate),
            Physical::Union(inputs) => {
                inputs.iter().for_each(|input| self.walk(input));
                self.line(format!(
                    "concat: the rows of the {} inputs above, as they come (union)",
                    inputs.len()
                ));
            }
        }
    }

    fn source(&mut self, source: &dyn Source, strategy: Strategy) {
        self.strategies.push(strategy);
        let description = source.description();
        let lines: [&str; 3] = match strategy {
            Strategy::PartitionedItems => [
                "work items planned by worker 0 each epoch (new files, or Kafka offset ranges)",
                "exchange: items by hash; flat_map: read and decode each item (a file, a fetched range) where it lands",
                "  (row counts, malformed records and failures go to worker 0 alongside the output)",
            ],
            Strategy::PartitionsOnEveryWorker => [
                "the table's files listed by worker 0",
                "broadcast: every file to every worker, which reads and decodes them all and so holds \
                 the whole table",
                "  (worker 0 alone reports row counts and malformed records; failures go to worker 0 \
                 alongside the output)",
            ],
            Strategy::LocalRows => [
                "each epoch's rows dealt out by offset by worker 0, one share per worker of its process",
                "read: each worker copies its share from the source",
                "",
            ],
            Strategy::LocalRowsInPlace => [
                "each epoch's rows dealt out by offset by worker 0, one share per worker of its process",
                "read: no row copied; the fused aggregation reads each worker's share where it lies",
                "",
            ],
            _ => [
                "fed by worker 0 each epoch",
                "exchange: rows round-robin over all workers",
                "",
            ],
        };
        self.line(format!("input ({strategy}: {}): {description}", lines[0]));
        lines[1..]
            .iter()
            .filter(|l| !l.is_empty())
            .for_each(|l| self.line(*l));
        if let Some(read) = source.columns_read() {
            let schema = source.schema();
            let names: Vec<&str> = schema
                .fields()
                .iter()
                .zip(&read)
                .filter(|(_, read)| **read)
                .map(|(f, _)| f.name.as_str())
                .collect();
            self.line(format!(
                "  (reads {} of {} columns, the ones the query uses: [{}]; the others are left null)",
                names.len(),
                read.len(),
                names.join(", ")
            ));
        }
    }

    /// The lines of a run of filters and projections, innermost first.
    fn steps(&mut self, steps: &[&LogicalPlan]) {
        for step in steps {
            match step {
                LogicalPlan::Project { exprs, generator, .. } => {
                    let names: Vec<String> = exprs.iter().map(|e| e.sql_text()).collect();
                    let op = if generator.is_some() {
                        "flat_map (explode)"
                    } else {
                        "map"
                    };
                    self.line(format!("{op}: project [{}]", names.join(", ")));
                }
                LogicalPlan::Filter { expr, .. } => self.line(format!("filter: {}", expr.output_name())),
                LogicalPlan::Watermark { column_name, .. } => self.watermark_passing(column_name),
                _ => {}
            }
        }
    }

    /// A watermark that nothing right above reads.
    fn watermark_passing(&mut self, column_name: &str) {
        self.line(format!(
            "watermark on {column_name}: rows pass unchanged (no aggregation right above drops \
             late rows)"
        ));
    }

    /// The size of `table`, as explain words it.
    fn table_size(table: &LogicalPlan) -> String {
        table
            .static_size_in_bytes()
            .map_or("of unknown size".to_string(), |s| format!("{s} bytes"))
    }

    /// How many of each side's columns a join that keeps its sides holds, when not all.
    fn kept(on: &JoinOn<'_>) -> Option<((usize, usize), (usize, usize))> {
        on.joined_columns().kept(on.left_width(), on.right.schema().len())
    }

    /// The line that says how many of each side's columns a join that keeps its sides holds
    /// (`verb`: how it holds them; `besides`: what it keeps beyond the columns read above it),
    /// when it holds fewer than all.
    fn kept_columns(&mut self, on: &JoinOn<'_>, verb: &str, besides: &str) {
        if let Some(((left, of_left), (right, of_right))) = Self::kept(on) {
            self.line(format!(
                "  ({verb} {left} of {of_left} left columns and {right} of {of_right} right columns, \
                 the ones read above the join{besides}; the others are null in its output)"
            ));
        }
    }

    fn join(&mut self, on: &JoinOn<'_>, strategy: Strategy) {
        self.strategies.push(strategy);
        let condition = on.condition;
        if let (Strategy::SymmetricHashJoin, Some(event_time)) = (strategy, on.event_time) {
            let kind = on.kind.spark_name();
            self.line(format!(
                "{strategy} ({kind}) on {condition}: exchange both inputs by key hash; each row \
                 joins the other side's rows of its key, then is kept"
            ));
            self.line(
                "  watermark: each watermarked side's greatest event time less its delay, the least \
                 of them (Spark's global watermark); rows at or below the previous epoch's are late \
                 and dropped",
            );
            let expiry = |expires: bool| {
                if expires {
                    "expire once the watermark shows no match can come"
                } else {
                    "are kept for ever"
                }
            };
            self.line(format!(
                "  left rows {}; right rows {}",
                expiry(event_time.left_expires()),
                expiry(event_time.right_expires())
            ));
            if on.kind.pads_right() || on.kind.pads_left() {
                self.line("  rows that never matched: padded with nulls when they expire");
            }
            self.kept_columns(on, "keeps", " and its event times");
            return;
        }
        if strategy == Strategy::AppendHashJoin {
            self.line(format!(
                "{strategy} on {condition}: exchange both inputs by key hash; each row joins the other \
                 side's rows of its key, then is kept"
            ));
            self.line(
                "  both inputs only insert and have no watermark: every row is kept for ever, in a map \
                 by key (no arrangement to sort and merge)",
            );
            self.kept_columns(on, "keeps", "");
            return;
        }
        if strategy == Strategy::LookupJoin {
            self.line(format!(
                "{strategy} on {condition} with a static table: each stream row is probed against the \
                 table as of its epoch and dropped (no stream state)"
            ));
            let size = Self::table_size(on.right);
            self.line(if broadcasts(on.right, self.settings.broadcast_threshold) {
                format!(
                    "  (the table, {size}, is within spark.sql.autoBroadcastJoinThreshold, but only a \
                     join right under an aggregation of rows that are only inserted is fused with it: \
                     both inputs are exchanged by key hash)"
                )
            } else {
                format!(
                    "  (the table, {size}, is not within spark.sql.autoBroadcastJoinThreshold: both \
                     inputs are exchanged by key hash)"
                )
            });
            if let Some((_, (right, of_right))) = Self::kept(on) {
                self.line(format!(
                    "  (the table keeps {right} of its {of_right} columns, the ones read above the join)"
                ));
            }
        } else {
            self.line(format!(
                "{strategy} on {condition}: exchange both inputs by key hash; arrange; join"
            ));
            self.kept_columns(on, "arranges", "");
        }
        if on.right.is_changing_table() {
            self.line("  (the stream side stays arranged: a table change corrects earlier results)");
        }
        match on.kind {
            JoinKind::Left => self.line(if strategy == Strategy::LookupJoin {
                "left rows without a match: padded with nulls where they are probed"
            } else {
                "left rows without a match: antijoin with the right keys, padded with nulls"
            }),
            JoinKind::LeftSemi => self.line("left semi: a stream row with a match, once, its own columns"),
            JoinKind::LeftAnti => self.line("left anti: a stream row without a match, its own columns"),
            _ => {}
        }
    }

    fn table_aggregate(&mut self, aggregate: &TableAggregate<'p>) {
        match &aggregate.stream {
            StreamSide::InPlace { source, .. } => self.source(*source, Strategy::LocalRowsInPlace),
            StreamSide::Rows(stream) => self.walk(stream),
        }
        self.walk(&aggregate.table);
        self.strategies.push(Strategy::BroadcastJoin);
        let on = &aggregate.on;
        self.line(format!(
            "{} on {} with a static table, fused into the aggregation: every worker probes its own \
             stream rows in the table inside the aggregation's fold (no stream state, no stream row \
             exchanged)",
            Strategy::BroadcastJoin,
            on.condition
        ));
        let held = if aggregate.table_on_every_worker {
            "every worker holds it whole, reading its files itself"
        } else {
            "every worker holds it whole, broadcast to all"
        };
        self.line(format!(
            "  (the table, {}, is within spark.sql.autoBroadcastJoinThreshold: {held})",
            Self::table_size(on.right)
        ));
        if on.kind == JoinKind::Left {
            self.line("left rows without a match: folded with nulls for the table's columns");
        }
        self.steps(&aggregate.grouping.steps);
        self.aggregate(&aggregate.grouping, aggregate.fold.strategy(), false);
    }

    /// The lines of an aggregation by `strategy`; `no_row_per_event` when its fold reads each
    /// event as it comes (the projections before it computed inside it).
    fn aggregate(&mut self, grouping: &Grouping<'p>, strategy: Strategy, no_row_per_event: bool) {
        self.strategies.push(strategy);
        let keys: Vec<String> = grouping.key_exprs.iter().map(|e| e.sql_text()).collect();
        let aggs: Vec<String> = grouping.aggregations.iter().map(|a| a.expr.sql_text()).collect();
        self.line(format!(
            "map: key [{}], arguments of [{}]",
            keys.join(", "),
            aggs.join(", ")
        ));
        let how = match strategy {
            Strategy::Reduce => {
                self.notes.push((grouping.node, "differential reduce"));
                self.line(format!(
                    "exchange: rows by key hash; arrange; reduce ({strategy}, general: the input retracts)"
                ));
                return;
            }
            Strategy::SessionFold => {
                self.notes.push((grouping.node, "session windows"));
                self.line(format!(
                    "exchange: rows by the keys other than the session; aggregate ({strategy}): each \
                     row opens [time, time + gap), merged with its key's sessions it overlaps or \
                     touches; emit -old/+new per session; forget a session once the watermark passes \
                     its end"
                ));
                return;
            }
            Strategy::WindowStartFold | Strategy::WindowStartKeptFold if no_row_per_event => {
                "each worker folds its epoch's rows into their windows' groups, keyed by the \
                 window's start, the projections before the windows computed in the fold: no row \
                 built per window or per event"
            }
            Strategy::WindowStartFold | Strategy::WindowStartKeptFold => {
                "each worker folds its epoch's rows into their windows' groups, keyed by the \
                 window's start, no row built per window"
            }
            Strategy::PieceCount => {
                "each worker counts its epoch's pieces of the split by their text, \
                                     no row built per piece"
            }
            Strategy::GroupedByTable { .. } => {
                "each table row's group worked out and hashed once, when the table loads; a stream \
                 row costs a probe of the table and one of the states"
            }
            Strategy::ColumnFold => {
                "keys and arguments read from the stream row and the table row it matched, no joined \
                 row built"
            }
            Strategy::JoinedRowFold => "each joined row runs through the steps above into its key's state",
            _ => "fold each worker's epoch locally",
        };
        self.notes.push((grouping.node, "append-only accumulator"));
        self.line(format!("aggregate ({strategy}): {how}"));
        self.line("exchange: partial states by key hash");
        let expiring = matches!(strategy, Strategy::ExpiringFold | Strategy::WindowStartFold);
        // What the merge emits follows the output mode (see `compile::changes_needed`).
        let emit = match self.settings.output_mode {
            OutputMode::Append if expiring => {
                "emit a window's rows once, when the watermark closes it (every change instead when a \
                 stateful operator above reads them or a join below delays the watermark)"
            }
            OutputMode::Update => {
                "emit the new rows of changed keys (-old/+new when a stateful operator above keeps \
                 the result)"
            }
            _ => "emit -old/+new for changed keys",
        };
        let forget = if expiring {
            "; forget a window's state once the watermark passes its end"
        } else {
            ""
        };
        self.line(format!("merge partials into one state per key; {emit}{forget}"));
    }
}
