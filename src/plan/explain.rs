//! The text form of a plan (`explain()`), one node per line, children indented.

use std::fmt;

use super::LogicalPlan;
use crate::expr::Expr;

fn names(exprs: &[Expr]) -> String {
    exprs.iter().map(Expr::sql_text).collect::<Vec<_>>().join(", ")
}

impl LogicalPlan {
    fn fmt_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
        let pad = "   ".repeat(depth);
        let prefix = if depth == 0 { "" } else { "+- " };
        match self {
            LogicalPlan::Source { source, schema, .. } => writeln!(
                f,
                "{pad}{prefix}StreamingSource {} [{}]",
                source.description(),
                schema.names().join(", ")
            )?,
            LogicalPlan::Project { exprs, generator, .. } => {
                let kind = if generator.is_some() {
                    "Generate+Project"
                } else {
                    "Project"
                };
                writeln!(f, "{pad}{prefix}{kind} [{}]", names(exprs))?
            }
            LogicalPlan::Filter { expr, .. } => writeln!(f, "{pad}{prefix}Filter {}", expr.output_name())?,
            LogicalPlan::Join { kind, condition, .. } => {
                writeln!(f, "{pad}{prefix}Join {kind:?} on {condition}")?
            }
            LogicalPlan::Aggregate {
                key_exprs,
                aggregations,
                input,
                ..
            } => {
                let aggs: Vec<Expr> = aggregations.iter().map(|a| a.expr.clone()).collect();
                let path = if input.is_append_only() {
                    "append-only accumulator"
                } else {
                    "differential reduce"
                };
                writeln!(
                    f,
                    "{pad}{prefix}Aggregate keys=[{}] aggs=[{}] ({path})",
                    names(key_exprs),
                    names(&aggs)
                )?
            }
            LogicalPlan::Watermark {
                column_name,
                delay_micros,
                ..
            } => writeln!(
                f,
                "{pad}{prefix}EventTimeWatermark {column_name}, delay {} ms",
                delay_micros / 1000
            )?,
            LogicalPlan::Upsert { keys, schema, .. } => {
                let names: Vec<&str> = keys
                    .iter()
                    .filter_map(|&i| schema.fields().get(i).map(|f| f.name.as_str()))
                    .collect();
                writeln!(
                    f,
                    "{pad}{prefix}UpsertTable primary key [{}] (latest row per key)",
                    names.join(", ")
                )?
            }
        }
        for input in self.inputs() {
            input.fmt_indented(f, depth + 1)?;
        }
        Ok(())
    }
}

impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_indented(f, 0)
    }
}
