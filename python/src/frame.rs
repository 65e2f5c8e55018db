//! [`PySession`] and [`PyDataFrame`]: Tidewater's `Session` and `DataFrame` for Python.
//!
//! Each method is one call of the Rust API; the Python classes in `tidewater/sql` turn
//! PySpark's argument shapes (column names or `Column`s, `*cols` or lists, a `StructType`
//! or a DDL string) into the plain arguments taken here.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tidewater::data::{DataType, Field, Schema};
use tidewater::prelude::{DataFrame, GroupedData, Session};

use crate::column::{exprs, PyExpr};
use crate::errors::{IntoPy, Phase};

/// A Tidewater session (PySpark's `SparkSession` wraps one).
#[pyclass(name = "Session", module = "tidewater._native", frozen)]
pub struct PySession {
    session: Session,
}

#[pymethods]
impl PySession {
    /// Builds the session: `master` is Spark's `local[N]`, `conf` the `config(..)` pairs.
    #[new]
    #[pyo3(signature = (app_name=None, master=None, conf=Vec::new()))]
    fn new(
        py: Python<'_>,
        app_name: Option<&str>,
        master: Option<&str>,
        conf: Vec<(String, String)>,
    ) -> PyResult<Self> {
        let mut builder = Session::builder();
        if let Some(name) = app_name {
            builder = builder.app_name(name);
        }
        if let Some(master) = master {
            builder = builder.master(master);
        }
        for (key, value) in &conf {
            builder = builder.config(key, value);
        }
        Ok(PySession {
            session: builder.get_or_create().py_err(py, Phase::Analysis)?,
        })
    }

    /// The application's name.
    #[getter]
    fn app_name(&self) -> String {
        self.session.app_name().to_string()
    }

    /// Worker threads per process (`local[N]`'s N).
    #[getter]
    fn workers(&self) -> usize {
        self.session.cluster().workers
    }

    /// A setting given to the builder, if any.
    fn conf_get(&self, key: &str) -> Option<String> {
        self.session.conf(key).map(str::to_string)
    }

    /// `readStream` (or `read`, when `once`) with its format, options and schema, loaded.
    #[pyo3(signature = (format, options, schema=None, once=false))]
    fn load(
        &self,
        py: Python<'_>,
        format: &str,
        options: Vec<(String, String)>,
        schema: Option<&str>,
        once: bool,
    ) -> PyResult<PyDataFrame> {
        let mut reader = if once {
            self.session.read()
        } else {
            self.session.read_stream()
        };
        reader = reader.format(format).options(options);
        if let Some(ddl) = schema {
            reader = reader.schema(ddl);
        }
        Ok(reader.load().py_err(py, Phase::Analysis)?.into())
    }

    /// The ids of the queries of this session that are running (`spark.streams.active`).
    fn active_query_ids(&self) -> Vec<String> {
        self.session
            .streams()
            .active()
            .iter()
            .map(|q| q.id().to_string())
            .collect()
    }

    /// `spark.streams.awaitAnyTermination(timeout)`: waits until a query of this session has
    /// ended since the start or the last `resetTerminated`, raising its failure; `False` when
    /// `timeout` seconds pass first. Ctrl-C raises `KeyboardInterrupt`.
    #[pyo3(signature = (timeout=None))]
    fn await_any_termination(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let streams = self.session.streams();
        crate::query::wait_interruptibly(
            py,
            timeout,
            |step| streams.await_any_termination_timeout(step),
            |error| crate::errors::to_py(py, error, Phase::Running),
            // The queries go on: each is stopped by its own `stop()`, as in PySpark.
            || Ok(()),
        )
    }

    /// `spark.streams.resetTerminated()`.
    fn reset_terminated(&self) {
        self.session.streams().reset_terminated();
    }

    /// `spark.sql(query)` over the temporary views.
    fn sql(&self, py: Python<'_>, query: &str) -> PyResult<PyDataFrame> {
        Ok(self.session.sql(query).py_err(py, Phase::Analysis)?.into())
    }

    /// The column names of `createDataFrame`'s DDL schema, read as `create_data_frame` reads
    /// it (`a BIGINT` or `a: bigint`).
    fn ddl_names(&self, py: Python<'_>, schema: &str) -> PyResult<Vec<String>> {
        let fields = tidewater::data::parse_schema_ddl(schema).py_err(py, Phase::Analysis)?;
        Ok(fields.into_iter().map(|f| f.name).collect())
    }

