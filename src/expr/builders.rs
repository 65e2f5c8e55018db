//! The functions users call to build expressions, named as in `pyspark.sql.functions`.

use super::{AggFunc, Expr, ScalarFunc};
use crate::data::{DataType, Value};

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

fn call(f: ScalarFunc, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Call(f, args.into_iter().collect())
}

/// `current_timestamp()`: the epoch's batch time, the same for every row of an epoch, as in
/// Spark (an epoch run again after a restart sees its logged time).
pub fn current_timestamp() -> Expr {
    call(ScalarFunc::CurrentTimestamp, [])
}

/// `now()`: another name for [`current_timestamp`].
pub fn now() -> Expr {
    call(ScalarFunc::CurrentTimestamp, [])
}

/// `current_date()`: the day of the epoch's batch time in the session time zone.
pub fn current_date() -> Expr {
    call(ScalarFunc::CurrentDate, [])
}

macro_rules! unary_functions {
    ($($(#[doc = $doc:literal])* $name:ident => $func:ident,)*) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(e: Expr) -> Expr {
                call(ScalarFunc::$func, [e])
            }
        )*
    };
}

macro_rules! binary_functions {
    ($($(#[doc = $doc:literal])* $name:ident => $func:ident,)*) => {
        $(
            $(#[doc = $doc])*
            pub fn $name(a: Expr, b: impl Into<Expr>) -> Expr {
                call(ScalarFunc::$func, [a, b.into()])
            }
        )*
    };
}

unary_functions! {
    /// `timestamp_millis(ms)`: the instant `ms` milliseconds after the epoch.
    timestamp_millis => TimestampMillis,
    /// `timestamp_seconds(s)`: the instant `s` seconds after the epoch (saturates).
    timestamp_seconds => TimestampSeconds,
    /// `timestamp_micros(us)`
    timestamp_micros => TimestampMicros,
    /// `unix_millis(ts)`: milliseconds since the epoch, rounded down.
    unix_millis => UnixMillis,
    /// `unix_seconds(ts)`: seconds since the epoch, rounded down.
    unix_seconds => UnixSeconds,
    /// `unix_micros(ts)`
    unix_micros => UnixMicros,
    /// `unix_date(date)`: days since 1970-01-01.
    unix_date => UnixDate,
    /// `to_timestamp(s)`: text read as `CAST(s AS TIMESTAMP)` reads it, in the session time zone.
    to_timestamp => ToTimestamp,
    /// `try_to_timestamp(s)`
    try_to_timestamp => TryToTimestamp,
    /// `to_date(s)`: the date of text or of a timestamp.
    to_date => ToDate,
    /// `from_unixtime(seconds)`: `yyyy-MM-dd HH:mm:ss` text in the session time zone.
    from_unixtime => FromUnixtime,
    /// `last_day(date)`
    last_day => LastDay,
    /// `year(date)`
    year => Year,
    /// `quarter(date)`
    quarter => Quarter,
    /// `month(date)`
    month => Month,
    /// `dayofmonth(date)`
    dayofmonth => DayOfMonth,
    /// `dayofweek(date)`: 1 for Sunday to 7 for Saturday.
    dayofweek => DayOfWeek,
    /// `dayofyear(date)`
    dayofyear => DayOfYear,
    /// `weekofyear(date)`: the ISO 8601 week.
    weekofyear => WeekOfYear,
    /// `hour(ts)` in the session time zone.
    hour => Hour,
    /// `minute(ts)`
    minute => Minute,
    /// `second(ts)`
    second => Second,
    /// `ltrim(str)`
    ltrim => Ltrim,
    /// `rtrim(str)`
    rtrim => Rtrim,
    /// `initcap(str)`
    initcap => Initcap,
    /// `reverse(str or array)`
    reverse => Reverse,
    /// `ascii(str)`
    ascii => Ascii,
    /// `to_json(struct)`
    to_json => ToJson,
    /// `size(array)`: -1 for null.
    size => Size,
    /// `floor(x)`: BIGINT.
    floor => Floor,
    /// `ceil(x)`: BIGINT.
    ceil => Ceil,
    /// `sqrt(x)`
    sqrt => Sqrt,
    /// `exp(x)`
    exp => Exp,
    /// `ln(x)`: null for x <= 0.
    ln => Ln,
    /// `log10(x)`: null for x <= 0.
    log10 => Log10,
    /// `log2(x)`: null for x <= 0.
    log2 => Log2,
    /// `signum(x)`
    signum => Sign,
    /// `md5(x)`
    md5 => Md5,
    /// `sha1(x)`
    sha1 => Sha1,
    /// `crc32(x)`
    crc32 => Crc32,
}

binary_functions! {
    /// `date_add(date, days)`
    date_add => DateAdd,
    /// `date_sub(date, days)`
    date_sub => DateSub,
    /// `datediff(end, start)`: days from `start` to `end`.
    datediff => DateDiff,
    /// `add_months(date, months)`: clamped to the month's last day.
    add_months => AddMonths,
    /// `months_between(t1, t2)`: rounded to 8 digits.
    months_between => MonthsBetween,
    /// `rlike(str, regex)`
    rlike => Rlike,
    /// `instr(str, substring)`: 1-based, 0 if absent.
    instr => Instr,
    /// `repeat(str, n)`
    repeat => Repeat,
    /// `left(str, n)`
    left => Left,
    /// `right(str, n)`
    right => Right,
    /// `format_number(x, d)`: `1,234.57`.
    format_number => FormatNumber,
    /// `get_json_object(json, path)`
    get_json_object => GetJsonObject,
    /// `element_at(array, i)`: 1-based, negative from the end, null out of range.
    element_at => ElementAt,
    /// `try_element_at(array, i)`
    try_element_at => TryElementAt,
    /// `array_contains(array, value)`
    array_contains => ArrayContains,
    /// `nullif(a, b)`
    nullif => NullIf,
    /// `nvl(a, b)`: `b` when `a` is null.
    nvl => Nvl,
    /// `ifnull(a, b)`
    ifnull => Nvl,
    /// `pow(x, y)`
    pow => Pow,
    /// `pmod(a, b)`: the positive remainder.
    pmod => Pmod,
    /// `sha2(x, bits)`: 224, 256 (or 0), 384 or 512.
    sha2 => Sha2,
}

/// `to_timestamp(s, fmt)`: text read with a Spark datetime pattern (`yyyy-MM-dd HH:mm:ss`).
pub fn to_timestamp_fmt(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::ToTimestamp, [e, lit(fmt)])
}

/// `try_to_timestamp(s, fmt)`
pub fn try_to_timestamp_fmt(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::TryToTimestamp, [e, lit(fmt)])
}

/// `to_date(s, fmt)`: text read with a datetime pattern.
pub fn to_date_fmt(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::ToDate, [e, lit(fmt)])
}

