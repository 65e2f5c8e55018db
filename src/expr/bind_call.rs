//! Binding a scalar function call: its arity, its argument types (with Spark's implicit casts:
//! text where a date is wanted, a number where text is), its result type, and what can be
//! prepared once (a literal regex or datetime pattern, the session time zone).

use regex::Regex;

use super::bind::{window_type, BoundExpr, NowKind, Splitter};
use super::fns::json::{parse_path, PathStep};
use super::settings;
use super::sql_text::unexpected_input;
use super::{Expr, ScalarFunc};
use crate::data::datetime::{Pattern, Zone};
use crate::data::{parse_interval, parse_type, DataType, Field, Schema, Value};
use crate::error::{Error, Result};

/// A bound call of a scalar function, with what it prepared when bound.
#[derive(Clone, Debug)]
pub struct BoundCall {
    /// The function.
    pub(crate) func: ScalarFunc,
    /// Its arguments, already cast to the types the function works on.
    pub(crate) args: Vec<BoundExpr>,
    /// The arguments' types (after those casts).
    pub(crate) types: Vec<DataType>,
    /// The result type.
    pub(crate) out: DataType,
    /// The session time zone when the call was bound.
    pub(crate) zone: Zone,
    /// The regex, when the pattern argument is a literal.
    pub(crate) regex: Option<Regex>,
    /// The datetime pattern, when the format argument is a literal.
    pub(crate) pattern: Option<Pattern>,
    /// The JSON path of `get_json_object`, when it is a literal.
    pub(crate) path: Option<Vec<PathStep>>,
}

fn invalid(message: String) -> Error {
    Error::InvalidFunctionCall(message)
}

fn mismatch(message: String) -> Error {
    Error::TypeMismatch(message)
}

/// The string inside a literal argument.
fn literal_str(e: &Expr) -> Option<&str> {
    match e.unaliased() {
        Expr::Literal(Value::Str(s)) => Some(s),
        _ => None,
    }
}

/// What a function wants of an argument; the binder casts to it where Spark casts implicitly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Anything.
    Any,
    /// STRING: numbers, booleans, dates and timestamps are cast to text.
    Text,
    /// BIGINT.
    Int,
    /// DOUBLE: integers are cast.
    Double,
    /// BIGINT or DOUBLE, as they are.
    Number,
    /// DATE: text and timestamps are cast.
    Date,
    /// TIMESTAMP: text and dates are cast.
    Timestamp,
    /// BOOLEAN.
    Bool,
    /// STRING or BINARY (what digests take).
    Bytes,
    /// An array.
    Array,
}

impl Want {
    /// The type as Spark's `UNEXPECTED_INPUT_TYPE` names it, quoted.
    fn spark_type(self) -> &'static str {
        match self {
            Want::Any => "\"ANY\"",
            Want::Text => "\"STRING\"",
            Want::Int => "\"BIGINT\"",
            Want::Double => "\"DOUBLE\"",
            Want::Number => "\"NUMERIC\"",
            Want::Date => "\"DATE\"",
            Want::Timestamp => "\"TIMESTAMP\"",
            Want::Bool => "\"BOOLEAN\"",
            Want::Bytes => "(\"STRING\" or \"BINARY\")",
            Want::Array => "\"ARRAY\"",
        }
    }
}

