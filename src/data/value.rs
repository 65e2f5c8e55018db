//! [`Value`]: one cell of a row.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::decimal::Decimal;
use super::display::{format_date, format_double, format_timestamp};
use super::schema::{DataType, Field};

/// One cell of a [`Row`](super::Row).
///
/// Strings are [`SmolStr`]: up to 23 bytes inline, longer ones shared behind an `Arc`, so a clone
/// never copies text. Doubles compare with a total order in which `NaN` equals `NaN` and `-0.0`
/// equals `0.0`, which is what grouping needs (and what Spark does). `Null` sorts first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// BIGINT (all integers are 64-bit).
    Int(i64),
    /// DOUBLE.
    Float(f64),
    /// STRING.
    Str(SmolStr),
    /// TIMESTAMP, microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    /// ARRAY, the result of `split`; consumed by `explode`.
    Array(Arc<[Value]>),
    /// STRUCT: the fields' values in the order of the type's fields (e.g. a window's start
    /// and end).
    Struct(Arc<[Value]>),
    /// BINARY: bytes, such as a Kafka record's key and value. Shared, so a clone never copies
    /// them.
    Binary(Arc<[u8]>),
    /// DATE, days since 1970-01-01 (a calendar day, without a time zone, as Spark's). Last, so
    /// that the serialized tags of the other variants stay as they were.
    Date(i32),
    /// DECIMAL: an exact number, its unscaled integer and scale (see [`Decimal`]); the
    /// precision is the column type's. Last, so that the serialized tags of the other
    /// variants stay as they were.
    Decimal(Decimal),
}

impl Value {
    /// A string value.
    pub fn str(s: impl AsRef<str>) -> Self {
        Value::Str(SmolStr::new(s.as_ref()))
    }

    /// A binary value.
    pub fn binary(bytes: impl AsRef<[u8]>) -> Self {
        Value::Binary(Arc::from(bytes.as_ref()))
    }

    /// The bytes inside, if this is a `Binary`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The type of this value; `None` for `Null`, whose type is that of its column.
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Boolean,
            Value::Int(_) => DataType::Int64,
            Value::Float(_) => DataType::Float64,
            Value::Str(_) => DataType::String,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::Date(_) => DataType::Date,
            Value::Binary(_) => DataType::Binary,
            Value::Decimal(d) => DataType::Decimal {
                precision: d.precision(),
                scale: d.scale(),
            },
            Value::Array(items) => DataType::Array(Box::new(
                items
                    .iter()
                    .find_map(Value::data_type)
                    .unwrap_or(DataType::String),
            )),
            // A value does not know its fields' names: Spark's defaults for an unnamed struct.
            Value::Struct(items) => DataType::Struct(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        Field::new(format!("col{}", i + 1), v.data_type().unwrap_or(DataType::Null))
                    })
                    .collect(),
            ),
        })
    }

    /// The integer inside, if this is an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number inside as a double, if this is an `Int`, a `Float` or a `Decimal`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(d) => Some(d.to_f64()),
            _ => None,
        }
    }

    /// The text inside, if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A time window `[start, end)`, microseconds: the `struct<start, end>` of `window(..)`.
    pub fn window(start: i64, end: i64) -> Self {
        /// How many recent windows a thread keeps. Events come roughly in time order but out
        /// of order within the watermark's delay, so they alternate between two or three
        /// tumbling windows near a boundary, and an event of a sliding window falls in
        /// `size / slide` windows at once: one remembered window would miss on most events.
        const RECENT: usize = 8;
        /// The windows last made on a thread, and the slot the next new one takes.
        struct Recent {
            windows: [Option<Arc<[Value]>>; RECENT],
            next: usize,
        }
        thread_local! {
            /// The windows last made on this thread, replaced oldest first. An event that falls
            /// in one of them costs a reference count, not an allocation, and its window
            /// compares and hashes equal to the others' by address.
            static RECENT_WINDOWS: RefCell<Recent> = const {
                RefCell::new(Recent {
                    windows: [const { None }; RECENT],
                    next: 0,
                })
            };
        }
        RECENT_WINDOWS.with(|recent| {
            let Recent { windows, next } = &mut *recent.borrow_mut();
            for window in windows.iter().flatten() {
                if let [Value::Timestamp(s), Value::Timestamp(e)] = window[..] {
                    if (s, e) == (start, end) {
                        return Value::Struct(window.clone());
                    }
                }
            }
            let window: Arc<[Value]> = Arc::new([Value::Timestamp(start), Value::Timestamp(end)]);
            windows[*next] = Some(window.clone());
            *next = (*next + 1) % RECENT;
            Value::Struct(window)
        })
    }

    /// The start of the time window inside, if this is one (see [`Value::window`]).
    pub fn window_start(&self) -> Option<i64> {
        self.window_bound(0)
    }

    /// The end of the time window inside, if this is one (see [`Value::window`]).
    pub fn window_end(&self) -> Option<i64> {
        self.window_bound(1)
    }

    /// Field `i` of the time window inside, if this is one.
    fn window_bound(&self, i: usize) -> Option<i64> {
        match self {
            Value::Struct(fields) => match fields.get(i) {
                Some(Value::Timestamp(bound)) => Some(*bound),
                _ => None,
            },
            _ => None,
        }
    }

    /// The boolean inside, if this is a `Bool`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) | Value::Decimal(_) => 2,
            Value::Str(_) => 3,
            Value::Timestamp(_) => 4,
            Value::Array(_) => 5,
            Value::Struct(_) => 6,
            Value::Binary(_) => 7,
            Value::Date(_) => 8,
        }
    }
}

