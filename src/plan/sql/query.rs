//! A SQL query into a [`LogicalPlan`]: `FROM` (a named stream or table, or a subquery),
//! `WHERE`, the select list (with `explode`), and `GROUP BY` / `HAVING` / aggregates.

use std::sync::Arc;

use sqlparser::ast::{
    Distinct, GroupByExpr, JoinConstraint, JoinOperator, Query, Select, SelectItem, SetExpr, Spanned,
    TableFactor,
};
use sqlparser::tokenizer::Location;

use super::expr::Translator;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{split_join_condition, JoinKind, LogicalPlan};

/// The named relations a query can read.
pub trait Catalog {
    /// The plan registered as `name` (names ignore case).
    fn relation(&self, name: &str) -> Option<Arc<LogicalPlan>>;
}

/// Plans `query` against `catalog`. Errors carry the line and column they are about.
pub fn plan_query(query: &Query, catalog: &dyn Catalog) -> Result<LogicalPlan> {
    let at = query.span().start;
    if query.order_by.is_some() || query.limit_clause.is_some() {
        return Err(Error::Unsupported(
            "ORDER BY and LIMIT are not supported on streams (Spark allows them only in complete mode)"
                .into(),
        )
        .at(
            at.line,
            at.column,
            Some("sort or limit the sink's output instead"),
        ));
    }
    if query.with.is_some() {
        return Err(
            Error::Unsupported("WITH is not supported; use a subquery in FROM".into())
                .at(at.line, at.column, None),
        );
    }
    match query.body.as_ref() {
        SetExpr::Select(select) => plan_select(select, catalog),
        SetExpr::Query(inner) => plan_query(inner, catalog),
        other => {
            let at = other.span().start;
            Err(
                Error::Unsupported("only SELECT queries are supported (no UNION, VALUES, ...)".into())
                    .at(at.line, at.column, None),
            )
        }
    }
}

fn plan_from(select: &Select, catalog: &dyn Catalog, names: &mut Translator) -> Result<Arc<LogicalPlan>> {
    let at = select.select_token.0.span.start;
    let [from] = select.from.as_slice() else {
        return Err(Error::InvalidPlan(
            "a streaming query reads exactly one stream: add FROM <stream>".into(),
        )
        .at(at.line, at.column, None));
    };
    let mut plan = plan_relation(&from.relation, catalog)?;
    for join in &from.joins {
        let at = join.relation.span().start;
        let right = plan_relation(&join.relation, catalog)?;
        let (kind, constraint) = match &join.join_operator {
            JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
            JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
            JoinOperator::FullOuter(c) => (JoinKind::Full, c),
            JoinOperator::Semi(c) | JoinOperator::LeftSemi(c) => (JoinKind::LeftSemi, c),
            other => {
                return Err(Error::Unsupported(format!(
                    "{other:?} joins are not supported; use INNER, LEFT, RIGHT, FULL OUTER or LEFT SEMI"
                ))
                .at(at.line, at.column, None))
            }
        };
        // Errors of the join's condition are placed at it (see below), others at the relation.
        let mut condition_place = at;
        let (pairs, ranges, using) = match constraint {
            JoinConstraint::Using(columns) => {
                let pairs = columns
                    .iter()
                    .map(|c| {
                        let name = c.to_string();
                        (Expr::Column(name.clone()), Expr::Column(name))
                    })
                    .collect();
                (pairs, Vec::new(), true)
            }
            JoinConstraint::On(condition) => {
                // sqlparser leaves some expressions without a span: use the condition's first
                // name, else the joined relation.
                let first_name = names.names.len();
                let condition = names.expr(condition)?;
                let condition_at = names.names.get(first_name).map_or(at, |(_, place)| *place);
                condition_place = condition_at;
                let (pairs, ranges) = split_join_condition(&condition, &plan, &right).map_err(|e| {
                    e.at(
                        condition_at.line,
                        condition_at.column,
                        Some("write ON a.k = b.k [AND ...], or USING (k); two streams may add a range of event times, e.g. AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE"),
                    )
                })?;
                (pairs, ranges, false)
            }
            _ => {
                return Err(
                    Error::Unsupported("a join needs ON or USING".into()).at(at.line, at.column, None)
                );
            }
        };
        plan = Arc::new(
            LogicalPlan::join_where(plan, right, kind, pairs, ranges, using)
                .map_err(|e| place(e, names, condition_place))?,
        );
    }
    Ok(plan)
}

/// The names and aliases of the relations a SELECT reads, which qualify its columns.
fn relation_names(select: &Select) -> Vec<String> {
    let mut names = Vec::new();
    for table in &select.from {
        for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    if let Some(last) = name.0.last() {
                        names.push(last.to_string().trim_matches('`').trim_matches('"').to_string());
                    }
                    names.extend(alias.iter().map(|a| a.name.value.clone()));
                }
                TableFactor::Derived { alias, .. } => {
                    names.extend(alias.iter().map(|a| a.name.value.clone()))
                }
                _ => {}
            }
        }
    }
    names
}

