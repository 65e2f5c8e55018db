//! Aggregate functions and their mergeable accumulators.
//!
//! Every aggregate keeps an [`AggState`] that can absorb input values (with a multiplicity) and
//! merge with another partial state. That is what lets the engine combine a worker's rows
//! before the exchange, and keep one small state per key instead of the key's whole history.

use serde::{Deserialize, Serialize};

use super::bind::BoundExpr;
use super::Expr;
use crate::data::decimal::{self, DecimalOp};
use crate::data::{DataType, Decimal, Schema, Value};
use crate::error::{Error, Result};

/// The aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `count(x)` / `count(*)`: BIGINT.
    Count,
    /// `sum(x)`: BIGINT for integers (wrapping on overflow, as Spark's non-ANSI mode), DOUBLE
    /// for doubles.
    Sum,
    /// `avg(x)`: DOUBLE. Integer inputs are summed exactly, so the result does not depend on
    /// how rows were split across workers.
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `count(DISTINCT x)`: BIGINT, the number of distinct non-null values.
    CountDistinct,
    /// `collect_list(x)`: the non-null values, as an array. Spark keeps arrival order, which
    /// depends on partitioning; here the array is sorted, so it is the same for any number of
    /// workers.
    CollectList,
    /// `collect_set(x)`: the distinct non-null values, as a sorted array.
    CollectSet,
    /// `approx_count_distinct(x)`: BIGINT. Counted exactly here (Spark's HyperLogLog++ is
    /// within 5% and exact for small counts).
    ApproxCountDistinct,
    /// `stddev(x)` / `stddev_samp(x)`: DOUBLE, the sample standard deviation; null for fewer
    /// than two values.
    Stddev,
    /// `stddev_pop(x)`: DOUBLE, the population standard deviation.
    StddevPop,
    /// `variance(x)` / `var_samp(x)`: DOUBLE, the sample variance; null for fewer than two
    /// values.
    Variance,
    /// `var_pop(x)`: DOUBLE, the population variance.
    VarPop,
    /// `count_if(condition)`: BIGINT, the rows where the condition is true.
    CountIf,
    /// `max_by(x, ord)`: the `x` of the row with the largest `ord` (rows with a null `ord`
    /// are skipped; ties go to the largest `x`, so the result does not depend on order). The
    /// argument is `struct(ord, x)`.
    MaxBy,
    /// `min_by(x, ord)`: the `x` of the row with the smallest `ord` (ties: smallest `x`).
    MinBy,
    /// `first(x)` / `first_value(x)` / `any_value(x)`: the `x` that arrived first for the key,
    /// null or not. Spark's `first` depends on the order rows reach it; in a stream here,
    /// arrival order is the epoch order, and within one epoch (whose rows have no order that
    /// holds for any number of workers) the smallest value wins, nulls first. The argument is
    /// `struct(epoch, x)`.
    First,
    /// `first(x, true)` / `first(x) IGNORE NULLS`: the first non-null `x`.
    FirstIgnoreNulls,
    /// `last(x)` / `last_value(x)`: the `x` that arrived last, null or not (within the last
    /// epoch, the largest value).
    Last,
    /// `last(x, true)` / `last(x) IGNORE NULLS`: the last non-null `x`.
    LastIgnoreNulls,
}

