//! Row pipelines: a run of `Filter` and `Project` nodes applied to one row at a time, compiled
//! as a single `flat_map` (or fused into an aggregation's local fold) instead of one dataflow
//! stage per node, so rows are not copied from stage to stage.

use smol_str::SmolStr;

use super::Rows;
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::{LogicalPlan, Projection};

/// One per-row step.
#[derive(Clone, Debug)]
enum Step {
    Filter(BoundExpr),
    Project {
        columns: Vec<Projection>,
        generator: Option<BoundExpr>,
    },
}

/// Per-row steps, innermost (first applied) first.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// Splits `plan` into the node below its topmost run of filters and projections, and the
    /// pipeline of that run (empty if `plan` is neither).
    pub(crate) fn peel(plan: &LogicalPlan) -> (&LogicalPlan, Pipeline) {
        Self::peel_down_to(plan, None)
    }

    /// As [`peel`](Self::peel), stopping at `stop` too (when the run reaches it): the steps
    /// above a plan's dataflow part that run after the output mode.
    pub(crate) fn peel_down_to<'p>(
        plan: &'p LogicalPlan,
        stop: Option<&LogicalPlan>,
    ) -> (&'p LogicalPlan, Pipeline) {
        let mut steps = Vec::new();
        let mut node = plan;
        loop {
            if stop.is_some_and(|stop| std::ptr::eq(node, stop)) {
                break;
            }
            match node {
                LogicalPlan::Filter { input, predicate, .. } => {
                    steps.push(Step::Filter(predicate.clone()));
                    node = input;
                }
                LogicalPlan::Project {
                    input,
                    columns,
                    generator,
                    ..
                } => {
                    // A projection that only names its input's columns again (`count(*) AS
                    // count` above an aggregation) leaves every row as it is: no step, so no
                    // row is rebuilt for it.
                    if generator.is_some() || !is_identity(columns, input.schema().len()) {
                        steps.push(Step::Project {
                            columns: columns.clone(),
                            generator: generator.clone(),
                        });
                    }
                    node = input;
                }
                _ => break,
            }
        }
        steps.reverse();
        (node, Pipeline { steps })
    }

    /// True when the pipeline does nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// True when every step only filters: rows keep their order and stay distinct.
    pub(crate) fn only_filters(&self) -> bool {
        self.steps.iter().all(|step| matches!(step, Step::Filter(_)))
    }

    /// The `split(..)` when the pipeline is exactly `explode(split(..))` and nothing else (one
    /// projection whose only column is the exploded piece): the word count's shape, which an
    /// aggregation can fold without building a row per piece.
    pub(crate) fn as_explode_split(&self) -> Option<&BoundExpr> {
        match self.steps.as_slice() {
            [Step::Project {
                columns,
                generator: Some(split @ BoundExpr::Split(..)),
            }] if matches!(columns.as_slice(), [Projection::Generated]) => Some(split),
            _ => None,
        }
    }

    /// The pipeline's parts when it is filters followed by one projection that explodes
    /// `window(..)` (a windowed group-by's shape): the filters' predicates, the projection's
    /// columns and the windows' generator. An aggregation grouped by the window can then fold
    /// each input row into its windows without building a row per window.
    pub(crate) fn as_filtered_windows(&self) -> Option<(Vec<&BoundExpr>, &[Projection], &BoundExpr)> {
        let (last, filters) = self.steps.split_last()?;
        let Step::Project {
            columns,
            generator: Some(windows @ BoundExpr::SlidingWindows(..)),
        } = last
        else {
            return None;
        };
        let predicates = filters
            .iter()
            .map(|step| match step {
                Step::Filter(predicate) => Some(predicate),
                Step::Project { .. } => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((predicates, columns, windows))
    }

    /// The rows that come out of the pipeline for each of `rows`, as one `flat_map`; `rows`
    /// themselves when the pipeline does nothing.
    pub(crate) fn apply(self, rows: Rows<'_>) -> Rows<'_> {
        if self.is_empty() {
            return rows;
        }
        rows.flat_map(move |row| {
            let mut out = Vec::new();
            self.run(row, &mut |r| out.push(r));
            out
        })
    }

    /// Runs `row` through every step, calling `emit` for each row that comes out.
    pub(crate) fn run(&self, row: Row, emit: &mut dyn FnMut(Row)) {
        self.run_from(0, row, emit)
    }

    fn run_from(&self, step: usize, row: Row, emit: &mut dyn FnMut(Row)) {
        match self.steps.get(step) {
            None => emit(row),
            Some(Step::Filter(predicate)) => {
                if predicate.is_true(&row) {
                    self.run_from(step + 1, row, emit)
                }
            }
            Some(Step::Project { columns, generator }) => {
                project_row(&row, columns, generator.as_ref(), &mut |projected| {
                    self.run_from(step + 1, projected, emit)
                })
            }
        }
    }
}

/// True when `columns` are the columns of an input of `width` columns, in order.
fn is_identity(columns: &[Projection], width: usize) -> bool {
    columns.len() == width
        && columns
            .iter()
            .enumerate()
            .all(|(i, c)| matches!(c, Projection::Scalar(BoundExpr::Column(j)) if *j == i))
}

/// Computes a projection of `row`. With a generator, each element of its array gives one
/// output row; `explode(split(..))` walks the pieces without building the array. Spark:
/// exploding a null or empty array yields no rows.
fn project_row(row: &Row, columns: &[Projection], generator: Option<&BoundExpr>, emit: &mut dyn FnMut(Row)) {
    let build = |element: Option<Value>| -> Row {
        let mut projected = Row::with_capacity(columns.len());
        for c in columns {
            projected.push(match c {
                Projection::Scalar(e) => e.eval(row),
                Projection::Generated => element.clone().unwrap_or(Value::Null),
            });
        }
        projected
    };
    match generator {
        None => emit(build(None)),
        Some(split @ BoundExpr::Split(..)) => {
            split.for_each_split_piece(row, |piece| emit(build(Some(Value::Str(SmolStr::new(piece))))))
        }
        Some(windows @ BoundExpr::SlidingWindows(..)) => {
            windows.for_each_window(row, |window| emit(build(Some(window))))
        }
        Some(other) => {
            if let Value::Array(items) = other.eval(row) {
                for item in items.iter() {
                    emit(build(Some(item.clone())));
                }
            }
        }
    }
}