fn plan_relation(relation: &TableFactor, catalog: &dyn Catalog) -> Result<Arc<LogicalPlan>> {
    match relation {
        TableFactor::Table { name, .. } => {
            let text = name.to_string();
            let at = name.span().start;
            let plain = text
                .rsplit('.')
                .next()
                .unwrap_or(&text)
                .trim_matches('`')
                .trim_matches('"');
            catalog.relation(plain).ok_or_else(|| {
                Error::UnknownRelation(format!("no stream or table named `{plain}`")).at(
                    at.line,
                    at.column,
                    Some("declare it first with CREATE STREAM or CREATE TABLE"),
                )
            })
        }
        TableFactor::Derived { subquery, .. } => Ok(Arc::new(plan_query(subquery, catalog)?)),
        other => {
            let at = other.span().start;
            Err(Error::Unsupported(format!("FROM {other} is not supported")).at(at.line, at.column, None))
        }
    }
}

/// Places a plan error: at the name it is about if it names one, else at `fallback`.
fn place(error: Error, names: &Translator, fallback: Location) -> Error {
    let at = match &error {
        Error::UnresolvedColumn { name, .. } => names.place_of(name).unwrap_or(fallback),
        _ => fallback,
    };
    error.at(at.line, at.column, None)
}

fn plan_select(select: &Select, catalog: &dyn Catalog) -> Result<LogicalPlan> {
    let mut names = Translator {
        relations: relation_names(select),
        ..Translator::default()
    };
    let at = select.select_token.0.span.start;
    let selected = plan_selected(select, catalog, &mut names, at)?;
    match &select.distinct {
        None => Ok(selected),
        // A stream's DISTINCT is Spark's `distinct()`, `dropDuplicates()` on every column.
        Some(Distinct::Distinct) => {
            LogicalPlan::deduplicate(Arc::new(selected), &[], false).map_err(|e| place(e, &names, at))
        }
        Some(other) => Err(
            Error::Unsupported(format!("`{other}` is not supported; use DISTINCT"))
                .at(at.line, at.column, None),
        ),
    }
}

/// The rows `select` selects, before any DISTINCT.
fn plan_selected(
    select: &Select,
    catalog: &dyn Catalog,
    names: &mut Translator,
    at: Location,
) -> Result<LogicalPlan> {
    let mut plan = plan_from(select, catalog, names)?;
    if let Some(condition) = &select.selection {
        let where_at = condition.span().start;
        let condition = names.expr(condition)?;
        if condition.contains_aggregate() {
            return Err(Error::InvalidPlan(
                "aggregate functions are not allowed in WHERE; use HAVING".into(),
            )
            .at(where_at.line, where_at.column, None));
        }
        plan = Arc::new(LogicalPlan::filter(plan, condition).map_err(|e| place(e, names, where_at))?);
    }
    let mut items: Vec<(Expr, Location)> = Vec::new();
    for item in &select.projection {
        let item_at = item.span().start;
        let expr = match item {
            SelectItem::UnnamedExpr(e) => names.expr(e)?,
            SelectItem::ExprWithAlias { expr, alias } => names.expr(expr)?.alias(alias.value.clone()),
            SelectItem::Wildcard(_) => Expr::Column("*".into()),
            other => {
                return Err(
                    Error::Unsupported(format!("the select item `{other}` is not supported")).at(
                        item_at.line,
                        item_at.column,
                        None,
                    ),
                )
            }
        };
        items.push((expr, item_at));
    }
    let keys = match &select.group_by {
        GroupByExpr::Expressions(keys, _) => {
            keys.iter().map(|k| names.expr(k)).collect::<Result<Vec<_>>>()?
        }
        GroupByExpr::All(_) => {
            return Err(
                Error::Unsupported("GROUP BY ALL is not supported".into()).at(at.line, at.column, None)
            );
        }
    };
    let having = select
        .having
        .as_ref()
        .map(|h| Ok::<_, Error>((names.expr(h)?, h.span().start)))
        .transpose()?;
    let aggregates =
        !keys.is_empty() || having.is_some() || items.iter().any(|(e, _)| e.contains_aggregate());
    if !aggregates {
        let exprs = items.iter().map(|(e, _)| e.clone()).collect();
        return LogicalPlan::project(plan, exprs).map_err(|e| place(e, names, at));
    }
    plan_aggregate(plan, keys, items, having, names, at)
}

