//! A JSON line's wanted fields read straight into their columns' types.
//!
//! The general reader builds each wanted field as a `serde_json::Value` (a `String` allocated
//! for every string) and then converts it by the column's type. Here a field of a common type
//! (BIGINT, DOUBLE, STRING, BOOLEAN, TIMESTAMP) goes from the parser's token to a [`Value`]
//! with no JSON value between, a string copied once, from the line into the row. Other types
//! are read as JSON and converted as the general reader does.
//!
//! A field this reader cannot take as its column's type, as any malformed line, sends the
//! line back to the general reader ([`TypedFields::fell_back`]): that reader alone decides
//! what is malformed and words the message, so both readers give the same rows and errors.

use std::cell::Cell;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use super::decode::{json_value, FieldText, HUGE_NUMBER};
use super::json_line::ReadSlot;
use super::schema::DataType;
use super::value::Value;

/// How a column's JSON value is read.
#[derive(Clone, Debug)]
pub(super) enum FieldKind {
    Int,
    Float,
    Text,
    Bool,
    Timestamp,
    /// Read as JSON, then converted (dates, decimals, arrays, structs, ...).
    Other(DataType),
}

impl FieldKind {
    /// The reading of a column of `data_type`.
    pub(super) fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::Int64 => FieldKind::Int,
            DataType::Float64 => FieldKind::Float,
            DataType::String => FieldKind::Text,
            DataType::Boolean => FieldKind::Bool,
            DataType::Timestamp => FieldKind::Timestamp,
            other => FieldKind::Other(other.clone()),
        }
    }
}

/// Reads each wanted field as its column's [`Value`]; a field it cannot take sets
/// [`fell_back`](Self::fell_back), and its slot stays null.
pub(super) struct TypedFields<'a> {
    kinds: &'a [FieldKind],
    text: &'a FieldText,
    fell_back: Cell<bool>,
}

impl<'a> TypedFields<'a> {
    /// A reader for one line, slot `i` of kind `kinds[i]`.
    pub(super) fn new(kinds: &'a [FieldKind], text: &'a FieldText) -> Self {
        TypedFields {
            kinds,
            text,
            fell_back: Cell::new(false),
        }
    }

    /// Whether some field was not of its column's type, so the line needs the general reader.
    pub(super) fn fell_back(&self) -> bool {
        self.fell_back.get()
    }
}

impl ReadSlot for TypedFields<'_> {
    type Value = Value;

    fn read<'de, D: Deserializer<'de>>(&self, slot: usize, value: D) -> Result<Value, D::Error> {
        let kind = &self.kinds[slot];
        let read = match kind {
            FieldKind::Other(data_type) => json_value(&Json::deserialize(value)?, data_type, self.text),
            kind => value.deserialize_any(Token {
                kind,
                text: self.text,
            })?,
        };
        Ok(read.unwrap_or_else(|| {
            self.fell_back.set(true);
            Value::Null
        }))
    }
}

/// The visitor of one field of a common kind: its value, or `None` if the token is not one
/// the kind reads directly.
struct Token<'a> {
    kind: &'a FieldKind,
    text: &'a FieldText,
}

impl<'de> Visitor<'de> for Token<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Option<Value>, E> {
        Ok(matches!(self.kind, FieldKind::Bool).then_some(Value::Bool(b)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Option<Value>, E> {
        Ok(match self.kind {
            FieldKind::Int => Some(Value::Int(i)),
            FieldKind::Float => Some(Value::Float(i as f64)),
            // Seconds since the epoch, as Spark reads a number into a timestamp column.
            FieldKind::Timestamp => Some(Value::Timestamp(i.saturating_mul(1_000_000))),
            _ => None,
        })
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Option<Value>, E> {
        match i64::try_from(u) {
            Ok(i) => self.visit_i64(i),
            Err(_) => Ok(matches!(self.kind, FieldKind::Float).then_some(Value::Float(u as f64))),
        }
    }

    fn visit_f64<E>(self, f: f64) -> Result<Option<Value>, E> {
        Ok(matches!(self.kind, FieldKind::Float).then_some(Value::Float(f)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<Value>, E> {
        if s.starts_with(HUGE_NUMBER) {
            // The general reader's mark for a number beyond the double range.
            return Ok(None);
        }
        Ok(match self.kind {
            FieldKind::Text => Some(Value::str(s)),
            FieldKind::Timestamp => self.text.timestamp(s).map(Value::Timestamp),
            _ => None,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}
