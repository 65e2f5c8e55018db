//! Evaluation of a [`BoundExpr`] over one row, with Spark's (non-ANSI) null and overflow rules:
//! any null operand gives null (except in `AND`/`OR`, which are three-valued, and `IS NULL`),
//! integer arithmetic wraps on overflow, division or remainder by zero gives null, and a
//! failed cast gives null.

use std::borrow::Cow;
use std::cmp::Ordering;

use smol_str::SmolStr;

use super::bind::{BoundExpr, NowKind, SessionGap};
use super::{BinaryOp, UnaryOp};
use crate::data::{cast_in, Value};

impl BoundExpr {
    /// Evaluates the expression over `row`.
    pub fn eval(&self, row: &[Value]) -> Value {
        match self {
            BoundExpr::Column(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            BoundExpr::Literal(v) => v.clone(),
            BoundExpr::Unary(op, e) => unary(*op, e.eval(row)),
            BoundExpr::Binary {
                op,
                left,
                right,
                integer,
            } => binary(*op, left, right, *integer, row),
            BoundExpr::Decimal {
                op,
                left,
                right,
                precision,
                scale,
            } => match (left.eval(row), right.eval(row)) {
                (Value::Decimal(a), Value::Decimal(b)) => a
                    .arith(*op, b, *precision, *scale)
                    .map_or(Value::Null, Value::Decimal),
                _ => Value::Null,
            },
            BoundExpr::Split(e, splitter) => match e.eval(row) {
                Value::Str(s) => {
                    let mut pieces = Vec::new();
                    splitter.for_each(&s, |p| pieces.push(Value::Str(SmolStr::new(p))));
                    Value::Array(pieces.into())
                }
                _ => Value::Null,
            },
            BoundExpr::Window(e, size) => match e.eval(row) {
                Value::Timestamp(t) => {
                    let start = t - t.rem_euclid(*size);
                    Value::window(start, start + size)
                }
                _ => Value::Null,
            },
            BoundExpr::SlidingWindows(e, size, slide) => match e.eval(row) {
                Value::Timestamp(t) => {
                    let mut windows = Vec::new();
                    windows_of(t, *size, *slide, |w| windows.push(w));
                    Value::Array(windows.into())
                }
                _ => Value::Null,
            },
            BoundExpr::SessionStart(time, gap) => {
                let Value::Timestamp(t) = time.eval(row) else {
                    return Value::Null;
                };
                let gap = match gap {
                    SessionGap::Fixed(micros) => Some(*micros),
                    SessionGap::PerRow(gap) => match gap.eval(row) {
                        Value::Str(text) => crate::data::parse_interval(&text)
                            .ok()
                            .map(|d| d.as_micros() as i64),
                        _ => None,
                    },
                };
                match gap.filter(|g| *g > 0) {
                    Some(gap) => Value::window(t, t.saturating_add(gap)),
                    None => Value::Null,
                }
            }
            BoundExpr::Field(e, i) => match e.eval(row) {
                Value::Struct(fields) => fields.get(*i).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            BoundExpr::Call(c) => super::fns::eval_call(c, row),
            BoundExpr::Cast(e, to, zone) => cast_in(e.eval(row), to, zone),
            BoundExpr::Ansi(e, slot) => super::ansi::eval_into(e, slot.as_ref(), row),
            BoundExpr::Case { branches, otherwise } => branches
                .iter()
                .find(|(condition, _)| condition.is_true(row))
                .map_or_else(|| otherwise.eval(row), |(_, result)| result.eval(row)),
            BoundExpr::Like(e, regex, negated) => match e.eval(row) {
                Value::Str(s) => Value::Bool(regex.is_match(&s) != *negated),
                _ => Value::Null,
            },
            BoundExpr::Now { kind, zone, clock } => {
                let (epoch, micros) = clock.now();
                match kind {
                    NowKind::Timestamp => Value::Timestamp(micros),
                    NowKind::Date => zone.local(micros).map_or(Value::Null, |local| {
                        Value::Date(crate::data::datetime::days_of_date(local.date()))
                    }),
                    NowKind::Epoch => Value::Int(i64::try_from(epoch).unwrap_or(i64::MAX)),
                }
            }
        }
    }

    /// For `split(text, pattern)`, calls `f` with each piece of `text` evaluated over `row`,
    /// without building the array: `explode(split(..))` only walks the pieces. A null or
    /// non-string text has no pieces, nor has any other expression. A text that is a column is
    /// borrowed from the row, not cloned, since this runs once per input line.
    pub(crate) fn for_each_split_piece(&self, row: &[Value], f: impl FnMut(&str)) {
        let BoundExpr::Split(text, splitter) = self else {
            return;
        };
        match text.as_ref() {
            BoundExpr::Column(i) => {
                if let Some(Value::Str(s)) = row.get(*i) {
                    splitter.for_each(s, f)
                }
            }
            other => {
                if let Value::Str(s) = other.eval(row) {
                    splitter.for_each(&s, f)
                }
            }
        }
    }

    /// For `window(time, size, slide)` as a grouping key, calls `f` with each window that the
    /// time evaluated over `row` falls in (see [`windows_of`]), without building the array. A
    /// null time is in no window, nor is anything for another expression.
    pub(crate) fn for_each_window(&self, row: &[Value], f: impl FnMut(Value)) {
        if let BoundExpr::SlidingWindows(time, size, slide) = self {
            if let Value::Timestamp(t) = time.eval(row) {
                windows_of(t, *size, *slide, f)
            }
        }
    }

    /// Evaluates a predicate: true only for a non-null `true` (SQL's WHERE rule).
    pub fn is_true(&self, row: &[Value]) -> bool {
        matches!(self.eval(row), Value::Bool(true))
    }
}

pub(super) fn unary(op: UnaryOp, v: Value) -> Value {
    match op {
        UnaryOp::IsNull => Value::Bool(v.is_null()),
        UnaryOp::IsNotNull => Value::Bool(!v.is_null()),
        UnaryOp::Not => match v {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        UnaryOp::Negate => match v {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Float(f) => Value::Float(-f),
            Value::Decimal(d) => Value::Decimal(d.negate()),
            _ => Value::Null,
        },
    }
}

fn binary(op: BinaryOp, left: &BoundExpr, right: &BoundExpr, integer: bool, row: &[Value]) -> Value {
    // Three-valued logic needs to look at both sides before deciding on null.
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let (l, r) = (left.eval(row).as_bool(), right.eval(row).as_bool());
        let decisive = op == BinaryOp::Or;
        return match (l, r) {
            (Some(a), _) if a == decisive => Value::Bool(decisive),
            (_, Some(b)) if b == decisive => Value::Bool(decisive),
            (Some(_), Some(_)) => Value::Bool(!decisive),
            _ => Value::Null,
        };
    }
    if let Some(holds) = comparison(op) {
        // Columns and literals are compared where they are, without a copy of either.
        return compare(
            holds,
            &left.eval_borrowed(row),
            &right.eval_borrowed(row),
            integer,
        );
    }
    binary_values(op, left.eval(row), right.eval(row), integer)
}

impl BoundExpr {
    /// The value over `row`, borrowed where the expression is a column or a literal.
    fn eval_borrowed<'a>(&'a self, row: &'a [Value]) -> Cow<'a, Value> {
        match self {
            BoundExpr::Column(i) => row.get(*i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
            BoundExpr::Literal(v) => Cow::Borrowed(v),
            other => Cow::Owned(other.eval(row)),
        }
    }
}

/// For a comparison operator, the orderings of its operands that make it true.
fn comparison(op: BinaryOp) -> Option<fn(Ordering) -> bool> {
    Some(match op {
        BinaryOp::Eq => Ordering::is_eq,
        BinaryOp::NotEq => Ordering::is_ne,
        BinaryOp::Lt => Ordering::is_lt,
        BinaryOp::LtEq => Ordering::is_le,
        BinaryOp::Gt => Ordering::is_gt,
        BinaryOp::GtEq => Ordering::is_ge,
        _ => return None,
    })
}

/// A comparison of `l` and `r` (see [`comparison`]): null if either is null. Decimals compare
/// exactly whatever their scales; other numbers as doubles, unless both are integers.
fn compare(holds: fn(Ordering) -> bool, l: &Value, r: &Value, integer: bool) -> Value {
    if l.is_null() || r.is_null() {
        return Value::Null;
    }
    let ordering = match (l, r) {
        (Value::Decimal(a), Value::Decimal(b)) => a.cmp(b),
        _ => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) if !integer => Value::Float(a).cmp(&Value::Float(b)),
            _ => l.cmp(r),
        },
    };
    Value::Bool(holds(ordering))
}

/// A binary operator other than `AND`/`OR` applied to evaluated operands, by the non-ANSI
/// rules (ANSI mode checks its operands first, then comes here).
pub(super) fn binary_values(op: BinaryOp, l: Value, r: Value, integer: bool) -> Value {
    if let Some(holds) = comparison(op) {
        return compare(holds, &l, &r, integer);
    }
    if l.is_null() || r.is_null() {
        return Value::Null;
    }
    match op {
        _ if integer => {
            let (Some(a), Some(b)) = (l.as_i64(), r.as_i64()) else {
                return Value::Null;
            };
            match op {
                BinaryOp::Add => Value::Int(a.wrapping_add(b)),
                BinaryOp::Sub => Value::Int(a.wrapping_sub(b)),
                BinaryOp::Mul => Value::Int(a.wrapping_mul(b)),
                BinaryOp::Div if b == 0 => Value::Null,
                BinaryOp::Div => Value::Float(a as f64 / b as f64),
                BinaryOp::Rem if b == 0 => Value::Null,
                BinaryOp::Rem => Value::Int(a.wrapping_rem(b)),
                BinaryOp::IntDiv if b == 0 => Value::Null,
                BinaryOp::IntDiv => Value::Int(a.wrapping_div(b)),
                _ => Value::Null,
            }
        }
        _ => {
            let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                return Value::Null;
            };
            match op {
                BinaryOp::Add => Value::Float(a + b),
                BinaryOp::Sub => Value::Float(a - b),
                BinaryOp::Mul => Value::Float(a * b),
                BinaryOp::Div | BinaryOp::Rem if b == 0.0 => Value::Null,
                BinaryOp::Div => Value::Float(a / b),
                BinaryOp::Rem => Value::Float(a % b),
                BinaryOp::IntDiv if b == 0.0 => Value::Null,
                BinaryOp::IntDiv => Value::Int((a / b).trunc() as i64),
                _ => Value::Null,
            }
        }
    }
}

