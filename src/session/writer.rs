//! [`DataStreamWriter`]: `write_stream().output_mode(..).format(..).start()`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::warn;

use super::{conf, DataFrame};
use crate::checkpoint::{Checkpoint, DEFAULT_MIN_BATCHES_TO_RETAIN};
use crate::compile::Settings;
use crate::connectors::foreach_batch::BatchFn;
use crate::connectors::registry::{sink_format, SinkContext, CHECKPOINT_LOCATION, MAX_ROWS_PER_TRIGGER};
use crate::connectors::{Batch, Options, Sink};
use crate::error::{Error, Result};
use crate::plan::{validate_output_mode, OutputMode};
use crate::runtime::recovery::{self, Prepared};
use crate::runtime::{
    launch, ManualClock, QuerySpec, Shared, StreamingQuery, Trigger, DEFAULT_MAX_ROWS_PER_EPOCH,
};

/// Describes where and how a streaming DataFrame is written, like Spark's `DataStreamWriter`.
///
/// Nothing is checked until [`start`](Self::start): the output mode against the query (an
/// aggregation cannot append without a watermark), the format and its options. `foreach_batch`
/// hands each epoch's output to code, here under `Trigger::AvailableNow`, which processes what
/// the source holds at the start and then ends the query:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tidewater::prelude::*;
///
/// # fn main() -> tidewater::Result<()> {
/// # let spark = Session::builder().get_or_create()?;
/// let input = MemoryStream::new(Schema::new([Field::new("n", DataType::Int64)]));
/// input.add_data([row![3], row![1], row![2]]);
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let query = spark.read_stream().memory(&input).write_stream()
///     .trigger(Trigger::AvailableNow)
///     .foreach_batch(move |batch: &Batch<'_>| -> Result<()> {
///         sink.lock().expect("lock").push((batch.id, batch.rows.to_vec()));
///         Ok(())
///     })
///     .start()?;
/// query.await_termination()?;
/// // One epoch, its rows sorted.
/// assert_eq!(*seen.lock().expect("lock"), [(0, vec![row![1], row![2], row![3]])]);
/// # Ok(())
/// # }
/// ```
pub struct DataStreamWriter {
    df: DataFrame,
    format: String,
    output_mode: std::result::Result<OutputMode, Error>,
    options: Options,
    trigger: Trigger,
    query_name: Option<String>,
    foreach_batch: Option<BatchFn>,
    console_target: Option<Box<dyn Write + Send>>,
    clock: Option<ManualClock>,
    /// Whether the session's query manager knows the query (`spark.streams`); a batch
    /// query's `collect` is no streaming query.
    listed: bool,
}

impl DataStreamWriter {
    pub(super) fn new(df: DataFrame) -> Self {
        DataStreamWriter {
            df,
            format: "console".into(),
            output_mode: Ok(OutputMode::Append),
            options: Options::default(),
            trigger: Trigger::Default,
            query_name: None,
            foreach_batch: None,
            console_target: None,
            clock: None,
            listed: true,
        }
    }

    /// Runs the query without the session's query manager knowing it: it is not among
    /// `streams().active()`, listeners do not hear of it, and its end does not end an
    /// `await_any_termination`. For the batch query of [`DataFrame::collect`].
    pub(crate) fn unlisted(mut self) -> Self {
        self.listed = false;
        self
    }

