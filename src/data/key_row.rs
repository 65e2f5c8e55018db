//! [`KeyRow`]: the values of a group-by key, kept small, for maps that hold one entry per key.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Row, Value};

/// A group-by key: one value inline, more on the heap.
///
/// An aggregation keeps one map entry per key for as long as the key lives, often millions of
/// them. A [`Row`] keeps four values inline, a hundred-odd bytes whatever the key; this keeps
/// the common one-column key at the size of one [`Value`] and a longer key at a pointer's. It
/// hashes, compares, orders and serializes exactly as its values' slice (and so as a `Row`),
/// so a map of them is probed with a borrowed `&[Value]`, and keys route to the same workers
/// as the rows they came from.
#[derive(Clone, Debug)]
pub enum KeyRow {
    /// A key of one value.
    One(Value),
    /// A key of any other number of values.
    Many(Box<[Value]>),
}

impl KeyRow {
    /// The key's values as a row.
    pub fn to_row(&self) -> Row {
        self.iter().cloned().collect()
    }

    /// The key's values as a row, without copying a longer key's values.
    pub fn into_row(self) -> Row {
        match self {
            KeyRow::One(value) => Row::from(vec![value]),
            KeyRow::Many(values) => values.into_vec().into(),
        }
    }
}

impl From<&[Value]> for KeyRow {
    fn from(values: &[Value]) -> Self {
        match values {
            [one] => KeyRow::One(one.clone()),
            many => KeyRow::Many(many.into()),
        }
    }
}

impl From<Row> for KeyRow {
    fn from(row: Row) -> Self {
        if row.len() == 1 {
            row.into_iter()
                .next()
                .map_or_else(|| KeyRow::Many(Box::new([])), KeyRow::One)
        } else {
            KeyRow::Many(row.into_iter().collect())
        }
    }
}

impl Deref for KeyRow {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        match self {
            KeyRow::One(value) => std::slice::from_ref(value),
            KeyRow::Many(values) => values,
        }
    }
}

impl Borrow<[Value]> for KeyRow {
    fn borrow(&self) -> &[Value] {
        self
    }
}

impl PartialEq for KeyRow {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for KeyRow {}

impl PartialOrd for KeyRow {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyRow {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl Hash for KeyRow {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl Serialize for KeyRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for KeyRow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Value>::deserialize(deserializer).map(|values| match <[Value; 1]>::try_from(values) {
            Ok([one]) => KeyRow::One(one),
            Err(many) => KeyRow::Many(many.into_boxed_slice()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        foldhash::fast::FixedState::with_seed(7).hash_one(value)
    }

    #[test]
    fn a_key_row_behaves_as_its_values() {
        let one = vec![Value::str("apple")];
        let two = vec![Value::Int(1), Value::str("b")];
        for values in [one, two, vec![]] {
            let row = Row::from(values.clone());
            let key = KeyRow::from(row.clone());
            assert_eq!(&*key, values.as_slice());
            assert_eq!(key.to_row(), row);
            assert_eq!(hash_of(&key), hash_of(&row), "hashes as the row does");
            assert_eq!(hash_of(&key), hash_of(values.as_slice()), "and as the slice");
            let encoded = bincode::serialize(&key).expect("serializes");
            assert_eq!(
                encoded,
                bincode::serialize(&row).expect("row"),
                "serializes as the row"
            );
            let decoded: KeyRow = bincode::deserialize(&encoded).expect("deserializes");
            assert_eq!(decoded, key);
            assert_eq!(KeyRow::from(values.as_slice()), key);
            assert_eq!(key.clone().into_row(), row);
        }
        let (a, b) = (
            KeyRow::from(&[Value::Int(1)][..]),
            KeyRow::from(&[Value::Int(1), Value::Null][..]),
        );
        assert_eq!(
            a.cmp(&b),
            [Value::Int(1)][..].cmp(&[Value::Int(1), Value::Null][..])
        );
    }

    #[test]
    fn a_one_value_key_is_the_size_of_a_value() {
        assert_eq!(std::mem::size_of::<KeyRow>(), std::mem::size_of::<Value>());
    }
}
