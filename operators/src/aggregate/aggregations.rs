//! Ready-made [`Aggregation`]s: a count, a sum and a maximum per key.

use std::fmt;
use std::marker::PhantomData;

use differential_dataflow::ExchangeData;

use super::Aggregation;

/// Counts the values of each key (with multiplicity); keys with no values are absent.
pub struct Count<V>(PhantomData<fn(&V)>);

impl<V> Count<V> {
    /// A count of values of type `V`.
    pub fn new() -> Self {
        Count(PhantomData)
    }
}

impl<V> Default for Count<V> {
    fn default() -> Self {
        Count::new()
    }
}

impl<V> Clone for Count<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Count<V> {}

impl<V> fmt::Debug for Count<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Count")
    }
}

impl<V: 'static> Aggregation for Count<V> {
    type Input = V;
    type State = i64;
    type Output = i64;

    fn init(&self) -> i64 {
        0
    }
    fn update(&self, state: &mut i64, _input: &V, diff: isize) {
        *state += diff as i64;
    }
    fn merge(&self, into: &mut i64, other: i64) {
        *into += other;
    }
    fn output(&self, state: &i64) -> Option<i64> {
        (*state != 0).then_some(*state)
    }
}

/// Sums the `i64` values of each key (with multiplicity). A key whose values sum to zero is
/// published with a sum of 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum;

impl Aggregation for Sum {
    type Input = i64;
    type State = i64;
    type Output = i64;

    fn init(&self) -> i64 {
        0
    }
    fn update(&self, state: &mut i64, input: &i64, diff: isize) {
        *state += input * diff as i64;
    }
    fn merge(&self, into: &mut i64, other: i64) {
        *into += other;
    }
    fn output(&self, state: &i64) -> Option<i64> {
        Some(*state)
    }
}

/// The greatest value of each key. Later values that are not greater change nothing, so they
/// produce no output updates.
pub struct Max<V>(PhantomData<fn(&V)>);

impl<V> Max<V> {
    /// The maximum of values of type `V`.
    pub fn new() -> Self {
        Max(PhantomData)
    }
}

impl<V> Default for Max<V> {
    fn default() -> Self {
        Max::new()
    }
}

impl<V> Clone for Max<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Max<V> {}

impl<V> fmt::Debug for Max<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Max")
    }
}

impl<V: ExchangeData> Aggregation for Max<V> {
    type Input = V;
    type State = Option<V>;
    type Output = V;

    fn init(&self) -> Option<V> {
        None
    }
    fn update(&self, state: &mut Option<V>, input: &V, _diff: isize) {
        if state.as_ref().is_none_or(|max| input > max) {
            *state = Some(input.clone());
        }
    }
    fn merge(&self, into: &mut Option<V>, other: Option<V>) {
        if other > *into {
            *into = other;
        }
    }
    fn output(&self, state: &Option<V>) -> Option<V> {
        state.clone()
    }
}