    /// `spark.createDataFrame(rows, schema)`: `rows` as lists of Python values in the order of
    /// `schema`'s columns (a DDL string).
    fn create_data_frame(
        &self,
        py: Python<'_>,
        rows: Vec<Vec<Bound<'_, PyAny>>>,
        schema: &str,
    ) -> PyResult<PyDataFrame> {
        let schema = Schema::new(tidewater::data::parse_schema_ddl(schema).py_err(py, Phase::Analysis)?);
        let rows = rows
            .iter()
            .map(|values| {
                let values = values
                    .iter()
                    .map(crate::values::from_py)
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(tidewater::data::Row::from(values))
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(self
            .session
            .create_data_frame(rows, schema)
            .py_err(py, Phase::Analysis)?
            .into())
    }
}

/// A Tidewater DataFrame: a logical plan on a session, checked as it is built.
#[pyclass(name = "DataFrame", module = "tidewater._native", frozen)]
pub struct PyDataFrame {
    pub(crate) df: DataFrame,
}

impl From<DataFrame> for PyDataFrame {
    fn from(df: DataFrame) -> Self {
        PyDataFrame { df }
    }
}

/// A type as Python describes it: its SQL name for a simple type, `("array", element,
/// contains_null)` for an array, `("struct", [fields])` for a struct; a field is `(name,
/// type, nullable)`.
fn describe_type<'py>(py: Python<'py>, data_type: &DataType) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data_type {
        DataType::Array(element) => PyTuple::new(
            py,
            ["array".into_pyobject(py)?.into_any(), describe_type(py, element)?],
        )?
        .into_any(),
        DataType::Struct(fields) => PyTuple::new(
            py,
            [
                "struct".into_pyobject(py)?.into_any(),
                describe_fields(py, fields)?.into_any(),
            ],
        )?
        .into_any(),
        simple => simple.sql_name().into_pyobject(py)?.into_any(),
    })
}

/// Fields as `[(name, type, nullable)]` (see [`describe_type`]).
fn describe_fields<'py>(py: Python<'py>, fields: &[Field]) -> PyResult<Bound<'py, PyList>> {
    let described = fields
        .iter()
        .map(|f| {
            PyTuple::new(
                py,
                [
                    f.name.as_str().into_pyobject(py)?.into_any(),
                    describe_type(py, &f.data_type)?,
                    pyo3::types::PyBool::new(py, f.nullable).to_owned().into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, described)
}

/// Parses a DDL schema (`"a BIGINT, b STRING"`) into fields as `DataFrame.fields` gives them,
/// for `StructType.fromDDL`.
#[pyfunction]
pub fn parse_ddl<'py>(py: Python<'py>, ddl: &str) -> PyResult<Bound<'py, PyList>> {
    let schema = Schema::from_ddl(ddl).py_err(py, Phase::Analysis)?;
    describe_fields(py, schema.fields())
}

impl PyDataFrame {
    /// A schema's fields as Python describes them (see `describe_type`).
    pub(crate) fn from_schema_fields<'py>(py: Python<'py>, schema: &Schema) -> PyResult<Bound<'py, PyList>> {
        describe_fields(py, schema.fields())
    }
}

