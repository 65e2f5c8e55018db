//! A SQL query into a [`LogicalPlan`]: `FROM` (a named stream or table, or a subquery),
//! `WHERE`, the select list (with `explode`), and `GROUP BY` / `HAVING` / aggregates.

use std::sync::Arc;

use sqlparser::ast::{
    Distinct, GroupByExpr, JoinConstraint, JoinOperator, LimitClause, ObjectName, ObjectNamePart, OrderBy,
    OrderByKind, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, SetOperator,
    SetQuantifier, Spanned, TableFactor, With,
};
use sqlparser::tokenizer::Location;

use super::expr::Translator;
use crate::data::{Schema, Value};
use crate::error::{Error, Result};
use crate::expr::{Expr, SortOrder};
use crate::plan::{split_join_condition, JoinKind, LogicalPlan};

/// The named relations a query can read.
pub trait Catalog {
    /// The plan registered as `name` (names ignore case).
    fn relation(&self, name: &str) -> Option<Arc<LogicalPlan>>;
}

/// Plans `query` against `catalog`. Errors carry the line and column they are about.
pub fn plan_query(query: &Query, catalog: &dyn Catalog) -> Result<LogicalPlan> {
    let with_ctes;
    let catalog = match &query.with {
        None => catalog,
        Some(with) => {
            with_ctes = plan_ctes(with, catalog)?;
            &with_ctes as &dyn Catalog
        }
    };
    let at = query.span().start;
    let mut plan = plan_set_expr(query.body.as_ref(), catalog)?;
    if let Some(order_by) = &query.order_by {
        plan = plan_order_by(plan, order_by, query.body.as_ref())?;
    }
    if let Some(limit) = &query.limit_clause {
        plan = plan_limit(plan, limit, at)?;
    }
    Ok(plan)
}

/// A query's body: a SELECT, a parenthesized query, or a UNION of them.
fn plan_set_expr(body: &SetExpr, catalog: &dyn Catalog) -> Result<LogicalPlan> {
    match body {
        SetExpr::Select(select) => plan_select(select, catalog),
        SetExpr::Query(inner) => plan_query(inner, catalog),
        SetExpr::SetOperation {
            op: SetOperator::Union,
            set_quantifier,
            left,
            right,
        } => {
            let at = body.span().start;
            let (l, r) = (plan_set_expr(left, catalog)?, plan_set_expr(right, catalog)?);
            let (l, r) = (Arc::new(l), Arc::new(r));
            let union = match set_quantifier {
                SetQuantifier::All | SetQuantifier::Distinct | SetQuantifier::None => {
                    LogicalPlan::union(l, r)
                }
                _ => LogicalPlan::union_by_name(l, r, false),
            }
            .map_err(|e| e.at(at.line, at.column, None))?;
            match set_quantifier {
                SetQuantifier::All | SetQuantifier::AllByName => Ok(union),
                // UNION (DISTINCT) is a UNION ALL whose rows are deduplicated, as SELECT
                // DISTINCT is here.
                _ => LogicalPlan::deduplicate(Arc::new(union), &[], false)
                    .map_err(|e| e.at(at.line, at.column, None)),
            }
        }
        other => {
            let at = other.span().start;
            Err(Error::Unsupported(
                "only SELECT queries and their UNIONs are supported (no INTERSECT, EXCEPT, VALUES, ...)"
                    .into(),
            )
            .at(at.line, at.column, None))
        }
    }
}

/// The relations of a `WITH` clause, each planned against the catalog and the ones before it.
fn plan_ctes<'a>(with: &With, outer: &'a dyn Catalog) -> Result<WithCatalog<'a>> {
    let at = with.with_token.0.span.start;
    if with.recursive {
        return Err(
            Error::Unsupported("WITH RECURSIVE is not supported on streams".into())
                .at(at.line, at.column, None),
        );
    }
    let mut catalog = WithCatalog {
        ctes: Vec::new(),
        outer,
    };
    for cte in &with.cte_tables {
        let name = cte.alias.name.value.clone();
        let mut plan = plan_query(&cte.query, &catalog)?;
        if !cte.alias.columns.is_empty() {
            // `name (a, b) AS (...)`: the columns renamed, in order.
            let at = cte.alias.name.span.start;
            let given: Vec<String> = cte.alias.columns.iter().map(|c| c.name.value.clone()).collect();
            let names = plan.schema().names();
            if given.len() != names.len() {
                return Err(Error::InvalidPlan(format!(
                    "`{name}` names {} columns, but its query has {}",
                    given.len(),
                    names.len()
                ))
                .at(at.line, at.column, None));
            }
            let exprs = names
                .iter()
                .zip(&given)
                .map(|(n, g)| Expr::Column(n.clone()).alias(g.clone()));
            plan = LogicalPlan::project(Arc::new(plan), exprs.collect())
                .map_err(|e| e.at(at.line, at.column, None))?;
        }
        catalog.ctes.push((name, Arc::new(plan)));
    }
    Ok(catalog)
}