/// `from_unixtime(seconds, fmt)`
pub fn from_unixtime_fmt(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::FromUnixtime, [e, lit(fmt)])
}

/// `unix_timestamp(s, fmt)`: seconds since the epoch of text read with a pattern.
pub fn unix_timestamp(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::UnixTimestamp, [e, lit(fmt)])
}

/// `date_format(ts, fmt)`: `date_format(col("ts"), "yyyy-MM-dd HH:mm")`.
pub fn date_format(e: Expr, fmt: &str) -> Expr {
    call(ScalarFunc::DateFormat, [e, lit(fmt)])
}

/// `date_trunc(unit, ts)`: `date_trunc("hour", col("ts"))`.
pub fn date_trunc(unit: &str, e: Expr) -> Expr {
    call(ScalarFunc::DateTrunc, [lit(unit), e])
}

/// `trunc(date, unit)`: to `year`, `quarter`, `month` or `week`.
pub fn trunc(e: Expr, unit: &str) -> Expr {
    call(ScalarFunc::Trunc, [e, lit(unit)])
}

/// `make_date(year, month, day)`
pub fn make_date(year: Expr, month: Expr, day: Expr) -> Expr {
    call(ScalarFunc::MakeDate, [year, month, day])
}

/// `ts + INTERVAL`: `months` months (as `add_months`) and `micros` microseconds later; a date
/// plus whole days stays a date.
pub fn add_interval(e: Expr, months: i64, micros: i64) -> Expr {
    call(ScalarFunc::AddInterval, [e, lit(months), lit(micros)])
}

