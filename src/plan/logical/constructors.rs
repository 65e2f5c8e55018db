//! The checked constructors of [`LogicalPlan`]: each resolves and type-checks its expressions
//! at once, so a bad column name fails at the call that used it, as in Spark.

use std::sync::Arc;

use super::finish::refuse_finished;
use super::{Aggregation, JoinKind, LogicalPlan, Projection, SourceId};
use crate::connectors::Source;
use crate::data::{DataType, Field, Schema};
use crate::error::{Error, Result};
use crate::expr::{Accumulator, BoundExpr, Expr, ScalarFunc};

/// A `window(..)` among `keys` (a sliding one puts each row in several windows): the input
/// gets one row per window of each row (an explode of all of them, as a last column), and that
/// key becomes the column. A row without a time is in no window and drops out, as in Spark.
/// Returns the input to aggregate and the bound keys so replaced, by position.
fn explode_window(input: Arc<LogicalPlan>, keys: &[Expr]) -> Result<(Arc<LogicalPlan>, Option<ReplacedKey>)> {
    let window = keys
        .iter()
        .position(|k| matches!(k.unaliased(), Expr::Call(ScalarFunc::Window, _)));
    let (Some(i), Some(Expr::Call(_, args))) = (window, window.map(|i| keys[i].unaliased())) else {
        return Ok((input, None));
    };
    let mut columns: Vec<Expr> = input
        .schema()
        .names()
        .iter()
        .map(|n| crate::expr::col(n))
        .collect();
    let windows = Expr::Call(ScalarFunc::SlidingWindows, args.clone());
    columns.push(crate::expr::explode(windows).alias("__window"));
    let exploded = Arc::new(LogicalPlan::project(input, columns)?);
    let position = exploded.schema().fields().len() - 1;
    let window_type = exploded.schema().fields()[position].data_type.clone();
    Ok((exploded, Some((i, BoundExpr::Column(position), window_type))))
}

/// Binds `session_window(time, gap)`'s arguments, as a grouping key: the session each row
/// opens, which the aggregation merges with its key's others.
fn bind_session_window(args: &[Expr], schema: &Schema) -> Result<(BoundExpr, DataType)> {
    let [time, gap] = args else {
        return Err(Error::InvalidFunctionCall(format!(
            "session_window() takes a time column and a gap, got {} argument(s)",
            args.len()
        )));
    };
    let (time, time_type) = time.bind(schema)?;
    if time_type != DataType::Timestamp {
        return Err(Error::TypeMismatch(format!(
            "session_window() needs a timestamp, got a {time_type}"
        )));
    }
    let gap = match gap.unaliased() {
        Expr::Literal(crate::data::Value::Str(text)) => {
            let micros = crate::data::parse_interval(text)?.as_micros() as i64;
            if micros <= 0 {
                return Err(Error::InvalidFunctionCall(format!(
                    "session_window() needs a positive gap, not `{text}`"
                )));
            }
            crate::expr::SessionGap::Fixed(micros)
        }
        other => {
            let (gap, gap_type) = other.bind(schema)?;
            if gap_type != DataType::String {
                return Err(Error::TypeMismatch(format!(
                    "session_window()'s gap must be an interval string such as '30 seconds', got a {gap_type}"
                )));
            }
            crate::expr::SessionGap::PerRow(Box::new(gap))
        }
    };
    Ok((
        BoundExpr::SessionStart(Box::new(time), gap),
        crate::expr::window_type(),
    ))
}

/// A grouping key replaced by a column: its position among the keys, the column, its type.
type ReplacedKey = (usize, BoundExpr, DataType);

impl LogicalPlan {
    /// A plan that reads `source`.
    pub fn source(source: Arc<dyn Source>) -> Self {
        let schema = source.schema();
        LogicalPlan::Source {
            id: SourceId::fresh(),
            source,
            schema,
        }
    }

    /// `input.drop_duplicates(columns)` (all columns when empty): the first row of each key,
    /// in the order the sources read them. `within_watermark` is Spark's
    /// `dropDuplicatesWithinWatermark`, which needs a watermark below.
    pub fn deduplicate(input: Arc<LogicalPlan>, columns: &[&str], within_watermark: bool) -> Result<Self> {
        refuse_finished(&input, "drop_duplicates")?;
        let schema = input.schema();
        let keys = if columns.is_empty() {
            (0..schema.fields().len()).collect()
        } else {
            columns
                .iter()
                .map(|name| {
                    schema.index_of(name).ok_or_else(|| Error::UnresolvedColumn {
                        name: name.to_string(),
                        available: schema.names().join(", "),
                    })
                })
                .collect::<Result<Vec<usize>>>()?
        };
        if !input.is_append_only() {
            return Err(Error::InvalidPlan(
                "drop_duplicates needs rows that are only ever added: its input is an aggregation \
                 or reads a changing table"
                    .into(),
            ));
        }
        if within_watermark && input.watermark_below().is_none() {
            return Err(Error::InvalidPlan(
                "drop_duplicates_within_watermark needs a watermark on the stream (with_watermark), \
                 as in Spark"
                    .into(),
            ));
        }
        Ok(LogicalPlan::Deduplicate {
            input,
            keys,
            within_watermark,
        })
    }

