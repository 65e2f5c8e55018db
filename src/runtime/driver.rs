//! The leader's epoch driver for one query: poll sources, close epochs on the trigger, hand
//! each finished epoch's output to the sink in the shape of the output mode, report progress.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use timely::dataflow::operators::probe::Handle as ProbeHandle;
use tracing::{debug, info};

use super::open_windows::OpenWindows;
use super::progress::{QueryProgress, SinkProgress, SourceProgress, StateOperatorProgress};
use super::spec::QuerySpec;
use super::trigger::Trigger;
use super::worker::Built;
use crate::compile::{deal_shares, Inputs};
use crate::connectors::{Batch, ReadStatus, Sink, SinkError, SourceError, SourceEvent, SourceReader, Wake};
use crate::data::{Row, Schema};
use crate::error::Error;
use crate::plan::{OutputMode, SourceId};

/// The output changes captured on the leader: `(row, epoch, diff)`.
pub(super) type Captured = Rc<RefCell<Vec<(Row, u64, isize)>>>;

/// The source events captured on the leader: `(event, epoch, diff)`.
pub(super) type CapturedEvents = Rc<RefCell<Vec<(SourceEvent, u64, isize)>>>;

/// One source as the leader sees it.
struct SourceRun {
    id: SourceId,
    description: String,
    reader: Option<Box<dyn SourceReader>>,
    exhausted: bool,
    /// What its reader has handed over for the next epoch.
    waiting: Waiting,
    /// Records handed to the dataflow so far (the source's offset).
    consumed: u64,
    /// The most records one epoch takes from this source.
    limit: usize,
    /// Records are work items (files) read inside the dataflow: rows are counted there.
    partitioned: bool,
}

/// The records a source's reader has handed over and no epoch has taken yet.
enum Waiting {
    /// Rows polled from the reader.
    Rows(Vec<Row>),
    /// How many rows were claimed from a source whose workers read them by offset
    /// ([`Source::local_rows`](crate::connectors::Source::local_rows)).
    Claimed(usize),
}

