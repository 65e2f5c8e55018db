//! [`LogicalPlan`] nodes and their checked constructors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::connectors::Source;
use crate::data::{DataType, Field, Schema};
use crate::error::{Error, Result};
use crate::expr::{Accumulator, BoundExpr, Expr, ScalarFunc};

/// Identifies one `load()`ed source within a process: the same source read twice in a plan is
/// one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub usize);

impl SourceId {
    fn fresh() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        SourceId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One output column of a projection.
#[derive(Clone, Debug)]
pub enum Projection {
    /// A scalar expression evaluated per input row.
    Scalar(BoundExpr),
    /// The element of the generator's array, for each element (at most one per projection).
    Generated,
}

/// One aggregate of an [`LogicalPlan::Aggregate`].
#[derive(Clone, Debug)]
pub struct Aggregation {
    /// The expression as written (for explain).
    pub expr: Expr,
    /// The bound accumulator.
    pub accumulator: Accumulator,
}

/// The kinds of join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// Rows with a match on both sides.
    Inner,
    /// Every left row; right columns null when nothing matches.
    Left,
}

impl std::str::FromStr for JoinKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "").as_str() {
            "inner" => Ok(JoinKind::Inner),
            "left" | "leftouter" => Ok(JoinKind::Left),
            _ => Err(Error::Unsupported(format!("join type `{s}`; use inner or left"))),
        }
    }
}

