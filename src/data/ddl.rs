//! Spark's DDL strings for schemas and types: `"ts BIGINT, key STRING"`,
//! `"a INT, b STRUCT<c: STRING>"`, `"ARRAY<STRING>"`: what `DataStreamReader.schema(..)`
//! takes, and the types and schemas of `try_cast` and `from_json`. One parser serves both; a
//! reader's bad schema is a syntax error, a function's bad type a type error.

use super::{DataType, Field, Schema};
use crate::error::{Error, Result};

/// Parses one type name for a function (`try_cast`): every integer type is BIGINT here,
/// `FLOAT` and `REAL` are DOUBLE, and `DECIMAL(p, s)` is itself. A bad type is a type error.
pub fn parse_type(text: &str) -> Result<DataType> {
    DataType::from_ddl(text).map_err(as_type_error)
}

/// Parses a schema for a function (`from_json`): `name TYPE, ...`, a name optionally in
/// backquotes and followed by `:`. A bad schema is a type error.
pub fn parse_schema_ddl(text: &str) -> Result<Vec<Field>> {
    let mut parser = Ddl::new(text);
    parser.colons = true;
    let fields = parser.fields(None).map_err(as_type_error)?;
    parser.end().map_err(as_type_error)?;
    Ok(fields)
}

/// A function's argument that does not read as a type is a type error, not a syntax error of
/// the query.
fn as_type_error(error: Error) -> Error {
    match error {
        Error::Syntax(message) => Error::TypeMismatch(message),
        other => other,
    }
}

impl Schema {
    /// Parses a DDL string of columns: `name TYPE [NOT NULL] [COMMENT '...']`, comma
    /// separated. Type names are Spark's, case ignored; names may be quoted with backquotes.
    pub fn from_ddl(ddl: &str) -> Result<Schema> {
        let mut parser = Ddl::new(ddl);
        let fields = parser.fields(None)?;
        parser.end()?;
        Ok(Schema::new(fields))
    }
}

impl DataType {
    /// Parses one type in Spark's DDL: `BIGINT`, `ARRAY<STRING>`, `STRUCT<a: INT, b: DOUBLE>`.
    pub fn from_ddl(ddl: &str) -> Result<DataType> {
        let mut parser = Ddl::new(ddl);
        let t = parser.data_type()?;
        parser.end()?;
        Ok(t)
    }
}

/// A token of a DDL string.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Number(String),
    Symbol(char),
}

struct Ddl<'a> {
    text: &'a str,
    tokens: Vec<(Token, usize)>,
    next: usize,
    /// Whether a column name may be followed by `:`, as struct fields always may.
    colons: bool,
}