impl Waiting {
    fn len(&self) -> usize {
        match self {
            Waiting::Rows(rows) => rows.len(),
            Waiting::Claimed(n) => *n,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn clear(&mut self) {
        match self {
            Waiting::Rows(rows) => rows.clear(),
            Waiting::Claimed(n) => *n = 0,
        }
    }
}

/// An epoch that has been fed and is being computed.
struct InFlight {
    epoch: u64,
    triggered: Instant,
    latest_offset_ms: u64,
    rows: Vec<u64>,
    start_offsets: Vec<u64>,
    since_previous_trigger: f64,
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
    schema: Schema,
    sources: Vec<SourceRun>,
    inputs: Option<Inputs>,
    probe: ProbeHandle<u64>,
    captured: Captured,
    /// The buffer the next epoch's output is captured into while this one's is written.
    spare: Vec<(Row, u64, isize)>,
    events: CapturedEvents,
    /// The last `process_all_available` request the readers were told about.
    drain_seen: u64,
    sink: Option<Box<dyn Sink>>,
    sink_description: String,
    /// The result table, kept for complete mode (sorted, with multiplicities).
    table: BTreeMap<Row, isize>,
    next_epoch: u64,
    in_flight: Option<InFlight>,
    next_tick: Option<Instant>,
    last_trigger: Option<Instant>,
    stage: Stage,
    /// Event time, when the plan has a watermark.
    event_time: Option<EventTime>,
}

/// The event-time state of a query with a watermark.
struct EventTime {
    /// How late an event may be, microseconds.
    delay: i64,
    /// The greatest event time seen so far.
    max: Option<i64>,
    /// The watermark of the next epoch: `max - delay` as of the epochs before it, never falling.
    watermark: Option<i64>,
    /// Append mode over windows: the rows of the windows not yet written, by the window
    /// (whose end tells when a row is final).
    open_windows: Option<OpenWindows>,
    /// The watermark has moved past the end of a window still waiting: an epoch is due even
    /// without new data, to write it (Spark's no-data batch).
    epoch_due: bool,
}

impl QueryRun {
    /// Opens the sources and takes the sink; a failure to open ends the query at once.
    pub(super) fn start(spec: Arc<QuerySpec>, built: Built, wake: &Wake) -> Self {
        spec.shared.lock().leader = Some(wake.clone());
        let sink = spec.sink.lock().unwrap_or_else(|p| p.into_inner()).take();
        let sink_description = sink.as_ref().map_or_else(String::new, |s| s.description());
        let mut run = QueryRun {
            schema: spec.plan.schema().clone(),
            sources: Vec::new(),
            inputs: Some(built.inputs),
            probe: built.probe,
            captured: built.captured,
            spare: Vec::new(),
            events: built.events,
            drain_seen: 0,
            sink,
            sink_description,
            table: BTreeMap::new(),
            next_epoch: 0,
            in_flight: None,
            next_tick: None,
            last_trigger: None,
            stage: Stage::Running,
            event_time: spec.plan.watermark_delay().map(|delay| EventTime {
                delay,
                max: None,
                watermark: None,
                open_windows: (spec.mode == OutputMode::Append)
                    .then(|| spec.plan.final_window_column())
                    .flatten()
                    .map(OpenWindows::new),
                epoch_due: false,
            }),
            spec,
        };
        for (id, source) in run.spec.plan.sources() {
            let description = source.description();
            // Once takes everything available in one epoch, ignoring rate limits (as Spark's
            // Trigger.Once does); a cap would leave the source unexhausted and the query waiting.
            let limit = if run.spec.trigger == Trigger::Once {
                usize::MAX
            } else {
                source
                    .max_per_epoch()
                    .unwrap_or(run.spec.max_rows_per_epoch)
                    .max(1)
            };
            let partitioned = source.partition_reader().is_some();
            let waiting = match source.local_rows() {
                Some(_) => Waiting::Claimed(0),
                None => Waiting::Rows(Vec::new()),
            };
            let reader = match source.open(wake.clone()) {
                Ok(mut reader) => {
                    if run.spec.trigger.is_bounded() {
                        reader.end_at_available_now();
                    }
                    Some(reader)
                }
                Err(e) => {
                    run.fail(e.into());
                    None
                }
            };
            run.sources.push(SourceRun {
                id,
                description,
                exhausted: reader.is_none(),
                reader,
                waiting,
                consumed: 0,
                limit,
                partitioned,
            });
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

    pub(super) fn finished(&self) -> bool {
        self.stage == Stage::Finished
    }

    fn fail(&mut self, error: Error) {
        self.spec.shared.fail(error);
        self.close_inputs();
    }

    /// Closes the inputs (the dataflow then drains and completes) and lets the readers go.
    fn close_inputs(&mut self) {
        self.inputs = None;
        for source in &mut self.sources {
            source.reader = None;
            source.waiting.clear();
        }
        if self.stage == Stage::Running {
            self.stage = Stage::Draining;
        }
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
            for reader in self.sources.iter_mut().filter_map(|s| s.reader.as_mut()) {
                reader.discover_now();
            }
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
                self.stage = Stage::Finished;
                self.spec.shared.set_status("Stopped", false, false);
            }
            return None;
        }
        let polled = Instant::now();
        self.poll_sources();
        let latest_offset_ms = polled.elapsed().as_millis() as u64;
        let readers_due = self
            .sources
            .iter()
            .filter_map(|s| s.reader.as_ref().and_then(|r| r.next_poll()))
            .min();
        if self.stage != Stage::Running || self.in_flight.is_some() {
            return readers_due;
        }
        let epoch_due = self.event_time.as_ref().is_some_and(|e| e.epoch_due);
        let data_waiting = epoch_due || self.sources.iter().any(|s| !s.waiting.is_empty());
        let all_exhausted = self.sources.iter().all(|s| s.exhausted);
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
            _ if data_waiting => self.start_epoch(now, latest_offset_ms),
            _ => {}
        }
        let epoch_due = self.event_time.as_ref().is_some_and(|e| e.epoch_due);
        let idle =
            self.in_flight.is_none() && !epoch_due && self.sources.iter().all(|s| s.waiting.is_empty());
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
            self.spec.shared.drained(drain_request);
        }
        if self.spec.trigger == Trigger::Once && self.next_epoch > 0 && self.in_flight.is_none() {
            self.close_inputs();
        }
        readers_due
    }

