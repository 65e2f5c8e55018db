//! Running a DStream graph: every worker builds it; worker 0 (the leader) feeds one epoch per
//! batch interval, and writes each epoch's outputs once the probe shows it complete.
//!
//! Unlike a structured query, whose epochs start when data arrives, a DStream has a batch
//! every interval whether or not anything arrived: stateful streams and windows move on, and
//! `print()` shows every batch. The context ends when every source has ended and its last
//! batch is written, or on `stop`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use differential_dataflow::collection::AsCollection;
use differential_dataflow::input::InputSession;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Exchange;
use timely::worker::Worker;
use tracing::info;

use super::batch_info::{BatchInfo, RecentBatches};
use super::graph::{BuildCtx, BuiltGraph};
use super::output::{Emitter, OutputSpec, Time};
use super::sources::{Feeder, SourceSpec};
use crate::connectors::{SourceError, SourceEvent, Wake};
use crate::error::{Error, Result};
use crate::runtime::{ClusterConfig, Shared};

/// The longest the leader parks without a wake-up.
const MAX_PARK: Duration = Duration::from_millis(250);

/// A started context: its graph, its batch interval, and the state its handle shares.
pub(crate) struct Job {
    pub(crate) sources: Vec<Arc<dyn SourceSpec>>,
    pub(crate) outputs: Vec<Arc<dyn OutputSpec>>,
    pub(crate) batch: Duration,
    pub(crate) shared: Arc<Shared>,
    pub(crate) graceful: Arc<AtomicBool>,
    pub(crate) batches: RecentBatches,
}

/// Starts the workers and returns at once; the handle learns when they end.
pub(crate) fn launch(cluster: &ClusterConfig, job: Job) -> Result<()> {
    let config = cluster.timely_config()?;
    let job = Arc::new(job);
    let worker_job = job.clone();
    let guards = timely::execute(config, move |worker| run(worker, &worker_job))
        .map_err(|e| Error::Runtime(format!("could not start the workers: {e}")))?;
    std::thread::Builder::new()
        .name("tidewater-streaming".into())
        .spawn(move || {
            // Whatever happens below (even a panic), the handle learns that the context ended.
            let _terminate = TerminateOnDrop(job.shared.clone());
            for result in guards.join() {
                if let Err(e) = result {
                    job.shared.fail(Error::Runtime(format!("a worker failed: {e}")));
                }
            }
        })
        .map_err(|e| Error::Runtime(format!("could not start the streaming thread: {e}")))?;
    Ok(())
}

struct TerminateOnDrop(Arc<Shared>);

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0
                .fail(Error::Runtime("the streaming thread panicked".into()));
        }
        self.0.terminate();
    }
}

type CapturedEvents = Rc<RefCell<Vec<(SourceEvent, u64, isize)>>>;

fn run(worker: &mut Worker, job: &Job) {
    let probe = ProbeHandle::new();
    let events: CapturedEvents = Rc::new(RefCell::new(Vec::new()));
    let batch_ms = job.batch.as_millis() as u64;
    let graph = worker.dataflow::<u64, _, _>(|scope| {
        let mut cx = BuildCtx::new(scope, probe.clone(), batch_ms);
        for output in &job.outputs {
            output.build(&mut cx);
        }
        for source_events in std::mem::take(&mut cx.events) {
            let buffer = events.clone();
            source_events
                .inner
                .exchange(|_| 0)
                .as_collection()
                .inspect(move |(e, t, d)| buffer.borrow_mut().push((e.clone(), *t, *d)))
                .probe_with(&probe);
        }
        cx.finish()
    });
    if worker.index() != 0 {
        // Only the leader feeds: closing our inputs lets the frontier follow the leader's.
        drop(graph);
        while worker.has_dataflows() {
            worker.step_or_park(None);
        }
        return;
    }
    let mut leader = Leader::start(job, graph, probe, events);
    while !leader.finished {
        let deadline = leader.step();
        let park = deadline.map_or(MAX_PARK, |at| {
            at.saturating_duration_since(Instant::now()).min(MAX_PARK)
        });
        worker.step_or_park(Some(park));
    }
    drop(leader);
    while worker.has_dataflows() {
        worker.step_or_park(None);
    }
}

/// The batch being computed.
struct InFlight {
    epoch: u64,
    records: u64,
    scheduled: Instant,
    started: Instant,
}

/// The leader's loop state.
struct Leader<'a> {
    job: &'a Job,
    feeders: Vec<Box<dyn Feeder>>,
    clock: Option<InputSession<u64, (), isize>>,
    emitters: Vec<Box<dyn Emitter>>,
    probe: ProbeHandle<u64>,
    events: CapturedEvents,
    /// The time of batch `e` is `zero_ms + (e + 1) * batch_ms`.
    zero_ms: u64,
    next_epoch: u64,
    next_tick: Instant,
    in_flight: Option<InFlight>,
    /// Sources are no longer read (graceful stop): the batch after what was read is the last.
    stopping: bool,
    finished: bool,
}

