//! [`PyExpr`]: a Tidewater expression held by a Python `Column`.
//!
//! The Python `Column` class (`tidewater/sql/column.py`) gives the operators and methods
//! PySpark users write (`df.value + 1`, `col("a").alias("b")`, `F.count("*")`); each builds
//! one of these through the constructors below, which are those of Tidewater's `expr` module.
//! Nothing is checked until the expression is used in a DataFrame, as in PySpark.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tidewater::data::DataType;
use tidewater::expr::{AggFunc, BinaryOp, Expr, ScalarFunc, UnaryOp};

use crate::errors::{IntoPy, Phase};
use crate::values::from_py;

/// An unresolved expression (Tidewater's `Expr`), immutable: every method returns a new one.
#[pyclass(name = "Expr", module = "tidewater._native", frozen, from_py_object)]
#[derive(Clone, Debug)]
pub struct PyExpr {
    /// The expression.
    pub(crate) expr: Expr,
}

impl From<Expr> for PyExpr {
    fn from(expr: Expr) -> Self {
        PyExpr { expr }
    }
}

/// The expressions of a Python list, unwrapped.
pub(crate) fn exprs(list: Vec<PyExpr>) -> Vec<Expr> {
    list.into_iter().map(|e| e.expr).collect()
}

#[pymethods]
impl PyExpr {
    /// The column `name` (`a`, or `window.start` for a struct's field).
    #[staticmethod]
    fn col(name: &str) -> Self {
        tidewater::functions::col(name).into()
    }