    fn poll_sources(&mut self) {
        let mut failure = None;
        for source in &mut self.sources {
            let room = source.limit.saturating_sub(source.waiting.len());
            let Some(reader) = source.reader.as_mut().filter(|_| room > 0) else {
                continue;
            };
            let polled = match &mut source.waiting {
                Waiting::Claimed(claimed) => reader.claim(room).map(|(n, status)| {
                    *claimed += n;
                    status
                }),
                Waiting::Rows(rows) => reader.poll(rows, room),
            };
            match polled {
                Ok(ReadStatus::Open) => {}
                Ok(ReadStatus::Exhausted) => {
                    source.exhausted = true;
                    source.reader = None;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            self.fail(e.into());
        }
    }

    /// Feeds the waiting rows as epoch `next_epoch` and closes that epoch.
    fn start_epoch(&mut self, now: Instant, latest_offset_ms: u64) {
        let Some(inputs) = self.inputs.as_mut() else {
            return;
        };
        let epoch = self.next_epoch;
        let mut rows = Vec::with_capacity(self.sources.len());
        let mut start_offsets = Vec::with_capacity(self.sources.len());
        for source in self.sources.iter_mut() {
            start_offsets.push(source.consumed);
            let Some(input) = inputs.get_mut(&source.id) else {
                continue;
            };
            let take = source.waiting.len().min(source.limit);
            let n = take as u64;
            match &mut source.waiting {
                Waiting::Claimed(claimed) => {
                    *claimed -= take;
                    let offsets = source.consumed..source.consumed + n;
                    deal_shares(offsets, self.spec.local_workers, |share| input.insert(share));
                }
                Waiting::Rows(rows) => rows.drain(..take).for_each(|row| input.insert(row)),
            }
            source.consumed += n;
            rows.push(n);
        }
        for input in inputs.values_mut() {
            input.advance_to(epoch + 1);
            input.flush();
        }
        if let Some(event_time) = self.event_time.as_mut() {
            event_time.epoch_due = false;
        }
        let since_previous_trigger = self
            .last_trigger
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        self.last_trigger = Some(now);
        self.in_flight = Some(InFlight {
            epoch,
            triggered: now,
            latest_offset_ms,
            rows,
            start_offsets,
            since_previous_trigger,
        });
        self.spec.shared.set_status("Processing new data", true, true);
    }

    /// The probe has passed the in-flight epoch: its output is all here.
    fn complete_epoch(&mut self) {
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        let changes: Vec<(Row, isize)> = {
            let mut captured = self.captured.borrow_mut();
            // The epoch's updates move to the spare buffer and the two swap roles, so neither
            // regrows from empty every epoch.
            let epoch = flight.epoch;
            if captured.iter().all(|(_, t, _)| *t <= epoch) {
                std::mem::swap(&mut *captured, &mut self.spare);
            } else {
                let (now, later): (Vec<_>, Vec<_>) = captured.drain(..).partition(|(_, t, _)| *t <= epoch);
                *captured = later;
                self.spare = now;
            }
            self.spare.drain(..).map(|(row, _, diff)| (row, diff)).collect()
        };
        let changes = consolidate_sorted(changes);
        let source_counts = match self.take_events(flight.epoch) {
            Ok(counts) => counts,
            Err(e) => {
                // A FAILFAST record or an unreadable file: the epoch is not written.
                self.next_epoch = flight.epoch + 1;
                self.fail(e.into());
                return;
            }
        };
        let rows_updated = changes.iter().filter(|(_, d)| *d > 0).count() as u64;
        let rows = self.shape_output(changes);
        let batch = Batch {
            id: flight.epoch,
            schema: &self.schema,
            rows: &rows,
            mode: self.spec.mode,
        };
        // Sinks run user code (foreach_batch): a panic there must fail the query, not kill
        // worker 0 (the other workers would then wait for it forever).
        let written = match self.sink.as_mut() {
            Some(sink) => std::panic::catch_unwind(AssertUnwindSafe(|| sink.add_batch(&batch)))
                .unwrap_or_else(|panic| {
                    Err(SinkError::UserFunction {
                        batch_id: batch.id,
                        reason: format!("panicked: {}", panic_message(panic.as_ref())),
                    })
                }),
            None => Ok(()),
        };
        self.next_epoch = flight.epoch + 1;
        if let Err(e) = written {
            self.fail(e.into());
            return;
        }
        let event_time = self.event_time_progress();
        self.advance_watermark();
        self.report(
            flight,
            rows.len() as u64,
            rows_updated,
            &source_counts,
            event_time,
        );
    }

    /// Takes the epoch's source events: `(rows read, malformed records)` per source, or the
    /// failure that must stop the query.
    fn take_events(&mut self, epoch: u64) -> Result<Vec<(u64, u64)>, SourceError> {
        let mut counts = vec![(0u64, 0u64); self.sources.len()];
        let mut events = self.events.borrow_mut();
        let (now, later): (Vec<_>, Vec<_>) = events.drain(..).partition(|(_, t, _)| *t <= epoch);
        *events = later;
        let mut failure = None;
        for (event, _, diff) in now {
            let times = diff.max(0) as u64;
            match event {
                SourceEvent::Rows { source, rows } => {
                    if let Some(c) = counts.get_mut(source) {
                        c.0 += rows * times;
                    }
                }
                SourceEvent::Malformed { source, records } => {
                    if let Some(c) = counts.get_mut(source) {
                        c.1 += records * times;
                    }
                }
                SourceEvent::MaxEventTime { micros } => {
                    if let Some(event_time) = self.event_time.as_mut() {
                        event_time.max = Some(event_time.max.map_or(micros, |m| m.max(micros)));
                    }
                }
                SourceEvent::Failed { message, .. } => {
                    // Several workers may fail at once; report one, the same every run.
                    if failure.as_ref().is_none_or(|f: &String| message < *f) {
                        failure = Some(message);
                    }
                }
            }
        }
        match failure {
            Some(message) => Err(SourceError::Malformed(message)),
            None => Ok(counts),
        }
    }

    /// Turns an epoch's consolidated changes into what the output mode writes, sorted.
    /// `changes` must be consolidated and sorted by row (see [`consolidate_sorted`]); the
    /// result is sorted too.
    fn shape_output(&mut self, changes: Vec<(Row, isize)>) -> Vec<Row> {
        let repeat = |rows: &mut Vec<Row>, row: &Row, times: isize| {
            rows.extend(std::iter::repeat_n(row, times.max(0) as usize).cloned())
        };
        let mut rows = Vec::new();
        let final_windows = self
            .event_time
            .as_mut()
            .and_then(|e| e.open_windows.as_mut().map(|open| (open, e.watermark)));
        match (self.spec.mode, final_windows) {
            // Windows are written once, when the watermark has passed their end; until then
            // their rows wait.
            (OutputMode::Append, Some((open, watermark))) => {
                open.apply(changes);
                for (row, count) in watermark.map(|w| open.close(w)).unwrap_or_default() {
                    repeat(&mut rows, &row, count);
                }
            }
            (OutputMode::Append, None) => {
                for (row, diff) in &changes {
                    repeat(&mut rows, row, *diff);
                }
            }
            (OutputMode::Update, _) => {
                rows.extend(changes.into_iter().filter(|(_, d)| *d > 0).map(|(r, _)| r));
            }
            (OutputMode::Complete, _) => {
                self.apply_to_table(changes);
                for (row, count) in &self.table {
                    repeat(&mut rows, row, *count);
                }
            }
        }
        rows
    }

    /// The epoch's `eventTime` progress: the watermark in force and the greatest event time.
    fn event_time_progress(&self) -> BTreeMap<String, String> {
        let Some(event_time) = &self.event_time else {
            return BTreeMap::new();
        };
        let mut progress = BTreeMap::from([(
            "watermark".to_string(),
            iso_time(event_time.watermark.unwrap_or(0)),
        )]);
        if let Some(max) = event_time.max {
            progress.insert("max".to_string(), iso_time(max));
        }
        progress
    }

    /// Adds an epoch's changes to the result table.
    fn apply_to_table(&mut self, changes: Vec<(Row, isize)>) {
        use std::collections::btree_map::Entry;
        for (row, diff) in changes {
            match self.table.entry(row) {
                Entry::Occupied(mut count) => {
                    *count.get_mut() += diff;
                    if *count.get() == 0 {
                        count.remove();
                    }
                }
                Entry::Vacant(vacant) => {
                    if diff != 0 {
                        vacant.insert(diff);
                    }
                }
            }
        }
    }

    /// After an epoch: the watermark of the next one, from the greatest event time seen so
    /// far; and whether it finalizes a waiting window, which calls for an epoch even without
    /// data.
    fn advance_watermark(&mut self) {
        let Some(event_time) = self.event_time.as_mut() else {
            return;
        };
        if let Some(max) = event_time.max {
            let candidate = max - event_time.delay;
            event_time.watermark = Some(event_time.watermark.map_or(candidate, |w| w.max(candidate)));
        }
        if let (Some(open), Some(watermark)) = (&event_time.open_windows, event_time.watermark) {
            event_time.epoch_due = open.any_closed_by(watermark);
        }
    }

    fn report(
        &mut self,
        flight: InFlight,
        output_rows: u64,
        rows_updated: u64,
        source_counts: &[(u64, u64)],
        event_time: BTreeMap<String, String>,
    ) {
        let total_ms = flight.triggered.elapsed().as_millis() as u64;
        // From the trigger to the sink's return, less the source polling before the trigger.
        let add_batch_ms = total_ms.saturating_sub(flight.latest_offset_ms);
        let processing_secs = flight.triggered.elapsed().as_secs_f64().max(1e-9);
        let rate = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let mut num_input_rows = 0;
        let sources = self
            .sources
            .iter()
            .enumerate()
            .zip(flight.rows.iter().zip(&flight.start_offsets))
            .map(|((i, source), (&records, &start))| {
                let (read, malformed) = source_counts.get(i).copied().unwrap_or_default();
                // Records of a partitioned source are files; its rows were counted where read.
                let n = if source.partitioned { read } else { records };
                num_input_rows += n;
                let mut metrics = BTreeMap::new();
                if source.partitioned {
                    metrics.insert("numFiles".to_string(), records.to_string());
                    metrics.insert("numMalformedRecords".to_string(), malformed.to_string());
                }
                SourceProgress {
                    description: source.description.clone(),
                    start_offset: start,
                    end_offset: start + records,
                    latest_offset: source.consumed + source.waiting.len() as u64,
                    num_input_rows: n,
                    input_rows_per_second: rate(n, flight.since_previous_trigger),
                    processed_rows_per_second: rate(n, processing_secs),
                    metrics,
                }
            })
            .collect();
        let state_operators = if self.spec.plan.has_aggregation() {
            vec![StateOperatorProgress {
                operator_name: "aggregate".into(),
                num_rows_total: if self.spec.mode == OutputMode::Complete {
                    self.table.len() as u64
                } else {
                    0
                },
                num_rows_updated: rows_updated,
            }]
        } else {
            Vec::new()
        };
        let duration_ms = BTreeMap::from([
            ("addBatch".to_string(), add_batch_ms),
            ("commitOffsets".to_string(), 0),
            ("getBatch".to_string(), 0),
            ("latestOffset".to_string(), flight.latest_offset_ms),
            ("queryPlanning".to_string(), 0),
            ("triggerExecution".to_string(), total_ms),
            ("walCommit".to_string(), 0),
        ]);
        let progress = QueryProgress {
            id: self.spec.shared.id.to_string(),
            run_id: self.spec.shared.run_id.to_string(),
            name: self.spec.shared.name.clone(),
            timestamp: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            batch_id: flight.epoch,
            batch_duration: total_ms,
            num_input_rows,
            input_rows_per_second: rate(num_input_rows, flight.since_previous_trigger),
            processed_rows_per_second: rate(num_input_rows, processing_secs),
            duration_ms,
            event_time,
            state_operators,
            sources,
            sink: SinkProgress {
                description: self.sink_description.clone(),
                num_output_rows: output_rows,
            },
        };
        self.spec.shared.record_progress(progress);
    }
}

/// A timestamp in microseconds as Spark's progress reports write it.
fn iso_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// The text of a panic's payload (a `&str` or a `String`), if it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Sums the diffs of equal rows, drops the rows whose sum is zero, and returns them sorted by
/// row. Sorts indices rather than the (wide) entries, so no row moves during the sort.
fn consolidate_sorted(mut changes: Vec<(Row, isize)>) -> Vec<(Row, isize)> {
    let mut order: Vec<u32> = (0..changes.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| changes[a as usize].0.cmp(&changes[b as usize].0));
    let mut out: Vec<(Row, isize)> = Vec::with_capacity(changes.len());
    for i in order {
        let (row, diff) = std::mem::take(&mut changes[i as usize]);
        match out.last_mut() {
            Some((last, sum)) if *last == row => *sum += diff,
            _ => {
                if out.last().is_some_and(|(_, sum)| *sum == 0) {
                    out.pop();
                }
                out.push((row, diff));
            }
        }
    }
    if out.last().is_some_and(|(_, sum)| *sum == 0) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::consolidate_sorted;
    use crate::row;

    #[test]
    fn consolidation_sums_sorts_and_drops_zeros() {
        let changes = vec![
            (row!["b", 1], 1),
            (row!["a", 2], -1),
            (row!["b", 1], -1),
            (row!["a", 3], 1),
            (row!["c"], 2),
            (row!["a", 2], 1),
        ];
        assert_eq!(
            consolidate_sorted(changes),
            vec![(row!["a", 3], 1), (row!["c"], 2)]
        );
        assert_eq!(consolidate_sorted(vec![(row!["x"], 1), (row!["x"], -1)]), vec![]);
    }
}
