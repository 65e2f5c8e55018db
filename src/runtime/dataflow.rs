//! One query's dataflow as every worker builds it: the compiled plan, with its output and its
//! sources' events captured on worker 0 under one probe.

use std::sync::Arc;

use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::{Exchange, Probe};
use timely::worker::Worker;

use super::capture::{capture, Captured};
use super::spec::QuerySpec;
use crate::compile::{compile, Compiled, Inputs, Settings, StateOperatorInfo};
use crate::connectors::SourceEvent;
use crate::data::Row;

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
}

/// Builds `spec`'s dataflow on `worker`.
pub(super) fn build(worker: &mut Worker, spec: &QuerySpec) -> Built {
    let probe = ProbeHandle::new();
    let captured = Captured::default();
    let events = Captured::default();
    let mut inputs = Inputs::new();
    let mut state_operators = Vec::new();
    let (rows_buffer, events_buffer) = (captured.clone(), events.clone());
    worker.dataflow::<u64, _, _>(|scope| {
        let settings = Settings {
            output_mode: spec.mode,
            broadcast_threshold: spec.broadcast_threshold,
        };
        let mut compiled = Compiled::new(&spec.plan, settings);
        compiled.durable = spec.durable.clone();
        compiled.batch_times = Some(spec.batch_times.clone());
        // All output goes to worker 0, where the sink runs; the probe after it tells when an
        // epoch's output is complete.
        let output = compile(&spec.plan, scope, &mut compiled).inner.exchange(|_| 0);
        capture(output, rows_buffer).probe_with(&probe);
        // Sources read inside the dataflow report to worker 0 too, under the same probe.
        for source_events in compiled.events.drain(..) {
            capture(source_events.inner.exchange(|_| 0), events_buffer.clone()).probe_with(&probe);
        }
        inputs = std::mem::take(&mut compiled.inputs);
        state_operators = std::mem::take(&mut compiled.state_operators);
    });
    Built {
        inputs,
        probe,
        captured,
        events,
        state_operators,
        peers: worker.peers(),
    }
}

/// Builds every query's dataflow on `worker`, in the order given.
pub(super) fn build_all(worker: &mut Worker, specs: &[Arc<QuerySpec>]) -> Vec<Built> {
    specs.iter().map(|spec| build(worker, spec)).collect()
}
