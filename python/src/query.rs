//! Starting queries and watching them: [`start`] (PySpark's `DataStreamWriter.start`),
//! [`PyQuery`] (its `StreamingQuery`) and [`PyBatch`] (the `batch_df` of `foreachBatch`).
//!
//! The GIL is released whenever Rust waits (starting, stopping, awaiting), so the query's
//! workers run beside Python threads, and a `foreachBatch` function takes the GIL only for
//! its own call. Waiting checks for signals ten times a second: Ctrl-C stops the query, then
//! raises `KeyboardInterrupt` as Python code expects.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tidewater::data::{Row, Schema};
use tidewater::prelude::{Batch, StreamingQuery, Trigger};

use crate::errors::{to_py, IntoPy, Phase};
use crate::frame::PyDataFrame;
use crate::values::Converter;

/// How often a waiting call wakes up to look for Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Waits, with the GIL released, until `wait` (which waits at most the time it is given)
/// says what it waits for came (`true`), or `timeout` seconds have passed (`false`). It wakes
/// every [`SIGNAL_CHECK`] to look for Ctrl-C, which runs `interrupted` and is then raised; an
/// error of `wait` is raised as `failed` words it.
pub(crate) fn wait_interruptibly(
    py: Python<'_>,
    timeout: Option<f64>,
    wait: impl Fn(Duration) -> tidewater::Result<bool> + Sync,
    failed: impl Fn(&tidewater::Error) -> PyErr,
    interrupted: impl FnOnce() -> PyResult<()>,
) -> PyResult<bool> {
    let deadline = match timeout {
        Some(secs) if !(secs >= 0.0 && secs.is_finite()) => {
            return Err(PyValueError::new_err(format!(
                "timeout must be a number of seconds >= 0, got {secs}"
            )))
        }
        Some(secs) => Some(Instant::now() + Duration::from_secs_f64(secs)),
        None => None,
    };
    loop {
        let step = match deadline {
            Some(deadline) => deadline
                .saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK),
            None => SIGNAL_CHECK,
        };
        match py.detach(|| wait(step)) {
            Err(error) => return Err(failed(&error)),
            Ok(true) => return Ok(true),
            Ok(false) => {}
        }
        if let Err(interrupt) = py.check_signals() {
            interrupted()?;
            return Err(interrupt);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
}

/// The Python exception a `foreachBatch` function raised, kept to become the `__cause__` of
/// the `StreamingQueryException` that reports the query's failure.
type Cause = Arc<Mutex<Option<PyErr>>>;

/// Starts a query of `df`: PySpark's `writeStream` settings, gathered by the Python writer.
/// `trigger` is `default`, `processingTime` (with `interval`), `once` or `availableNow`;
/// `foreach_batch`, when given, is called as `foreach_batch(batch, batch_id)` for each epoch
/// (with the GIL held), and an exception it raises fails the query with its traceback.
#[pyfunction]
#[pyo3(signature = (df, format, output_mode, options, trigger, interval=None, query_name=None, foreach_batch=None))]
#[allow(clippy::too_many_arguments)] // one per writer setting, as PySpark's writer has them
pub fn start(
    py: Python<'_>,
    df: &PyDataFrame,
    format: &str,
    output_mode: &str,
    options: Vec<(String, String)>,
    trigger: &str,
    interval: Option<&str>,
    query_name: Option<&str>,
    foreach_batch: Option<Py<PyAny>>,
) -> PyResult<PyQuery> {
    let trigger = match (trigger, interval) {
        ("default", _) => Trigger::Default,
        ("once", _) => Trigger::Once,
        ("availableNow", _) => Trigger::AvailableNow,
        ("processingTime", Some(interval)) => {
            Trigger::processing_time(interval).py_err(py, Phase::Analysis)?
        }
        (other, _) => return Err(PyValueError::new_err(format!("unknown trigger `{other}`"))),
    };
    let mut writer = df
        .df
        .write_stream()
        .format(format)
        .output_mode(output_mode)
        .trigger(trigger);
    for (key, value) in &options {
        writer = writer.option(key, value);
    }
    if let Some(name) = query_name {
        writer = writer.query_name(name);
    }
    let cause: Cause = Arc::default();
    if let Some(function) = foreach_batch {
        let cause = cause.clone();
        writer = writer.foreach_batch(move |batch: &Batch<'_>| call_foreach_batch(&function, batch, &cause));
    }
    let query = py.detach(|| writer.start()).py_err(py, Phase::Analysis)?;
    Ok(PyQuery { query, cause })
}

/// Calls the Python `foreachBatch` function on one epoch; its exception, with the traceback,
/// becomes the error that fails the query.
fn call_foreach_batch(function: &Py<PyAny>, batch: &Batch<'_>, cause: &Cause) -> Result<(), String> {
    Python::attach(|py| {
        let native = PyBatch {
            id: batch.id,
            schema: batch.schema.clone(),
            rows: Arc::new(batch.rows.to_vec()),
        };
        match function.call1(py, (native, batch.id)) {
            Ok(_) => Ok(()),
            Err(error) => {
                let traceback = format_traceback(py, &error);
                *cause.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
                Err(traceback)
            }
        }
    })
}

/// `traceback.format_exception(error)` as one string (the exception's text alone if the
/// traceback module cannot format it).
fn format_traceback(py: Python<'_>, error: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        let lines = tb.getattr("format_exception")?.call1((
            error.get_type(py),
            error.value(py),
            error.traceback(py),
        ))?;
        lines.cast_into::<PyList>().map_err(PyErr::from).map(|lines| {
            lines
                .iter()
                .map(|line| line.extract::<String>().unwrap_or_default())
                .collect::<String>()
        })
    });
    formatted.unwrap_or_else(|_| error.to_string())
}

