//! SQL expressions (sqlparser's AST) into [`Expr`].

use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, CeilFloorKind, DateTimeField, DuplicateTreatment, Expr as Sql,
    FunctionArg, FunctionArgExpr, FunctionArguments, Interval, ObjectNamePart, Spanned, Subscript,
    UnaryOperator, Value as SqlValue,
};
use sqlparser::tokenizer::Location;

use super::script::data_type;
use crate::data::Value;
use crate::error::{Error, Result};
use crate::expr::{lit, AggFunc, BinaryOp, Expr, ScalarFunc, UnaryOp};

/// Translates expressions, remembering where each name was written so that a later error
/// about it can point there.
#[derive(Default)]
pub(crate) struct Translator {
    /// `(name, place)` of every identifier seen, in order.
    pub(crate) names: Vec<(String, Location)>,
    /// The names and aliases of the query's relations: `r.c` with `r` among them is column
    /// `c`; any other `a.b` is field `b` of struct column `a`.
    pub(crate) relations: Vec<String>,
    /// Column names (lowercase) that more than one relation of the query's FROM has: `r.c` of
    /// such a name keeps its relation, to find `r`'s column among a join's (see
    /// `Field::qualifier`); other qualified names are plain column names.
    pub(crate) ambiguous: std::collections::HashSet<String>,
    /// The columns of each relation of a FROM with joins, by the name that qualifies them:
    /// `r.c` where `r` has no `c` is an error, not another relation's `c`.
    pub(crate) relation_columns: Vec<(String, Vec<String>)>,
    /// Whether a bare name of [`ambiguous`](Self::ambiguous) is refused, as Spark refuses it
    /// where it reads a join's columns (`ON`, `WHERE`, the select list, `GROUP BY`).
    pub(crate) refuse_ambiguous: bool,
}

fn located(error: Error, at: Location) -> Error {
    error.at(at.line, at.column, None)
}

