//! String literals as Spark SQL reads them: `'...'` and `"..."` alike (a double-quoted text is
//! a string, not a name; names are quoted with backquotes), a quote doubled or escaped with a
//! backslash, and the backslash escapes `\n`, `\t`, `\\`, `\u0041`, ... unless
//! `spark.sql.parser.escapedStringLiterals` is set, when the text stays as written.
//!
//! The SQL is tokenized with those rules and the strings unescaped here, before the parser
//! sees them, so every place a string appears (literals, `LIKE` patterns, options,
//! intervals) reads it the same way.

use sqlparser::dialect::{Dialect, GenericDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, TokenizerError};

/// The session setting that keeps backslashes in string literals as written (Spark's name).
pub const ESCAPED_STRING_LITERALS: &str = "spark.sql.parser.escapedStringLiterals";

/// How Spark's lexer splits SQL: the generic dialect's words, backquoted names, and strings in
/// either quote with backslash escapes.
#[derive(Debug)]
struct SparkLexer;

impl Dialect for SparkLexer {
    fn is_identifier_start(&self, ch: char) -> bool {
        GenericDialect {}.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        GenericDialect {}.is_identifier_part(ch)
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }

    fn supports_nested_comments(&self) -> bool {
        true
    }
}

/// A parser of the generic dialect over `sql` tokenized as Spark does, its strings unescaped
/// unless `escaped` (Spark's `spark.sql.parser.escapedStringLiterals`).
pub(crate) fn parser<'d>(
    dialect: &'d GenericDialect,
    sql: &str,
    escaped: bool,
) -> Result<Parser<'d>, ParserError> {
    let tokens = Tokenizer::new(&SparkLexer, sql)
        .with_unescape(false)
        .tokenize_with_location()
        .map_err(|e: TokenizerError| ParserError::TokenizerError(e.to_string()))?;
    let mut tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .map(|t| TokenWithSpan {
            token: match t.token {
                Token::SingleQuotedString(s) => Token::SingleQuotedString(unescape(&s, '\'', escaped)),
                Token::DoubleQuotedString(s) => Token::DoubleQuotedString(unescape(&s, '"', escaped)),
                other => other,
            },
            span: t.span,
        })
        .collect();
    integer_division_operators(&mut tokens);
    let tokens = numeric_suffixes(tokens);
    Ok(Parser::new(dialect).with_tokens_with_locations(tokens))
}

/// Spark's `a DIV b` (integer division): the generic dialect has no `DIV` operator, but it
/// parses `//` as integer division with the precedence of `*` and `/`. Spark's lexer never
/// makes that token (`//` is two slashes here), so a `DIV` word between two operands becomes
/// it, and `DIV` elsewhere stays a name (`SELECT x AS div`, `SELECT div FROM t`).
fn integer_division_operators(tokens: &mut [TokenWithSpan]) {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    for (n, &i) in significant.iter().enumerate() {
        let Token::Word(word) = &tokens[i].token else {
            continue;
        };
        if word.keyword != Keyword::DIV || word.quote_style.is_some() || n == 0 {
            continue;
        }
        let before = &tokens[significant[n - 1]].token;
        let after = significant.get(n + 1).map(|&j| &tokens[j].token);
        if ends_operand(before) && after.is_some_and(starts_operand) {
            tokens[i].token = Token::DuckIntDiv;
        }
    }
}

/// Spark's typed numeric literals, `1.5D` (DOUBLE), `1.5F` (FLOAT, a DOUBLE here), `1.5BD`
/// (DECIMAL), `10L` (BIGINT), `10S` and `10Y` (SMALLINT and TINYINT, BIGINT here): the generic
/// tokenizer reads `1.5D` as the number `1.5` and the name `D`, which the parser would take for
/// an alias. A suffix written right after the number (no space between) joins it, so the
/// literal's text carries its type to `literal` in `expr`; with a space, `1.5 D` stays an alias.
/// As in Spark's lexer, `L`, `S` and `Y` follow whole numbers only: `1.5L` is `1.5` named `L`.
fn numeric_suffixes(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut tokens = tokens.into_iter().peekable();
    while let Some(t) = tokens.next() {
        let Token::Number(number, long) = &t.token else {
            out.push(t);
            continue;
        };
        let whole = number.bytes().all(|b| b.is_ascii_digit());
        if *long && !whole {
            // The tokenizer took the `L` of `1.5L` as a BIGINT suffix; Spark reads a name.
            let (start, end) = (t.span.start, t.span.end);
            let before_l = Location::new(end.line, end.column.saturating_sub(1));
            out.push(TokenWithSpan {
                token: Token::Number(number.clone(), false),
                span: Span::new(start, before_l),
            });
            out.push(TokenWithSpan {
                token: Token::make_word("L", None),
                span: Span::new(before_l, end),
            });
            continue;
        }
        let suffix = match tokens.peek() {
            Some(TokenWithSpan {
                token: Token::Word(w),
                ..
            }) if w.quote_style.is_none() && !*long => {
                let upper = w.value.to_ascii_uppercase();
                let fits = match upper.as_str() {
                    "D" | "F" | "BD" => true,
                    "L" | "S" | "Y" => whole,
                    _ => false,
                };
                fits.then_some(upper)
            }
            _ => None,
        };
        match suffix {
            Some(suffix) => {
                let end = tokens.next().map_or(t.span.end, |w| w.span.end);
                out.push(TokenWithSpan {
                    token: Token::Number(format!("{number}{suffix}"), false),
                    span: Span::new(t.span.start, end),
                });
            }
            None => out.push(t),
        }
    }
    out
}

