//! [`SortOrder`]: an expression with a direction and a place for nulls, what `order_by` takes
//! (Spark's `col("count").desc()`, SQL's `ORDER BY count DESC NULLS LAST`).

use std::cmp::Ordering;

use super::{BoundExpr, Expr};
use crate::data::Row;

/// One key of a sort: the expression, its direction, and whether nulls come first. As in
/// Spark, ascending puts nulls first and descending puts them last unless told otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct SortOrder {
    /// What is compared.
    pub expr: Expr,
    /// Largest first.
    pub descending: bool,
    /// Nulls before every value (else after).
    pub nulls_first: bool,
}

impl SortOrder {
    /// `expr` ascending, nulls first (Spark's default).
    pub fn asc(expr: Expr) -> Self {
        SortOrder {
            expr,
            descending: false,
            nulls_first: true,
        }
    }

    /// `expr` descending, nulls last (Spark's default for `DESC`).
    pub fn desc(expr: Expr) -> Self {
        SortOrder {
            expr,
            descending: true,
            nulls_first: false,
        }
    }

    /// The same order with nulls placed first (`true`) or last.
    pub fn nulls_first(mut self, first: bool) -> Self {
        self.nulls_first = first;
        self
    }

    /// As SQL writes it: `count DESC NULLS LAST` (for explain).
    pub fn sql_text(&self) -> String {
        format!(
            "{} {} NULLS {}",
            self.expr.output_name(),
            if self.descending { "DESC" } else { "ASC" },
            if self.nulls_first { "FIRST" } else { "LAST" }
        )
    }
}

/// An expression converts to its ascending order, so `order_by([col("word")])` sorts up.
impl From<Expr> for SortOrder {
    fn from(expr: Expr) -> Self {
        SortOrder::asc(expr)
    }
}

impl Expr {
    /// Ascending, nulls first (Spark's `Column.asc`).
    pub fn asc(self) -> SortOrder {
        SortOrder::asc(self)
    }
    /// Ascending, nulls last (Spark's `Column.asc_nulls_last`).
    pub fn asc_nulls_last(self) -> SortOrder {
        SortOrder::asc(self).nulls_first(false)
    }
    /// Descending, nulls last (Spark's `Column.desc`).
    pub fn desc(self) -> SortOrder {
        SortOrder::desc(self)
    }
    /// Descending, nulls first (Spark's `Column.desc_nulls_first`).
    pub fn desc_nulls_first(self) -> SortOrder {
        SortOrder::desc(self).nulls_first(true)
    }
}

/// A bound sort key, ready to compare rows.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// The key, bound to the input's columns.
    pub key: BoundExpr,
    /// Largest first.
    pub descending: bool,
    /// Nulls before every value.
    pub nulls_first: bool,
}

impl SortKey {
    /// Compares two rows on this key. Values compare as everywhere in the engine (strings by
    /// the bytes of their UTF-8, so uppercase before lowercase before other scripts, as in
    /// Spark); nulls go where the key says, whatever the direction.
    pub fn compare(&self, a: &Row, b: &Row) -> Ordering {
        let (x, y) = (self.key.eval(a), self.key.eval(b));
        match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if self.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if self.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if self.descending => y.cmp(&x),
            (false, false) => x.cmp(&y),
        }
    }
}

/// Compares two rows on `keys`, the first that differs deciding.
pub fn compare_rows(keys: &[SortKey], a: &Row, b: &Row) -> Ordering {
    keys.iter()
        .map(|k| k.compare(a, b))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}