/// Maps `-0.0` to `0.0` and every NaN to one NaN, so that equal-for-grouping doubles have one
/// bit pattern (for hashing) and compare equal under `total_cmp`.
fn canonical(f: f64) -> f64 {
    if f.is_nan() {
        f64::NAN
    } else if f == 0.0 {
        0.0
    } else {
        f
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    canonical(a).total_cmp(&canonical(b))
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        // The overwhelmingly common comparisons first: sorting output compares keys.
        if let (Str(a), Str(b)) = (self, other) {
            return a.as_str().cmp(b.as_str());
        }
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => cmp_f64(*a, *b),
            // Mixed numbers only meet when a column's values were built by hand; order them by
            // value and put the integer first on a tie so that the order stays total.
            (Int(a), Float(b)) => cmp_f64(*a as f64, *b).then(Ordering::Less),
            (Float(a), Int(b)) => cmp_f64(*a, *b as f64).then(Ordering::Greater),
            // So with decimals: on a tie, an integer, then a double, then the decimal.
            (Int(a), Decimal(b)) => super::Decimal::new(i128::from(*a), 0).cmp(b).then(Ordering::Less),
            (Decimal(a), Int(b)) => a
                .cmp(&super::Decimal::new(i128::from(*b), 0))
                .then(Ordering::Greater),
            (Float(a), Decimal(b)) => cmp_f64(*a, b.to_f64()).then(Ordering::Less),
            (Decimal(a), Float(b)) => cmp_f64(a.to_f64(), *b).then(Ordering::Greater),
            (Str(a), Str(b)) => a.as_str().cmp(b.as_str()),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            // By value: 1.50 = 1.5.
            (Decimal(a), Decimal(b)) => a.cmp(b),
            // Spark orders binary values as unsigned bytes.
            (Binary(a), Binary(b)) => a.cmp(b),
            (Array(a), Array(b)) | (Struct(a), Struct(b)) if Arc::ptr_eq(a, b) => Ordering::Equal,
            (Array(a), Array(b)) | (Struct(a), Struct(b)) => a.iter().cmp(b.iter()),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    /// Hash-map lookups compare keys for equality constantly: the common same-type cases skip
    /// the full ordering.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Null, Value::Null) => true,
            (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
            (Value::Struct(a), Value::Struct(b)) | (Value::Array(a), Value::Array(b)) => same_items(a, b),
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}

impl Eq for Value {}

/// Whether two structs' or arrays' items are equal. A window shared by the rows of one window
/// (see [`Value::window`]) is equal by address. Out of line, so that `eq` stays small enough
/// to inline where keys of scalars are compared.
#[inline(never)]
fn same_items(a: &Arc<[Value]>, b: &Arc<[Value]>) -> bool {
    Arc::ptr_eq(a, b) || a[..] == b[..]
}

/// Consistent with `Eq`, and cheap for the values that keys are made of: an integer, a
/// timestamp or a string is one write, with no type tag. Values of different types are never
/// equal, so they may share a hash; a column holds one type, so they rarely meet.
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => state.write_u8(0),
            Value::Bool(b) => state.write_u8(2 + u8::from(*b)),
            Value::Int(i) | Value::Timestamp(i) => state.write_i64(*i),
            Value::Date(d) => state.write_i32(*d),
            Value::Float(f) => state.write_u64(canonical(*f).to_bits()),
            Value::Str(s) => s.as_str().hash(state),
            Value::Array(items) => {
                state.write_u8(6);
                items.hash(state)
            }
            Value::Struct(items) => {
                state.write_u8(7);
                items.hash(state)
            }
            Value::Binary(bytes) => bytes.hash(state),
            Value::Decimal(d) => d.hash(state),
        }
    }
}

