//! Expressions and types as Spark's error messages write them: `"(name + 1)"` (Spark's
//! `toSQLExpr`) and `"BIGINT"` (`toSQLType`), so that a type error names the expression that
//! is wrong in the words the user wrote, not the whole query.

use super::{Expr, UnaryOp};
use crate::data::{DataType, Value};
use crate::error::Error;

impl Expr {
    /// The SQL text of the expression: columns by name, text literals quoted, operators in
    /// parentheses, calls with their arguments (Spark's `Expression.sql`).
    pub fn sql(&self) -> String {
        match self {
            Expr::Literal(Value::Str(s)) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Expr::Literal(Value::Null) => "NULL".into(),
            Expr::Alias(e, _) => e.sql(),
            Expr::Unary(op, e) => match op {
                UnaryOp::Not => format!("(NOT {})", e.sql()),
                UnaryOp::Negate => format!("(- {})", e.sql()),
                UnaryOp::IsNull => format!("({} IS NULL)", e.sql()),
                UnaryOp::IsNotNull => format!("({} IS NOT NULL)", e.sql()),
            },
            Expr::Binary(op, l, r) => format!("({} {} {})", l.sql(), op.symbol(), r.sql()),
            Expr::Cast(e, t) => format!("CAST({} AS {})", e.sql(), sql_type_name(t)),
            Expr::Call(f, args)
                if !matches!(
                    f,
                    super::ScalarFunc::GetField
                        | super::ScalarFunc::GetItem
                        | super::ScalarFunc::TryCast
                        | super::ScalarFunc::AddInterval
                ) =>
            {
                let args: Vec<String> = args.iter().map(Expr::sql).collect();
                format!("{}({})", f.name(), args.join(", "))
            }
            other => other.output_name(),
        }
    }
}

/// A type as Spark's messages name it, upper case: `BIGINT`, `ARRAY<STRING>`,
/// `STRUCT<a: BIGINT>`.
pub(crate) fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Array(e) => format!("ARRAY<{}>", sql_type_name(e)),
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}: {}", f.name, sql_type_name(&f.data_type)))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        DataType::Null => "VOID".into(),
        other => other.sql_name().to_ascii_uppercase(),
    }
}

/// A type quoted as Spark's messages quote it: `"BIGINT"`.
pub(crate) fn quoted_type(t: &DataType) -> String {
    format!("\"{}\"", sql_type_name(t))
}

/// Spark's `DATATYPE_MISMATCH.<subclass>` error for `expr`.
pub(crate) fn datatype_mismatch(class: &'static str, expr: &Expr, reason: String) -> Error {
    Error::DatatypeMismatch {
        class,
        expr: expr.sql(),
        reason,
    }
}

/// Spark's ordinal of a parameter: `first`, `second`, `third`, then `4th`, `5th`...
pub(crate) fn ordinal(i: usize) -> String {
    match i {
        0 => "first".into(),
        1 => "second".into(),
        2 => "third".into(),
        n => format!("{}th", n + 1),
    }
}

/// `DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE`: parameter `i` of `call` is `arg`, of type `t`,
/// where `required` (already quoted) is wanted.
pub(crate) fn unexpected_input(call: &Expr, i: usize, required: &str, arg: &Expr, t: &DataType) -> Error {
    datatype_mismatch(
        "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE",
        call,
        format!(
            "The {} parameter requires the {required} type, however \"{}\" has the type {}.",
            ordinal(i),
            arg.sql(),
            quoted_type(t)
        ),
    )
}
