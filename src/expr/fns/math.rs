//! Math functions.

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::decimal::{DecimalOp, Rounding};
use crate::data::{DataType, Decimal, Value};

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(
        f,
        F::Abs
            | F::Round
            | F::Bround
            | F::Floor
            | F::Ceil
            | F::Sqrt
            | F::Pow
            | F::Exp
            | F::Ln
            | F::Log
            | F::Log10
            | F::Log2
            | F::Pmod
            | F::Sign
            | F::Mod
    )
}

fn positive_log(x: f64, log: impl Fn(f64) -> f64) -> Value {
    if x > 0.0 {
        Value::Float(log(x))
    } else {
        Value::Null
    }
}

/// Evaluates a math function over its (non-null) arguments.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    if let Some(v) = eval_decimal(c, args) {
        return v;
    }
    let x = args[0].as_f64().unwrap_or(f64::NAN);
    match (c.func, &args[0]) {
        (F::Abs, Value::Int(i)) => Value::Int(i.wrapping_abs()),
        (F::Abs, _) => Value::Float(x.abs()),
        (F::Round | F::Bround, v) => {
            let scale = args.get(1).and_then(Value::as_i64).unwrap_or(0);
            let half_even = c.func == F::Bround;
            match v {
                Value::Int(i) => Value::Int(round_integer(*i, scale, half_even)),
                _ => Value::Float(round_decimal(x, scale, half_even)),
            }
        }
        (F::Floor, Value::Int(i)) | (F::Ceil, Value::Int(i)) => Value::Int(*i),
        // `as` saturates, as Spark's conversion of the double does.
        (F::Floor, _) => Value::Int(x.floor() as i64),
        (F::Ceil, _) => Value::Int(x.ceil() as i64),
        (F::Sqrt, _) => Value::Float(x.sqrt()),
        (F::Exp, _) => Value::Float(x.exp()),
        (F::Pow, _) => Value::Float(x.powf(args[1].as_f64().unwrap_or(f64::NAN))),
        (F::Ln, _) => positive_log(x, f64::ln),
        (F::Log10, _) => positive_log(x, f64::log10),
        (F::Log2, _) => positive_log(x, f64::log2),
        (F::Log, _) if args.len() == 1 => positive_log(x, f64::ln),
        (F::Log, _) => {
            let y = args[1].as_f64().unwrap_or(f64::NAN);
            if x > 0.0 && y > 0.0 {
                Value::Float(y.ln() / x.ln())
            } else {
                Value::Null
            }
        }
        (F::Sign, _) if x == 0.0 => Value::Float(0.0),
        (F::Sign, _) if x.is_nan() => Value::Float(f64::NAN),
        (F::Sign, _) => Value::Float(x.signum()),
        (F::Pmod | F::Mod, _) => match (&args[0], &args[1]) {
            (Value::Int(_), Value::Int(0)) => Value::Null,
            (Value::Int(a), Value::Int(b)) => {
                let r = a.wrapping_rem(*b);
                Value::Int(if c.func == F::Pmod && r < 0 {
                    r.wrapping_add(*b).wrapping_rem(*b)
                } else {
                    r
                })
            }
            (a, b) => {
                let (a, b) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
                if b == 0.0 {
                    return Value::Null;
                }
                let r = a % b;
                Value::Float(if c.func == F::Pmod && r < 0.0 {
                    (r + b) % b
                } else {
                    r
                })
            }
        },
        _ => Value::Null,
    }
}

/// The decimal forms of `abs`, `round`, `bround`, `floor`, `ceil`, `pmod` and `mod`, exact and
/// fitted to the call's result type (null when the result does not fit); `None` for a call
/// that is not one on a decimal.
fn eval_decimal(c: &BoundCall, args: &[Value]) -> Option<Value> {
    let DataType::Decimal { precision, scale } = c.out else {
        return None;
    };
    let as_decimal = |v: &Value| match v {
        Value::Decimal(d) => Some(*d),
        Value::Int(i) => Some(Decimal::new(i128::from(*i), 0)),
        _ => None,
    };
    let d = as_decimal(&args[0])?;
    let result = match c.func {
        F::Abs => Some(d.abs()),
        F::Round | F::Bround => {
            let places = args.get(1).and_then(Value::as_i64).unwrap_or(0);
            let places = places.clamp(-100, 100) as i32;
            let mode = if c.func == F::Bround {
                Rounding::HalfEven
            } else {
                Rounding::HalfUp
            };
            d.round(places, mode, precision, scale)
        }
        F::Floor => d.round(0, Rounding::Floor, precision, scale),
        F::Ceil => d.round(0, Rounding::Ceiling, precision, scale),
        F::Pmod | F::Mod => {
            let op = if c.func == F::Pmod {
                DecimalOp::Pmod
            } else {
                DecimalOp::Rem
            };
            d.arith(op, as_decimal(args.get(1)?)?, precision, scale)
        }
        _ => return None,
    };
    Some(result.map_or(Value::Null, Value::Decimal))
}