impl Translator {
    /// Where `name` was first written, if it was.
    pub(crate) fn place_of(&self, name: &str) -> Option<Location> {
        self.names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, at)| *at)
    }

    /// `r.c` for each column `c` that `keep` takes, of each relation `r` of
    /// [`relation_columns`](Self::relation_columns), comma-separated.
    fn qualified_columns(&self, keep: impl Fn(&str) -> bool) -> String {
        self.relation_columns
            .iter()
            .flat_map(|(r, cs)| cs.iter().filter(|c| keep(c)).map(move |c| format!("{r}.{c}")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn expr(&mut self, sql: &Sql) -> Result<Expr> {
        let at = sql.span().start;
        Ok(match sql {
            Sql::Identifier(ident) => {
                if self.refuse_ambiguous && self.ambiguous.contains(&ident.value.to_lowercase()) {
                    let candidates = self.qualified_columns(|c| c.eq_ignore_ascii_case(&ident.value));
                    let name = ident.value.clone();
                    return Err(located(
                        Error::AmbiguousReference { name, candidates },
                        ident.span.start,
                    ));
                }
                self.names.push((ident.value.clone(), ident.span.start));
                Expr::Column(ident.value.clone())
            }
            // `t.c` (a column of relation `t`) or `s.f` (field `f` of struct column `s`).
            Sql::CompoundIdentifier(parts) => {
                let (first, last) = match (parts.first(), parts.last()) {
                    (Some(first), Some(last)) => (first, last),
                    _ => return Err(located(Error::Syntax("empty name".into()), at)),
                };
                let qualified = self
                    .relations
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&first.value));
                if let (true, Some(column)) = (qualified, parts.get(1)) {
                    let of_relation = self
                        .relation_columns
                        .iter()
                        .find(|(r, _)| r.eq_ignore_ascii_case(&first.value));
                    if let Some((_, columns)) = of_relation {
                        if !columns.iter().any(|c| c.eq_ignore_ascii_case(&column.value)) {
                            let name = format!("{}.{}", first.value, column.value);
                            let available = self.qualified_columns(|_| true);
                            return Err(located(
                                Error::UnresolvedColumn { name, available },
                                first.span.start,
                            ));
                        }
                    }
                }
                if qualified && parts.len() == 2 && self.ambiguous.contains(&last.value.to_lowercase()) {
                    // Named `c` in the output, as Spark names a qualified column.
                    let name = format!("{}.{}", first.value, last.value);
                    self.names.push((name.clone(), first.span.start));
                    return Ok(Expr::Column(name).alias(last.value.clone()));
                }
                let name = if qualified {
                    last.value.clone()
                } else {
                    parts
                        .iter()
                        .map(|p| p.value.as_str())
                        .collect::<Vec<_>>()
                        .join(".")
                };
                self.names.push((name.clone(), first.span.start));
                Expr::Column(name)
            }
            Sql::Value(v) => Expr::Literal(literal(&v.value).map_err(|e| located(e, at))?),
            Sql::Nested(e) => self.expr(e)?,
            Sql::UnaryOp { op, expr } => {
                let e = self.expr(expr)?;
                match op {
                    UnaryOperator::Not => Expr::Unary(UnaryOp::Not, Box::new(e)),
                    UnaryOperator::Minus => match e {
                        Expr::Literal(Value::Int(i)) => lit(-i),
                        Expr::Literal(Value::Float(f)) => lit(-f),
                        Expr::Literal(Value::Decimal(d)) => lit(d.negate()),
                        e => Expr::Unary(UnaryOp::Negate, Box::new(e)),
                    },
                    UnaryOperator::Plus => e,
                    other => return Err(unsupported(&format!("the operator {other}"), at)),
                }
            }
            // `t + INTERVAL '1' MINUTE`, `INTERVAL 1 DAY + d`, `t - INTERVAL '2 hours'`.
            Sql::BinaryOp {
                left,
                op: op @ (BinaryOperator::Plus | BinaryOperator::Minus),
                right,
            } if matches!(right.as_ref(), Sql::Interval(_))
                || (matches!(left.as_ref(), Sql::Interval(_)) && *op == BinaryOperator::Plus) =>
            {
                let (time, interval) = match (left.as_ref(), right.as_ref()) {
                    (time, Sql::Interval(i)) => (time, i),
                    (Sql::Interval(i), time) => (time, i),
                    _ => return Err(unsupported("this interval arithmetic", at)),
                };
                let (months, micros) = interval_parts(interval).map_err(|e| located(e, at))?;
                let sign = if *op == BinaryOperator::Minus { -1 } else { 1 };
                Expr::Call(
                    ScalarFunc::AddInterval,
                    vec![self.expr(time)?, lit(sign * months), lit(sign * micros)],
                )
            }
            Sql::Interval(_) => {
                return Err(unsupported(
                    "an INTERVAL outside `time + INTERVAL ..` or `time - INTERVAL ..`",
                    at,
                ))
            }
            Sql::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                let op = match op {
                    BinaryOperator::Plus => BinaryOp::Add,
                    BinaryOperator::Minus => BinaryOp::Sub,
                    BinaryOperator::Multiply => BinaryOp::Mul,
                    BinaryOperator::Divide => BinaryOp::Div,
                    // `a DIV b` (see `literals::integer_division_operators`).
                    BinaryOperator::DuckIntegerDivide => BinaryOp::IntDiv,
                    BinaryOperator::Modulo => BinaryOp::Rem,
                    BinaryOperator::Eq => BinaryOp::Eq,
                    BinaryOperator::NotEq => BinaryOp::NotEq,
                    BinaryOperator::Lt => BinaryOp::Lt,
                    BinaryOperator::LtEq => BinaryOp::LtEq,
                    BinaryOperator::Gt => BinaryOp::Gt,
                    BinaryOperator::GtEq => BinaryOp::GtEq,
                    BinaryOperator::And => BinaryOp::And,
                    BinaryOperator::Or => BinaryOp::Or,
                    BinaryOperator::StringConcat => return Ok(Expr::Call(ScalarFunc::Concat, vec![l, r])),
                    other => return Err(unsupported(&format!("the operator {other}"), at)),
                };
                Expr::Binary(op, Box::new(l), Box::new(r))
            }
            Sql::IsNull(e) => self.expr(e)?.is_null(),
            Sql::IsNotNull(e) => self.expr(e)?.is_not_null(),
            Sql::Cast {
                kind: CastKind::TryCast | CastKind::SafeCast,
                expr,
                data_type: t,
                ..
            } => {
                let e = self.expr(expr)?;
                let t = data_type(t).map_err(|err| located(err, at))?;
                Expr::Call(ScalarFunc::TryCast, vec![e, lit(t.sql_name().as_str())])
            }
            Sql::Cast {
                expr, data_type: t, ..
            } => {
                let e = self.expr(expr)?;
                e.cast(data_type(t).map_err(|err| located(err, at))?)
            }
            // `DATE '2024-01-31'`, `TIMESTAMP '2024-01-31 10:00:00'`.
            Sql::TypedString(typed) => {
                let text = match &typed.value.value {
                    SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
                    other => return Err(unsupported(&format!("the literal {other}"), at)),
                };
                let t = data_type(&typed.data_type).map_err(|err| located(err, at))?;
                lit(text.as_str()).cast(t)
            }
            Sql::RLike {
                negated,
                expr,
                pattern,
                ..
            } => {
                let test = Expr::Call(ScalarFunc::Rlike, vec![self.expr(expr)?, self.expr(pattern)?]);
                if *negated {
                    !test
                } else {
                    test
                }
            }
            Sql::Position { expr, r#in } => {
                Expr::Call(ScalarFunc::Locate, vec![self.expr(expr)?, self.expr(r#in)?])
            }
            Sql::Ceil {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => Expr::Call(ScalarFunc::Ceil, vec![self.expr(expr)?]),
            Sql::Floor {
                expr,
                field: CeilFloorKind::DateTimeField(DateTimeField::NoDateTime),
            } => Expr::Call(ScalarFunc::Floor, vec![self.expr(expr)?]),
            // `a[0]` (0-based, as Spark's), `s.field`, `from_json(..).field`.
            Sql::CompoundFieldAccess { root, access_chain } => {
                let mut e = self.expr(root)?;
                for access in access_chain {
                    e = match access {
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            Expr::Call(ScalarFunc::GetItem, vec![e, self.expr(index)?])
                        }
                        AccessExpr::Dot(Sql::Identifier(field)) => {
                            Expr::Call(ScalarFunc::GetField, vec![e, lit(field.value.as_str())])
                        }
                        other => return Err(unsupported(&format!("the access `{other}`"), at)),
                    };
                }
                e
            }
            Sql::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand.as_ref().map(|o| self.expr(o)).transpose()?;
                let mut branches = Vec::with_capacity(conditions.len());
                for when in conditions {
                    let condition = self.expr(&when.condition)?;
                    let condition = match &operand {
                        Some(o) => o.clone().eq(condition),
                        None => condition,
                    };
                    branches.push((condition, self.expr(&when.result)?));
                }
                let otherwise = else_result
                    .as_ref()
                    .map(|e| self.expr(e))
                    .transpose()?
                    .map(Box::new);
                Expr::Case { branches, otherwise }
            }
            Sql::InList { expr, list, negated } => {
                let e = self.expr(expr)?;
                let values = list.iter().map(|v| self.expr(v)).collect::<Result<Vec<_>>>()?;
                let test = e.is_in(values);
                if *negated {
                    !test
                } else {
                    test
                }
            }
            Sql::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let test = self.expr(expr)?.between(self.expr(low)?, self.expr(high)?);
                if *negated {
                    !test
                } else {
                    test
                }
            }
            Sql::Like {
                negated,
                expr,
                pattern,
                ..
            } => {
                let e = self.expr(expr)?;
                let Expr::Literal(Value::Str(p)) = self.expr(pattern)? else {
                    return Err(unsupported(
                        "LIKE with a pattern that is not a string literal",
                        at,
                    ));
                };
                Expr::Like {
                    expr: Box::new(e),
                    pattern: p.to_string(),
                    negated: *negated,
                }
            }
            Sql::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr)?];
                args.push(match substring_from {
                    Some(f) => self.expr(f)?,
                    None => lit(1),
                });
                if let Some(f) = substring_for {
                    args.push(self.expr(f)?);
                }
                Expr::Call(ScalarFunc::Substring, args)
            }
            Sql::Trim {
                expr,
                trim_what: None,
                trim_where: None,
                ..
            } => Expr::Call(ScalarFunc::Trim, vec![self.expr(expr)?]),
            Sql::Function(f) if is_user_without_parentheses(f) => {
                // `user` (or `t.user`) without parentheses names a column, as Spark reads it
                // outside ANSI's reserved keywords: a column called `user` is common.
                let parts: Vec<sqlparser::ast::Ident> =
                    f.name.0.iter().filter_map(|p| p.as_ident().cloned()).collect();
                let name = match <[_; 1]>::try_from(parts) {
                    Ok([ident]) => Sql::Identifier(ident),
                    Err(parts) => Sql::CompoundIdentifier(parts),
                };
                self.expr(&name)?
            }
            Sql::Function(f) => self.function(f, at)?,
            other => return Err(unsupported(&format!("the expression `{other}`"), at)),
        })
    }

    fn function(&mut self, f: &sqlparser::ast::Function, at: Location) -> Result<Expr> {
        let name = match f.name.0.last() {
            Some(ObjectNamePart::Identifier(ident)) => ident.value.to_ascii_lowercase(),
            _ => return Err(unsupported(&format!("the function `{}`", f.name), at)),
        };
        let (args, distinct) = match &f.args {
            FunctionArguments::List(list) => (
                list.args.as_slice(),
                matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct)),
            ),
            FunctionArguments::None => (&[][..], false),
            FunctionArguments::Subquery(_) => {
                return Err(unsupported("subqueries as function arguments", at))
            }
        };
        let mut star = false;
        let mut exprs = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => exprs.push(self.expr(e)?),
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => star = true,
                _ => return Err(unsupported(&format!("the argument `{arg}`"), at)),
            }
        }
        if let Some(agg) = AggFunc::by_name(&name) {
            return match (agg, star, distinct, exprs.len()) {
                (AggFunc::Count, true, false, 0) => Ok(Expr::Aggregate(AggFunc::Count, None)),
                (AggFunc::Count, false, true, 1) => {
                    Ok(Expr::Aggregate(AggFunc::CountDistinct, exprs.pop().map(Box::new)))
                }
                (_, false, true, _) => Err(unsupported(
                    &format!("{name}(DISTINCT ..); only count(DISTINCT x) is"),
                    at,
                )),
                (AggFunc::First | AggFunc::Last, false, false, 1 | 2) => {
                    // `first(x, true)`, `first(x) IGNORE NULLS`: Spark's ignoreNulls.
                    let mut ignore = ignore_nulls_clause(f);
                    if exprs.len() == 2 {
                        match exprs.pop().map(|e| e.unaliased().clone()) {
                            Some(Expr::Literal(Value::Bool(flag))) => ignore |= flag,
                            _ => {
                                return Err(located(
                                    Error::InvalidFunctionCall(format!(
                                        "{name}(x, ignoreNulls): ignoreNulls must be true or false"
                                    )),
                                    at,
                                ))
                            }
                        }
                    }
                    let agg = if ignore { agg.ignoring_nulls() } else { agg };
                    Ok(Expr::Aggregate(agg, exprs.pop().map(Box::new)))
                }
                (AggFunc::MaxBy | AggFunc::MinBy, false, false, 2) => {
                    let ord = exprs.remove(1);
                    let value = exprs.remove(0);
                    Ok(if agg == AggFunc::MaxBy {
                        crate::expr::max_by(value, ord)
                    } else {
                        crate::expr::min_by(value, ord)
                    })
                }
                (_, false, false, 1) if agg.arity() == 1 => {
                    Ok(Expr::Aggregate(agg, exprs.pop().map(Box::new)))
                }
                _ => Err(located(
                    Error::InvalidFunctionCall(format!(
                        "{name}() takes {} argument(s)",
                        if agg.arity() == 2 { "two" } else { "one" }
                    )),
                    at,
                )),
            };
        }
        if name == "explode" {
            return match exprs.len() {
                1 => Ok(Expr::Explode(Box::new(exprs.remove(0)))),
                n => Err(located(
                    Error::InvalidFunctionCall(format!("explode() takes 1 argument, got {n}")),
                    at,
                )),
            };
        }
        match ScalarFunc::by_name(&name) {
            Some(func) => Ok(Expr::Call(func, exprs)),
            None => {
                let hint = closest_function(&name)
                    .map(|close| format!("did you mean `{close}`? README lists every function"));
                Err(
                    Error::InvalidFunctionCall(format!("unknown function `{name}`")).at(
                        at.line,
                        at.column,
                        Some(hint.as_deref().unwrap_or("README lists every function")),
                    ),
                )
            }
        }
    }
}

