//! `Join`: differential's `join` on key rows; a left join adds the left rows whose key has no
//! match (`antijoin`), padded with nulls. Rows with a null in their key never match, as in SQL.

use super::Rows;
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::JoinKind;

fn keyed<'s>(
    rows: Rows<'s>,
    keys: Vec<BoundExpr>,
) -> differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize> {
    rows.map(move |row| (keys.iter().map(|k| k.eval(&row)).collect::<Row>(), row))
}

/// Joins `left` and `right` on the key expressions; output rows are the left row followed by
/// the right row's `right_columns`.
pub(super) fn join<'s>(
    left: Rows<'s>,
    right: Rows<'s>,
    kind: JoinKind,
    left_keys: Vec<BoundExpr>,
    right_keys: Vec<BoundExpr>,
    right_columns: Vec<usize>,
) -> Rows<'s> {
    let has_null = |key: &Row| key.iter().any(Value::is_null);
    let left = keyed(left, left_keys);
    let right = keyed(right, right_keys).filter(move |(key, _)| !has_null(key));
    let matchable = left.clone().filter(move |(key, _)| !has_null(key));
    let columns = right_columns.clone();
    let matched = matchable.clone().join(right.clone()).map(move |(_, (l, r))| {
        let mut out = Row::with_capacity(l.len() + columns.len());
        l.iter().cloned().for_each(|v| out.push(v));
        columns
            .iter()
            .for_each(|&i| out.push(r.get(i).cloned().unwrap_or(Value::Null)));
        out
    });
    match kind {
        JoinKind::Inner => matched,
        JoinKind::Left => {
            let width = right_columns.len();
            let pad = move |(_, l): (Row, Row)| {
                let mut out = l;
                (0..width).for_each(|_| out.push(Value::Null));
                out
            };
            let right_keys = right.map(|(key, _)| key).distinct();
            let unmatched = left.antijoin(right_keys).map(pad);
            matched.concat(unmatched)
        }
    }
}