/// Calls `f` with the windows `[s, s + size)` that hold time `t`, earliest first: those with
/// `s` a multiple of `slide` and `t - size < s <= t` (one, for a tumbling window).
fn windows_of(t: i64, size: i64, slide: i64, mut f: impl FnMut(Value)) {
    window_starts(t, size, slide, |start| f(Value::window(start, start + size)))
}

/// The starts of the windows of `size` every `slide` (microseconds) that time `t` falls in,
/// earliest first, as [`windows_of`] makes them.
pub(crate) fn window_starts(t: i64, size: i64, slide: i64, mut f: impl FnMut(i64)) {
    let last = t - t.rem_euclid(slide);
    // `t - last < slide <= size`, so the count of earlier starts is never negative.
    let mut start = last - (size - 1 - (t - last)) / slide * slide;
    while start <= last {
        f(start);
        start += slide;
    }
}

#[cfg(test)]
mod tests {
    use crate::data::{DataType, Field, Schema, Value};
    use crate::expr::*;

    fn eval(e: Expr) -> Value {
        let schema = Schema::new([
            Field::new("s", DataType::String),
            Field::new("i", DataType::Int64),
            Field::new("n", DataType::Int64),
        ]);
        let row = [Value::str("a  b"), Value::Int(7), Value::Null];
        let (bound, _) = e.bind(&schema).expect("binds");
        bound.eval(&row)
    }

