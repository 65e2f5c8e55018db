//! The common JSON line, one object of plain scalars, read by a scanner of its own.
//!
//! serde_json reads a line through serde's visitors: each key and value is a call through
//! its `MapAccess`, each string a search for escapes and a visit. Most lines a stream reads
//! are written by programs, one object of numbers and plain strings with no escapes, and for
//! them that machinery costs more than the bytes. Here such a line is scanned in one pass,
//! and each wanted value handed to the same [`ReadSlot`] as serde's scalar deserializers.
//!
//! The scanner reads only what it can read exactly as serde_json does. Anything else, a
//! string with an escape or a control character, a nested value in a wanted field, a number
//! with a fraction or exponent in a wanted field (serde_json's own float parsing decides those
//! digits), `-0` (a double in serde_json), an integer of more than 18 digits, a line that is
//! not an object, and every syntax error, gives `None`: serde_json then reads the line from
//! its start, and decides its values and words its errors as before.

use serde::de::value::{
    BoolDeserializer, BorrowedStrDeserializer, Error, I64Deserializer, U64Deserializer, UnitDeserializer,
};

use super::{FieldIndex, ReadSlot};

/// Reads `line` as one flat JSON object, each of `index`'s fields by `reader`; `None` for any
/// line that serde_json must read (see the module's doc).
pub(super) fn parse_flat<R: ReadSlot>(line: &str, index: &FieldIndex, reader: &R) -> Option<Vec<R::Value>> {
    let mut scan = Scan { line, at: 0 };
    scan.whitespace();
    scan.expect(b'{')?;
    let mut slots: Vec<R::Value> = std::iter::repeat_with(R::Value::default)
        .take(index.len)
        .collect();
    scan.whitespace();
    if !scan.eat(b'}') {
        let mut guess = 0;
        loop {
            scan.expect(b'"')?;
            let slot = match index.plain_name(guess) {
                // The key expected next, compared in place: no search for its end.
                Some(name) if scan.eat_key(name) => Some(guess),
                _ => index.slot(scan.string()?, guess),
            };
            scan.whitespace();
            scan.expect(b':')?;
            scan.whitespace();
            match slot {
                Some(slot) if index.reads(slot) => {
                    guess = slot + 1;
                    slots[slot] = scan.value(slot, reader)?;
                }
                Some(slot) => {
                    guess = slot + 1;
                    scan.skip_value()?;
                }
                None => scan.skip_value()?,
            }
            scan.whitespace();
            if scan.eat(b',') {
                scan.whitespace();
                continue;
            }
            scan.expect(b'}')?;
            break;
        }
    }
    scan.whitespace();
    (scan.at == line.len()).then_some(slots)
}

/// A number as serde_json would hand it to a visitor, when the scanner can tell.
enum Number {
    /// A non-negative integer: `visit_u64`.
    Unsigned(u64),
    /// A negative integer: `visit_i64`.
    Negative(i64),
    /// Well formed, but read by serde_json alone (a fraction, an exponent, `-0`, many digits).
    Other,
}

