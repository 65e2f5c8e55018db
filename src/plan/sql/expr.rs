//! SQL expressions (sqlparser's AST) into [`Expr`].

use sqlparser::ast::{
    BinaryOperator, DuplicateTreatment, Expr as Sql, FunctionArg, FunctionArgExpr, FunctionArguments,
    ObjectNamePart, Spanned, UnaryOperator, Value as SqlValue,
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

    pub(crate) fn expr(&mut self, sql: &Sql) -> Result<Expr> {
        let at = sql.span().start;
        Ok(match sql {
            Sql::Identifier(ident) => {
                self.names.push((ident.value.clone(), ident.span.start));
                Expr::Column(ident.value.clone())
            }
            // `t.column`: tables are not qualified in our plans; the column name decides.
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
                        e => Expr::Unary(UnaryOp::Negate, Box::new(e)),
                    },
                    UnaryOperator::Plus => e,
                    other => return Err(unsupported(&format!("the operator {other}"), at)),
                }
            }
            Sql::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                let op = match op {
                    BinaryOperator::Plus => BinaryOp::Add,
                    BinaryOperator::Minus => BinaryOp::Sub,
                    BinaryOperator::Multiply => BinaryOp::Mul,
                    BinaryOperator::Divide => BinaryOp::Div,
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
                expr, data_type: t, ..
            } => {
                let e = self.expr(expr)?;
                e.cast(data_type(t).map_err(|err| located(err, at))?)
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
            Sql::Function(f) => self.function(f, at)?,
            Sql::Interval(interval) => {
                // `INTERVAL '1 minute'`, `INTERVAL 1 MINUTE`, `INTERVAL '1' MINUTE`.
                let amount = match interval.value.as_ref() {
                    Sql::Value(v) => match &v.value {
                        sqlparser::ast::Value::SingleQuotedString(s)
                        | sqlparser::ast::Value::Number(s, _) => s.clone(),
                        _ => return Err(unsupported(&format!("the interval `{interval}`"), at)),
                    },
                    _ => return Err(unsupported(&format!("the interval `{interval}`"), at)),
                };
                let span = match &interval.leading_field {
                    Some(unit) => format!("{amount} {unit}"),
                    None => amount,
                };
                crate::data::parse_interval(&span).map_err(|e| located(e, at))?;
                crate::expr::interval(&span)
            }
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
                (_, false, false, 1) => Ok(Expr::Aggregate(agg, exprs.pop().map(Box::new))),
                _ => Err(located(
                    Error::InvalidFunctionCall(format!("{name}() takes one argument")),
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
            None => Err(Error::InvalidFunctionCall(format!("unknown function `{name}`")).at(
                at.line,
                at.column,
                Some(
                    "functions: split, explode, lower, upper, length, concat, substring, trim, round, abs, \
                     coalesce, count, sum, avg, min, max",
                ),
            )),
        }
    }
}

fn unsupported(what: &str, at: Location) -> Error {
    located(Error::Unsupported(format!("{what} is not supported")), at)
}

fn literal(v: &SqlValue) -> Result<Value> {
    Ok(match v {
        SqlValue::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(
                n.parse::<f64>()
                    .map_err(|_| Error::Syntax(format!("`{n}` is not a number")))?,
            ),
        },
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