/// The relations of a `WITH` clause, before those of the catalog around it.
struct WithCatalog<'a> {
    ctes: Vec<(String, Arc<LogicalPlan>)>,
    outer: &'a dyn Catalog,
}

impl Catalog for WithCatalog<'_> {
    fn relation(&self, name: &str) -> Option<Arc<LogicalPlan>> {
        self.ctes
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, plan)| plan.clone())
            .or_else(|| self.outer.relation(name))
    }
}

/// `ORDER BY`: each key is an output column (by name, alias or position, `ORDER BY 2`), an
/// expression over output columns, or an expression the select list computes (`ORDER BY
/// count(*)` when it selects `count(*) AS n`), as Spark resolves them.
fn plan_order_by(plan: LogicalPlan, order_by: &OrderBy, body: &SetExpr) -> Result<LogicalPlan> {
    let at = order_by.span().start;
    let OrderByKind::Expressions(exprs) = &order_by.kind else {
        return Err(Error::Unsupported("ORDER BY ALL is not supported".into()).at(at.line, at.column, None));
    };
    let selected = match body {
        SetExpr::Select(select) => selected_items(select),
        _ => Vec::new(),
    };
    let mut names = Translator {
        relations: match body {
            SetExpr::Select(select) => relation_names(select),
            _ => Vec::new(),
        },
        ..Translator::default()
    };
    let output = plan.schema().names();
    let mut order = Vec::with_capacity(exprs.len());
    for item in exprs {
        let key_at = item.expr.span().start;
        let expr = names.expr(&item.expr)?;
        let expr = match &expr {
            // Spark's `spark.sql.orderByOrdinal`: a whole number is a position in the select list.
            Expr::Literal(Value::Int(i)) => {
                let position = usize::try_from(*i)
                    .ok()
                    .filter(|p| (1..=output.len()).contains(p));
                match position {
                    Some(p) => Expr::Column(output[p - 1].clone()),
                    None => {
                        return Err(Error::InvalidPlan(format!(
                            "ORDER BY position {i} is not in the select list (1 to {})",
                            output.len()
                        ))
                        .at(key_at.line, key_at.column, None))
                    }
                }
            }
            _ if expr.bind(plan.schema()).is_ok() => expr,
            _ => match selected.iter().find(|(e, _)| *e == expr) {
                Some((_, name)) => Expr::Column(name.clone()),
                None => expr,
            },
        };
        let mut sort = if item.options.asc == Some(false) {
            SortOrder::desc(expr)
        } else {
            SortOrder::asc(expr)
        };
        if let Some(first) = item.options.nulls_first {
            sort = sort.nulls_first(first);
        }
        order.push(sort);
    }
    LogicalPlan::sort(Arc::new(plan), order).map_err(|e| match &e {
        Error::UnresolvedColumn { name, .. } => {
            let at = names.place_of(name).unwrap_or(at);
            e.at(
                at.line,
                at.column,
                Some("ORDER BY sorts the query's output: order by a column or expression of the select list"),
            )
        }
        _ => place(e, &names, at),
    })
}

/// `LIMIT n` (a whole number; no OFFSET on a stream, as in Spark).
fn plan_limit(plan: LogicalPlan, limit: &LimitClause, at: Location) -> Result<LogicalPlan> {
    let at = limit_span(limit).unwrap_or(at);
    let (limit, offset) = match limit {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } if limit_by.is_empty() => (limit.as_ref(), offset.as_ref().map(|o| &o.value)),
        LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
        _ => {
            return Err(Error::Unsupported("LIMIT BY is not supported".into()).at(at.line, at.column, None));
        }
    };
    if offset.is_some() {
        return Err(
            Error::Unsupported("OFFSET is not supported on streaming DataFrames/Datasets".into())
                .at(at.line, at.column, None),
        );
    }
    let Some(limit) = limit else {
        // `LIMIT ALL`: no limit.
        return Ok(plan);
    };
    let n = match limit {
        sqlparser::ast::Expr::Value(v) => match &v.value {
            sqlparser::ast::Value::Number(n, _) => n.parse::<usize>().ok(),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| {
        Error::InvalidPlan(format!("LIMIT takes a whole number of rows, not `{limit}`"))
            .at(at.line, at.column, None)
    })?;
    LogicalPlan::limit(Arc::new(plan), n)
}