    /// `input.with_watermark(column, delay)`: `column` must be a timestamp, `delay` an interval
    /// such as `"10 seconds"`.
    pub fn watermark(input: Arc<LogicalPlan>, column: &str, delay: &str) -> Result<Self> {
        refuse_finished(&input, "with_watermark")?;
        let schema = input.schema();
        let position = schema.index_of(column).ok_or_else(|| Error::UnresolvedColumn {
            name: column.to_string(),
            available: schema.names().join(", "),
        })?;
        let data_type = &schema.fields()[position].data_type;
        if *data_type != DataType::Timestamp {
            return Err(Error::TypeMismatch(format!(
                "the event-time column of a watermark must be a timestamp; `{column}` is a {data_type}"
            )));
        }
        let delay_micros = crate::data::parse_interval(delay)?.as_micros() as i64;
        Ok(LogicalPlan::Watermark {
            column_name: schema.fields()[position].name.clone(),
            input,
            column: position,
            delay_micros,
        })
    }

    /// `left.join(right)` on `pairs` of key expressions (left side, right side); `using`
    /// drops the right key columns from the output (they equal the left ones).
    pub fn join(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        kind: JoinKind,
        pairs: Vec<(Expr, Expr)>,
        using: bool,
    ) -> Result<Self> {
        Self::join_where(left, right, kind, pairs, Vec::new(), using)
    }

    /// `left.join(right)` on a condition split by
    /// [`split_join_condition`](super::split_join_condition): its key equalities and time range
    /// go to [`join_where`](Self::join_where); every other part decides which pairs match, as
    /// Spark's join condition does. For an INNER join that is a filter of the joined rows (whose
    /// parts that read one side the compiler runs before the join). A LEFT, LEFT SEMI or LEFT
    /// ANTI join's part that reads the right side alone filters the right rows before the join
    /// (Spark's optimizer pushes it there too), and a RIGHT join's that reads the left alone
    /// the left rows; any other part would decide which rows of the preserved side are padded
    /// with nulls, which is refused.
    pub fn join_on(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        kind: JoinKind,
        condition: super::JoinCondition,
    ) -> Result<Self> {
        use super::join_time::reads_side;
        let (mut above, mut on_left, mut on_right) = (Vec::new(), Vec::new(), Vec::new());
        for part in condition.residual {
            // A part that reads no column (`AND true`) reads either side alone: it holds for
            // every pair or for none, so it filters the side whose unmatched rows are dropped as
            // well as any.
            let (reads_left, reads_right) =
                (reads_side(&part, &left, &right), reads_side(&part, &right, &left));
            let mut reads_columns = false;
            part.for_each(&mut |e| reads_columns |= matches!(e, Expr::Column(_)));
            let left_only = !reads_columns || (reads_left && !reads_right);
            let right_only = !reads_columns || (reads_right && !reads_left);
            match kind {
                JoinKind::Inner => above.push(part),
                JoinKind::Left | JoinKind::LeftSemi | JoinKind::LeftAnti if right_only => on_right.push(part),
                JoinKind::Right if left_only => on_left.push(part),
                _ => {
                    return Err(Error::Unsupported(format!(
                        "`{}` in the condition of a {} join: beside key equalities and a range \
                         of two streams' event times, such a join's condition may only hold \
                         parts that read the side whose unmatched rows are dropped; this part \
                         would decide which rows are padded with nulls. Filter the rows with \
                         WHERE, or join INNER",
                        part.output_name(),
                        kind.spark_name()
                    )))
                }
            }
        }
        let filtered = |side: Arc<LogicalPlan>, parts: Vec<Expr>| -> Result<Arc<LogicalPlan>> {
            match parts.into_iter().reduce(|a, b| a.and(b)) {
                Some(predicate) => Ok(Arc::new(LogicalPlan::filter(side, predicate)?)),
                None => Ok(side),
            }
        };
        let join = LogicalPlan::join_where(
            filtered(left, on_left)?,
            filtered(right, on_right)?,
            kind,
            condition.pairs,
            condition.ranges,
            false,
        )?;
        match above.into_iter().reduce(|a, b| a.and(b)) {
            Some(predicate) => LogicalPlan::filter(Arc::new(join), predicate),
            None => Ok(join),
        }
    }

