//! Date and time functions, in the session time zone the call was bound with.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::datetime::{date_of_days, days_of_date, Pattern, Zone};
use crate::data::Value;

const MICROS: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS;

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(
        f,
        F::TimestampMillis
            | F::TimestampSeconds
            | F::TimestampMicros
            | F::UnixMillis
            | F::UnixSeconds
            | F::UnixMicros
            | F::UnixDate
            | F::DateFromUnixDate
            | F::ToTimestamp
            | F::TryToTimestamp
            | F::ToDate
            | F::FromUnixtime
            | F::UnixTimestamp
            | F::DateFormat
            | F::DateTrunc
            | F::Trunc
            | F::LastDay
            | F::Year
            | F::Quarter
            | F::Month
            | F::DayOfMonth
            | F::DayOfWeek
            | F::DayOfYear
            | F::WeekOfYear
            | F::Hour
            | F::Minute
            | F::Second
            | F::DateAdd
            | F::DateSub
            | F::DateDiff
            | F::AddMonths
            | F::MonthsBetween
            | F::MakeDate
            | F::AddInterval
    )
}

fn date(v: &Value) -> Option<NaiveDate> {
    match v {
        Value::Date(d) => date_of_days(*d),
        _ => None,
    }
}

fn date_value(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| Value::Date(days_of_date(d)))
}

fn local(v: &Value, zone: &Zone) -> Option<NaiveDateTime> {
    match v {
        Value::Timestamp(t) => zone.local(*t),
        _ => None,
    }
}

/// The pattern of a call: prepared when it was a literal, else read from the row.
fn pattern<'a>(c: &'a BoundCall, text: &Value) -> Option<std::borrow::Cow<'a, Pattern>> {
    match &c.pattern {
        Some(p) => Some(std::borrow::Cow::Borrowed(p)),
        None => Pattern::new(text.as_str()?).ok().map(std::borrow::Cow::Owned),
    }
}

fn int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

