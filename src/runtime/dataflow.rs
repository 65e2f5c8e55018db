//! One query's dataflow as every worker builds it: the compiled plan, with its output and its
//! sources' events captured on worker 0 under one probe.

use std::sync::Arc;

use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::worker::Worker;

use super::capture::{capture, Captured};
use super::output::Finish;
use super::parts::write_parts;
use super::spec::QuerySpec;
use crate::compile::{compile, Compiled, Inputs, Settings, StateOperatorInfo, Strategy};
use crate::connectors::{PartWriter, SourceEvent};
use crate::data::Row;
use crate::plan::OutputMode;

/// One query's dataflow as built on this worker.
pub(super) struct Built {
    /// The inputs the leader feeds (other workers drop theirs).
    pub(super) inputs: Inputs,
    /// Passes an epoch once its output and its sources' events are all captured.
    pub(super) probe: ProbeHandle<u64>,
    /// The output changes, on worker 0.
    pub(super) captured: Captured<Row>,
    /// What sources read inside the dataflow reported, on worker 0.
    pub(super) events: Captured<SourceEvent>,
    /// The stateful operators, numbered as their events number them.
    pub(super) state_operators: Vec<StateOperatorInfo>,
    /// The workers of all processes: those the leader plans work items for.
    pub(super) peers: usize,
    /// The workers write the output in parts (see [`parts_written_by_workers`]): the leader
    /// commits what they report instead of writing rows.
    pub(super) in_parts: bool,
    /// The output is final rows only, each once (see `Compiled::final_rows`): append mode
    /// writes them as they come, holding no window back.
    pub(super) final_rows: bool,
    /// Each epoch's output comes sorted by row and consolidated (see
    /// `Compiled::is_sorted`): the leader takes it as it is.
    pub(super) sorted_output: bool,
}

/// The sink's part writer when the workers write the output themselves, when nothing runs on
/// the query's result after the dataflow (no sort or limit):
/// - in append mode, for a sink that can (the file sinks, noop), when the query keeps no state
///   (its rows are final as they come out of the dataflow, with no watermark to wait for);
/// - in update mode, for a sink whose parts take updates (noop), when every stateful operator
///   emits insertions alone and none is of a kind that retracts above them (a join, a reduce,
///   sessions): the epoch's rows are then each worker's inserted rows, the same rows and
///   counts as the leader's consolidation of all of them would give.
///
/// Decided from the plan alone, so that every worker decides alike.
fn parts_written_by_workers(spec: &QuerySpec, compiled: &Compiled<'_>) -> Option<Arc<dyn PartWriter>> {
    // Operators whose output is only ever inserted rows, final at once.
    let inserts_only = |s: &Strategy| {
        matches!(
            s,
            Strategy::StreamedRows
                | Strategy::PartitionedItems
                | Strategy::PartitionsOnEveryWorker
                | Strategy::LocalRows
                | Strategy::LookupJoin
        )
    };
    let stateless = compiled.state_operators.is_empty() && compiled.strategies.iter().all(inserts_only);
    // Aggregations whose output may be insertions alone, and what runs with them without
    // retracting: watermarks, and a static table's broadcast into a fold.
    let inserting = |s: &Strategy| {
        inserts_only(s)
            || matches!(
                s,
                Strategy::LocalRowsInPlace
                    | Strategy::LateRowsDropped
                    | Strategy::WatermarkTracked
                    | Strategy::BroadcastJoin
                    | Strategy::PieceCount
                    | Strategy::AppendOnlyFold
                    | Strategy::ExpiringFold
                    | Strategy::WindowStartFold
                    | Strategy::WindowStartKeptFold
                    | Strategy::GroupedByTable { .. }
                    | Strategy::ColumnFold
                    | Strategy::JoinedRowFold
            )
    };
    let insertions_only = compiled.insertions_only_operators == compiled.state_operators.len()
        && compiled.strategies.iter().all(inserting);
    let finished_in_dataflow = Finish::of(&spec.plan, spec.mode).is_empty();
    let writer = spec.part_writer.as_ref()?;
    let parts = match spec.mode {
        OutputMode::Append => stateless,
        // Set before the build, from the sink and the plan (see `output_where_computed`).
        OutputMode::Update => compiled.output_where_computed && insertions_only,
        OutputMode::Complete => false,
    };
    (parts && finished_in_dataflow).then(|| writer.clone())
}

/// Builds `spec`'s dataflow on `worker`.
pub(super) fn build(worker: &mut Worker, spec: &QuerySpec) -> Built {
    let probe = ProbeHandle::new();
    let captured = Captured::default();
    let events = Captured::default();
    let mut inputs = Inputs::new();
    let mut state_operators = Vec::new();
    let mut in_parts = false;
    let mut final_rows = false;
    let mut sorted_output = false;
    let (rows_buffer, events_buffer) = (captured.clone(), events.clone());
    worker.dataflow::<u64, _, _>(|scope| {
        let settings = Settings {
            output_mode: spec.mode,
            broadcast_threshold: spec.broadcast_threshold,
            join_state_format: spec.join_state_format,
        };
        let mut compiled = Compiled::new(&spec.plan, settings);
        compiled.output_where_computed = spec.mode == OutputMode::Update
            && spec
                .part_writer
                .as_ref()
                .is_some_and(|writer| writer.takes_updates())
            && Finish::of(&spec.plan, spec.mode).is_empty();
        compiled.durable = spec.durable.clone();
        compiled.batch_times = Some(spec.batch_times.clone());
        let output = compile(&spec.plan, scope, &mut compiled);
        if let Some(slot) = &spec.failures {
            // Evaluation errors of the query, reported once the output passes each epoch.
            let errors = super::eval_errors::report(output.inner.clone(), slot.clone());
            capture(errors, events_buffer.clone()).probe_with(&probe);
        }
        match parts_written_by_workers(spec, &compiled) {
            // Every worker writes its own rows; what each wrote goes to worker 0 with the
            // sources' events, under the same probe.
            Some(writer) => {
                let parts = write_parts(output.inner, writer.clone(), spec.plan.schema().clone());
                capture(parts, events_buffer.clone()).probe_with(&probe);
                in_parts = true;
            }
            // All output goes to worker 0, where the sink runs; the probe after it tells when
            // an epoch's output is complete.
            None => {
                sorted_output = compiled.is_sorted(&output);
                capture(output.inner, rows_buffer).probe_with(&probe);
            }
        }
        // Sources read inside the dataflow report to worker 0 too, under the same probe.
        for source_events in compiled.events.drain(..) {
            capture(source_events.inner, events_buffer.clone()).probe_with(&probe);
        }
        inputs = std::mem::take(&mut compiled.inputs);
        state_operators = std::mem::take(&mut compiled.state_operators);
        final_rows = compiled.final_rows;
    });
    Built {
        inputs,
        probe,
        captured,
        events,
        state_operators,
        peers: worker.peers(),
        in_parts,
        final_rows,
        sorted_output,
    }
}

/// Builds every query's dataflow on `worker`, in the order given.
pub(super) fn build_all(worker: &mut Worker, specs: &[Arc<QuerySpec>]) -> Vec<Built> {
    specs.iter().map(|spec| build(worker, spec)).collect()
}