/// Keywords after which an expression starts rather than ends.
const LEADING_KEYWORDS: &[Keyword] = &[
    Keyword::SELECT,
    Keyword::WHERE,
    Keyword::AND,
    Keyword::OR,
    Keyword::NOT,
    Keyword::BY,
    Keyword::ON,
    Keyword::AS,
    Keyword::CASE,
    Keyword::WHEN,
    Keyword::THEN,
    Keyword::ELSE,
    Keyword::IN,
    Keyword::IS,
    Keyword::LIKE,
    Keyword::BETWEEN,
    Keyword::DISTINCT,
    Keyword::HAVING,
    Keyword::FROM,
    Keyword::JOIN,
    Keyword::RETURN,
];

/// True for a token that can end an operand: a name, a literal, a closing bracket.
fn ends_operand(token: &Token) -> bool {
    match token {
        Token::Word(w) => w.quote_style.is_some() || !LEADING_KEYWORDS.contains(&w.keyword),
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::RParen
        | Token::RBracket => true,
        _ => false,
    }
}

/// True for a token that can start an operand.
fn starts_operand(token: &Token) -> bool {
    match token {
        Token::Word(w) => {
            w.quote_style.is_some()
                || !matches!(
                    w.keyword,
                    Keyword::FROM
                        | Keyword::WHERE
                        | Keyword::GROUP
                        | Keyword::ORDER
                        | Keyword::HAVING
                        | Keyword::LIMIT
                        | Keyword::AS
                        | Keyword::UNION
                        | Keyword::AND
                        | Keyword::OR
                        | Keyword::JOIN
                        | Keyword::ON
                        | Keyword::WINDOW
                )
        }
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::LParen
        | Token::Minus
        | Token::Plus => true,
        _ => false,
    }
}

/// The value of a string literal whose text between the quotes is `raw`: a doubled `quote` is
/// one; with `escaped` nothing else changes, otherwise Spark's backslash escapes apply: `\0`,
/// `\b`, `\n`, `\r`, `\t`, `\Z` (U+001A), `\uXXXX`, `\UXXXXXXXX`, three octal digits, and
/// `\%`, `\_` kept as written (they escape `LIKE` wildcards); any other character after a
/// backslash stands for itself.
pub fn unescape(raw: &str, quote: char, escaped: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == quote && chars.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
            continue;
        }
        if c != '\\' || escaped || i + 1 == chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let hex = |from: usize, n: usize| -> Option<char> {
            let digits: String = chars.get(from..from + n)?.iter().collect();
            u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32)
        };
        let octal = chars
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| ('0'..='7').contains(c)) && d[0] <= '3');
        if let Some(digits) = octal {
            let value = digits
                .iter()
                .fold(0u32, |v, d| v * 8 + d.to_digit(8).unwrap_or(0));
            out.extend(char::from_u32(value));
            i += 4;
            continue;
        }
        match next {
            'u' if hex(i + 2, 4).is_some() => {
                out.extend(hex(i + 2, 4));
                i += 6;
                continue;
            }
            'U' if hex(i + 2, 8).is_some() => {
                out.extend(hex(i + 2, 8));
                i += 10;
                continue;
            }
            '0' => out.push('\0'),
            'b' => out.push('\u{8}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'Z' => out.push('\u{1a}'),
            '%' | '_' => {
                out.push('\\');
                out.push(next);
            }
            other => out.push(other),
        }
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_unescape_as_spark_reads_them() {
        for (raw, expected) in [
            (r"it\'s", "it's"),
            ("it''s", "it's"),
            (r"a\\b", r"a\b"),
            (r"tab\there", "tab\there"),
            (r"line\nbreak", "line\nbreak"),
            (r"\u0041\u00e9", "Aé"),
            (r"\U0001F600", "\u{1F600}"),
            (r"\101", "A"),
            (r"\q", "q"),
            (r"100\%", r"100\%"),
            (r"end\", r"end\"),
        ] {
            assert_eq!(unescape(raw, '\'', false), expected, "{raw}");
        }
        // Double quotes: the same rules, with `""` for a quote.
        assert_eq!(unescape(r#"say ""hi"" \"now\""#, '"', false), r#"say "hi" "now""#);
        // spark.sql.parser.escapedStringLiterals: backslashes stay.
        assert_eq!(unescape(r"a\nb\\d", '\'', true), r"a\nb\\d");
    }

    #[test]
    fn double_quotes_make_strings_and_backquotes_names() {
        let dialect = GenericDialect {};
        let mut parser = parser(&dialect, r#"SELECT "x\ty", `a b`, 'it''s'"#, false).expect("tokenizes");
        let query = parser.parse_query().expect("parses");
        let text = query.to_string();
        assert!(text.contains("\"x\ty\""), "{text}");
        assert!(text.contains("`a b`"), "{text}");
        assert!(text.contains("'it''s'"), "{text}");
    }
}
