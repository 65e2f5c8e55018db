//! ANSI mode (`spark.sql.ansi.enabled = true`): the expressions whose non-ANSI answer to bad
//! input is a null (or a wrapped integer) raise Spark's error instead.
//!
//! Binding wraps only those expressions in [`BoundExpr::Ansi`] (see [`needs_check`]), so
//! evaluation in the default, non-ANSI mode runs the same code as before and pays nothing.
//!
//! Evaluation returns values, not results: an error is kept in a slot of the thread that
//! evaluates (a timely worker), and the expression gives null. When a query has attached its
//! own [`FailureSlot`] to its plan, the error moves there at once (queries may share worker
//! threads). The dataflow's reporter takes it when the epoch's frontier passes (see
//! `runtime::eval_errors`) and the leader stops the query with it, so that an error on any
//! worker of any process ends the query before the epoch is committed. The first error wins
//! until it is taken.

use std::cell::RefCell;

use smallvec::SmallVec;

use super::bind::BoundExpr;
use super::eval::{binary_values, unary};
use super::sql_text::quoted_type;
use super::{BinaryOp, ScalarFunc as F, UnaryOp};
use crate::data::{try_cast_in, DataType, Value};
use crate::error::{EvalError, EvalErrorKind};

thread_local! {
    static PENDING: RefCell<Option<EvalError>> = const { RefCell::new(None) };
}

/// Keeps `error` as this thread's pending evaluation error, unless one is already pending.
pub fn raise(error: EvalError) {
    PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        if pending.is_none() {
            *pending = Some(error);
        }
    })
}

/// Takes this thread's pending evaluation error, if any.
pub fn take_pending() -> Option<EvalError> {
    PENDING.with(|p| p.borrow_mut().take())
}

/// Where the evaluation errors of one query go: a query attaches its own slot to its plan's
/// ANSI expressions when it starts (see `LogicalPlan::with_failure_slot`), so that queries
/// sharing worker threads (the `INSERT`s of one script) each stop with their own errors.
/// Shared by the workers of a process; the first error wins until it is taken.
#[derive(Clone, Debug, Default)]
pub struct FailureSlot(std::sync::Arc<std::sync::Mutex<Option<EvalError>>>);

impl FailureSlot {
    /// Moves this thread's pending error, if any, into the slot (unless it holds one).
    pub(crate) fn settle(&self) {
        if let Some(error) = take_pending() {
            let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if held.is_none() {
                *held = Some(error);
            }
        }
    }

    /// Takes the query's error: the slot's, else one still pending on this thread (raised by
    /// an expression that was not attached to the slot).
    pub fn take(&self) -> Option<EvalError> {
        let held = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        held.or_else(take_pending)
    }
}

/// Evaluates an ANSI node: [`eval`], with an error it raised moved into the query's `slot`.
pub(crate) fn eval_into(inner: &BoundExpr, slot: Option<&FailureSlot>, row: &[Value]) -> Value {
    let value = eval(inner, row);
    // An error always answers null: only then can there be one to settle.
    if let (true, Some(slot)) = (value.is_null(), slot) {
        slot.settle();
    }
    value
}

/// True when `bound` answers some input with a null (or a wrapped integer) in non-ANSI mode
/// where ANSI mode raises an error: it is then wrapped in [`BoundExpr::Ansi`].
pub(crate) fn needs_check(bound: &BoundExpr) -> bool {
    match bound {
        BoundExpr::Binary { op, .. } => matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem | BinaryOp::IntDiv
        ),
        BoundExpr::Unary(UnaryOp::Negate, _) => true,
        BoundExpr::Cast(..) => true,
        BoundExpr::Call(c) => matches!(
            c.func,
            F::Abs | F::Pmod | F::Mod | F::ElementAt | F::GetItem | F::ToTimestamp | F::ToDate | F::Size
        ),
        _ => false,
    }
}

/// Raises `ARITHMETIC_OVERFLOW` for a `sum` of integers that left the BIGINT range.
pub(crate) fn sum_overflow() {
    overflow("long overflow", Some("try_sum"));
}

const BYPASS: &str = "If necessary set \"spark.sql.ansi.enabled\" to \"false\" to bypass this error.";

fn fail(kind: EvalErrorKind, message: String) -> Value {
    raise(EvalError { kind, message });
    Value::Null
}

fn divide_by_zero() -> Value {
    fail(
        EvalErrorKind::DivideByZero,
        format!("Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead. {BYPASS}"),
    )
}

/// Spark 4's error for `%`, `mod` and `pmod` by zero, apart from division's.
fn remainder_by_zero() -> Value {
    fail(
        EvalErrorKind::RemainderByZero,
        format!(
            "Remainder by zero. Use `try_mod` to tolerate divisor being 0 and return NULL instead. {BYPASS}"
        ),
    )
}