/// Casts `e` of type `t` to what `want` asks; `None` when it cannot.
fn coerce(e: BoundExpr, t: DataType, want: Want, zone: Zone) -> Option<(BoundExpr, DataType)> {
    let cast = |to: DataType| (BoundExpr::Cast(Box::new(e.clone()), to.clone(), zone), to);
    let scalar = !matches!(t, DataType::Array(_) | DataType::Struct(_) | DataType::Binary);
    match (want, &t) {
        (_, DataType::Null) => Some((e, t)),
        (Want::Any, _) => Some((e, t)),
        (Want::Text, DataType::String) => Some((e, t)),
        (Want::Text, _) if scalar => Some(cast(DataType::String)),
        (Want::Int, DataType::Int64) => Some((e, t)),
        (Want::Double, DataType::Float64) => Some((e, t)),
        (Want::Double, DataType::Int64 | DataType::String | DataType::Decimal { .. }) => {
            Some(cast(DataType::Float64))
        }
        (Want::Number, DataType::Int64 | DataType::Float64 | DataType::Decimal { .. }) => Some((e, t)),
        (Want::Number, DataType::String) => Some(cast(DataType::Float64)),
        (Want::Date, DataType::Date) => Some((e, t)),
        (Want::Date, DataType::String | DataType::Timestamp) => Some(cast(DataType::Date)),
        (Want::Timestamp, DataType::Timestamp) => Some((e, t)),
        (Want::Timestamp, DataType::String | DataType::Date) => Some(cast(DataType::Timestamp)),
        (Want::Bool, DataType::Boolean) => Some((e, t)),
        (Want::Bytes, DataType::String | DataType::Binary) => Some((e, t)),
        (Want::Bytes, _) if scalar => Some(cast(DataType::String)),
        (Want::Array, DataType::Array(_)) => Some((e, t)),
        _ => None,
    }
}