    /// `left.join(right)` on `pairs` of equal key expressions and, for two streams, the
    /// comparisons `ranges` of their event-time columns (a time-range condition, see
    /// [`split_join_condition`](super::split_join_condition)). A join of two streams under
    /// watermarks, with a time range, or of a kind other than INNER, is checked by Spark's
    /// rules and forgets rows once the watermark shows they can no longer match.
    pub fn join_where(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        kind: JoinKind,
        pairs: Vec<(Expr, Expr)>,
        ranges: Vec<Expr>,
        using: bool,
    ) -> Result<Self> {
        // Spark's rules on which joins of which inputs exist come first.
        let event_time = super::join_time::join_event_time(&left, &right, kind, &pairs, &ranges)?;
        if pairs.is_empty() {
            // Spark would run a nested-loop join; here the keys spread the rows over workers.
            return Err(Error::Unsupported(
                "a join needs at least one pair of equal keys, a left and a right expression \
                 (`ON l.k = r.k`); a join on other conditions alone (a nested-loop join) is not \
                 supported"
                    .into(),
            ));
        }
        refuse_finished(&left, "a join")?;
        refuse_finished(&right, "a join")?;
        if left.is_changing_table() || matches!(left.as_ref(), LogicalPlan::Upsert { .. }) {
            return Err(Error::InvalidPlan(
                "an upsert table can only be the right side of a join (the table that enriches \
                 a stream); put the stream on the left: FROM stream JOIN table, or \
                 stream.join(&table, ..)"
                    .into(),
            ));
        }
        if using && kind.pads_left() {
            return Err(Error::Unsupported(format!(
                "{} joins with USING are not supported (the key would come from either side); \
                 join on `l.k = r.k` and pick the columns",
                kind.spark_name()
            )));
        }
        let (mut left_keys, mut right_keys, mut texts, mut dropped) = (vec![], vec![], vec![], vec![]);
        for (l, r) in &pairs {
            let (lk, lt) = l.bind(left.schema())?;
            let (rk, rt) = r.bind(right.schema())?;
            if lt.common(&rt).is_none() {
                return Err(Error::TypeMismatch(format!(
                    "join keys `{}` ({lt}) and `{}` ({rt}) cannot be compared",
                    l.output_name(),
                    r.output_name()
                )));
            }
            if let (true, BoundExpr::Column(i)) = (using, &rk) {
                dropped.push(*i);
            }
            texts.push(format!("{} = {}", l.output_name(), r.output_name()));
            left_keys.push(lk);
            right_keys.push(rk);
        }
        if let Some(range) = event_time
            .as_ref()
            .and_then(|e| super::join_time::range_text(e, &left, &right))
        {
            texts.push(range);
        }
        let right_columns: Vec<usize> = if kind.keeps_left_only() {
            Vec::new()
        } else {
            (0..right.schema().len())
                .filter(|i| !dropped.contains(i))
                .collect()
        };
        let mut fields: Vec<Field> = left.schema().fields().to_vec();
        if kind.pads_left() {
            fields.iter_mut().for_each(|f| f.nullable = true);
        }
        for &i in &right_columns {
            let mut field = right.schema().fields()[i].clone();
            if kind.pads_right() {
                field.nullable = true;
            }
            fields.push(field);
        }
        Ok(LogicalPlan::Join {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            right_columns,
            condition: texts.join(" AND "),
            event_time,
            output_read: None,
            schema: Schema::new(fields),
        })
    }

    /// The columns of `input` at `positions`, as they are (names, relations and DataFrames
    /// kept): what `drop` leaves, picked by position because after a join two columns may share
    /// a name.
    pub fn select_columns(input: Arc<LogicalPlan>, positions: &[usize]) -> Self {
        let fields: Vec<Field> = positions
            .iter()
            .map(|&i| input.schema().fields()[i].clone())
            .collect();
        let exprs = fields.iter().map(|f| Expr::Column(f.name.clone())).collect();
        Self::columns_as(input, positions, exprs, fields)
    }