    #[test]
    fn split_keeps_empty_pieces_like_spark() {
        let pieces = |v: Value| match v {
            Value::Array(a) => a.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            v => panic!("not an array: {v:?}"),
        };
        assert_eq!(pieces(eval(split(col("s"), " "))), ["a", "", "b"]);
        assert_eq!(pieces(eval(split(col("s"), " +"))), ["a", "b"]);
        assert_eq!(pieces(eval(split(lit(""), " "))), [""]);
        assert_eq!(pieces(eval(split(lit("a b "), " "))), ["a", "b", ""]);
        // Spark 4.3's answers, run on this machine (`to_json(split(..))`).
        for (text, pattern, expected) in [
            ("abc", "", &["a", "b", "c"][..]),
            ("a", "", &["a"]),
            ("", "", &[""]),
            ("héllo", "", &["h", "é", "l", "l", "o"]),
            ("abc", "x*", &["a", "b", "c", ""]),
            ("", "x*", &[""]),
            ("a,b,", ",", &["a", "b", ""]),
            ("abc", "b*", &["a", "", "c", ""]),
        ] {
            assert_eq!(
                pieces(eval(split(lit(text), pattern))),
                expected,
                "split({text:?}, {pattern:?})"
            );
        }
    }

    #[test]
    fn nulls_propagate_and_logic_is_three_valued() {
        assert_eq!(eval(col("i") + col("n")), Value::Null);
        assert_eq!(eval(col("n").gt(1).or(lit(true))), Value::Bool(true));
        assert_eq!(eval(col("n").gt(1).and(lit(false))), Value::Bool(false));
        assert_eq!(eval(col("n").gt(1).and(lit(true))), Value::Null);
        assert_eq!(eval(col("n").is_null()), Value::Bool(true));
    }

    #[test]
    fn arithmetic_follows_spark_types() {
        assert_eq!(eval(col("i") + 1), Value::Int(8));
        assert_eq!(eval(col("i") / 2), Value::Float(3.5));
        assert_eq!(eval(col("i") / 0), Value::Null);
        assert_eq!(eval(col("i") % 4), Value::Int(3));
        assert_eq!(eval(col("i") * 1.5), Value::Float(10.5));
        assert_eq!(eval(lit(i64::MAX) + 1), Value::Int(i64::MIN));
    }