/// Spark's aggregation: group by `keys`, compute every aggregate the select list and HAVING
/// use, then filter and project over that, where each key and aggregate has become a column.
fn plan_aggregate(
    input: Arc<LogicalPlan>,
    keys: Vec<Expr>,
    items: Vec<(Expr, Location)>,
    having: Option<(Expr, Location)>,
    names: &Translator,
    at: Location,
) -> Result<LogicalPlan> {
    let mut aggregates = Vec::new();
    for expr in items.iter().map(|(e, _)| e).chain(having.iter().map(|(h, _)| h)) {
        collect_aggregates(expr, &mut aggregates);
    }
    let key_columns = keys
        .iter()
        .enumerate()
        .map(|(i, k)| k.clone().alias(format!("__k{i}")))
        .collect();
    let agg_columns = aggregates
        .iter()
        .enumerate()
        .map(|(i, a)| a.clone().alias(format!("__a{i}")))
        .collect();
    let mut plan =
        Arc::new(LogicalPlan::aggregate(input, key_columns, agg_columns).map_err(|e| place(e, names, at))?);
    if let Some((condition, having_at)) = having {
        let condition = rewrite(&condition, &keys, &aggregates);
        check_grouped(&condition, names, having_at)?;
        plan = Arc::new(LogicalPlan::filter(plan, condition).map_err(|e| place(e, names, having_at))?);
    }
    let mut exprs = Vec::with_capacity(items.len());
    for (item, item_at) in &items {
        if matches!(item, Expr::Column(c) if c == "*") {
            return Err(
                Error::InvalidPlan("SELECT * cannot be used with GROUP BY".into()).at(
                    item_at.line,
                    item_at.column,
                    None,
                ),
            );
        }
        let name = item.output_name();
        let rewritten = rewrite(item.unaliased(), &keys, &aggregates);
        check_grouped(&rewritten, names, *item_at)?;
        exprs.push(rewritten.alias(name));
    }
    LogicalPlan::project(plan, exprs).map_err(|e| place(e, names, at))
}

/// Collects the distinct aggregate calls in `expr` (nested ones are refused later, when bound).
fn collect_aggregates(expr: &Expr, out: &mut Vec<Expr>) {
    expr.for_each(&mut |e| {
        if matches!(e, Expr::Aggregate(..)) && !out.contains(e) {
            out.push(e.clone());
        }
    });
}

/// Replaces grouping keys and aggregate calls by the aggregation's output columns.
fn rewrite(expr: &Expr, keys: &[Expr], aggregates: &[Expr]) -> Expr {
    if let Some(i) = keys.iter().position(|k| k.unaliased() == expr) {
        return Expr::Column(format!("__k{i}"));
    }
    if let Some(i) = aggregates.iter().position(|a| a == expr) {
        return Expr::Column(format!("__a{i}"));
    }
    let go = |e: &Expr| Box::new(rewrite(e, keys, aggregates));
    match expr {
        Expr::Alias(e, name) => Expr::Alias(go(e), name.clone()),
        Expr::Unary(op, e) => Expr::Unary(*op, go(e)),
        Expr::Cast(e, t) => Expr::Cast(go(e), t.clone()),
        Expr::Explode(e) => Expr::Explode(go(e)),
        Expr::Binary(op, l, r) => Expr::Binary(*op, go(l), go(r)),
        Expr::Call(f, args) => Expr::Call(*f, args.iter().map(|a| rewrite(a, keys, aggregates)).collect()),
        Expr::Like {
            expr,
            pattern,
            negated,
        } => Expr::Like {
            expr: go(expr),
            pattern: pattern.clone(),
            negated: *negated,
        },
        Expr::Case { branches, otherwise } => Expr::Case {
            branches: branches
                .iter()
                .map(|(c, r)| (rewrite(c, keys, aggregates), rewrite(r, keys, aggregates)))
                .collect(),
            otherwise: otherwise.as_ref().map(|o| go(o)),
        },
        Expr::Column(_) | Expr::Literal(_) | Expr::Aggregate(..) => expr.clone(),
    }
}

/// After [`rewrite`], any column left that is not a key or an aggregate was neither grouped
/// nor aggregated: Spark's MISSING_AGGREGATION.
fn check_grouped(expr: &Expr, names: &Translator, fallback: Location) -> Result<()> {
    let mut stray = None;
    find_columns(expr, &mut |c| {
        if !c.starts_with("__") && stray.is_none() {
            stray = Some(c.to_string());
        }
    });
    match stray {
        None => Ok(()),
        Some(column) => {
            let at = names.place_of(&column).unwrap_or(fallback);
            Err(Error::InvalidPlan(format!(
                "column `{column}` is neither in GROUP BY nor inside an aggregate function"
            ))
            .at(
                at.line,
                at.column,
                Some("add it to GROUP BY, or wrap it in an aggregate such as max(..)"),
            ))
        }
    }
}

fn find_columns(expr: &Expr, f: &mut dyn FnMut(&str)) {
    expr.for_each(&mut |e| {
        if let Expr::Column(c) = e {
            f(c)
        }
    });
}
