//! Running a DStream graph: every worker builds it; worker 0 (the leader) feeds one epoch per
//! batch interval, and writes each epoch's outputs once the probe shows it complete.
//!
//! Unlike a structured query, whose epochs start when data arrives, a DStream has a batch
//! every interval whether or not anything arrived: stateful streams and windows move on, and
//! `print()` shows every batch. The context ends when every source has ended and its last
//! batch is written, or on `stop`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use differential_dataflow::input::InputSession;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::worker::Worker;
use tracing::info;

use super::batch_info::{BatchInfo, RecentBatches};
use super::durable::DurableGraph;
use super::graph::{BuildCtx, BuiltGraph};
use super::output::{Emitter, OutputSpec, Time};
use super::sources::{Feeder, Resume, SourceSpec};
use crate::checkpoint::{Checkpoint, CommitEntry, EpochMetadata, OffsetEntry};
use crate::connectors::{SourceError, SourceEvent, Wake};
use crate::crash::crash_point;
use crate::error::{CheckpointError, Error, Result};
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
    /// The checkpoint, in the process of worker 0, taken by the leader.
    pub(crate) checkpoint: Mutex<Option<Checkpoint>>,
    /// The stateful streams' state, in every process, when the context has a checkpoint.
    pub(crate) durable: Option<Arc<DurableGraph>>,
    /// Every how many committed batches the state is compacted into snapshots.
    pub(crate) snapshot_every: u64,
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
        let mut cx = BuildCtx::new(scope, probe.clone(), batch_ms, job.durable.clone());
        for output in &job.outputs {
            output.build(&mut cx);
        }
        for source_events in std::mem::take(&mut cx.events) {
            capture(source_events.inner, events.clone()).probe_with(&probe);
        }
        cx.finish()
    });
    Built { graph, probe, events }
}

/// The batch being computed.
struct InFlight {
    epoch: u64,
    time: Time,
    records: u64,
    scheduled: Instant,
    started: Instant,
}

/// The leader's loop state.
struct Leader {
    job: Arc<Job>,
    /// Each read source's feeder, with the source's number.
    feeders: Vec<(usize, Box<dyn Feeder>)>,
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
    /// Where offsets are logged before each batch and commits after.
    checkpoint: Option<Checkpoint>,
    /// The time of the batch that runs again after a restart, as its offsets logged it.
    replay_time: Option<Time>,
    /// The state compaction running in the background, if any.
    compaction: Option<std::thread::JoinHandle<()>>,
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
        let mut failure: Option<Error> = None;
        let checkpoint = job.checkpoint.lock().unwrap_or_else(|p| p.into_inner()).take();
        for (id, spec) in job.sources.iter().enumerate() {
            // A source that no output reads has no input and is never opened.
            let Some(input) = graph.inputs.remove(&id) else {
                continue;
            };
            match spec.feeder(input, &wake) {
                Ok(feeder) => feeders.push((id, feeder)),
                Err(e) => failure = Some(e.into()),
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
            checkpoint,
            replay_time: None,
            compaction: None,
        };
        // Restoring state while building may have failed (a damaged state file).
        if let Some(e) = leader.job.durable.as_ref().and_then(|d| d.take_failure()) {
            failure.get_or_insert(e.into());
        }
        if failure.is_none() {
            if let Err(e) = leader.recover() {
                failure = Some(e.into());
            }
        }
        if let Some(e) = failure {
            leader.fail(e);
        }
        leader
    }

    /// Resumes from the checkpoint, if there is one: committed batches are done; the batch
    /// that was started but not committed runs again with the same records and time.
    fn recover(&mut self) -> std::result::Result<(), CheckpointError> {
        let Some(checkpoint) = self.checkpoint.as_ref() else {
            return Ok(());
        };
        let recovery = checkpoint.recovery()?;
        let Some(last) = recovery.replay.as_ref().or(recovery.last_committed.as_ref()) else {
            return Ok(());
        };
        let resume = recovery.next_epoch;
        let last_epoch = if recovery.replay.is_some() {
            resume
        } else {
            resume.saturating_sub(1)
        };
        for (i, feeder) in &mut self.feeders {
            let offsets = last.sources.get(*i).and_then(|o| o.as_ref());
            let range = offsets.and_then(|o| Some(o.get("start")?.as_u64()?..o.get("end")?.as_u64()?));
            let Some(range) = range else {
                return Err(CheckpointError::Corrupt {
                    path: checkpoint.root().join("offsets").display().to_string(),
                    reason: format!("no offsets for source {i} at batch {last_epoch}"),
                });
            };
            let mut seen = Vec::new();
            if feeder.keeps_log() {
                let log = checkpoint.source_log(*i);
                for epoch in log.epochs()?.into_iter().filter(|e| *e <= last_epoch) {
                    seen.extend(checkpoint.read_records(*i, epoch)?);
                }
            }
            let replay = match &recovery.replay {
                Some(_) if feeder.logged().is_some() => {
                    Some((range.clone(), checkpoint.read_records(*i, resume)?))
                }
                Some(_) => Some((range.clone(), Vec::new())),
                None => None,
            };
            feeder.resume(Resume {
                consumed: if replay.is_some() { range.start } else { range.end },
                replay,
                seen: &seen,
                position: offsets.and_then(|o| o.get("position")),
            });
            feeder.advance(resume);
        }
        if let Some(clock) = self.clock.as_mut() {
            clock.advance_to(resume);
            clock.flush();
        }
        self.next_epoch = resume;
        // Batch times go on from the checkpoint's: a batch that runs again keeps its time, and
        // new ones come after every earlier one, from now on.
        let batch_ms = self.job.batch.as_millis() as u64;
        let last_time = last.metadata.batch_timestamp_ms.max(0) as u64;
        let first_time = if recovery.replay.is_some() {
            self.replay_time = Some(Time(last_time));
            last_time
        } else {
            (last_time + batch_ms).max(self.zero_ms + batch_ms)
        };
        self.zero_ms = first_time.saturating_sub((resume + 1) * batch_ms);
        tracing::info!(
            "streaming context resumes from {} at batch {resume}{} (batch time {})",
            checkpoint.root().display(),
            if recovery.replay.is_some() {
                ", run again with the records it took before the stop"
            } else {
                ""
            },
            Time(first_time),
        );
        Ok(())
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
        if let Some(running) = self.compaction.take() {
            let _ = running.join();
        }
    }