#[pymethods]
impl PyDataFrame {
    /// The columns as `[(name, type, nullable)]` (see `describe_type`).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        describe_fields(py, self.df.schema().fields())
    }

    /// The schema as `printSchema` prints it.
    fn tree_string(&self) -> String {
        self.df.schema().to_string()
    }

    /// The plan and the dataflow, as `explain` prints them.
    fn explain(&self) -> String {
        self.df.explain()
    }

    /// True for a stream, false for a static table (`spark.read`).
    fn is_streaming(&self) -> bool {
        self.df.is_streaming()
    }

    fn select(&self, py: Python<'_>, columns: Vec<PyExpr>) -> PyResult<Self> {
        Ok(self.df.select(exprs(columns)).py_err(py, Phase::Analysis)?.into())
    }

    fn select_expr(&self, py: Python<'_>, columns: Vec<String>) -> PyResult<Self> {
        Ok(self.df.select_expr(columns).py_err(py, Phase::Analysis)?.into())
    }

    fn filter(&self, py: Python<'_>, condition: PyExpr) -> PyResult<Self> {
        Ok(self.df.filter(condition.expr).py_err(py, Phase::Analysis)?.into())
    }

    fn with_column(&self, py: Python<'_>, name: &str, column: PyExpr) -> PyResult<Self> {
        Ok(self
            .df
            .with_column(name, column.expr)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    fn with_column_renamed(&self, py: Python<'_>, existing: &str, new: &str) -> PyResult<Self> {
        Ok(self
            .df
            .with_column_renamed(existing, new)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    fn drop(&self, py: Python<'_>, columns: Vec<String>) -> PyResult<Self> {
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        Ok(self.df.drop(&columns).py_err(py, Phase::Analysis)?.into())
    }

    fn to_df(&self, py: Python<'_>, names: Vec<String>) -> PyResult<Self> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(self.df.to_df(&names).py_err(py, Phase::Analysis)?.into())
    }

    fn alias(&self, alias: &str) -> Self {
        self.df.alias(alias).into()
    }

    /// A static DataFrame's rows, computed now, as one batch (`collect`, `show`, `count`).
    fn collect_batch(&self, py: Python<'_>) -> PyResult<crate::query::PyBatch> {
        let df = self.df.clone();
        let rows = py.detach(move || df.collect()).py_err(py, Phase::Analysis)?;
        Ok(crate::query::PyBatch::of_table(self.df.schema().clone(), rows))
    }

    /// This DataFrame's column `name` (`df.c`, `df["c"]`): after a join it is this side's `c`.
    fn col(&self, name: &str) -> PyExpr {
        self.df.col(name).into()
    }

    fn with_watermark(&self, py: Python<'_>, event_time: &str, delay: &str) -> PyResult<Self> {
        Ok(self
            .df
            .with_watermark(event_time, delay)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    fn group_by(&self, keys: Vec<PyExpr>) -> PyGroupedData {
        PyGroupedData {
            grouped: self.df.group_by(exprs(keys)),
        }
    }

    /// A join on the named columns (`on`), or on a condition, `how` as in PySpark.
    #[pyo3(signature = (other, how, on=None, condition=None))]
    fn join(
        &self,
        py: Python<'_>,
        other: &PyDataFrame,
        how: &str,
        on: Option<Vec<String>>,
        condition: Option<PyExpr>,
    ) -> PyResult<Self> {
        let joined = match (on, condition) {
            (_, Some(condition)) => self.df.join_expr(&other.df, condition.expr, how),
            (Some(on), None) => {
                let on: Vec<&str> = on.iter().map(String::as_str).collect();
                self.df.join(&other.df, &on, how)
            }
            (None, None) => Err(tidewater::Error::InvalidPlan(
                "join() needs `on`: column names or a condition (a cross join is not supported)".into(),
            )),
        };
        Ok(joined.py_err(py, Phase::Analysis)?.into())
    }

    fn union(&self, py: Python<'_>, other: &PyDataFrame) -> PyResult<Self> {
        Ok(self.df.union(&other.df).py_err(py, Phase::Analysis)?.into())
    }

    fn union_by_name(&self, py: Python<'_>, other: &PyDataFrame, allow_missing: bool) -> PyResult<Self> {
        Ok(self
            .df
            .union_by_name(&other.df, allow_missing)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    fn drop_duplicates_within_watermark(&self, py: Python<'_>, columns: Vec<String>) -> PyResult<Self> {
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        Ok(self
            .df
            .drop_duplicates_within_watermark(&columns)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    fn drop_duplicates(&self, py: Python<'_>, columns: Vec<String>) -> PyResult<Self> {
        let result = if columns.is_empty() {
            self.df.distinct()
        } else {
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            self.df.drop_duplicates(&columns)
        };
        Ok(result.py_err(py, Phase::Analysis)?.into())
    }

    /// `orderBy`: each column with whether it sorts descending.
    fn order_by(&self, py: Python<'_>, columns: Vec<(PyExpr, bool)>) -> PyResult<Self> {
        let order = columns.into_iter().map(|(c, descending)| {
            if descending {
                tidewater::expr::SortOrder::desc(c.expr)
            } else {
                tidewater::expr::SortOrder::asc(c.expr)
            }
        });
        Ok(self.df.order_by(order).py_err(py, Phase::Analysis)?.into())
    }

    fn limit(&self, py: Python<'_>, n: usize) -> PyResult<Self> {
        Ok(self.df.limit(n).py_err(py, Phase::Analysis)?.into())
    }

    fn create_or_replace_temp_view(&self, name: &str) {
        self.df.create_or_replace_temp_view(name);
    }
}

/// `groupBy(..)`'s result, waiting for its aggregates.
#[pyclass(name = "GroupedData", module = "tidewater._native", frozen)]
pub struct PyGroupedData {
    grouped: GroupedData,
}

#[pymethods]
impl PyGroupedData {
    /// Rows per group, in a column `count`.
    fn count(&self, py: Python<'_>) -> PyResult<PyDataFrame> {
        Ok(self.grouped.count().py_err(py, Phase::Analysis)?.into())
    }

    /// The aggregates per group.
    fn agg(&self, py: Python<'_>, aggregates: Vec<PyExpr>) -> PyResult<PyDataFrame> {
        Ok(self
            .grouped
            .agg(exprs(aggregates))
            .py_err(py, Phase::Analysis)?
            .into())
    }
}