/// The known function name nearest to `name`, for "did you mean" hints.
fn closest_function(name: &str) -> Option<&'static str> {
    let extra = ["explode", "count", "sum", "avg", "min", "max"];
    let names = ScalarFunc::names()
        .iter()
        .copied()
        .filter(|n| !n.starts_with("__"))
        .chain(AggFunc::names().iter().copied())
        .chain(extra);
    crate::suggest::closest(name, names)
}

/// An interval's months and microseconds: `INTERVAL '5' SECOND`, `INTERVAL 1 DAY`,
/// `INTERVAL '1 hour 30 minutes'`, `INTERVAL '1' MONTH`.
fn interval_parts(interval: &Interval) -> Result<(i64, i64)> {
    let text = match interval.value.as_ref() {
        Sql::Value(v) => match &v.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => s.clone(),
            SqlValue::Number(n, _) => n.clone(),
            other => return Err(Error::Syntax(format!("`{other}` is not an interval value"))),
        },
        Sql::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Sql::Value(v) => format!("-{}", v.value).replace('\'', ""),
            other => return Err(Error::Syntax(format!("`{other}` is not an interval value"))),
        },
        other => return Err(Error::Syntax(format!("`{other}` is not an interval value"))),
    };
    if interval.last_field.is_some() {
        return Err(Error::Unsupported(
            "intervals with a range of units (`HOUR TO MINUTE`) are not supported; write `INTERVAL '1 hour 30 minutes'`".into(),
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    match &interval.leading_field {
        Some(field) => pairs.push((text.trim().to_string(), field.to_string())),
        None => {
            let words: Vec<&str> = text.split_whitespace().collect();
            if !words.len().is_multiple_of(2) || words.is_empty() {
                return Err(Error::Syntax(format!(
                    "`{text}` is not an interval; write e.g. '5 seconds' or '1 hour 30 minutes'"
                )));
            }
            for pair in words.chunks(2) {
                pairs.push((pair[0].to_string(), pair[1].to_string()));
            }
        }
    }
    let (mut months, mut micros) = (0i64, 0i64);
    for (number, unit) in pairs {
        let bad = || Error::Syntax(format!("`{number} {unit}` is not an interval"));
        let n: f64 = number.parse().map_err(|_| bad())?;
        let unit = unit.to_ascii_lowercase();
        let unit = unit.trim_end_matches('s');
        let too_long = || {
            Error::Syntax(format!(
                "interval `{text}` is too long; the longest is {} seconds (10000 years)",
                crate::data::MAX_INTERVAL_SECONDS
            ))
        };
        // Whole months, within the longest interval (10000 years of 12 months).
        let whole = |n: f64| {
            if n.fract() != 0.0 {
                Err(bad())
            } else if n.abs() > 120_000.0 {
                Err(too_long())
            } else {
                Ok(n as i64)
            }
        };
        let max_micros = crate::data::MAX_INTERVAL_SECONDS as f64 * 1e6;
        match unit {
            "year" => months = months.checked_add(12 * whole(n)?).ok_or_else(too_long)?,
            "month" => months = months.checked_add(whole(n)?).ok_or_else(too_long)?,
            _ => {
                let per = match unit {
                    "week" => 604_800_000_000.0,
                    "day" => 86_400_000_000.0,
                    "hour" => 3_600_000_000.0,
                    "minute" => 60_000_000.0,
                    "second" => 1_000_000.0,
                    "millisecond" => 1_000.0,
                    "microsecond" => 1.0,
                    _ => return Err(bad()),
                };
                let span = (n * per).round();
                if !span.is_finite() || span.abs() > max_micros {
                    return Err(too_long());
                }
                micros = micros.checked_add(span as i64).ok_or_else(too_long)?;
            }
        }
    }
    Ok((months, micros))
}

fn unsupported(what: &str, at: Location) -> Error {
    located(Error::Unsupported(format!("{what} is not supported")), at)
}

fn literal(v: &SqlValue) -> Result<Value> {
    Ok(match v {
        SqlValue::Number(n, long) => number(n, *long)?,
        SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) => Value::str(s),
        SqlValue::Boolean(b) => Value::Bool(*b),
        SqlValue::Null => Value::Null,
        other => {
            return Err(Error::Unsupported(format!(
                "the literal {other} is not supported"
            )))
        }
    })
}

/// A numeric literal's value, typed as Spark's parser types it (`AstBuilder`): a whole number
/// is a BIGINT (Spark's INT and BIGINT alike; past BIGINT's range a `DECIMAL(p, 0)`), a number
/// with a point is an exact `DECIMAL(p, s)` of its digits as written (`1.50` is
/// `DECIMAL(3, 2)`, `.5` `DECIMAL(1, 1)`), one with an exponent is a DOUBLE (`1.5e0`, `1E3`).
/// The suffixes `D` and `F` make a DOUBLE (Spark's FLOAT is a DOUBLE here), `BD` a DECIMAL
/// (`1e3BD` is `DECIMAL(4, 0)`), `L`, `S` and `Y` a BIGINT within BIGINT's, SMALLINT's and
/// TINYINT's range (see `literals::numeric_suffixes`, which joins a suffix to its number).
fn number(text: &str, long: bool) -> Result<Value> {
    let upper = text.to_ascii_uppercase();
    let (body, suffix) = if long {
        (upper.as_str(), "L")
    } else if let Some(body) = upper.strip_suffix("BD") {
        (body, "BD")
    } else {
        match upper.char_indices().last() {
            Some((i, c @ ('D' | 'F' | 'L' | 'S' | 'Y'))) => {
                (&upper[..i], if c == 'D' || c == 'F' { "D" } else { &upper[i..] })
            }
            _ => (upper.as_str(), ""),
        }
    };
    let written = if long {
        format!("{text}L")
    } else {
        text.to_string()
    };
    let bad = || Error::Syntax(format!("`{written}` is not a number"));
    let whole = !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit());
    let exponent = body.contains('E');
    let integer = |max: i64, kind: &str| -> Result<Value> {
        match body.parse::<i64>() {
            Ok(i) if whole && i <= max => Ok(Value::Int(i)),
            _ if !whole => Err(bad()),
            _ => Err(Error::Syntax(format!(
                "the literal `{written}` does not fit in range [{}, {max}] for type {kind}",
                -max - 1
            ))),
        }
    };
    let double = || -> Result<Value> {
        match body.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            Ok(_) => Err(Error::Syntax(format!(
                "the literal `{written}` does not fit in range of type double"
            ))),
            Err(_) => Err(bad()),
        }
    };
    match suffix {
        "L" => integer(i64::MAX, "bigint"),
        "S" => integer(i64::from(i16::MAX), "smallint"),
        "Y" => integer(i64::from(i8::MAX), "tinyint"),
        "D" => double(),
        "BD" => exact_decimal(body, &written),
        _ if whole => match body.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => exact_decimal(body, &written),
        },
        _ if exponent => double(),
        _ => exact_decimal(body, &written),
    }
}