/// A node of the logical plan. Nodes are immutable and shared (`Arc`).
#[derive(Clone, Debug)]
pub enum LogicalPlan {
    /// A streaming source.
    Source {
        /// The input's identity.
        id: SourceId,
        /// The configured source.
        source: Arc<dyn Source>,
        /// Its schema.
        schema: Schema,
    },
    /// `select`/`with_column`: computes new columns, optionally exploding one array.
    Project {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The expressions as written (for explain).
        exprs: Vec<Expr>,
        /// The bound output columns.
        columns: Vec<Projection>,
        /// The array expression of `explode`, if any.
        generator: Option<BoundExpr>,
        /// Output schema.
        schema: Schema,
    },
    /// `filter`/`where`: keeps rows whose predicate is true.
    Filter {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The predicate as written.
        expr: Expr,
        /// The bound predicate.
        predicate: BoundExpr,
    },
    /// An equi-join of two inputs on key expressions.
    Join {
        /// Left input (usually the stream).
        left: Arc<LogicalPlan>,
        /// Right input (usually a table).
        right: Arc<LogicalPlan>,
        /// Inner or left.
        kind: JoinKind,
        /// Key expressions over the left input.
        left_keys: Vec<BoundExpr>,
        /// Key expressions over the right input, pairwise equal to the left ones.
        right_keys: Vec<BoundExpr>,
        /// Positions of right columns kept in the output (USING drops the key columns).
        right_columns: Vec<usize>,
        /// The condition as text (for explain).
        condition: String,
        /// Output schema: left columns, then the kept right columns.
        schema: Schema,
    },
    /// `group_by(..).agg(..)`: one row per key with its aggregates.
    Aggregate {
        /// Input.
        input: Arc<LogicalPlan>,
        /// Grouping expressions as written.
        key_exprs: Vec<Expr>,
        /// Bound grouping expressions.
        keys: Vec<BoundExpr>,
        /// The aggregates.
        aggregations: Vec<Aggregation>,
        /// Output schema: keys, then aggregates.
        schema: Schema,
    },
    /// `with_watermark(column, delay)`: declares the event-time column and how late its
    /// events may arrive. Rows pass unchanged; an aggregation above drops the rows that arrive
    /// after the watermark (the greatest event time seen in earlier epochs, less the delay)
    /// and, in append mode, writes a window once the watermark has passed its end.
    Watermark {
        /// Input.
        input: Arc<LogicalPlan>,
        /// The event-time column's position.
        column: usize,
        /// Its name.
        column_name: String,
        /// How late an event may be, in microseconds.
        delay_micros: i64,
    },
    /// A changing table declared from a stream of upserts: the latest row of each primary key
    /// (see [`LogicalPlan::upsert_table`]).
    Upsert {
        /// The stream of upserts: a source, maybe filtered and projected (one row, one upsert).
        input: Arc<LogicalPlan>,
        /// Positions of the primary key columns in the input's schema.
        keys: Vec<usize>,
        /// Output schema: the input's, with the key columns not null.
        schema: Schema,
    },
}

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

    /// The output schema.
    pub fn schema(&self) -> &Schema {
        match self {
            LogicalPlan::Source { schema, .. }
            | LogicalPlan::Project { schema, .. }
            | LogicalPlan::Join { schema, .. }
            | LogicalPlan::Aggregate { schema, .. }
            | LogicalPlan::Upsert { schema, .. } => schema,
            LogicalPlan::Filter { input, .. } | LogicalPlan::Watermark { input, .. } => input.schema(),
        }
    }

    /// The inputs of this node.
    pub fn inputs(&self) -> Vec<&Arc<LogicalPlan>> {
        match self {
            LogicalPlan::Source { .. } => vec![],
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Watermark { input, .. }
            | LogicalPlan::Upsert { input, .. } => vec![input],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
        }
    }

    /// Every source the plan reads, each once, in the order first met (depth first).
    pub fn sources(&self) -> Vec<(SourceId, Arc<dyn Source>)> {
        let mut found: Vec<(SourceId, Arc<dyn Source>)> = Vec::new();
        self.visit(&mut |node| {
            if let LogicalPlan::Source { id, source, .. } = node {
                if !found.iter().any(|(seen, _)| seen == id) {
                    found.push((*id, source.clone()));
                }
            }
        });
        found
    }

    /// True if an aggregation occurs anywhere in the plan.
    pub fn has_aggregation(&self) -> bool {
        let mut found = false;
        self.visit(&mut |node| found |= matches!(node, LogicalPlan::Aggregate { .. }));
        found
    }

    /// True if the node's output only ever gains rows (no retractions): sources insert, and
    /// projections and filters preserve that; an aggregation updates its rows. The engine picks
    /// the per-key accumulator for aggregations over append-only inputs.
    pub fn is_append_only(&self) -> bool {
        match self {
            LogicalPlan::Source { .. } => true,
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. } => input.is_append_only(),
            LogicalPlan::Aggregate { .. } => false,
            // A key's row is replaced when it is upserted again; a static table's upserts are
            // all resolved in the epoch that reads it, and nothing changes afterwards.
            LogicalPlan::Upsert { input, .. } => input.is_static(),
            // Rows are only ever added while the right side only grows (tables load once; a
            // left join's null-padded row would be retracted if a match arrived later).
            LogicalPlan::Join {
                left, right, kind, ..
            } => {
                left.is_append_only()
                    && right.is_append_only()
                    && (*kind == JoinKind::Inner || right.is_static())
            }
        }
    }

    /// Why the node's output can lose rows in a way only complete mode shows, if it can: an
    /// aggregation over an aggregation (its groups can vanish), or a LEFT join whose right side
    /// is a stream (a null-padded row is withdrawn when its match arrives). An aggregation over
    /// an insert-only input only replaces a key's row, which update mode expresses; rows
    /// corrected by a changing table are [`correction_reason`](Self::correction_reason)'s.
    pub fn retraction_reason(&self) -> Option<&'static str> {
        match self {
            LogicalPlan::Source { .. } | LogicalPlan::Upsert { .. } => None,
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Filter { input, .. }
            | LogicalPlan::Watermark { input, .. } => input.retraction_reason(),
            LogicalPlan::Aggregate { input, .. } => input.retraction_reason().or_else(|| {
                input
                    .has_aggregation()
                    .then_some("an aggregation over an aggregation (groups can disappear)")
            }),
            LogicalPlan::Join {
                left, right, kind, ..
            } => {
                if *kind == JoinKind::Left && !right.is_static() && !right.is_changing_table() {
                    return Some("a LEFT join with a streaming right side");
                }
                left.retraction_reason().or_else(|| right.retraction_reason())
            }
        }
    }

    /// Why the node's output corrects rows it has already produced, if it does: it reads an
    /// upsert table whose rows change while the query runs, so a join result (or a group's
    /// aggregate) is withdrawn and replaced when a table row changes. Update mode writes the
    /// corrected rows; append mode cannot.
    pub fn correction_reason(&self) -> Option<&'static str> {
        let mut changing = false;
        self.visit(&mut |node| {
            changing |= matches!(node, LogicalPlan::Upsert { input, .. } if !input.is_static())
        });
        changing.then_some("a query that reads an upsert table (its rows change while the query runs)")
    }

    /// True if the node is an upsert table that changes while the query runs, maybe filtered
    /// or projected: a right side of a join whose rows are corrected, never a stream.
    pub fn is_changing_table(&self) -> bool {
        match self {
            LogicalPlan::Upsert { input, .. } => !input.is_static(),
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => {
                input.is_changing_table()
            }
            _ => false,
        }
    }

    /// `input.with_watermark(column, delay)`: `column` must be a timestamp, `delay` an interval
    /// such as `"10 seconds"`.
    pub fn watermark(input: Arc<LogicalPlan>, column: &str, delay: &str) -> Result<Self> {
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

    /// The watermark under this node, through filters and projections: its event-time column's
    /// name and delay.
    pub fn watermark_below(&self) -> Option<(&str, i64)> {
        match self {
            LogicalPlan::Watermark {
                column_name,
                delay_micros,
                ..
            } => Some((column_name, *delay_micros)),
            LogicalPlan::Project { input, .. } | LogicalPlan::Filter { input, .. } => input.watermark_below(),
            _ => None,
        }
    }

    /// The delay of the plan's watermark, in microseconds, if it has one.
    pub fn watermark_delay(&self) -> Option<i64> {
        let mut delay = None;
        self.visit(&mut |node| {
            if let LogicalPlan::Watermark { delay_micros, .. } = node {
                delay = delay.or(Some(*delay_micros));
            }
        });
        delay
    }

    /// For an aggregation grouped by a window of its input's watermarked column (maybe under a
    /// projection that keeps that column): the output position of the window, whose end tells
    /// when a group is final (append mode).
    pub fn final_window_column(&self) -> Option<usize> {
        match self {
            LogicalPlan::Aggregate { input, key_exprs, .. } => {
                let (event_time, _) = input.watermark_below()?;
                key_exprs.iter().position(|key| {
                    matches!(key.unaliased(), Expr::Call(ScalarFunc::Window, args)
                        if matches!(args.first().map(Expr::unaliased), Some(Expr::Column(c)) if c.eq_ignore_ascii_case(event_time)))
                })
            }
            LogicalPlan::Project {
                input,
                columns,
                generator: None,
                ..
            } => {
                let window = input.final_window_column()?;
                columns
                    .iter()
                    .position(|c| matches!(c, Projection::Scalar(BoundExpr::Column(i)) if *i == window))
            }
            _ => None,
        }
    }

    /// True if every source under this node is a static table (read once, at the start).
    pub fn is_static(&self) -> bool {
        let mut all = true;
        self.visit(&mut |node| {
            if let LogicalPlan::Source { source, .. } = node {
                all &= source.is_static();
            }
        });
        all
    }

    /// The size on disk of a static plan's tables, if every source knows its own (see
    /// [`Source::size_in_bytes`](crate::connectors::Source::size_in_bytes)).
    pub fn static_size_in_bytes(&self) -> Option<u64> {
        let mut total = Some(0u64);
        self.visit(&mut |node| {
            if let LogicalPlan::Source { source, .. } = node {
                total = total
                    .zip(source.size_in_bytes())
                    .map(|(t, s)| t.saturating_add(s));
            }
        });
        total
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
        if pairs.is_empty() {
            return Err(Error::InvalidPlan(
                "a join needs at least one pair of equal keys".into(),
            ));
        }
        if left.is_changing_table() || matches!(left.as_ref(), LogicalPlan::Upsert { .. }) {
            return Err(Error::InvalidPlan(
                "an upsert table can only be the right side of a join (the table that enriches \
                 a stream); put the stream on the left: FROM stream JOIN table, or \
                 stream.join(&table, ..)"
                    .into(),
            ));
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
        let right_columns: Vec<usize> = (0..right.schema().len())
            .filter(|i| !dropped.contains(i))
            .collect();
        let mut fields: Vec<Field> = left.schema().fields().to_vec();
        for &i in &right_columns {
            let mut field = right.schema().fields()[i].clone();
            if kind == JoinKind::Left {
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
            schema: Schema::new(fields),
        })
    }

    fn visit(&self, f: &mut dyn FnMut(&LogicalPlan)) {
        f(self);
        for input in self.inputs() {
            input.visit(f);
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
                if star == "*" {
                    for (i, f) in in_schema.fields().iter().enumerate() {
                        columns.push(Projection::Scalar(BoundExpr::Column(i)));
                        fields.push(f.clone());
                    }
                    continue;
                }
                let (bound, t) = expr.bind(&in_schema)?;
                columns.push(Projection::Scalar(bound));
                fields.push(Field::new(expr.output_name(), t));
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
            return Err(Error::TypeMismatch(format!(
                "filter needs a boolean condition, `{}` is {t}",
                expr.output_name()
            )));
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
            let (bound, t) = match &replaced {
                Some((i, column, t)) if *i == keys.len() => (column.clone(), t.clone()),
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