impl AggFunc {
    /// The SQL name.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::CountDistinct => "count",
            AggFunc::CollectList => "collect_list",
            AggFunc::CollectSet => "collect_set",
            AggFunc::ApproxCountDistinct => "approx_count_distinct",
            AggFunc::Stddev => "stddev",
            AggFunc::StddevPop => "stddev_pop",
            AggFunc::Variance => "variance",
            AggFunc::VarPop => "var_pop",
            AggFunc::CountIf => "count_if",
            AggFunc::MaxBy => "max_by",
            AggFunc::MinBy => "min_by",
            AggFunc::First | AggFunc::FirstIgnoreNulls => "first",
            AggFunc::Last | AggFunc::LastIgnoreNulls => "last",
        }
    }

    /// True for the aggregates whose argument is a `struct(ordering, x)` pair and whose answer
    /// is the `x` of the least or greatest pair: `min_by`, `max_by`, and `first` and `last`
    /// (ordered by arrival epoch, see [`AggFunc::First`]).
    pub fn orders_pairs(self) -> bool {
        self.by_arrival() || matches!(self, AggFunc::MaxBy | AggFunc::MinBy)
    }

    /// True for `first` and `last`, which order values by the epoch they arrived in.
    pub fn by_arrival(self) -> bool {
        matches!(
            self,
            AggFunc::First | AggFunc::FirstIgnoreNulls | AggFunc::Last | AggFunc::LastIgnoreNulls
        )
    }

    /// The same aggregate skipping nulls (`first` becomes `first(x, true)`).
    pub fn ignoring_nulls(self) -> Self {
        match self {
            AggFunc::First => AggFunc::FirstIgnoreNulls,
            AggFunc::Last => AggFunc::LastIgnoreNulls,
            other => other,
        }
    }

    /// Looks an aggregate up by its SQL name or alias, ignoring case.
    pub fn by_name(name: &str) -> Option<Self> {
        use AggFunc::*;
        match name.to_ascii_lowercase().as_str() {
            "stddev_samp" | "std" => return Some(Stddev),
            "var_samp" => return Some(Variance),
            "mean" => return Some(Avg),
            "first_value" | "any_value" => return Some(First),
            "last_value" => return Some(Last),
            _ => {}
        }
        [
            Count,
            Sum,
            Avg,
            Min,
            Max,
            CollectList,
            CollectSet,
            ApproxCountDistinct,
            Stddev,
            StddevPop,
            Variance,
            VarPop,
            CountIf,
            MaxBy,
            MinBy,
            First,
            Last,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Every aggregate name a user may call (for "did you mean" hints).
    pub fn names() -> &'static [&'static str] {
        &[
            "count",
            "sum",
            "avg",
            "mean",
            "min",
            "max",
            "collect_list",
            "collect_set",
            "approx_count_distinct",
            "stddev",
            "stddev_samp",
            "std",
            "stddev_pop",
            "variance",
            "var_samp",
            "var_pop",
            "count_if",
            "max_by",
            "min_by",
            "first",
            "first_value",
            "any_value",
            "last",
            "last_value",
        ]
    }

    /// How many arguments the aggregate takes (`max_by(x, ord)` takes two).
    pub fn arity(self) -> usize {
        match self {
            AggFunc::MaxBy | AggFunc::MinBy => 2,
            _ => 1,
        }
    }
}

/// An `i128` kept as two 64-bit halves: the exact integer sum behind `avg`. An `i128` field
/// would align the whole [`AggState`] to 16 bytes and make it half as large again, in every
/// key's state; the halves need only 8. It serializes as the `i128` it holds, so checkpoints
/// read the same either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WideSum {
    low: u64,
    high: i64,
}

impl WideSum {
    /// The sum.
    pub fn get(self) -> i128 {
        (i128::from(self.high) << 64) | i128::from(self.low)
    }

    fn new(value: i128) -> Self {
        // Truncations: the low and high 64 bits.
        WideSum {
            low: value as u64,
            high: (value >> 64) as i64,
        }
    }
}

impl std::ops::AddAssign<i128> for WideSum {
    fn add_assign(&mut self, other: i128) {
        *self = WideSum::new(self.get().wrapping_add(other));
    }
}

impl std::ops::AddAssign for WideSum {
    fn add_assign(&mut self, other: WideSum) {
        *self += other.get();
    }
}

impl Serialize for WideSum {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_i128(self.get())
    }
}

impl<'de> Deserialize<'de> for WideSum {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        i128::deserialize(deserializer).map(WideSum::new)
    }
}

/// The running state of one aggregate for one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AggState {
    /// Rows (or non-null values) seen.
    Count(i64),
    /// Integer sum and the number of values in it.
    SumInt(i64, i64),
    /// Double sum and the number of values in it.
    SumFloat(f64, i64),
    /// Exact integer sum for `avg` and the number of values.
    AvgInt(WideSum, i64),
    /// Double sum for `avg` and the number of values.
    AvgFloat(f64, i64),
    /// The smallest value so far (`Null` before the first).
    Min(Value),
    /// The largest value so far (`Null` before the first).
    Max(Value),
    /// Each distinct value with how often it was seen (a multiset, so partial states merge).
    Distinct(std::collections::BTreeMap<Value, i64>),
    /// Count, sum and sum of squares of the values (for the variances).
    Moments(i64, f64, f64),
    /// Rows whose condition was true.
    CountIf(i64),
    /// `sum` of decimals: the exact sum of the unscaled values at the input's scale, and the
    /// number of values. Last (with [`AggState::AvgDecimal`]), so that the serialized tags of
    /// the other states stay as they were.
    SumDecimal(WideSum, i64),
    /// `avg` of decimals: as [`AggState::SumDecimal`].
    AvgDecimal(WideSum, i64),
}

/// A bound aggregate: a function, its argument and the argument's type.
#[derive(Clone, Debug)]
pub struct Accumulator {
    func: AggFunc,
    arg: Option<BoundExpr>,
    integer: bool,
    /// Bound under ANSI mode: an integer `sum` that leaves the BIGINT range raises
    /// `ARITHMETIC_OVERFLOW` instead of wrapping.
    ansi: bool,
    /// Where that error goes, once a query attached its slot.
    failures: Option<super::ansi::FailureSlot>,
    /// The precision and scale of a DECIMAL argument (`sum` and `avg` of decimals are exact,
    /// and their result types derive from it).
    decimal: Option<(u8, u8)>,
}

