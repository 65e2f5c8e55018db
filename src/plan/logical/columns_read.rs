//! Which columns of its sources a plan reads, and the plan with each source told to read only
//! those: Spark's `ColumnPruning` carried down into the scan (a file source's `ReadSchema`).
//! Each join is told the same of its output, so that an arranged join keeps narrow rows.
//!
//! A source keeps its schema and every column keeps its position; a column the plan never
//! reads is null in every row, so a JSON or CSV source skips converting its field. Nothing
//! above the source changes, and no expression that is evaluated reads such a column.

use std::sync::Arc;

use super::{LogicalPlan, Projection, SourceId};
use crate::expr::BoundExpr;

/// One flag per column of a node's output: whether something above reads it.
type Read = Vec<bool>;

/// What a plan reads, worked out from its result down.
#[derive(Default)]
struct Reads {
    /// Each source's columns, each source once, in the order first met.
    sources: Vec<(SourceId, Read)>,
    /// Each join's output columns read above it, by the join node's address. The addresses
    /// are only compared, while the plan they were taken from is borrowed.
    joins: Vec<(*const LogicalPlan, Read)>,
}

/// Adds `wanted` to the flags kept for `at`, or keeps them as the first.
fn add_read<K: PartialEq>(found: &mut Vec<(K, Read)>, at: K, wanted: &[bool]) {
    match found.iter_mut().find(|(seen, _)| *seen == at) {
        Some((_, read)) => read.iter_mut().zip(wanted).for_each(|(r, w)| *r |= *w),
        None => found.push((at, wanted.to_vec())),
    }
}

impl LogicalPlan {
    /// The columns of each source that the plan reads (every column of its result, and all
    /// that its expressions, keys, watermarks and join conditions need), each source once, in
    /// the order first met.
    pub fn source_columns_read(&self) -> Vec<(SourceId, Read)> {
        self.reads().sources
    }

    fn reads(&self) -> Reads {
        let mut found = Reads::default();
        self.mark(&vec![true; self.schema().len()], &mut found);
        found
    }

    /// The plan with each source that can skip columns reading only those the plan reads
    /// ([`Source::reading_only`](crate::connectors::Source::reading_only)), and each join whose
    /// output is not read whole told which of its columns are (`output_read`). A plan where
    /// everything is read comes back shared, unchanged.
    pub fn reading_only_what_it_reads(self: &Arc<Self>) -> Arc<Self> {
        self.with_reads(&self.reads())
    }

    /// The plan with each source of `read` that can skip columns reading only its columns
    /// there, and each join of `read` that is not read whole told so. Nodes above no such
    /// source or join are shared.
    fn with_reads(self: &Arc<Self>, read: &Reads) -> Arc<Self> {
        if let LogicalPlan::Source { id, source, schema } = &**self {
            let pruned = read
                .sources
                .iter()
                .find(|(seen, _)| seen == id)
                .and_then(|(_, columns)| source.reading_only(columns));
            return match pruned {
                Some(source) => Arc::new(LogicalPlan::Source {
                    id: *id,
                    source,
                    schema: schema.clone(),
                }),
                None => self.clone(),
            };
        }
        let mut node = (**self).clone();
        let mut changed = false;
        for input in node.inputs_mut() {
            let pruned = input.with_reads(read);
            changed |= !Arc::ptr_eq(input, &pruned);
            *input = pruned;
        }
        if let LogicalPlan::Join { output_read, .. } = &mut node {
            let at = Arc::as_ptr(self);
            let partly = read
                .joins
                .iter()
                .find(|(seen, _)| *seen == at)
                .map(|(_, columns)| columns)
                .filter(|columns| columns.contains(&false));
            if partly != output_read.as_ref() {
                *output_read = partly.cloned();
                changed = true;
            }
        }
        if changed {
            Arc::new(node)
        } else {
            self.clone()
        }
    }

