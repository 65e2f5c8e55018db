//! Array functions.

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::Value;

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(
        f,
        F::Array | F::Size | F::ElementAt | F::TryElementAt | F::GetItem | F::ArrayContains
    )
}

/// Evaluates an array function; `size` and `array_contains` see nulls themselves.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    match c.func {
        F::Array => Value::Array(args.iter().cloned().collect()),
        // Spark's non-ANSI rule (`spark.sql.legacy.sizeOfNull`): the size of null is -1.
        F::Size => match &args[0] {
            Value::Array(items) => Value::Int(items.len() as i64),
            _ => Value::Int(-1),
        },
        F::ElementAt | F::TryElementAt | F::GetItem => {
            let (Value::Array(items), Some(i)) = (&args[0], args[1].as_i64()) else {
                return Value::Null;
            };
            let n = items.len() as i64;
            let index = match c.func {
                F::GetItem => i,
                // 1-based; negative counts from the end; 0 is no element.
                _ if i > 0 => i - 1,
                _ if i < 0 => n + i,
                _ => return Value::Null,
            };
            if (0..n).contains(&index) {
                items[index as usize].clone()
            } else {
                Value::Null
            }
        }
        F::ArrayContains => match (&args[0], &args[1]) {
            (Value::Array(_), Value::Null) | (Value::Null, _) => Value::Null,
            (Value::Array(items), v) => {
                let equal = |item: &Value| match (item.as_f64(), v.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => item == v,
                };
                if items.iter().any(equal) {
                    Value::Bool(true)
                } else if items.iter().any(Value::is_null) {
                    Value::Null
                } else {
                    Value::Bool(false)
                }
            }
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}