impl Accumulator {
    /// Makes the argument's `current_timestamp()` read `clock` (see
    /// [`BoundExpr::attach_clock`]).
    pub(crate) fn attach_clock(&mut self, clock: &super::BatchClock) {
        if let Some(arg) = &mut self.arg {
            arg.attach_clock(clock);
        }
    }

    /// Sends the errors of its argument and of its own ANSI checks to `slot` (a query's; see
    /// [`FailureSlot`](super::ansi::FailureSlot)).
    pub(crate) fn attach_failure_slot(&mut self, slot: &super::ansi::FailureSlot) {
        if let Some(arg) = &mut self.arg {
            arg.attach_failure_slot(slot);
        }
        self.failures = Some(slot.clone());
    }

    fn sum_overflow(&self) {
        super::ansi::sum_overflow();
        if let Some(slot) = &self.failures {
            slot.settle();
        }
    }

    /// Binds `func(arg)` against `schema`, returning the accumulator and its output type.
    pub fn bind(func: AggFunc, arg: Option<&Expr>, schema: &Schema) -> Result<(Self, DataType)> {
        let (arg, input_type) = match arg {
            None if func == AggFunc::Count => (None, DataType::Int64),
            None => {
                return Err(Error::InvalidFunctionCall(format!(
                    "{}(*) is not allowed",
                    func.name()
                )));
            }
            Some(e) => {
                if e.contains_aggregate() {
                    return Err(Error::InvalidPlan(format!(
                        "aggregate functions cannot be nested: {}",
                        e.output_name()
                    )));
                }
                if func.by_arrival() {
                    // `first(x)` keeps `struct(epoch, x)`, with a null epoch (so the row is
                    // skipped) for a null `x` when nulls are ignored.
                    let epoch = Expr::Call(super::ScalarFunc::BatchEpoch, vec![]);
                    let order = if matches!(func, AggFunc::FirstIgnoreNulls | AggFunc::LastIgnoreNulls) {
                        Expr::Case {
                            branches: vec![(e.clone().is_null(), Expr::Literal(Value::Null))],
                            otherwise: Some(Box::new(epoch)),
                        }
                    } else {
                        epoch
                    };
                    let pair = Expr::Call(super::ScalarFunc::Struct, vec![order, e.clone()]);
                    let (bound, t) = pair.bind(schema)?;
                    (Some(bound), t)
                } else {
                    let (bound, t) = e.bind(schema)?;
                    (Some(bound), t)
                }
            }
        };
        let out = match func {
            AggFunc::Count | AggFunc::CountDistinct | AggFunc::ApproxCountDistinct => DataType::Int64,
            AggFunc::CountIf if !matches!(input_type, DataType::Boolean | DataType::Null) => {
                return Err(Error::TypeMismatch(format!(
                    "count_if() needs a condition, got {input_type}"
                )));
            }
            AggFunc::CountIf => DataType::Int64,
            AggFunc::CollectList | AggFunc::CollectSet => DataType::Array(Box::new(input_type.clone())),
            AggFunc::MaxBy
            | AggFunc::MinBy
            | AggFunc::First
            | AggFunc::FirstIgnoreNulls
            | AggFunc::Last
            | AggFunc::LastIgnoreNulls => match &input_type {
                DataType::Struct(fields) if fields.len() == 2 => fields[1].data_type.clone(),
                _ => {
                    return Err(Error::InvalidFunctionCall(format!(
                        "{}() takes a value and an ordering: {}(x, ord)",
                        func.name(),
                        func.name()
                    )))
                }
            },
            AggFunc::Stddev | AggFunc::StddevPop | AggFunc::Variance | AggFunc::VarPop
                if !input_type.is_numeric() && input_type != DataType::Null =>
            {
                return Err(Error::TypeMismatch(format!(
                    "{}() needs a number, got {input_type}",
                    func.name()
                )));
            }
            AggFunc::Stddev | AggFunc::StddevPop | AggFunc::Variance | AggFunc::VarPop => DataType::Float64,
            AggFunc::Sum | AggFunc::Avg if !input_type.is_numeric() && input_type != DataType::Null => {
                return Err(Error::TypeMismatch(format!(
                    "{}() needs a number, got {input_type}",
                    func.name()
                )));
            }
            // Spark: sum of DECIMAL(p, s) is DECIMAL(p + 10, s), avg DECIMAL(p + 4, s + 4),
            // both at most 38.
            AggFunc::Sum | AggFunc::Avg if matches!(input_type, DataType::Decimal { .. }) => {
                let (p, s) = input_type.decimal_parts().unwrap_or((10, 0));
                let (p, s) = (i32::from(p), i32::from(s));
                let (precision, scale) = if func == AggFunc::Sum {
                    decimal::bounded(p + 10, s)
                } else {
                    decimal::bounded(p + 4, s + 4)
                };
                DataType::Decimal { precision, scale }
            }
            AggFunc::Sum if input_type == DataType::Float64 => DataType::Float64,
            AggFunc::Sum => DataType::Int64,
            AggFunc::Avg => DataType::Float64,
            AggFunc::Min | AggFunc::Max => input_type.clone(),
        };
        let integer = input_type != DataType::Float64;
        let ansi = super::settings::current().ansi;
        let decimal = match input_type {
            DataType::Decimal { precision, scale } => Some((precision, scale)),
            _ => None,
        };
        Ok((
            Accumulator {
                func,
                arg,
                integer,
                ansi,
                failures: None,
                decimal,
            },
            out,
        ))
    }

