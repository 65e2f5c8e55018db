//! Binding: resolving an [`Expr`] against a schema into a [`BoundExpr`] with a known type.

use super::clock::BatchClock;
use regex::Regex;

use super::bind_call::{bind_call, check_cast, BoundCall};
use super::settings;
use super::sql_text::{datatype_mismatch, quoted_type, unexpected_input};
use super::{BinaryOp, Expr, UnaryOp};
use crate::data::datetime::Zone;
use crate::data::decimal::{self, DecimalOp};
use crate::data::{DataType, Field, Schema, Value};
use crate::error::{Error, Result};

/// An expression whose columns are positions and whose type is known; evaluates rows.
#[derive(Clone, Debug)]
pub enum BoundExpr {
    /// The value at this position.
    Column(usize),
    /// A constant.
    Literal(Value),
    /// A unary operator.
    Unary(UnaryOp, Box<BoundExpr>),
    /// A binary operator; `integer` says both sides are BIGINT (integer arithmetic).
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<BoundExpr>,
        /// Right operand.
        right: Box<BoundExpr>,
        /// Both operands are integers.
        integer: bool,
    },
    /// Exact decimal arithmetic: both operands are DECIMALs (a BIGINT operand is cast to
    /// DECIMAL(20, 0) first), and the result is fitted to the type Spark's precision rules
    /// give, null when it does not fit (non-ANSI).
    Decimal {
        /// The operator.
        op: DecimalOp,
        /// Left operand.
        left: Box<BoundExpr>,
        /// Right operand.
        right: Box<BoundExpr>,
        /// The result's precision.
        precision: u8,
        /// The result's scale.
        scale: u8,
    },
    /// `split` with its pattern compiled once.
    Split(Box<BoundExpr>, Splitter),
    /// `window` of a timestamp, its duration in microseconds.
    Window(Box<BoundExpr>, i64),
    /// Every sliding window of a timestamp: duration and slide in microseconds.
    SlidingWindows(Box<BoundExpr>, i64, i64),
    /// The session a row opens, `[time, time + gap)`, before it merges with its key's others:
    /// the time, and the gap as fixed microseconds or as an interval string per row. Null
    /// without a time, or for a gap that is not a positive interval (Spark drops such rows).
    SessionStart(Box<BoundExpr>, SessionGap),
    /// A struct's field, by position.
    Field(Box<BoundExpr>, usize),
    /// Any other scalar function.
    Call(Box<BoundCall>),
    /// A cast to a type, in the session time zone of when it was bound.
    Cast(Box<BoundExpr>, DataType, Zone),
    /// An expression bound under ANSI mode that raises Spark's ANSI errors (division by zero,
    /// overflow, a malformed cast...) where it would otherwise give null: the node itself, whose
    /// operands are bound as usual, and where its errors go once a query attached its slot
    /// (see `expr::ansi`).
    Ansi(Box<BoundExpr>, Option<super::ansi::FailureSlot>),
    /// `CASE`: the first branch whose condition is true gives the value.
    Case {
        /// `(condition, result)` pairs.
        branches: Vec<(BoundExpr, BoundExpr)>,
        /// The value when no condition holds.
        otherwise: Box<BoundExpr>,
    },
    /// `LIKE`, compiled to an anchored regex; the flag is `NOT LIKE`.
    Like(Box<BoundExpr>, Regex, bool),
    /// `current_timestamp()` / `now()`, `current_date()` (the day in `zone`), or the epoch's
    /// number (the order `first` and `last` go by): the batch time of the epoch being run, the
    /// same for all its rows (see [`BatchClock`]).
    Now {
        /// Which of the three.
        kind: NowKind,
        /// The session time zone, for `current_date()`.
        zone: Zone,
        /// Where the time is read.
        clock: BatchClock,
    },
}

/// What [`BoundExpr::Now`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NowKind {
    /// `current_timestamp()`: a TIMESTAMP.
    Timestamp,
    /// `current_date()`: a DATE.
    Date,
    /// The epoch's number, a BIGINT (internal: the arrival order of `first` and `last`).
    Epoch,
}

