//! Time zones, dates and Spark's datetime patterns.
//!
//! A TIMESTAMP is an instant (microseconds since the epoch, UTC); what a user sees of it, its
//! fields (`hour(ts)`), its text (`date_format`, `CAST(ts AS STRING)`) and how text becomes an
//! instant all depend on the session's time zone (`spark.sql.session.timeZone`), as in Spark.
//! A DATE is a calendar day with no zone.

use std::fmt::Write as _;

use chrono::format::{parse, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// A session time zone: a region with its daylight-saving rules (`America/New_York`), or a
/// fixed offset (`+08:00`, `UTC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// A region of the tz database.
    Region(chrono_tz::Tz),
    /// A constant offset from UTC.
    Fixed(FixedOffset),
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl Zone {
    /// UTC, the default session time zone here (Spark's default is the JVM's zone).
    pub fn utc() -> Self {
        Zone::Fixed(FixedOffset::east_opt(0).unwrap_or_else(|| Offset::fix(&chrono::Utc)))
    }

    /// Reads a zone as Spark accepts one: a region ID (`Europe/Paris`), `UTC`/`Z`/`GMT`, or an
    /// offset (`+08:00`, `-0530`, `UTC+1`, `GMT-08:00`).
    pub fn parse(text: &str) -> Option<Zone> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("Z") || t.eq_ignore_ascii_case("UTC") || t.eq_ignore_ascii_case("GMT") {
            return Some(Zone::utc());
        }
        for prefix in ["UTC", "GMT", "UT"] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if rest.starts_with(['+', '-']) {
                    return parse_offset(rest).map(Zone::Fixed);
                }
            }
        }
        if t.starts_with(['+', '-']) {
            return parse_offset(t).map(Zone::Fixed);
        }
        t.parse::<chrono_tz::Tz>().ok().map(Zone::Region)
    }

    /// The offset from UTC, in seconds, at instant `micros`.
    pub fn offset_at(&self, micros: i64) -> i32 {
        match self {
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Region(tz) => {
                let utc = DateTime::from_timestamp_micros(micros)
                    .unwrap_or_default()
                    .naive_utc();
                tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
            }
        }
    }

    /// The wall-clock time of instant `micros` in this zone; `None` past chrono's range
    /// (about ±262,000 years).
    pub fn local(&self, micros: i64) -> Option<NaiveDateTime> {
        let utc = DateTime::from_timestamp_micros(micros)?.naive_utc();
        utc.checked_add_signed(chrono::TimeDelta::seconds(i64::from(self.offset_at(micros))))
    }

    /// The instant of a wall-clock time in this zone. A time that a clock change skips is
    /// moved forward by the gap, and an ambiguous one takes the earlier offset, as Java's
    /// `ZonedDateTime` (and so Spark) does.
    pub fn instant(&self, local: NaiveDateTime) -> i64 {
        let offset = match self {
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Region(tz) => match tz.offset_from_local_datetime(&local) {
                chrono::LocalResult::Single(o) | chrono::LocalResult::Ambiguous(o, _) => {
                    o.fix().local_minus_utc()
                }
                // In a gap: the offset in force just before it.
                chrono::LocalResult::None => {
                    let before = local - chrono::TimeDelta::hours(3);
                    tz.offset_from_utc_datetime(&before).fix().local_minus_utc()
                }
            },
        };
        local.and_utc().timestamp_micros() - i64::from(offset) * MICROS_PER_SECOND
    }

    /// The zone's name for `z`/`VV` patterns.
    fn name(&self, micros: i64) -> String {
        match self {
            Zone::Region(tz) => {
                let utc = DateTime::from_timestamp_micros(micros)
                    .unwrap_or_default()
                    .naive_utc();
                tz.offset_from_utc_datetime(&utc).to_string()
            }
            Zone::Fixed(o) if o.local_minus_utc() == 0 => "UTC".into(),
            Zone::Fixed(o) => o.to_string(),
        }
    }
}