    /// The expression whose values this aggregate consumes (`None` for `count(*)`).
    pub fn argument(&self) -> Option<&BoundExpr> {
        self.arg.as_ref()
    }

    /// The state before any input.
    pub fn init(&self) -> AggState {
        match (self.func, self.integer) {
            (AggFunc::Count, _) => AggState::Count(0),
            (AggFunc::Sum, _) if self.decimal.is_some() => AggState::SumDecimal(WideSum::default(), 0),
            (AggFunc::Avg, _) if self.decimal.is_some() => AggState::AvgDecimal(WideSum::default(), 0),
            (AggFunc::Sum, true) => AggState::SumInt(0, 0),
            (AggFunc::Sum, false) => AggState::SumFloat(0.0, 0),
            (AggFunc::Avg, true) => AggState::AvgInt(WideSum::default(), 0),
            (AggFunc::Avg, false) => AggState::AvgFloat(0.0, 0),
            // `min_by`/`max_by` and `first`/`last` order `struct(ordering, x)` pairs, so the
            // least or greatest pair is the answer: one pair a key, not every pair seen. (An
            // aggregate's input never retracts: the general reduce folds a key's whole current
            // input, the append-only path only insertions.)
            (AggFunc::Min | AggFunc::MinBy | AggFunc::First | AggFunc::FirstIgnoreNulls, _) => {
                AggState::Min(Value::Null)
            }
            (AggFunc::Max | AggFunc::MaxBy | AggFunc::Last | AggFunc::LastIgnoreNulls, _) => {
                AggState::Max(Value::Null)
            }
            (
                AggFunc::CountDistinct
                | AggFunc::ApproxCountDistinct
                | AggFunc::CollectList
                | AggFunc::CollectSet,
                _,
            ) => AggState::Distinct(Default::default()),
            (AggFunc::Stddev | AggFunc::StddevPop | AggFunc::Variance | AggFunc::VarPop, _) => {
                AggState::Moments(0, 0.0, 0.0)
            }
            (AggFunc::CountIf, _) => AggState::CountIf(0),
        }
    }

    /// Absorbs `value` (the evaluated argument; ignored by `count(*)`) seen `times` times.
    pub fn update(&self, state: &mut AggState, value: &Value, times: isize) {
        if self.arg.is_none() {
            if let AggState::Count(n) = state {
                *n += times as i64;
            }
            return;
        }
        if value.is_null() {
            return;
        }
        let times64 = times as i64;
        match state {
            AggState::Count(n) => *n += times64,
            AggState::SumInt(s, n) => {
                let v = value.as_i64().unwrap_or(0);
                *s = if self.ansi {
                    match v.checked_mul(times64).and_then(|add| s.checked_add(add)) {
                        Some(sum) => sum,
                        None => {
                            self.sum_overflow();
                            s.wrapping_add(v.wrapping_mul(times64))
                        }
                    }
                } else {
                    s.wrapping_add(v.wrapping_mul(times64))
                };
                *n += times64;
            }
            AggState::SumFloat(s, n) | AggState::AvgFloat(s, n) => {
                *s += value.as_f64().unwrap_or(0.0) * times as f64;
                *n += times64;
            }
            AggState::AvgInt(s, n) => {
                *s += i128::from(value.as_i64().unwrap_or(0)) * i128::from(times64);
                *n += times64;
            }
            AggState::SumDecimal(s, n) | AggState::AvgDecimal(s, n) => {
                let scale = self.decimal.map_or(0, |(_, scale)| scale);
                let unscaled = match value {
                    Value::Decimal(d) if d.scale() == scale => d.unscaled(),
                    // A value at another scale (a literal): at the column's, exactly.
                    Value::Decimal(d) => d.rescale(38, scale).map_or(0, |d| d.unscaled()),
                    _ => 0,
                };
                // Wrapping, so that a retraction undoes an addition exactly.
                *s += unscaled.wrapping_mul(i128::from(times64));
                *n += times64;
            }
            AggState::Min(m) => {
                if (m.is_null() || value < m) && !self.ordering_is_null(value) {
                    *m = value.clone();
                }
            }
            AggState::Max(m) => {
                if (m.is_null() || value > m) && !self.ordering_is_null(value) {
                    *m = value.clone();
                }
            }
            AggState::Distinct(seen) => {
                let n = seen.entry(value.clone()).or_insert(0);
                *n += times64;
                if *n == 0 {
                    seen.remove(value);
                }
            }
            AggState::Moments(n, s, q) => {
                let x = value.as_f64().unwrap_or(0.0);
                *n += times64;
                *s += x * times as f64;
                *q += x * x * times as f64;
            }
            AggState::CountIf(n) => {
                if value.as_bool() == Some(true) {
                    *n += times64;
                }
            }
        }
    }

