//! `Aggregate`: the per-key accumulator for append-only inputs, differential's `reduce` for
//! inputs that can retract.

use smallvec::SmallVec;
use tidewater_operators::{AggregateAppendOnly, Aggregation};

use super::Rows;
use crate::data::{Row, Value};
use crate::expr::{Accumulator, AggState, BoundExpr};

/// The states of all aggregates of one key.
type States = SmallVec<[AggState; 2]>;

/// The aggregates of a query as one [`Aggregation`] over the evaluated arguments (one value per
/// aggregate, `Null` for `count(*)`).
#[derive(Clone)]
struct RowAggregation {
    accumulators: std::sync::Arc<[Accumulator]>,
}

impl RowAggregation {
    fn fold(&self, states: &mut States, args: &Row, times: isize) {
        for ((acc, state), value) in self.accumulators.iter().zip(states.iter_mut()).zip(args.iter()) {
            acc.update(state, value, times);
        }
    }

    fn results(states: &States) -> Row {
        states.iter().map(Accumulator::finish).collect()
    }
}

impl Aggregation for RowAggregation {
    type Input = Row;
    type State = States;
    type Output = Row;

    fn init(&self) -> States {
        self.accumulators.iter().map(Accumulator::init).collect()
    }

    fn update(&self, state: &mut States, input: &Row, diff: isize) {
        self.fold(state, input, diff)
    }

    fn merge(&self, into: &mut States, other: States) {
        for (state, partial) in into.iter_mut().zip(other) {
            Accumulator::merge(state, partial);
        }
    }

    fn output(&self, state: &States) -> Option<Row> {
        Some(Self::results(state))
    }
}

/// Groups by `keys` and computes `accumulators`; output rows are the keys followed by the
/// aggregate values.
pub(crate) fn aggregate<'s>(
    rows: Rows<'s>,
    keys: Vec<BoundExpr>,
    accumulators: Vec<Accumulator>,
    append_only: bool,
) -> Rows<'s> {
    let aggregation = RowAggregation {
        accumulators: accumulators.into(),
    };
    let arguments: Vec<Option<BoundExpr>> = aggregation
        .accumulators
        .iter()
        .map(|a| a.argument().cloned())
        .collect();
    let keyed = rows.map(move |row| {
        let key: Row = keys.iter().map(|k| k.eval(&row)).collect();
        let args: Row = arguments
            .iter()
            .map(|a| a.as_ref().map_or(Value::Null, |e| e.eval(&row)))
            .collect();
        (key, args)
    });
    let results = if append_only {
        keyed.aggregate_append_only("Aggregate", aggregation)
    } else {
        general_reduce(keyed, aggregation)
    };
    results.map(|(key, values)| key.concat(&values))
}

/// Differential's general `reduce`: recomputes a key's aggregates from its whole (current)
/// input whenever it changes, so it is correct for inputs with retractions.
fn general_reduce<'s>(
    keyed: differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize>,
    aggregation: RowAggregation,
) -> differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize> {
    keyed.reduce_named("Aggregate (general)", move |_key, inputs, output| {
        let mut states = aggregation.init();
        for (args, times) in inputs {
            aggregation.fold(&mut states, args, *times);
        }
        output.push((RowAggregation::results(&states), 1));
    })
}
