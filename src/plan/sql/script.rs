//! Splitting a script into statements and parsing the streaming DDL that standard SQL lacks:
//!
//! ```sql
//! CREATE STREAM name [(column type, ..., [name AS expression, ...] [WATERMARK FOR ts AS ts - INTERVAL '5 seconds'])] USING format [OPTIONS (key 'value', ...)];
//! CREATE TABLE  name [(column type, ...)] USING format [OPTIONS (...)];
//! CREATE STREAMING TABLE name (column type, ..., PRIMARY KEY (column, ...)) USING format [OPTIONS (...)];
//! CREATE SINK   name USING format [OPTIONS (...)];
//! INSERT INTO sink SELECT ...;
//! SELECT ...;
//! ```

use sqlparser::ast::{DataType as SqlType, Query};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

use sqlparser::tokenizer::{Location, Token};

use super::expr::Translator;
use crate::data::{DataType, Field, Schema};
use crate::error::{Error, Result};
use crate::expr::Expr;

/// One statement of a script, with where it starts.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `CREATE STREAM` (streaming), `CREATE TABLE` (static, `table` is true) or `CREATE
    /// STREAMING TABLE` (an upsert table: a stream whose rows replace the row of their primary
    /// key; `primary_key` is not empty).
    CreateSource {
        /// The name queries use.
        name: String,
        /// Declared columns, if any.
        schema: Option<Schema>,
        /// The source format.
        format: String,
        /// `OPTIONS (...)`.
        options: Vec<(String, String)>,
        /// A static table (read once).
        table: bool,
        /// The primary key of a `CREATE STREAMING TABLE`, each name with its place; empty for
        /// streams and static tables.
        primary_key: Vec<(String, Location)>,
        /// `WATERMARK FOR column AS column - INTERVAL 'delay'`: the event-time column, the
        /// delay, and where the clause is.
        watermark: Option<(String, String, Location)>,
        /// Computed columns, `name AS expression` (Flink's form), in order, each aliased to
        /// its name, with where it is: added after the declared columns are read, so a
        /// watermark can be declared on one.
        computed: Vec<(Expr, Location)>,
        /// Where the statement starts.
        at: Location,
    },
    /// `CREATE SINK`.
    CreateSink {
        /// The name `INSERT INTO` uses.
        name: String,
        /// The sink format.
        format: String,
        /// `OPTIONS (...)`, including `outputMode` and `trigger`.
        options: Vec<(String, String)>,
        /// Where the statement starts.
        at: Location,
    },
    /// `INSERT INTO sink <query>`.
    Insert {
        /// The sink.
        sink: String,
        /// The query.
        query: Box<Query>,
        /// Where the sink's name is.
        at: Location,
    },
    /// A bare query, written to the console.
    Select {
        /// The query.
        query: Box<Query>,
        /// Where the statement starts.
        at: Location,
    },
}

/// Turns sqlparser's error (which names `Line: L, Column: C`) into ours.
pub(crate) fn syntax(e: ParserError) -> Error {
    let text = match e {
        ParserError::TokenizerError(t) | ParserError::ParserError(t) => t,
        ParserError::RecursionLimitExceeded => "the statement nests too deeply".into(),
    };
    // sqlparser ends its messages with "at Line: L, Column: C": make that our location.
    if let Some((message, place)) = text.rsplit_once(" at Line: ") {
        if let Some((line, column)) = place.split_once(", Column: ") {
            if let (Ok(line), Ok(column)) = (line.trim().parse(), column.trim().parse()) {
                return Error::Syntax(message.to_string()).at(line, column, None);
            }
        }
    }
    Error::Syntax(text)
}

fn at_error(error: Error, at: Location) -> Error {
    error.at(at.line, at.column, None)
}

/// Maps a SQL type name to ours, as Spark names them.
pub(crate) fn data_type(sql: &SqlType) -> Result<DataType> {
    let name = sql.to_string().to_ascii_lowercase();
    let base = name.split('(').next().unwrap_or("").trim();
    Ok(match base {
        "bigint" | "int" | "integer" | "long" | "smallint" | "tinyint" | "int64" => DataType::Int64,
        "double" | "float" | "real" | "double precision" | "float64" => DataType::Float64,
        // `DECIMAL(10,2)`, `NUMERIC(5)`, `DEC`: the DDL parser knows the precision rules.
        "decimal" | "numeric" | "dec" => return crate::data::parse_type(&name),
        "string" | "varchar" | "text" | "char" | "character varying" => DataType::String,
        "boolean" | "bool" => DataType::Boolean,
        "timestamp" => DataType::Timestamp,
        "date" => DataType::Date,
        "binary" | "bytea" | "varbinary" | "blob" => DataType::Binary,
        _ => {
            return Err(Error::TypeMismatch(format!(
                "unknown type `{name}`; use BIGINT, DOUBLE, DECIMAL(p, s), STRING, BOOLEAN, TIMESTAMP, DATE or BINARY"
            )))
        }
    })
}

