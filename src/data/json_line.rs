//! One JSON line read into the fields a schema asks for, without building the whole object.
//!
//! Reading a line into a `serde_json::Value` first builds a map of every key (each key an
//! owned `String`, each insert a tree search) only for the reader to look up the schema's
//! fields in it. Here each key is matched against the schema's field names as it is parsed,
//! a wanted field's value is read by a [`ReadSlot`] into its slot, and any other value is
//! skipped unbuilt. The parser, its syntax errors and their positions are serde_json's, as
//! before; a key given twice keeps its last value, as a map's insert does.

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

mod flat;

/// A schema's field names, for matching keys: a scan of a few names costs less than hashing
/// the key, a map wins for wide schemas.
#[derive(Clone, Debug)]
pub(super) struct FieldIndex {
    /// The number of slots.
    len: usize,
    names: Names,
    /// Whether each name, when names are scanned, is a JSON string's text as it is (no
    /// quote, backslash or control character): see [`plain_name`](Self::plain_name).
    plain: Vec<bool>,
    /// Slots whose values are skipped unread, as if the schema did not have them (a query
    /// that reads no such column): `true` at such a slot. Empty when every slot is read.
    skipped: Vec<bool>,
}

/// The names of a [`FieldIndex`], scanned or hashed.
#[derive(Clone, Debug)]
enum Names {
    /// The names, slot by slot.
    Few(Vec<Box<str>>),
    /// Each name's slot.
    Many(foldhash::HashMap<Box<str>, usize>),
}

/// Up to this many fields, names are scanned rather than hashed.
const FEW: usize = 16;

impl FieldIndex {
    /// The index of `names`: slot `i` is `names[i]`. A name given twice keeps its first slot.
    pub(super) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<Box<str>> = names.into_iter().map(Box::from).collect();
        let len = names.len();
        if len <= FEW {
            let plain = names
                .iter()
                .map(|name| flat::is_plain(name.as_bytes()) && !name.contains('"'))
                .collect();
            return FieldIndex {
                len,
                names: Names::Few(names),
                plain,
                skipped: Vec::new(),
            };
        }
        let mut slots = foldhash::HashMap::default();
        for (slot, name) in names.into_iter().enumerate() {
            slots.entry(name).or_insert(slot);
        }
        FieldIndex {
            len,
            names: Names::Many(slots),
            plain: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The same index with the values of the slots where `skipped` holds left unread: their
    /// slots keep the default, as for a field the line lacks. The line's syntax is checked
    /// all the same.
    pub(super) fn skipping(mut self, skipped: impl Fn(usize) -> bool) -> Self {
        self.skipped = (0..self.len).map(skipped).collect();
        if !self.skipped.contains(&true) {
            self.skipped.clear();
        }
        self
    }

    /// Whether `slot`'s value is read.
    fn reads(&self, slot: usize) -> bool {
        !self.skipped.get(slot).copied().unwrap_or(false)
    }

    /// The name of `slot` if names are scanned and it has no character JSON escapes, so
    /// that a key written as it is can be compared with it byte for byte.
    fn plain_name(&self, slot: usize) -> Option<&str> {
        match &self.names {
            Names::Few(names) if self.plain.get(slot).copied().unwrap_or(false) => Some(&names[slot]),
            _ => None,
        }
    }

    /// The slot of field `key`, if the schema has it (names compare exactly, as a map's keys).
    /// `guess` is tried first: lines written by one program give their keys in one order, so
    /// the slot after the previous key's is the right one far more often than not.
    fn slot(&self, key: &str, guess: usize) -> Option<usize> {
        match &self.names {
            Names::Few(names) if names.get(guess).is_some_and(|name| &**name == key) => Some(guess),
            Names::Few(names) => names.iter().position(|name| &**name == key),
            Names::Many(slots) => slots.get(key).copied(),
        }
    }
}

/// How a wanted field's value is read into its slot.
pub(super) trait ReadSlot {
    /// A slot's content; the default is a field the line does not have.
    type Value: Default;

    /// Reads the value of `slot`'s field.
    fn read<'de, D: Deserializer<'de>>(&self, slot: usize, value: D) -> Result<Self::Value, D::Error>;
}

/// Each wanted field as its JSON value, `None` for a field the line does not have.
pub(super) struct AsJson;

impl ReadSlot for AsJson {
    type Value = Option<Json>;