/// `regexp_extract(str, regex, group)`: the group of the first match, `""` when none.
pub fn regexp_extract(e: Expr, regex: &str, group: i64) -> Expr {
    call(ScalarFunc::RegexpExtract, [e, lit(regex), lit(group)])
}

/// `regexp_replace(str, regex, replacement)`: `$1` names a group.
pub fn regexp_replace(e: Expr, regex: &str, replacement: &str) -> Expr {
    call(ScalarFunc::RegexpReplace, [e, lit(regex), lit(replacement)])
}

/// `locate(substring, str, pos)`: the 1-based position at or after `pos`, 0 if absent.
pub fn locate(substring: &str, e: Expr, pos: i64) -> Expr {
    call(ScalarFunc::Locate, [lit(substring), e, lit(pos)])
}

/// `lpad(str, len, pad)`
pub fn lpad(e: Expr, len: i64, pad: &str) -> Expr {
    call(ScalarFunc::Lpad, [e, lit(len), lit(pad)])
}

/// `rpad(str, len, pad)`
pub fn rpad(e: Expr, len: i64, pad: &str) -> Expr {
    call(ScalarFunc::Rpad, [e, lit(len), lit(pad)])
}

/// `translate(str, from, to)`
pub fn translate(e: Expr, from: &str, to: &str) -> Expr {
    call(ScalarFunc::Translate, [e, lit(from), lit(to)])
}

/// `replace(str, search, replacement)`
pub fn replace(e: Expr, search: impl Into<Expr>, replacement: impl Into<Expr>) -> Expr {
    call(ScalarFunc::Replace, [e, search.into(), replacement.into()])
}

/// `concat_ws(sep, a, b, ...)`: nulls skipped.
pub fn concat_ws(sep: &str, args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::ConcatWs, std::iter::once(lit(sep)).chain(args))
}

/// `from_json(json, schema)`: `from_json(col("v"), "a BIGINT, b STRUCT<c: STRING>")`.
pub fn from_json(e: Expr, schema: &str) -> Expr {
    call(ScalarFunc::FromJson, [e, lit(schema)])
}

/// `named_struct(name, value, ...)`
pub fn named_struct<'a>(fields: impl IntoIterator<Item = (&'a str, Expr)>) -> Expr {
    call(
        ScalarFunc::NamedStruct,
        fields.into_iter().flat_map(|(n, v)| [lit(n), v]),
    )
}

/// `struct(a, b, ...)`: fields named after the columns.
pub fn struct_(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Struct, args)
}

/// `array(a, b, ...)`
pub fn array(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Array, args)
}

/// `if(condition, a, b)`
pub fn if_(condition: Expr, then: impl Into<Expr>, otherwise: impl Into<Expr>) -> Expr {
    call(ScalarFunc::If, [condition, then.into(), otherwise.into()])
}

/// `nvl2(a, b, c)`: `b` when `a` is not null, else `c`.
pub fn nvl2(a: Expr, b: impl Into<Expr>, c: impl Into<Expr>) -> Expr {
    call(ScalarFunc::Nvl2, [a, b.into(), c.into()])
}

/// `greatest(a, b, ...)`: the largest non-null value.
pub fn greatest(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Greatest, args)
}

/// `least(a, b, ...)`: the smallest non-null value.
pub fn least(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Least, args)
}

/// `bround(x, scale)`: HALF_EVEN rounding.
pub fn bround(e: Expr, scale: i64) -> Expr {
    call(ScalarFunc::Bround, [e, lit(scale)])
}

/// `log(base, x)`
pub fn log(base: f64, e: Expr) -> Expr {
    call(ScalarFunc::Log, [lit(base), e])
}