fn expect_word(parser: &mut Parser<'_>, word: &str) -> bool {
    if let Token::Word(w) = &parser.peek_token().token {
        if w.value.eq_ignore_ascii_case(word) {
            parser.next_token();
            return true;
        }
    }
    false
}

fn option_value(parser: &mut Parser<'_>) -> Result<String> {
    let token = parser.next_token();
    match token.token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => Ok(s),
        Token::Number(n, _) => Ok(n),
        Token::Word(w) => Ok(w.value),
        other => Err(at_error(
            Error::Syntax(format!("expected an option value, found {other}")),
            token.span.start,
        )),
    }
}

/// An option's key: a quoted string, or an identifier that may be dotted, as Spark's
/// `OPTIONS (kafka.bootstrap.servers '...')` and `OPTIONS ('kafka.bootstrap.servers' '...')`.
fn option_key(parser: &mut Parser<'_>) -> Result<String> {
    let mut key = option_value(parser)?;
    while parser.consume_token(&Token::Period) {
        key.push('.');
        key.push_str(&option_value(parser)?);
    }
    Ok(key)
}

fn parse_options(parser: &mut Parser<'_>) -> Result<Vec<(String, String)>> {
    if !parser.parse_keyword(Keyword::OPTIONS) {
        return Ok(Vec::new());
    }
    parser.expect_token(&Token::LParen).map_err(syntax)?;
    let mut options = Vec::new();
    loop {
        let key = option_key(parser)?;
        let _ = parser.consume_token(&Token::Eq);
        let value = option_value(parser)?;
        options.push((key, value));
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen).map_err(syntax)?;
    Ok(options)
}

/// Declared columns: the schema, the primary key (a `PRIMARY KEY (a, ...)` item, or
/// `PRIMARY KEY` after a column's type), each key name with its place, and the watermark.
#[derive(Default)]
struct Columns {
    schema: Option<Schema>,
    primary_key: Vec<(String, Location)>,
    watermark: Option<(String, String, Location)>,
    computed: Vec<(Expr, Location)>,
}