/// Binds a call of `f` on `args`.
pub(crate) fn bind_call(f: ScalarFunc, args: &[Expr], schema: &Schema) -> Result<(BoundExpr, DataType)> {
    use ScalarFunc as F;
    let zone = settings::current().zone;
    let name = f.name();
    let n = args.len();
    let arity = |min: usize, max: usize| -> Result<()> {
        if (min..=max).contains(&n) {
            return Ok(());
        }
        let wanted = match (min, max) {
            (a, b) if a == b => format!("{a}"),
            (a, usize::MAX) => format!("at least {a}"),
            (a, b) => format!("{a} to {b}"),
        };
        Err(invalid(format!("{name}() takes {wanted} argument(s), got {n}")))
    };
    // Functions whose binding is a form of its own.
    match f {
        F::Split | F::Window | F::SlidingWindows => return bind_special(f, args, schema),
        F::SessionWindow => {
            return Err(Error::Unsupported(
                "session_window() merges a row's session with others of its key, so it can only be \
                 a group_by key"
                    .into(),
            ))
        }
        F::Interval => {
            return Err(Error::Unsupported(
                "interval() is read only in the time-range condition of a join of two streams \
                 (`col(\"c\").lt_eq(col(\"i\") + interval(\"1 minute\"))`); in SQL, use INTERVAL"
                    .into(),
            ))
        }
        F::CurrentTimestamp | F::CurrentDate | F::BatchEpoch => {
            arity(0, 0)?;
            let (kind, out) = match f {
                F::CurrentDate => (NowKind::Date, DataType::Date),
                F::BatchEpoch => (NowKind::Epoch, DataType::Int64),
                _ => (NowKind::Timestamp, DataType::Timestamp),
            };
            let expr = BoundExpr::Now {
                kind,
                zone,
                clock: Default::default(),
            };
            return Ok((expr, out));
        }
        F::TryCast => {
            arity(2, 2)?;
            let to = literal_str(&args[1])
                .map(parse_type)
                .ok_or_else(|| invalid("try_cast needs a type".into()))??;
            let (e, from) = args[0].bind(schema)?;
            check_cast(&from, &to)?;
            return Ok((call(f, vec![e], vec![from], to.clone(), zone), to));
        }
        F::GetField => {
            arity(2, 2)?;
            let (e, t) = args[0].bind(schema)?;
            let field = literal_str(&args[1]).unwrap_or_default();
            let DataType::Struct(fields) = &t else {
                return Err(mismatch(format!("cannot take field `{field}` of a {t}")));
            };
            let i = fields
                .iter()
                .position(|x| x.name.eq_ignore_ascii_case(field))
                .ok_or_else(|| Error::UnresolvedColumn {
                    name: field.to_string(),
                    available: format!(
                        "the fields {}",
                        fields
                            .iter()
                            .map(|x| x.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?;
            let out = fields[i].data_type.clone();
            return Ok((BoundExpr::Field(Box::new(e), i), out));
        }
        _ => {}
    }
    let mut bound = Vec::with_capacity(n);
    for a in args {
        bound.push(a.bind(schema)?);
    }
    let mut types: Vec<DataType> = bound.iter().map(|(_, t)| t.clone()).collect();
    let mut exprs: Vec<BoundExpr> = bound.into_iter().map(|(e, _)| e).collect();
    // Casts argument `i` to what the function wants of it.
    let want = |i: usize, w: Want, exprs: &mut Vec<BoundExpr>, types: &mut Vec<DataType>| -> Result<()> {
        let call = Expr::Call(f, args.to_vec());
        let (e, t) = coerce(exprs[i].clone(), types[i].clone(), w, zone)
            .ok_or_else(|| unexpected_input(&call, i, w.spark_type(), &args[i], &types[i]))?;
        exprs[i] = e;
        types[i] = t;
        Ok(())
    };
    let wants = |list: &[Want], exprs: &mut Vec<BoundExpr>, types: &mut Vec<DataType>| -> Result<()> {
        for (i, w) in list.iter().enumerate().take(exprs.len()) {
            want(i, *w, exprs, types)?;
        }
        Ok(())
    };
    use Want::*;
    let mut regex = None;
    let mut pattern = None;
    let mut path = None;
    let compile_regex = |i: usize| -> Result<Option<Regex>> {
        match args.get(i).and_then(literal_str) {
            Some(p) => Regex::new(&super::java_regex::translate(p))
                .map(Some)
                .map_err(|e| invalid(format!("{name}(): `{p}` is not a valid regex: {e}"))),
            None => Ok(None),
        }
    };
    let compile_pattern = |i: usize| -> Result<Option<Pattern>> {
        match args.get(i).and_then(literal_str) {
            Some(p) => Pattern::new(p)
                .map(Some)
                .map_err(|e| invalid(format!("{name}(): {e}"))),
            None => Ok(None),
        }
    };
    let out = match f {
        F::Lower | F::Upper | F::Trim | F::Ltrim | F::Rtrim | F::Initcap => {
            arity(1, 1)?;
            wants(&[Text], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Length | F::Ascii | F::OctetLength | F::BitLength => {
            arity(1, 1)?;
            wants(&[Text], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::Concat => {
            for i in 0..n {
                want(i, Text, &mut exprs, &mut types)?;
            }
            DataType::String
        }
        F::Abs => {
            arity(1, 1)?;
            wants(&[Number], &mut exprs, &mut types)?;
            types[0].clone()
        }
        F::Substring => {
            arity(2, 3)?;
            wants(&[Text, Int, Int], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Round | F::Bround => {
            arity(1, 2)?;
            wants(&[Number, Int], &mut exprs, &mut types)?;
            if n == 2 && !matches!(args[1].unaliased(), Expr::Literal(_)) {
                return Err(invalid(format!("{name}() needs its scale as an integer literal")));
            }
            match types[0] {
                // Spark's RoundBase: the scale falls to the places kept (never below 0), and
                // the whole part gets a digit for a carry (`round(9.9)` is 10).
                DataType::Decimal { precision, scale } => {
                    let places = match args.get(1).map(Expr::unaliased) {
                        Some(Expr::Literal(v)) => v.as_i64().unwrap_or(0),
                        _ => 0,
                    };
                    let whole = i64::from(precision) - i64::from(scale) + 1;
                    let (p, s) = if places < 0 {
                        (whole.max(1 - places), 0)
                    } else {
                        let s = places.min(i64::from(scale));
                        (whole + s, s)
                    };
                    DataType::Decimal {
                        precision: p.clamp(1, 38) as u8,
                        scale: s as u8,
                    }
                }
                ref t => t.clone(),
            }
        }
        F::Coalesce | F::Greatest | F::Least => {
            arity(if f == F::Coalesce { 1 } else { 2 }, usize::MAX)?;
            common_type(name, &types)?
        }
        // ----- date and time -----
        F::TimestampMillis | F::TimestampMicros => {
            arity(1, 1)?;
            wants(&[Int], &mut exprs, &mut types)?;
            DataType::Timestamp
        }
        F::TimestampSeconds => {
            arity(1, 1)?;
            wants(&[Number], &mut exprs, &mut types)?;
            DataType::Timestamp
        }
        F::UnixMillis | F::UnixSeconds | F::UnixMicros => {
            arity(1, 1)?;
            wants(&[Timestamp], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::UnixDate => {
            arity(1, 1)?;
            wants(&[Date], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::DateFromUnixDate => {
            arity(1, 1)?;
            wants(&[Int], &mut exprs, &mut types)?;
            DataType::Date
        }
        F::ToTimestamp | F::TryToTimestamp | F::ToDate => {
            arity(1, 2)?;
            if n == 2 {
                wants(&[Text, Text], &mut exprs, &mut types)?;
                pattern = compile_pattern(1)?;
            } else {
                let target = if f == F::ToDate { Date } else { Timestamp };
                wants(&[target], &mut exprs, &mut types)?;
            }
            if f == F::ToDate {
                DataType::Date
            } else {
                DataType::Timestamp
            }
        }
        F::FromUnixtime => {
            arity(1, 2)?;
            wants(&[Int, Text], &mut exprs, &mut types)?;
            pattern = if n == 2 {
                compile_pattern(1)?
            } else {
                Pattern::new("yyyy-MM-dd HH:mm:ss").ok()
            };
            DataType::String
        }
        F::UnixTimestamp => {
            arity(1, 2)?;
            if types[0] == DataType::String || n == 2 {
                wants(&[Text, Text], &mut exprs, &mut types)?;
                pattern = if n == 2 {
                    compile_pattern(1)?
                } else {
                    Pattern::new("yyyy-MM-dd HH:mm:ss").ok()
                };
            } else {
                wants(&[Timestamp], &mut exprs, &mut types)?;
            }
            DataType::Int64
        }
        F::DateFormat => {
            arity(2, 2)?;
            wants(&[Timestamp, Text], &mut exprs, &mut types)?;
            pattern = compile_pattern(1)?;
            DataType::String
        }
        F::DateTrunc => {
            arity(2, 2)?;
            wants(&[Text, Timestamp], &mut exprs, &mut types)?;
            DataType::Timestamp
        }
        F::Trunc => {
            arity(2, 2)?;
            wants(&[Date, Text], &mut exprs, &mut types)?;
            DataType::Date
        }
        F::LastDay => {
            arity(1, 1)?;
            wants(&[Date], &mut exprs, &mut types)?;
            DataType::Date
        }
        F::Year | F::Quarter | F::Month | F::DayOfMonth | F::DayOfWeek | F::DayOfYear | F::WeekOfYear => {
            arity(1, 1)?;
            wants(&[Date], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::Hour | F::Minute | F::Second => {
            arity(1, 1)?;
            wants(&[Timestamp], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::DateAdd | F::DateSub | F::AddMonths => {
            arity(2, 2)?;
            wants(&[Date, Int], &mut exprs, &mut types)?;
            DataType::Date
        }
        F::DateDiff => {
            arity(2, 2)?;
            wants(&[Date, Date], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::MonthsBetween => {
            arity(2, 3)?;
            wants(&[Timestamp, Timestamp, Bool], &mut exprs, &mut types)?;
            DataType::Float64
        }
        F::MakeDate => {
            arity(3, 3)?;
            wants(&[Int, Int, Int], &mut exprs, &mut types)?;
            DataType::Date
        }
        F::AddInterval => {
            arity(3, 3)?;
            wants(&[Any, Int, Int], &mut exprs, &mut types)?;
            match &types[0] {
                DataType::Date => {
                    if let Expr::Literal(Value::Int(micros)) = args[2].unaliased() {
                        if micros % 86_400_000_000 != 0 {
                            want(0, Timestamp, &mut exprs, &mut types)?;
                        }
                    }
                    types[0].clone()
                }
                DataType::Timestamp | DataType::Null => DataType::Timestamp,
                DataType::String => {
                    want(0, Timestamp, &mut exprs, &mut types)?;
                    DataType::Timestamp
                }
                t => return Err(mismatch(format!("cannot add an interval to a {t}"))),
            }
        }
        // ----- strings -----
        F::RegexpExtract => {
            arity(2, 3)?;
            wants(&[Text, Text, Int], &mut exprs, &mut types)?;
            regex = compile_regex(1)?;
            DataType::String
        }
        F::RegexpReplace => {
            arity(3, 3)?;
            wants(&[Text, Text, Text], &mut exprs, &mut types)?;
            regex = compile_regex(1)?;
            DataType::String
        }
        F::Rlike => {
            arity(2, 2)?;
            wants(&[Text, Text], &mut exprs, &mut types)?;
            regex = compile_regex(1)?;
            DataType::Boolean
        }
        F::Instr => {
            arity(2, 2)?;
            wants(&[Text, Text], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::Locate => {
            arity(2, 3)?;
            wants(&[Text, Text, Int], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::Lpad | F::Rpad => {
            arity(2, 3)?;
            wants(&[Text, Int, Text], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Reverse => {
            arity(1, 1)?;
            if !matches!(types[0], DataType::Array(_)) {
                wants(&[Text], &mut exprs, &mut types)?;
            }
            types[0].clone()
        }
        F::Repeat | F::Left | F::Right => {
            arity(2, 2)?;
            wants(&[Text, Int], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Translate => {
            arity(3, 3)?;
            wants(&[Text, Text, Text], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Replace => {
            arity(2, 3)?;
            wants(&[Text, Text, Text], &mut exprs, &mut types)?;
            DataType::String
        }
        F::ConcatWs => {
            arity(1, usize::MAX)?;
            want(0, Text, &mut exprs, &mut types)?;
            for i in 1..n {
                if !matches!(types[i], DataType::Array(_)) {
                    want(i, Text, &mut exprs, &mut types)?;
                }
            }
            DataType::String
        }
        F::FormatNumber => {
            arity(2, 2)?;
            wants(&[Number, Int], &mut exprs, &mut types)?;
            DataType::String
        }
        // ----- JSON and structs -----
        F::GetJsonObject => {
            arity(2, 2)?;
            wants(&[Text, Text], &mut exprs, &mut types)?;
            if let Some(p) = literal_str(&args[1]) {
                path = Some(
                    parse_path(p)
                        .ok_or_else(|| invalid(format!("get_json_object(): `{p}` is not a JSON path")))?,
                );
            }
            DataType::String
        }
        F::FromJson => {
            arity(2, 2)?;
            wants(&[Text, Any], &mut exprs, &mut types)?;
            let ddl = literal_str(&args[1]).ok_or_else(|| {
                invalid("from_json() needs its schema as a string literal, e.g. 'a INT, b STRING'".into())
            })?;
            crate::data::parse_schema_ddl(ddl)
                .map(|fields| DataType::Struct(fields.into_iter().collect()))
                .map_err(|e| invalid(format!("from_json(): {e}")))?
        }
        F::ToJson => {
            arity(1, 1)?;
            if !matches!(types[0], DataType::Struct(_) | DataType::Array(_)) {
                return Err(mismatch(format!(
                    "to_json() needs a struct or an array, got {}",
                    types[0]
                )));
            }
            DataType::String
        }
        F::NamedStruct => {
            if !n.is_multiple_of(2) || n == 0 {
                return Err(invalid(format!(
                    "named_struct() takes name, value pairs, got {n} argument(s)"
                )));
            }
            let mut fields = Vec::new();
            for pair in 0..n / 2 {
                let field = literal_str(&args[2 * pair])
                    .ok_or_else(|| invalid("named_struct() needs each name as a string literal".into()))?;
                fields.push(Field::new(field, types[2 * pair + 1].clone()));
            }
            // Only the values are evaluated.
            exprs = exprs.into_iter().skip(1).step_by(2).collect();
            types = fields.iter().map(|x| x.data_type.clone()).collect();
            DataType::Struct(fields)
        }
        F::Struct => {
            arity(1, usize::MAX)?;
            DataType::Struct(
                args.iter()
                    .zip(&types)
                    .enumerate()
                    .map(|(i, (a, t))| {
                        let field = match a {
                            Expr::Column(c) => c.rsplit('.').next().unwrap_or(c).to_string(),
                            Expr::Alias(_, alias) => alias.clone(),
                            _ => format!("col{}", i + 1),
                        };
                        Field::new(field, t.clone())
                    })
                    .collect(),
            )
        }
        // ----- arrays -----
        F::Array => DataType::Array(Box::new(if n == 0 {
            DataType::String
        } else {
            common_type(name, &types)?
        })),
        F::Size => {
            arity(1, 1)?;
            wants(&[Array], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::ElementAt | F::TryElementAt | F::GetItem => {
            arity(2, 2)?;
            wants(&[Array, Int], &mut exprs, &mut types)?;
            element_type(&types[0])
        }
        F::ArrayContains => {
            arity(2, 2)?;
            wants(&[Array], &mut exprs, &mut types)?;
            let element = element_type(&types[0]);
            if element.common(&types[1]).is_none() {
                return Err(mismatch(format!(
                    "array_contains() looks for a {} in an array<{element}>",
                    types[1]
                )));
            }
            DataType::Boolean
        }
        // ----- conditionals -----
        F::If => {
            arity(3, 3)?;
            wants(&[Bool], &mut exprs, &mut types)?;
            common_type(name, &types[1..])?
        }
        F::NullIf => {
            arity(2, 2)?;
            common_type(name, &types)?;
            types[0].clone()
        }
        F::Nvl => {
            arity(2, 2)?;
            common_type(name, &types)?
        }
        F::Nvl2 => {
            arity(3, 3)?;
            common_type(name, &types[1..])?
        }
        // ----- math -----
        F::Floor | F::Ceil => {
            arity(1, 1)?;
            wants(&[Number], &mut exprs, &mut types)?;
            match types[0] {
                // Spark: a decimal keeps its whole digits and one more for a carry, scale 0.
                DataType::Decimal { precision, scale } if scale > 0 => {
                    let (precision, scale) =
                        crate::data::decimal::bounded(i32::from(precision) - i32::from(scale) + 1, 0);
                    DataType::Decimal { precision, scale }
                }
                DataType::Decimal { .. } => types[0].clone(),
                _ => DataType::Int64,
            }
        }
        F::Sqrt | F::Exp | F::Ln | F::Log10 | F::Log2 | F::Sign => {
            arity(1, 1)?;
            wants(&[Double], &mut exprs, &mut types)?;
            DataType::Float64
        }
        F::Log => {
            arity(1, 2)?;
            wants(&[Double, Double], &mut exprs, &mut types)?;
            DataType::Float64
        }
        F::Pow => {
            arity(2, 2)?;
            wants(&[Double, Double], &mut exprs, &mut types)?;
            DataType::Float64
        }
        F::Pmod | F::Mod => {
            arity(2, 2)?;
            wants(&[Number, Number], &mut exprs, &mut types)?;
            let common = common_type(name, &types)?;
            match (types[0].decimal_parts(), types[1].decimal_parts()) {
                // Decimals (with a BIGINT as DECIMAL(20, 0)): Spark's remainder type.
                (Some(a), Some(b)) if matches!(common, DataType::Decimal { .. }) => {
                    let op = if f == F::Pmod {
                        crate::data::decimal::DecimalOp::Pmod
                    } else {
                        crate::data::decimal::DecimalOp::Rem
                    };
                    let (precision, scale) = crate::data::decimal::result_type(op, a, b);
                    DataType::Decimal { precision, scale }
                }
                _ => common,
            }
        }
        // ----- hashes -----
        F::Md5 | F::Sha1 => {
            arity(1, 1)?;
            wants(&[Bytes], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Sha2 => {
            arity(2, 2)?;
            wants(&[Bytes, Int], &mut exprs, &mut types)?;
            DataType::String
        }
        F::Crc32 => {
            arity(1, 1)?;
            wants(&[Bytes], &mut exprs, &mut types)?;
            DataType::Int64
        }
        F::Hash | F::Xxhash64 => {
            arity(1, usize::MAX)?;
            DataType::Int64
        }
        F::Split
        | F::Window
        | F::SlidingWindows
        | F::SessionWindow
        | F::Interval
        | F::TryCast
        | F::GetField
        | F::CurrentTimestamp
        | F::CurrentDate
        | F::BatchEpoch => {
            return Err(invalid(format!("{name}() cannot be called here")));
        }
    };
    if matches!(f, F::Rlike | F::RegexpExtract | F::RegexpReplace) && regex.is_none() {
        // A pattern that is a column is compiled per row; nothing to prepare.
    }
    // A conditional's values are cast to its common type, as Spark casts them: a BIGINT 0 in
    // `nvl(x, 0)` of a DOUBLE `x` is 0.0, a BIGINT 3 beside a DECIMAL(3, 2) is 3.00.
    if matches!(
        out,
        DataType::Decimal { .. }
            | DataType::Float64
            | DataType::Int64
            | DataType::String
            | DataType::Timestamp
            | DataType::Date
    ) {
        let values = match f {
            F::Coalesce | F::Greatest | F::Least | F::Nvl => 0..exprs.len(),
            F::If | F::Nvl2 => 1..exprs.len(),
            _ => 0..0,
        };
        for i in values {
            if types[i] != out && types[i] != DataType::Null {
                exprs[i] = BoundExpr::Cast(Box::new(exprs[i].clone()), out.clone(), zone);
                types[i] = out.clone();
            }
        }
    }
    let mut bound = call(f, exprs, types, out.clone(), zone);
    if let BoundExpr::Call(c) = &mut bound {
        c.regex = regex;
        c.pattern = pattern;
        c.path = path;
    }
    Ok((bound, out))
}

fn call(
    func: ScalarFunc,
    args: Vec<BoundExpr>,
    types: Vec<DataType>,
    out: DataType,
    zone: Zone,
) -> BoundExpr {
    BoundExpr::Call(Box::new(BoundCall {
        func,
        args,
        types,
        out,
        zone,
        regex: None,
        pattern: None,
        path: None,
    }))
}

/// The element type of an array type (`Null` for a null argument).
fn element_type(t: &DataType) -> DataType {
    match t {
        DataType::Array(e) => (**e).clone(),
        _ => DataType::Null,
    }
}

/// The type all of `types` fit in.
fn common_type(name: &str, types: &[DataType]) -> Result<DataType> {
    let mut t = DataType::Null;
    for arg_type in types {
        t = t
            .common(arg_type)
            .ok_or_else(|| mismatch(format!("{name}() mixes {t} and {arg_type}")))?;
    }
    Ok(t)
}

/// Whether a cast from `from` to `to` is allowed (Spark's `Cast.canCast`, for our types).
pub(crate) fn check_cast(from: &DataType, to: &DataType) -> Result<()> {
    use DataType as T;
    let atomic = |t: &T| {
        matches!(
            t,
            T::Int64 | T::Float64 | T::Boolean | T::Timestamp | T::Decimal { .. }
        )
    };
    let ok = match (from, to) {
        (a, b) if a == b => true,
        (T::Null, _) | (_, T::String) | (T::String, _) => true,
        (a, b) if atomic(a) && atomic(b) => true,
        (T::Date, T::Timestamp) | (T::Timestamp, T::Date) => true,
        (T::Int64, T::Binary) => true,
        (T::Array(a), T::Array(b)) => check_cast(a, b).is_ok() && a == b,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(mismatch(format!("cannot cast {from} to {to}")))
    }
}

/// `split`, `window`: bound into variants of their own.
fn bind_special(f: ScalarFunc, args: &[Expr], schema: &Schema) -> Result<(BoundExpr, DataType)> {
    let bound: Vec<(BoundExpr, DataType)> = args.iter().map(|a| a.bind(schema)).collect::<Result<_>>()?;
    if f == ScalarFunc::Split {
        if !(2..=3).contains(&args.len()) {
            return Err(invalid(format!(
                "split() takes a string, a pattern and maybe a limit, got {} argument(s)",
                args.len()
            )));
        }
        if !matches!(bound[0].1, DataType::String | DataType::Null) {
            return Err(mismatch(format!("split() needs a string, got {}", bound[0].1)));
        }
        let pattern = literal_str(&args[1])
            .ok_or_else(|| invalid("split() needs a string literal as its pattern".into()))?;
        let limit = match args.get(2) {
            None => -1,
            Some(limit) => match limit.unaliased() {
                Expr::Literal(Value::Int(n)) => *n,
                _ => return Err(invalid("split() needs an integer literal as its limit".into())),
            },
        };
        let splitter = Splitter::with_limit(pattern, limit)?;
        let input = bound
            .into_iter()
            .next()
            .map_or(BoundExpr::Literal(Value::Null), |(e, _)| e);
        return Ok((
            BoundExpr::Split(Box::new(input), splitter),
            DataType::Array(Box::new(DataType::String)),
        ));
    }
    if !(2..=3).contains(&args.len()) {
        return Err(invalid(format!(
            "window() takes a time column, a duration and maybe a slide, got {} argument(s)",
            args.len()
        )));
    }
    if !matches!(bound[0].1, DataType::Timestamp | DataType::Null) {
        return Err(mismatch(format!(
            "window() needs a timestamp, got {}",
            bound[0].1
        )));
    }
    let duration = |i: usize, what: &str| -> Result<i64> {
        let text = literal_str(&args[i]).ok_or_else(|| {
            invalid(format!(
                "window() needs its {what} as a string literal, e.g. '10 seconds'"
            ))
        })?;
        let micros = parse_interval(text)?.as_micros() as i64;
        if micros <= 0 {
            return Err(invalid(format!("window() needs a positive {what}, not `{text}`")));
        }
        Ok(micros)
    };
    let size = duration(1, "duration")?;
    let slide = if args.len() == 3 {
        duration(2, "slide duration")?
    } else {
        size
    };
    if slide > size {
        return Err(invalid(
            "window()'s slide duration must be at most its duration".into(),
        ));
    }
    let input = bound
        .into_iter()
        .next()
        .map_or(BoundExpr::Literal(Value::Null), |(e, _)| e);
    match (f, slide == size) {
        // Tumbling windows too, when they are grouping keys: one window, or none.
        (ScalarFunc::SlidingWindows, _) => Ok((
            BoundExpr::SlidingWindows(Box::new(input), size, slide),
            DataType::Array(Box::new(window_type())),
        )),
        (_, true) => Ok((BoundExpr::Window(Box::new(input), size), window_type())),
        (_, false) => Err(Error::Unsupported(
            "a sliding window (a slide shorter than the duration) puts a row in several \
             windows, so it can only be a group_by key"
                .into(),
        )),
    }
}
