//! The leader's epoch loop for one query: poll the sources, close an epoch on the trigger,
//! and once the dataflow has finished it, hand its output to the sink and report progress.
//!
//! The loop owns the order of things; each rule lives in its own room: the sources' polling
//! and feeding in [`sources`](super::sources), the shape of each output mode in
//! [`output`](super::output), the watermark in [`event_time`](super::event_time), and the
//! progress report in [`progress`](super::progress).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use timely::dataflow::operators::probe::Handle as ProbeHandle;
use tracing::{debug, info};

use super::capture::{take_through, Captured};
use super::dataflow::Built;
use super::event_time::EventTime;
use super::output::{consolidate_sorted, for_mode, is_consolidated, Finish, OutputShape};
use super::progress::{EpochFigures, EpochTimes, StateOperatorProgress};
use super::recovery::compact_in_background;
use super::sources::{EpochOffsets, ReadCounts, Sources};
use super::spec::QuerySpec;
use super::trigger::{Trigger, TIMEOUT_TICK};
use super::workers::Lead;
use crate::checkpoint::{Checkpoint, CommitEntry, EpochMetadata, OffsetEntry};
use crate::compile::Inputs;
use crate::compile::StateOperatorInfo;
use crate::connectors::{Batch, Sink, SinkError, SourceError, SourceEvent, Wake};
use crate::connectors::{OperatorFigures, StateHeld};
use crate::crash::crash_point;
use crate::data::{Row, Schema};
use crate::error::Error;

/// How often the leader looks whether the restored state has come out of the dataflow.
const RESTORE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// An epoch that has been fed and is being computed.
struct InFlight {
    epoch: u64,
    times: EpochTimes,
    offsets: EpochOffsets,
    /// The watermark the epoch runs under.
    watermark: Option<i64>,
}

/// Where the run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Reading and running epochs.
    Running,
    /// Inputs closed; waiting for the dataflow to drain.
    Draining,
    /// Done.
    Finished,
}

/// The leader's state for one query.
pub(super) struct QueryRun {
    spec: Arc<QuerySpec>,
    /// The workers of all processes.
    peers: usize,
    /// The output comes sorted and consolidated (see `Built::sorted_output`).
    sorted_output: bool,
    /// The workers write the output in parts, which the sink commits (see `parts.rs`).
    in_parts: bool,
    /// The parts the workers wrote of the epoch being finished, and any failure to write one.
    parts: Vec<(String, u64)>,
    part_failure: Option<String>,
    schema: Schema,
    sources: Sources,
    inputs: Option<Inputs>,
    probe: ProbeHandle<u64>,
    captured: Captured<Row>,
    /// The buffer the next epoch's output is captured into while this one's is written.
    spare: Vec<(Row, u64, isize)>,
    events: Captured<SourceEvent>,
    /// The last `process_all_available` request the readers were told about.
    drain_seen: u64,
    sink: Option<Box<dyn Sink>>,
    sink_description: String,
    output: Box<dyn OutputShape>,
    /// The sort, limit and steps above them, run on the shaped rows.
    finish: Finish,
    next_epoch: u64,
    in_flight: Option<InFlight>,
    next_tick: Option<Instant>,
    last_trigger: Option<Instant>,
    stage: Stage,
    /// Event time, when the plan has a watermark.
    event_time: Option<EventTime>,
    /// Where offsets are logged before each epoch and commits after, when the query has a
    /// checkpoint.
    checkpoint: Option<Checkpoint>,
    /// The epoch at which restored state comes out of the dataflow (the one before the first
    /// epoch of this run): its output is the restored result, taken in, never written.
    restored_at: Option<u64>,
    /// The state compaction running in the background, if any (joined when the query ends).
    compaction: Option<std::thread::JoinHandle<()>>,
    /// The stateful operators, by the numbers their events carry: what they hold, and what
    /// they did in the epoch being finished.
    state_operators: Vec<OperatorState>,
    /// The aggregation's result rows, counted from its output, for its `numRowsTotal`.
    aggregate_rows: AggregateRows,
    /// The event-time statistics of the epoch being finished, over every worker.
    epoch_event_time: Option<tidewater_operators::EventTimeStats>,
    /// Since when the query has had nothing to do: its start, or its last epoch's end.
    quiet_since: Instant,
    /// Whether the listeners were told of the current quiet stretch.
    idle_reported: bool,
    /// The watermark the last epoch ran under.
    last_epoch_watermark: Option<i64>,
    /// Whether a moving watermark alone calls for an epoch (see `no_data_epoch_due`).
    evicts_by_watermark: bool,
    /// The least time between two epochs under the default trigger, as the sink asks.
    min_epoch_interval: std::time::Duration,
    /// How much processing time after the last epoch's batch time calls for an epoch, when
    /// the plan has processing-time timeouts (see [`TIMEOUT_TICK`]).
    timeout_tick: Option<i64>,
    /// The batch time of the last epoch started, in milliseconds (or of the start).
    last_batch_ms: i64,
    /// The epoch a restart runs again and the batch time its logged offsets recorded: it runs
    /// at that time again, as Spark reruns a batch with its logged `batchTimestampMs`.
    replayed_batch: Option<(u64, i64)>,
}