    #[test]
    fn case_like_in_between_substring_round() {
        let big = when([(col("i").gt(5), lit("big"))], Some(lit("small")));
        assert_eq!(eval(big), Value::str("big"));
        assert_eq!(eval(when([(col("n").gt(5), lit(1))], None)), Value::Null);
        assert_eq!(eval(col("s").like("a%b")), Value::Bool(true));
        assert_eq!(eval(col("s").like("a_b")), Value::Bool(false));
        assert_eq!(eval(col("i").is_in([lit(1), lit(7)])), Value::Bool(true));
        assert_eq!(eval(col("i").is_in([lit(1), col("n")])), Value::Null);
        assert_eq!(eval(col("i").between(7, 9)), Value::Bool(true));
        assert_eq!(eval(substring(lit("Spark SQL"), 5, 1)), Value::str("k"));
        assert_eq!(eval(substring(lit("Spark SQL"), -3, 2)), Value::str("SQ"));
        assert_eq!(eval(substring(lit("Spark"), 0, 2)), Value::str("Sp"));
        assert_eq!(eval(round(lit(2.5), 0)), Value::Float(3.0));
        assert_eq!(eval(round(lit(-2.5), 0)), Value::Float(-3.0));
        assert_eq!(eval(round(lit(1.23456), 2)), Value::Float(1.23));
        assert_eq!(eval(round(lit(1250), -2)), Value::Int(1300));
        assert_eq!(
            eval(round(lit(1250), i64::MIN)),
            Value::Int(0),
            "an absurd scale is no panic"
        );
    }

    #[test]
    fn casts_of_bad_text_give_null() {
        assert_eq!(eval(lit("12").cast(DataType::Int64)), Value::Int(12));
        assert_eq!(eval(lit("x").cast(DataType::Int64)), Value::Null);
        assert_eq!(eval(col("i").cast(DataType::String)), Value::str("7"));
        assert_eq!(
            eval(lit("2024-01-01 00:00:01").cast(DataType::Timestamp)),
            Value::Timestamp(1_704_067_201_000_000)
        );
    }

    #[test]
    fn binding_reports_unknown_columns_and_type_errors() {
        let schema = Schema::new([Field::new("s", DataType::String)]);
        let err = col("nope").bind(&schema).unwrap_err();
        assert_eq!(err.code(), "UNRESOLVED_COLUMN");
        assert!(
            err.to_string().contains("`nope`") && err.to_string().contains("s"),
            "{err}"
        );
        assert_eq!(
            (col("s") + 1).bind(&schema).unwrap_err().code(),
            "DATATYPE_MISMATCH"
        );
        assert_eq!(
            upper(col("S")).bind(&schema).map(|(_, t)| t).ok(),
            Some(DataType::String)
        );
    }

    #[test]
    fn the_windows_of_a_time_are_every_window_that_holds_it_earliest_first() {
        use crate::expr::bind::BoundExpr;
        let windows = |t: Option<i64>, size: i64, slide: i64| {
            let row = [t.map_or(Value::Null, Value::Timestamp)];
            let windows = BoundExpr::SlidingWindows(Box::new(BoundExpr::Column(0)), size, slide);
            let mut found = Vec::new();
            windows.for_each_window(&row, |w| match w {
                Value::Struct(f) => found.push((f[0].clone(), f[1].clone())),
                other => panic!("not a window: {other}"),
            });
            // The array form, for the same row, holds the same windows.
            let Value::Array(array) = windows.eval(&row) else {
                assert!(found.is_empty(), "a time with windows has an array of them");
                return found;
            };
            assert_eq!(array.len(), found.len());
            found
                .into_iter()
                .map(|(s, e)| match (s, e) {
                    (Value::Timestamp(s), Value::Timestamp(e)) => (Value::Int(s), Value::Int(e)),
                    other => panic!("not timestamps: {other:?}"),
                })
                .collect()
        };
        let ints = |pairs: &[(i64, i64)]| -> Vec<(Value, Value)> {
            pairs
                .iter()
                .map(|&(s, e)| (Value::Int(s), Value::Int(e)))
                .collect()
        };
        assert_eq!(windows(Some(25), 10, 5), ints(&[(20, 30), (25, 35)]));
        assert_eq!(windows(Some(27), 10, 5), ints(&[(20, 30), (25, 35)]));
        assert_eq!(windows(Some(-3), 10, 5), ints(&[(-10, 0), (-5, 5)]));
        assert_eq!(windows(Some(7), 10, 10), ints(&[(0, 10)]));
        assert_eq!(
            windows(Some(9), 10, 3),
            ints(&[(0, 10), (3, 13), (6, 16), (9, 19)])
        );
        assert_eq!(windows(None, 10, 5), []);
    }
}