    /// Adds to `found` the source columns that this node needs for the output columns where
    /// `wanted` holds, and for each join below, the columns of its output read above it.
    fn mark(&self, wanted: &[bool], found: &mut Reads) {
        let width = |input: &LogicalPlan| vec![false; input.schema().len()];
        match self {
            LogicalPlan::Source { id, .. } => add_read(&mut found.sources, *id, wanted),
            LogicalPlan::Project {
                input,
                columns,
                generator,
                ..
            } => {
                let mut read = width(input);
                for (column, _) in columns.iter().zip(wanted).filter(|(_, w)| **w) {
                    if let Projection::Scalar(e) = column {
                        mark_expr(e, &mut read);
                    }
                }
                // The generator decides how many rows there are, read or not.
                if let Some(generator) = generator {
                    mark_expr(generator, &mut read);
                }
                input.mark(&read, found);
            }
            LogicalPlan::Filter { input, predicate, .. } => {
                let mut read = wanted.to_vec();
                mark_expr(predicate, &mut read);
                input.mark(&read, found);
            }
            LogicalPlan::Join {
                left,
                right,
                left_keys,
                right_keys,
                right_columns,
                event_time,
                ..
            } => {
                add_read(&mut found.joins, self as *const LogicalPlan, wanted);
                let left_width = left.schema().len();
                let mut left_read: Read = (0..left_width).map(|c| wanted.get(c) == Some(&true)).collect();
                let mut right_read = width(right);
                for (k, &column) in right_columns.iter().enumerate() {
                    if wanted.get(left_width + k) == Some(&true) {
                        right_read[column] = true;
                    }
                }
                left_keys.iter().for_each(|e| mark_expr(e, &mut left_read));
                right_keys.iter().for_each(|e| mark_expr(e, &mut right_read));
                if let Some(time) = event_time {
                    for (side, read) in [
                        (time.left_watermark, &mut left_read),
                        (time.right_watermark, &mut right_read),
                    ] {
                        if let Some(w) = side {
                            read[w.column] = true;
                        }
                    }
                    if let Some(range) = time.range {
                        left_read[range.left_column] = true;
                        right_read[range.right_column] = true;
                    }
                }
                left.mark(&left_read, found);
                right.mark(&right_read, found);
            }
            LogicalPlan::Aggregate {
                input,
                keys,
                aggregations,
                ..
            } => {
                let mut read = width(input);
                keys.iter().for_each(|e| mark_expr(e, &mut read));
                for aggregation in aggregations {
                    if let Some(argument) = aggregation.accumulator.argument() {
                        mark_expr(argument, &mut read);
                    }
                }
                input.mark(&read, found);
            }
            LogicalPlan::Watermark { input, column, .. } => {
                let mut read = wanted.to_vec();
                read[*column] = true;
                input.mark(&read, found);
            }
            LogicalPlan::Deduplicate { input, keys, .. } => {
                let mut read = wanted.to_vec();
                keys.iter().for_each(|&k| read[k] = true);
                input.mark(&read, found);
            }
            LogicalPlan::Sort { input, keys, .. } => {
                let mut read = wanted.to_vec();
                keys.iter().for_each(|k| mark_expr(&k.key, &mut read));
                input.mark(&read, found);
            }
            LogicalPlan::Limit { input, .. } => input.mark(wanted, found),
            LogicalPlan::Union { inputs, .. } => inputs.iter().for_each(|i| i.mark(wanted, found)),
            // An upsert table keeps whole rows by key, and a user's function sees whole rows:
            // every column is read.
            LogicalPlan::Upsert { input, .. } | LogicalPlan::GroupsWithState { input, .. } => {
                input.mark(&vec![true; input.schema().len()], found)
            }
        }
    }
}

/// Marks in `read` the columns `expr` reads.
fn mark_expr(expr: &BoundExpr, read: &mut [bool]) {
    let read = std::cell::RefCell::new(read);
    expr.over_columns(&|column| {
        if let Some(flag) = read.borrow_mut().get_mut(column) {
            *flag = true;
        }
        Some(column)
    });
}

#[cfg(test)]
mod tests {
    use crate::connectors::memory::MemoryStream;
    use crate::data::{DataType, Field, Schema};
    use crate::session::Session;

    /// The columns of `a` (then of `b`, if read) that `query` reads, by name. `a` is a stream
    /// of `(k, v, s, ts, words)` and `b` of the same types named `(bk, bv, bs, bts, bwords)`,
    /// each under a watermark on its timestamp.
    fn read_by(query: &str) -> Vec<Vec<String>> {
        let spark = Session::builder().get_or_create().expect("session");
        let names = |prefix: &str| -> Vec<String> {
            ["k", "v", "s", "ts", "words"]
                .iter()
                .map(|n| format!("{prefix}{n}"))
                .collect()
        };
        for prefix in ["", "b"] {
            let names = names(prefix);
            let types = [
                DataType::Int64,
                DataType::Int64,
                DataType::String,
                DataType::Timestamp,
                DataType::Array(Box::new(DataType::String)),
            ];
            let schema = Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(n, t)));
            spark
                .read_stream()
                .memory(&MemoryStream::new(schema))
                .with_watermark(&names[3], "10 seconds")
                .expect("watermark")
                .create_or_replace_temp_view(if prefix.is_empty() { "a" } else { "b" });
        }
        let plan = spark.sql(query).expect("plans").plan().clone();
        let sources = plan.sources();
        plan.source_columns_read()
            .into_iter()
            .map(|(id, read)| {
                let (_, source) = sources
                    .iter()
                    .find(|(s, _)| *s == id)
                    .expect("a source of the plan");
                let schema = source.schema();
                schema
                    .fields()
                    .iter()
                    .zip(read)
                    .filter(|(_, r)| *r)
                    .map(|(f, _)| f.name.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_plan_reads_what_its_result_and_its_steps_use() {
        // Worked out by hand from each query; the watermark always reads `ts`.
        let cases: [(&str, &[&[&str]]); 9] = [
            ("SELECT * FROM a", &[&["k", "v", "s", "ts", "words"]]),
            ("SELECT v FROM a WHERE s = 'x'", &[&["v", "s", "ts"]]),
            // A column computed and then dropped reads nothing.
            ("SELECT v FROM (SELECT v, upper(s) AS u FROM a)", &[&["v", "ts"]]),
            ("SELECT k, count(*) FROM a GROUP BY k", &[&["k", "ts"]]),
            (
                "SELECT window.start, max(v) FROM a GROUP BY window(ts, '1 minute')",
                &[&["v", "ts"]],
            ),
            // A generator decides the number of rows even when its column is not kept.
            (
                "SELECT k FROM (SELECT k, explode(words) AS w FROM a)",
                &[&["k", "ts", "words"]],
            ),
            (
                "SELECT v, bs FROM a JOIN b ON k = bk AND ts = bts",
                &[&["k", "v", "ts"], &["bk", "bs", "bts"]],
            ),
            (
                "SELECT bv FROM b WHERE bk > 1 AND bs IS NOT NULL",
                &[&["bk", "bv", "bs", "bts"]],
            ),
            ("SELECT DISTINCT s FROM a", &[&["s", "ts"]]),
        ];
        for (query, expected) in cases {
            let expected: Vec<Vec<String>> = expected
                .iter()
                .map(|names| names.iter().map(|n| n.to_string()).collect())
                .collect();
            assert_eq!(read_by(query), expected, "{query}");
        }
    }
}