/// Rounds an integer to `scale` decimals; only a negative scale changes it (`round(1250, -2)`
/// is 1300, `bround(1250, -2)` 1200).
fn round_integer(i: i64, scale: i64, half_even: bool) -> i64 {
    if scale >= 0 {
        return i;
    }
    if scale < -18 {
        return 0;
    }
    let factor = 10i128.pow((-scale) as u32);
    let v = i128::from(i);
    let (q, r) = (v / factor, (v % factor).abs());
    let twice = r * 2;
    let up = twice > factor || (twice == factor && (!half_even || q % 2 != 0));
    let q = if up { q + v.signum() } else { q };
    i64::try_from(q * factor).unwrap_or(0)
}

/// Rounds a double to `scale` decimals as Spark does, on its decimal text (Java's
/// `Double.toString`, the shortest digits that read back as the same double): HALF_UP for
/// `round`, so `round(2.675, 2)` is 2.68 although the double is a little less than 2.675;
/// HALF_EVEN for `bround`.
pub(crate) fn round_decimal(x: f64, scale: i64, half_even: bool) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // `d.ddde±k`: the value is 0.dddd × 10^(k+1).
    let text = format!("{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // How many leading digits are kept.
    let keep = (exponent + 1).saturating_add(scale.clamp(-400, 400));
    if keep >= digits.len() as i64 {
        return x;
    }
    if keep < 0 {
        return 0.0_f64.copysign(x);
    }
    let keep = keep as usize;
    let mut kept: Vec<u8> = digits[..keep].to_vec();
    let next = digits[keep];
    let rest_nonzero = digits[keep + 1..].iter().any(|d| *d != 0);
    let last_odd = kept.last().is_some_and(|d| d % 2 == 1);
    let up = next > 5 || (next == 5 && (!half_even || rest_nonzero || last_odd));
    if up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    // The kept digits are an integer scaled by 10^(exponent + 1 - keep), also when a carry
    // added a digit in front (9.995 -> 1000 × 10^-2).
    let shift = exponent + 1 - keep as i64;
    let mut number: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    if number.is_empty() {
        number.push('0');
    }
    let value: f64 = format!("{number}e{shift}").parse().unwrap_or(0.0);
    value.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_works_on_the_decimal_text() {
        assert_eq!(round_decimal(2.675, 2, false), 2.68, "HALF_UP on the text 2.675");
        assert_eq!(round_decimal(2.5, 0, false), 3.0);
        assert_eq!(round_decimal(-2.5, 0, false), -3.0);
        assert_eq!(round_decimal(2.5, 0, true), 2.0);
        assert_eq!(round_decimal(3.5, 0, true), 4.0);
        assert_eq!(
            round_decimal(2.675, 2, true),
            2.68,
            "the 7 is odd: HALF_EVEN rounds up too"
        );
        assert_eq!(round_decimal(2.665, 2, true), 2.66);
        assert_eq!(round_decimal(9.995, 2, false), 10.0);
        assert_eq!(round_decimal(1234.5, -2, false), 1200.0);
        assert_eq!(round_decimal(0.0004, 2, false), 0.0);
        assert_eq!(round_decimal(1.23456, 10, false), 1.23456);
        assert_eq!(round_decimal(1.0e300, -301, false), 0.0);
        assert_eq!(round_integer(1250, -2, false), 1300);
        assert_eq!(round_integer(1250, -2, true), 1200);
        assert_eq!(round_integer(-1350, -2, true), -1400);
        assert_eq!(round_integer(7, 3, false), 7);
    }
}