/// `+08:00`, `+0800`, `+08`, `-5:30`.
fn parse_offset(t: &str) -> Option<FixedOffset> {
    let sign = if t.starts_with('-') { -1 } else { 1 };
    let body = &t[1..];
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h, m),
        None if body.len() > 2 => body.split_at(body.len() - 2),
        None => (body, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 18 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// The day 1970-01-01.
fn epoch_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The calendar day of a DATE value (days since 1970-01-01).
pub fn date_of_days(days: i32) -> Option<NaiveDate> {
    epoch_day().checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
}

/// Days since 1970-01-01 of a calendar day.
pub fn days_of_date(date: NaiveDate) -> i32 {
    (date - epoch_day()).num_days() as i32
}

/// Reads a date as Spark's cast does: `yyyy`, `yyyy-[m]m`, `yyyy-[m]m-[d]d`, and the same
/// followed by a space or `T` and anything (the time part is ignored).
pub fn parse_date(text: &str) -> Option<i32> {
    let t = text.trim();
    let end = t.find([' ', 'T']).unwrap_or(t.len());
    let (y, m, d) = ymd(&t[..end])?;
    Some(days_of_date(NaiveDate::from_ymd_opt(y, m, d)?))
}

/// `yyyy[-m[m][-d[d]]]`, with a year of 4 to 6 digits (Spark reads `12345` as a year).
fn ymd(t: &str) -> Option<(i32, u32, u32)> {
    let mut parts = t.split('-');
    let year = parts.next()?;
    if !(4..=6).contains(&year.len()) || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut next = |default: u32| -> Option<u32> {
        match parts.next() {
            None => Some(default),
            Some(p) if (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
        }
    };
    let (m, d) = (next(1)?, next(1)?);
    if parts.next().is_some() {
        return None;
    }
    Some((year.parse().ok()?, m, d))
}

/// Reads a timestamp as Spark's cast does: a date (as [`parse_date`]) optionally followed by
/// a space or `T` and `h[h]:m[m][:s[s][.fraction]]`, optionally followed by a zone (`Z`,
/// `+08:00`, `UTC`, ` Europe/Paris`); without a zone the time is wall-clock time in `zone`.
/// A fraction longer than microseconds is truncated.
pub fn parse_timestamp(text: &str, zone: &Zone) -> Option<i64> {
    let t = text.trim();
    let date_end = t.find([' ', 'T']).unwrap_or(t.len());
    let (y, mo, d) = ymd(&t[..date_end])?;
    let date = NaiveDate::from_ymd_opt(y, mo, d)?;
    let rest = t[date_end..].trim_start_matches([' ', 'T']);
    // The time is digits, colons and a dot; whatever follows is the zone.
    let time_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let (time, zone_text) = rest.split_at(time_end);
    let (mut h, mut mi, mut s, mut micros) = (0, 0, 0, 0u32);
    if !time.is_empty() {
        let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
        let mut fields = hms.split(':');
        let mut field = |max: u32| -> Option<u32> {
            match fields.next() {
                None => Some(0),
                Some(f) if (1..=2).contains(&f.len()) => f.parse().ok().filter(|v| *v <= max),
                Some(_) => None,
            }
        };
        (h, mi, s) = (field(23)?, field(59)?, field(59)?);
        if fields.next().is_some() || !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
            return None;
        }
        let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(6).collect();
        micros = digits.parse().ok()?;
    }
    let local = date.and_hms_micro_opt(h, mi, s, micros)?;
    let zone_text = zone_text.trim();
    let zone = if zone_text.is_empty() {
        *zone
    } else {
        Zone::parse(zone_text)?
    };
    Some(zone.instant(local))
}

/// Formats an instant as Spark's `CAST(ts AS STRING)` does in `zone`: `2024-01-01 00:00:00`,
/// with a fraction only when there is one, trailing zeros dropped (`...:00.25`).
pub fn timestamp_text(micros: i64, zone: &Zone) -> String {
    let Some(local) = zone.local(micros) else {
        return format!("<timestamp {micros}>");
    };
    let mut out = String::with_capacity(26);
    if local.year() > 9999 {
        out.push('+');
    }
    let _ = write!(out, "{}", local.format("%Y-%m-%d %H:%M:%S"));
    let fraction = micros.rem_euclid(MICROS_PER_SECOND);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// One piece of a datetime pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text written as is.
    Literal(String),
    /// A run of one pattern letter and its length (`yyyy` is `('y', 4)`).
    Field(char, usize),
}

/// A Spark datetime pattern (`yyyy-MM-dd HH:mm:ss.SSS`, `EEE, d MMM yyyy`, `h:mm a`,
/// `yyyy-MM-dd'T'HH:mm:ssXXX`), checked once, that formats and parses instants.
///
/// Letters: `y` year, `M`/`L` month (`M`, `MM`, `MMM` = Jan, `MMMM` = January), `d` day of
/// month, `D` day of year, `Q` quarter, `E` day of week (`EEE` = Mon, `EEEE` = Monday), `a`
/// AM/PM, `H` hour 0-23, `h` hour 1-12, `k` hour 1-24, `K` hour 0-11, `m` minute, `s` second,
/// `S` fraction of a second (as many digits as letters), `VV` zone ID, `z` zone name, `Z`
/// offset `+0000`, `X` offset or `Z`, `x` offset. Text in single quotes is literal, `''` is a
/// quote. Any other letter is refused, as Spark refuses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
    text: String,
}