    /// Every column of `input` under the name `names` gives it, by position (Spark's
    /// `toDF(names)`): new columns, as aliases are, so they keep no relation or DataFrame.
    pub fn renamed_columns(input: Arc<LogicalPlan>, names: &[&str]) -> Result<Self> {
        let in_schema = input.schema().clone();
        if names.len() != in_schema.len() {
            return Err(Error::InvalidPlan(format!(
                "The number of columns doesn't match: old column names ({}): {}; new column names ({}): {}",
                in_schema.len(),
                in_schema.names().join(", "),
                names.len(),
                names.join(", ")
            )));
        }
        let (fields, exprs) = in_schema
            .fields()
            .iter()
            .zip(names)
            .map(|(f, name)| {
                let field = Field {
                    nullable: f.nullable,
                    ..Field::new(*name, f.data_type.clone())
                };
                (field, Expr::Column(f.name.clone()).alias(*name))
            })
            .unzip();
        let positions: Vec<usize> = (0..names.len()).collect();
        Ok(Self::columns_as(input, &positions, exprs, fields))
    }

    /// The columns of `input` at `positions`, as `fields`; `exprs` are what explain shows.
    fn columns_as(
        input: Arc<LogicalPlan>,
        positions: &[usize],
        exprs: Vec<Expr>,
        fields: Vec<Field>,
    ) -> Self {
        LogicalPlan::Project {
            exprs,
            columns: positions
                .iter()
                .map(|&i| Projection::Scalar(BoundExpr::Column(i)))
                .collect(),
            generator: None,
            schema: Schema::new(fields),
            input,
        }
    }

    /// `select(exprs)`: at most one `explode`, at the top of an item.
    pub fn project(input: Arc<LogicalPlan>, exprs: Vec<Expr>) -> Result<Self> {
        let in_schema = input.schema().clone();
        let mut columns = Vec::with_capacity(exprs.len());
        let mut fields = Vec::with_capacity(exprs.len());
        let mut generator = None;
        for expr in &exprs {
            if expr.contains_aggregate() {
                return Err(Error::InvalidPlan(format!(
                    "aggregate function in select: `{}`; use group_by(..).agg(..)",
                    expr.output_name()
                )));
            }
            if let Expr::Explode(array) = expr.unaliased() {
                if generator.is_some() {
                    return Err(Error::InvalidPlan(
                        "only one generator (explode) is allowed per select".into(),
                    ));
                }
                let (bound, t) = array.bind(&in_schema)?;
                let DataType::Array(element) = t else {
                    return Err(Error::TypeMismatch(format!(
                        "explode needs an array, got {t} in `{}`",
                        array.output_name()
                    )));
                };
                generator = Some(bound);
                columns.push(Projection::Generated);
                fields.push(Field::new(expr.output_name(), *element));
            } else if expr.contains_generator() {
                return Err(Error::InvalidPlan(format!(
                    "explode must be a top-level select item, not nested in `{}`",
                    expr.output_name()
                )));
            } else if let Expr::Column(star) = expr {
                if let Some(prefix) = star.strip_suffix(".*") {
                    // `s.*`: the fields of struct column `s`, or the columns of relation `s`.
                    for (column, field) in star_of(&in_schema, prefix)? {
                        columns.push(Projection::Scalar(column));
                        fields.push(field);
                    }
                    continue;
                }
                if star == "*" {
                    for (column, field) in as_output(&in_schema, 0..in_schema.len()) {
                        columns.push(Projection::Scalar(column));
                        fields.push(field);
                    }
                    continue;
                }
                let (bound, t) = expr.bind(&in_schema)?;
                // `a.id`, column `id` of the relation aliased `a`, is named `id`, as in Spark.
                let name = match (expr, &bound) {
                    (Expr::Column(written), BoundExpr::Column(i))
                        if in_schema.fields()[*i].qualifier.is_some()
                            && !in_schema.fields()[*i].name.eq_ignore_ascii_case(written) =>
                    {
                        written
                            .split_once('.')
                            .map_or(written.clone(), |(_, c)| c.to_string())
                    }
                    _ => expr.output_name(),
                };
                // A column picked as it is stays its DataFrames' column, as a Spark attribute
                // keeps its identity through a projection.
                let datasets = match bound {
                    BoundExpr::Column(i) => in_schema.fields()[i].datasets.clone(),
                    _ => Vec::new(),
                };
                columns.push(Projection::Scalar(bound));
                fields.push(Field {
                    datasets,
                    ..Field::new(name, t)
                });
            } else {
                let (bound, t) = expr.bind(&in_schema)?;
                columns.push(Projection::Scalar(bound));
                fields.push(Field::new(expr.output_name(), t));
            }
        }
        Ok(LogicalPlan::Project {
            input,
            exprs,
            columns,
            generator,
            schema: Schema::new(fields),
        })
    }