/// One stateful operator's progress figures, summed over workers.
#[derive(Debug)]
struct OperatorState {
    /// Its name and size of entry.
    info: StateOperatorInfo,
    /// Rows held (over all epochs, for operators that report changes).
    held: i64,
    /// Rows held after this epoch, for operators that report them, summed as they come.
    held_after: Option<u64>,
    /// This epoch's figures.
    updated: u64,
    removed: u64,
    dropped: u64,
}

impl OperatorState {
    /// Adds one worker's figures, `times` times (the event's multiplicity).
    fn add(&mut self, figures: &OperatorFigures, times: u64) {
        match figures.held {
            StateHeld::After(rows) => *self.held_after.get_or_insert(0) += rows * times,
            StateHeld::Change(change) => self.held += change * times as i64,
            StateHeld::Unknown => {}
        }
        self.updated += figures.updated * times;
        self.removed += figures.removed * times;
        self.dropped += figures.dropped_by_watermark * times;
    }

    /// The epoch's report; the epoch's figures start again from zero.
    fn report(&mut self, counted: Option<u64>, counted_updates: u64) -> StateOperatorProgress {
        if let Some(after) = self.held_after.take() {
            self.held = after as i64;
        }
        let total = counted.unwrap_or(self.held.max(0) as u64);
        let updated = std::mem::take(&mut self.updated);
        StateOperatorProgress {
            operator_name: self.info.name.into(),
            num_rows_total: total,
            num_rows_updated: if counted.is_some() {
                counted_updates
            } else {
                updated
            },
            num_rows_removed: std::mem::take(&mut self.removed),
            num_rows_dropped_by_watermark: std::mem::take(&mut self.dropped),
            memory_used_bytes: total * self.info.entry_bytes,
        }
    }
}

/// The result rows an aggregation holds, counted on the driver from the changes it outputs
/// (when the aggregation does not count them itself): every row is a key's current result, so
/// the sum of the diffs is the keys held. Under a watermark, outside complete mode, the
/// state of a window is forgotten once the watermark reaches its end, without a retraction:
/// rows are counted by window end and those the watermark passed are let go, as the
/// operator lets them go. Costs one step per output change, which the driver walks anyway.
#[derive(Debug, Default)]
struct AggregateRows {
    /// Whether an operator's rows are counted here (none is when every stateful operator
    /// counts its own).
    counting: bool,
    /// The output column holding the window, when windows expire.
    window_column: Option<usize>,
    /// Rows without a window (or that never expire).
    rows: i64,
    /// Rows by their window's end.
    by_end: std::collections::BTreeMap<i64, i64>,
}

impl AggregateRows {
    fn add(&mut self, changes: &[(Row, isize)]) {
        if !self.counting {
            return;
        }
        for (row, diff) in changes {
            match self.window_column.and_then(|c| window_end(row.get(c)?)) {
                Some(end) => *self.by_end.entry(end).or_default() += *diff as i64,
                None => self.rows += *diff as i64,
            }
        }
    }

    /// Lets go the windows whose end is at or before `watermark`.
    fn expire(&mut self, watermark: Option<i64>) {
        if let (Some(w), Some(_)) = (watermark, self.window_column) {
            let kept = self.by_end.split_off(&w.saturating_add(1));
            self.by_end = kept;
        }
    }

    fn total(&self) -> u64 {
        (self.rows + self.by_end.values().sum::<i64>()).max(0) as u64
    }
}

/// The end of a window value (a struct of start and end).
fn window_end(value: &crate::data::Value) -> Option<i64> {
    match value {
        crate::data::Value::Struct(fields) => match fields.get(1) {
            Some(crate::data::Value::Timestamp(end)) => Some(*end),
            _ => None,
        },
        _ => None,
    }
}