impl<'a> Ddl<'a> {
    fn new(text: &'a str) -> Self {
        let mut tokens = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '`' || c == '\'' || c == '"' {
                chars.next();
                let mut s = String::new();
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        // A doubled quote is the quote itself.
                        if chars.peek().is_some_and(|&(_, e)| e == c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    s.push(d);
                }
                tokens.push((
                    if c == '`' {
                        Token::Word(s)
                    } else {
                        Token::Quoted(s)
                    },
                    at,
                ));
            } else if c.is_ascii_digit() {
                let mut s = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    s.push(d);
                    chars.next();
                }
                tokens.push((Token::Number(s), at));
            } else if c.is_alphanumeric() || c == '_' {
                let mut s = String::new();
                while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_alphanumeric() || *d == '_') {
                    s.push(d);
                    chars.next();
                }
                tokens.push((Token::Word(s), at));
            } else {
                tokens.push((Token::Symbol(c), at));
                chars.next();
            }
        }
        Ddl {
            text,
            tokens,
            next: 0,
            colons: false,
        }
    }

    fn error(&self, what: &str) -> Error {
        let at = self.tokens.get(self.next).map_or(self.text.len(), |(_, at)| *at);
        Error::Syntax(format!(
            "{what} at position {} of the schema `{}`; write columns as `name TYPE, ...`, e.g. \
             `ts BIGINT, key STRING`",
            at + 1,
            self.text
        ))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(t, _)| t)
    }

    fn take(&mut self) -> Option<Token> {
        let t = self.peek().cloned();
        self.next += 1;
        t
    }

    fn symbol(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Symbol(c)) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn end(&self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("unexpected text")),
        }
    }

    /// Fields up to the end, or up to `close` (`>` in a struct), which is left unread.
    fn fields(&mut self, close: Option<char>) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        loop {
            if self.peek().is_none() && fields.is_empty() && close.is_none() {
                return Err(self.error("no columns"));
            }
            let name = match self.take() {
                Some(Token::Word(w)) => w,
                _ => {
                    self.next -= 1;
                    return Err(self.error("expected a column name"));
                }
            };
            // Struct fields may write `name: TYPE`.
            if close.is_some() || self.colons {
                self.symbol(':');
            }
            let mut field = Field::new(name, self.data_type()?);
            if self.keyword("NOT") {
                if !self.keyword("NULL") {
                    return Err(self.error("expected NULL after NOT"));
                }
                field = field.not_null();
            }
            if self.keyword("COMMENT") && !matches!(self.take(), Some(Token::Quoted(_))) {
                self.next -= 1;
                return Err(self.error("expected a quoted comment"));
            }
            fields.push(field);
            if !self.symbol(',') {
                break;
            }
        }
        match close {
            Some(c) if self.peek() != Some(&Token::Symbol(c)) => Err(self.error(&format!("expected `{c}`"))),
            _ => Ok(fields),
        }
    }

    fn data_type(&mut self) -> Result<DataType> {
        let name = match self.take() {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            _ => {
                self.next -= 1;
                return Err(self.error("expected a type"));
            }
        };
        let t = match name.as_str() {
            "bigint" | "long" | "int" | "integer" | "smallint" | "short" | "tinyint" | "byte" => {
                DataType::Int64
            }
            "double" | "float" | "real" => DataType::Float64,
            "decimal" | "dec" | "numeric" => return self.decimal(),
            "string" | "varchar" | "char" | "text" => DataType::String,
            "boolean" | "bool" => DataType::Boolean,
            "timestamp" | "timestamp_ltz" | "timestamp_ntz" => DataType::Timestamp,
            "date" => DataType::Date,
            "binary" => DataType::Binary,
            "array" => {
                if !self.symbol('<') {
                    return Err(self.error("expected `<` after ARRAY"));
                }
                let element = self.data_type()?;
                if !self.symbol('>') {
                    return Err(self.error("expected `>`"));
                }
                return Ok(DataType::Array(Box::new(element)));
            }
            "struct" => {
                if !self.symbol('<') {
                    return Err(self.error("expected `<` after STRUCT"));
                }
                if self.symbol('>') {
                    return Ok(DataType::Struct(Vec::new()));
                }
                let fields = self.fields(Some('>'))?;
                self.symbol('>');
                return Ok(DataType::Struct(fields));
            }
            other => {
                self.next -= 1;
                return Err(self.error(&format!(
                    "unknown type `{other}` (types: BIGINT, INT, DOUBLE, DECIMAL, STRING, BOOLEAN, \
                     TIMESTAMP, DATE, BINARY, ARRAY<..>, STRUCT<..>)"
                )));
            }
        };
        // `VARCHAR(20)`: the size does not change how text is held here.
        if self.symbol('(') {
            while matches!(self.peek(), Some(Token::Number(_)) | Some(Token::Symbol(','))) {
                self.next += 1;
            }
            if !self.symbol(')') {
                return Err(self.error("expected `)`"));
            }
        }
        Ok(t)
    }

    /// The rest of `DECIMAL`, `DECIMAL(p)` or `DECIMAL(p, s)`: Spark's defaults are precision
    /// 10 and scale 0, the precision is 1 to 38 and the scale at most the precision.
    fn decimal(&mut self) -> Result<DataType> {
        let (mut precision, mut scale) = (10u32, 0u32);
        if self.symbol('(') {
            precision = self.small_number()?;
            if self.symbol(',') {
                scale = self.small_number()?;
            }
            if !self.symbol(')') {
                return Err(self.error("expected `)`"));
            }
        }
        if !(1..=u32::from(super::decimal::MAX_PRECISION)).contains(&precision) || scale > precision {
            return Err(Error::TypeMismatch(format!(
                "DECIMAL({precision}, {scale}): the precision must be 1 to 38 and the scale 0 to the \
                 precision"
            )));
        }
        Ok(DataType::Decimal {
            precision: precision as u8,
            scale: scale as u8,
        })
    }

    /// An unsigned number of at most a few digits (a DECIMAL's precision or scale).
    fn small_number(&mut self) -> Result<u32> {
        match self.take() {
            Some(Token::Number(n)) => n.parse().map_err(|_| self.error("expected a number")),
            _ => {
                self.next -= 1;
                Err(self.error("expected a number"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spark_ddl_strings() {
        let schema = Schema::from_ddl("ts BIGINT, key STRING").expect("parses");
        assert_eq!(schema.names(), ["ts", "key"]);
        assert_eq!(schema.fields()[0].data_type, DataType::Int64);
        assert_eq!(schema.fields()[1].data_type, DataType::String);

        let schema = Schema::from_ddl(
            "`my col` int NOT NULL, b struct<c: string, d ARRAY<double>> COMMENT 'x', p DECIMAL(10, 2)",
        )
        .expect("parses");
        assert_eq!(schema.names(), ["my col", "b", "p"]);
        assert!(!schema.fields()[0].nullable);
        assert_eq!(
            schema.fields()[1].data_type,
            DataType::Struct(vec![
                Field::new("c", DataType::String),
                Field::new("d", DataType::Array(Box::new(DataType::Float64))),
            ])
        );
        assert_eq!(
            schema.fields()[2].data_type,
            DataType::Decimal {
                precision: 10,
                scale: 2
            }
        );
        assert_eq!(
            DataType::from_ddl("array<struct<a:bigint>>").expect("parses"),
            DataType::Array(Box::new(DataType::Struct(vec![Field::new("a", DataType::Int64)])))
        );
    }

    #[test]
    fn bad_ddl_says_where() {
        for (ddl, place) in [
            ("ts", "position 3"),
            ("ts WIDGET", "position 4"),
            ("a INT,", "position 7"),
            ("a ARRAY<INT", "position 12"),
            ("a INT b", "position 7"),
        ] {
            let err = Schema::from_ddl(ddl).unwrap_err();
            assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{ddl}: {err}");
            assert!(err.to_string().contains(place), "{ddl}: {err}");
        }
    }

    #[test]
    fn reads_spark_ddl() {
        assert_eq!(parse_type("INT").unwrap(), DataType::Int64);
        let decimal = |precision, scale| DataType::Decimal { precision, scale };
        assert_eq!(parse_type("decimal(10, 2)").unwrap(), decimal(10, 2));
        assert_eq!(parse_type("DECIMAL(7)").unwrap(), decimal(7, 0));
        assert_eq!(parse_type("decimal").unwrap(), decimal(10, 0));
        assert_eq!(parse_type("dec(38,38)").unwrap(), decimal(38, 38));
        assert_eq!(parse_type("NUMERIC(5,1)").unwrap(), decimal(5, 1));
        for bad in [
            "decimal(39)",
            "decimal(0)",
            "decimal(5, 6)",
            "decimal(5,",
            "decimal(x)",
        ] {
            assert_eq!(parse_type(bad).unwrap_err().code(), "DATATYPE_MISMATCH", "{bad}");
        }
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
