//! `Project` (with an optional `explode`) as a `map` or `flat_map`.

use smol_str::SmolStr;

use super::Rows;
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::Projection;

/// Computes the projection for each row. With a generator, each element of its array gives one
/// output row; `explode(split(..))` is fused so that no intermediate array is built.
pub(super) fn project<'s>(
    rows: Rows<'s>,
    columns: Vec<Projection>,
    generator: Option<BoundExpr>,
) -> Rows<'s> {
    match generator {
        None => rows.map(move |row| {
            columns
                .iter()
                .map(|c| match c {
                    Projection::Scalar(e) => e.eval(&row),
                    Projection::Generated => Value::Null,
                })
                .collect()
        }),
        Some(generator) => rows.flat_map(move |row| {
            let mut out = Vec::new();
            let emit = |element: Value, out: &mut Vec<Row>| {
                let mut projected = Row::with_capacity(columns.len());
                for c in &columns {
                    projected.push(match c {
                        Projection::Scalar(e) => e.eval(&row),
                        Projection::Generated => element.clone(),
                    });
                }
                out.push(projected);
            };
            match &generator {
                BoundExpr::Split(input, splitter) => {
                    if let Value::Str(text) = input.eval(&row) {
                        splitter.for_each(&text, |piece| emit(Value::Str(SmolStr::new(piece)), &mut out));
                    }
                }
                other => {
                    // Spark: exploding a null or empty array yields no rows.
                    if let Value::Array(items) = other.eval(&row) {
                        for item in items.iter() {
                            emit(item.clone(), &mut out);
                        }
                    }
                }
            }
            out
        }),
    }
}