impl Pattern {
    /// Checks a pattern; the error says which letter is not one.
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                            literal.push('\'');
                        } else {
                            closed = true;
                            break;
                        }
                    } else {
                        literal.push(q);
                    }
                }
                if !closed {
                    return Err(format!("pattern `{pattern}` has an unclosed quote"));
                }
            } else if c.is_ascii_alphabetic() {
                if !"yMLdDQEaHhkKmsSVzZXxu".contains(c) {
                    return Err(format!("illegal pattern character `{c}` in `{pattern}`"));
                }
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                let too_long = match c {
                    'M' | 'L' | 'E' => n > 4,
                    'S' => n > 9,
                    'a' => n > 1,
                    'y' | 'Q' => n > 4,
                    'd' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' => n > 2,
                    'D' => n > 3,
                    _ => n > 5,
                };
                if too_long {
                    return Err(format!(
                        "too many pattern letters `{}` in `{pattern}`",
                        c.to_string().repeat(n)
                    ));
                }
                pieces.push(Piece::Field(c, n));
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Pattern {
            pieces,
            text: pattern.to_string(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Formats instant `micros` as seen in `zone`; `None` past chrono's range.
    pub fn format(&self, micros: i64, zone: &Zone) -> Option<String> {
        let t = zone.local(micros)?;
        let offset = zone.offset_at(micros);
        let mut out = String::new();
        for piece in &self.pieces {
            let (c, n) = match piece {
                Piece::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Piece::Field(c, n) => (*c, *n),
            };
            let num = |out: &mut String, v: i64| {
                let _ = write!(out, "{v:0n$}");
            };
            match c {
                'y' if n == 2 => num(&mut out, i64::from(t.year().rem_euclid(100))),
                'y' => num(&mut out, i64::from(t.year())),
                'M' | 'L' if n == 3 => out.push_str(&t.format("%b").to_string()),
                'M' | 'L' if n == 4 => out.push_str(&t.format("%B").to_string()),
                'M' | 'L' => num(&mut out, i64::from(t.month())),
                'd' => num(&mut out, i64::from(t.day())),
                'D' => num(&mut out, i64::from(t.ordinal())),
                'Q' => num(&mut out, i64::from(t.month0() / 3 + 1)),
                'E' if n == 4 => out.push_str(&t.format("%A").to_string()),
                'E' => out.push_str(&t.format("%a").to_string()),
                'u' => num(&mut out, i64::from(t.weekday().number_from_monday())),
                'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
                'H' => num(&mut out, i64::from(t.hour())),
                'h' => num(&mut out, i64::from((t.hour() + 11) % 12 + 1)),
                'k' => num(&mut out, i64::from(if t.hour() == 0 { 24 } else { t.hour() })),
                'K' => num(&mut out, i64::from(t.hour() % 12)),
                'm' => num(&mut out, i64::from(t.minute())),
                's' => num(&mut out, i64::from(t.second())),
                'S' => {
                    let nanos = format!("{:09}", micros.rem_euclid(MICROS_PER_SECOND) * 1000);
                    out.push_str(&nanos[..n]);
                }
                'V' => out.push_str(&match zone {
                    Zone::Region(tz) => tz.name().to_string(),
                    Zone::Fixed(_) => offset_text(offset, true, true),
                }),
                'z' => out.push_str(&zone.name(micros)),
                'Z' if n == 4 => {
                    out.push_str("GMT");
                    if offset != 0 {
                        out.push_str(&offset_text(offset, true, false));
                    }
                }
                'Z' if n == 5 => out.push_str(&if offset == 0 {
                    "Z".into()
                } else {
                    offset_text(offset, true, false)
                }),
                'Z' => out.push_str(&offset_text(offset, false, false)),
                'X' if offset == 0 => out.push('Z'),
                'X' | 'x' if n == 1 => {
                    let hours = offset_text(offset, false, false);
                    out.push_str(if offset % 3600 == 0 { &hours[..3] } else { &hours });
                }
                'X' | 'x' => out.push_str(&offset_text(offset, n % 2 == 1, false)),
                _ => {}
            }
        }
        Some(out)
    }

    /// Parses `text` with this pattern into an instant; fields the pattern lacks default to
    /// the start of their range (1970, January, the 1st, midnight) and a time without an
    /// offset is wall-clock time in `zone`. `None` when the text does not match all through.
    pub fn parse(&self, text: &str, zone: &Zone) -> Option<i64> {
        let mut spec = String::new();
        let mut two_digit_year = false;
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => spec.push_str(&s.replace('%', "%%")),
                Piece::Field(c, n) => spec.push_str(match (c, n) {
                    ('y', 2) => {
                        two_digit_year = true;
                        "%y"
                    }
                    ('y', _) => "%Y",
                    ('M' | 'L', 3) => "%b",
                    ('M' | 'L', 4) => "%B",
                    ('M' | 'L', _) => "%m",
                    ('d', _) => "%d",
                    ('D', _) => "%j",
                    ('E', _) => "%a",
                    ('a', _) => "%p",
                    ('H' | 'k', _) => "%H",
                    ('h' | 'K', _) => "%I",
                    ('m', _) => "%M",
                    ('s', _) => "%S",
                    ('S', 3) => "%3f",
                    ('S', 6) => "%6f",
                    ('S', 9) => "%9f",
                    ('S', _) => "%.f",
                    ('X' | 'x' | 'Z', _) => "%#z",
                    _ => return None,
                }),
            }
        }
        let mut parsed = Parsed::new();
        // Spark requires the text to match all through; chrono's parse does too.
        parse(&mut parsed, text.trim_end(), StrftimeItems::new(&spec)).ok()?;
        if parsed.year().is_none() {
            match parsed.year_mod_100() {
                Some(yy) if two_digit_year => parsed.set_year(2000 + i64::from(yy)).ok()?,
                _ => parsed.set_year(1970).ok()?,
            }
        }
        if parsed.month().is_none() && parsed.ordinal().is_none() {
            parsed.set_month(1).ok()?;
        }
        if parsed.day().is_none() && parsed.ordinal().is_none() {
            parsed.set_day(1).ok()?;
        }
        if parsed.hour_div_12().is_none() {
            let hour = parsed.hour_mod_12().unwrap_or(0);
            parsed.set_hour(i64::from(hour)).ok()?;
        }
        if parsed.minute().is_none() {
            parsed.set_minute(0).ok()?;
        }
        if parsed.second().is_none() {
            parsed.set_second(0).ok()?;
        }
        let date = parsed.to_naive_date().ok()?;
        let time = parsed.to_naive_time().ok()?;
        let local = date.and_time(time);
        Some(match parsed.offset() {
            Some(offset) => local.and_utc().timestamp_micros() - i64::from(offset) * MICROS_PER_SECOND,
            None => zone.instant(local),
        })
    }
}

