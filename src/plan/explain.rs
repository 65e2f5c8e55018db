//! The text form of a plan (`explain()`), one node per line, children indented, each
//! aggregation noted with how it runs where the caller knows (the physical plan does).

use std::fmt;

use super::LogicalPlan;
use crate::expr::Expr;

fn names(exprs: &[Expr]) -> String {
    exprs.iter().map(Expr::sql_text).collect::<Vec<_>>().join(", ")
}

/// How an aggregation runs, by its node: the note `explain` prints after it.
type Note<'a> = &'a dyn Fn(&LogicalPlan) -> Option<&'static str>;

/// A plan as text with the notes of [`LogicalPlan::display_with`].
struct Noted<'a> {
    plan: &'a LogicalPlan,
    note: Note<'a>,
}

impl fmt::Display for Noted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.plan.fmt_indented(f, 0, self.note)
    }
}

impl LogicalPlan {
    /// The plan as text, each aggregation followed by how it runs as `note` gives it (e.g.
    /// `(append-only accumulator)`). The plan does not choose its operators, so the note comes
    /// from the one place that does, and the text says what runs.
    pub fn display_with<'a>(
        &'a self,
        note: &'a dyn Fn(&LogicalPlan) -> Option<&'static str>,
    ) -> impl fmt::Display + 'a {
        Noted { plan: self, note }
    }

    fn fmt_indented(&self, f: &mut fmt::Formatter<'_>, depth: usize, note: Note<'_>) -> fmt::Result {
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
                ..
            } => {
                let aggs: Vec<Expr> = aggregations.iter().map(|a| a.expr.clone()).collect();
                write!(
                    f,
                    "{pad}{prefix}Aggregate keys=[{}] aggs=[{}]",
                    names(key_exprs),
                    names(&aggs)
                )?;
                match note(self) {
                    Some(how) => writeln!(f, " ({how})")?,
                    None => writeln!(f)?,
                }
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
            LogicalPlan::Deduplicate {
                input,
                keys,
                within_watermark,
            } => {
                let schema = input.schema();
                let names: Vec<&str> = keys
                    .iter()
                    .filter_map(|&i| schema.fields().get(i).map(|f| f.name.as_str()))
                    .collect();
                let name = if *within_watermark {
                    "DeduplicateWithinWatermark"
                } else {
                    "Deduplicate"
                };
                writeln!(f, "{pad}{prefix}{name} [{}]", names.join(", "))?
            }
            LogicalPlan::GroupsWithState {
                input,
                keys,
                timeout,
                mode,
                function,
                ..
            } => {
                let name = match function.1 {
                    crate::plan::StateApi::FlatMapGroupsWithState => "FlatMapGroupsWithState",
                    crate::plan::StateApi::TransformWithState { .. } => "TransformWithState",
                };
                let schema = input.schema();
                let names: Vec<&str> = keys
                    .iter()
                    .filter_map(|&i| schema.fields().get(i).map(|f| f.name.as_str()))
                    .collect();
                writeln!(
                    f,
                    "{pad}{prefix}{name} [{}], {mode:?}, timeout {timeout:?}",
                    names.join(", ")
                )?
            }
            LogicalPlan::Sort { order, .. } => {
                let keys: Vec<String> = order.iter().map(|o| o.sql_text()).collect();
                writeln!(f, "{pad}{prefix}Sort [{}]", keys.join(", "))?
            }
            LogicalPlan::Limit { n, .. } => writeln!(f, "{pad}{prefix}Limit {n}")?,
            LogicalPlan::Union { schema, .. } => {
                writeln!(f, "{pad}{prefix}Union [{}]", schema.names().join(", "))?
            }
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
            input.fmt_indented(f, depth + 1, note)?;
        }
        Ok(())
    }
}

/// The plan as text, without notes on how its aggregations run (see
/// [`LogicalPlan::display_with`]).
impl fmt::Display for LogicalPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_indented(f, 0, &|_| None)
    }
}
