//! Running a DStream graph: every worker builds it; worker 0 (the leader) feeds one epoch per
//! batch interval, and writes each epoch's outputs once the probe shows it complete.
//!
//! Unlike a structured query, whose epochs start when data arrives, a DStream has a batch
//! every interval whether or not anything arrived: stateful streams and windows move on, and
//! `print()` shows every batch. The context ends when every source has ended and its last
//! batch is written, or on `stop`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use differential_dataflow::input::InputSession;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::{Exchange, Probe};
use timely::worker::Worker;
use tracing::info;

use super::batch_info::{BatchInfo, RecentBatches};
use super::graph::{BuildCtx, BuiltGraph};
use super::output::{Emitter, OutputSpec, Time};
use super::sources::{Feeder, SourceSpec};
use crate::connectors::{SourceError, SourceEvent, Wake};
use crate::error::{Error, Result};
use crate::runtime::workers::{self, Lead};
use crate::runtime::{capture, take_through, Captured, ClusterConfig, Shared};

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
    let job = Arc::new(job);
    let leader_job = job.clone();
    workers::launch(
        cluster,
        "streaming",
        vec![job.shared.clone()],
        move |worker| build(worker, &job),
        move |built| Leader::start(leader_job.clone(), built),
    )
}

/// The graph as built on one worker, with the probe and the source events captured on
/// worker 0.
struct Built {
    graph: BuiltGraph,
    probe: ProbeHandle<u64>,
    events: Captured<SourceEvent>,
}

fn build(worker: &mut Worker, job: &Job) -> Built {
    let probe = ProbeHandle::new();
    let events = Captured::default();
    let batch_ms = job.batch.as_millis() as u64;
    let graph = worker.dataflow::<u64, _, _>(|scope| {
        let mut cx = BuildCtx::new(scope, probe.clone(), batch_ms);
        for output in &job.outputs {
            output.build(&mut cx);
        }
        for source_events in std::mem::take(&mut cx.events) {
            capture(source_events.inner.exchange(|_| 0), events.clone()).probe_with(&probe);
        }
        cx.finish()
    });
    Built { graph, probe, events }
}

/// The batch being computed.
struct InFlight {
    epoch: u64,
    records: u64,
    scheduled: Instant,
    started: Instant,
}

/// The leader's loop state.
struct Leader {
    job: Arc<Job>,
    feeders: Vec<Box<dyn Feeder>>,
    clock: Option<InputSession<u64, (), isize>>,
    emitters: Vec<Box<dyn Emitter>>,
    probe: ProbeHandle<u64>,
    events: Captured<SourceEvent>,
    /// The time of batch `e` is `zero_ms + (e + 1) * batch_ms`.
    zero_ms: u64,
    next_epoch: u64,
    next_tick: Instant,
    in_flight: Option<InFlight>,
    /// Sources are no longer read (graceful stop): the batch after what was read is the last.
    stopping: bool,
    finished: bool,
}

impl Leader {
    fn start(job: Arc<Job>, built: Built) -> Self {
        let Built {
            mut graph,
            probe,
            events,
        } = built;
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
        let next_tick = Instant::now() + job.batch;
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
            next_tick,
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
        let mut events = Vec::new();
        take_through(&self.events, epoch, &mut events);
        // Several workers may fail at once; report one, the same every run.
        let failure = events
            .into_iter()
            .filter_map(|(event, _, _)| match event {
                SourceEvent::Failed { message, .. } => Some(message),
                _ => None,
            })
            .min();
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

impl Lead for Leader {
    /// Does what is due now; returns when it next needs to act.
    fn step(&mut self, _now: Instant) -> Option<Instant> {
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

    fn finished(&self) -> bool {
        self.finished
    }
}