    fn read<'de, D: Deserializer<'de>>(&self, _: usize, value: D) -> Result<Option<Json>, D::Error> {
        Json::deserialize(value).map(Some)
    }
}

/// A line read against a [`FieldIndex`].
#[derive(Debug, PartialEq)]
pub(super) enum JsonLine<T> {
    /// An object: each slot's value as read, the default where the object lacks that key.
    Object(Vec<T>),
    /// Not an object: what it is, for the message (`an array`, `null`, `a scalar`).
    Other(&'static str),
}

/// Reads `line` as one JSON value, keeping the values of the fields in `index` as JSON.
/// Errors are serde_json's for the whole line, trailing characters included.
pub(super) fn parse(line: &str, index: &FieldIndex) -> serde_json::Result<JsonLine<Option<Json>>> {
    parse_with(line, index, &AsJson)
}

/// As [`parse`], each wanted field read by `reader`.
pub(super) fn parse_with<R: ReadSlot>(
    line: &str,
    index: &FieldIndex,
    reader: &R,
) -> serde_json::Result<JsonLine<R::Value>> {
    match flat::parse_flat(line, index, reader) {
        Some(slots) => Ok(JsonLine::Object(slots)),
        None => parse_with_serde(line, index, reader),
    }
}

/// As [`parse_with`], every line read by serde_json.
fn parse_with_serde<R: ReadSlot>(
    line: &str,
    index: &FieldIndex,
    reader: &R,
) -> serde_json::Result<JsonLine<R::Value>> {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let parsed = Line { index, reader }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(parsed)
}

/// The seed and visitor of a whole line.
struct Line<'i, R> {
    index: &'i FieldIndex,
    reader: &'i R,
}

impl<'de, R: ReadSlot> DeserializeSeed<'de> for Line<'_, R> {
    type Value = JsonLine<R::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, R: ReadSlot> Visitor<'de> for Line<'_, R> {
    type Value = JsonLine<R::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slots: Vec<R::Value> = std::iter::repeat_with(R::Value::default)
            .take(self.index.len)
            .collect();
        let mut guess = 0;
        while let Some(slot) = map.next_key_seed(Key {
            index: self.index,
            guess,
        })? {
            match slot {
                Some(slot) if self.index.reads(slot) => {
                    guess = slot + 1;
                    slots[slot] = map.next_value_seed(Slot {
                        reader: self.reader,
                        slot,
                    })?
                }
                Some(slot) => {
                    guess = slot + 1;
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(JsonLine::Object(slots))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonLine::Other("an array"))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("null"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("a scalar"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("a scalar"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("a scalar"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("a scalar"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(JsonLine::Other("a scalar"))
    }
}

/// The seed of a wanted field's value.
struct Slot<'r, R> {
    reader: &'r R,
    slot: usize,
}

impl<'de, R: ReadSlot> DeserializeSeed<'de> for Slot<'_, R> {
    type Value = R::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<R::Value, D::Error> {
        self.reader.read(self.slot, deserializer)
    }
}

/// The seed and visitor of a key: its slot, or `None` for a field the schema does not have.
struct Key<'i> {
    index: &'i FieldIndex,
    /// The slot to try first.
    guess: usize,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.index.slot(key, self.guess))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same line read the old way: the whole object, then the fields looked up in it.
    fn through_a_map(line: &str, names: &[&str]) -> serde_json::Result<JsonLine<Option<Json>>> {
        Ok(match serde_json::from_str::<Json>(line)? {
            Json::Object(object) => {
                JsonLine::Object(names.iter().map(|name| object.get(*name).cloned()).collect())
            }
            Json::Array(_) => JsonLine::Other("an array"),
            Json::Null => JsonLine::Other("null"),
            _ => JsonLine::Other("a scalar"),
        })
    }

    fn both(line: &str, names: &[&str]) {
        let index = FieldIndex::new(names.iter().copied());
        match (parse(line, &index), through_a_map(line, names)) {
            (Ok(fast), Ok(map)) => assert_eq!(fast, map, "{line}"),
            (Err(fast), Err(map)) => assert_eq!(fast.to_string(), map.to_string(), "{line}"),
            (fast, map) => panic!("{line}: {fast:?} against {map:?}"),
        }
    }

    #[test]
    fn reads_as_the_whole_object_then_a_lookup_does() {
        let names = ["a", "b", "c d", "é"];
        for line in [
            r#"{"a": 1, "b": "x"}"#,
            r#"{"b": [1, {"z": 2}], "a": null, "other": {"deep": [1, 2, 3]}}"#,
            r#"{"a": 1, "a": 2}"#,
            r#"{"A": 1, "c d": true, "\u00e9": 1.5}"#,
            r#"{"c\u0020d": "escaped key"}"#,
            r#"{}"#,
            r#"[1, 2]"#,
            r#"null"#,
            r#"7"#,
            r#""text""#,
            r#"true"#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 1"#,
            r#"{"a": }"#,
            r#"{"a": 1e400}"#,
            r#"{"a": 18446744073709551616}"#,
            "",
            "   ",
        ] {
            both(line, &names);
        }
    }

    #[test]
    fn a_skipped_field_is_not_read_as_a_number() {
        // The whole object refuses a number beyond the double range wherever it is (the
        // decoder then reads such numbers as text, and reads the line again); a skipped
        // field is never converted, so the line reads at once, with the same row.
        let index = FieldIndex::new(["a"]);
        assert_eq!(
            parse(r#"{"other": 1e400, "a": 2}"#, &index).unwrap(),
            JsonLine::Object(vec![Some(Json::from(2))])
        );
        assert!(through_a_map(r#"{"other": 1e400, "a": 2}"#, &["a"]).is_err());
    }

    #[test]
    fn a_wide_schema_finds_its_fields_by_hash() {
        let names: Vec<String> = (0..40).map(|i| format!("f{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert!(matches!(
            FieldIndex::new(names.iter().copied()).names,
            Names::Many(_)
        ));
        both(r#"{"f0": 0, "f39": 39, "f17": "x", "g": 1, "f39": 40}"#, &names);
    }

    #[test]
    fn a_skipped_slot_stays_empty_and_the_line_is_still_checked() {
        let index = FieldIndex::new(["a", "b", "c"]).skipping(|slot| slot == 1);
        assert_eq!(
            parse(r#"{"a": 1, "b": "long text", "c": [2]}"#, &index).unwrap(),
            JsonLine::Object(vec![Some(Json::from(1)), None, Some(serde_json::json!([2]))])
        );
        // A skipped value is parsed all the same: a broken one fails the line.
        assert!(parse(r#"{"a": 1, "b": "unterminated}"#, &index).is_err());
        assert!(parse(r#"{"a": 1, "b": [1, }"#, &index).is_err());
        // Skipping nothing is the plain index.
        assert!(FieldIndex::new(["a"]).skipping(|_| false).skipped.is_empty());
    }
}
