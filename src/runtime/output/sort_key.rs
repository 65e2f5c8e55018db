//! Sorting output rows by their leading columns as integers first.
//!
//! Every epoch's rows are sorted so that the output does not depend on the number of workers.
//! A comparison of two rows walks their values through [`Value`]'s general order; a query
//! that writes every input row (a filter, a projection) spends a large share of its run there.
//! Here each row's leading columns are first encoded as integers that order as the values do,
//! so most comparisons are of integers, and the rows' own order decides only the ties.
//!
//! A column is encoded while its values are all of one exactly encoded kind (integers,
//! timestamps, dates, booleans, decimals of one scale that fit 64 bits, and nulls): two equal
//! words then mean two equal values, and the next column's word may decide. A text column's
//! first eight bytes end the key, since two texts with one prefix may still differ. A double
//! ends the key before it; any value that cannot be encoded as its column's first (a decimal
//! of another scale or beyond 64 bits, a value of another kind) leaves the rows to the general
//! order alone.

use crate::data::{text_prefix, Row, Value};

/// How many leading columns a key holds.
const WORDS: usize = 3;

/// The kind of a column's non-null values, which decides how they are encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Int,
    Timestamp,
    Date,
    Bool,
    /// Decimals of this scale, by their unscaled integer.
    Decimal(u8),
    /// Every value is null.
    Null,
    /// Texts, by their first eight bytes: the key's last word.
    Text,
}

impl Kind {
    /// The kind of `value`, if its column can be encoded.
    fn of(value: &Value) -> Option<Kind> {
        Some(match value {
            Value::Int(_) => Kind::Int,
            Value::Timestamp(_) => Kind::Timestamp,
            Value::Date(_) => Kind::Date,
            Value::Bool(_) => Kind::Bool,
            Value::Decimal(d) => Kind::Decimal(d.scale()),
            Value::Null => Kind::Null,
            Value::Str(_) => Kind::Text,
            _ => return None,
        })
    }

    /// `value` as a word that orders as the values of this kind (and nulls, first) do; `None`
    /// if it is not of this kind. Distinct values of an exact kind have distinct words.
    fn encode(self, value: &Value) -> Option<u64> {
        const SIGN: u64 = 1 << 63;
        Some(match (self, value) {
            (_, Value::Null) => 0,
            // `i64::MIN` would be 0, a null's word: such a column keeps the general order.
            (Kind::Int, Value::Int(i)) | (Kind::Timestamp, Value::Timestamp(i)) if *i != i64::MIN => {
                *i as u64 ^ SIGN
            }
            (Kind::Date, Value::Date(d)) => (i64::from(*d) - i64::from(i32::MIN) + 1) as u64,
            (Kind::Bool, Value::Bool(b)) => 1 + u64::from(*b),
            // At one scale, decimals order (and are equal) as their unscaled integers do.
            (Kind::Decimal(scale), Value::Decimal(d)) if d.scale() == scale => {
                let unscaled = i64::try_from(d.unscaled()).ok().filter(|u| *u != i64::MIN)?;
                unscaled as u64 ^ SIGN
            }
            (Kind::Text, Value::Str(s)) => text_prefix(s),
            _ => return None,
        })
    }
}

/// The kinds of the key's columns, from the first non-null value of each leading column;
/// empty if the first column cannot be encoded.
fn kinds<'a>(n: usize, row: &impl Fn(usize) -> &'a Row) -> Vec<Kind> {
    let width = if n == 0 { 0 } else { row(0).len() };
    let mut kinds = Vec::with_capacity(WORDS);
    for column in 0..width.min(WORDS) {
        let first = (0..n).map(|i| &row(i)[column]).find(|v| !v.is_null());
        let Some(kind) = first.map_or(Some(Kind::Null), Kind::of) else {
            break;
        };
        kinds.push(kind);
        if kind == Kind::Text {
            break;
        }
    }
    kinds
}

