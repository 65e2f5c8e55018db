//! A text description of the dataflow a plan compiles to (for `explain`).

use crate::plan::LogicalPlan;

/// Describes, source first, the operators every worker runs for `plan`, given the session's
/// broadcast threshold (see [`Compiled::broadcast_threshold`](super::Compiled)).
pub fn describe(plan: &LogicalPlan, broadcast_threshold: Option<u64>) -> String {
    let mut lines = Vec::new();
    walk(plan, broadcast_threshold, &mut lines);
    lines
        .push("exchange: every output change to worker 0 -> probe -> sink (once per epoch, in order)".into());
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{:>2}. {l}\n", i + 1))
        .collect()
}

fn walk(plan: &LogicalPlan, threshold: Option<u64>, lines: &mut Vec<String>) {
    for input in plan.inputs() {
        walk(input, threshold, lines);
    }
    match plan {
        LogicalPlan::Source { source, .. } if source.local_rows().is_some() => {
            lines.push(format!(
                "input (each epoch's rows dealt out by offset by worker 0, one share per worker of \
                 its process): {}",
                source.description()
            ));
            lines.push(
                "read: each worker copies its share from the source (a fused table-join \
                 aggregation reads it in place)"
                    .into(),
            );
        }
        LogicalPlan::Source { source, .. } => match source.partition_reader() {
            None => {
                lines.push(format!(
                    "input (fed by worker 0 each epoch): {}",
                    source.description()
                ));
                lines.push("exchange: rows round-robin over all workers".into());
            }
            Some(_) => {
                lines.push(format!(
                    "input (new files listed by worker 0 each epoch): {}",
                    source.description()
                ));
                lines.push(
                    "exchange: files by path hash; flat_map: read and decode each file where it lands".into(),
                );
                lines.push(
                    "  (row counts, malformed records and failures go to worker 0 alongside the output)"
                        .into(),
                );
            }
        },
        LogicalPlan::Project { exprs, generator, .. } => {
            let names: Vec<String> = exprs.iter().map(|e| e.sql_text()).collect();
            let op = if generator.is_some() {
                "flat_map (explode)"
            } else {
                "map"
            };
            lines.push(format!("{op}: project [{}]", names.join(", ")));
        }
        LogicalPlan::Filter { expr, .. } => lines.push(format!("filter: {}", expr.output_name())),
        LogicalPlan::Watermark { column_name, .. } => lines.push(format!(
            "watermark on {column_name}: each worker's greatest event time per epoch, broadcast; \
             an aggregation above drops rows at or below the watermark"
        )),
        LogicalPlan::Upsert { .. } => {
            lines.push("map: number each row in the source's order (where it enters)".into());
            lines.push(
                "exchange: upserts by primary key hash; upsert: keep the latest row per key (the \
                 row read last wins), emit -old +new when it changes"
                    .into(),
            );
        }
        LogicalPlan::Join {
            kind,
            condition,
            right,
            ..
        } => {
            if right.is_static() {
                lines.push(format!(
                    "lookup join on {condition} with a static table: each stream row is probed \
                     against the table as of its epoch and dropped (no stream state)"
                ));
                let size = right
                    .static_size_in_bytes()
                    .map_or("of unknown size".to_string(), |s| format!("{s} bytes"));
                lines.push(if super::broadcasts(right, threshold) {
                    format!(
                        "  (the table, {size}, is within spark.sql.autoBroadcastJoinThreshold: under \
                         an aggregation every worker holds it whole, reading its files itself (other \
                         tables are broadcast), and probes its own rows inside the aggregation's \
                         fold, no stream row exchanged; otherwise both inputs are exchanged by key \
                         hash)"
                    )
                } else {
                    format!(
                        "  (the table, {size}, is not within spark.sql.autoBroadcastJoinThreshold: \
                         both inputs are exchanged by key hash)"
                    )
                });
            } else {
                lines.push(format!(
                    "exchange both inputs by key hash; arrange; join on {condition}"
                ));
            }
            if right.is_changing_table() {
                lines.push(
                    "  (the stream side stays arranged: a table change corrects earlier results)".into(),
                );
            }
            if *kind == crate::plan::JoinKind::Left {
                lines.push(
                    "left rows without a match: antijoin with the right keys, padded with nulls".into(),
                );
            }
        }
        LogicalPlan::Aggregate {
            input,
            key_exprs,
            aggregations,
            ..
        } => {
            let keys: Vec<String> = key_exprs.iter().map(|e| e.sql_text()).collect();
            let aggs: Vec<String> = aggregations.iter().map(|a| a.expr.sql_text()).collect();
            lines.push(format!(
                "map: key [{}], arguments of [{}]",
                keys.join(", "),
                aggs.join(", ")
            ));
            if input.is_append_only() {
                lines.push("aggregate (append-only accumulator): fold each worker's epoch locally".into());
                lines.push("exchange: partial states by key hash".into());
                lines.push("merge partials into one state per key; emit -old/+new for changed keys".into());
            } else {
                lines.push("exchange: rows by key hash; arrange; reduce (differential, general)".into());
            }
        }
    }
}