    /// A literal of a Python value.
    #[staticmethod]
    fn lit(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Expr::Literal(from_py(value)?).into())
    }

    /// A SQL expression (`selectExpr`'s and `expr()`'s text).
    #[staticmethod]
    fn sql(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(tidewater::functions::expr(text)
            .py_err(py, Phase::Analysis)?
            .into())
    }

    /// A function by its SQL name: an aggregate (`count`, `sum`, ...), `explode`, or a scalar
    /// function (`split`, `window`, ...). An aggregate of the column `*` counts rows.
    #[staticmethod]
    fn call(name: &str, args: Vec<PyExpr>) -> PyResult<Self> {
        let mut args = exprs(args);
        if name.eq_ignore_ascii_case("count_distinct") || name.eq_ignore_ascii_case("countDistinct") {
            return match <[Expr; 1]>::try_from(args) {
                Ok([arg]) => Ok(tidewater::functions::count_distinct(arg).into()),
                Err(_) => Err(PyValueError::new_err("count_distinct takes one column")),
            };
        }
        if name.eq_ignore_ascii_case("explode") {
            return match <[Expr; 1]>::try_from(args) {
                Ok([arg]) => Ok(tidewater::functions::explode(arg).into()),
                Err(_) => Err(PyValueError::new_err("explode takes one column")),
            };
        }
        if let Some(agg) = AggFunc::by_name(name) {
            return Ok(match (agg, args.as_slice()) {
                (_, [Expr::Column(star)]) if star == "*" => Expr::Aggregate(agg, None),
                (AggFunc::MaxBy, [_, _]) => {
                    let ord = args.remove(1);
                    tidewater::functions::max_by(args.remove(0), ord)
                }
                (AggFunc::MinBy, [_, _]) => {
                    let ord = args.remove(1);
                    tidewater::functions::min_by(args.remove(0), ord)
                }
                (_, [_]) => Expr::Aggregate(agg, args.pop().map(Box::new)),
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "{name}() takes one column, got {}",
                        args.len()
                    )))
                }
            }
            .into());
        }
        match ScalarFunc::by_name(name) {
            Some(func) => Ok(Expr::Call(func, args).into()),
            None => Err(PyValueError::new_err(format!("unknown function `{name}`"))),
        }
    }

    /// `CASE WHEN .. THEN .. ELSE .. END` (PySpark's `when(..).otherwise(..)`).
    #[staticmethod]
    #[pyo3(signature = (branches, otherwise=None))]
    fn when(branches: Vec<(PyExpr, PyExpr)>, otherwise: Option<PyExpr>) -> Self {
        tidewater::functions::when(
            branches.into_iter().map(|(c, v)| (c.expr, v.expr)),
            otherwise.map(|o| o.expr),
        )
        .into()
    }

    /// A binary operator: `+ - * / %`, `== != < <= > >=`, `and`, `or`, `div`.
    fn binary(&self, op: &str, other: PyExpr) -> PyResult<Self> {
        let op = match op {
            "+" => BinaryOp::Add,
            "-" => BinaryOp::Sub,
            "*" => BinaryOp::Mul,
            "/" => BinaryOp::Div,
            "%" => BinaryOp::Rem,
            "div" => BinaryOp::IntDiv,
            "==" => BinaryOp::Eq,
            "!=" => BinaryOp::NotEq,
            "<" => BinaryOp::Lt,
            "<=" => BinaryOp::LtEq,
            ">" => BinaryOp::Gt,
            ">=" => BinaryOp::GtEq,
            "and" => BinaryOp::And,
            "or" => BinaryOp::Or,
            other => return Err(PyValueError::new_err(format!("unknown operator `{other}`"))),
        };
        Ok(Expr::Binary(op, Box::new(self.expr.clone()), Box::new(other.expr)).into())
    }

    /// A unary operator: `not`, `neg`, `isnull`, `isnotnull`.
    fn unary(&self, op: &str) -> PyResult<Self> {
        let op = match op {
            "not" => UnaryOp::Not,
            "neg" => UnaryOp::Negate,
            "isnull" => UnaryOp::IsNull,
            "isnotnull" => UnaryOp::IsNotNull,
            other => return Err(PyValueError::new_err(format!("unknown operator `{other}`"))),
        };
        Ok(Expr::Unary(op, Box::new(self.expr.clone())).into())
    }

    /// The same expression under another name.
    fn alias(&self, name: &str) -> Self {
        self.expr.clone().alias(name).into()
    }

    /// A cast to a type named as in SQL DDL (`bigint`, `string`, `array<string>`).
    fn cast(&self, py: Python<'_>, type_ddl: &str) -> PyResult<Self> {
        let data_type = DataType::from_ddl(type_ddl).py_err(py, Phase::Analysis)?;
        Ok(self.expr.clone().cast(data_type).into())
    }

    /// A struct's field (`window.start`).
    fn get_field(&self, name: &str) -> Self {
        tidewater::functions::get_field(self.expr.clone(), name).into()
    }

    /// SQL `LIKE` with `%` and `_`.
    fn like(&self, pattern: &str) -> Self {
        self.expr.clone().like(pattern).into()
    }

    /// SQL `IN (..)`.
    fn isin(&self, values: Vec<PyExpr>) -> Self {
        self.expr.clone().is_in(exprs(values)).into()
    }

    /// SQL `BETWEEN low AND high`.
    fn between(&self, low: PyExpr, high: PyExpr) -> Self {
        self.expr.clone().between(low.expr, high.expr).into()
    }

    /// The expression as SQL text (PySpark's `Column.__repr__` shows it).
    fn sql_text(&self) -> String {
        self.expr.sql_text()
    }

    /// The column name a `select` gives this expression.
    fn output_name(&self) -> String {
        self.expr.output_name()
    }

    /// The column this expression reads, as the DataFrame that made it knows it, if it is a
    /// column (`df.drop(df2.c)` drops that DataFrame's `c` alone).
    fn column_name(&self) -> Option<String> {
        match &self.expr {
            Expr::Column(name) => Some(name.clone()),
            _ => None,
        }
    }

    fn __repr__(&self) -> String {
        format!("Column<'{}'>", self.expr.sql_text())
    }
}

/// Every function name that `Expr.call` knows, for `tidewater.sql.functions`' fallback.
#[pyfunction]
pub fn function_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ScalarFunc::names().to_vec();
    names.extend_from_slice(AggFunc::names());
    names.push("explode");
    names
}