/// The indices of `n` rows (`row(i)` is the `i`th) in the order that sorts the rows.
pub(super) fn sorted_order<'a>(n: usize, row: impl Fn(usize) -> &'a Row) -> Vec<u32> {
    let by_rows = |a: u32, b: u32| row(a as usize).cmp(row(b as usize));
    let kinds = kinds(n, &row);
    let keys: Option<Vec<([u64; WORDS], u32)>> = if kinds.is_empty() {
        None
    } else {
        (0..n)
            .map(|i| {
                let values = row(i);
                let mut key = [0; WORDS];
                for (column, kind) in kinds.iter().enumerate() {
                    key[column] = kind.encode(values.get(column)?)?;
                }
                Some((key, i as u32))
            })
            .collect()
    };
    match keys {
        Some(mut keys) => {
            keys.sort_unstable_by(|(key_a, a), (key_b, b)| key_a.cmp(key_b).then_with(|| by_rows(*a, *b)));
            keys.into_iter().map(|(_, i)| i).collect()
        }
        None => {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_unstable_by(|&a, &b| by_rows(a, b));
            order
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Decimal;

    /// The order the rows' own comparison gives, for checking.
    fn by_rows(rows: &[Row]) -> Vec<Row> {
        let mut sorted = rows.to_vec();
        sorted.sort();
        sorted
    }

    fn by_keys(rows: &[Row]) -> Vec<Row> {
        sorted_order(rows.len(), |i| &rows[i])
            .into_iter()
            .map(|i| rows[i as usize].clone())
            .collect()
    }

    /// A small random generator, so the test needs no seed file.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    fn value(kind: u64, r: &mut Lcg) -> Value {
        if r.next(6) == 0 {
            return Value::Null;
        }
        let pick = r.next(5) as usize;
        let small = pick as i64 - 2;
        match kind {
            0 => Value::Int([i64::MIN, i64::MAX, -1, 0, 1][pick].wrapping_add(r.next(2) as i64)),
            1 => Value::Timestamp(small * 1_000_000),
            2 => Value::Date([i32::MIN, -1, 0, 1, i32::MAX][pick]),
            3 => Value::Bool(small > 0),
            4 => Value::str(["", "a", "abcdefgh", "abcdefghX", "abcdefghA", "\0"][r.next(6) as usize]),
            5 => Value::Float(small as f64 / 2.0),
            6 => Value::Decimal(Decimal::new(i128::from(small), 1)),
            // Scales 1 and 2, and beyond 64 bits: the general order.
            _ => Value::Decimal(Decimal::new(
                i128::from(small) << (60 * r.next(2)),
                1 + r.next(2) as u8,
            )),
        }
    }

    #[test]
    fn keys_sort_as_the_rows_do() {
        let mut r = Lcg(7);
        for round in 0..400 {
            // Columns of random kinds, sometimes one column of mixed kinds.
            let kinds: Vec<u64> = (0..4).map(|_| r.next(8)).collect();
            let mixed = round % 5 == 0;
            let rows: Vec<Row> = (0..60)
                .map(|_| {
                    kinds
                        .iter()
                        .map(|&k| value(if mixed { r.next(8) } else { k }, &mut r))
                        .collect()
                })
                .collect();
            assert_eq!(by_keys(&rows), by_rows(&rows), "kinds {kinds:?}, mixed {mixed}");
        }
    }

    #[test]
    fn integers_texts_and_nulls_order_by_their_words() {
        let rows = vec![
            crate::row![2, "b"],
            Row::from(vec![Value::Null, Value::str("z")]),
            crate::row![1, "abcdefghZ"],
            crate::row![1, "abcdefghA"],
            Row::from(vec![Value::Int(1), Value::Null]),
            crate::row![-5, ""],
        ];
        assert_eq!(kinds(rows.len(), &|i| &rows[i]), vec![Kind::Int, Kind::Text]);
        assert_eq!(by_keys(&rows), by_rows(&rows));
        assert!(by_keys(&[]).is_empty());
    }
}
