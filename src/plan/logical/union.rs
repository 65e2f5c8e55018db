//! [`LogicalPlan::union`] and [`LogicalPlan::union_by_name`]: the rows of several inputs in
//! one stream, as Spark's `union` (SQL's `UNION ALL`) and `unionByName`.

use std::sync::Arc;

use super::finish::refuse_finished;
use super::LogicalPlan;
use crate::data::{Field, Schema, Value};
use crate::error::{Error, Result};
use crate::expr::{col, Expr};

impl LogicalPlan {
    /// `left.union(right)`: every row of both, columns matched by position as in Spark (the
    /// names are the left side's). Columns of different types take their common type (a
    /// BIGINT and a DOUBLE give a DOUBLE), each side cast where it differs; types without one
    /// are refused. The inputs may not carry a watermark: a stream has one event time, so
    /// declare it on the union.
    pub fn union(left: Arc<LogicalPlan>, right: Arc<LogicalPlan>) -> Result<Self> {
        for side in [&left, &right] {
            refuse_finished(side, "a union")?;
            if side.watermark_delay().is_some() {
                return Err(Error::Unsupported(
                    "a union of streams that carry watermarks: a query here has one event time; \
                     declare the watermark on the union instead (with_watermark after union, or \
                     WATERMARK on one CREATE STREAM read through a view)"
                        .into(),
                ));
            }
        }
        let (l, r) = (left.schema(), right.schema());
        if l.len() != r.len() {
            return Err(Error::InvalidPlan(format!(
                "a union needs inputs with as many columns: the first has {} ({}), the second {} \
                 ({}); union_by_name matches columns by name",
                l.len(),
                l.names().join(", "),
                r.len(),
                r.names().join(", ")
            )));
        }
        let mut fields = Vec::with_capacity(l.len());
        for (i, (a, b)) in l.fields().iter().zip(r.fields()).enumerate() {
            let common = a.data_type.common(&b.data_type).ok_or_else(|| {
                Error::TypeMismatch(format!(
                    "column {} of a union is {} in the first input (`{}`) and {} in the second \
                     (`{}`), which have no common type",
                    i + 1,
                    a.data_type,
                    a.name,
                    b.data_type,
                    b.name
                ))
            })?;
            let mut field = Field::new(a.name.clone(), common);
            field.nullable = a.nullable || b.nullable;
            fields.push(field);
        }
        let schema = Schema::new(fields);
        let left = cast_to(left, &schema)?;
        let right = cast_to(right, &schema)?;
        let mut inputs = Vec::new();
        for side in [left, right] {
            match side.as_ref() {
                // A union of unions is one union of all their inputs.
                LogicalPlan::Union { inputs: inner, .. } => inputs.extend(inner.iter().cloned()),
                _ => inputs.push(side),
            }
        }
        Ok(LogicalPlan::Union { inputs, schema })
    }

    /// `left.union_by_name(right)`: as [`union`](Self::union), the right side's columns
    /// matched to the left's by name (ignoring case). With `allow_missing`, a column only one
    /// side has is null on the other, and the right side's extra columns come last (Spark's
    /// `allowMissingColumns`); without it, both sides must have the same names.
    pub fn union_by_name(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        allow_missing: bool,
    ) -> Result<Self> {
        let (l, r) = (left.schema().clone(), right.schema().clone());
        let missing = |from: &Schema, name: &str| from.index_of(name).is_none();
        let extra: Vec<&Field> = r.fields().iter().filter(|f| missing(&l, &f.name)).collect();
        let absent: Vec<&Field> = l.fields().iter().filter(|f| missing(&r, &f.name)).collect();
        if !allow_missing && (!extra.is_empty() || !absent.is_empty()) {
            let name = absent.first().or(extra.first()).map_or("", |f| f.name.as_str());
            return Err(Error::UnresolvedColumn {
                name: name.to_string(),
                available: if absent.is_empty() { l.names() } else { r.names() }.join(", "),
            });
        }
        // Each side gets every column of the output, in its order, null where it has none.
        let null_of = |f: &Field| {
            Expr::Literal(Value::Null)
                .cast(f.data_type.clone())
                .alias(f.name.clone())
        };
        let mut left_columns: Vec<Expr> = l.names().iter().map(|n| col(n)).collect();
        left_columns.extend(extra.iter().map(|f| null_of(f)));
        let mut right_columns = Vec::new();
        for f in l.fields() {
            right_columns.push(match r.index_of(&f.name) {
                Some(i) => col(&r.fields()[i].name).alias(f.name.clone()),
                None => null_of(f),
            });
        }
        right_columns.extend(extra.iter().map(|f| col(&f.name)));
        let left = if extra.is_empty() {
            left
        } else {
            Arc::new(LogicalPlan::project(left, left_columns)?)
        };
        let right = Arc::new(LogicalPlan::project(right, right_columns)?);
        LogicalPlan::union(left, right)
    }
}

/// `plan` with each column cast to the type `schema` gives it, where they differ.
fn cast_to(plan: Arc<LogicalPlan>, schema: &Schema) -> Result<Arc<LogicalPlan>> {
    let fields = plan.schema().fields();
    if fields
        .iter()
        .zip(schema.fields())
        .all(|(a, b)| a.data_type == b.data_type)
    {
        return Ok(plan);
    }
    let columns = fields
        .iter()
        .zip(schema.fields())
        .map(|(a, b)| {
            if a.data_type == b.data_type {
                col(&a.name)
            } else {
                col(&a.name).cast(b.data_type.clone()).alias(a.name.clone())
            }
        })
        .collect();
    Ok(Arc::new(LogicalPlan::project(plan, columns)?))
}
