//! Values between Tidewater and Python: rows out (for `collect`), literals in (for `lit`).
//!
//! Out: `NULL` is `None`, BIGINT `int`, DOUBLE `float`, STRING `str`, BOOLEAN `bool`,
//! TIMESTAMP a naive `datetime.datetime` in UTC, DATE a `datetime.date`, DECIMAL a
//! `decimal.Decimal` (with its scale: `Decimal('1.50')`), BINARY `bytes`,
//! ARRAY a `list`, and a STRUCT (such as a window) a `Row` with its fields' names, as
//! PySpark gives them. In: the same types back, plus tuples as arrays.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};
use tidewater::data::{DataType, Row, Value};

/// What converting a batch needs from Python, looked up once per batch rather than per value.
pub(crate) struct Converter<'py> {
    py: Python<'py>,
    /// `tidewater.sql.types._make_row(names, values)`.
    make_row: Bound<'py, PyAny>,
    /// `datetime.datetime(1970, 1, 1)`.
    epoch: Bound<'py, PyAny>,
    /// `datetime.date(1970, 1, 1)`.
    epoch_date: Bound<'py, PyAny>,
    /// `datetime.timedelta`.
    timedelta: Bound<'py, PyAny>,
    /// `decimal.Decimal`.
    decimal: Bound<'py, PyAny>,
}

impl<'py> Converter<'py> {
    /// Looks up the row factory and the datetime types.
    pub(crate) fn new(py: Python<'py>) -> PyResult<Self> {
        let datetime = py.import("datetime")?;
        Ok(Converter {
            py,
            make_row: py.import("tidewater.sql.types")?.getattr("_make_row")?,
            epoch: datetime.getattr("datetime")?.call1((1970, 1, 1))?,
            epoch_date: datetime.getattr("date")?.call1((1970, 1, 1))?,
            timedelta: datetime.getattr("timedelta")?,
            decimal: py.import("decimal")?.getattr("Decimal")?,
        })
    }

    /// One row as a `Row` whose fields are `names`.
    pub(crate) fn row(
        &self,
        names: &Bound<'py, PyTuple>,
        types: &[DataType],
        row: &Row,
    ) -> PyResult<Bound<'py, PyAny>> {
        let values = row
            .values()
            .iter()
            .enumerate()
            .map(|(i, v)| self.value(v, types.get(i)))
            .collect::<PyResult<Vec<_>>>()?;
        self.make_row.call1((names, PyTuple::new(self.py, values)?))
    }

    /// One value, its type (when known) naming a struct's fields.
    fn value(&self, value: &Value, data_type: Option<&DataType>) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Value::Int(i) => i.into_pyobject(py)?.into_any(),
            Value::Float(f) => PyFloat::new(py, *f).into_any(),
            Value::Str(s) => PyString::new(py, s).into_any(),
            Value::Binary(b) => PyBytes::new(py, b).into_any(),
            // From the plain text, so that Python's Decimal keeps the scale, as PySpark's does.
            Value::Decimal(d) => self.decimal.call1((d.to_string(),))?,
            Value::Timestamp(micros) => {
                let kwargs = [("microseconds", *micros)].into_py_dict(py)?;
                self.epoch.add(self.timedelta.call((), Some(&kwargs))?)?
            }
            Value::Date(days) => {
                let kwargs = [("days", i64::from(*days))].into_py_dict(py)?;
                self.epoch_date.add(self.timedelta.call((), Some(&kwargs))?)?
            }
            Value::Array(items) => {
                let element = match data_type {
                    Some(DataType::Array(element)) => Some(element.as_ref()),
                    _ => None,
                };
                let items = items
                    .iter()
                    .map(|v| self.value(v, element))
                    .collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any()
            }
            Value::Struct(fields) => {
                let (names, types): (Vec<String>, Vec<DataType>) = match data_type {
                    Some(DataType::Struct(declared)) => declared
                        .iter()
                        .map(|f| (f.name.clone(), f.data_type.clone()))
                        .unzip(),
                    _ => (
                        (0..fields.len()).map(|i| format!("col{}", i + 1)).collect(),
                        Vec::new(),
                    ),
                };
                let names = PyTuple::new(py, names)?;
                self.row(&names, &types, &Row::from(fields.to_vec()))?
            }
        })
    }
}

use pyo3::types::IntoPyDict;

/// A Python value as a literal: `None`, `bool`, `int`, `float`, `str`, `bytes`,
/// `datetime.datetime` (naive ones are UTC), `datetime.date`, and lists or tuples of these.
pub(crate) fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Value> {
    let py = value.py();
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Value::Int(value.extract()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Value::Float(value.extract()?));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::str(s.to_cow()?));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(Value::binary(b.as_bytes()));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| from_py(&item?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::Array(items.into()));
    }
    let datetime = py.import("datetime")?;
    let one_micro = datetime
        .getattr("timedelta")?
        .call((), Some(&[("microseconds", 1)].into_py_dict(py)?))?;
    if value.is_instance(&datetime.getattr("datetime")?)? {
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        let epoch = if value.getattr("tzinfo")?.is_none() {
            datetime.getattr("datetime")?.call1((1970, 1, 1))?
        } else {
            datetime
                .getattr("datetime")?
                .call((1970, 1, 1), Some(&[("tzinfo", utc)].into_py_dict(py)?))?
        };
        let micros: i64 = value.sub(epoch)?.floor_div(one_micro)?.extract()?;
        return Ok(Value::Timestamp(micros));
    }
    if value.is_instance(&datetime.getattr("date")?)? {
        let epoch = datetime.getattr("date")?.call1((1970, 1, 1))?;
        let days: i32 = value.sub(epoch)?.getattr("days")?.extract()?;
        return Ok(Value::Date(days));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "a literal must be None, bool, int, float, str, bytes, datetime, date or a list of these, not {}",
        value.get_type().name()?
    )))
}