/// Where a `LIMIT` clause's number is.
fn limit_span(limit: &LimitClause) -> Option<Location> {
    match limit {
        LimitClause::LimitOffset { limit: Some(l), .. } => Some(l.span().start),
        LimitClause::OffsetCommaLimit { limit, .. } => Some(limit.span().start),
        _ => None,
    }
    .filter(|l| l.line > 0)
}

/// The select list's expressions (without aliases) and their output names.
fn selected_items(select: &Select) -> Vec<(Expr, String)> {
    let mut names = Translator {
        relations: relation_names(select),
        ..Translator::default()
    };
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) => names.expr(e).ok().map(|e| {
                let name = e.output_name();
                (e, name)
            }),
            SelectItem::ExprWithAlias { expr, alias } => {
                names.expr(expr).ok().map(|e| (e, alias.value.clone()))
            }
            _ => None,
        })
        .collect()
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
    let mut rights = Vec::with_capacity(from.joins.len());
    for join in &from.joins {
        rights.push(plan_relation(&join.relation, catalog)?);
    }
    if !rights.is_empty() {
        // Each relation's columns know where they come from, so that `r.c` finds relation
        // `r`'s `c` where several relations have a `c` (Spark's qualified attributes).
        let relations: Vec<&TableFactor> = std::iter::once(&from.relation)
            .chain(from.joins.iter().map(|j| &j.relation))
            .collect();
        names.refuse_ambiguous = true;
        names.ambiguous = shared_columns(
            std::iter::once(&plan).chain(&rights).map(|p| p.schema()),
            &from.joins,
        );
        for (i, relation) in relations.iter().enumerate() {
            let Some(q) = qualifier(relation) else {
                continue;
            };
            let side = if i == 0 { &mut plan } else { &mut rights[i - 1] };
            names.relation_columns.push((q.clone(), side.schema().names()));
            *side = side.qualified(&q);
        }
    }
    for (join, right) in from.joins.iter().zip(rights) {
        let at = join.relation.span().start;
        let Some((kind, constraint)) = join_parts(&join.join_operator) else {
            return Err(Error::Unsupported(format!(
                "{:?} joins are not supported; use INNER, LEFT, RIGHT, FULL OUTER, LEFT SEMI or LEFT ANTI",
                join.join_operator
            ))
            .at(at.line, at.column, None));
        };
        // Errors of the join's condition are placed at it (see below), others at the relation.
        let mut condition_place = at;
        let joined = match constraint {
            JoinConstraint::Using(columns) => {
                let pairs = columns
                    .iter()
                    .map(|c| {
                        let name = c.to_string();
                        (Expr::Column(name.clone()), Expr::Column(name))
                    })
                    .collect();
                LogicalPlan::join(plan, right, kind, pairs, true)
            }
            JoinConstraint::On(condition) => {
                // sqlparser leaves some expressions without a span: use the condition's first
                // name, else the joined relation.
                let first_name = names.names.len();
                let condition = names.expr(condition)?;
                condition_place = names.names.get(first_name).map_or(at, |(_, place)| *place);
                let split = split_join_condition(&condition, &plan, &right);
                LogicalPlan::join_on(plan, right, kind, split)
            }
            _ => {
                return Err(
                    Error::Unsupported("a join needs ON or USING".into()).at(at.line, at.column, None)
                );
            }
        };
        plan = Arc::new(joined.map_err(|e| place(e, names, condition_place))?);
    }
    Ok(plan)
}

