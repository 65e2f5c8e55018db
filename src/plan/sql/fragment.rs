//! SQL expressions in the DataFrame API: `expr("length(value) > 3")` and
//! `select_expr(["explode(split(value, ' ')) AS word"])`, parsed with the SQL parser and
//! translated as a query's select items are, so both spell functions the same way.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::Token;

use super::expr::Translator;
use super::script::syntax;
use crate::error::{Error, Result};
use crate::expr::Expr;

/// Parses one SQL expression, Spark's `functions.expr`: `expr("amount * 2")`. An alias
/// (`"amount * 2 AS doubled"`) names the result; `*` is every column. Strings read with
/// backslash escapes, as Spark's default (see [`expr_with`]).
pub fn expr(text: &str) -> Result<Expr> {
    expr_with(text, false)
}

/// As [`expr`], strings kept as written when `escaped_string_literals` (Spark's
/// `spark.sql.parser.escapedStringLiterals`).
pub fn expr_with(text: &str, escaped_string_literals: bool) -> Result<Expr> {
    let dialect = GenericDialect {};
    let mut parser = super::literals::parser(&dialect, text, escaped_string_literals).map_err(syntax)?;
    let item = parser.parse_select_item().map_err(syntax)?;
    let rest = parser.peek_token();
    if rest.token != Token::EOF {
        return Err(Error::Syntax(format!(
            "unexpected `{}` after the expression `{text}` (column {})",
            rest.token, rest.span.start.column
        )));
    }
    let mut names = Translator::default();
    super::query::select_item(&mut names, &item).unwrap_or_else(|| {
        Err(Error::Unsupported(format!(
            "the expression `{item}` is not supported"
        )))
    })
}