    /// Runs the query on `clock` instead of the wall clock: each epoch's batch time, which
    /// processing-time timeouts and state TTLs are judged by, is the clock's time when the
    /// epoch starts. Tests move it by hand (Spark's `StreamManualClock`).
    pub fn processing_clock(mut self, clock: ManualClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// `append` (the default), `update` or `complete`; a bad name fails at `start()`.
    pub fn output_mode(mut self, mode: &str) -> Self {
        self.output_mode = mode.parse();
        self
    }

    /// The sink format: `console` (the default), `memory`, `noop`.
    pub fn format(mut self, format: &str) -> Self {
        self.format = format.to_ascii_lowercase();
        self
    }

    /// One sink option (`numRows`, `truncate`, ...).
    pub fn option(mut self, key: &str, value: impl ToString) -> Self {
        self.options.set(key, value);
        self
    }

    /// When epochs run; see [`Trigger`].
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// The query's name (also the memory sink's table name).
    pub fn query_name(mut self, name: &str) -> Self {
        self.query_name = Some(name.to_string());
        self
    }

    /// Calls `f` with each epoch's output instead of writing to a format (Spark's
    /// `foreachBatch`). An error from `f` stops the query with that error.
    pub fn foreach_batch<F, E>(mut self, mut f: F) -> Self
    where
        F: FnMut(&Batch<'_>) -> std::result::Result<(), E> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.format = "foreach_batch".into();
        self.foreach_batch = Some(Box::new(move |batch: &Batch<'_>| f(batch).map_err(Into::into)));
        self
    }

    /// The plan of the query this writer writes.
    pub(crate) fn plan(&self) -> &std::sync::Arc<crate::plan::LogicalPlan> {
        self.df.plan()
    }

    /// Sends the console sink's output to `writer` instead of standard output.
    pub fn console_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.console_target = Some(Box::new(writer));
        self
    }

    /// Builds the sink of the chosen format from the [registry](crate::connectors::registry).
    fn sink(&mut self, checkpoint: Option<&Checkpoint>) -> Result<Box<dyn Sink>> {
        let session = self.df.session().clone();
        sink_format(&self.format)?.build(SinkContext {
            options: &self.options,
            schema: self.df.schema(),
            query_name: self.query_name.as_deref(),
            console: self.console_target.take(),
            foreach_batch: self.foreach_batch.take(),
            memory_table: &|name| session.register_memory_table(name),
            checkpoint: checkpoint.map(|c| (c.root(), c.id().to_string())),
            conf: &|key| session.conf(key).map(str::to_string),
        })
    }

    /// Where the query's checkpoint goes: the `checkpointLocation` option, or else
    /// `<spark.sql.streaming.checkpointLocation>/<query name>`.
    fn checkpoint_location(&self) -> Option<PathBuf> {
        if let Some(location) = self.options.get(CHECKPOINT_LOCATION.name) {
            return Some(PathBuf::from(location));
        }
        let root = self.df.session().conf(conf::CHECKPOINT_LOCATION)?;
        match &self.query_name {
            Some(name) => Some(Path::new(root).join(name)),
            None => {
                warn!(
                    "`{}` is set but the query has no name, so it has no checkpoint of its own \
                     to resume from; give it one with query_name(..)",
                    conf::CHECKPOINT_LOCATION
                );
                None
            }
        }
    }

    /// Opens the query's checkpoint, if it has one (see [`recovery::prepare`]).
    fn open_checkpoint(&self, mode: OutputMode) -> Result<Prepared> {
        let Some(location) = self.checkpoint_location() else {
            return Ok(Prepared::default());
        };
        let session = self.df.session();
        let retain = match session.conf(conf::MIN_BATCHES_TO_RETAIN) {
            None => DEFAULT_MIN_BATCHES_TO_RETAIN,
            Some(raw) => raw.trim().parse().map_err(|_| {
                Error::InvalidOption(format!(
                    "`{}` = `{raw}`: use a whole number of epochs",
                    conf::MIN_BATCHES_TO_RETAIN
                ))
            })?,
        };
        let snapshot_every = match session.conf(conf::MIN_DELTAS_FOR_SNAPSHOT) {
            None => 10,
            Some(raw) => raw.trim().parse().map_err(|_| {
                Error::InvalidOption(format!(
                    "`{}` = `{raw}`: use a whole number of epochs",
                    conf::MIN_DELTAS_FOR_SNAPSHOT
                ))
            })?,
        };
        let settings = Settings {
            output_mode: mode,
            broadcast_threshold: session.broadcast_threshold(),
            // Replaced by the checkpoint's own, when it has one.
            join_state_format: Default::default(),
        };
        recovery::prepare(
            &location,
            self.df.plan(),
            &self.format,
            settings,
            session.cluster().is_leader_process(),
            retain,
            snapshot_every,
        )
    }

    /// Checks the query against its output mode and builds what the workers run.
    pub(crate) fn prepare(mut self) -> Result<QuerySpec> {
        let mode = std::mem::replace(&mut self.output_mode, Ok(OutputMode::Append))?;
        validate_output_mode(self.df.plan(), mode)?;
        // The format's options are checked before the checkpoint is touched.
        sink_format(&self.format)?;
        let Prepared {
            checkpoint,
            durable,
            join_state_format,
        } = self.open_checkpoint(mode)?;
        let sink = self.sink(checkpoint.as_ref())?;
        let shared = match &checkpoint {
            Some(checkpoint) => Shared::with_id(checkpoint.id(), self.query_name.clone()),
            None => Shared::new(self.query_name.clone()),
        };
        let (kept, idle_after) = self.df.session().progress_settings();
        shared.configure(kept, idle_after);
        // current_timestamp() reads the batch time of the query's epoch in flight.
        let batch_times = Arc::new(crate::compile::BatchTimes::default());
        let times = batch_times.clone();
        let clock = crate::expr::BatchClock::new(move || {
            let (epoch, ms) = times.latest();
            (epoch, ms.saturating_mul(1000))
        });
        // Under ANSI mode the query's evaluation errors go to a slot of its own.
        let failures = self.df.session().ansi().then(crate::expr::FailureSlot::default);
        let plan = self.df.plan().with_clock(&clock);
        let plan = match &failures {
            Some(slot) => plan.with_failure_slot(slot),
            None => plan,
        };
        // Its sources convert only the columns the query uses.
        let plan = plan.reading_only_what_it_reads();
        Ok(QuerySpec {
            plan,
            mode,
            trigger: self.trigger,
            part_writer: sink.part_writer(),
            sink: Mutex::new(Some(sink)),
            shared,
            checkpoint: Mutex::new(checkpoint),
            durable,
            max_rows_per_epoch: self
                .options
                .parse_or(MAX_ROWS_PER_TRIGGER.name, DEFAULT_MAX_ROWS_PER_EPOCH)?,
            broadcast_threshold: self.df.session().broadcast_threshold(),
            join_state_format,
            local_workers: self.df.session().cluster().workers,
            clock: self.clock.take(),
            batch_times,
            failures,
        })
    }

    /// Checks the query against its output mode and starts it. Returns at once; the handle
    /// waits, stops and reports.
    pub fn start(self) -> Result<StreamingQuery> {
        let session = self.df.session().clone();
        let listed = self.listed;
        let spec = self.prepare()?;
        let shared = spec.shared.clone();
        if listed {
            session.streams().attach(&shared);
        }
        // A query that could not start has ended, as far as the manager's listeners know.
        let mut queries =
            launch(session.cluster(), vec![Arc::new(spec)]).inspect_err(|_| shared.terminate())?;
        queries
            .pop()
            .ok_or_else(|| Error::Runtime("no query was started".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::registry::OptionDefault;

    #[test]
    fn the_registry_documents_the_default_epoch_size() {
        let OptionDefault::Value(documented) = MAX_ROWS_PER_TRIGGER.default else {
            panic!("maxRowsPerTrigger has a default");
        };
        assert_eq!(documented, DEFAULT_MAX_ROWS_PER_EPOCH.to_string());
    }
}
