//! Bounded property tests of the parsers that take untrusted text: CSV lines, JSON lines, SQL,
//! and interval strings. A seeded generator makes each run the same, so a failure names a case
//! that can be replayed; the cases are small, so the whole set (over 100,000 cases) runs in
//! seconds in the normal test suite. Each case checks that the parser does not panic and, where
//! the generator knows the answer, that the parser finds it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::connectors::file::{FileFormat, FormatOptions};
use crate::data::{parse_interval, DataType, Decoded, Field, ParseMode, Row, RowDecoder, Schema, Value};

/// A xorshift64* generator: small, seeded, good enough to spread cases.
struct Cases(u64);

impl Cases {
    fn new(seed: u64) -> Self {
        Cases(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Runs `case` and turns a panic into a failure that names the input.
fn no_panic<T>(input: &str, case: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(case)) {
        Ok(value) => value,
        Err(_) => panic!("panicked on input {input:?}"),
    }
}

fn csv_options() -> FormatOptions {
    FormatOptions {
        format: FileFormat::Csv,
        header: false,
        sep: b',',
        quote: b'"',
        escape: b'\\',
        mode: ParseMode::Permissive,
        null_value: String::new(),
        empty_value: String::new(),
        multi_line: false,
        corrupt_column: crate::data::CORRUPT_RECORD.into(),
    }
}

/// A field as the CSV writer quotes it: in quotes, with quotes doubled, when it holds the
/// separator, a quote, a backslash or starts with a space.
fn quote_field(text: &str) -> String {
    if text.is_empty() || text.contains([',', '"', '\\']) {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[test]
fn csv_lines_round_trip_and_never_panic() {
    const PIECES: &[&str] = &[
        "a",
        "1",
        "-7",
        "3.5",
        ",",
        "\"",
        "\\",
        " ",
        "é",
        "\r",
        "\"\"",
        "x\"y",
        "99999999999999999999",
    ];
    let mut cases = Cases::new(0x00c5_f11e);
    let mut parser = crate::connectors::file::CsvLines::new(&csv_options());
    let schema = Schema::new([
        Field::new("a", DataType::String),
        Field::new("b", DataType::Int64),
        Field::new("c", DataType::Float64),
    ]);
    let decoders = [
        ParseMode::Permissive,
        ParseMode::DropMalformed,
        ParseMode::FailFast,
    ]
    .map(|mode| RowDecoder::new(schema.clone(), mode));
    for _ in 0..20_000 {
        // Random bytes: parse without panic, and decode in every mode with the mode's outcome.
        let line: String = (0..cases.below(12)).map(|_| cases.pick(PIECES)).collect();
        no_panic(&line, || {
            parser.parse(line.as_bytes());
            let fields: Vec<String> = (0..parser.len())
                .map(|i| String::from_utf8_lossy(parser.field(i)).into_owned())
                .collect();
            let outcomes = decoders
                .each_ref()
                .map(|d| d.decode_fields(fields.iter(), || line.clone()));
            match &outcomes[0] {
                Decoded::Row(row) => {
                    assert_eq!(row.len(), 3);
                    assert_eq!(outcomes[1], outcomes[0]);
                    assert_eq!(outcomes[2], outcomes[0]);
                }
                Decoded::Repaired(..) => {
                    assert!(matches!(outcomes[1], Decoded::Dropped(_)), "{line:?}");
                    assert!(matches!(outcomes[2], Decoded::Failed(_)), "{line:?}");
                }
                other => panic!("PERMISSIVE gave {other:?} for {line:?}"),
            }
        });
        // Known fields, written as a writer quotes them: read back exactly.
        let fields: Vec<String> = (0..1 + cases.below(5))
            .map(|_| {
                (0..cases.below(4))
                    .map(|_| cases.pick(PIECES))
                    .filter(|p| *p != "\r")
                    .collect()
            })
            .collect();
        let line = fields
            .iter()
            .map(|f| quote_field(f))
            .collect::<Vec<_>>()
            .join(",");
        no_panic(&line, || {
            assert!(parser.parse(line.as_bytes()), "{line:?} is balanced");
            let read: Vec<String> = (0..parser.len())
                .map(|i| String::from_utf8_lossy(parser.field(i)).into_owned())
                .collect();
            assert_eq!(read, fields, "{line:?}");
        });
    }
}

#[test]
fn json_lines_decode_known_values_and_never_panic() {
    const NOISE: &[&str] = &[
        "{", "}", "[", "]", ",", ":", "\"", "\\", "1e400", "-0", "null", "true", "\"k\"", "3.5", " ",
        "\u{0}", "é",
    ];
    let schema = Schema::new([
        Field::new("k", DataType::String),
        Field::new("v", DataType::Int64),
        Field::new("d", DataType::Float64),
        Field::new("_corrupt_record", DataType::String),
    ]);
    let permissive = RowDecoder::new(schema.clone(), ParseMode::Permissive);
    let drop = RowDecoder::new(schema, ParseMode::DropMalformed);
    let mut cases = Cases::new(0x0005_0a11);
    for _ in 0..20_000 {
        // Known values, written by hand (not by a JSON library): decoded exactly.
        let k: String = (0..cases.below(5))
            .map(|_| cases.pick(&["a", "\"", "\\", "é", " ", "\n"]))
            .collect();
        let v = (cases.next() as i64) >> cases.below(64);
        let d = (cases.below(2_000_000) as f64 - 1e6) / 64.0;
        let escaped: String = k
            .chars()
            .map(|c| match c {
                '"' => "\\\"".to_string(),
                '\\' => "\\\\".to_string(),
                '\n' => "\\n".to_string(),
                c => c.to_string(),
            })
            .collect();
        let line = format!(r#"{{"d": {d:?}, "k": "{escaped}", "v": {v}}}"#);
        let decoded = no_panic(&line, || permissive.decode_json(&line));
        assert_eq!(
            decoded,
            Decoded::Row(Row::from(vec![
                Value::str(&k),
                Value::Int(v),
                Value::Float(d),
                Value::Null
            ])),
            "{line}"
        );
        // Noise: no panic, one row of the schema's width, and both modes agree on what is bad.
        let line: String = (0..cases.below(14)).map(|_| cases.pick(NOISE)).collect();
        no_panic(&line, || {
            let kept = permissive.decode_json(&line);
            let dropped = drop.decode_json(&line);
            match kept {
                Decoded::Row(row) => {
                    assert_eq!(row.len(), 4);
                    assert_eq!(dropped, Decoded::Row(row), "{line:?}");
                }
                Decoded::Repaired(row, _) => {
                    assert_eq!(row[3], Value::str(&line));
                    assert!(matches!(dropped, Decoded::Dropped(_)), "{line:?}");
                }
                other => panic!("PERMISSIVE gave {other:?} for {line:?}"),
            }
        });
    }
}

#[test]
fn interval_parsers_never_panic_and_read_known_spans() {
    const UNITS: &[(&str, u64)] = &[
        ("ms", 1),
        ("milliseconds", 1),
        ("s", 1_000),
        ("seconds", 1_000),
        ("minute", 60_000),
        ("hours", 3_600_000),
        ("days", 86_400_000),
    ];
    const NOISE: &[&str] = &[
        "1",
        "9",
        "0",
        ".",
        "e",
        "-",
        "+",
        " ",
        "interval ",
        "seconds",
        "ms",
        "h",
        "99999999999999999999",
        "1e400",
        "NaN",
        "inf",
        "day",
    ];
    let max = Duration::from_secs(crate::data::MAX_INTERVAL_SECONDS);
    let mut cases = Cases::new(0x1_2345);
    for _ in 0..15_000 {
        let (unit, millis) = UNITS[cases.below(UNITS.len())];
        let n = cases.next() >> cases.below(64);
        let text = format!("{n} {unit}");
        let parsed = no_panic(&text, || parse_interval(&text));
        // By hand: in range exactly when n units fit in the longest interval.
        match u128::from(n) * u128::from(millis) {
            span if span <= u128::from(crate::data::MAX_INTERVAL_SECONDS) * 1000 => {
                let expected = Duration::from_millis(span as u64);
                let got = parsed.unwrap_or_else(|e| panic!("{text}: {e}"));
                // Through a double: exact to a microsecond for spans this size.
                assert!(
                    got.abs_diff(expected) <= Duration::from_micros(1 + span as u64 / 1_000_000_000),
                    "{text}: {got:?}"
                );
            }
            _ => assert_eq!(parsed.map_err(|e| e.code()), Err("INVALID_OPTION"), "{text}"),
        }
        let text: String = (0..cases.below(6)).map(|_| cases.pick(NOISE)).collect();
        no_panic(&text, || {
            if let Ok(d) = parse_interval(&text) {
                assert!(d <= max, "{text}: {d:?}");
            }
            let _ = crate::runtime::Trigger::parse(&text);
        });
        // The SQL forms: a window, a watermark's delay and interval arithmetic.
        let sql = format!("SELECT window(ts, '{text}') AS w, ts + INTERVAL '{text}' AS later FROM events");
        let _ = no_panic(&sql, || crate::plan::sql::parse_script(&sql).map(|_| ()));
    }
}

#[test]
fn sql_queries_plan_or_fail_cleanly() {
    const EXPRS: &[&str] = &[
        "k",
        "v",
        "d",
        "ts",
        "1",
        "-1",
        "99999999999999999999",
        "1e400",
        "3.7",
        "'x'",
        "''",
        "NULL",
        "TRUE",
        "CAST(k AS BIGINT)",
        "CAST('99999999999999999999' AS BIGINT)",
        "try_cast(k AS DOUBLE)",
        "v + 1",
        "v / 0",
        "v % 0",
        "upper(k)",
        "length(k)",
        "split(k, ',')",
        "size(split(k, ','))",
        "substring(k, -5, 99999999999)",
        "window(ts, '10 seconds')",
        "window(ts, '99999999999999999999 seconds')",
        "window(ts, '0 seconds')",
        "session_window(ts, '1e400 seconds')",
        "ts + INTERVAL '1' DAY",
        "ts - INTERVAL '99999999999999 years'",
        "ts + INTERVAL 99999999999999999999 SECOND",
        "count(*)",
        "sum(v)",
        "avg(d)",
        "max(k)",
        "nope(k)",
        "repeat(k, 99999999999)",
        "lpad(k, -1, 'x')",
        "element_at(split(k, ','), 0)",
        "from_json(k, 'a BIGINT')",
        "get_json_object(k, '$.a')",
        "date_add(ts, 99999999999)",
        "timestamp_seconds(1e400)",
        "round(d, 99999)",
        "pow(d, 1e400)",
    ];
    const SHAPES: &[&str] = &[
        "SELECT {a} FROM events",
        "SELECT {a}, {b} FROM events WHERE {b}",
        "SELECT {a} AS x, count(*) FROM events GROUP BY {a}",
        "SELECT {a} FROM events WHERE {a} > {b} ORDER BY {b} LIMIT 3",
        "SELECT {a} FROM (SELECT {b} AS {a} FROM events) t",
        "SELECT {a} FROM events e JOIN events f ON e.k = f.k",
        "{a} {b}",
        "SELECT {a} FROM events GROUP BY window(ts, {b})",
    ];
    let spark = crate::session::Session::builder()
        .get_or_create()
        .expect("a session");
    let input = crate::connectors::memory::MemoryStream::new(Schema::new([
        Field::new("k", DataType::String),
        Field::new("v", DataType::Int64),
        Field::new("d", DataType::Float64),
        Field::new("ts", DataType::Timestamp),
    ]));
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("events");
    let mut cases = Cases::new(0x5a1);
    let mut planned = 0;
    for _ in 0..12_000 {
        let shape = cases.pick(SHAPES);
        let mut query = shape
            .replace("{a}", cases.pick(EXPRS))
            .replace("{b}", cases.pick(EXPRS));
        if cases.chance(20) {
            // Cut the text anywhere: the parser must say where it broke, not panic.
            let mut cut = cases.below(query.len() + 1);
            while !query.is_char_boundary(cut) {
                cut -= 1;
            }
            query.truncate(cut);
        }
        let result = no_panic(&query, || spark.sql(&query).map(|df| df.schema().len()));
        match result {
            Ok(columns) => {
                assert!(columns > 0, "{query}");
                planned += 1;
            }
            Err(e) => assert!(!e.code().is_empty() && !e.to_string().is_empty(), "{query}"),
        }
    }
    assert!(
        planned > 1_000,
        "the generator must make valid queries too, made {planned}"
    );
}
