//! Spark's DDL type strings: `BIGINT`, `ARRAY<STRING>`, `STRUCT<a: INT, b: STRING>`, and
//! schemas as `a INT, b STRUCT<c: STRING>` (what `from_json` and `try_cast` take).

use super::schema::{DataType, Field};
use crate::error::{Error, Result};

/// Parses one type name. Every integer type is BIGINT here and every fractional one
/// (`FLOAT`, `DECIMAL(p, s)`) is DOUBLE.
pub fn parse_type(text: &str) -> Result<DataType> {
    let mut p = Parser { text, pos: 0 };
    let t = p.data_type()?;
    p.skip_space();
    if p.pos < text.len() {
        return Err(p.error("end of type"));
    }
    Ok(t)
}

/// Parses a schema: `name TYPE, ...`, a name optionally in backquotes and followed by `:`.
pub fn parse_schema_ddl(text: &str) -> Result<Vec<Field>> {
    let mut p = Parser { text, pos: 0 };
    let fields = p.fields(None)?;
    p.skip_space();
    if p.pos < text.len() {
        return Err(p.error("`,` or the end"));
    }
    Ok(fields)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, wanted: &str) -> Error {
        Error::TypeMismatch(format!(
            "cannot read the type `{}`: expected {wanted} at character {}",
            self.text,
            self.pos + 1
        ))
    }

    fn skip_space(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<String> {
        self.skip_space();
        let rest = &self.text[self.pos..];
        if let Some(quoted) = rest.strip_prefix('`') {
            let end = quoted.find('`')?;
            self.pos += end + 2;
            return Some(quoted[..end].to_string());
        }
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        self.pos += end;
        Some(rest[..end].to_string())
    }

    /// `name [:] type, ...` until `close` (or the end).
    fn fields(&mut self, close: Option<char>) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        loop {
            if let Some(c) = close {
                if self.eat(c) {
                    return Ok(fields);
                }
            }
            let name = self.word().ok_or_else(|| self.error("a field name"))?;
            self.eat(':');
            let t = self.data_type()?;
            fields.push(Field::new(name, t));
            if self.eat(',') {
                continue;
            }
            match close {
                Some(c) if self.eat(c) => return Ok(fields),
                Some(c) => return Err(self.error(&format!("`,` or `{c}`"))),
                None => return Ok(fields),
            }
        }
    }

    fn data_type(&mut self) -> Result<DataType> {
        let start = self.pos;
        let word = self
            .word()
            .ok_or_else(|| self.error("a type"))?
            .to_ascii_lowercase();
        let t = match word.as_str() {
            "bigint" | "int" | "integer" | "long" | "smallint" | "short" | "tinyint" | "byte" => {
                DataType::Int64
            }
            "double" | "float" | "real" | "decimal" | "dec" | "numeric" => DataType::Float64,
            "string" | "varchar" | "char" | "text" => DataType::String,
            "boolean" | "bool" => DataType::Boolean,
            "timestamp" | "timestamp_ltz" => DataType::Timestamp,
            "date" => DataType::Date,
            "binary" => DataType::Binary,
            "array" => {
                if !self.eat('<') {
                    return Err(self.error("`<`"));
                }
                let element = self.data_type()?;
                if !self.eat('>') {
                    return Err(self.error("`>`"));
                }
                return Ok(DataType::Array(Box::new(element)));
            }
            "struct" => {
                if !self.eat('<') {
                    return Err(self.error("`<`"));
                }
                return Ok(DataType::Struct(self.fields(Some('>'))?));
            }
            _ => {
                self.pos = start;
                return Err(Error::TypeMismatch(format!(
                    "unknown type `{word}` in `{}`; use BIGINT, DOUBLE, STRING, BOOLEAN, TIMESTAMP, DATE, BINARY, ARRAY<..> or STRUCT<..>",
                    self.text
                )));
            }
        };
        // `DECIMAL(10, 2)`, `VARCHAR(20)`: the parameters change nothing here.
        if self.eat('(') {
            while !self.eat(')') {
                if self.pos >= self.text.len() {
                    return Err(self.error("`)`"));
                }
                self.pos += self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
            }
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spark_ddl() {
        assert_eq!(parse_type("INT").unwrap(), DataType::Int64);
        assert_eq!(parse_type("decimal(10, 2)").unwrap(), DataType::Float64);
        assert_eq!(
            parse_type("array<struct<a: int>>").unwrap(),
            DataType::Array(Box::new(DataType::Struct(vec![Field::new("a", DataType::Int64)])))
        );
        let fields = parse_schema_ddl("a INT, b STRUCT<c: STRING, `d e` DATE>").unwrap();
        assert_eq!(fields[0], Field::new("a", DataType::Int64));
        assert_eq!(
            fields[1].data_type,
            DataType::Struct(vec![
                Field::new("c", DataType::String),
                Field::new("d e", DataType::Date)
            ])
        );
        assert_eq!(
            parse_type("map<string,int>").unwrap_err().code(),
            "DATATYPE_MISMATCH"
        );
        assert!(parse_schema_ddl("a INT b").is_err());
        assert!(parse_type("array<int").is_err());
    }
}