/// A position in a line being scanned.
struct Scan<'a> {
    line: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.at).copied()
    }

    /// Steps over JSON's whitespace (the four characters serde_json skips).
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Steps over `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// The rest of a string whose opening quote was read, if it has neither escapes nor
    /// control characters (its text is then the line's own bytes).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at;
        let rest = self.line.as_bytes().get(start..)?;
        let end = memchr::memchr(b'"', rest)?;
        if !is_plain(&rest[..end]) {
            return None;
        }
        self.at = start + end + 1;
        // The quotes are ASCII, so both ends are character boundaries.
        self.line.get(start..start + end)
    }

    /// Steps over `name` and its closing quote if they come next: the key is then `name`,
    /// which has no character a JSON string must escape.
    fn eat_key(&mut self, name: &str) -> bool {
        let end = self.at + name.len();
        let bytes = self.line.as_bytes();
        let found = bytes.get(self.at..end) == Some(name.as_bytes()) && bytes.get(end) == Some(&b'"');
        if found {
            self.at = end + 1;
        }
        found
    }

    /// A wanted field's value, read by `reader` from serde's scalar deserializer of the token
    /// serde_json would have given it.
    fn value<R: ReadSlot>(&mut self, slot: usize, reader: &R) -> Option<R::Value> {
        let read = match self.peek()? {
            b'"' => {
                self.at += 1;
                reader.read(slot, BorrowedStrDeserializer::<Error>::new(self.string()?))
            }
            b'-' | b'0'..=b'9' => match self.number()? {
                Number::Unsigned(u) => reader.read(slot, U64Deserializer::<Error>::new(u)),
                Number::Negative(i) => reader.read(slot, I64Deserializer::<Error>::new(i)),
                Number::Other => return None,
            },
            b't' | b'f' => reader.read(slot, BoolDeserializer::<Error>::new(self.boolean()?)),
            b'n' => {
                self.literal(b"null")?;
                reader.read(slot, UnitDeserializer::<Error>::new())
            }
            _ => return None,
        };
        read.ok()
    }

    /// Steps over a value nothing reads, checking its syntax as serde_json would.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string().map(drop)
            }
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b't' | b'f' => self.boolean().map(drop),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.peek()? == b't' {
            self.literal(b"true").map(|()| true)
        } else {
            self.literal(b"false").map(|()| false)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.line.as_bytes().get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A number, in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<Number> {
        let negative = self.eat(b'-');
        let (value, digits) = match self.peek()? {
            b'0' => {
                self.at += 1;
                (0, 1)
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        };
        // serde_json reads no digits after a leading zero: `01` is an error.
        if value == 0 && matches!(self.peek(), Some(b'0'..=b'9')) {
            return None;
        }
        let mut integer = true;
        if self.eat(b'.') {
            integer = false;
            self.digits_after_mark()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            integer = false;
            self.digits_after_mark()?;
        }
        // Up to 18 digits, an integer fits both u64 and i64; `-0` is a double to serde_json.
        Some(if !integer || digits > 18 || (negative && value == 0) {
            Number::Other
        } else if negative {
            Number::Negative(-(value as i64))
        } else {
            Number::Unsigned(value)
        })
    }

    /// Digits from here: their value (wrapping, meaningful up to 18 digits) and how many.
    fn digits(&mut self) -> (u64, usize) {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value.wrapping_mul(10).wrapping_add(u64::from(digit - b'0'));
            self.at += 1;
        }
        (value, self.at - start)
    }

    /// At least one digit, as a fraction or an exponent needs.
    fn digits_after_mark(&mut self) -> Option<()> {
        (self.digits().1 > 0).then_some(())
    }
}

/// Whether `text` has no backslash or control character, so that it is a string's whole
/// text between its quotes. Without an early exit, so that the loop runs over whole words.
pub(super) fn is_plain(text: &[u8]) -> bool {
    !text
        .iter()
        .fold(false, |stop, &b| stop | (b < 0x20) | (b == b'\\'))
}

#[cfg(test)]
mod tests {
    use super::super::{parse_with_serde, AsJson, JsonLine};
    use super::*;

    /// Values of every kind the scanner takes, leaves to serde_json, or must refuse.
    const VALUES: &[&str] = &[
        "0",
        "-0",
        "01",
        "-",
        "7",
        "-3",
        "1.5",
        "1.",
        ".5",
        "+1",
        "1e5",
        "1E+2",
        "2e-3",
        "1e",
        "-1.5e400",
        "123456789012345678",
        "-123456789012345678",
        "1234567890123456789",
        "18446744073709551616",
        "-9223372036854775808",
        "\"x\"",
        "\"\"",
        "\"a\\\"b\"",
        "\"é ü\"",
        "\"\\u00e9\"",
        "\"tab\there\"",
        "\"a long string of plain text, longer than a few words\"",
        "\"unterminated",
        "true",
        "false",
        "null",
        "nul",
        "tru",
        "falsey",
        "[1]",
        "{\"z\": 1}",
        "NaN",
    ];
    const KEYS: &[&str] = &[
        "\"a\"",
        "\"b\"",
        "\"c d\"",
        "\"é\"",
        "\"other\"",
        "\"c\\u0020d\"",
        "\"A\"",
        "a",
    ];
    const SPACES: &[&str] = &["", "", " ", "\t", "\n", "\r", "  ", "\u{a0}"];

    /// A small generator of the same lines on every run.
    struct Lcg(u64);

    impl Lcg {
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            from[(self.0 >> 33) as usize % from.len()]
        }
    }

    fn line(rng: &mut Lcg) -> String {
        let mut line = String::from(rng.pick(SPACES));
        line.push('{');
        let fields = rng.pick(&["0", "1", "2", "3", "5"]).parse::<usize>().unwrap_or(0);
        for i in 0..fields {
            if i > 0 {
                line.push_str(rng.pick(&[",", ",", ",", ", ", ";", ""]));
            }
            line.push_str(rng.pick(SPACES));
            line.push_str(rng.pick(KEYS));
            line.push_str(rng.pick(SPACES));
            line.push_str(rng.pick(&[":", ":", ":", ""]));
            line.push_str(rng.pick(SPACES));
            line.push_str(rng.pick(VALUES));
            line.push_str(rng.pick(SPACES));
        }
        line.push_str(rng.pick(&["}", "}", "}", "}", ",}", "", "} x", "}}"]));
        line.push_str(rng.pick(SPACES));
        line
    }

    /// Every line the scanner reads, serde_json reads with the same values; every line it
    /// leaves, serde_json reads or refuses. Each line is tried whole and cut at every byte,
    /// with a schema that reads every field and one that skips a field.
    #[test]
    fn reads_what_serde_json_reads_and_leaves_the_rest_to_it() {
        let reading = FieldIndex::new(["a", "b", "c d", "é"]);
        let skipping = FieldIndex::new(["a", "b", "c d", "é"]).skipping(|slot| slot == 1);
        let mut rng = Lcg(42);
        // Whole lines scanned, and whole lines that serde_json alone reads.
        let (mut scanned, mut left_to_serde) = (0, 0);
        for _ in 0..4_000 {
            let whole = line(&mut rng);
            let cuts = (0..=whole.len()).filter(|&cut| whole.is_char_boundary(cut));
            for cut in cuts {
                let text = &whole[..cut];
                for index in [&reading, &skipping] {
                    let by_serde = parse_with_serde(text, index, &AsJson);
                    match (parse_flat(text, index, &AsJson), by_serde) {
                        (Some(slots), Ok(JsonLine::Object(expected))) => {
                            assert_eq!(slots, expected, "{text}");
                            scanned += usize::from(cut == whole.len());
                        }
                        (Some(slots), other) => panic!("{text}: scanned {slots:?}, serde_json {other:?}"),
                        (None, Ok(_)) => left_to_serde += usize::from(cut == whole.len()),
                        (None, Err(_)) => {}
                    }
                }
            }
        }
        // Both ways are exercised.
        assert!(
            scanned > 300 && left_to_serde > 30,
            "{scanned} scanned, {left_to_serde} left"
        );
    }

    #[test]
    fn plain_lines_are_scanned_with_serde_json_s_values() {
        let index = FieldIndex::new(["a", "b", "c"]);
        let line = r#" {"a": -12, "b": "text with spaces é", "x": [1, {"y": 2}] , "c": true} "#;
        // A nested value is left to serde_json, wanted or not.
        assert!(parse_flat(line, &index, &AsJson).is_none());
        let line = r#" {"a": -12, "b": "text with spaces é", "x": 1.5e3 , "c": true, "a": 18} "#;
        assert_eq!(
            parse_flat(line, &index, &AsJson),
            Some(vec![
                Some(18.into()),
                Some("text with spaces é".into()),
                Some(true.into())
            ])
        );
        assert!(is_plain("ü€ plain, and longer than a word".as_bytes()));
        assert!(!is_plain(b"0123456789abcdef\\"));
        assert!(!is_plain(b"0123\x1f"));
    }
}