/// Evaluates a date or time function over its (non-null) arguments.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    let zone = &c.zone;
    let a = &args[0];
    let i = |k: usize| args.get(k).and_then(Value::as_i64);
    match c.func {
        F::TimestampMillis => int(a.as_i64().map(|ms| ms.saturating_mul(1000))).map_ts(),
        F::TimestampMicros => a.as_i64().map_or(Value::Null, Value::Timestamp),
        F::TimestampSeconds => match a {
            Value::Int(s) => Value::Timestamp(s.saturating_mul(MICROS)),
            // `as` saturates, as Spark's conversion of a double does.
            Value::Float(s) if s.is_finite() => Value::Timestamp((s * MICROS as f64) as i64),
            _ => Value::Null,
        },
        F::UnixMillis => ts(a).map_or(Value::Null, |t| Value::Int(t.div_euclid(1000))),
        F::UnixSeconds => ts(a).map_or(Value::Null, |t| Value::Int(t.div_euclid(MICROS))),
        F::UnixMicros => ts(a).map_or(Value::Null, Value::Int),
        F::UnixDate => match a {
            Value::Date(d) => Value::Int(i64::from(*d)),
            _ => Value::Null,
        },
        F::DateFromUnixDate => i(0)
            .and_then(|d| i32::try_from(d).ok())
            .filter(|d| date_of_days(*d).is_some())
            .map_or(Value::Null, Value::Date),
        F::ToTimestamp | F::TryToTimestamp | F::ToDate if args.len() == 1 => a.clone(),
        F::ToTimestamp | F::TryToTimestamp => match (a.as_str(), pattern(c, &args[1])) {
            (Some(text), Some(p)) => p.parse(text, zone).map_or(Value::Null, Value::Timestamp),
            _ => Value::Null,
        },
        F::ToDate => match (a.as_str(), pattern(c, &args[1])) {
            (Some(text), Some(p)) => p
                .parse(text, zone)
                .and_then(|t| zone.local(t))
                .map_or(Value::Null, |l| Value::Date(days_of_date(l.date()))),
            _ => Value::Null,
        },
        F::FromUnixtime => {
            let fmt = args.get(1).cloned().unwrap_or(Value::Null);
            match (a.as_i64(), pattern(c, &fmt)) {
                (Some(s), Some(p)) => p
                    .format(s.saturating_mul(MICROS), zone)
                    .map_or(Value::Null, Value::from),
                _ => Value::Null,
            }
        }
        F::UnixTimestamp => match a {
            Value::Timestamp(t) => Value::Int(t.div_euclid(MICROS)),
            Value::Str(text) => {
                let fmt = args.get(1).cloned().unwrap_or(Value::Null);
                pattern(c, &fmt)
                    .and_then(|p| p.parse(text, zone))
                    .map_or(Value::Null, |t| Value::Int(t.div_euclid(MICROS)))
            }
            _ => Value::Null,
        },
        F::DateFormat => match (ts(a), pattern(c, &args[1])) {
            (Some(t), Some(p)) => p.format(t, zone).map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        F::DateTrunc => match (args[0].as_str(), ts(&args[1])) {
            (Some(unit), Some(t)) => date_trunc(unit, t, zone).map_or(Value::Null, Value::Timestamp),
            _ => Value::Null,
        },
        F::Trunc => match (date(a), args[1].as_str()) {
            (Some(d), Some(unit)) => date_value(trunc_date(d, &unit.to_ascii_uppercase())),
            _ => Value::Null,
        },
        F::LastDay => date_value(date(a).and_then(last_day)),
        F::Year => int(date(a).map(|d| i64::from(d.year()))),
        F::Quarter => int(date(a).map(|d| i64::from(d.month0() / 3 + 1))),
        F::Month => int(date(a).map(|d| i64::from(d.month()))),
        F::DayOfMonth => int(date(a).map(|d| i64::from(d.day()))),
        F::DayOfWeek => int(date(a).map(|d| i64::from(d.weekday().num_days_from_sunday() + 1))),
        F::DayOfYear => int(date(a).map(|d| i64::from(d.ordinal()))),
        F::WeekOfYear => int(date(a).map(|d| i64::from(d.iso_week().week()))),
        F::Hour => int(local(a, zone).map(|l| i64::from(l.hour()))),
        F::Minute => int(local(a, zone).map(|l| i64::from(l.minute()))),
        F::Second => int(local(a, zone).map(|l| i64::from(l.second()))),
        F::DateAdd | F::DateSub => {
            let n = i(1).unwrap_or(0);
            let n = if c.func == F::DateSub {
                n.checked_neg()
            } else {
                Some(n)
            };
            match (a, n) {
                (Value::Date(d), Some(n)) => i64::from(*d)
                    .checked_add(n)
                    .and_then(|d| i32::try_from(d).ok())
                    .filter(|d| date_of_days(*d).is_some())
                    .map_or(Value::Null, Value::Date),
                _ => Value::Null,
            }
        }
        F::DateDiff => match (a, &args[1]) {
            (Value::Date(end), Value::Date(start)) => Value::Int(i64::from(*end) - i64::from(*start)),
            _ => Value::Null,
        },
        F::AddMonths => date_value(date(a).and_then(|d| add_months(d, i(1)?))),
        F::MonthsBetween => {
            let round_off = args.get(2).and_then(Value::as_bool).unwrap_or(true);
            match (local(a, zone), local(&args[1], zone)) {
                (Some(l1), Some(l2)) => Value::Float(months_between(l1, l2, round_off)),
                _ => Value::Null,
            }
        }
        F::MakeDate => {
            match (i(0), i(1), i(2)) {
                (Some(y), Some(m), Some(d)) => date_value(i32::try_from(y).ok().and_then(|y| {
                    NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
                })),
                _ => Value::Null,
            }
        }
        F::AddInterval => {
            let (months, micros) = (i(1).unwrap_or(0), i(2).unwrap_or(0));
            match a {
                Value::Date(_) => date_value(
                    date(a)
                        .and_then(|d| add_months(d, months))
                        .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(micros / MICROS_PER_DAY))),
                ),
                Value::Timestamp(t) => {
                    let shifted = if months == 0 {
                        Some(*t)
                    } else {
                        zone.local(*t).and_then(|l| {
                            let moved = add_months(l.date(), months)?.and_time(l.time());
                            Some(zone.instant(moved))
                        })
                    };
                    shifted
                        .and_then(|t| t.checked_add(micros))
                        .map_or(Value::Null, Value::Timestamp)
                }
                _ => Value::Null,
            }
        }
        _ => Value::Null,
    }
}

trait MapTs {
    fn map_ts(self) -> Value;
}

impl MapTs for Value {
    /// An integer of microseconds as a timestamp.
    fn map_ts(self) -> Value {
        match self {
            Value::Int(t) => Value::Timestamp(t),
            v => v,
        }
    }
}

fn ts(v: &Value) -> Option<i64> {
    match v {
        Value::Timestamp(t) => Some(*t),
        _ => None,
    }
}

/// `n` months after `d`, the day clamped to the month's length.
fn add_months(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    let m = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        d.checked_add_months(m)
    } else {
        d.checked_sub_months(m)
    }
}

fn last_day(d: NaiveDate) -> Option<NaiveDate> {
    let first = d.with_day(1)?;
    first.checked_add_months(Months::new(1))?.pred_opt()
}

fn trunc_date(d: NaiveDate, unit: &str) -> Option<NaiveDate> {
    match unit {
        "YEAR" | "YYYY" | "YY" => NaiveDate::from_ymd_opt(d.year(), 1, 1),
        "QUARTER" => NaiveDate::from_ymd_opt(d.year(), d.month0() / 3 * 3 + 1, 1),
        "MONTH" | "MM" | "MON" => d.with_day(1),
        "WEEK" => d.checked_sub_signed(chrono::TimeDelta::days(i64::from(
            d.weekday().num_days_from_monday(),
        ))),
        _ => None,
    }
}

