//! String functions. Positions and lengths count characters (code points), as Spark's do.

use std::borrow::Cow;

use regex::Regex;

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::Value;

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(
        f,
        F::Lower
            | F::Upper
            | F::Length
            | F::OctetLength
            | F::BitLength
            | F::Trim
            | F::Ltrim
            | F::Rtrim
            | F::Concat
            | F::Substring
            | F::RegexpExtract
            | F::RegexpReplace
            | F::Rlike
            | F::Instr
            | F::Locate
            | F::Lpad
            | F::Rpad
            | F::Initcap
            | F::Reverse
            | F::Repeat
            | F::Translate
            | F::Replace
            | F::Left
            | F::Right
            | F::ConcatWs
            | F::FormatNumber
            | F::Ascii
    )
}

/// The regex of a call: prepared when it was a literal, else compiled from the row's text
/// (null when that is not a regex).
fn regex<'a>(c: &'a BoundCall, pattern: &Value) -> Option<Cow<'a, Regex>> {
    match &c.regex {
        Some(r) => Some(Cow::Borrowed(r)),
        None => Regex::new(&crate::expr::java_regex::translate(pattern.as_str()?))
            .ok()
            .map(Cow::Owned),
    }
}

/// Evaluates a string function; nulls were handled before, except for `concat_ws`.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    let s = args[0].as_str().unwrap_or_default();
    let text = |k: usize| args.get(k).and_then(Value::as_str);
    let int = |k: usize| args.get(k).and_then(Value::as_i64);
    match c.func {
        F::Lower => Value::str(s.to_lowercase()),
        F::Upper => Value::str(s.to_uppercase()),
        F::Length => Value::Int(s.chars().count() as i64),
        F::OctetLength => Value::Int(s.len() as i64),
        F::BitLength => Value::Int(8 * s.len() as i64),
        F::Trim => Value::str(s.trim_matches(' ')),
        F::Ltrim => Value::str(s.trim_start_matches(' ')),
        F::Rtrim => Value::str(s.trim_end_matches(' ')),
        F::Ascii => Value::Int(s.chars().next().map_or(0, |ch| i64::from(u32::from(ch)))),
        F::Concat => Value::from(args.iter().filter_map(Value::as_str).collect::<String>()),
        F::Substring => {
            let len = if args.len() > 2 { int(2) } else { Some(i64::MAX) };
            match (int(1), len) {
                (Some(pos), Some(len)) => Value::str(substring(s, pos, len)),
                _ => Value::Null,
            }
        }
        F::Left => int(1).map_or(Value::Null, |n| Value::str(substring(s, 1, n))),
        F::Right => int(1).map_or(Value::Null, |n| {
            if n <= 0 {
                Value::str("")
            } else {
                let count = s.chars().count() as i64;
                Value::str(substring(s, (count - n).max(0) + 1, n))
            }
        }),
        F::RegexpExtract => {
            let group = if args.len() > 2 { int(2) } else { Some(1) };
            match (regex(c, &args[1]), group) {
                (Some(r), Some(g)) if g >= 0 && (g as usize) < r.captures_len() => match r.captures(s) {
                    Some(caps) => Value::str(caps.get(g as usize).map_or("", |m| m.as_str())),
                    None => Value::str(""),
                },
                _ => Value::Null,
            }
        }
        F::RegexpReplace => match (regex(c, &args[1]), text(2)) {
            (Some(r), Some(rep)) => {
                Value::from(r.replace_all(s, java_replacement(rep).as_str()).into_owned())
            }
            _ => Value::Null,
        },
        F::Rlike => regex(c, &args[1]).map_or(Value::Null, |r| Value::Bool(r.is_match(s))),
        F::Instr => match text(1) {
            Some(sub) => Value::Int(char_position(s, sub, 0)),
            None => Value::Null,
        },
        F::Locate => {
            // `locate(sub, s[, pos])`: the substring comes first.
            let (sub, hay) = (s, text(1).unwrap_or_default());
            let pos = if args.len() > 2 { int(2) } else { Some(1) };
            match pos {
                // Spark: a position below 1 finds nothing.
                Some(pos) if pos < 1 => Value::Int(0),
                Some(pos) => Value::Int(char_position(hay, sub, (pos - 1) as usize)),
                None => Value::Null,
            }
        }
        F::Lpad | F::Rpad => {
            let pad = if args.len() > 2 { text(2) } else { Some(" ") };
            match (int(1), pad) {
                (Some(len), Some(pad)) => Value::from(pad_to(s, len, pad, c.func == F::Lpad)),
                _ => Value::Null,
            }
        }
        F::Initcap => Value::from(initcap(s)),
        F::Reverse => match &args[0] {
            Value::Array(items) => Value::Array(items.iter().rev().cloned().collect()),
            _ => Value::from(s.chars().rev().collect::<String>()),
        },
        F::Repeat => int(1).map_or(Value::Null, |n| {
            // A repeat larger than memory is an error in Spark too; refuse it quietly as null.
            let n = usize::try_from(n.max(0)).unwrap_or(0);
            if s.len().saturating_mul(n) > 1 << 30 {
                Value::Null
            } else {
                Value::from(s.repeat(n))
            }
        }),
        F::Translate => match (text(1), text(2)) {
            (Some(from), Some(to)) => Value::from(translate(s, from, to)),
            _ => Value::Null,
        },
        F::Replace => {
            let rep = if args.len() > 2 { text(2) } else { Some("") };
            match (text(1), rep) {
                (Some(""), Some(_)) => Value::str(s),
                (Some(search), Some(rep)) => Value::from(s.replace(search, rep)),
                _ => Value::Null,
            }
        }
        F::ConcatWs => {
            let Some(sep) = args[0].as_str() else {
                return Value::Null;
            };
            let mut parts: Vec<String> = Vec::new();
            for a in &args[1..] {
                match a {
                    Value::Null => {}
                    Value::Array(items) => {
                        parts.extend(items.iter().filter(|v| !v.is_null()).map(|v| v.to_string()))
                    }
                    v => parts.push(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                }
            }
            Value::from(parts.join(sep))
        }
        F::FormatNumber => match (args[0].as_f64(), int(1)) {
            (Some(x), Some(d)) if d >= 0 => Value::from(format_number(&args[0], x, d as usize)),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

/// Spark's `substring`: 1-based `pos` (0 acts as 1), negative `pos` counts from the end, and a
/// negative `len` gives the empty string.
pub(crate) fn substring(s: &str, pos: i64, len: i64) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len() as i64;
    let start = if pos > 0 {
        pos - 1
    } else if pos < 0 {
        n + pos
    } else {
        0
    };
    // A start before the string still ends `len` characters after it (Spark's rule).
    let end = start.saturating_add(len).min(n);
    let start = start.max(0);
    if len <= 0 || start >= n || end <= start {
        return String::new();
    }
    chars[start as usize..end as usize].iter().collect()
}

/// The 1-based character position of the first `sub` in `s` at or after character `from`,
/// 0 if none.
fn char_position(s: &str, sub: &str, from: usize) -> i64 {
    let Some((start_byte, _)) = s
        .char_indices()
        .nth(from)
        .or((from == s.chars().count()).then_some((s.len(), ' ')))
    else {
        return 0;
    };
    match s[start_byte..].find(sub) {
        Some(byte) => (s[..start_byte + byte].chars().count() + 1) as i64,
        None => 0,
    }
}

/// Pads (or cuts) `s` to `len` characters with repeats of `pad`.
fn pad_to(s: &str, len: i64, pad: &str, left: bool) -> String {
    let len = usize::try_from(len.max(0)).unwrap_or(0);
    let count = s.chars().count();
    if count >= len {
        return s.chars().take(len).collect();
    }
    if pad.is_empty() {
        return s.to_string();
    }
    let fill: String = pad.chars().cycle().take(len - count).collect();
    if left {
        fill + s
    } else {
        format!("{s}{fill}")
    }
}

/// Words (separated by spaces) with the first letter upper case and the rest lower.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for ch in s.chars() {
        if start {
            out.extend(ch.to_uppercase());
        } else {
            out.extend(ch.to_lowercase());
        }
        start = ch == ' ';
    }
    out
}

fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    let mut map: Vec<(char, Option<char>)> = Vec::new();
    for (i, ch) in from.chars().enumerate() {
        // The first mapping of a character wins.
        if !map.iter().any(|(c, _)| *c == ch) {
            map.push((ch, to.get(i).copied()));
        }
    }
    s.chars()
        .filter_map(|ch| match map.iter().find(|(c, _)| *c == ch) {
            Some((_, replacement)) => *replacement,
            None => Some(ch),
        })
        .collect()
}

/// A Java replacement string (`$1`, `\$`) as the regex crate reads one (`${1}`, `$$`).
fn java_replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len());
    let mut chars = rep.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            ch => out.push(ch),
        }
    }
    out
}

/// `format_number`: `d` decimals rounded HALF_EVEN on the binary value (Rust's formatting
/// rounds the exact value, ties to even), with `,` every three digits.
fn format_number(v: &Value, x: f64, d: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "∞" } else { "-∞" }.into();
    }
    let fixed = match v {
        Value::Int(i) if d == 0 => i.to_string(),
        Value::Int(i) => format!("{i}.{}", "0".repeat(d)),
        _ => format!("{x:.d$}"),
    };
    let (sign, digits) = fixed
        .strip_prefix('-')
        .map_or(("", fixed.as_str()), |rest| ("-", rest));
    let (whole, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    // A negative number that rounds to zero keeps its sign (`-0.00`), as Java's
    // DecimalFormat writes it.
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_follow_spark() {
        assert_eq!(substring("Spark SQL", 5, 1), "k");
        assert_eq!(substring("Spark SQL", -3, 2), "SQ");
        assert_eq!(substring("Spark", 0, 2), "Sp");
        assert_eq!(
            substring("Spark", -7, 3),
            "S",
            "starts before the string, ends 3 after"
        );
        assert_eq!(char_position("ñandú ñu", "ñu", 0), 7);
        assert_eq!(char_position("abcabc", "c", 3), 6);
        assert_eq!(char_position("abc", "", 3), 4);
        assert_eq!(pad_to("hi", 5, "??", true), "???hi");
        assert_eq!(pad_to("hello", 2, "?", false), "he");
        assert_eq!(initcap("sPARK sql  x"), "Spark Sql  X");
        assert_eq!(translate("AaBbCc", "abc", "12"), "A1B2C");
        assert_eq!(java_replacement(r"[$1] \$ $x"), "[${1}] $$ $$x");
        assert_eq!(format_number(&Value::Float(2.675), 2.675, 2), "2.67");
        assert_eq!(
            format_number(&Value::Float(1234567.891), 1234567.891, 2),
            "1,234,567.89"
        );
        assert_eq!(format_number(&Value::Int(-1234), -1234.0, 0), "-1,234");
        assert_eq!(format_number(&Value::Float(-0.001), -0.001, 2), "-0.00");
        assert_eq!(
            format_number(&Value::Float(0.125), 0.125, 2),
            "0.12",
            "ties to even"
        );
    }
}
