//! The steps that finish a query's result after the output mode has shaped an epoch's rows:
//! its sort, its limit, and the filters and projections above them (see
//! [`LogicalPlan::dataflow_part`]). They run on the worker that writes, on rows the output
//! mode has already sorted, so ties keep that order and the result does not depend on how many
//! workers computed it.

use crate::compile::Pipeline;
use crate::data::Row;
use crate::expr::{compare_rows, SortKey};
use crate::plan::{LogicalPlan, OutputMode};

/// One finishing step.
enum Step {
    /// A stable sort.
    Sort(Vec<SortKey>),
    /// At most `n` rows: of each epoch's result in complete mode; over all epochs in append
    /// mode, where `through` counts the rows let through so far.
    Limit {
        n: u64,
        across_epochs: bool,
        through: u64,
    },
    /// Filters and projections, row by row.
    Rows(Pipeline),
}

/// The finishing steps of a query, lowest first.
pub(in crate::runtime) struct Finish {
    steps: Vec<Step>,
}

impl Finish {
    /// The steps above `plan`'s dataflow part, for a query written in `mode` (see
    /// [`LogicalPlan::dataflow_part_for`]).
    pub(in crate::runtime) fn of(plan: &LogicalPlan, mode: OutputMode) -> Self {
        let dataflow = plan.dataflow_part_for(mode);
        let mut steps = Vec::new();
        let mut node = plan;
        while !std::ptr::eq(node, dataflow) {
            match node {
                LogicalPlan::Sort { input, keys, .. } => {
                    steps.push(Step::Sort(keys.clone()));
                    node = input;
                }
                LogicalPlan::Limit { input, n } => {
                    steps.push(Step::Limit {
                        n: *n as u64,
                        across_epochs: mode == OutputMode::Append,
                        through: 0,
                    });
                    node = input;
                }
                _ => {
                    let (base, pipeline) = Pipeline::peel_down_to(node, Some(dataflow));
                    if std::ptr::eq(base, node) {
                        // Not a finishing step: nothing above a dataflow part is anything else.
                        break;
                    }
                    steps.push(Step::Rows(pipeline));
                    node = base;
                }
            }
        }
        steps.reverse();
        Finish { steps }
    }

    /// True when there is no step: the dataflow's rows are the query's rows.
    pub(in crate::runtime) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs the steps on an epoch's shaped rows.
    pub(in crate::runtime) fn apply(&mut self, mut rows: Vec<Row>) -> Vec<Row> {
        for step in &mut self.steps {
            match step {
                Step::Sort(keys) => rows.sort_by(|a, b| compare_rows(keys, a, b)),
                Step::Limit {
                    n,
                    across_epochs,
                    through,
                } => {
                    let left = n.saturating_sub(if *across_epochs { *through } else { 0 });
                    rows.truncate(usize::try_from(left).unwrap_or(usize::MAX));
                    if *across_epochs {
                        *through += rows.len() as u64;
                    }
                }
                Step::Rows(pipeline) => {
                    let mut out = Vec::with_capacity(rows.len());
                    for row in rows {
                        pipeline.run(row, &mut |r| out.push(r));
                    }
                    rows = out;
                }
            }
        }
        rows
    }

    /// The rows each limit kept over all epochs (append mode), for the commit log.
    pub(in crate::runtime) fn rows_through_limits(&self) -> Vec<u64> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Limit {
                    across_epochs: true,
                    through,
                    ..
                } => Some(*through),
                _ => None,
            })
            .collect()
    }

    /// Takes back the counts [`rows_through_limits`](Self::rows_through_limits) gave, from the
    /// last commit of a restarted query.
    pub(in crate::runtime) fn resume(&mut self, counts: &[u64]) {
        let limits = self.steps.iter_mut().filter_map(|s| match s {
            Step::Limit {
                across_epochs: true,
                through,
                ..
            } => Some(through),
            _ => None,
        });
        for (through, count) in limits.zip(counts) {
            *through = *count;
        }
    }
}