/// `+0100` (or `+01:00` with `colon`); seconds are dropped. `utc_for_zero` is for `VV` of a
/// fixed zone.
fn offset_text(offset: i32, colon: bool, utc_for_zero: bool) -> String {
    if utc_for_zero && offset == 0 {
        return "Z".into();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_micro_opt(h, mi, s, us))
            .expect("a valid time")
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn casts_read_the_forms_spark_reads() {
        let utc = Zone::utc();
        assert_eq!(
            parse_timestamp("2024-02-29 13:05:09.5", &utc),
            Some(micros(2024, 2, 29, 13, 5, 9, 500_000))
        );
        assert_eq!(
            parse_timestamp("2024-02-29T13:05", &utc),
            Some(micros(2024, 2, 29, 13, 5, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2024-3-1", &utc),
            Some(micros(2024, 3, 1, 0, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2024", &utc),
            Some(micros(2024, 1, 1, 0, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2024-01-01 10:00:00Z", &utc),
            Some(micros(2024, 1, 1, 10, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2024-01-01 10:00:00+02:00", &utc),
            Some(micros(2024, 1, 1, 8, 0, 0, 0))
        );
        // A bare five-digit number is a year (Spark's `try_cast('12345' AS TIMESTAMP)`).
        assert_eq!(
            parse_timestamp("12345", &utc),
            Some(micros(12345, 1, 1, 0, 0, 0, 0))
        );
        assert_eq!(parse_timestamp("2023-02-29", &utc), None, "no leap day in 2023");
        assert_eq!(parse_timestamp("2024-01-01 25:00", &utc), None);
        assert_eq!(parse_timestamp("abc", &utc), None);
        assert_eq!(parse_date("2024-02-29 23:59"), Some(19782));
        assert_eq!(parse_date("1969-12-31"), Some(-1));
    }

    #[test]
    fn wall_clock_times_follow_the_zone_and_its_clock_changes() {
        let ny = Zone::parse("America/New_York").expect("a region");
        // Winter: UTC-5; summer: UTC-4.
        assert_eq!(
            parse_timestamp("2024-01-15 12:00:00", &ny),
            Some(micros(2024, 1, 15, 17, 0, 0, 0))
        );
        assert_eq!(
            parse_timestamp("2024-07-15 12:00:00", &ny),
            Some(micros(2024, 7, 15, 16, 0, 0, 0))
        );
        // 02:30 on 2024-03-10 does not exist there: moved forward by the hour's gap.
        assert_eq!(
            parse_timestamp("2024-03-10 02:30:00", &ny),
            Some(micros(2024, 3, 10, 7, 30, 0, 0))
        );
        assert_eq!(
            timestamp_text(micros(2024, 7, 15, 16, 0, 0, 250_000), &ny),
            "2024-07-15 12:00:00.25"
        );
        let plus8 = Zone::parse("+08:00").expect("an offset");
        assert_eq!(timestamp_text(0, &plus8), "1970-01-01 08:00:00");
        assert_eq!(
            Zone::parse("GMT-05:30"),
            FixedOffset::east_opt(-19800).map(Zone::Fixed)
        );
        assert_eq!(Zone::parse("Mars/Olympus"), None);
    }

    #[test]
    fn patterns_format_as_spark_documents() {
        let utc = Zone::utc();
        // 2024-02-29 was a Thursday, day 60 of the year.
        let t = micros(2024, 2, 29, 15, 4, 5, 123_456);
        let f = |p: &str| {
            Pattern::new(p)
                .expect("a pattern")
                .format(t, &utc)
                .expect("in range")
        };
        assert_eq!(f("yyyy-MM-dd HH:mm:ss.SSS"), "2024-02-29 15:04:05.123");
        assert_eq!(f("EEE, d MMM yy"), "Thu, 29 Feb 24");
        assert_eq!(f("EEEE MMMM D"), "Thursday February 60");
        assert_eq!(f("h:mm a"), "3:04 PM");
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"),
            "2024-02-29T15:04:05.123456Z"
        );
        assert_eq!(f("'o''clock' H"), "o'clock 15");
        assert_eq!(f("Q"), "1");
        let ny = Zone::parse("America/New_York").expect("a region");
        let p = Pattern::new("yyyy-MM-dd HH:mm XXX Z").expect("a pattern");
        assert_eq!(p.format(t, &ny).as_deref(), Some("2024-02-29 10:04 -05:00 -0500"));
        assert!(Pattern::new("yyyy-bb").unwrap_err().contains("`b`"));
        assert!(Pattern::new("'open").is_err());
    }

    #[test]
    fn patterns_parse_whole_texts_only() {
        let utc = Zone::utc();
        let p = |pattern: &str, text: &str| Pattern::new(pattern).expect("a pattern").parse(text, &utc);
        assert_eq!(
            p("yyyy-MM-dd HH:mm:ss", "2024-02-29 15:04:05"),
            Some(micros(2024, 2, 29, 15, 4, 5, 0))
        );
        assert_eq!(
            p("dd/MM/yyyy", "29/02/2024"),
            Some(micros(2024, 2, 29, 0, 0, 0, 0))
        );
        assert_eq!(
            p("yyyy-MM-dd HH:mm:ss.SSS", "2024-02-29 15:04:05.123"),
            Some(micros(2024, 2, 29, 15, 4, 5, 123_000))
        );
        assert_eq!(
            p("d MMM yyyy h:mm a", "1 Mar 2024 3:04 PM"),
            Some(micros(2024, 3, 1, 15, 4, 0, 0))
        );
        assert_eq!(
            p("yyyy-MM-dd'T'HH:mm:ssXXX", "2024-01-01T10:00:00+02:00"),
            Some(micros(2024, 1, 1, 8, 0, 0, 0))
        );
        assert_eq!(p("yy-MM-dd", "24-01-02"), Some(micros(2024, 1, 2, 0, 0, 0, 0)));
        assert_eq!(p("HH:mm", "10:30"), Some(micros(1970, 1, 1, 10, 30, 0, 0)));
        assert_eq!(p("yyyy-MM-dd", "2024-02-29 10:00"), None, "trailing text");
        assert_eq!(p("yyyy-MM-dd", "2023-02-29"), None);
        assert_eq!(p("yyyy-MM-dd", "2024/02/29"), None);
    }
}