impl<'a> Leader<'a> {
    fn start(job: &'a Job, mut graph: BuiltGraph, probe: ProbeHandle<u64>, events: CapturedEvents) -> Self {
        job.shared.lock().leader = Some(Wake::current());
        let wake = Wake::current();
        let mut feeders = Vec::new();
        let mut failure = None;
        for (id, spec) in job.sources.iter().enumerate() {
            // A source that no output reads has no input and is never opened.
            let Some(input) = graph.inputs.remove(&id) else {
                continue;
            };
            match spec.feeder(input, &wake) {
                Ok(feeder) => feeders.push(feeder),
                Err(e) => failure = Some(e),
            }
        }
        let batch_ms = job.batch.as_millis() as u64;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut leader = Leader {
            job,
            feeders,
            clock: Some(graph.clock),
            emitters: graph.emitters,
            probe,
            events,
            // Batch times are multiples of the interval, as Spark's are.
            zero_ms: now_ms - now_ms % batch_ms.max(1),
            next_epoch: 0,
            next_tick: Instant::now() + job.batch,
            in_flight: None,
            stopping: false,
            finished: false,
        };
        if let Some(e) = failure {
            leader.fail(e.into());
        }
        leader
    }

    fn fail(&mut self, error: Error) {
        self.job.shared.fail(error);
        self.close();
    }

    /// Closes the inputs: the dataflow drains, and the loop ends.
    fn close(&mut self) {
        self.feeders.clear();
        self.clock = None;
        self.finished = true;
    }

    /// Does what is due now; returns when it next needs to act.
    fn step(&mut self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        if self.job.shared.stop_requested() && !self.stopping {
            if !self.job.graceful.load(Ordering::SeqCst) {
                info!("streaming context stopping now");
                self.close();
                return None;
            }
            info!("streaming context stopping after what it has received");
            self.stopping = true;
            for feeder in &mut self.feeders {
                feeder.stop_reading();
            }
        }
        if let Some(flight) = self.in_flight.take() {
            if self.probe.less_equal(&flight.epoch) {
                self.in_flight = Some(flight);
                return self.poll();
            }
            if let Err(e) = self.complete(flight) {
                self.fail(e);
                return None;
            }
        }
        let due = self.poll();
        if self.finished {
            return None;
        }
        if self.feeders.iter().all(|f| f.exhausted()) && (self.next_epoch > 0 || self.stopping) {
            info!("every source has ended; the streaming context stops");
            self.close();
            return None;
        }
        let now = Instant::now();
        if now < self.next_tick {
            return Some(due.map_or(self.next_tick, |d| d.min(self.next_tick)));
        }
        self.start_epoch();
        // Batches are not skipped when the leader falls behind: they run back to back, each
        // with its own time, as Spark queues late batches.
        self.next_tick += self.job.batch;
        due
    }

    /// Polls every source; returns the earliest time one wants to be polled again.
    fn poll(&mut self) -> Option<Instant> {
        let mut failure: Option<SourceError> = None;
        for feeder in &mut self.feeders {
            if let Err(e) = feeder.poll() {
                failure = Some(e);
                break;
            }
        }
        if let Some(e) = failure {
            self.fail(e.into());
            return None;
        }
        self.feeders.iter().filter_map(|f| f.next_poll()).min()
    }

    fn start_epoch(&mut self) {
        let epoch = self.next_epoch;
        let started = Instant::now();
        let mut records = 0;
        for feeder in &mut self.feeders {
            records += feeder.feed(epoch);
            feeder.advance(epoch + 1);
        }
        if let Some(clock) = self.clock.as_mut() {
            clock.insert(());
            clock.advance_to(epoch + 1);
            clock.flush();
        }
        self.next_epoch = epoch + 1;
        self.in_flight = Some(InFlight {
            epoch,
            records,
            scheduled: self.next_tick,
            started,
        });
        self.job.shared.set_status("Processing new data", true, true);
    }

    /// The probe has passed the batch: check the sources' reports, run the outputs, and record
    /// the batch's delays.
    fn complete(&mut self, flight: InFlight) -> Result<()> {
        let epoch = flight.epoch;
        let failure = {
            let mut events = self.events.borrow_mut();
            let (now, later): (Vec<_>, Vec<_>) = events.drain(..).partition(|(_, t, _)| *t <= epoch);
            *events = later;
            now.into_iter()
                .filter_map(|(event, _, _)| match event {
                    SourceEvent::Failed { message, .. } => Some(message),
                    _ => None,
                })
                .min()
        };
        if let Some(message) = failure {
            return Err(SourceError::Malformed(message).into());
        }
        let time = Time(self.zero_ms + (epoch + 1) * self.job.batch.as_millis() as u64);
        for emitter in &mut self.emitters {
            emitter.emit(epoch, time)?;
        }
        self.job.batches.push(BatchInfo {
            batch_time: time,
            num_records: flight.records,
            scheduling_delay: flight.started.saturating_duration_since(flight.scheduled),
            processing_delay: flight.started.elapsed(),
        });
        self.job
            .shared
            .set_status("Waiting for data to arrive", false, false);
        Ok(())
    }
}