    /// `filter(predicate)`: the predicate must be boolean.
    pub fn filter(input: Arc<LogicalPlan>, expr: Expr) -> Result<Self> {
        if expr.contains_aggregate() || expr.contains_generator() {
            return Err(Error::InvalidPlan(format!(
                "filter cannot contain aggregates or generators: `{}`",
                expr.output_name()
            )));
        }
        let (predicate, t) = expr.bind(input.schema())?;
        if t != DataType::Boolean && t != DataType::Null {
            return Err(Error::DatatypeMismatch {
                class: "DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN",
                expr: expr.sql(),
                reason: format!(
                    "Filter expression \"{}\" of type \"{}\" is not a boolean.",
                    expr.sql(),
                    t.sql_name().to_ascii_uppercase()
                ),
            });
        }
        Ok(LogicalPlan::Filter {
            input,
            expr,
            predicate,
        })
    }

    /// `group_by(keys).agg(aggs)`: each agg must be an aggregate function call (maybe aliased).
    /// With no aggregates the result is the distinct keys (SQL's `GROUP BY` without them).
    pub fn aggregate(input: Arc<LogicalPlan>, key_exprs: Vec<Expr>, aggs: Vec<Expr>) -> Result<Self> {
        refuse_finished(&input, "an aggregation")?;
        let (input, replaced) = explode_window(input, &key_exprs)?;
        let in_schema = input.schema().clone();
        let mut fields = Vec::new();
        let mut keys = Vec::new();
        for k in &key_exprs {
            if k.contains_aggregate() || k.contains_generator() {
                return Err(Error::InvalidPlan(format!(
                    "group_by keys cannot contain aggregates or generators: `{}`",
                    k.output_name()
                )));
            }
            let (bound, t) = match (&replaced, k.unaliased()) {
                (Some((i, column, t)), _) if *i == keys.len() => (column.clone(), t.clone()),
                (_, Expr::Call(ScalarFunc::SessionWindow, args)) => {
                    if !input.is_append_only() {
                        return Err(Error::InvalidPlan(
                            "session_window needs rows that are only ever added: its input is an \
                             aggregation or reads a changing table"
                                .into(),
                        ));
                    }
                    bind_session_window(args, &in_schema)?
                }
                _ => k.bind(&in_schema)?,
            };
            keys.push(bound);
            fields.push(Field::new(k.output_name(), t));
        }
        let mut aggregations = Vec::new();
        for a in &aggs {
            let Expr::Aggregate(func, arg) = a.unaliased() else {
                return Err(Error::InvalidPlan(format!(
                    "agg() takes aggregate functions (count, sum, avg, min, max), got `{}`",
                    a.output_name()
                )));
            };
            let (accumulator, t) = Accumulator::bind(*func, arg.as_deref(), &in_schema)?;
            let mut field = Field::new(a.output_name(), t);
            if *func == crate::expr::AggFunc::Count {
                field = field.not_null();
            }
            fields.push(field);
            aggregations.push(Aggregation {
                expr: a.clone(),
                accumulator,
            });
        }
        Ok(LogicalPlan::Aggregate {
            input,
            key_exprs,
            keys,
            aggregations,
            schema: Schema::new(fields),
        })
    }
}

/// The columns `prefix.*` stands for in a select list over `schema`, as Spark expands it: the
/// fields of the struct column (or struct field) `prefix`, or else the columns of relation
/// `prefix` (a join's side, see [`Field::qualifier`]).
fn star_of(schema: &Schema, prefix: &str) -> Result<Vec<(BoundExpr, Field)>> {
    if let Ok((bound, data_type)) = Expr::Column(prefix.to_string()).bind(schema) {
        return match data_type {
            DataType::Struct(fields) => Ok(fields
                .into_iter()
                .enumerate()
                .map(|(j, field)| (BoundExpr::Field(Box::new(bound.clone()), j), field))
                .collect()),
            other => Err(Error::InvalidPlan(format!(
                "`{prefix}.*` expands a struct's fields, and `{prefix}` is a {other}"
            ))),
        };
    }
    let of_relation = schema.positions_of(prefix);
    if of_relation.is_empty() {
        return Err(Error::UnresolvedColumn {
            name: format!("{prefix}.*"),
            available: schema.names().join(", "),
        });
    }
    Ok(as_output(schema, of_relation))
}

/// The columns of `schema` at `positions`, as a star in a select list picks them: each as it
/// is, but for its relation, since a query's output names none (`r.c` means nothing above it).
fn as_output(schema: &Schema, positions: impl IntoIterator<Item = usize>) -> Vec<(BoundExpr, Field)> {
    positions
        .into_iter()
        .map(|i| {
            let field = Field {
                qualifier: None,
                ..schema.fields()[i].clone()
            };
            (BoundExpr::Column(i), field)
        })
        .collect()
}
