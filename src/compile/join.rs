//! `Join`. With a static right side (a table read once), a lookup join: the table is hashed by
//! key and each stream row is looked up and forgotten, so the stream keeps no state. Otherwise
//! differential's `join` on key rows, where a left join adds the left rows whose key has no
//! match (`antijoin`), padded with nulls. Rows with a null in their key never match, as in SQL.

use tidewater_operators::lookup_join;

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
    right_is_static: bool,
) -> Rows<'s> {
    let has_null = |key: &Row| key.iter().any(Value::is_null);
    if right_is_static {
        let table = keyed(right, right_keys).filter(move |(key, _)| !has_null(key));
        let width = right_columns.len();
        return lookup_join(
            keyed(left, left_keys),
            table,
            "LookupJoin",
            move |key, l, matches, out| {
                let found = if has_null(key) { &[][..] } else { matches };
                for (r, n) in found {
                    let mut row = Row::with_capacity(l.len() + width);
                    l.iter().cloned().for_each(|v| row.push(v));
                    right_columns
                        .iter()
                        .for_each(|&i| row.push(r.get(i).cloned().unwrap_or(Value::Null)));
                    out.push((row, *n));
                }
                if found.is_empty() && kind == JoinKind::Left {
                    let mut row = l.clone();
                    (0..width).for_each(|_| row.push(Value::Null));
                    out.push((row, 1));
                }
            },
        );
    }
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
