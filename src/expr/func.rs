//! [`ScalarFunc`]: the catalogue of scalar functions, with their SQL names.

macro_rules! scalar_functions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal $(| $alias:literal)*,)*) => {
        /// A scalar function known to the engine, named as Spark SQL names it. Each variant
        /// documents the Spark semantics it follows; the full table is in README.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ScalarFunc {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ScalarFunc {
            /// The SQL name.
            pub fn name(self) -> &'static str {
                match self {
                    $(ScalarFunc::$variant => $name,)*
                }
            }

            /// Looks a function up by its SQL name or alias, ignoring case.
            pub fn by_name(name: &str) -> Option<Self> {
                let name = name.to_ascii_lowercase();
                let found = match name.as_str() {
                    $($name $(| $alias)* => Some(ScalarFunc::$variant),)*
                    _ => None,
                };
                // Internal forms (`__try_cast`) are not callable by name.
                found.filter(|f| !f.name().starts_with("__"))
            }

            /// Every name a user may call, aliases included (for "did you mean" hints).
            pub fn names() -> &'static [&'static str] {
                &[$($name, $($alias,)*)*]
            }
        }
    };
}

scalar_functions! {
    /// `split(str, regex)`: an array of the pieces between matches (Spark: limit -1, so empty
    /// pieces are kept).
    Split => "split",
    /// `lower(str)`
    Lower => "lower" | "lcase",
    /// `upper(str)`
    Upper => "upper" | "ucase",
    /// `length(str)`: characters, not bytes.
    Length => "length" | "char_length" | "character_length",
    /// `octet_length(str)`: the bytes of its UTF-8.
    OctetLength => "octet_length",
    /// `bit_length(str)`: the bits of its UTF-8, eight a byte.
    BitLength => "bit_length",
    /// `trim(str)`: spaces removed from both ends.
    Trim => "trim",
    /// `concat(a, b, ...)`: null if any argument is null.
    Concat => "concat",
    /// `abs(x)`
    Abs => "abs",
    /// `coalesce(a, b, ...)`: the first non-null argument.
    Coalesce => "coalesce",
    /// `substring(str, pos[, len])`: 1-based; a negative `pos` counts from the end.
    Substring => "substring" | "substr",
    /// `round(x[, scale])`: HALF_UP on the double's decimal text (`round(2.675, 2)` = 2.68).
    Round => "round",
    /// `window(time, duration[, slide])`: the event-time window holding `time`, a struct of
    /// `start` and `end` (end exclusive), windows aligned to the Unix epoch as Spark's are. With
    /// a slide shorter than the duration the windows overlap and a time is in several: such a
    /// window can only be a grouping key, where each row counts in each of its windows.
    Window => "window",
    /// Every sliding window holding a time, as an array (what a sliding `window` key is
    /// exploded from; internal).
    SlidingWindows => "__sliding_windows",
    /// `session_window(time, gap)`: the session a row belongs to, `[time, time + gap)` merged
    /// with the sessions of the same key it overlaps or touches. Only as a grouping key.
    SessionWindow => "session_window",
    /// `interval('1 minute')` from the DataFrame API: a span of time, added to or subtracted
    /// from an event-time column in a stream-stream join's time-range condition.
    Interval => "__interval",

    // ----- date and time -----
    /// `current_timestamp()`, `now()`: the epoch's batch time, the same for every row of the
    /// epoch (and the logged time when an epoch is run again after a restart).
    CurrentTimestamp => "current_timestamp" | "now",
    /// `current_date()`: the day of the epoch's batch time in the session time zone.
    CurrentDate => "current_date",
    /// The number of the epoch being run (internal): the arrival order `first` and `last` go
    /// by.
    BatchEpoch => "__batch_epoch",
    /// `timestamp_millis(ms)`: the instant `ms` milliseconds after the epoch.
    TimestampMillis => "timestamp_millis",
    /// `timestamp_seconds(s)`: the instant `s` seconds (maybe fractional) after the epoch;
    /// saturates past the range.
    TimestampSeconds => "timestamp_seconds",
    /// `timestamp_micros(us)`
    TimestampMicros => "timestamp_micros",
    /// `unix_millis(ts)`: milliseconds since the epoch, rounded down.
    UnixMillis => "unix_millis",
    /// `unix_seconds(ts)`: seconds since the epoch, rounded down.
    UnixSeconds => "unix_seconds",
    /// `unix_micros(ts)`
    UnixMicros => "unix_micros",
    /// `unix_date(date)`: days since 1970-01-01.
    UnixDate => "unix_date",
    /// `date_from_unix_date(days)`
    DateFromUnixDate => "date_from_unix_date",
    /// `to_timestamp(s[, fmt])`: text read with a datetime pattern (or as a cast without
    /// one), in the session time zone; null when it does not parse.
    ToTimestamp => "to_timestamp",
    /// `try_to_timestamp(s[, fmt])`: `to_timestamp`, null on bad input in any mode.
    TryToTimestamp => "try_to_timestamp",
    /// `to_date(s[, fmt])`: the date of text or a timestamp (in the session time zone).
    ToDate => "to_date",
    /// `from_unixtime(seconds[, fmt])`: text of the instant, `yyyy-MM-dd HH:mm:ss` by default.
    FromUnixtime => "from_unixtime",
    /// `unix_timestamp(s[, fmt])`: seconds since the epoch of text read with a pattern
    /// (`yyyy-MM-dd HH:mm:ss` by default), of a timestamp or of a date.
    UnixTimestamp => "unix_timestamp" | "to_unix_timestamp",
    /// `date_format(ts, fmt)`: the text of a timestamp with a datetime pattern.
    DateFormat => "date_format",
    /// `date_trunc(unit, ts)`: the timestamp truncated to `YEAR`, `QUARTER`, `MONTH`, `WEEK`,
    /// `DAY`, `HOUR`, `MINUTE`, `SECOND`, `MILLISECOND` or `MICROSECOND`.
    DateTrunc => "date_trunc",
    /// `trunc(date, unit)`: the date truncated to `YEAR`, `QUARTER`, `MONTH` or `WEEK`.
    Trunc => "trunc",
    /// `last_day(date)`: the last day of the date's month.
    LastDay => "last_day",
    /// `year(d)`
    Year => "year",
    /// `quarter(d)`: 1 to 4.
    Quarter => "quarter",
    /// `month(d)`: 1 to 12.
    Month => "month",
    /// `dayofmonth(d)`
    DayOfMonth => "dayofmonth" | "day",
    /// `dayofweek(d)`: 1 for Sunday to 7 for Saturday.
    DayOfWeek => "dayofweek",
    /// `dayofyear(d)`
    DayOfYear => "dayofyear",
    /// `weekofyear(d)`: the ISO 8601 week (weeks start on Monday; week 1 has 4 or more days).
    WeekOfYear => "weekofyear",
    /// `hour(ts)` in the session time zone.
    Hour => "hour",
    /// `minute(ts)`
    Minute => "minute",
    /// `second(ts)`
    Second => "second",
    /// `date_add(date, n)`: the date `n` days later.
    DateAdd => "date_add" | "dateadd",
    /// `date_sub(date, n)`: the date `n` days earlier.
    DateSub => "date_sub",
    /// `datediff(end, start)`: days from `start` to `end`.
    DateDiff => "datediff",
    /// `add_months(date, n)`: clamped to the month's last day (`add_months('2024-01-31', 1)`
    /// is 2024-02-29).
    AddMonths => "add_months",
    /// `months_between(t1, t2[, round_off])`: months from `t2` to `t1`, fractional parts on a
    /// 31-day month, rounded to 8 digits unless `round_off` is false.
    MonthsBetween => "months_between",
    /// `make_date(y, m, d)`: null for a day that does not exist.
    MakeDate => "make_date",

    // ----- strings -----
    /// `regexp_extract(s, regex[, group])`: the group (1 by default) of the first match, or
    /// the empty string when nothing matches.
    RegexpExtract => "regexp_extract",
    /// `regexp_replace(s, regex, replacement)`: every match replaced; `$1` names a group.
    RegexpReplace => "regexp_replace",
    /// `rlike(s, regex)`: whether the regex matches anywhere in `s`.
    Rlike => "rlike" | "regexp" | "regexp_like",
    /// `instr(s, sub)`: the 1-based position of the first `sub`, 0 if none.
    Instr => "instr",
    /// `locate(sub, s[, pos])`: the position of the first `sub` at or after `pos`, 0 if none.
    Locate => "locate" | "position",
    /// `lpad(s, len[, pad])`: padded on the left (or cut) to `len` characters.
    Lpad => "lpad",
    /// `rpad(s, len[, pad])`: padded on the right (or cut) to `len` characters.
    Rpad => "rpad",
    /// `ltrim(s)`: leading spaces removed.
    Ltrim => "ltrim",
    /// `rtrim(s)`: trailing spaces removed.
    Rtrim => "rtrim",
    /// `initcap(s)`: each space-separated word with its first letter upper case, the rest lower.
    Initcap => "initcap",
    /// `reverse(s)`: the characters (or an array's elements) in reverse order.
    Reverse => "reverse",
    /// `repeat(s, n)`
    Repeat => "repeat",
    /// `translate(s, from, to)`: each character of `from` replaced by the one at the same
    /// place in `to`, or removed when `to` is shorter.
    Translate => "translate",
    /// `replace(s, search[, replacement])`: every occurrence replaced (removed by default).
    Replace => "replace",
    /// `left(s, n)`: the first `n` characters.
    Left => "left",
    /// `right(s, n)`: the last `n` characters.
    Right => "right",
    /// `concat_ws(sep, a, b, ...)`: the non-null arguments (arrays' elements too) joined.
    ConcatWs => "concat_ws",
    /// `format_number(x, d)`: `1,234.57`, rounded HALF_EVEN on the binary value.
    FormatNumber => "format_number",
    /// `ascii(s)`: the code point of the first character, 0 for the empty string.
    Ascii => "ascii",

    // ----- JSON and structs -----
    /// `get_json_object(json, path)`: the value at a JSON path (`$.a.b[0]`) as text.
    GetJsonObject => "get_json_object",
    /// `from_json(json, schema)`: a struct read with a DDL schema (`'a INT, b STRUCT<c:
    /// STRING>'`); null for text that is not a JSON object.
    FromJson => "from_json",
    /// `to_json(struct)`: a struct (or array) as JSON text, null fields left out.
    ToJson => "to_json",
    /// `named_struct(name1, v1, ...)`: a struct with these fields.
    NamedStruct => "named_struct",
    /// `struct(a, b, ...)`: a struct whose fields are named after the columns.
    Struct => "struct",

    // ----- arrays -----
    /// `array(a, b, ...)`
    Array => "array",
    /// `size(array)`: the number of elements; -1 for null (Spark's non-ANSI rule).
    Size => "size" | "cardinality",
    /// `element_at(array, i)`: 1-based, negative from the end; null out of range.
    ElementAt => "element_at",
    /// `try_element_at(array, i)`: `element_at`, null out of range in any mode.
    TryElementAt => "try_element_at",
    /// `array_contains(array, v)`: null if not found and the array holds a null.
    ArrayContains => "array_contains",

    // ----- conditionals -----
    /// `if(c, a, b)`: `a` when `c` is true, else `b` (also when `c` is null).
    If => "if" | "iff",
    /// `nullif(a, b)`: null when `a = b`, else `a`.
    NullIf => "nullif",
    /// `nvl(a, b)`: `b` when `a` is null.
    Nvl => "nvl" | "ifnull",
    /// `nvl2(a, b, c)`: `b` when `a` is not null, else `c`.
    Nvl2 => "nvl2",
    /// `greatest(a, b, ...)`: the largest non-null argument.
    Greatest => "greatest",
    /// `least(a, b, ...)`: the smallest non-null argument.
    Least => "least",

    // ----- math -----
    /// `floor(x)`: BIGINT.
    Floor => "floor",
    /// `ceil(x)`: BIGINT.
    Ceil => "ceil" | "ceiling",
    /// `sqrt(x)`: NaN for a negative number.
    Sqrt => "sqrt",
    /// `pow(x, y)`
    Pow => "pow" | "power",
    /// `exp(x)`
    Exp => "exp",
    /// `ln(x)`: null for x <= 0.
    Ln => "ln",
    /// `log(base, x)` or `log(x)` (natural): null for x <= 0.
    Log => "log",
    /// `log10(x)`: null for x <= 0.
    Log10 => "log10",
    /// `log2(x)`: null for x <= 0.
    Log2 => "log2",
    /// `bround(x[, scale])`: HALF_EVEN (banker's) rounding.
    Bround => "bround",
    /// `pmod(a, b)`: the positive remainder; null when `b` is 0.
    Pmod => "pmod",
    /// `sign(x)`: -1.0, 0.0 or 1.0.
    Sign => "sign" | "signum",
    /// `mod(a, b)`: `a % b`.
    Mod => "mod",

    // ----- hashes -----
    /// `md5(x)`: 32 hex digits.
    Md5 => "md5",
    /// `sha2(x, bits)`: SHA-224/256/384/512 (0 means 256) in hex; null for other sizes.
    Sha2 => "sha2",
    /// `sha1(x)`: 40 hex digits.
    Sha1 => "sha1" | "sha",
    /// `crc32(x)`: BIGINT.
    Crc32 => "crc32",
    /// `hash(a, ...)`: Spark's Murmur3 (seed 42), an INT; nulls are skipped.
    Hash => "hash",
    /// `xxhash64(a, ...)`: Spark's xxHash64 (seed 42), a BIGINT.
    Xxhash64 => "xxhash64",

    // ----- internal forms of syntax -----
    /// `try_cast(x AS type)`: the type is the second argument, as its SQL name.
    TryCast => "__try_cast",
    /// `expr.field`: a field of a struct-valued expression.
    GetField => "__get_field",
    /// `array[i]`: 0-based, null out of range.
    GetItem => "__get_item",
    /// `t + INTERVAL ...`: arguments `t`, months, microseconds. Months follow `add_months`;
    /// a date plus whole days stays a date.
    AddInterval => "__add_interval",
}
