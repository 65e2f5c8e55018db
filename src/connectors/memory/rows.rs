//! [`LocalRows`]: a static table of rows given from code, Spark's `createDataFrame` (its
//! `LocalRelation`).

use std::sync::Arc;

use crate::connectors::{ReadStatus, Source, SourceError, SourceReader, Wake};
use crate::data::{DataType, Row, Schema, Value};
use crate::error::{Error, Result};

/// A static table of rows held in memory: read whole at the start of every run, like a table
/// read with `spark.read`, for joins with streams and for [`collect`](crate::session::DataFrame::collect).
#[derive(Clone, Debug)]
pub struct LocalRows {
    schema: Schema,
    rows: Arc<Vec<Row>>,
}

impl LocalRows {
    /// The table of `rows` under `schema`, each row checked against it as Spark's
    /// `createDataFrame` checks (`verifySchema`): as many values as columns, each null or of
    /// its column's type (a decimal is brought to its column's scale). A value of another type
    /// is an error, as in Spark: an integer is no double here either.
    pub fn new(schema: Schema, rows: Vec<Row>) -> Result<Self> {
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| conform(&schema, row).map_err(|e| Error::TypeMismatch(format!("row {i}: {e}"))))
            .collect::<Result<Vec<Row>>>()?;
        Ok(LocalRows {
            schema,
            rows: Arc::new(rows),
        })
    }
}

/// `row` with each value conforming to its column of `schema`, or what is wrong with it.
fn conform(schema: &Schema, row: Row) -> std::result::Result<Row, String> {
    if row.len() != schema.len() {
        return Err(format!(
            "{} values for {} columns ({})",
            row.len(),
            schema.len(),
            schema.names().join(", ")
        ));
    }
    row.iter()
        .zip(schema.fields())
        .map(|(value, field)| {
            if value.is_null() && !field.nullable {
                return Err(format!("field `{}` is not nullable, but got NULL", field.name));
            }
            conform_value(value, &field.data_type).ok_or_else(|| {
                let given = value.data_type().map_or("NULL".into(), |t| t.to_string());
                format!(
                    "field `{}`: {} can not accept {value} ({given})",
                    field.name, field.data_type
                )
            })
        })
        .collect::<std::result::Result<Vec<Value>, String>>()
        .map(Row::from)
}

/// `value` as a value of `data_type`, if it is one (a decimal at the type's scale).
fn conform_value(value: &Value, data_type: &DataType) -> Option<Value> {
    let fits = match (value, data_type) {
        (Value::Null, _)
        | (Value::Bool(_), DataType::Boolean)
        | (Value::Int(_), DataType::Int64)
        | (Value::Float(_), DataType::Float64)
        | (Value::Str(_), DataType::String)
        | (Value::Timestamp(_), DataType::Timestamp)
        | (Value::Date(_), DataType::Date)
        | (Value::Binary(_), DataType::Binary) => true,
        (Value::Decimal(d), DataType::Decimal { precision, scale }) => {
            return d.rescale(*precision, *scale).map(Value::Decimal);
        }
        (Value::Array(items), DataType::Array(element)) => {
            let items = items
                .iter()
                .map(|item| conform_value(item, element))
                .collect::<Option<Vec<Value>>>()?;
            return Some(Value::Array(items.into()));
        }
        (Value::Struct(items), DataType::Struct(fields)) if items.len() == fields.len() => {
            let items = items
                .iter()
                .zip(fields)
                .map(|(item, field)| conform_value(item, &field.data_type))
                .collect::<Option<Vec<Value>>>()?;
            return Some(Value::Struct(items.into()));
        }
        _ => false,
    };
    fits.then(|| value.clone())
}

impl Source for LocalRows {
    fn description(&self) -> String {
        // Not the rows or their count: a checkpoint's fingerprint holds the description, and a
        // restarted query may be given other rows, as a table's files may change.
        "LocalRelation".into()
    }

    fn schema(&self) -> Schema {
        self.schema.clone()
    }

    fn open(&self, _wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        Ok(Box::new(LocalRowsReader {
            rows: Some(self.rows.clone()),
        }))
    }

    fn is_static(&self) -> bool {
        true
    }

    fn size_in_bytes(&self) -> Option<u64> {
        // Spark's estimate for a local relation: rows times a row's default size (8 bytes a
        // fixed-width value, 20 a string, as `DataType.defaultSize`).
        let row_size: u64 = self
            .schema
            .fields()
            .iter()
            .map(|f| match f.data_type {
                DataType::String | DataType::Binary => 20,
                DataType::Array(_) | DataType::Struct(_) => 100,
                _ => 8,
            })
            .sum();
        Some(row_size * self.rows.len() as u64)
    }
}

/// Hands over every row at the first poll.
struct LocalRowsReader {
    rows: Option<Arc<Vec<Row>>>,
}

impl SourceReader for LocalRowsReader {
    fn poll(&mut self, out: &mut Vec<Row>, _max: usize) -> std::result::Result<ReadStatus, SourceError> {
        if let Some(rows) = self.rows.take() {
            out.extend(rows.iter().cloned());
        }
        Ok(ReadStatus::Exhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Field;

    fn schema() -> Schema {
        Schema::new([
            Field::new("id", DataType::Int64).not_null(),
            Field::new("score", DataType::Float64),
        ])
    }

    #[test]
    fn rows_of_the_schema_s_types_are_taken_and_others_refused() {
        let ok = LocalRows::new(schema(), vec![Row::from(vec![Value::Int(1), Value::Null])]);
        assert!(ok.is_ok());
        let wrong = |row: Vec<Value>| {
            LocalRows::new(schema(), vec![Row::from(row)])
                .expect_err("refused")
                .to_string()
        };
        // Spark's createDataFrame refuses an integer for a double column too.
        assert!(wrong(vec![Value::Int(1), Value::Int(2)]).contains("field `score`"));
        assert!(wrong(vec![Value::Null, Value::Float(1.0)]).contains("not nullable"));
        assert!(wrong(vec![Value::Int(1)]).contains("1 values for 2 columns"));
    }
}
