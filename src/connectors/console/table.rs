//! Spark's `Dataset.showString`: the ASCII table of `show()`.

use crate::data::{Row, Schema};

/// Spark's minimum column width.
const MIN_WIDTH: usize = 3;
/// Spark's truncation length when `truncate` is true.
const TRUNCATE_AT: usize = 20;

/// Cuts `cell` to `truncate` characters as Spark does (`...` in the last three when there is
/// room for them); 0 keeps it whole.
fn truncate_cell(cell: String, truncate: usize) -> String {
    if truncate > 0 && cell.chars().count() > truncate {
        if truncate < 4 {
            return cell.chars().take(truncate).collect();
        }
        let kept: String = cell.chars().take(truncate - 3).collect();
        format!("{kept}...")
    } else {
        cell
    }
}

/// Renders the header and the first `num_rows` rows as Spark's `show(num_rows, truncate)` does,
/// including the `only showing top N rows` footer when rows were left out.
pub fn show_string(schema: &Schema, rows: &[Row], num_rows: usize, truncate: bool) -> String {
    show_string_cut(schema, rows, num_rows, if truncate { TRUNCATE_AT } else { 0 })
}

/// As [`show_string`], with Spark's `show(n, truncate = k)`: cells cut to `truncate`
/// characters and right-aligned, or whole and left-aligned for 0.
pub fn show_string_cut(schema: &Schema, rows: &[Row], num_rows: usize, truncate: usize) -> String {
    let shown = &rows[..rows.len().min(num_rows)];
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(shown.len() + 1);
    cells.push(
        schema
            .names()
            .into_iter()
            .map(|n| truncate_cell(n, truncate))
            .collect(),
    );
    for row in shown {
        cells.push(
            row.iter()
                .map(|v| truncate_cell(v.shown().to_string(), truncate))
                .collect(),
        );
    }
    let columns = schema.len();
    let mut widths = vec![MIN_WIDTH; columns];
    for line in &cells {
        for (i, cell) in line.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let separator: String = widths.iter().fold(String::from("+"), |mut s, w| {
        s.push_str(&"-".repeat(*w));
        s.push('+');
        s
    });
    let render = |line: &[String]| {
        let mut s = String::from("|");
        for (cell, width) in line.iter().zip(&widths) {
            let pad = " ".repeat(width - cell.chars().count());
            if truncate > 0 {
                s.push_str(&pad);
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&pad);
            }
            s.push('|');
        }
        s
    };
    let mut out = String::new();
    out.push_str(&separator);
    out.push('\n');
    out.push_str(&render(&cells[0]));
    out.push('\n');
    out.push_str(&separator);
    out.push('\n');
    for line in &cells[1..] {
        out.push_str(&render(line));
        out.push('\n');
    }
    out.push_str(&separator);
    out.push('\n');
    if rows.len() > num_rows {
        let noun = if num_rows == 1 { "row" } else { "rows" };
        out.push_str(&format!("only showing top {num_rows} {noun}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataType, Field, Value};
    use crate::row;

    fn schema() -> Schema {
        Schema::new([
            Field::new("word", DataType::String),
            Field::new("count", DataType::Int64),
        ])
    }

    #[test]
    fn matches_spark_show_layout() {
        // Written out by hand from Spark's showString rules (min width 3, right-aligned).
        let expected = "\
+-----+-----+
| word|count|
+-----+-----+
|apple|    2|
|    b|   10|
+-----+-----+
";
        assert_eq!(
            show_string(&schema(), &[row!["apple", 2], row!["b", 10]], 20, true),
            expected
        );
    }

    #[test]
    fn nulls_show_as_spark_4_shows_them() {
        // Spark 4.3's `show()` of `k, array(n, NULL), named_struct('x', n, 'y', NULL),
        // CAST(NULL AS STRING)`, run on this machine: `NULL` everywhere, nested included.
        let s = Schema::new([
            Field::new("k", DataType::String),
            Field::new("a", DataType::Array(Box::new(DataType::Int64))),
            Field::new(
                "s",
                DataType::Struct(vec![
                    Field::new("x", DataType::Int64),
                    Field::new("y", DataType::String),
                ]),
            ),
            Field::new("e", DataType::String),
        ]);
        let array = Value::Array(vec![Value::Int(-7), Value::Null].into());
        let fields = Value::Struct(vec![Value::Int(-7), Value::Null].into());
        let expected = "\
+---+----------+----------+----+
|  k|         a|         s|   e|
+---+----------+----------+----+
|  x|[-7, NULL]|{-7, NULL}|NULL|
+---+----------+----------+----+
";
        let rows = [Row::from(vec![
            Value::str("x"),
            array.clone(),
            fields,
            Value::Null,
        ])];
        assert_eq!(show_string(&s, &rows, 20, true), expected);
        // `CAST(array AS STRING)` keeps Spark's lower-case `null`.
        assert_eq!(array.to_string(), "[-7, null]");
    }

    #[test]
    fn empty_batches_and_short_columns() {
        let s = Schema::new([Field::new("a", DataType::String)]);
        assert_eq!(show_string(&s, &[], 20, true), "+---+\n|  a|\n+---+\n+---+\n");
    }

    #[test]
    fn truncates_long_cells_and_limits_rows() {
        let long = "abcdefghijklmnopqrstuvwxyz";
        let out = show_string(&schema(), &[row![long, 1], row!["x", 2]], 1, true);
        assert!(out.contains("|abcdefghijklmnopq...|"), "{out}");
        assert!(out.ends_with("only showing top 1 row\n"), "{out}");
        let whole = show_string(&schema(), &[row!["ab", 1]], 20, false);
        assert!(whole.contains("|ab  |1    |"), "{whole}");
    }
}
