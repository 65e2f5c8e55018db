//! Compiling a [`LogicalPlan`] into a differential dataflow, once per worker.
//!
//! Every worker calls [`compile`] with the same plan and gets the same dataflow. Each source
//! becomes an `InputSession` (only the leader worker feeds them; see `runtime`); rows read by a
//! single reader are spread round-robin over the workers before any per-row work, and
//! aggregations exchange by key hash, so a group lives on exactly one worker.

mod aggregate;
mod project;

use std::collections::BTreeMap;

use differential_dataflow::collection::{AsCollection, VecCollection};
use differential_dataflow::input::{Input, InputSession};
use timely::dataflow::operators::Exchange;
use timely::dataflow::Scope;

use crate::data::Row;
use crate::plan::{LogicalPlan, SourceId};

/// A collection of rows at epoch timestamps; the diff is the multiplicity change.
pub type Rows<'s> = VecCollection<'s, u64, Row, isize>;

/// The inputs a compiled plan reads, one per source.
pub type Inputs = BTreeMap<SourceId, InputSession<u64, Row, isize>>;

/// Builds `plan` in `scope`, creating an input for each source not yet in `inputs`.
pub fn compile<'s>(plan: &LogicalPlan, scope: Scope<'s, u64>, inputs: &mut Inputs) -> Rows<'s> {
    match plan {
        LogicalPlan::Source { id, .. } => {
            let (session, rows) = scope.new_collection::<Row, isize>();
            inputs.insert(*id, session);
            spread(rows, scope.peers())
        }
        LogicalPlan::Project {
            input,
            columns,
            generator,
            ..
        } => project::project(compile(input, scope, inputs), columns.clone(), generator.clone()),
        LogicalPlan::Filter { input, predicate, .. } => {
            let predicate = predicate.clone();
            compile(input, scope, inputs).filter(move |row| predicate.is_true(row))
        }
        LogicalPlan::Aggregate {
            input,
            keys,
            aggregations,
            ..
        } => aggregate::aggregate(
            compile(input, scope, inputs),
            keys.clone(),
            aggregations.iter().map(|a| a.accumulator.clone()).collect(),
            input.is_append_only(),
        ),
    }
}

/// Spreads rows fed at one worker round-robin over all workers, so that parsing, splitting and
/// pre-aggregation run in parallel. Free with one worker (no exchange is built).
fn spread(rows: Rows<'_>, peers: usize) -> Rows<'_> {
    if peers <= 1 {
        return rows;
    }
    let mut next = 0u64;
    rows.inner
        .exchange(move |_| {
            next = next.wrapping_add(1);
            next
        })
        .as_collection()
}