impl QueryRun {
    /// Opens the sources and takes the sink; a failure to open ends the query at once.
    pub(super) fn start(spec: Arc<QuerySpec>, built: Built, wake: &Wake) -> Self {
        let state_operators = built
            .state_operators
            .iter()
            .map(|info| OperatorState {
                info: info.clone(),
                held: 0,
                held_after: None,
                updated: 0,
                removed: 0,
                dropped: 0,
            })
            .collect();
        let expires_windows = spec.mode != crate::plan::OutputMode::Complete;
        spec.shared.lock().leader = Some(wake.clone());
        let sink = spec.sink.lock().unwrap_or_else(|p| p.into_inner()).take();
        let sink_description = sink.as_ref().map_or_else(String::new, |s| s.description());
        let min_epoch_interval = sink
            .as_ref()
            .map_or(std::time::Duration::ZERO, |s| s.min_epoch_interval());
        let event_time = spec.plan.watermark_delay().map(EventTime::new);
        // The output mode shapes what the dataflow computes; a sort or limit above comes after.
        let dataflow = spec.plan.dataflow_part_for(spec.mode);
        let final_window_column = event_time.as_ref().and_then(|_| dataflow.final_window_column());
        // An aggregation that emits only the windows its watermark closes leaves append mode
        // nothing to hold back.
        let held_window_column = final_window_column.filter(|_| !built.final_rows);
        let (sources, failure) = Sources::open(&spec, wake);
        let checkpoint = spec.checkpoint.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut run = QueryRun {
            schema: spec.plan.schema().clone(),
            sources,
            peers: built.peers,
            sorted_output: built.sorted_output,
            in_parts: built.in_parts,
            parts: Vec::new(),
            part_failure: None,
            inputs: Some(built.inputs),
            probe: built.probe,
            captured: built.captured,
            spare: Vec::new(),
            events: built.events,
            drain_seen: 0,
            sink,
            sink_description,
            output: for_mode(spec.mode, held_window_column),
            finish: Finish::of(&spec.plan, spec.mode),
            next_epoch: 0,
            in_flight: None,
            next_tick: None,
            last_trigger: None,
            stage: Stage::Running,
            event_time,
            checkpoint,
            restored_at: None,
            compaction: None,
            state_operators,
            aggregate_rows: AggregateRows {
                counting: built.state_operators.iter().any(|info| !info.counts_itself),
                window_column: final_window_column.filter(|_| expires_windows),
                ..AggregateRows::default()
            },
            epoch_event_time: None,
            quiet_since: Instant::now(),
            idle_reported: false,
            last_epoch_watermark: None,
            evicts_by_watermark: spec.mode != crate::plan::OutputMode::Complete
                && spec.plan.evicts_by_watermark(),
            min_epoch_interval,
            timeout_tick: spec.plan.has_processing_time_timeouts().then(|| {
                let tick = match spec.trigger {
                    Trigger::ProcessingTime(interval) if !interval.is_zero() => interval,
                    _ => TIMEOUT_TICK,
                };
                i64::try_from(tick.as_millis()).unwrap_or(i64::MAX)
            }),
            last_batch_ms: spec.now_ms(),
            replayed_batch: None,
            spec,
        };
        if let Some(e) = failure {
            run.fail(e.into());
        }
        if let Err(e) = run.recover() {
            run.fail(e.into());
        }
        if run.sink.is_none() {
            run.fail(Error::Runtime("the query's sink was already taken".into()));
        }
        if run.stage == Stage::Running {
            run.spec
                .shared
                .set_status("Waiting for data to arrive", false, false);
        }
        run
    }