    /// As [`Accumulator::merge`], raising `ARITHMETIC_OVERFLOW` for an integer `sum` that
    /// leaves the BIGINT range when bound under ANSI mode.
    pub fn merge_checked(&self, state: &mut AggState, other: AggState) {
        if let (true, AggState::SumInt(s, _), AggState::SumInt(s2, _)) = (self.ansi, &*state, &other) {
            if s.checked_add(*s2).is_none() {
                self.sum_overflow();
            }
        }
        Accumulator::merge(state, other)
    }

    /// As [`update`](Self::update) with `value` the pair `struct(ordering, x)` of an aggregate
    /// that [orders pairs](AggFunc::orders_pairs), given as its two fields, and `pair` building
    /// it: the pair is built only when it replaces the state. Over a window, `max_by` keeps one
    /// pair in thousands, and `update` would have every row's built.
    pub fn update_pair(
        &self,
        state: &mut AggState,
        [ordering, x]: [&Value; 2],
        times: isize,
        pair: impl FnOnce() -> Value,
    ) {
        if !self.func.orders_pairs() {
            return self.update(state, &pair(), times);
        }
        // `update`'s rules: a pair with a null ordering is passed over; otherwise it replaces
        // an empty state, or a held pair it orders before (`min`) or after (`max`). A struct
        // orders field by field.
        if ordering.is_null() {
            return;
        }
        let (held, wanted) = match state {
            AggState::Min(held) => (held, std::cmp::Ordering::Less),
            AggState::Max(held) => (held, std::cmp::Ordering::Greater),
            _ => return self.update(state, &pair(), times),
        };
        let replaces = match &*held {
            Value::Null => true,
            Value::Struct(fields) => [ordering, x].into_iter().cmp(fields.iter()) == wanted,
            _ => return self.update(state, &pair(), times),
        };
        if replaces {
            *held = pair();
        }
    }

    /// Whether `value` is a `max_by`/`min_by` (or `first`/`last`) pair whose ordering is null:
    /// such a row is skipped, as `first(x, true)` skips a null `x`. Only the states of those
    /// aggregates (`Min`, `Max`) ask, so other aggregates pay nothing for it.
    fn ordering_is_null(&self, value: &Value) -> bool {
        self.func.orders_pairs() && matches!(value, Value::Struct(f) if f.first().is_none_or(Value::is_null))
    }