/// The exact decimal `body` (digits, a point, an exponent) with the scale it is written with,
/// as Java's `BigDecimal` reads it, a negative scale made 0 (`1e3` is 1000, `DECIMAL(4, 0)`),
/// as Spark's decimal literals are; an error past 38 digits.
fn exact_decimal(body: &str, written: &str) -> Result<Value> {
    let (mantissa, exponent) = match body.split_once('E') {
        Some((m, e)) => (
            m,
            e.parse::<i64>()
                .map_err(|_| Error::Syntax(format!("`{written}` is not a number")))?,
        ),
        None => (body, 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len());
    let scale = (fraction as i64).saturating_sub(exponent).max(0);
    let too_long = || {
        Error::Syntax(format!(
            "the decimal literal `{written}` has more than {} digits",
            crate::data::decimal::MAX_PRECISION
        ))
    };
    let scale = u8::try_from(scale)
        .ok()
        .filter(|s| *s <= crate::data::decimal::MAX_PRECISION)
        .ok_or_else(too_long)?;
    crate::data::Decimal::parse(body, crate::data::decimal::MAX_PRECISION, scale)
        .map(Value::Decimal)
        .ok_or_else(too_long)
}

/// Whether a call says `IGNORE NULLS` (after its parentheses, or inside them).
fn ignore_nulls_clause(f: &sqlparser::ast::Function) -> bool {
    use sqlparser::ast::{FunctionArgumentClause, NullTreatment};
    let inside = match &f.args {
        FunctionArguments::List(list) => list.clauses.iter().any(|c| {
            matches!(
                c,
                FunctionArgumentClause::IgnoreOrRespectNulls(NullTreatment::IgnoreNulls)
            )
        }),
        _ => false,
    };
    inside || matches!(f.null_treatment, Some(NullTreatment::IgnoreNulls))
}

/// `user`, `current_user` or `session_user` written without parentheses (sqlparser reads them
/// as functions): Spark takes such a name for a column first.
fn is_user_without_parentheses(f: &sqlparser::ast::Function) -> bool {
    matches!(f.args, FunctionArguments::None)
        && matches!(f.name.0.last(), Some(ObjectNamePart::Identifier(ident))
            if ["user", "current_user", "session_user"].contains(&ident.value.to_ascii_lowercase().as_str()))
}