    /// Resumes from the checkpoint, if there is one: the epochs it committed are done, and the
    /// one it started but did not commit runs again with the same records.
    fn recover(&mut self) -> Result<(), crate::error::CheckpointError> {
        let Some(checkpoint) = self.checkpoint.as_ref() else {
            return Ok(());
        };
        let recovery = checkpoint.recovery()?;
        self.sources.resume(checkpoint, &recovery)?;
        self.next_epoch = recovery.next_epoch;
        self.replayed_batch = recovery
            .replay
            .as_ref()
            .map(|entry| (recovery.next_epoch, entry.metadata.batch_timestamp_ms));
        if let Some(commit) = &recovery.last_commit {
            self.finish.resume(&commit.rows_through_limits);
        }
        // Timely times are epochs: the inputs start at the first epoch of this run, and what
        // the earlier runs built comes out at the one before it: the restored state, and the
        // static tables, which every run reads whole but which are no new data.
        self.restored_at = recovery.next_epoch.checked_sub(1);
        if let (Some(restored_at), Some(inputs)) = (self.restored_at, self.inputs.as_mut()) {
            if let Err(e) = self.sources.feed_static_at(inputs, restored_at) {
                return Err(crate::error::CheckpointError::Io {
                    path: checkpoint.root().display().to_string(),
                    reason: format!("a static table could not be read again: {e}"),
                });
            }
        }
        for input in self.inputs.iter_mut().flat_map(|inputs| inputs.values_mut()) {
            input.advance_to(recovery.next_epoch);
            // Flushing moves the input's own frontier there too: operators that stamp what
            // they produce with their input's capability (the file reader) see the epoch.
            input.flush();
        }
        if let Some(durable) = &self.spec.durable {
            if let Some(event_time) = self.event_time.as_mut() {
                event_time.resume(&durable.seen_maxima, recovery.watermark());
            }
            self.last_epoch_watermark = recovery.committed_watermark();
        }
        if recovery.next_epoch > 0 || recovery.replay.is_some() {
            info!(
                "query {} resumes from {} at epoch {}{}",
                self.spec.shared.id,
                checkpoint.root().display(),
                recovery.next_epoch,
                if recovery.replay.is_some() {
                    " (run again with the records it took before the stop)"
                } else {
                    ""
                }
            );
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) {
        self.spec.shared.fail(error);
        self.close_inputs();
    }

    /// Closes the inputs (the dataflow then drains and completes) and lets the readers go.
    fn close_inputs(&mut self) {
        self.inputs = None;
        self.sources.close();
        if self.stage == Stage::Running {
            self.stage = Stage::Draining;
        }
    }

    /// The watermark in force, if the query has one.
    fn watermark(&self) -> Option<i64> {
        self.event_time.as_ref().and_then(EventTime::watermark)
    }

    /// Whether the watermark alone calls for an epoch (Spark's no-data batch): a window it
    /// closes, or, as in Spark's append and update modes, any move of the watermark when a
    /// stateful operator evicts by it.
    /// A plan with processing-time timeouts also runs an epoch once a tick of processing time
    /// has passed since the last one, as Spark runs a no-data batch while such timeouts may
    /// be pending.
    fn no_data_epoch_due(&self) -> bool {
        let watermark = self.watermark();
        self.output.epoch_due(watermark)
            || (self.evicts_by_watermark && watermark > self.last_epoch_watermark)
            || self.tick_wait().is_some_and(|wait| wait <= 0)
    }

    /// Milliseconds until processing time alone calls for an epoch, if it ever does.
    fn tick_wait(&self) -> Option<i64> {
        let tick = self.timeout_tick?;
        Some(
            self.last_batch_ms
                .saturating_add(tick)
                .saturating_sub(self.spec.now_ms()),
        )
    }

    /// Does whatever is due now without blocking; returns when it next needs to act, if it
    /// knows (otherwise a wake-up or timely activity will bring the worker back).
    pub(super) fn step(&mut self, now: Instant) -> Option<Instant> {
        if self.stage == Stage::Finished {
            return None;
        }
        let drain_request = self.spec.shared.drain_requested();
        if drain_request > self.drain_seen {
            self.drain_seen = drain_request;
            self.sources.discover_now();
        }
        if self.stage == Stage::Running && self.spec.shared.stop_requested() {
            info!("query {} stopping on request", self.spec.shared.id);
            self.close_inputs();
        }
        if let Some(epoch) = self.in_flight.as_ref().map(|f| f.epoch) {
            if !self.probe.less_equal(&epoch) {
                self.complete_epoch();
            }
        }
        if self.stage == Stage::Draining {
            // The handle is told the query ended only after the workers (and, in a cluster,
            // timely's network threads) have shut down: see `runtime::launch`. Ending the
            // process any earlier cuts the other processes off mid-shutdown.
            if self.probe.done() {
                if let Some(compaction) = self.compaction.take() {
                    // A compaction cut off loses nothing, but one that finishes is worth its wait.
                    let _ = compaction.join();
                }
                self.stage = Stage::Finished;
                self.spec.shared.set_status("Stopped", false, false);
            }
            return None;
        }
        let polled = Instant::now();
        if let Err(e) = self.sources.poll() {
            self.fail(e.into());
        }
        let latest_offset_ms = polled.elapsed().as_millis() as u64;
        let readers_due = self.sources.next_poll();
        if self.stage != Stage::Running || self.in_flight.is_some() {
            return readers_due;
        }
        if let Some(restored_at) = self.restored_at {
            if self.probe.less_equal(&restored_at) {
                // The restored state is still coming out of the dataflow: no epoch before it
                // is in, since what the output mode keeps (and a no-data epoch) depends on it.
                return Some(now + RESTORE_POLL);
            }
            self.take_in_restored(restored_at);
        }
        let data_waiting = self.no_data_epoch_due() || self.sources.any_waiting();
        let all_exhausted = self.sources.all_exhausted();
        match self.spec.trigger {
            Trigger::ProcessingTime(interval) if data_waiting && !interval.is_zero() => {
                let tick = *self.next_tick.get_or_insert(now);
                if now < tick {
                    return Some(readers_due.map_or(tick, |due| due.min(tick)));
                }
                // The next boundary after now: missed intervals are skipped, as in Spark.
                let mut next = tick + interval;
                while next <= now {
                    next += interval;
                }
                self.next_tick = Some(next);
                self.start_epoch(now, latest_offset_ms);
            }
            // Once: a single epoch, after every source has handed over what it had at start.
            Trigger::Once if !all_exhausted => {}
            // The default trigger starts an epoch as soon as data waits, but no sooner than
            // the sink's least epoch interval after the previous one (file sinks: fewer files).
            Trigger::Default if data_waiting => {
                let due = self.last_trigger.map(|last| last + self.min_epoch_interval);
                match due {
                    Some(due) if now < due => {
                        return Some(readers_due.map_or(due, |readers| readers.min(due)));
                    }
                    _ => self.start_epoch(now, latest_offset_ms),
                }
            }
            _ if data_waiting => self.start_epoch(now, latest_offset_ms),
            _ => {}
        }
        let idle = self.in_flight.is_none() && !self.no_data_epoch_due() && !self.sources.any_waiting();
        if idle && all_exhausted {
            debug!(
                "query {}: every source is exhausted; finishing",
                self.spec.shared.id
            );
            self.close_inputs();
        } else if idle {
            self.spec
                .shared
                .set_status("Waiting for data to arrive", false, false);
            // Listeners hear of the quiet stretch before `process_all_available` returns.
            let mut idle_due = None;
            if !self.idle_reported {
                let due = self.quiet_since + self.spec.shared.idle_after();
                // Not `now`: the epoch that just completed may have ended after it.
                if Instant::now() >= due {
                    self.idle_reported = true;
                    self.spec.shared.report_idle();
                } else {
                    idle_due = Some(due);
                }
            }
            self.spec.shared.drained(drain_request);
            if let Some(due) = idle_due {
                return Some(readers_due.map_or(due, |at| at.min(due)));
            }
        }
        if self.spec.trigger == Trigger::Once && self.next_epoch > 0 && self.in_flight.is_none() {
            self.close_inputs();
        }
        // On the wall clock, come back when the next tick is due; a manual clock is moved by
        // the program, which then asks for the epochs it calls for.
        let tick_due = match (&self.spec.clock, self.tick_wait()) {
            (None, Some(wait)) if self.in_flight.is_none() => {
                Some(now + std::time::Duration::from_millis(wait.max(1) as u64))
            }
            _ => None,
        };
        match (readers_due, tick_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes in the restored result, which came out of the dataflow at epoch `restored_at`:
    /// what the output mode keeps between epochs (complete mode's table, append mode's open
    /// windows) starts from it. It is not written: the sink wrote it before the restart.
    fn take_in_restored(&mut self, restored_at: u64) {
        self.restored_at = None;
        take_through(&self.captured, restored_at, &mut self.spare);
        let restored = consolidate_sorted(self.spare.drain(..).map(|(row, _, diff)| (row, diff)).collect());
        info!(
            "query {}: took in the restored result of epoch {restored_at} ({} rows)",
            self.spec.shared.id,
            restored.len()
        );
        self.aggregate_rows.add(&restored);
        self.output.restore(restored);
        // No source feeds that epoch, so it has no events; whatever is there is let go, but
        // for the keys a stateful function or a deduplication restored, which they hold from
        // now on.
        let mut events = Vec::new();
        take_through(&self.events, restored_at, &mut events);
        for (event, _, diff) in events {
            if let SourceEvent::StateOperator { operator, figures } = event {
                if let (Some(state), StateHeld::Change(change)) =
                    (self.state_operators.get_mut(operator), figures.held)
                {
                    state.held += change * diff as i64;
                }
            }
        }
    }

    /// Feeds the waiting rows as epoch `next_epoch` and closes that epoch.
    fn start_epoch(&mut self, now: Instant, latest_offset_ms: u64) {
        if self.inputs.is_none() {
            return;
        }
        let epoch = self.next_epoch;
        let input = self.sources.take();
        let wal_started = Instant::now();
        // The epoch's batch time, which every worker of this process reads for it.
        let batch_ms = match self.replayed_batch.take() {
            Some((replayed, ms)) if replayed == epoch => ms,
            _ => self.spec.now_ms(),
        };
        self.spec.batch_times.record(epoch, batch_ms);
        self.last_batch_ms = batch_ms;
        if let Some(checkpoint) = self.checkpoint.as_ref() {
            // The offsets are durable before the epoch can produce anything.
            let watermark = self.watermark();
            let entry = OffsetEntry {
                metadata: EpochMetadata {
                    batch_watermark_ms: watermark.map_or(0, |w| w.div_euclid(1000)),
                    batch_watermark_micros: watermark,
                    batch_timestamp_ms: batch_ms,
                    conf: Default::default(),
                },
                sources: Vec::new(),
            };
            if let Err(e) = self.sources.log(&input, epoch, checkpoint, entry) {
                self.fail(e.into());
                return;
            }
            crash_point("after-offsets", epoch);
        }
        let Some(inputs) = self.inputs.as_mut() else {
            return;
        };
        let offsets = self
            .sources
            .feed(input, inputs, self.spec.local_workers, self.peers);
        for input in inputs.values_mut() {
            input.advance_to(epoch + 1);
            input.flush();
        }
        let since_previous_trigger = self
            .last_trigger
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.last_trigger = Some(now);
        self.in_flight = Some(InFlight {
            epoch,
            times: EpochTimes {
                triggered: now,
                latest_offset_ms,
                since_previous_trigger,
                wal_commit_ms: wal_started.elapsed().as_millis() as u64,
                commit_offsets_ms: 0,
            },
            offsets,
            watermark: self.watermark(),
        });
        self.last_epoch_watermark = self.watermark();
        self.idle_reported = false;
        self.spec.shared.set_status("Processing new data", true, true);
    }

    /// The probe has passed the in-flight epoch: its output is all here.
    fn complete_epoch(&mut self) {
        let Some(mut flight) = self.in_flight.take() else {
            return;
        };
        take_through(&self.captured, flight.epoch, &mut self.spare);
        // Every worker has run the epoch: its batch time and those before are read no more.
        self.spec.batch_times.forget_before(flight.epoch + 1);
        // The aggregation's gather hands each time's output over sorted and consolidated:
        // checking that again would cost a comparison of rows per change, on this worker
        // alone. Output of several times (a restored epoch's with the first one's) is merged.
        let one_time = self.spare.first().map(|(_, time, _)| *time);
        let as_gathered = self.sorted_output && self.spare.iter().all(|(_, time, _)| Some(*time) == one_time);
        let changes: Vec<(Row, isize)> = self.spare.drain(..).map(|(row, _, diff)| (row, diff)).collect();
        let changes = if as_gathered {
            debug_assert!(
                is_consolidated(&changes),
                "the gathered output is sorted and consolidated"
            );
            changes
        } else {
            consolidate_sorted(changes)
        };
        let counts = match self.take_events(flight.epoch) {
            Ok(counts) => counts,
            Err(e) => {
                // A FAILFAST record, an unreadable file, or an expression that failed under
                // ANSI mode: the epoch is not written.
                self.next_epoch = flight.epoch + 1;
                self.fail(e);
                return;
            }
        };
        let rows_updated = changes.iter().filter(|(_, d)| *d > 0).count() as u64;
        self.aggregate_rows.add(&changes);
        let rows = self.output.shape(changes, self.watermark());
        let rows = self.finish.apply(rows);
        self.next_epoch = flight.epoch + 1;
        // What runs after the dataflow (a projection above a sort, in complete mode) runs on
        // this thread: an ANSI error there stops the query before the epoch is written too.
        if let Some(error) = self.spec.failures.as_ref().and_then(|slot| slot.take()) {
            self.fail(error.into());
            return;
        }
        let written = if self.in_parts {
            self.commit_parts(flight.epoch)
        } else {
            self.write(flight.epoch, &rows).map(|()| rows.len() as u64)
        };
        let output_rows = match written {
            Ok(output_rows) => output_rows,
            Err(e) => {
                self.fail(e.into());
                return;
            }
        };
        let epoch_stats = self.epoch_event_time.take();
        let event_time = self
            .event_time
            .as_ref()
            .map(|e| e.progress(epoch_stats))
            .unwrap_or_default();
        if let Some(event_time) = self.event_time.as_mut() {
            event_time.finish(flight.epoch);
        }
        // The commit records the next epoch's watermark, now known.
        let committing = Instant::now();
        if let Err(e) = self.commit(flight.epoch, &flight.offsets, flight.watermark) {
            self.fail(e);
            return;
        }
        flight.times.commit_offsets_ms = committing.elapsed().as_millis() as u64;
        // The aggregation forgets the windows the watermark it ran under closed.
        self.aggregate_rows.expire(flight.watermark);
        // One entry per stateful operator, in build order (inputs first). An aggregation's
        // rows are counted here, from its output.
        // Complete mode's table holds exactly the aggregation's rows.
        let aggregate_rows = self
            .output
            .rows_held()
            .unwrap_or_else(|| self.aggregate_rows.total());
        let state_operators = self
            .state_operators
            .iter_mut()
            .map(|state| {
                let counted = (!state.info.counts_itself).then_some(aggregate_rows);
                state.report(counted, rows_updated)
            })
            .collect();
        let figures = EpochFigures {
            epoch: flight.epoch,
            sources: self.sources.progress(&flight.offsets, &counts, &flight.times),
            times: flight.times,
            state_operators,
            event_time,
            sink: self.sink_description.clone(),
            output_rows,
        };
        self.spec
            .shared
            .record_progress(figures.report(&self.spec.shared));
        self.quiet_since = Instant::now();
    }

    /// Hands an epoch's rows to the sink. Sinks run user code (`foreach_batch`): a panic there
    /// fails the query instead of killing worker 0, which the other workers would then wait
    /// for forever.
    fn write(&mut self, epoch: u64, rows: &[Row]) -> Result<(), SinkError> {
        let batch = Batch {
            id: epoch,
            schema: &self.schema,
            rows,
            mode: self.spec.mode,
        };
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        std::panic::catch_unwind(AssertUnwindSafe(|| sink.add_batch(&batch))).unwrap_or_else(|panic| {
            Err(SinkError::UserFunction {
                batch_id: epoch,
                reason: format!("panicked: {}", panic_message(panic.as_ref())),
            })
        })
    }

    /// Has the sink commit the parts the workers wrote of `epoch` (in name order, so the log
    /// is the same for any arrival order), and returns the rows they hold.
    fn commit_parts(&mut self, epoch: u64) -> Result<u64, SinkError> {
        let mut parts = std::mem::take(&mut self.parts);
        if let Some(reason) = self.part_failure.take() {
            return Err(SinkError::Write {
                sink_name: self.sink_description.clone(),
                batch_id: epoch,
                reason,
            });
        }
        parts.sort();
        let rows = parts.iter().map(|(_, rows)| rows).sum();
        let mode = self.spec.mode;
        let Some(sink) = self.sink.as_mut() else {
            return Ok(rows);
        };
        sink.commit_parts(epoch, mode, &parts)?;
        Ok(rows)
    }

    /// After the sink has taken `epoch`: records the commit in the checkpoint, then lets the
    /// sources clean up what the epoch read (`cleanSource`), which a restart no longer needs.
    fn commit(&mut self, epoch: u64, offsets: &EpochOffsets, watermark: Option<i64>) -> Result<(), Error> {
        if let Some(checkpoint) = self.checkpoint.as_ref() {
            let failure = self
                .spec
                .durable
                .as_ref()
                .and_then(|durable| durable.failure.lock().unwrap_or_else(|p| p.into_inner()).take());
            if let Some(e) = failure {
                // The epoch's state is not durable: it must not be committed.
                return Err(e.into());
            }
            crash_point("before-commit", epoch);
            let next_watermark = self.watermark();
            let entry = CommitEntry {
                next_batch_watermark_ms: next_watermark.map_or(0, |w| w.div_euclid(1000)),
                next_batch_watermark_micros: next_watermark,
                rows_through_limits: self.finish.rows_through_limits(),
            };
            let first_kept = checkpoint.commit(epoch, &entry)?;
            self.sources.purge_logs(checkpoint, first_kept)?;
            crash_point("after-commit", epoch);
            self.compact_every_so_often(epoch, watermark);
        }
        self.sources.committed(offsets)?;
        Ok(())
    }

    /// Every `snapshot_every` committed epochs, compacts the state into a snapshot in the
    /// background, so that a restore reads the state and a few epochs of changes, not the
    /// whole history. One compaction runs at a time: one still running when the next is due
    /// (it had `snapshot_every` epochs to finish) is waited for. `watermark` is the one the
    /// committed epoch ran under: the windows it closed are left out of the snapshot.
    fn compact_every_so_often(&mut self, committed: u64, watermark: Option<i64>) {
        let Some(durable) = self.spec.durable.as_ref() else {
            return;
        };
        if !(committed + 1).is_multiple_of(durable.snapshot_every) {
            return;
        }
        if let Some(running) = self.compaction.take() {
            let _ = running.join();
        }
        let settings = crate::compile::Settings {
            output_mode: self.spec.mode,
            broadcast_threshold: self.spec.broadcast_threshold,
            join_state_format: self.spec.join_state_format,
        };
        self.compaction = compact_in_background(
            self.spec.plan.clone(),
            settings,
            durable.store.clone(),
            committed,
            watermark,
        );
    }

    /// Takes the epoch's source events: what each source read, or the failure that must stop
    /// the query. Event-time maxima go to the watermark.
    fn take_events(&mut self, epoch: u64) -> Result<Vec<ReadCounts>, Error> {
        let mut counts = vec![ReadCounts::default(); self.sources.len()];
        let mut events = Vec::new();
        take_through(&self.events, epoch, &mut events);
        let mut failure = None;
        let mut eval_failure: Option<crate::error::EvalError> = None;
        for (event, time, diff) in events {
            let times = diff.max(0) as u64;
            match event {
                SourceEvent::Rows { source, rows } => {
                    if let Some(c) = counts.get_mut(source) {
                        c.rows += rows * times;
                    }
                }
                SourceEvent::Malformed { source, records } => {
                    if let Some(c) = counts.get_mut(source) {
                        c.malformed += records * times;
                    }
                }
                SourceEvent::StateOperator { operator, figures } => {
                    if let Some(state) = self.state_operators.get_mut(operator) {
                        state.add(&figures, times);
                    }
                }
                SourceEvent::EventTimeStats { stats } => {
                    // Equal figures of several workers arrive as one event, `times` over.
                    let copies = if time == epoch { times } else { 0 };
                    for _ in 0..copies {
                        self.epoch_event_time = Some(match self.epoch_event_time {
                            Some(seen) => seen.merge(stats),
                            None => stats,
                        });
                    }
                }
                SourceEvent::MaxEventTime { micros } => {
                    if let Some(event_time) = self.event_time.as_mut() {
                        event_time.saw(micros, time);
                    }
                }
                SourceEvent::Failed { message, .. } => {
                    // Several workers may fail at once; report one, the same every run.
                    if failure.as_ref().is_none_or(|f: &String| message < *f) {
                        failure = Some(message);
                    }
                }
                SourceEvent::PartWritten { name, rows } => {
                    if time == epoch {
                        self.parts.push((name, rows));
                    }
                }
                SourceEvent::PartFailed { message } => {
                    if self.part_failure.as_ref().is_none_or(|f: &String| message < *f) {
                        self.part_failure = Some(message);
                    }
                }
                SourceEvent::EvalFailed { error } => {
                    if eval_failure.as_ref().is_none_or(|f| error < *f) {
                        eval_failure = Some(error);
                    }
                }
            }
        }
        match (failure, eval_failure) {
            (Some(message), _) => Err(SourceError::Malformed(message).into()),
            (None, Some(error)) => Err(error.into()),
            (None, None) => Ok(counts),
        }
    }
}

/// All the queries of one run, driven by the leader worker in turn.
pub(super) struct Queries(pub(super) Vec<QueryRun>);

impl Lead for Queries {
    fn step(&mut self, now: Instant) -> Option<Instant> {
        let mut deadline: Option<Instant> = None;
        for run in self.0.iter_mut() {
            if let Some(at) = run.step(now) {
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
        }
        deadline
    }

    fn finished(&self) -> bool {
        self.0.iter().all(|run| run.stage == Stage::Finished)
    }
}

/// The text of a panic's payload (a `&str` or a `String`), if it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