/// Spark's `date_trunc`: truncation of the wall-clock time in `zone`.
fn date_trunc(unit: &str, t: i64, zone: &Zone) -> Option<i64> {
    let unit = unit.to_ascii_uppercase();
    let micro_unit = match unit.as_str() {
        "MICROSECOND" => Some(1),
        "MILLISECOND" => Some(1000),
        "SECOND" => Some(MICROS),
        _ => None,
    };
    if let Some(size) = micro_unit {
        return Some(t - t.rem_euclid(size));
    }
    let l = zone.local(t)?;
    let midnight = NaiveTime::MIN;
    let truncated = match unit.as_str() {
        "MINUTE" => l.date().and_hms_opt(l.hour(), l.minute(), 0)?,
        "HOUR" => l.date().and_hms_opt(l.hour(), 0, 0)?,
        "DAY" | "DD" => l.date().and_time(midnight),
        other => trunc_date(l.date(), other)?.and_time(midnight),
    };
    Some(zone.instant(truncated))
}

/// Spark's `months_between(t1, t2)`: whole months when the days of month are equal or both
/// are their month's last, else the months plus the rest over a 31-day month.
fn months_between(l1: NaiveDateTime, l2: NaiveDateTime, round_off: bool) -> f64 {
    let month_diff = f64::from((l1.year() - l2.year()) * 12 + l1.month() as i32 - l2.month() as i32);
    let (d1, d2) = (l1.date(), l2.date());
    let is_last = |d: NaiveDate| last_day(d) == Some(d);
    if d1.day() == d2.day() || (is_last(d1) && is_last(d2)) {
        return month_diff;
    }
    let seconds = |l: NaiveDateTime| i64::from(l.num_seconds_from_midnight());
    let seconds_diff = (i64::from(d1.day()) - i64::from(d2.day())) * 86_400 + seconds(l1) - seconds(l2);
    let diff = month_diff + seconds_diff as f64 / (31.0 * 86_400.0);
    if round_off {
        // Java's Math.round: half up.
        (diff * 1e8 + 0.5).floor() / 1e8
    } else {
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a day")
    }

    #[test]
    fn months_clamp_and_between_follow_spark() {
        assert_eq!(add_months(day(2024, 1, 31), 1), Some(day(2024, 2, 29)));
        assert_eq!(add_months(day(2024, 2, 29), 12), Some(day(2025, 2, 28)));
        assert_eq!(add_months(day(2024, 3, 31), -1), Some(day(2024, 2, 29)));
        assert_eq!(last_day(day(2023, 2, 10)), Some(day(2023, 2, 28)));
        let at = |d: NaiveDate, h: u32| d.and_hms_opt(h, 0, 0).expect("a time");
        // Spark's documented example: months_between('1997-02-28 10:30:00', '1996-10-30') is
        // 3.94959677 (12 * 1 + 2 - 10 = 4 months, less 2 days less 13.5 hours over 31 days).
        let l1 = day(1997, 2, 28).and_hms_opt(10, 30, 0).expect("a time");
        assert_eq!(months_between(l1, at(day(1996, 10, 30), 0), true), 3.94959677);
        assert_eq!(
            months_between(at(day(2024, 3, 31), 5), at(day(2024, 2, 29), 0), true),
            1.0,
            "both last days"
        );
        assert_eq!(
            months_between(at(day(2024, 1, 15), 0), at(day(2024, 3, 15), 9), true),
            -2.0
        );
    }

    #[test]
    fn truncation_happens_on_the_wall_clock() {
        let utc = Zone::utc();
        // 2024-02-29 15:04:05.123456 UTC, a Thursday.
        let t = 1_709_219_045_123_456;
        let trunc = |unit: &str| {
            date_trunc(unit, t, &utc)
                .and_then(|t| utc.local(t))
                .map(|l| l.to_string())
        };
        assert_eq!(trunc("year").as_deref(), Some("2024-01-01 00:00:00"));
        assert_eq!(trunc("QUARTER").as_deref(), Some("2024-01-01 00:00:00"));
        assert_eq!(trunc("mon").as_deref(), Some("2024-02-01 00:00:00"));
        assert_eq!(trunc("week").as_deref(), Some("2024-02-26 00:00:00"));
        assert_eq!(trunc("hour").as_deref(), Some("2024-02-29 15:00:00"));
        assert_eq!(trunc("millisecond").as_deref(), Some("2024-02-29 15:04:05.123"));
        assert_eq!(trunc("fortnight"), None);
        // In Kolkata (UTC+5:30) the hour starts at :30 past a UTC hour.
        let kolkata = Zone::parse("Asia/Kolkata").expect("a region");
        assert_eq!(date_trunc("HOUR", t, &kolkata), Some(1_709_217_000_000_000));
    }
}