    /// Polls every source; returns the earliest time one wants to be polled again.
    fn poll(&mut self) -> Option<Instant> {
        let mut failure: Option<SourceError> = None;
        for (_, feeder) in &mut self.feeders {
            if let Err(e) = feeder.poll() {
                failure = Some(e);
                break;
            }
        }
        if let Some(e) = failure {
            self.fail(e.into());
            return None;
        }
        self.feeders.iter().filter_map(|(_, f)| f.next_poll()).min()
    }

    fn start_epoch(&mut self) {
        let epoch = self.next_epoch;
        let started = Instant::now();
        let time = self.replay_time.take().unwrap_or(Time(
            self.zero_ms + (epoch + 1) * self.job.batch.as_millis() as u64,
        ));
        for (_, feeder) in &mut self.feeders {
            feeder.take();
        }
        if let Err(e) = self.log_offsets(epoch, time) {
            self.fail(e.into());
            return;
        }
        let mut records = 0;
        for (_, feeder) in &mut self.feeders {
            records += feeder.feed();
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
            time,
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
        let time = flight.time;
        for emitter in &mut self.emitters {
            emitter.emit(epoch, time)?;
        }
        self.commit(epoch)?;
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

impl Leader {
    /// Logs what batch `epoch` takes, before it runs: the records of sources that cannot
    /// replay them (`sources/<i>/<epoch>`), then every source's offsets and the batch's time
    /// (`offsets/<epoch>`).
    fn log_offsets(&mut self, epoch: u64, time: Time) -> std::result::Result<(), CheckpointError> {
        let Some(checkpoint) = self.checkpoint.as_ref() else {
            return Ok(());
        };
        let mut sources = vec![None; self.job.sources.len()];
        for (i, feeder) in &self.feeders {
            if let Some(records) = feeder.logged() {
                checkpoint.write_records(*i, epoch, records)?;
            }
            let range = feeder.offsets();
            let mut offsets = serde_json::json!({"start": range.start, "end": range.end});
            if let Some(position) = feeder.position() {
                offsets["position"] = position;
            }
            sources[*i] = Some(offsets);
        }
        let entry = OffsetEntry {
            metadata: EpochMetadata {
                batch_timestamp_ms: time.milliseconds() as i64,
                conf: [(
                    "tidewater.dstream.batchIntervalMs".to_string(),
                    self.job.batch.as_millis().to_string(),
                )]
                .into(),
                ..EpochMetadata::default()
            },
            sources,
        };
        checkpoint.write_offsets(epoch, &entry)?;
        crash_point("after-offsets", epoch);
        Ok(())
    }

    /// After every output has taken batch `epoch`: records the commit (once its state is
    /// durable), forgets the logs that fell out of the retained window, and every so often
    /// compacts the state.
    fn commit(&mut self, epoch: u64) -> std::result::Result<(), CheckpointError> {
        let Some(checkpoint) = self.checkpoint.as_ref() else {
            return Ok(());
        };
        if let Some(e) = self.job.durable.as_ref().and_then(|d| d.take_failure()) {
            // The batch's state is not durable: it must not be committed.
            return Err(e);
        }
        crash_point("before-commit", epoch);
        let first_kept = checkpoint.commit(epoch, &CommitEntry::default())?;
        if first_kept > 0 {
            for (i, feeder) in &self.feeders {
                if !feeder.keeps_log() {
                    checkpoint.source_log(*i).purge_before(first_kept)?;
                }
            }
        }
        crash_point("after-commit", epoch);
        let Some(durable) = self.job.durable.clone() else {
            return Ok(());
        };
        if (epoch + 1).is_multiple_of(self.job.snapshot_every.max(1)) {
            // One at a time: the previous one had `snapshot_every` batches to finish.
            if let Some(running) = self.compaction.take() {
                let _ = running.join();
            }
            let compaction = move || {
                if let Err(e) = durable.compact(epoch) {
                    tracing::warn!("the state could not be compacted at batch {epoch}: {e}");
                }
            };
            match std::thread::Builder::new()
                .name("tidewater-compaction".into())
                .spawn(compaction)
            {
                Ok(handle) => self.compaction = Some(handle),
                Err(e) => tracing::warn!("the state could not be compacted at batch {epoch}: {e}"),
            }
        }
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
            for (_, feeder) in &mut self.feeders {
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
        if self.feeders.iter().all(|(_, f)| f.exhausted()) && (self.next_epoch > 0 || self.stopping) {
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
