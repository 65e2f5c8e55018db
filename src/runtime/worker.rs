//! What every worker runs: build each query's dataflow, then either drive (worker 0) or step.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::{Exchange, Probe};
use timely::dataflow::StreamVec;
use timely::worker::Worker;

use super::driver::{Captured, CapturedEvents, QueryRun};
use super::spec::QuerySpec;
use crate::compile::{compile, Compiled, Inputs, Settings};
use crate::connectors::Wake;

/// The longest the leader parks without a wake-up: an upper bound on how late it notices a
/// deadline that nothing signalled.
const MAX_PARK: Duration = Duration::from_millis(250);

/// One query's dataflow as built on this worker.
pub(super) struct Built {
    pub(super) inputs: Inputs,
    pub(super) probe: ProbeHandle<u64>,
    pub(super) captured: Captured,
    pub(super) events: CapturedEvents,
}

fn build(worker: &mut Worker, spec: &QuerySpec) -> Built {
    let probe = ProbeHandle::new();
    let captured: Captured = Rc::new(RefCell::new(Vec::new()));
    let events: CapturedEvents = Rc::new(RefCell::new(Vec::new()));
    let mut inputs = Inputs::new();
    let (rows_buffer, events_buffer) = (captured.clone(), events.clone());
    worker.dataflow::<u64, _, _>(|scope| {
        let settings = Settings {
            output_mode: spec.mode,
            broadcast_threshold: spec.broadcast_threshold,
        };
        let mut compiled = Compiled::new(&spec.plan, settings);
        // All output goes to worker 0, where the sink runs; the probe after it tells when an
        // epoch's output is complete.
        let output = compile(&spec.plan, scope, &mut compiled).inner.exchange(|_| 0);
        capture(output, rows_buffer).probe_with(&probe);
        // Sources read inside the dataflow report to worker 0 too, under the same probe.
        for source_events in compiled.events.drain(..) {
            capture(source_events.inner.exchange(|_| 0), events_buffer.clone()).probe_with(&probe);
        }
        inputs = std::mem::take(&mut compiled.inputs);
    });
    Built {
        inputs,
        probe,
        captured,
        events,
    }
}

/// Moves every update of `updates` into `buffer` (no copy), and returns a stream with no data
/// whose frontier is the input's: a probe on it passes a time only once the time's updates are
/// all in the buffer, since updates not yet taken hold the frontier back.
fn capture<'s, D: 'static>(
    updates: StreamVec<'s, u64, (D, u64, isize)>,
    buffer: Rc<RefCell<Vec<(D, u64, isize)>>>,
) -> StreamVec<'s, u64, ()> {
    updates.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "Capture",
        move |_initial, _info| {
            move |(input, _frontier), _output| {
                input.for_each_stamp(|_cap, containers| {
                    let mut buffer = buffer.borrow_mut();
                    for container in containers {
                        buffer.append(container);
                    }
                });
            }
        },
    )
}

pub(super) fn run(worker: &mut Worker, specs: &[Arc<QuerySpec>]) {
    let built: Vec<Built> = specs.iter().map(|spec| build(worker, spec)).collect();
    if worker.index() != 0 {
        // Only the leader feeds inputs: close ours so the frontier follows the leader's.
        drop(built);
        while worker.has_dataflows() {
            worker.step_or_park(None);
        }
        return;
    }
    let wake = Wake::current();
    let mut runs: Vec<QueryRun> = specs
        .iter()
        .zip(built)
        .map(|(spec, built)| QueryRun::start(spec.clone(), built, &wake))
        .collect();
    loop {
        let now = Instant::now();
        let mut deadline: Option<Instant> = None;
        for run in runs.iter_mut() {
            if let Some(at) = run.step(now) {
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
        }
        if runs.iter().all(QueryRun::finished) {
            break;
        }
        let park = deadline.map_or(MAX_PARK, |at| at.saturating_duration_since(now).min(MAX_PARK));
        worker.step_or_park(Some(park));
    }
    while worker.has_dataflows() {
        worker.step_or_park(None);
    }
}