/// The column names (lowercase) that more than one of `schemas` has, but for a `USING` join's
/// keys (the join keeps one copy of those).
fn shared_columns<'a>(
    schemas: impl Iterator<Item = &'a Schema>,
    joins: &[sqlparser::ast::Join],
) -> std::collections::HashSet<String> {
    let mut seen = std::collections::HashSet::new();
    let mut shared = std::collections::HashSet::new();
    for schema in schemas {
        let own: std::collections::HashSet<String> =
            schema.fields().iter().map(|f| f.name.to_lowercase()).collect();
        for name in own {
            if !seen.insert(name.clone()) {
                shared.insert(name);
            }
        }
    }
    for join in joins {
        if let Some((_, JoinConstraint::Using(columns))) = join_parts(&join.join_operator) {
            for column in columns {
                shared.remove(&column.to_string().trim_matches('`').to_lowercase());
            }
        }
    }
    shared
}

/// The kind and condition of a join Tidewater supports; `None` for the others.
fn join_parts(operator: &JoinOperator) -> Option<(JoinKind, &JoinConstraint)> {
    Some(match operator {
        JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
        JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
        JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
        JoinOperator::FullOuter(c) => (JoinKind::Full, c),
        JoinOperator::Semi(c) | JoinOperator::LeftSemi(c) => (JoinKind::LeftSemi, c),
        JoinOperator::Anti(c) | JoinOperator::LeftAnti(c) => (JoinKind::LeftAnti, c),
        _ => return None,
    })
}

/// A select item as the expression it stands for (`*` and `s.*` as the columns a projection
/// expands them to), or `None` for an item Tidewater does not take. Queries and `select_expr`
/// read their items alike.
pub(super) fn select_item(names: &mut Translator, item: &SelectItem) -> Option<Result<Expr>> {
    Some(match item {
        SelectItem::UnnamedExpr(e) => names.expr(e),
        SelectItem::ExprWithAlias { expr, alias } => names.expr(expr).map(|e| e.alias(alias.value.clone())),
        SelectItem::Wildcard(_) => Ok(Expr::Column("*".into())),
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
            Ok(Expr::Column(format!("{}.*", object_name_text(name))))
        }
        _ => return None,
    })
}

/// One part of a dotted name, without its quotes.
fn unquoted(part: &ObjectNamePart) -> String {
    part.to_string().trim_matches('`').trim_matches('"').to_string()
}

/// A dotted name as the column path it names (`data.*`'s `data`, `t.s`): its parts unquoted,
/// joined by dots.
fn object_name_text(name: &ObjectName) -> String {
    name.0.iter().map(unquoted).collect::<Vec<_>>().join(".")
}

/// A table's own name: the last part of `db.table`, unquoted.
fn table_name(name: &ObjectName) -> Option<String> {
    name.0.last().map(unquoted)
}

/// The name a relation's columns are qualified by: its alias, else its (last) name.
fn qualifier(relation: &TableFactor) -> Option<String> {
    match relation {
        TableFactor::Table { name, alias, .. } => alias
            .as_ref()
            .map(|a| a.name.value.clone())
            .or_else(|| table_name(name)),
        TableFactor::Derived { alias, .. } => alias.as_ref().map(|a| a.name.value.clone()),
        _ => None,
    }
}

/// The names and aliases of the relations a SELECT reads, which qualify its columns.
fn relation_names(select: &Select) -> Vec<String> {
    let mut names = Vec::new();
    for table in &select.from {
        for factor in std::iter::once(&table.relation).chain(table.joins.iter().map(|j| &j.relation)) {
            match factor {
                TableFactor::Table { name, alias, .. } => {
                    names.extend(table_name(name));
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
        let Some(expr) = select_item(names, item) else {
            return Err(
                Error::Unsupported(format!("the select item `{item}` is not supported")).at(
                    item_at.line,
                    item_at.column,
                    None,
                ),
            );
        };
        items.push((expr?, item_at));
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
    // HAVING may name the select list's aliases, which a bare shared name can be.
    names.refuse_ambiguous = false;
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
    // A grouping key's output name, or a field of it: `window.start` when grouped by
    // `window(ts, ..)`, as Spark resolves it.
    if let Expr::Column(name) = expr {
        let (head, field) = match name.split_once('.') {
            Some((head, field)) => (head, Some(field)),
            None => (name.as_str(), None),
        };
        let key = keys
            .iter()
            .position(|k| k.output_name().eq_ignore_ascii_case(head));
        if let Some(i) = key {
            return Expr::Column(match field {
                Some(field) => format!("__k{i}.{field}"),
                None => format!("__k{i}"),
            });
        }
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