/// The gap of a session window.
#[derive(Clone, Debug)]
pub enum SessionGap {
    /// A literal interval, in microseconds.
    Fixed(i64),
    /// An expression giving an interval string (`'5 seconds'`) per row.
    PerRow(Box<BoundExpr>),
}

/// How `split` cuts a string: a plain `str::split` when the pattern has no regex syntax (the
/// common `split(value, " ")`, several times faster), a compiled regex otherwise.
#[derive(Clone, Debug)]
pub enum Splitter {
    /// A pattern without regex metacharacters, matched literally.
    Literal(String),
    /// The empty pattern: Spark's `UTF8String.split` cuts a non-empty string into its
    /// characters, with no empty piece at either end.
    Chars,
    /// A compiled regular expression.
    Regex(Regex),
    /// `split(s, pattern, limit)` with `limit > 0`: at most `limit` pieces, the last holding
    /// the rest of the string, separators and all (Java's `String.split` with a limit).
    Limited(Box<Splitter>, usize),
}

impl Splitter {
    /// The splitter of `pattern` with Spark's `limit`: at most `limit` pieces when it is
    /// positive, every piece otherwise.
    pub(crate) fn with_limit(pattern: &str, limit: i64) -> Result<Self> {
        let splitter = Self::new(pattern)?;
        Ok(match usize::try_from(limit) {
            Ok(limit) if limit > 0 => Splitter::Limited(Box::new(splitter), limit),
            _ => splitter,
        })
    }

    pub(crate) fn new(pattern: &str) -> Result<Self> {
        if pattern.is_empty() {
            Ok(Splitter::Chars)
        } else if pattern.chars().any(|c| r"\.+*?()|[]{}^$".contains(c)) {
            Regex::new(&super::java_regex::translate(pattern))
                .map(Splitter::Regex)
                .map_err(|e| Error::InvalidFunctionCall(format!("split: bad pattern `{pattern}`: {e}")))
        } else {
            Ok(Splitter::Literal(pattern.to_string()))
        }
    }

    /// Calls `f` with each piece of `s`, empty pieces included. A one-byte pattern (the usual
    /// `" "`, an ASCII character) is found by a plain walk over the bytes: the pieces are
    /// words of a few bytes, too short for a `memchr` search per piece to pay for itself.
    pub fn for_each<'a>(&self, s: &'a str, mut f: impl FnMut(&'a str)) {
        match self {
            Splitter::Literal(p) if p.len() == 1 => {
                let byte = p.as_bytes()[0];
                let mut start = 0;
                for (i, b) in s.bytes().enumerate() {
                    if b == byte {
                        // An ASCII byte is always a character boundary.
                        f(s.get(start..i).unwrap_or_default());
                        start = i + 1;
                    }
                }
                f(s.get(start..).unwrap_or_default())
            }
            Splitter::Literal(p) => s.split(p.as_str()).for_each(f),
            Splitter::Limited(inner, limit) => {
                // The pieces are slices of `s`: the last one wanted runs from where it starts
                // to the end of `s`, and the pieces after it are part of it.
                let mut count = 0;
                let mut each = |piece: &'a str| {
                    count += 1;
                    if count < *limit {
                        f(piece)
                    } else if count == *limit {
                        let start = piece.as_ptr() as usize - s.as_ptr() as usize;
                        f(s.get(start..).unwrap_or_default())
                    }
                };
                // Through a trait object: a closure type of its own would instantiate this
                // function again for every level.
                inner.for_each(s, &mut each as &mut dyn FnMut(&'a str));
            }
            // An empty string is one empty piece, as Java's split of it gives.
            Splitter::Chars if s.is_empty() => f(s),
            Splitter::Chars => {
                for (i, c) in s.char_indices() {
                    f(s.get(i..i + c.len_utf8()).unwrap_or_default());
                }
            }
            // Java's `String.split(regex, -1)`: an empty match at the very start makes no empty
            // first piece, and empty pieces elsewhere, trailing ones too, are kept. Matches are
            // found as Java's `Matcher.find` finds them: the search goes on from a match's end,
            // where an empty match may follow a non-empty one, and one character past an empty
            // match.
            Splitter::Regex(r) => {
                let (mut start, mut from) = (0, 0);
                while let Some(found) = r.find_at(s, from) {
                    if !(found.start() == 0 && found.end() == 0) {
                        f(s.get(start..found.start()).unwrap_or_default());
                        start = found.end();
                    }
                    from = if found.is_empty() {
                        match s.get(found.end()..).and_then(|rest| rest.chars().next()) {
                            Some(c) => found.end() + c.len_utf8(),
                            None => break,
                        }
                    } else {
                        found.end()
                    };
                }
                f(s.get(start..).unwrap_or_default());
            }
        }
    }
}

impl Expr {
    /// Resolves columns against `schema` and checks types. Generators (`explode`) and
    /// aggregates are not scalar; the plan binds their arguments itself. Under ANSI mode (see
    /// [`settings`]), the expressions that raise Spark's ANSI errors are wrapped in
    /// [`BoundExpr::Ansi`].
    pub fn bind(&self, schema: &Schema) -> Result<(BoundExpr, DataType)> {
        let (bound, t) = self.bind_node(schema)?;
        if settings::current().ansi && super::ansi::needs_check(&bound) {
            return Ok((BoundExpr::Ansi(Box::new(bound), None), t));
        }
        Ok((bound, t))
    }

