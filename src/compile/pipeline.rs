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
        (node, Pipeline::of(steps))
    }

    /// A pipeline of `steps`, rearranged as Spark's optimizer does (`PushPredicateThroughProject`,
    /// `CollapseProject`) so that fewer rows are built: a filter of columns that projections
    /// below only pass on moves below them, and a projection that only selects columns is
    /// folded into the one right below it.
    fn of(steps: Vec<Step>) -> Pipeline {
        let mut collapsed: Vec<Step> = Vec::with_capacity(steps.len());
        for step in steps {
            let step = match step {
                Step::Filter(predicate) => {
                    let (at, predicate) = filter_position(&collapsed, predicate);
                    collapsed.insert(at, Step::Filter(predicate));
                    continue;
                }
                step => step,
            };
            match (collapsed.last_mut(), step) {
                (
                    Some(Step::Project { columns: below, .. }),
                    Step::Project {
                        columns,
                        generator: None,
                    },
                ) => match folded_into(&columns, below) {
                    Some(folded) => *below = folded,
                    None => collapsed.push(Step::Project {
                        columns,
                        generator: None,
                    }),
                },
                (_, step) => collapsed.push(step),
            }
        }
        Pipeline { steps: collapsed }
    }

    /// This pipeline's steps followed by `above`'s: the run above a watermark that no
    /// aggregation reads, after the run below it.
    pub(crate) fn then(self, above: Pipeline) -> Pipeline {
        Pipeline::of(self.steps.into_iter().chain(above.steps).collect())
    }

    /// A pipeline of these filters, in order.
    pub(crate) fn filters(predicates: Vec<BoundExpr>) -> Pipeline {
        Pipeline {
            steps: predicates.into_iter().map(Step::Filter).collect(),
        }
    }

    /// The predicates of the filters the pipeline starts with: those that read its input's
    /// columns as they come.
    pub(crate) fn leading_filters(&self) -> Vec<&BoundExpr> {
        self.steps
            .iter()
            .map_while(|step| match step {
                Step::Filter(predicate) => Some(predicate),
                Step::Project { .. } => None,
            })
            .collect()
    }

    /// Each step in the order rows go through them, as explain words it: `filter`, or
    /// `project (n columns)` (`explode` when it has a generator).
    pub(crate) fn outline(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|step| match step {
                Step::Filter(_) => "filter".to_string(),
                Step::Project { columns, generator } => {
                    let verb = if generator.is_some() { "explode" } else { "project" };
                    format!("{verb} ({} columns)", columns.len())
                }
            })
            .collect()
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

    /// The pipeline's parts when it ends with one projection that explodes `window(..)` (a
    /// windowed group-by's shape) after steps that make at most one row of each (filters, and
    /// projections without a generator, such as a computed event time): those steps, the
    /// projection's columns and the windows' generator. An aggregation grouped by the window
    /// can then fold each row out of those steps into its windows without building a row per
    /// window.
    pub(crate) fn as_filtered_windows(&self) -> Option<(Pipeline, &[Projection], &BoundExpr)> {
        let (last, before) = self.steps.split_last()?;
        let Step::Project {
            columns,
            generator: Some(windows @ BoundExpr::SlidingWindows(..)),
        } = last
        else {
            return None;
        };
        one_row_each(before).then(|| {
            let before = Pipeline {
                steps: before.to_vec(),
            };
            (before, columns.as_slice(), windows)
        })
    }

    /// The columns of the projection the pipeline ends with, if it ends with one that has no
    /// generator.
    pub(crate) fn last_projection(&self) -> Option<&[Projection]> {
        match self.steps.last()? {
            Step::Project {
                columns,
                generator: None,
            } => Some(columns),
            _ => None,
        }
    }

    /// The pipeline without its last step.
    pub(crate) fn without_last(&self) -> Pipeline {
        let steps = &self.steps[..self.steps.len().saturating_sub(1)];
        Pipeline {
            steps: steps.to_vec(),
        }
    }

    /// The rows that come out of the pipeline for each of `rows`, as one `flat_map`; `rows`
    /// themselves when the pipeline does nothing.
    pub(crate) fn apply(self, rows: Rows<'_>) -> Rows<'_> {
        if self.is_empty() {
            return rows;
        }
        if one_row_each(&self.steps) {
            // No container a row: most pipelines (filters, projections) give at most one.
            return rows.flat_map(move |row| {
                let mut out = None;
                self.run(row, &mut |r| out = Some(r));
                out
            });
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

/// True when no step of `steps` makes more than one row of a row (no projection has a
/// generator).
fn one_row_each(steps: &[Step]) -> bool {
    steps.iter().all(|step| match step {
        Step::Filter(_) => true,
        Step::Project { generator, .. } => generator.is_none(),
    })
}

/// The input column that output column `j` of a projection of `columns` passes on as it is,
/// if it does.
pub(crate) fn passed_on(columns: &[Projection], j: usize) -> Option<usize> {
    match columns.get(j)? {
        Projection::Scalar(BoundExpr::Column(k)) => Some(*k),
        _ => None,
    }
}

/// Where among `steps` a filter that comes after them can run, and its predicate there: below
/// every projection at the end of `steps` that has no generator and passes the predicate's
/// columns on as they are, each such column read from where it came. A filter keeps its
/// place among other filters, so they still run in order.
fn filter_position(steps: &[Step], mut predicate: BoundExpr) -> (usize, BoundExpr) {
    let mut at = steps.len();
    while let Some(Step::Project {
        columns,
        generator: None,
    }) = at.checked_sub(1).map(|i| &steps[i])
    {
        match predicate.over_columns(&|j| passed_on(columns, j)) {
            Some(below) => {
                predicate = below;
                at -= 1;
            }
            None => break,
        }
    }
    (at, predicate)
}

/// `columns` computed straight from the input of the projection `below`, if they only pick
/// its columns or compute from the columns it passes on (as a `SELECT a, b * 2` above computed
/// columns does): a row is then built once. A picked column takes `below`'s expression; an
/// expression reads the input's columns that `below` passed on. A computed column picked twice
/// would be computed twice, so such projections stay apart (as Spark's `CollapseProject`
/// keeps them); what no column picks is not computed at all, as Spark prunes it.
fn folded_into(columns: &[Projection], below: &[Projection]) -> Option<Vec<Projection>> {
    let mut picked = vec![0u32; below.len()];
    let folded = columns
        .iter()
        .map(|column| match column {
            Projection::Scalar(BoundExpr::Column(j)) => {
                *picked.get_mut(*j)? += 1;
                below.get(*j).cloned()
            }
            Projection::Scalar(e) => e.over_columns(&|j| passed_on(below, j)).map(Projection::Scalar),
            Projection::Generated => None,
        })
        .collect::<Option<Vec<_>>>()?;
    computed_once(&picked, below).then_some(folded)
}

/// Whether reading the columns of the projection `below` as often as `reads` says (per column)
/// computes nothing twice: a column read more than once must be a plain column or a literal.
pub(crate) fn computed_once(reads: &[u32], below: &[Projection]) -> bool {
    reads.iter().zip(below).all(|(&times, column)| {
        times <= 1
            || matches!(
                column,
                Projection::Scalar(BoundExpr::Column(_) | BoundExpr::Literal(_))
            )
    })
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
                // Most columns are picked as they are: no call through the evaluator.
                Projection::Scalar(BoundExpr::Column(j)) => row.get(*j).cloned().unwrap_or(Value::Null),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::BinaryOp;
    use crate::row;

    fn column(j: usize) -> Projection {
        Projection::Scalar(BoundExpr::Column(j))
    }

    /// `a + b` over columns `a` and `b`.
    fn sum(a: usize, b: usize) -> Projection {
        Projection::Scalar(BoundExpr::Binary {
            op: BinaryOp::Add,
            left: Box::new(BoundExpr::Column(a)),
            right: Box::new(BoundExpr::Column(b)),
            integer: true,
        })
    }

    fn project(columns: Vec<Projection>) -> Step {
        Step::Project {
            columns,
            generator: None,
        }
    }

    /// What `steps` make of `row`, run one by one, and run collapsed; and how many steps
    /// the collapsed pipeline has.
    fn both_ways(steps: Vec<Step>, row: Row) -> (Vec<Row>, Vec<Row>, usize) {
        let apart = Pipeline { steps: steps.clone() };
        let collapsed = Pipeline::of(steps);
        let run = |pipeline: &Pipeline| {
            let mut out = Vec::new();
            pipeline.run(row.clone(), &mut |r| out.push(r));
            out
        };
        (run(&apart), run(&collapsed), collapsed.steps.len())
    }

    #[test]
    fn a_selection_folds_into_the_projection_below() {
        // Computed columns, then a selection that reorders, drops and repeats plain ones.
        let steps = vec![
            project(vec![column(0), column(1), sum(0, 1)]),
            project(vec![column(2), column(0), column(0)]),
        ];
        let (apart, collapsed, len) = both_ways(steps, row![1, 2]);
        assert_eq!(apart, vec![row![3, 1, 1]]);
        assert_eq!(collapsed, apart);
        assert_eq!(len, 1);

        // A filter of the computed column between keeps them apart.
        let steps = vec![
            project(vec![column(0), sum(0, 1)]),
            Step::Filter(equals(1, 3)),
            project(vec![column(1)]),
        ];
        let (apart, collapsed, len) = both_ways(steps, row![1, 2]);
        assert_eq!(apart, vec![row![3]]);
        assert_eq!((collapsed, len), (apart, 3));
    }

    /// `column = value`.
    fn equals(column: usize, value: i64) -> BoundExpr {
        BoundExpr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(BoundExpr::Column(column)),
            right: Box::new(BoundExpr::Literal(Value::Int(value))),
            integer: true,
        }
    }

    #[test]
    fn a_filter_of_passed_on_columns_runs_before_the_projections() {
        // Computed columns, a filter of a column passed on, a selection: the filter runs first,
        // on the input's column, and one projection builds the rows that pass.
        let steps = vec![
            project(vec![column(1), column(0), sum(0, 1)]),
            Step::Filter(equals(1, 5)),
            project(vec![column(2), column(0)]),
        ];
        let collapsed = Pipeline::of(steps.clone());
        assert!(matches!(
            collapsed.steps.as_slice(),
            [Step::Filter(BoundExpr::Binary { left, .. }), Step::Project { .. }]
                if matches!(**left, BoundExpr::Column(0))
        ));
        for input in [row![5, 2], row![2, 5]] {
            let (apart, collapsed, _) = both_ways(steps.clone(), input);
            assert_eq!(collapsed, apart);
        }
        assert_eq!(both_ways(steps, row![5, 2]).0, vec![row![7, 2]]);

        // A filter of a computed column stays above its projection.
        let steps = vec![project(vec![column(0), sum(0, 1)]), Step::Filter(equals(1, 3))];
        assert!(matches!(
            Pipeline::of(steps.clone()).steps.as_slice(),
            [Step::Project { .. }, Step::Filter(_)]
        ));
        let (apart, collapsed, _) = both_ways(steps, row![1, 2]);
        assert_eq!((apart.len(), collapsed), (1, vec![row![1, 3]]));
    }

    #[test]
    fn a_computation_over_passed_on_columns_folds_into_the_projection_below() {
        // `b + a` over the columns the projection below passes on (swapped), beside a
        // picked computed column: one projection over the input.
        let steps = vec![
            project(vec![column(1), column(0), sum(0, 1)]),
            project(vec![sum(0, 1), column(2)]),
        ];
        let (apart, collapsed, len) = both_ways(steps, row![1, 2]);
        assert_eq!(apart, vec![row![3, 3]]);
        assert_eq!((collapsed, len), (apart, 1));
    }

    #[test]
    fn a_computed_column_picked_twice_or_computed_over_stays_apart() {
        // `a + b` picked twice would be computed twice.
        let twice = vec![project(vec![sum(0, 1)]), project(vec![column(0), column(0)])];
        let (apart, collapsed, len) = both_ways(twice, row![1, 2]);
        assert_eq!(apart, vec![row![3, 3]]);
        assert_eq!((collapsed, len), (apart, 2));
        // A computation over a computed column above stays apart too.
        let over_computed = vec![project(vec![sum(0, 1), column(0)]), project(vec![sum(0, 1)])];
        let (apart, collapsed, len) = both_ways(over_computed, row![1, 2]);
        assert_eq!(apart, vec![row![4]]);
        assert_eq!((collapsed, len), (apart, 2));
    }
}
