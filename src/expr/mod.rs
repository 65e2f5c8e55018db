//! Expressions: what `select`, `filter`, `with_column` and `agg` are made of.
//!
//! An [`Expr`] is an unresolved tree built by [`col`], [`lit`], the functions in this module and
//! the operators (`col("a") + lit(1)`). Binding it against a schema ([`Expr::bind`]) resolves
//! column names to positions and checks types, giving a [`BoundExpr`] that evaluates rows.

mod aggregate;
pub(crate) mod ansi;
pub(crate) use ansi::FailureSlot;
mod bind;
mod bind_call;
mod builders;
mod clock;
mod eval;
mod fns;
mod func;
pub(crate) mod java_regex;
mod ops;
pub mod settings;
mod sort;
mod sql_text;

pub use aggregate::{Accumulator, AggFunc, AggState, WideSum};
pub(crate) use bind::window_type;
pub use bind::{BoundExpr, NowKind, SessionGap};
pub use bind_call::BoundCall;
pub use builders::*;
pub use clock::BatchClock;
pub(crate) use eval::window_starts;
pub use func::ScalarFunc;
pub use sort::{compare_rows, SortKey, SortOrder};

use crate::data::{DataType, Value};

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (always a double, as in Spark)
    Div,
    /// `%`
    Rem,
    /// `DIV`: integer division, rounded toward zero (BIGINT; null for a zero divisor).
    IntDiv,
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND` (three-valued)
    And,
    /// `OR` (three-valued)
    Or,
}

impl BinaryOp {
    /// The operator as SQL writes it.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            IntDiv => "div",
            Eq => "=",
            NotEq => "!=",
            Lt => "<",
            LtEq => "<=",
            Gt => ">",
            GtEq => ">=",
            And => "AND",
            Or => "OR",
        }
    }

    fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(self, Eq | NotEq | Lt | LtEq | Gt | GtEq)
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `NOT`
    Not,
    /// `-x`
    Negate,
    /// `x IS NULL`
    IsNull,
    /// `x IS NOT NULL`
    IsNotNull,
}

/// An unresolved expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column by name; `*` only inside `count`.
    Column(String),
    /// A constant.
    Literal(Value),
    /// An expression with an output name.
    Alias(Box<Expr>, String),
    /// A unary operator.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operator.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A scalar function call.
    Call(ScalarFunc, Vec<Expr>),
    /// `CAST(expr AS type)`
    Cast(Box<Expr>, DataType),
    /// `explode(array)`: one output row per element (a generator, only in `select`).
    Explode(Box<Expr>),
    /// An aggregate function (only in `agg`); `None` argument means `count(*)`.
    Aggregate(AggFunc, Option<Box<Expr>>),
    /// `CASE WHEN c THEN r ... ELSE e END` (a `CASE x WHEN v` form becomes `x = v` conditions).
    Case {
        /// `(condition, result)` pairs, tried in order.
        branches: Vec<(Expr, Expr)>,
        /// The result when no condition holds (null if absent).
        otherwise: Option<Box<Expr>>,
    },
    /// `expr [NOT] LIKE 'pattern'` with `%` and `_` wildcards.
    Like {
        /// The string tested.
        expr: Box<Expr>,
        /// The pattern.
        pattern: String,
        /// `NOT LIKE`.
        negated: bool,
    },
}

impl Expr {
    /// Gives the expression an output name, like Spark's `Column.alias`.
    pub fn alias(self, name: impl Into<String>) -> Expr {
        Expr::Alias(Box::new(self.unaliased().clone()), name.into())
    }

    /// Spark's `Column.as` (an alias).
    pub fn as_(self, name: impl Into<String>) -> Expr {
        self.alias(name)
    }

    /// The expression under any alias.
    pub fn unaliased(&self) -> &Expr {
        match self {
            Expr::Alias(e, _) => e.unaliased(),
            e => e,
        }
    }

    /// `self = other`
    pub fn eq(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::Eq, self, other.into())
    }
    /// `self != other`
    pub fn not_eq(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::NotEq, self, other.into())
    }
    /// `self < other`
    pub fn lt(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::Lt, self, other.into())
    }
    /// `self <= other`
    pub fn lt_eq(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::LtEq, self, other.into())
    }
    /// `self > other`
    pub fn gt(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::Gt, self, other.into())
    }
    /// `self >= other`
    pub fn gt_eq(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::GtEq, self, other.into())
    }
    /// `self AND other`
    pub fn and(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::And, self, other.into())
    }
    /// `self OR other`
    pub fn or(self, other: impl Into<Expr>) -> Expr {
        Expr::binary(BinaryOp::Or, self, other.into())
    }
    /// `self IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::Unary(UnaryOp::IsNull, Box::new(self))
    }
    /// `self IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::Unary(UnaryOp::IsNotNull, Box::new(self))
    }
    /// `CAST(self AS data_type)`
    pub fn cast(self, data_type: DataType) -> Expr {
        Expr::Cast(Box::new(self), data_type)
    }
    /// `self LIKE pattern` (`%` any run, `_` one character).
    pub fn like(self, pattern: &str) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: pattern.to_string(),
            negated: false,
        }
    }
    /// `self IN (values...)`: true if equal to one, null if none is equal but one is null.
    pub fn is_in(self, values: impl IntoIterator<Item = Expr>) -> Expr {
        values
            .into_iter()
            .map(|v| self.clone().eq(v))
            .reduce(Expr::or)
            .unwrap_or(Expr::Literal(Value::Bool(false)))
    }
    /// `self BETWEEN low AND high`
    pub fn between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        self.clone().gt_eq(low).and(self.lt_eq(high))
    }

    fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary(op, Box::new(left), Box::new(right))
    }

    /// True if an `explode` occurs anywhere in the tree.
    pub fn contains_generator(&self) -> bool {
        self.any(&|e| matches!(e, Expr::Explode(_)))
    }

    /// True if an aggregate function occurs anywhere in the tree.
    pub fn contains_aggregate(&self) -> bool {
        self.any(&|e| matches!(e, Expr::Aggregate(..)))
    }

    fn any(&self, pred: &dyn Fn(&Expr) -> bool) -> bool {
        let mut found = false;
        self.for_each(&mut |e| found |= pred(e));
        found
    }

    /// Calls `f` on this expression and every expression inside it, parents first.
    pub fn for_each(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Literal(_) => {}
            Expr::Alias(e, _) | Expr::Unary(_, e) | Expr::Cast(e, _) | Expr::Explode(e) => e.for_each(f),
            Expr::Like { expr, .. } => expr.for_each(f),
            Expr::Binary(_, l, r) => {
                l.for_each(f);
                r.for_each(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.for_each(f)),
            Expr::Aggregate(_, arg) => {
                if let Some(a) = arg {
                    a.for_each(f)
                }
            }
            Expr::Case { branches, otherwise } => {
                for (c, r) in branches {
                    c.for_each(f);
                    r.for_each(f);
                }
                if let Some(o) = otherwise {
                    o.for_each(f);
                }
            }
        }
    }

    /// The expression as SQL-like text, with aliases as `expr AS name` (for explain).
    pub fn sql_text(&self) -> String {
        match self {
            Expr::Alias(e, name) => format!("{} AS {name}", e.sql_text()),
            Expr::Explode(inner) => format!("explode({})", inner.output_name()),
            e => e.output_name(),
        }
    }

    /// The column name Spark would give this expression's output.
    pub fn output_name(&self) -> String {
        match self {
            Expr::Column(name) => crate::data::written_column_name(name).to_string(),
            Expr::Literal(v) => match v {
                Value::Str(s) => s.to_string(),
                v => v.to_string(),
            },
            Expr::Alias(_, name) => name.clone(),
            Expr::Unary(op, e) => match op {
                UnaryOp::Not => format!("(NOT {})", e.output_name()),
                UnaryOp::Negate => format!("(- {})", e.output_name()),
                UnaryOp::IsNull => format!("({} IS NULL)", e.output_name()),
                UnaryOp::IsNotNull => format!("({} IS NOT NULL)", e.output_name()),
            },
            Expr::Binary(op, l, r) => {
                format!("({} {} {})", l.output_name(), op.symbol(), r.output_name())
            }
            // Spark names a window column `window`.
            Expr::Call(ScalarFunc::Window | ScalarFunc::SlidingWindows, _) => "window".into(),
            Expr::Call(ScalarFunc::SessionWindow, _) => "session_window".into(),
            Expr::Call(ScalarFunc::TryCast, args) if args.len() == 2 => format!(
                "TRY_CAST({} AS {})",
                args[0].output_name(),
                args[1].output_name().to_uppercase()
            ),
            Expr::Call(ScalarFunc::GetField, args) if args.len() == 2 => {
                format!("{}.{}", args[0].output_name(), args[1].output_name())
            }
            Expr::Call(ScalarFunc::GetItem, args) if args.len() == 2 => {
                format!("{}[{}]", args[0].output_name(), args[1].output_name())
            }
            // Spark's `split` always has its limit, -1 unless given: `split(value,  , -1)`.
            Expr::Call(ScalarFunc::Split, args) if args.len() == 2 => {
                format!("split({}, {}, -1)", args[0].output_name(), args[1].output_name())
            }
            Expr::Call(ScalarFunc::AddInterval, args) if args.len() == 3 => {
                format!("{} + INTERVAL", args[0].output_name())
            }
            Expr::Call(f, args) => {
                let args: Vec<String> = args.iter().map(Expr::output_name).collect();
                format!("{}({})", f.name(), args.join(", "))
            }
            Expr::Cast(e, t) => format!("CAST({} AS {})", e.output_name(), t.sql_name().to_uppercase()),
            // Spark names an unaliased generator's output `col`.
            Expr::Explode(_) => "col".into(),
            Expr::Aggregate(f, arg) => match arg {
                None => format!("{}(1)", f.name()),
                Some(a) if *f == AggFunc::CountDistinct => format!("count(DISTINCT {})", a.output_name()),
                // `max_by(x, ord)` keeps `struct(ord, x)` as its argument.
                Some(a) if matches!(f, AggFunc::MaxBy | AggFunc::MinBy) => match a.unaliased() {
                    Expr::Call(ScalarFunc::Struct, pair) if pair.len() == 2 => {
                        format!(
                            "{}({}, {})",
                            f.name(),
                            pair[1].output_name(),
                            pair[0].output_name()
                        )
                    }
                    other => format!("{}({})", f.name(), other.output_name()),
                },
                Some(a) => format!("{}({})", f.name(), a.output_name()),
            },
            Expr::Case { branches, otherwise } => {
                let mut s = String::from("CASE");
                for (c, r) in branches {
                    s.push_str(&format!(" WHEN {} THEN {}", c.output_name(), r.output_name()));
                }
                if let Some(o) = otherwise {
                    s.push_str(&format!(" ELSE {}", o.output_name()));
                }
                s + " END"
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                format!("{} {not}LIKE {pattern}", expr.output_name())
            }
        }
    }
}

impl From<Value> for Expr {
    fn from(v: Value) -> Self {
        Expr::Literal(v)
    }
}
impl From<&str> for Expr {
    /// A bare string converts to a literal, as in `col("a").eq("x")`.
    fn from(s: &str) -> Self {
        Expr::Literal(Value::str(s))
    }
}
impl From<i64> for Expr {
    fn from(i: i64) -> Self {
        Expr::Literal(Value::Int(i))
    }
}
impl From<i32> for Expr {
    fn from(i: i32) -> Self {
        Expr::Literal(Value::Int(i64::from(i)))
    }
}
impl From<f64> for Expr {
    fn from(f: f64) -> Self {
        Expr::Literal(Value::Float(f))
    }
}
impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Literal(Value::Bool(b))
    }
}