/// A started query (PySpark's `StreamingQuery` wraps one).
#[pyclass(name = "Query", module = "tidewater._native", frozen)]
pub struct PyQuery {
    query: StreamingQuery,
    cause: Cause,
}

impl PyQuery {
    /// The query's failure as `StreamingQueryException`, caused by the Python exception of
    /// `foreachBatch` if that is what failed it.
    fn failure(&self, py: Python<'_>, error: &tidewater::Error) -> PyErr {
        let raised = to_py(py, error, Phase::Running);
        if let Some(cause) = self.cause.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            raised.set_cause(py, Some(cause.clone_ref(py)));
        }
        raised
    }
}

#[pymethods]
impl PyQuery {
    /// The query's id (kept across restarts from a checkpoint).
    #[getter]
    fn id(&self) -> String {
        self.query.id().to_string()
    }

    /// This run's id.
    #[getter]
    fn run_id(&self) -> String {
        self.query.run_id().to_string()
    }

    /// The name given with `queryName`, if any.
    #[getter]
    fn name(&self) -> Option<String> {
        self.query.name().map(str::to_string)
    }

    /// True until the query ends.
    #[getter]
    fn is_active(&self) -> bool {
        self.query.is_active()
    }

    /// Waits for the query to end, at most `timeout` seconds when given: true if it ended.
    /// A failed query raises `StreamingQueryException`; Ctrl-C stops the query and raises
    /// `KeyboardInterrupt`.
    #[pyo3(signature = (timeout=None))]
    fn await_termination(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let query = &self.query;
        wait_interruptibly(
            py,
            timeout,
            |step| query.await_termination_timeout(step),
            |error| self.failure(py, error),
            // Ctrl-C: stop the query cleanly (its workers finish and exit), then let the
            // interrupt go on.
            || py.detach(|| query.stop()).py_err(py, Phase::Running),
        )
    }

    /// Waits until every row available now has been processed (for tests).
    fn process_all_available(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.query.process_all_available())
            .map_err(|error| self.failure(py, &error))
    }

    /// Stops the query and waits until it has ended.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.query.stop()).py_err(py, Phase::Running)
    }

    /// The query's failure as an exception, or `None`.
    fn exception(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.query
            .exception()
            .map(|error| self.failure(py, &error).into_value(py).into_any())
    }

    /// The status as JSON (PySpark's `status` dict, camelCase keys).
    fn status_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.query.status()).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The last epoch's progress as JSON (PySpark's `lastProgress`), or `None`.
    fn last_progress_json(&self) -> Option<String> {
        self.query.last_progress().map(|p| p.json())
    }

    /// The recent epochs' progress, oldest first, each as JSON.
    fn recent_progress_json(&self) -> Vec<String> {
        self.query.recent_progress().iter().map(|p| p.json()).collect()
    }
}

/// One epoch's output, handed to a `foreachBatch` function. The rows stay in Rust until
/// `collect` asks for them, so counting a batch costs no conversion.
#[pyclass(name = "Batch", module = "tidewater._native", frozen)]
pub struct PyBatch {
    id: u64,
    schema: Schema,
    rows: Arc<Vec<Row>>,
}

impl PyBatch {
    /// The rows of a static DataFrame, computed by `collect`, as one batch.
    pub(crate) fn of_table(schema: Schema, rows: Vec<Row>) -> Self {
        PyBatch {
            id: 0,
            schema,
            rows: Arc::new(rows),
        }
    }
}

#[pymethods]
impl PyBatch {
    /// The epoch (PySpark's batch id).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }

    /// The columns' names.
    #[getter]
    fn columns(&self) -> Vec<String> {
        self.schema.names()
    }

    /// The columns as `[(name, type, nullable)]`.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyDataFrame::from_schema_fields(py, &self.schema)
    }

    /// The number of rows.
    fn count(&self) -> usize {
        self.rows.len()
    }

    /// The first `n` rows as `show()` prints them, by the console sink's renderer (Spark's
    /// `showString`): cells cut to `truncate` characters, or whole for 0.
    fn show_string(&self, n: usize, truncate: usize) -> String {
        tidewater::connectors::console::show_string_cut(&self.schema, &self.rows, n, truncate)
    }

    /// The rows as `Row` objects, sorted as the sink got them.
    fn collect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let converter = Converter::new(py)?;
        let names = PyTuple::new(py, self.schema.names())?;
        let types: Vec<_> = self.schema.fields().iter().map(|f| f.data_type.clone()).collect();
        let rows = self
            .rows
            .iter()
            .map(|row| converter.row(&names, &types, row))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }
}
