//! Tidewater's errors as the Python exceptions PySpark users catch.
//!
//! The exception classes live in `tidewater/errors.py` (so that they can be subclassed and
//! documented in Python); this file only picks the class for an error and fills in the code
//! and the message, the same two the Rust error carries.

use pyo3::prelude::*;

/// Which family an error is reported as: PySpark raises `AnalysisException` for a query that
/// cannot be built and `StreamingQueryException` for a query that failed while it ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Building the query (`select`, `load`, `start`, ...).
    Analysis,
    /// A running query's failure, reported by `awaitTermination` or `exception()`.
    Running,
}

/// The Python exception for `error`: `ParseException` for SQL or DDL that does not parse,
/// `AnalysisException` for other errors in the query, `StreamingQueryException` for a
/// running query's failure, and `TidewaterException` (their base) for failures outside a
/// query (a cluster that cannot start). Each carries `errorClass` (the Rust error's stable
/// code) and `message` (its text).
pub(crate) fn to_py(py: Python<'_>, error: &tidewater::Error, phase: Phase) -> PyErr {
    let class = match (phase, error.code()) {
        (Phase::Running, _) => "StreamingQueryException",
        (Phase::Analysis, "PARSE_SYNTAX_ERROR") => "ParseException",
        (Phase::Analysis, _) if error.is_user_error() => "AnalysisException",
        (Phase::Analysis, _) => "TidewaterException",
    };
    let raised = py
        .import("tidewater.errors")
        .and_then(|module| module.getattr(class))
        .and_then(|class| class.call1((error.to_string(), error.code())));
    match raised {
        Ok(exception) => PyErr::from_value(exception),
        Err(import_failed) => import_failed,
    }
}

/// Shorthand: a Tidewater result as a Python result, reporting errors of `phase`.
pub(crate) trait IntoPy<T> {
    /// The value, or the Python exception for the error.
    fn py_err(self, py: Python<'_>, phase: Phase) -> PyResult<T>;
}

impl<T> IntoPy<T> for tidewater::Result<T> {
    fn py_err(self, py: Python<'_>, phase: Phase) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e, phase))
    }
}
