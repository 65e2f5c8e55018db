//! [`Row`]: the record type of every dataflow.

use std::borrow::Borrow;
use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::value::Value;

/// Inline capacity of a row: rows this wide or narrower need no heap allocation.
const INLINE: usize = 4;

/// An ordered tuple of values, matching some [`Schema`](super::Schema) by position.
///
/// Rows of up to four values live inline, so the common shapes (a word, a key and a count)
/// cost no allocation. Serialised with serde (bincode between processes).
#[derive(Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Row(SmallVec<[Value; INLINE]>);

/// Rows are copied wherever a source keeps what it hands over (a `MemoryStream` replays its
/// rows to every query): one allocation check and a plain loop, not `SmallVec`'s general
/// `extend` (which re-checks its capacity and spill state per value).
impl Clone for Row {
    fn clone(&self) -> Self {
        let mut values = SmallVec::with_capacity(self.0.len());
        for value in &self.0 {
            values.push(value.clone());
        }
        Row(values)
    }
}

impl Row {
    /// An empty row.
    pub fn new() -> Self {
        Row(SmallVec::new())
    }

    /// An empty row with room for `n` values.
    pub fn with_capacity(n: usize) -> Self {
        Row(SmallVec::with_capacity(n))
    }

    /// The values as a slice.
    pub fn values(&self) -> &[Value] {
        &self.0
    }

    /// Appends one value.
    pub fn push(&mut self, value: Value) {
        self.0.push(value)
    }

    /// Inserts `value` at position `index`, shifting the values after it.
    pub fn insert(&mut self, index: usize, value: Value) {
        self.0.insert(index, value)
    }

    /// A row of these values followed by those of `other`.
    pub fn concat(&self, other: &Row) -> Row {
        let mut row = Row::with_capacity(self.len() + other.len());
        row.0.extend(self.0.iter().cloned());
        row.0.extend(other.0.iter().cloned());
        row
    }
}

impl Deref for Row {
    type Target = [Value];
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

/// Lets a map keyed by rows be probed with a slice of values (a key borrowed from a wider row)
/// without building a row. Consistent with `Hash` and `Eq`, which are those of the slice.
impl Borrow<[Value]> for Row {
    fn borrow(&self) -> &[Value] {
        &self.0
    }
}

impl DerefMut for Row {
    fn deref_mut(&mut self) -> &mut [Value] {
        &mut self.0
    }
}

impl FromIterator<Value> for Row {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> Self {
        Row(iter.into_iter().collect())
    }
}

/// A row of a few values, without the vector `vec![..]` would allocate and free.
impl<const N: usize> From<[Value; N]> for Row {
    fn from(values: [Value; N]) -> Self {
        // Pushed one by one into room made once: collecting the array's iterator costs more.
        let mut row = SmallVec::with_capacity(N);
        for value in values {
            row.push(value);
        }
        Row(row)
    }
}

impl From<Vec<Value>> for Row {
    fn from(values: Vec<Value>) -> Self {
        Row(SmallVec::from_vec(values))
    }
}

impl IntoIterator for Row {
    type Item = Value;
    type IntoIter = smallvec::IntoIter<[Value; INLINE]>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Builds a [`Row`] from values that convert into [`Value`]: `row!["a", 1]`.
#[macro_export]
macro_rules! row {
    ($($v:expr),* $(,)?) => {
        $crate::data::Row::from(vec![$($crate::data::Value::from($v)),*])
    };
}