    /// Folds a partial state into `state`; both come from this accumulator.
    pub fn merge(state: &mut AggState, other: AggState) {
        match (state, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::SumInt(s, n), AggState::SumInt(s2, n2)) => {
                *s = s.wrapping_add(s2);
                *n += n2;
            }
            (AggState::SumFloat(s, n), AggState::SumFloat(s2, n2))
            | (AggState::AvgFloat(s, n), AggState::AvgFloat(s2, n2)) => {
                *s += s2;
                *n += n2;
            }
            (AggState::AvgInt(s, n), AggState::AvgInt(s2, n2))
            | (AggState::SumDecimal(s, n), AggState::SumDecimal(s2, n2))
            | (AggState::AvgDecimal(s, n), AggState::AvgDecimal(s2, n2)) => {
                *s += s2;
                *n += n2;
            }
            (AggState::Min(m), AggState::Min(m2)) => {
                if m.is_null() || (!m2.is_null() && m2 < *m) {
                    *m = m2;
                }
            }
            (AggState::Max(m), AggState::Max(m2)) => {
                if m.is_null() || (!m2.is_null() && m2 > *m) {
                    *m = m2;
                }
            }
            (AggState::Distinct(seen), AggState::Distinct(other)) => {
                for (value, n) in other {
                    *seen.entry(value).or_insert(0) += n;
                }
                seen.retain(|_, n| *n != 0);
            }
            // A `max_by`/`first`-like state restored from a checkpoint that kept every pair
            // meets this version's single pair: the pair joins the set, whose least or
            // greatest member is still the answer.
            (AggState::Distinct(seen), AggState::Min(pair) | AggState::Max(pair)) => {
                if !pair.is_null() {
                    *seen.entry(pair).or_insert(0) += 1;
                }
            }
            (AggState::Moments(n, s, q), AggState::Moments(n2, s2, q2)) => {
                *n += n2;
                *s += s2;
                *q += q2;
            }
            (AggState::CountIf(a), AggState::CountIf(b)) => *a += b,
            (state, other) => debug_assert!(false, "merging {other:?} into {state:?}"),
        }
    }

    /// The aggregate's result for this state. `count(DISTINCT)`, `collect_*`, `max_by` and the
    /// variances share state shapes, so the function decides.
    pub fn result(&self, state: &AggState) -> Value {
        let positive = |seen: &std::collections::BTreeMap<Value, i64>| {
            seen.iter()
                .filter(|(_, n)| **n > 0)
                .map(|(v, n)| (v.clone(), *n))
                .collect::<Vec<_>>()
        };
        match (self.func, state) {
            (AggFunc::CollectList, AggState::Distinct(seen)) => Value::Array(
                positive(seen)
                    .into_iter()
                    .flat_map(|(v, n)| std::iter::repeat_n(v, n as usize))
                    .collect(),
            ),
            (AggFunc::CollectSet, AggState::Distinct(seen)) => {
                Value::Array(positive(seen).into_iter().map(|(v, _)| v).collect())
            }
            (f, AggState::Min(pair) | AggState::Max(pair)) if f.orders_pairs() => match pair {
                Value::Struct(f) => f.get(1).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            },
            (f, AggState::Distinct(seen)) if f.orders_pairs() => {
                let found = positive(seen);
                let pick = if matches!(f, AggFunc::MaxBy | AggFunc::Last | AggFunc::LastIgnoreNulls) {
                    found.last()
                } else {
                    found.first()
                };
                match pick {
                    Some((Value::Struct(f), _)) => f.get(1).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                }
            }
            (f, AggState::Moments(n, s, q)) => {
                let n = *n as f64;
                let population = matches!(f, AggFunc::StddevPop | AggFunc::VarPop);
                let divisor = if population { n } else { n - 1.0 };
                if n == 0.0 || divisor <= 0.0 {
                    return Value::Null;
                }
                let mean = s / n;
                // Rounding can leave a tiny negative sum of squares for equal values.
                let m2 = (q - s * mean).max(0.0);
                let variance = m2 / divisor;
                Value::Float(if matches!(f, AggFunc::Stddev | AggFunc::StddevPop) {
                    variance.sqrt()
                } else {
                    variance
                })
            }
            (_, AggState::SumDecimal(_, 0) | AggState::AvgDecimal(_, 0)) => Value::Null,
            (f, AggState::SumDecimal(sum, n) | AggState::AvgDecimal(sum, n)) => {
                let (p, s) = self.decimal.unwrap_or((38, 0));
                // The sum as Spark's buffer of DECIMAL(p + 10, s) holds it: null beyond.
                let (sum_precision, _) = decimal::bounded(i32::from(p) + 10, i32::from(s));
                let Some(total) = Decimal::from_i128(sum.get(), s, sum_precision, s) else {
                    return Value::Null;
                };
                if f == AggFunc::Sum {
                    return Value::Decimal(total);
                }
                // avg: the sum divided by the count, HALF_UP at the result's scale.
                let (precision, scale) = decimal::bounded(i32::from(p) + 4, i32::from(s) + 4);
                total
                    .arith(DecimalOp::Div, Decimal::new(i128::from(*n), 0), precision, scale)
                    .map_or(Value::Null, Value::Decimal)
            }
            (_, state) => Accumulator::finish(state),
        }
    }

    /// The result of a state of `count`, `sum`, `avg`, `min`, `max` or `count(DISTINCT)`
    /// (see [`Accumulator::result`] for every function, and for the decimal states, whose
    /// result needs the argument's type: null here).
    pub fn finish(state: &AggState) -> Value {
        match state {
            AggState::SumDecimal(..) | AggState::AvgDecimal(..) => Value::Null,
            AggState::CountIf(n) => Value::Int(*n),
            AggState::Moments(..) => Value::Null,
            AggState::Count(n) => Value::Int(*n),
            AggState::SumInt(_, 0) | AggState::SumFloat(_, 0) => Value::Null,
            AggState::AvgInt(_, 0) | AggState::AvgFloat(_, 0) => Value::Null,
            AggState::SumInt(s, _) => Value::Int(*s),
            AggState::SumFloat(s, _) => Value::Float(*s),
            AggState::AvgInt(s, n) => Value::Float(s.get() as f64 / *n as f64),
            AggState::AvgFloat(s, n) => Value::Float(s / *n as f64),
            AggState::Min(v) | AggState::Max(v) => v.clone(),
            AggState::Distinct(seen) => Value::Int(seen.values().filter(|n| **n > 0).count() as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;
    use crate::expr::col;

    fn schema() -> Schema {
        Schema::new([Field::new("x", DataType::Int64)])
    }

    #[test]
    fn a_pair_built_only_when_it_wins_folds_as_the_built_pair_does() {
        // Random rows of an ordering and a value, nulls among both: the state after
        // `update_pair` is the state after `update` of each row's pair, for every aggregate that
        // orders pairs and for plain ones given a pair.
        let schema = Schema::new([
            Field::new("o", DataType::Int64),
            Field::new("x", DataType::String),
        ]);
        let pair = Expr::Call(crate::expr::ScalarFunc::Struct, vec![col("o"), col("x")]);
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for func in [
            AggFunc::MaxBy,
            AggFunc::MinBy,
            AggFunc::First,
            AggFunc::Last,
            AggFunc::Max,
            AggFunc::Min,
            AggFunc::CollectSet,
        ] {
            let (acc, _) = Accumulator::bind(func, Some(&pair), &schema).expect("binds");
            for _ in 0..200 {
                let (mut built, mut lazy) = (acc.init(), acc.init());
                for _ in 0..next(12) {
                    let ordering = match next(5) {
                        0 => Value::Null,
                        n => Value::Int(n as i64),
                    };
                    let x = match next(4) {
                        0 => Value::Null,
                        n => Value::str(["a", "b", "c"][n as usize - 1]),
                    };
                    let whole = Value::Struct(vec![ordering.clone(), x.clone()].into());
                    acc.update(&mut built, &whole, 1);
                    acc.update_pair(&mut lazy, [&ordering, &x], 1, || whole.clone());
                }
                assert_eq!(lazy, built, "{func:?}");
            }
        }
    }

    #[test]
    fn partial_states_merge_to_the_same_result_as_one_pass() {
        let values: Vec<Value> = [3, 1, 4, 1, 5, 9, 2, 6].into_iter().map(Value::Int).collect();
        for func in [
            AggFunc::Count,
            AggFunc::Sum,
            AggFunc::Avg,
            AggFunc::Min,
            AggFunc::Max,
        ] {
            let (acc, _) = Accumulator::bind(func, Some(&col("x")), &schema()).expect("binds");
            let mut whole = acc.init();
            values.iter().for_each(|v| acc.update(&mut whole, v, 1));
            let (mut left, mut right) = (acc.init(), acc.init());
            values[..3].iter().for_each(|v| acc.update(&mut left, v, 1));
            values[3..].iter().for_each(|v| acc.update(&mut right, v, 1));
            Accumulator::merge(&mut left, right);
            assert_eq!(
                Accumulator::finish(&left),
                Accumulator::finish(&whole),
                "{func:?}"
            );
        }
    }

    #[test]
    fn results_follow_spark() {
        let (avg, t) = Accumulator::bind(AggFunc::Avg, Some(&col("x")), &schema()).expect("binds");
        assert_eq!(t, DataType::Float64);
        let mut s = avg.init();
        assert_eq!(Accumulator::finish(&s), Value::Null, "avg of nothing is null");
        avg.update(&mut s, &Value::Int(1), 1);
        avg.update(&mut s, &Value::Int(2), 2);
        avg.update(&mut s, &Value::Null, 5);
        assert_eq!(Accumulator::finish(&s), Value::Float(5.0 / 3.0));
        let (count, _) = Accumulator::bind(AggFunc::Count, Some(&col("x")), &schema()).expect("binds");
        let mut c = count.init();
        count.update(&mut c, &Value::Null, 1);
        count.update(&mut c, &Value::Int(1), 2);
        assert_eq!(Accumulator::finish(&c), Value::Int(2), "count(x) skips nulls");
    }
}

#[cfg(test)]
mod decimal_tests {
    use super::*;
    use crate::data::Field;
    use crate::expr::col;

    fn run(func: AggFunc, precision: u8, scale: u8, values: &[(&str, isize)]) -> (Value, DataType) {
        let schema = Schema::new([Field::new("x", DataType::Decimal { precision, scale })]);
        let (acc, out) = Accumulator::bind(func, Some(&col("x")), &schema).expect("binds");
        // Two partial states, merged: what combining before the exchange does.
        let (mut a, mut b) = (acc.init(), acc.init());
        for (i, (text, times)) in values.iter().enumerate() {
            let v = if text.is_empty() {
                Value::Null
            } else {
                Value::Decimal(Decimal::parse(text, precision, scale).expect("fits"))
            };
            acc.update(if i % 2 == 0 { &mut a } else { &mut b }, &v, *times);
        }
        Accumulator::merge(&mut a, b);
        (acc.result(&a), out)
    }

    fn dec(text: &str) -> Value {
        Value::Decimal(Decimal::parse(text, 38, 10).expect("a number"))
    }

    #[test]
    fn sum_and_avg_of_decimals_are_exact_with_sparks_types() {
        let values = [("1.10", 1), ("2.25", 1), ("-0.35", 1), ("", 1)];
        let (sum, t) = run(AggFunc::Sum, 5, 2, &values);
        assert_eq!(
            t,
            DataType::Decimal {
                precision: 15,
                scale: 2
            }
        );
        assert_eq!(sum.to_string(), "3.00");
        // 3.00 / 3 = 1 at scale 6: 1.000000, type (9, 6).
        let (avg, t) = run(AggFunc::Avg, 5, 2, &values);
        assert_eq!(
            t,
            DataType::Decimal {
                precision: 9,
                scale: 6
            }
        );
        assert_eq!(avg.to_string(), "1.000000");
        // 1.00 + 1.00 + 0.01 = 2.01; / 3 = 0.67 exactly 0.670000 (2.01 / 3 = 0.67).
        let (avg, _) = run(AggFunc::Avg, 5, 2, &[("1.00", 1), ("1.00", 1), ("0.01", 1)]);
        assert_eq!(avg, dec("0.67"));
        // 2 / 3 = 0.666666|67 → 0.666667 (HALF_UP at scale 6).
        let (avg, _) = run(AggFunc::Avg, 5, 2, &[("1.00", 1), ("1.00", 1), ("0.00", 1)]);
        assert_eq!(avg.to_string(), "0.666667");
        let (avg, _) = run(AggFunc::Avg, 5, 2, &[("-1.00", 1), ("-1.00", 1), ("0.00", 1)]);
        assert_eq!(avg.to_string(), "-0.666667");
        // A retraction undoes its row.
        let (sum, _) = run(AggFunc::Sum, 5, 2, &[("1.10", 2), ("9.99", 1), ("9.99", -1)]);
        assert_eq!(sum, dec("2.20"));
        // Nothing, or only nulls: null.
        assert_eq!(run(AggFunc::Sum, 5, 2, &[("", 1)]).0, Value::Null);
        assert_eq!(run(AggFunc::Avg, 5, 2, &[]).0, Value::Null);
        // avg type at the cap: (38, 36) stays (38, 38) bounded; sum of (38, 2) is (38, 2).
        assert_eq!(
            run(AggFunc::Avg, 36, 36, &[]).1,
            DataType::Decimal {
                precision: 38,
                scale: 38
            }
        );
        assert_eq!(
            run(AggFunc::Sum, 38, 2, &[]).1,
            DataType::Decimal {
                precision: 38,
                scale: 2
            }
        );
    }

    #[test]
    fn decimal_states_serialize_after_the_older_ones() {
        let tag = |s: &AggState| bincode::serialize(s).expect("serializes")[..4].to_vec();
        assert_eq!(tag(&AggState::CountIf(1)), 9u32.to_le_bytes());
        let sum = AggState::SumDecimal(WideSum::new(-10i128.pow(30)), 4);
        assert_eq!(tag(&sum), 10u32.to_le_bytes());
        assert_eq!(
            tag(&AggState::AvgDecimal(WideSum::default(), 0)),
            11u32.to_le_bytes()
        );
        let back: AggState =
            bincode::deserialize(&bincode::serialize(&sum).expect("serializes")).expect("reads");
        assert_eq!(back, sum);
    }

    #[test]
    fn a_decimal_sum_beyond_its_precision_is_null() {
        // DECIMAL(28, 0) sums into DECIMAL(38, 0): 10^28 - 1 twenty times still fits, but the
        // sum of DECIMAL(38, 0)'s largest value with itself does not.
        let max28 = "9".repeat(28);
        let (sum, _) = run(AggFunc::Sum, 28, 0, &[(&max28, 20)]);
        assert_eq!(sum.to_string(), format!("199999999999999999999999999980"));
        let max38 = "9".repeat(38);
        assert_eq!(
            run(AggFunc::Sum, 38, 0, &[(&max38, 1), (&max38, 1)]).0,
            Value::Null
        );
        let (min, _) = run(AggFunc::Min, 5, 2, &[("1.50", 1), ("-0.25", 1), ("", 1)]);
        assert_eq!(min, dec("-0.25"));
        let (max, t) = run(AggFunc::Max, 5, 2, &[("1.50", 1), ("-0.25", 1)]);
        assert_eq!(
            (max, t),
            (
                dec("1.5"),
                DataType::Decimal {
                    precision: 5,
                    scale: 2
                }
            )
        );
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// A group-by keeps one state per aggregate per key: it must not grow past a value's size
    /// (an `i128` field once made it half as large again).
    #[test]
    fn a_state_is_no_larger_than_a_value() {
        assert!(
            std::mem::size_of::<AggState>() <= std::mem::size_of::<Value>().max(32),
            "AggState is {} bytes, Value {}",
            std::mem::size_of::<AggState>(),
            std::mem::size_of::<Value>()
        );
        let sum = WideSum::new(i128::from(i64::MAX) * 3 - 7);
        assert_eq!(sum.get(), i128::from(i64::MAX) * 3 - 7);
        let mut total = WideSum::new(-5);
        total += WideSum::new(i128::from(i64::MIN) * 2);
        assert_eq!(total.get(), i128::from(i64::MIN) * 2 - 5);
        let encoded = bincode::serialize(&total).expect("serializes");
        assert_eq!(
            encoded,
            bincode::serialize(&total.get()).expect("i128"),
            "as an i128"
        );
    }
}