/// Spark's `ARITHMETIC_OVERFLOW`: Java's message, and the `try_` function that tolerates it.
fn overflow(message: &str, try_function: Option<&str>) -> Value {
    let alternative = try_function
        .map(|f| format!(" Use '{f}' to tolerate overflow and return NULL instead."))
        .unwrap_or_default();
    fail(
        EvalErrorKind::ArithmeticOverflow,
        format!("{message}.{alternative} {BYPASS}"),
    )
}

/// A value as Spark's messages quote it (`toSQLValue`): text in single quotes, a double with
/// a `D` suffix.
fn sql_value(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Float(_) => format!("{}D", crate::data::cast(v.clone(), &DataType::String)),
        Value::Int(i) => format!("{i}L"),
        other => crate::data::cast(other.clone(), &DataType::String).to_string(),
    }
}

/// Evaluates `inner` (an expression [`needs_check`] accepted) over `row` by the ANSI rules.
pub(crate) fn eval(inner: &BoundExpr, row: &[Value]) -> Value {
    match inner {
        BoundExpr::Binary {
            op,
            left,
            right,
            integer,
        } => {
            let (l, r) = (left.eval(row), right.eval(row));
            if l.is_null() || r.is_null() {
                return Value::Null;
            }
            checked_binary(*op, l, r, *integer)
        }
        BoundExpr::Unary(UnaryOp::Negate, e) => match e.eval(row) {
            Value::Int(i) => i
                .checked_neg()
                .map_or_else(|| overflow("long overflow", None), Value::Int),
            v => unary(UnaryOp::Negate, v),
        },
        BoundExpr::Cast(e, to, zone) => checked_cast(e.eval(row), to, zone),
        BoundExpr::Call(c) => {
            // `to_timestamp(s)` and `to_date(s)` without a pattern are casts of `s`, which
            // binding made non-ANSI casts: cast the text again, by the ANSI rule.
            if matches!(c.func, F::ToTimestamp | F::ToDate) && c.args.len() == 1 {
                if let BoundExpr::Cast(text, to, zone) = &c.args[0] {
                    return checked_cast(text.eval(row), to, zone);
                }
            }
            let args: SmallVec<[Value; 4]> = c.args.iter().map(|a| a.eval(row)).collect();
            if let Some(failed) = check_call(c, &args) {
                return failed;
            }
            let out = super::fns::apply(c, &args);
            if let (true, F::ToTimestamp | F::ToDate, Some(Value::Str(text))) =
                (out.is_null(), c.func, args.first())
            {
                if matches!(args.get(1), Some(Value::Str(_))) {
                    return fail(
                        EvalErrorKind::CannotParseTimestamp,
                        format!(
                            "Text '{text}' could not be parsed. Use `try_to_timestamp` to tolerate invalid input string and return NULL instead."
                        ),
                    );
                }
            }
            out
        }
        other => other.eval(row),
    }
}

fn checked_binary(op: BinaryOp, l: Value, r: Value, integer: bool) -> Value {
    if integer {
        if let (Value::Int(a), Value::Int(b)) = (&l, &r) {
            let (a, b) = (*a, *b);
            return match op {
                BinaryOp::Add => a
                    .checked_add(b)
                    .map_or_else(|| overflow("long overflow", Some("try_add")), Value::Int),
                BinaryOp::Sub => a
                    .checked_sub(b)
                    .map_or_else(|| overflow("long overflow", Some("try_subtract")), Value::Int),
                BinaryOp::Mul => a
                    .checked_mul(b)
                    .map_or_else(|| overflow("long overflow", Some("try_multiply")), Value::Int),
                BinaryOp::Rem if b == 0 => remainder_by_zero(),
                BinaryOp::Div | BinaryOp::IntDiv if b == 0 => divide_by_zero(),
                BinaryOp::IntDiv if a == i64::MIN && b == -1 => {
                    overflow("Overflow in integral divide", Some("try_divide"))
                }
                _ => binary_values(op, l, r, integer),
            };
        }
    }
    let zero = r.as_f64() == Some(0.0);
    if zero && op == BinaryOp::Rem {
        return remainder_by_zero();
    }
    if zero && matches!(op, BinaryOp::Div | BinaryOp::IntDiv) {
        return divide_by_zero();
    }
    binary_values(op, l, r, integer)
}