/// Renders a value as `CAST(v AS STRING)` writes it (and as Spark 3's `show()` printed it):
/// `null`, `true`, `1.0`, `2024-01-01 00:00:00`, `2024-01-31` for a date, a decimal with every
/// digit of its scale (`1.50`), `[a, b]`, a struct as `{a, b}`, and binary as its bytes in
/// upper-case hex, `[68 65 6C 6C 6F]`. [`Value::shown`] is Spark 4's `show()`.
impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.render(f, "null")
    }
}

/// A value as Spark 4's `show()` prints it (see [`Value::shown`]).
struct Shown<'a>(&'a Value);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.render(f, "NULL")
    }
}

impl Value {
    /// The value as Spark 4's `show()` prints it (`ToPrettyString`): as [`Display`](std::fmt::Display)
    /// writes it, but a null, nested ones too, is `NULL` (where `CAST(.. AS STRING)` writes
    /// `null`).
    pub fn shown(&self) -> impl std::fmt::Display + '_ {
        Shown(self)
    }

    /// Writes the value as [`Display`](std::fmt::Display) does, with `null` as the text of a
    /// null, at any depth.
    fn render(&self, f: &mut std::fmt::Formatter<'_>, null: &str) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str(null),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&format_double(*x)),
            Value::Str(s) => f.write_str(s),
            Value::Timestamp(t) => f.write_str(&format_timestamp(*t)),
            Value::Date(d) => f.write_str(&format_date(*d)),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Array(items) => render_list(f, "[", items, "]", null),
            Value::Struct(items) => render_list(f, "{", items, "}", null),
            Value::Binary(bytes) => {
                f.write_str("[")?;
                for (i, byte) in bytes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{byte:02X}")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn render_list(
    f: &mut std::fmt::Formatter<'_>,
    open: &str,
    items: &[Value],
    close: &str,
    null: &str,
) -> std::fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        item.render(f, null)?;
    }
    f.write_str(close)
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(SmolStr::from(s))
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<Decimal> for Value {
    fn from(d: Decimal) -> Self {
        Value::Decimal(d)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The first eight bytes of `text` as a big-endian number, zero-padded: two texts whose
/// prefixes differ order as their prefixes do, so a sort compares most texts by one integer.
pub fn text_prefix(text: &str) -> u64 {
    let mut head = [0u8; 8];
    let n = text.len().min(head.len());
    head[..n].copy_from_slice(&text.as_bytes()[..n]);
    u64::from_be_bytes(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_decimal_keeps_the_size_and_alignment_of_a_value() {
        // Rows and every key's state are made of values: a decimal must not grow them.
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::align_of::<Value>(), 8);
    }

    #[test]
    fn decimals_group_by_numeric_value() {
        use std::hash::BuildHasher;
        let (a, b) = (
            Value::Decimal(Decimal::new(150, 2)),
            Value::Decimal(Decimal::new(15, 1)),
        );
        assert_eq!(a, b);
        let hasher = foldhash::fast::FixedState::with_seed(1);
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
        let set: HashSet<Value> = [a.clone(), b, Value::Decimal(Decimal::new(-15, 1))]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 2);
        assert!(Value::Decimal(Decimal::new(-15, 1)) < a);
        assert_eq!(a.to_string(), "1.50");
        assert_eq!(
            a.data_type(),
            Some(DataType::Decimal {
                precision: 3,
                scale: 2
            })
        );
    }

    #[test]
    fn a_decimal_serializes_after_the_older_variants_whose_tags_stay() {
        // bincode writes a variant's index as a u32: the decimal is the eleventh, the date
        // still the tenth.
        let tag = |v: &Value| bincode::serialize(v).expect("serializes")[..4].to_vec();
        assert_eq!(tag(&Value::Date(1)), 9u32.to_le_bytes());
        let d = Value::Decimal(Decimal::new(-123_456_789_012_345_678_901_234_567_890, 7));
        assert_eq!(tag(&d), 10u32.to_le_bytes());
        let back: Value = bincode::deserialize(&bincode::serialize(&d).expect("serializes")).expect("reads");
        assert_eq!(back.to_string(), "-12345678901234567890123.4567890");
    }

    #[test]
    fn grouping_equalities_match_spark() {
        assert_eq!(Value::Float(-0.0), Value::Float(0.0));
        assert_eq!(Value::Float(f64::NAN), Value::Float(-f64::NAN));
        let set: HashSet<Value> = [Value::Float(-0.0), Value::Float(0.0)].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn null_sorts_first_and_order_is_total() {
        let mut v = [
            Value::str("b"),
            Value::Int(3),
            Value::Null,
            Value::Float(2.5),
            Value::Bool(true),
        ];
        v.sort();
        assert_eq!(v[0], Value::Null);
        assert_eq!(v[1], Value::Bool(true));
        assert_eq!(v[2], Value::Float(2.5));
        assert_eq!(v[3], Value::Int(3));
    }

    #[test]
    fn displays_like_spark_show() {
        assert_eq!(Value::Null.to_string(), "null");
        assert_eq!(Value::Float(1.0).to_string(), "1.0");
        let arr = Value::Array(vec![Value::str("a"), Value::str("")].into());
        assert_eq!(arr.to_string(), "[a, ]");
    }

    #[test]
    fn binary_displays_as_sparks_show_does_and_orders_as_unsigned_bytes() {
        // Spark's show(): upper-case hex bytes, separated by spaces, in brackets.
        assert_eq!(Value::binary(b"hello").to_string(), "[68 65 6C 6C 6F]");
        assert_eq!(Value::binary([0x00, 0xff, 0x0a]).to_string(), "[00 FF 0A]");
        assert_eq!(Value::binary([]).to_string(), "[]");
        assert!(Value::binary([0x7f]) < Value::binary([0x80]));
        assert!(Value::binary([1]) < Value::binary([1, 0]));
        assert_eq!(Value::binary(b"ab").as_bytes(), Some(&b"ab"[..]));
    }

    #[test]
    fn a_shared_window_and_a_window_built_apart_are_equal_and_hash_alike() {
        use std::hash::BuildHasher;
        let (shared, again) = (Value::window(0, 10), Value::window(0, 10));
        let apart = Value::Struct(vec![Value::Timestamp(0), Value::Timestamp(10)].into());
        let (Value::Struct(a), Value::Struct(b), Value::Struct(c)) = (&shared, &again, &apart) else {
            panic!("a window is a struct");
        };
        assert!(
            Arc::ptr_eq(a, b),
            "the same window twice in a row is one allocation"
        );
        assert!(!Arc::ptr_eq(a, c));
        assert_eq!(shared, apart);
        assert_eq!(shared.cmp(&apart), Ordering::Equal);
        let hasher = foldhash::fast::FixedState::with_seed(1);
        assert_eq!(hasher.hash_one(&shared), hasher.hash_one(&apart));

        let next = Value::window(10, 20);
        assert!(shared < next && next != apart);
        assert_eq!(next.window_end(), Some(20));
        // Back to an earlier window: equal, and the same allocation while it is recent.
        let back = Value::window(0, 10);
        assert_eq!(back, shared);
        let Value::Struct(back) = &back else {
            panic!("a window is a struct");
        };
        assert!(Arc::ptr_eq(a, back), "a recent window is shared again");
    }

    #[test]
    fn sliding_windows_share_their_allocations_while_recent() {
        // Each event of a 10 s window sliding by 2 s falls in 5 windows; events a few
        // seconds apart share most of them.
        let of = |start: i64| match Value::window(start, start + 10) {
            Value::Struct(fields) => fields,
            other => panic!("a window is a struct, not {other:?}"),
        };
        let first: Vec<_> = (0..5).map(|i| of(i * 2)).collect();
        let again: Vec<_> = (0..5).map(|i| of(i * 2)).collect();
        assert!(first.iter().zip(&again).all(|(a, b)| Arc::ptr_eq(a, b)));
        // Once many other windows were made, an old one is built anew, and still equal.
        for start in 100..120 {
            of(start);
        }
        let old = of(0);
        assert!(!Arc::ptr_eq(&first[0], &old));
        assert_eq!(first[0], old);
    }
}