/// `hash(a, ...)`: Spark's Murmur3 (see README for how integers hash).
pub fn hash(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Hash, args)
}

/// `xxhash64(a, ...)`: Spark's xxHash64.
pub fn xxhash64(args: impl IntoIterator<Item = Expr>) -> Expr {
    call(ScalarFunc::Xxhash64, args)
}

/// `try_cast(e AS t)`: null where a cast would fail in ANSI mode.
pub fn try_cast(e: Expr, to: DataType) -> Expr {
    call(ScalarFunc::TryCast, [e, lit(to.sql_name().as_str())])
}

/// `e.field`: a field of a struct-valued expression (such as `from_json`'s result).
pub fn get_field(e: Expr, field: &str) -> Expr {
    call(ScalarFunc::GetField, [e, lit(field)])
}

/// `a div b`: integer division, toward zero; null for a zero divisor.
pub fn div(a: Expr, b: impl Into<Expr>) -> Expr {
    Expr::Binary(super::BinaryOp::IntDiv, Box::new(a), Box::new(b.into()))
}

/// `collect_list(x)`: the non-null values as a (sorted) array.
pub fn collect_list(e: Expr) -> Expr {
    aggregate(AggFunc::CollectList, e)
}

/// `collect_set(x)`: the distinct non-null values as a sorted array.
pub fn collect_set(e: Expr) -> Expr {
    aggregate(AggFunc::CollectSet, e)
}

/// `approx_count_distinct(x)`: counted exactly here.
pub fn approx_count_distinct(e: Expr) -> Expr {
    aggregate(AggFunc::ApproxCountDistinct, e)
}

/// `stddev(x)`: the sample standard deviation.
pub fn stddev(e: Expr) -> Expr {
    aggregate(AggFunc::Stddev, e)
}

/// `stddev_pop(x)`
pub fn stddev_pop(e: Expr) -> Expr {
    aggregate(AggFunc::StddevPop, e)
}

/// `variance(x)`: the sample variance.
pub fn variance(e: Expr) -> Expr {
    aggregate(AggFunc::Variance, e)
}

/// `var_pop(x)`
pub fn var_pop(e: Expr) -> Expr {
    aggregate(AggFunc::VarPop, e)
}

/// `count_if(condition)`
pub fn count_if(e: Expr) -> Expr {
    aggregate(AggFunc::CountIf, e)
}

/// `max_by(x, ord)`: the `x` of the largest `ord`.
pub fn max_by(e: Expr, ord: Expr) -> Expr {
    Expr::Aggregate(AggFunc::MaxBy, Some(Box::new(call(ScalarFunc::Struct, [ord, e]))))
}

/// `first(x)`: the `x` that arrived first for the key, null or not. In a stream, arrival
/// order is the epoch order; within one epoch the smallest value wins (nulls first), so the
/// result is the same for any number of workers. Spark's `first(x, ignoreNulls = false)`.
pub fn first(e: Expr) -> Expr {
    Expr::Aggregate(AggFunc::First, Some(Box::new(e)))
}

/// `first(x, true)`: the first non-null `x` (Spark's `ignoreNulls`).
pub fn first_ignore_nulls(e: Expr) -> Expr {
    Expr::Aggregate(AggFunc::FirstIgnoreNulls, Some(Box::new(e)))
}

/// `last(x)`: the `x` that arrived last for the key, null or not (within the last epoch, the
/// largest value).
pub fn last(e: Expr) -> Expr {
    Expr::Aggregate(AggFunc::Last, Some(Box::new(e)))
}

/// `last(x, true)`: the last non-null `x` (Spark's `ignoreNulls`).
pub fn last_ignore_nulls(e: Expr) -> Expr {
    Expr::Aggregate(AggFunc::LastIgnoreNulls, Some(Box::new(e)))
}

/// `min_by(x, ord)`: the `x` of the smallest `ord`.
pub fn min_by(e: Expr, ord: Expr) -> Expr {
    Expr::Aggregate(AggFunc::MinBy, Some(Box::new(call(ScalarFunc::Struct, [ord, e]))))
}