/// `WATERMARK FOR ts AS ts - INTERVAL '5 seconds'` (Flink's form; `INTERVAL '5' SECOND` too),
/// after the word `WATERMARK`: the column and the delay.
fn parse_watermark(parser: &mut Parser<'_>, at: Location) -> Result<(String, String, Location)> {
    let bad = || {
        at_error(
            Error::Syntax("expected WATERMARK FOR column AS column - INTERVAL '5 seconds'".into()),
            at,
        )
    };
    if !parser.parse_keyword(Keyword::FOR) {
        return Err(bad());
    }
    let column = parser.parse_identifier().map_err(syntax)?.value;
    if !parser.parse_keyword(Keyword::AS) {
        return Err(bad());
    }
    let expr = parser.parse_expr().map_err(syntax)?;
    let sqlparser::ast::Expr::BinaryOp {
        left,
        op: sqlparser::ast::BinaryOperator::Minus,
        right,
    } = expr
    else {
        return Err(bad());
    };
    let same_column =
        matches!(left.as_ref(), sqlparser::ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case(&column));
    let sqlparser::ast::Expr::Interval(interval) = right.as_ref() else {
        return Err(bad());
    };
    if !same_column {
        return Err(bad());
    }
    let amount = match interval.value.as_ref() {
        sqlparser::ast::Expr::Value(v) => match &v.value {
            sqlparser::ast::Value::SingleQuotedString(s) | sqlparser::ast::Value::Number(s, _) => s.clone(),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let delay = match &interval.leading_field {
        Some(unit) => format!("{amount} {unit}"),
        None => amount,
    };
    Ok((column, delay, at))
}

fn parse_columns(parser: &mut Parser<'_>) -> Result<Columns> {
    if !parser.consume_token(&Token::LParen) {
        return Ok(Columns::default());
    }
    let mut fields = Vec::new();
    let mut primary_key = Vec::new();
    let mut watermark = None;
    let mut computed = Vec::new();
    loop {
        let at = parser.peek_token().span.start;
        if expect_word(parser, "WATERMARK") {
            if watermark.is_some() {
                return Err(at_error(
                    Error::InvalidPlan("a stream has one WATERMARK".into()),
                    at,
                ));
            }
            watermark = Some(parse_watermark(parser, at)?);
        } else if parser.parse_keywords(&[Keyword::PRIMARY, Keyword::KEY]) {
            if !primary_key.is_empty() {
                return Err(at_error(
                    Error::InvalidPlan("a table has one PRIMARY KEY".into()),
                    at,
                ));
            }
            parser.expect_token(&Token::LParen).map_err(syntax)?;
            loop {
                let name = parser.parse_identifier().map_err(syntax)?;
                primary_key.push((name.value, name.span.start));
                if !parser.consume_token(&Token::Comma) {
                    break;
                }
            }
            parser.expect_token(&Token::RParen).map_err(syntax)?;
        } else {
            let name = parser.parse_identifier().map_err(syntax)?;
            let at = parser.peek_token().span.start;
            if parser.parse_keyword(Keyword::AS) {
                // A computed column: `event_time AS timestamp_millis(ts)`.
                let expr = parser.parse_expr().map_err(syntax)?;
                let expr = Translator::default().expr(&expr)?;
                computed.push((expr.alias(name.value), name.span.start));
                if !parser.consume_token(&Token::Comma) {
                    break;
                }
                continue;
            }
            let sql_type = parser.parse_data_type().map_err(syntax)?;
            fields.push(Field::new(
                name.value.clone(),
                data_type(&sql_type).map_err(|e| at_error(e, at))?,
            ));
            let key_at = parser.peek_token().span.start;
            if parser.parse_keywords(&[Keyword::PRIMARY, Keyword::KEY]) {
                if !primary_key.is_empty() {
                    return Err(at_error(
                        Error::InvalidPlan("a table has one PRIMARY KEY".into()),
                        key_at,
                    ));
                }
                primary_key.push((name.value, name.span.start));
            }
        }
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen).map_err(syntax)?;
    Ok(Columns {
        schema: Some(Schema::new(fields)),
        primary_key,
        watermark,
        computed,
    })
}

fn parse_create(parser: &mut Parser<'_>, at: Location) -> Result<Statement> {
    let kind = if expect_word(parser, "STREAMING") {
        if !parser.parse_keyword(Keyword::TABLE) {
            return Err(at_error(
                Error::Syntax("expected TABLE after CREATE STREAMING".into()),
                parser.peek_token().span.start,
            ));
        }
        "streaming table"
    } else if expect_word(parser, "STREAM") {
        "stream"
    } else if expect_word(parser, "SINK") {
        "sink"
    } else if parser.parse_keyword(Keyword::TABLE) {
        "table"
    } else {
        return Err(at_error(
            Error::Syntax("expected STREAM, TABLE, STREAMING TABLE or SINK after CREATE".into()),
            parser.peek_token().span.start,
        ));
    };
    let name = parser.parse_identifier().map_err(syntax)?.value;
    let Columns {
        schema,
        primary_key,
        watermark,
        computed,
    } = if kind == "sink" {
        Columns::default()
    } else {
        parse_columns(parser)?
    };
    match (kind, primary_key.first()) {
        ("streaming table", None) => {
            return Err(Error::InvalidPlan(format!(
                "streaming table `{name}` needs a primary key: the table is the latest row of each key"
            ))
            .at(
                at.line,
                at.column,
                Some("declare it among the columns: (..., PRIMARY KEY (column))"),
            ));
        }
        ("stream" | "table", Some((_, key_at))) => {
            return Err(at_error(
                Error::Unsupported(format!(
                    "a PRIMARY KEY declares a table whose rows change; write CREATE STREAMING \
                     TABLE {name}"
                )),
                *key_at,
            ));
        }
        _ => {}
    }
    if !parser.parse_keyword(Keyword::USING) {
        return Err(at_error(
            Error::Syntax(format!(
                "expected USING <format> in CREATE {}",
                kind.to_uppercase()
            )),
            parser.peek_token().span.start,
        ));
    }
    let format = parser
        .parse_identifier()
        .map_err(syntax)?
        .value
        .to_ascii_lowercase();
    let options = parse_options(parser)?;
    Ok(match kind {
        "sink" => Statement::CreateSink {
            name,
            format,
            options,
            at,
        },
        _ => Statement::CreateSource {
            name,
            schema,
            format,
            options,
            table: kind == "table",
            primary_key,
            watermark,
            computed,
            at,
        },
    })
}

/// Parses a whole script. Nothing runs until every statement has parsed. Strings read as
/// Spark reads them by default (see [`parse_script_with`]).
pub fn parse_script(text: &str) -> Result<Vec<Statement>> {
    parse_script_with(text, false)
}

/// Parses a whole script, its string literals read as Spark SQL reads them: `'...'` or
/// `"..."`, with backslash escapes unless `escaped_string_literals` (Spark's
/// `spark.sql.parser.escapedStringLiterals`) keeps them as written.
pub fn parse_script_with(text: &str, escaped_string_literals: bool) -> Result<Vec<Statement>> {
    let dialect = GenericDialect {};
    let mut parser = super::literals::parser(&dialect, text, escaped_string_literals).map_err(syntax)?;
    let mut statements = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        let next = parser.peek_token();
        if next.token == Token::EOF {
            break;
        }
        let at = next.span.start;
        let statement = if parser.parse_keyword(Keyword::CREATE) {
            parse_create(&mut parser, at)?
        } else if parser.parse_keyword(Keyword::INSERT) {
            parser.expect_keyword(Keyword::INTO).map_err(syntax)?;
            let name = parser.parse_identifier().map_err(syntax)?;
            Statement::Insert {
                sink: name.value.clone(),
                at: name.span.start,
                query: parser.parse_query().map_err(syntax)?,
            }
        } else {
            Statement::Select {
                query: parser.parse_query().map_err(syntax)?,
                at,
            }
        };
        statements.push(statement);
        let end = parser.peek_token();
        if end.token != Token::EOF && end.token != Token::SemiColon {
            return Err(at_error(
                Error::Syntax(format!("expected `;`, found {}", end.token)),
                end.span.start,
            ));
        }
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_streaming_ddl() {
        let script = "CREATE STREAM tx (user_id BIGINT, amount DOUBLE) USING csv OPTIONS (path 'in/tx', header 'true');\n\
                      CREATE SINK out USING console OPTIONS (outputMode 'complete');\n\
                      INSERT INTO out SELECT user_id, count(*) FROM tx GROUP BY user_id;\n\
                      SELECT 1";
        let statements = parse_script(script).expect("parses");
        assert_eq!(statements.len(), 4);
        match &statements[0] {
            Statement::CreateSource {
                name,
                schema,
                format,
                options,
                table,
                ..
            } => {
                assert_eq!((name.as_str(), format.as_str(), *table), ("tx", "csv", false));
                assert_eq!(
                    schema.as_ref().map(Schema::names),
                    Some(vec!["user_id".into(), "amount".into()])
                );
                assert_eq!(options[1], ("header".into(), "true".into()));
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&statements[2], Statement::Insert { sink, at, .. } if sink == "out" && at.line == 3)
        );
    }

    #[test]
    fn option_keys_may_be_dotted_identifiers_or_quoted_strings() {
        let options_of = |script: &str| match parse_script(script).expect("parses").remove(0) {
            Statement::CreateSource { options, .. } => options,
            other => panic!("{other:?}"),
        };
        let expected = vec![
            ("kafka.bootstrap.servers".to_string(), "h:9092".to_string()),
            ("subscribe".to_string(), "a,b".to_string()),
        ];
        assert_eq!(
            options_of(
                "CREATE STREAM s USING kafka OPTIONS (kafka.bootstrap.servers 'h:9092', subscribe 'a,b')"
            ),
            expected
        );
        assert_eq!(
            options_of(
                "CREATE STREAM s USING kafka OPTIONS ('kafka.bootstrap.servers' 'h:9092', 'subscribe' = 'a,b')"
            ),
            expected
        );
    }

    #[test]
    fn parses_streaming_tables_and_their_primary_key() {
        let key_of = |script: &str| match parse_script(script).expect("parses").remove(0) {
            Statement::CreateSource {
                primary_key, table, ..
            } => {
                assert!(!table, "a streaming table is not static");
                primary_key.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(
            key_of(
                "CREATE STREAMING TABLE w (a STRING, b STRING, c BIGINT, PRIMARY KEY (a, b)) USING socket"
            ),
            ["a", "b"]
        );
        assert_eq!(
            key_of("CREATE STREAMING TABLE w (a STRING PRIMARY KEY, b STRING) USING csv"),
            ["a"]
        );
        let err = parse_script("CREATE STREAM s (a STRING, PRIMARY KEY (a)) USING csv").unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
        assert!(err.to_string().contains("CREATE STREAMING TABLE s"), "{err}");
        let err = parse_script("CREATE STREAMING TABLE w (a STRING PRIMARY KEY, PRIMARY KEY (a)) USING csv")
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_PLAN", "{err}");
        let err = parse_script("CREATE STREAMING w (a STRING) USING csv").unwrap_err();
        assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{err}");
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let err = parse_script("CREATE STREAM s USING socket;\nSELEC x FROM s").unwrap_err();
        assert_eq!(err.code(), "PARSE_SYNTAX_ERROR");
        let err = parse_script("CREATE VIEW v USING x").unwrap_err();
        assert!(err.to_string().contains("line 1, column 8"), "{err}");
        let err = parse_script("CREATE STREAM s (a WIDGET) USING x").unwrap_err();
        assert_eq!(err.code(), "DATATYPE_MISMATCH");
    }
}
