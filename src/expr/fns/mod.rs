//! Evaluation of scalar function calls, one module per family.

mod collection;
mod datetime;
mod hash;
pub(crate) mod json;
mod math;
mod string;

use smallvec::SmallVec;

use super::bind_call::BoundCall;
use super::ScalarFunc as F;
use crate::data::{try_cast_in, Value};

/// Evaluates a bound call over `row`.
pub(crate) fn eval_call(c: &BoundCall, row: &[Value]) -> Value {
    // The conditionals evaluate only the branch they take.
    match c.func {
        F::Coalesce => {
            return c
                .args
                .iter()
                .map(|a| a.eval(row))
                .find(|v| !v.is_null())
                .unwrap_or(Value::Null)
        }
        F::If => {
            let branch = if c.args[0].is_true(row) { 1 } else { 2 };
            return c.args[branch].eval(row);
        }
        F::Nvl => {
            let v = c.args[0].eval(row);
            return if v.is_null() { c.args[1].eval(row) } else { v };
        }
        F::Nvl2 => {
            let branch = if c.args[0].eval(row).is_null() { 2 } else { 1 };
            return c.args[branch].eval(row);
        }
        _ => {}
    }
    match c.args.as_slice() {
        // Most calls take one or two arguments: no collection built for them.
        [only] => apply(c, &[only.eval(row)]),
        [first, second] => apply(c, &[first.eval(row), second.eval(row)]),
        args => {
            let args: SmallVec<[Value; 4]> = args.iter().map(|a| a.eval(row)).collect();
            apply(c, &args)
        }
    }
}

/// Applies a bound call, other than the conditionals, to its evaluated arguments by the
/// non-ANSI rules (ANSI mode checks the arguments first, then comes here).
pub(crate) fn apply(c: &BoundCall, args: &[Value]) -> Value {
    // Functions that look at nulls themselves; every other one is null on a null argument.
    let null_aware = matches!(
        c.func,
        F::ConcatWs
            | F::Greatest
            | F::Least
            | F::NullIf
            | F::Hash
            | F::Xxhash64
            | F::NamedStruct
            | F::Struct
            | F::Array
            | F::Size
            | F::ArrayContains
    );
    if !null_aware && args.iter().any(Value::is_null) {
        return Value::Null;
    }
    match c.func {
        F::TryCast => try_cast_in(args[0].clone(), &c.out, &c.zone),
        F::Greatest | F::Least => {
            let values = args.iter().filter(|v| !v.is_null());
            let found = if c.func == F::Greatest {
                values.max_by(|a, b| numeric_order(a, b))
            } else {
                values.min_by(|a, b| numeric_order(a, b))
            };
            found.cloned().map_or(Value::Null, |v| widen(v, &c.out))
        }
        F::NullIf => {
            if !args[1].is_null() && numeric_order(&args[0], &args[1]).is_eq() {
                Value::Null
            } else {
                args[0].clone()
            }
        }
        f if datetime::handles(f) => datetime::eval(c, args),
        f if string::handles(f) => string::eval(c, args),
        f if math::handles(f) => math::eval(c, args),
        f if hash::handles(f) => hash::eval(c, args),
        f if json::handles(f) => json::eval(c, args),
        f if collection::handles(f) => collection::eval(c, args),
        _ => Value::Null,
    }
}

/// Orders values, comparing an integer with a double by value.
fn numeric_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if !(matches!(a, Value::Int(_)) && matches!(b, Value::Int(_))) => {
            Value::Float(x).cmp(&Value::Float(y))
        }
        _ => a.cmp(b),
    }
}

/// An integer where the result type is DOUBLE becomes a double.
fn widen(v: Value, out: &crate::data::DataType) -> Value {
    match (v, out) {
        (Value::Int(i), crate::data::DataType::Float64) => Value::Float(i as f64),
        (v, _) => v,
    }
}
