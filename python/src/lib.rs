//! `tidewater._native`: the Rust half of the `tidewater` Python package.
//!
//! The Python package (`python/tidewater`) gives PySpark's names and call shapes; this module
//! is the thin layer under it, one class per object of Tidewater's Rust API: [`PySession`]
//! over `Session`, [`PyDataFrame`] over `DataFrame`, [`PyExpr`] over `Expr`, [`PyQuery`] over
//! `StreamingQuery`. Queries run on Tidewater's own workers with the GIL released; rows cross
//! into Python only when a `foreachBatch` function (or `collect` on its batch) asks for them.

mod column;
mod errors;
mod frame;
mod query;
mod values;

use pyo3::prelude::*;

/// The module's allocator for its own (Rust) allocations: see `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use column::PyExpr;
pub use frame::{PyDataFrame, PySession};
pub use query::{PyBatch, PyQuery};

/// The module's contents, as `import tidewater._native` sees them.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // As the `tidewater` CLI does: huge pages stall epochs (see `tidewater::process`).
    tidewater::process::avoid_transparent_huge_pages();
    // The engine's warnings (an option it does not implement, a skipped record) go to stderr,
    // at the level `sparkContext.setLogLevel` sets.
    tidewater::logs::install_reloadable();
    m.add_class::<PyExpr>()?;
    m.add_class::<PySession>()?;
    m.add_class::<PyDataFrame>()?;
    m.add_class::<frame::PyGroupedData>()?;
    m.add_class::<PyQuery>()?;
    m.add_class::<PyBatch>()?;
    m.add_function(wrap_pyfunction!(frame::parse_ddl, m)?)?;
    m.add_function(wrap_pyfunction!(query::start, m)?)?;
    m.add_function(wrap_pyfunction!(column::function_names, m)?)?;
    m.add_function(wrap_pyfunction!(set_log_level, m)?)?;
    Ok(())
}

/// `sparkContext.setLogLevel(level)`: one of Spark's levels (`WARN`, `INFO`, `ERROR`, `OFF`,
/// ...) for the engine's logs on stderr.
#[pyfunction]
fn set_log_level(level: &str) -> PyResult<()> {
    let filter = tidewater::logs::spark_level_filter(level).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "unknown log level `{level}`; use one of ALL, DEBUG, ERROR, FATAL, INFO, OFF, TRACE, WARN"
        ))
    })?;
    tidewater::logs::set_filter(&filter).map_err(pyo3::exceptions::PyValueError::new_err)?;
    Ok(())
}