/// A cast by Spark's ANSI rules: `try_cast`'s answer, with an error where that is null for a
/// value that is not.
fn checked_cast(v: Value, to: &DataType, zone: &crate::data::datetime::Zone) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    // Spark writes a decimal as plain text under ANSI mode (`Cast.useDecimalPlainString`):
    // `0.0000001`, where the non-ANSI cast gives Java's `1E-7`.
    if let (Value::Decimal(d), DataType::String) = (&v, to) {
        return Value::str(d.to_string());
    }
    let cast = try_cast_in(v.clone(), to, zone);
    if !cast.is_null() {
        return cast;
    }
    let from = match &v {
        Value::Str(_) => DataType::String,
        Value::Float(_) => DataType::Float64,
        Value::Int(_) => DataType::Int64,
        other => other.data_type().unwrap_or(DataType::Null),
    };
    match v {
        Value::Str(_) => fail(
            EvalErrorKind::CastInvalidInput,
            format!(
                "The value {} of the type {} cannot be cast to {} because it is malformed. Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead.",
                sql_value(&v),
                quoted_type(&from),
                quoted_type(to)
            ),
        ),
        Value::Float(_) | Value::Int(_) => fail(
            EvalErrorKind::CastOverflow,
            format!(
                "The value {} of the type {} cannot be cast to {} due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead.",
                sql_value(&v),
                quoted_type(&from),
                quoted_type(to)
            ),
        ),
        // Every other cast that gives null does so in both modes.
        _ => Value::Null,
    }
}

/// The error ANSI mode raises for a call's evaluated arguments, if any.
fn check_call(c: &super::BoundCall, args: &[Value]) -> Option<Value> {
    match c.func {
        // `spark.sql.legacy.sizeOfNull` follows ANSI mode: the size of null is null.
        F::Size if args[0].is_null() => Some(Value::Null),
        F::Abs => match args[0] {
            Value::Int(i64::MIN) => Some(overflow("long overflow", None)),
            _ => None,
        },
        F::Pmod | F::Mod => (!args[0].is_null() && args[1].as_f64() == Some(0.0)).then(remainder_by_zero),
        F::ElementAt | F::GetItem => {
            let (Value::Array(items), Some(i)) = (&args[0], args[1].as_i64()) else {
                return None;
            };
            let n = items.len() as i64;
            let in_range = match c.func {
                F::GetItem => (0..n).contains(&i),
                _ => i != 0 && i.unsigned_abs() <= n.unsigned_abs(),
            };
            if in_range {
                return None;
            }
            Some(match c.func {
                F::GetItem => fail(
                    EvalErrorKind::InvalidArrayIndex,
                    format!(
                        "The index {i} is out of bounds. The array has {n} elements. Use the SQL function `get()` to tolerate accessing element at invalid index and return NULL instead."
                    ),
                ),
                _ if i == 0 => fail(
                    EvalErrorKind::InvalidIndexOfZero,
                    "The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1).".into(),
                ),
                _ => fail(
                    EvalErrorKind::InvalidArrayIndexInElementAt,
                    format!(
                        "The index {i} is out of bounds. The array has {n} elements. Use `try_element_at` to tolerate accessing element at invalid index and return NULL instead."
                    ),
                ),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Field, Schema};
    use crate::expr::settings::{with_settings, ExprSettings};
    use crate::expr::{col, lit, Expr};

    fn bind(e: Expr, ansi: bool) -> BoundExpr {
        let schema = Schema::new([Field::new("n", DataType::Int64)]);
        let settings = ExprSettings {
            ansi,
            ..ExprSettings::default()
        };
        with_settings(settings, || e.bind(&schema)).expect("binds").0
    }

    #[test]
    fn only_ansi_binding_wraps_and_only_what_can_fail() {
        assert!(!matches!(bind(col("n") / 0, false), BoundExpr::Ansi(..)));
        assert!(matches!(bind(col("n") / 0, true), BoundExpr::Ansi(..)));
        // A comparison never fails: it is bound as before, its operands checked on their own.
        match bind((col("n") + 1).gt(0), true) {
            BoundExpr::Binary { left, .. } => assert!(matches!(*left, BoundExpr::Ansi(..))),
            other => panic!("not a comparison: {other:?}"),
        }
    }

    #[test]
    fn a_decimal_casts_to_plain_text_under_ansi_and_to_javas_text_without() {
        let tiny = Expr::Literal(Value::Decimal(crate::data::Decimal::new(1, 7))).cast(DataType::String);
        let row = [Value::Int(0)];
        assert_eq!(bind(tiny.clone(), true).eval(&row), Value::str("0.0000001"));
        assert_eq!(bind(tiny, false).eval(&row), Value::str("1E-7"));
    }

    #[test]
    fn the_first_error_of_a_thread_is_kept_until_taken() {
        assert_eq!(take_pending(), None);
        let row = [Value::Int(7)];
        assert_eq!(bind(col("n") / 0, true).eval(&row), Value::Null);
        assert_eq!(bind(col("n") * lit(i64::MAX), true).eval(&row), Value::Null);
        let first = take_pending().expect("an error");
        assert_eq!(first.kind, EvalErrorKind::DivideByZero);
        assert_eq!(take_pending(), None, "taken once");
        // Non-ANSI: null, and nothing raised.
        assert_eq!(bind(col("n") / 0, false).eval(&row), Value::Null);
        assert_eq!(take_pending(), None);
    }
}
