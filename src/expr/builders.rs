//! The functions users call to build expressions, named as in `pyspark.sql.functions`.

use super::{AggFunc, Expr, ScalarFunc};
use crate::data::Value;

/// A column by name.
pub fn col(name: &str) -> Expr {
    Expr::Column(name.to_string())
}

/// A literal value: `lit(1)`, `lit("x")`, `lit(2.5)`.
pub fn lit(value: impl Into<Value>) -> Expr {
    Expr::Literal(value.into())
}

/// `split(str, pattern)`: splits around matches of the regular expression `pattern`, keeping
/// empty pieces, so `split("a  b", " ")` is `["a", "", "b"]` as in Spark.
pub fn split(e: Expr, pattern: &str) -> Expr {
    Expr::Call(ScalarFunc::Split, vec![e, lit(pattern)])
}

/// `window(time, duration)`: the tumbling event-time window of `duration` (`"10 seconds"`,
/// `"5 minutes"`) that holds `time`, as a struct with fields `start` and `end` (end
/// exclusive). Grouping by it counts per window: `group_by([window(col("ts"), "10 seconds"),
/// col("word")])`; its fields are `col("window.start")` and `col("window.end")`.
pub fn window(time: Expr, duration: &str) -> Expr {
    Expr::Call(ScalarFunc::Window, vec![time, lit(duration)])
}

/// `window(time, duration, slide)`: sliding event-time windows of `duration` starting every
/// `slide` (`"10 seconds"`, `"5 seconds"`); each row counts in every window that holds its
/// time. Only as a grouping key.
pub fn sliding_window(time: Expr, duration: &str, slide: &str) -> Expr {
    Expr::Call(ScalarFunc::Window, vec![time, lit(duration), lit(slide)])
}

/// `INTERVAL 'span'` (`"1 minute"`, `"30 seconds"`): added to or subtracted from an
/// event-time column in a stream-stream join's time-range condition, e.g.
/// `col("click_ts").lt_eq(col("imp_ts") + interval("1 minute"))`.
pub fn interval(span: &str) -> Expr {
    Expr::Call(ScalarFunc::Interval, vec![lit(span)])
}

/// `session_window(time, gap)`: Spark's session window. Grouping by it counts per session of
/// each key: a row opens `[time, time + gap)`, and sessions of a key that overlap or touch
/// merge. `gap` is an interval string (`"30 seconds"`); see
/// [`session_window_by`] for a gap that depends on the row. Only as a grouping key.
pub fn session_window(time: Expr, gap: &str) -> Expr {
    Expr::Call(ScalarFunc::SessionWindow, vec![time, lit(gap)])
}

/// `session_window(time, gap)` with the gap an expression of the row that gives an interval
/// string (e.g. a `when(..)`), as Spark allows; a row whose gap is not a positive interval is
/// in no session and drops out.
pub fn session_window_by(time: Expr, gap: Expr) -> Expr {
    Expr::Call(ScalarFunc::SessionWindow, vec![time, gap])
}

/// `explode(array)`: one output row for each element of the array.
pub fn explode(e: Expr) -> Expr {
    Expr::Explode(Box::new(e))
}

/// `lower(str)`
pub fn lower(e: Expr) -> Expr {
    Expr::Call(ScalarFunc::Lower, vec![e])
}

/// `upper(str)`
pub fn upper(e: Expr) -> Expr {
    Expr::Call(ScalarFunc::Upper, vec![e])
}

/// `length(str)`: the number of characters.
pub fn length(e: Expr) -> Expr {
    Expr::Call(ScalarFunc::Length, vec![e])
}

/// `trim(str)`
pub fn trim(e: Expr) -> Expr {
    Expr::Call(ScalarFunc::Trim, vec![e])
}

/// `concat(a, b, ...)`
pub fn concat(args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Call(ScalarFunc::Concat, args.into_iter().collect())
}

/// `abs(x)`
pub fn abs(e: Expr) -> Expr {
    Expr::Call(ScalarFunc::Abs, vec![e])
}

/// `coalesce(a, b, ...)`
pub fn coalesce(args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Call(ScalarFunc::Coalesce, args.into_iter().collect())
}

/// `substring(str, pos, len)`: `len` characters from the 1-based position `pos`.
pub fn substring(e: Expr, pos: i64, len: i64) -> Expr {
    Expr::Call(ScalarFunc::Substring, vec![e, lit(pos), lit(len)])
}

/// `round(x, scale)`: rounded half away from zero to `scale` decimals.
pub fn round(e: Expr, scale: i64) -> Expr {
    Expr::Call(ScalarFunc::Round, vec![e, lit(scale)])
}

/// `CASE WHEN c1 THEN r1 ... ELSE otherwise END`
pub fn when(branches: impl IntoIterator<Item = (Expr, Expr)>, otherwise: Option<Expr>) -> Expr {
    Expr::Case {
        branches: branches.into_iter().collect(),
        otherwise: otherwise.map(Box::new),
    }
}

/// `count(DISTINCT x)`
pub fn count_distinct(e: Expr) -> Expr {
    Expr::Aggregate(AggFunc::CountDistinct, Some(Box::new(e)))
}

fn aggregate(f: AggFunc, e: Expr) -> Expr {
    match e {
        Expr::Column(name) if name == "*" => Expr::Aggregate(f, None),
        e => Expr::Aggregate(f, Some(Box::new(e))),
    }
}

/// `count(x)`: the number of non-null values; `count(col("*"))` counts rows.
pub fn count(e: Expr) -> Expr {
    aggregate(AggFunc::Count, e)
}

/// `sum(x)`: BIGINT for integers (wrapping on overflow), DOUBLE for doubles; null if no
/// non-null input.
pub fn sum(e: Expr) -> Expr {
    aggregate(AggFunc::Sum, e)
}

/// `avg(x)`: always DOUBLE; null if no non-null input.
pub fn avg(e: Expr) -> Expr {
    aggregate(AggFunc::Avg, e)
}

/// `min(x)`
pub fn min(e: Expr) -> Expr {
    aggregate(AggFunc::Min, e)
}

/// `max(x)`
pub fn max(e: Expr) -> Expr {
    aggregate(AggFunc::Max, e)
}