    fn bind_node(&self, schema: &Schema) -> Result<(BoundExpr, DataType)> {
        match self {
            Expr::Column(name) => bind_column(name, schema),
            Expr::Literal(v) => Ok((
                BoundExpr::Literal(v.clone()),
                v.data_type().unwrap_or(DataType::Null),
            )),
            Expr::Alias(e, _) => e.bind(schema),
            Expr::Unary(op, operand) => {
                let (e, t) = operand.bind(schema)?;
                let out = match op {
                    UnaryOp::Not => {
                        if !matches!(t, DataType::Boolean | DataType::Null) {
                            return Err(unexpected_input(self, 0, "\"BOOLEAN\"", operand, &t));
                        }
                        DataType::Boolean
                    }
                    UnaryOp::Negate => {
                        if !t.is_numeric() && t != DataType::Null {
                            return Err(unexpected_input(self, 0, "\"NUMERIC\"", operand, &t));
                        }
                        t
                    }
                    UnaryOp::IsNull | UnaryOp::IsNotNull => DataType::Boolean,
                };
                Ok((BoundExpr::Unary(*op, Box::new(e)), out))
            }
            Expr::Binary(op, l, r) => bind_binary(*op, l, r, schema),
            Expr::Call(f, args) => bind_call(*f, args, schema),
            Expr::Cast(e, to) => {
                let (e, from) = e.bind(schema)?;
                check_cast(&from, to).map_err(|_| {
                    datatype_mismatch(
                        "DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION",
                        self,
                        format!("cannot cast {} to {}.", quoted_type(&from), quoted_type(to)),
                    )
                })?;
                Ok((
                    BoundExpr::Cast(Box::new(e), to.clone(), settings::current().zone),
                    to.clone(),
                ))
            }
            Expr::Case { branches, otherwise } => {
                let mut bound = Vec::with_capacity(branches.len());
                let mut result_type = DataType::Null;
                // Spark's `DATA_DIFF_TYPES` lists every result's type.
                let mut result_types = Vec::new();
                let mixed = |types: &[DataType]| {
                    let types: Vec<String> = types.iter().map(quoted_type).collect();
                    datatype_mismatch(
                        "DATATYPE_MISMATCH.DATA_DIFF_TYPES",
                        self,
                        format!(
                            "Input to `casewhen` should all be the same type, but it's [{}].",
                            types.join(", ")
                        ),
                    )
                };
                for (i, (condition, result)) in branches.iter().enumerate() {
                    let (c, ct) = condition.bind(schema)?;
                    if !matches!(ct, DataType::Boolean | DataType::Null) {
                        return Err(unexpected_input(self, 2 * i, "\"BOOLEAN\"", condition, &ct));
                    }
                    let (r, rt) = result.bind(schema)?;
                    result_types.push(rt.clone());
                    result_type = match result_type.common(&rt) {
                        Some(t) => t,
                        None => return Err(mixed(&result_types)),
                    };
                    bound.push((c, r));
                }
                let otherwise = match otherwise {
                    Some(o) => {
                        let (o, ot) = o.bind(schema)?;
                        result_types.push(ot.clone());
                        result_type = match result_type.common(&ot) {
                            Some(t) => t,
                            None => return Err(mixed(&result_types)),
                        };
                        o
                    }
                    None => BoundExpr::Literal(Value::Null),
                };
                let (bound, otherwise) = if matches!(result_type, DataType::Decimal { .. }) {
                    // Every branch held at the one decimal type (BIGINT 5 as 5.00).
                    let zone = settings::current().zone;
                    let to = |e: BoundExpr| BoundExpr::Cast(Box::new(e), result_type.clone(), zone);
                    (
                        bound.into_iter().map(|(c, r)| (c, to(r))).collect(),
                        to(otherwise),
                    )
                } else {
                    (bound, otherwise)
                };
                Ok((
                    BoundExpr::Case {
                        branches: bound,
                        otherwise: Box::new(otherwise),
                    },
                    result_type,
                ))
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let (e, t) = expr.bind(schema)?;
                expect(&t, DataType::String, "LIKE")?;
                Ok((
                    BoundExpr::Like(Box::new(e), like_regex(pattern)?, *negated),
                    DataType::Boolean,
                ))
            }
            Expr::Explode(_) => Err(Error::InvalidPlan(
                "explode is a generator: use it only as a top-level item of select".into(),
            )),
            Expr::Aggregate(f, _) => Err(Error::InvalidPlan(format!(
                "aggregate function {}() is only allowed in agg()/GROUP BY queries",
                f.name()
            ))),
        }
    }
}

/// A column by name; `a.b` is field `b` of struct column `a` (`window.start`), or else column
/// `b` under the qualifier `a` (`t.b` in SQL).
fn bind_column(name: &str, schema: &Schema) -> Result<(BoundExpr, DataType)> {
    if let Some((dataset, column)) = crate::data::dataset_column_parts(name) {
        // A DataFrame's own column (`df["c"]`); where no column of this scope is that
        // DataFrame's (a projection computed them all anew), the plain name.
        return match schema.index_in_dataset(dataset, column) {
            Some(i) => Ok((BoundExpr::Column(i), schema.fields()[i].data_type.clone())),
            None => bind_column(column, schema),
        };
    }
    if let Some(i) = schema.index_of(name) {
        return Ok((BoundExpr::Column(i), schema.fields()[i].data_type.clone()));
    }
    let Some((base, rest)) = name.split_once('.') else {
        return Err(unresolved(name, schema));
    };
    if let Some(i) = schema.index_of(base) {
        if let DataType::Struct(_) = &schema.fields()[i].data_type {
            // `a.b.c`: fields of fields, as deep as the name goes.
            let (mut e, mut t) = (BoundExpr::Column(i), schema.fields()[i].data_type.clone());
            for part in rest.split('.') {
                let DataType::Struct(fields) = &t else {
                    return Err(Error::TypeMismatch(format!(
                        "`{name}`: {t} has no field `{part}`"
                    )));
                };
                let j = fields
                    .iter()
                    .position(|f| f.name.eq_ignore_ascii_case(part))
                    .ok_or_else(|| {
                        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                        Error::UnresolvedColumn {
                            name: name.to_string(),
                            available: format!("the fields of `{base}`: {}", names.join(", ")),
                        }
                    })?;
                t = fields[j].data_type.clone();
                e = BoundExpr::Field(Box::new(e), j);
            }
            return Ok((e, t));
        }
    }
    let of_relation = schema.positions_of(base);
    if !of_relation.is_empty() {
        // `r.s.f`: field `f` of struct column `s` of relation `r`.
        let columns = Schema::new(of_relation.iter().map(|&i| schema.fields()[i].clone()));
        let (bound, t) = bind_column(rest, &columns).map_err(|_| unresolved(name, schema))?;
        return Ok((in_whole_schema(bound, &of_relation), t));
    }
    if schema.is_qualified() {
        // In a join's scope, whose columns know their relations, `r.c` names column `c` of
        // relation `r` or nothing: any other `c` would be another relation's.
        return Err(unresolved(name, schema));
    }
    bind_column(rest, schema).map_err(|_| unresolved(name, schema))
}

/// A column, or a field of one, bound against some of a schema's columns (`positions`), as
/// bound against the whole schema.
fn in_whole_schema(bound: BoundExpr, positions: &[usize]) -> BoundExpr {
    match bound {
        BoundExpr::Column(i) => BoundExpr::Column(positions[i]),
        BoundExpr::Field(inner, j) => BoundExpr::Field(Box::new(in_whole_schema(*inner, positions)), j),
        other => other,
    }
}

/// The type of a window: a struct of its start and (exclusive) end.
pub(crate) fn window_type() -> DataType {
    DataType::Struct(vec![
        Field::new("start", DataType::Timestamp),
        Field::new("end", DataType::Timestamp),
    ])
}

/// Translates a SQL `LIKE` pattern (`%`, `_`, `\` escapes) into an anchored regex.
fn like_regex(pattern: &str) -> Result<Regex> {
    let mut re = String::from("(?s)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            '\\' => {
                if let Some(next) = chars.next() {
                    re.push_str(&regex::escape(&next.to_string()));
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| Error::InvalidFunctionCall(format!("bad LIKE pattern `{pattern}`: {e}")))
}

fn unresolved(name: &str, schema: &Schema) -> Error {
    Error::UnresolvedColumn {
        name: name.to_string(),
        available: schema.names().join(", "),
    }
}

fn mismatch(message: String) -> Error {
    Error::TypeMismatch(message)
}

fn expect(actual: &DataType, wanted: DataType, what: &str) -> Result<()> {
    if *actual == wanted || *actual == DataType::Null {
        Ok(())
    } else {
        Err(mismatch(format!("{what} needs {wanted}, got {actual}")))
    }
}

/// A binary operator with a DECIMAL operand, by Spark's `DecimalPrecision` rules: with a
/// DOUBLE the decimal becomes a DOUBLE (so does `div`'s); with a BIGINT the integer becomes
/// DECIMAL(20, 0); comparisons then compare exact values, and `+ - * / %` compute exactly and
/// fit the result to its type. `None` leaves the operator to the general rules (and their type
/// errors), for an operand that is not a number.
fn bind_decimal_binary(
    op: BinaryOp,
    (left, lt): (&BoundExpr, &DataType),
    (right, rt): (&BoundExpr, &DataType),
) -> Option<(BoundExpr, DataType)> {
    let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
    if !numeric(lt) || !numeric(rt) {
        return None;
    }
    let zone = settings::current().zone;
    let cast = |e: &BoundExpr, from: &DataType, to: &DataType| {
        if from == to || *from == DataType::Null {
            e.clone()
        } else {
            BoundExpr::Cast(Box::new(e.clone()), to.clone(), zone)
        }
    };
    let float = *lt == DataType::Float64 || *rt == DataType::Float64 || op == BinaryOp::IntDiv;
    if float {
        let out = if op.is_comparison() {
            DataType::Boolean
        } else if op == BinaryOp::IntDiv {
            DataType::Int64
        } else {
            DataType::Float64
        };
        let binary = BoundExpr::Binary {
            op,
            left: Box::new(cast(left, lt, &DataType::Float64)),
            right: Box::new(cast(right, rt, &DataType::Float64)),
            integer: false,
        };
        return Some((binary, out));
    }
    // Each side as a decimal type; a NULL takes the other side's. An integer literal beside a
    // decimal takes only the digits it has (`2` is DECIMAL(1, 0), not BIGINT's DECIMAL(20, 0)),
    // as Spark's `DecimalType.fromLiteral` gives it, so `d * 2` does not widen `d` needlessly.
    let parts = |e: &BoundExpr, t: &DataType, other: &DataType| match e {
        BoundExpr::Literal(Value::Int(i)) if matches!(other, DataType::Decimal { .. }) => {
            Some((decimal::Decimal::new(i128::from(*i), 0).precision(), 0))
        }
        _ => t.decimal_parts().or_else(|| other.decimal_parts()),
    };
    let (a, b) = (parts(left, lt, rt)?, parts(right, rt, lt)?);
    let as_type = |(precision, scale): (u8, u8)| DataType::Decimal { precision, scale };
    let (left, right) = (
        Box::new(cast(left, lt, &as_type(a))),
        Box::new(cast(right, rt, &as_type(b))),
    );
    if op.is_comparison() {
        let binary = BoundExpr::Binary {
            op,
            left,
            right,
            integer: false,
        };
        return Some((binary, DataType::Boolean));
    }
    let decimal_op = match op {
        BinaryOp::Add => DecimalOp::Add,
        BinaryOp::Sub => DecimalOp::Sub,
        BinaryOp::Mul => DecimalOp::Mul,
        BinaryOp::Div => DecimalOp::Div,
        BinaryOp::Rem => DecimalOp::Rem,
        _ => return None,
    };
    let (precision, scale) = decimal::result_type(decimal_op, a, b);
    let bound = BoundExpr::Decimal {
        op: decimal_op,
        left,
        right,
        precision,
        scale,
    };
    Some((bound, DataType::Decimal { precision, scale }))
}

fn bind_binary(op: BinaryOp, l: &Expr, r: &Expr, schema: &Schema) -> Result<(BoundExpr, DataType)> {
    let (left, lt) = l.bind(schema)?;
    let (right, rt) = r.bind(schema)?;
    let is_decimal = |t: &DataType| matches!(t, DataType::Decimal { .. });
    if (is_decimal(&lt) || is_decimal(&rt)) && !matches!(op, BinaryOp::And | BinaryOp::Or) {
        if let Some(bound) = bind_decimal_binary(op, (&left, &lt), (&right, &rt)) {
            return Ok(bound);
        }
    }
    let integer = lt == DataType::Int64 && rt == DataType::Int64;
    let whole = || Expr::Binary(op, Box::new(l.clone()), Box::new(r.clone()));
    // Spark's checks of a binary operator: first that both sides have one type (after the
    // implicit casts, which are ours here: a null, or two numbers), then that the operator
    // takes that type.
    let diff_types = || {
        datatype_mismatch(
            "DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES",
            &whole(),
            format!(
                "the left and right operands of the binary operator have incompatible types ({} and {}).",
                quoted_type(&lt),
                quoted_type(&rt)
            ),
        )
    };
    let wrong_type = |wanted: &str, actual: &DataType| {
        datatype_mismatch(
            "DATATYPE_MISMATCH.BINARY_OP_WRONG_TYPE",
            &whole(),
            format!(
                "the binary operator requires the input type {wanted}, not {}.",
                quoted_type(actual)
            ),
        )
    };
    let out = match op {
        BinaryOp::And | BinaryOp::Or => {
            let boolean = |t: &DataType| matches!(t, DataType::Boolean | DataType::Null);
            if !boolean(&lt) || !boolean(&rt) {
                if lt != rt && lt != DataType::Null && rt != DataType::Null {
                    return Err(diff_types());
                }
                let actual = if boolean(&lt) { &rt } else { &lt };
                return Err(wrong_type("\"BOOLEAN\"", actual));
            }
            DataType::Boolean
        }
        op if op.is_comparison() => {
            if lt.common(&rt).is_none() {
                return Err(diff_types());
            }
            DataType::Boolean
        }
        _ => {
            let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
            if !numeric(&lt) || !numeric(&rt) {
                if lt != rt && lt != DataType::Null && rt != DataType::Null {
                    return Err(diff_types());
                }
                let actual = if numeric(&lt) { &rt } else { &lt };
                return Err(wrong_type("\"NUMERIC\"", actual));
            }
            if op == BinaryOp::Div {
                DataType::Float64
            } else if op == BinaryOp::IntDiv || integer || (lt == DataType::Null && rt == DataType::Null) {
                DataType::Int64
            } else {
                lt.common(&rt).unwrap_or(DataType::Float64)
            }
        }
    };
    Ok((
        BoundExpr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            integer,
        },
        out,
    ))
}
