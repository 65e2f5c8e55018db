//! JSON functions and struct constructors.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};

use super::super::bind_call::BoundCall;
use super::F;
use crate::data::datetime::{Pattern, Zone};
use crate::data::{cast_in, format_double, DataType, Field, Value};

/// Whether this module evaluates `f`.
pub(super) fn handles(f: F) -> bool {
    matches!(
        f,
        F::GetJsonObject | F::FromJson | F::ToJson | F::NamedStruct | F::Struct
    )
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathStep {
    /// `.name` or `['name']`
    Key(String),
    /// `[n]`
    Index(usize),
}

/// Reads `$`, `$.a.b`, `$.a[0]`, `$['a b']`; `None` for anything else (Spark gives null for a
/// path it cannot read).
pub(crate) fn parse_path(path: &str) -> Option<Vec<PathStep>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            steps.push(PathStep::Key(after[..end].to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            steps.push(PathStep::Key(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            steps.push(PathStep::Index(after[..end].trim().parse().ok()?));
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// A JSON document read keeping the first of duplicate keys, as `get_json_object` does.
struct FirstKeyWins(Json);

impl<'de> Deserialize<'de> for FirstKeyWins {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstKeyVisitor)
    }
}

struct FirstKeyVisitor;

impl<'de> Visitor<'de> for FirstKeyVisitor {
    type Value = FirstKeyWins;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::from(v)))
    }
    fn visit_unit<E>(self) -> Result<FirstKeyWins, E> {
        Ok(FirstKeyWins(Json::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstKeyWins, A::Error> {
        let mut items = Vec::new();
        while let Some(FirstKeyWins(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(FirstKeyWins(Json::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstKeyWins, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let FirstKeyWins(value) = map.next_value()?;
            object.entry(key).or_insert(value);
        }
        Ok(FirstKeyWins(Json::Object(object)))
    }
}

/// Evaluates a JSON function or struct constructor.
pub(super) fn eval(c: &BoundCall, args: &[Value]) -> Value {
    match c.func {
        F::NamedStruct | F::Struct => Value::Struct(args.iter().cloned().collect()),
        F::GetJsonObject => {
            let owned;
            let path = match &c.path {
                Some(p) => p,
                None => match args[1].as_str().and_then(parse_path) {
                    Some(p) => {
                        owned = p;
                        &owned
                    }
                    None => return Value::Null,
                },
            };
            let Some(FirstKeyWins(doc)) = args[0].as_str().and_then(|s| serde_json::from_str(s).ok()) else {
                return Value::Null;
            };
            let mut at = &doc;
            for step in path {
                let next = match (step, at) {
                    (PathStep::Key(k), Json::Object(o)) => o.get(k),
                    (PathStep::Index(i), Json::Array(a)) => a.get(*i),
                    _ => None,
                };
                match next {
                    Some(v) => at = v,
                    None => return Value::Null,
                }
            }
            match at {
                Json::Null => Value::Null,
                Json::String(s) => Value::str(s),
                other => Value::from(other.to_string()),
            }
        }
        F::FromJson => {
            let DataType::Struct(fields) = &c.out else {
                return Value::Null;
            };
            // Text that is not a JSON object gives a struct of nulls (Spark's PERMISSIVE mode).
            match args[0]
                .as_str()
                .and_then(|s| serde_json::from_str::<Json>(s).ok())
            {
                Some(Json::Object(o)) => struct_of(&o, fields, &c.zone),
                _ => Value::Struct(fields.iter().map(|_| Value::Null).collect()),
            }
        }
        F::ToJson => {
            let mut out = String::new();
            write_json(&mut out, &args[0], &c.types[0], &c.zone);
            Value::from(out)
        }
        _ => Value::Null,
    }
}

/// A JSON object as a struct of `fields`; a field whose value does not fit its type is null.
fn struct_of(o: &Map<String, Json>, fields: &[Field], zone: &Zone) -> Value {
    Value::Struct(
        fields
            .iter()
            .map(|f| {
                o.get(&f.name)
                    .map_or(Value::Null, |j| value_of(j, &f.data_type, zone))
            })
            .collect(),
    )
}

fn value_of(j: &Json, t: &DataType, zone: &Zone) -> Value {
    match (j, t) {
        (Json::Null, _) => Value::Null,
        (Json::Bool(b), DataType::Boolean) => Value::Bool(*b),
        (Json::Number(n), DataType::Int64) => n.as_i64().map_or(Value::Null, Value::Int),
        (Json::Number(n), DataType::Float64) => n.as_f64().map_or(Value::Null, Value::Float),
        (Json::String(s), DataType::String) => Value::str(s),
        (Json::String(s), DataType::Timestamp | DataType::Date) => cast_in(Value::str(s), t, zone),
        (Json::Number(n), DataType::Timestamp) => n
            .as_i64()
            .map_or(Value::Null, |s| Value::Timestamp(s.saturating_mul(1_000_000))),
        // Spark reads any JSON value into a string field as its text.
        (other, DataType::String) => Value::from(other.to_string()),
        (Json::Array(items), DataType::Array(element)) => {
            Value::Array(items.iter().map(|item| value_of(item, element, zone)).collect())
        }
        (Json::Object(o), DataType::Struct(fields)) => struct_of(o, fields, zone),
        _ => Value::Null,
    }
}

/// Writes a value as Spark's JSON writer does: null struct fields left out, timestamps as
/// `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in the session time zone, doubles as Java prints them.
fn write_json(out: &mut String, v: &Value, t: &DataType, zone: &Zone) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(x) if x.is_finite() => out.push_str(&format_double(*x)),
        Value::Float(x) => out.push_str(&quoted(&format_double(*x))),
        // A number, with every digit of its scale (`1.50`), as Spark's JSON writer.
        Value::Decimal(d) => out.push_str(&d.to_java_string()),
        Value::Str(s) => out.push_str(&quoted(s)),
        Value::Timestamp(ts) => {
            let text = Pattern::new("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
                .ok()
                .and_then(|p| p.format(*ts, zone))
                .unwrap_or_default();
            out.push_str(&quoted(&text));
        }
        Value::Date(_) | Value::Binary(_) => out.push_str(&quoted(&v.to_string())),
        Value::Array(items) => {
            let element = match t {
                DataType::Array(e) => e.as_ref(),
                _ => &DataType::Null,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item, element, zone);
            }
            out.push(']');
        }
        Value::Struct(items) => {
            let fields: &[Field] = match t {
                DataType::Struct(fields) => fields,
                _ => &[],
            };
            out.push('{');
            let mut first = true;
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                let (name, ft) = fields
                    .get(i)
                    .map_or((format!("col{}", i + 1), &DataType::Null), |f| {
                        (f.name.clone(), &f.data_type)
                    });
                out.push_str(&quoted(&name));
                out.push(':');
                write_json(out, item, ft, zone);
            }
            out.push('}');
        }
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_spark_reads_them() {
        use PathStep::*;
        assert_eq!(parse_path("$"), Some(vec![]));
        assert_eq!(
            parse_path("$.a.b[2]['c d']"),
            Some(vec![
                Key("a".into()),
                Key("b".into()),
                Index(2),
                Key("c d".into())
            ])
        );
        assert_eq!(parse_path("a.b"), None);
        assert_eq!(parse_path("$..a"), None);
    }

    #[test]
    fn the_first_of_duplicate_keys_wins() {
        let FirstKeyWins(doc) =
            serde_json::from_str(r#"{"a": 1, "a": 2, "b": {"c": [1, {"d": "x"}]}}"#).expect("json");
        assert_eq!(doc["a"], Json::from(1));
        assert_eq!(doc["b"]["c"][1]["d"], Json::from("x"));
    }
}
