//! Parquet files (feature `parquet`): rows to Arrow record batches for the sink, and record
//! batches back to rows for the source, with the `parquet` crate's Arrow writer and reader.
//!
//! Types map one to one: BOOLEAN, BIGINT (INT64), DOUBLE, STRING (UTF8), TIMESTAMP (INT64
//! microseconds, UTC-adjusted), DATE (DATE32), DECIMAL(p, s) (parquet's DECIMAL logical type,
//! as Spark writes it), BINARY, ARRAY (LIST) and STRUCT. Spark writes
//! timestamps as INT96 by default (`spark.sql.parquet.outputTimestampType`); the microsecond
//! form written here is one Spark reads too, and the reader takes INT96 (nanoseconds), millis
//! and seconds alike. Narrower integers and floats read as BIGINT and DOUBLE.

use std::sync::Arc;

use arrow_array::builder::{
    make_builder, ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float64Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field as ArrowField, Fields, Schema as ArrowSchema, TimeUnit};

use crate::data::{DataType, Field, Row, Schema, Value};

/// The Arrow type of a column type.
fn arrow_type(data_type: &DataType) -> ArrowType {
    match data_type {
        DataType::Boolean => ArrowType::Boolean,
        DataType::Int64 => ArrowType::Int64,
        DataType::Float64 => ArrowType::Float64,
        // A column that is only ever null is written as strings, as Spark writes `void`.
        DataType::String | DataType::Null => ArrowType::Utf8,
        DataType::Timestamp => ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Date => ArrowType::Date32,
        DataType::Binary => ArrowType::Binary,
        DataType::Decimal { precision, scale } => ArrowType::Decimal128(*precision, *scale as i8),
        DataType::Array(element) => {
            ArrowType::List(Arc::new(ArrowField::new("item", arrow_type(element), true)))
        }
        DataType::Struct(fields) => ArrowType::Struct(arrow_fields(fields)),
    }
}

fn arrow_fields(fields: &[Field]) -> Fields {
    fields
        .iter()
        .map(|f| ArrowField::new(f.name.as_str(), arrow_type(&f.data_type), true))
        .collect()
}

/// The column type of an Arrow type, `None` for one Tidewater has no type for (maps, unions,
/// decimals, ...).
fn column_type(arrow: &ArrowType) -> Option<DataType> {
    Some(match arrow {
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Int8
        | ArrowType::Int16
        | ArrowType::Int32
        | ArrowType::Int64
        | ArrowType::UInt8
        | ArrowType::UInt16
        | ArrowType::UInt32
        | ArrowType::UInt64 => DataType::Int64,
        ArrowType::Float32 | ArrowType::Float64 => DataType::Float64,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => DataType::String,
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => DataType::Binary,
        ArrowType::Timestamp(..) => DataType::Timestamp,
        ArrowType::Date32 => DataType::Date,
        ArrowType::Decimal128(precision, scale)
            if (0..=*precision as i8).contains(scale) && *precision <= 38 =>
        {
            DataType::Decimal {
                precision: *precision,
                scale: *scale as u8,
            }
        }
        ArrowType::List(element) | ArrowType::LargeList(element) => {
            DataType::Array(Box::new(column_type(element.data_type())?))
        }
        ArrowType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Some(Field::new(f.name().as_str(), column_type(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        ArrowType::Null => DataType::String,
        _ => return None,
    })
}

/// The schema of a Parquet file's Arrow schema; an error names a column of a type that has no
/// counterpart here.
pub(super) fn schema_of(arrow: &ArrowSchema) -> Result<Schema, String> {
    let fields = arrow
        .fields()
        .iter()
        .map(|f| {
            column_type(f.data_type())
                .map(|t| Field::new(f.name().as_str(), t))
                .ok_or_else(|| {
                    format!(
                        "column `{}` has the type {}, which cannot be read",
                        f.name(),
                        f.data_type()
                    )
                })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Schema::new(fields))
}

/// `rows` of `schema` as one record batch.
pub(super) fn record_batch(schema: &Schema, rows: &[Row]) -> Result<RecordBatch, String> {
    let arrow = Arc::new(ArrowSchema::new(arrow_fields(schema.fields())));
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let mut builder = make_builder(&arrow_type(&field.data_type), rows.len());
            for row in rows {
                append(
                    builder.as_mut(),
                    &field.data_type,
                    row.get(i).unwrap_or(&Value::Null),
                );
            }
            builder.finish()
        })
        .collect();
    RecordBatch::try_new(arrow, columns).map_err(|e| e.to_string())
}

/// Appends `value` (of `data_type`, or null) to `builder`, made by `make_builder` for it.
fn append(builder: &mut dyn ArrayBuilder, data_type: &DataType, value: &Value) {
    let any = builder.as_any_mut();
    match data_type {
        DataType::Boolean => {
            if let Some(b) = any.downcast_mut::<BooleanBuilder>() {
                b.append_option(value.as_bool());
            }
        }
        DataType::Int64 => {
            if let Some(b) = any.downcast_mut::<Int64Builder>() {
                b.append_option(value.as_i64());
            }
        }
        DataType::Float64 => {
            if let Some(b) = any.downcast_mut::<Float64Builder>() {
                b.append_option(value.as_f64());
            }
        }
        DataType::String | DataType::Null => {
            if let Some(b) = any.downcast_mut::<StringBuilder>() {
                match value {
                    Value::Null => b.append_null(),
                    Value::Str(s) => b.append_value(s.as_str()),
                    other => b.append_value(other.to_string()),
                }
            }
        }
        DataType::Timestamp => {
            if let Some(b) = any.downcast_mut::<TimestampMicrosecondBuilder>() {
                match value {
                    Value::Timestamp(t) => b.append_value(*t),
                    _ => b.append_null(),
                }
            }
        }
        DataType::Date => {
            if let Some(b) = any.downcast_mut::<Date32Builder>() {
                match value {
                    Value::Date(d) => b.append_value(*d),
                    _ => b.append_null(),
                }
            }
        }
        DataType::Decimal { .. } => {
            if let Some(b) = any.downcast_mut::<Decimal128Builder>() {
                match value {
                    Value::Decimal(d) => b.append_value(d.unscaled()),
                    _ => b.append_null(),
                }
            }
        }
        DataType::Binary => {
            if let Some(b) = any.downcast_mut::<BinaryBuilder>() {
                match value {
                    Value::Binary(bytes) => b.append_value(bytes),
                    _ => b.append_null(),
                }
            }
        }
        DataType::Array(element) => {
            if let Some(b) = any.downcast_mut::<ListBuilder<Box<dyn ArrayBuilder>>>() {
                match value {
                    Value::Array(items) => {
                        for item in items.iter() {
                            append(b.values().as_mut(), element, item);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
        }
        DataType::Struct(fields) => {
            if let Some(b) = any.downcast_mut::<StructBuilder>() {
                let items: &[Value] = match value {
                    Value::Struct(items) => items,
                    _ => &[],
                };
                for (i, (field, child)) in fields.iter().zip(b.field_builders_mut()).enumerate() {
                    append(
                        child.as_mut(),
                        &field.data_type,
                        items.get(i).unwrap_or(&Value::Null),
                    );
                }
                b.append(matches!(value, Value::Struct(_)));
            }
        }
    }
}

/// The value at `row` of `array`, as the column type `column_type` of its Arrow type gives.
pub(super) fn value_at(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        ArrowType::Boolean => Value::Bool(array.as_boolean().value(row)),
        ArrowType::Int8 => Value::Int(i64::from(array.as_primitive::<Int8Type>().value(row))),
        ArrowType::Int16 => Value::Int(i64::from(array.as_primitive::<Int16Type>().value(row))),
        ArrowType::Int32 => Value::Int(i64::from(array.as_primitive::<Int32Type>().value(row))),
        ArrowType::Int64 => Value::Int(array.as_primitive::<Int64Type>().value(row)),
        ArrowType::UInt8 => Value::Int(i64::from(array.as_primitive::<UInt8Type>().value(row))),
        ArrowType::UInt16 => Value::Int(i64::from(array.as_primitive::<UInt16Type>().value(row))),
        ArrowType::UInt32 => Value::Int(i64::from(array.as_primitive::<UInt32Type>().value(row))),
        // Beyond BIGINT's range: null, as a cast would give.
        ArrowType::UInt64 => {
            i64::try_from(array.as_primitive::<UInt64Type>().value(row)).map_or(Value::Null, Value::Int)
        }
        ArrowType::Float32 => Value::Float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        ArrowType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
        ArrowType::Utf8 => Value::str(array.as_string::<i32>().value(row)),
        ArrowType::LargeUtf8 => Value::str(array.as_string::<i64>().value(row)),
        ArrowType::Utf8View => Value::str(array.as_string_view().value(row)),
        ArrowType::Binary => Value::binary(array.as_binary::<i32>().value(row)),
        ArrowType::LargeBinary => Value::binary(array.as_binary::<i64>().value(row)),
        ArrowType::BinaryView => Value::binary(array.as_binary_view().value(row)),
        ArrowType::Timestamp(unit, _) => Value::Timestamp(match unit {
            TimeUnit::Second => array
                .as_primitive::<TimestampSecondType>()
                .value(row)
                .saturating_mul(1_000_000),
            TimeUnit::Millisecond => array
                .as_primitive::<TimestampMillisecondType>()
                .value(row)
                .saturating_mul(1000),
            TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
            TimeUnit::Nanosecond => array
                .as_primitive::<TimestampNanosecondType>()
                .value(row)
                .div_euclid(1000),
        }),
        ArrowType::Date32 => Value::Date(array.as_primitive::<Date32Type>().value(row)),
        ArrowType::Decimal128(_, scale) => match u8::try_from(*scale) {
            Ok(scale) => Value::Decimal(crate::data::Decimal::new(
                array.as_primitive::<Decimal128Type>().value(row),
                scale,
            )),
            Err(_) => Value::Null,
        },
        ArrowType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            Value::Array((0..items.len()).map(|i| value_at(items.as_ref(), i)).collect())
        }
        ArrowType::LargeList(_) => {
            let items = array.as_list::<i64>().value(row);
            Value::Array((0..items.len()).map(|i| value_at(items.as_ref(), i)).collect())
        }
        ArrowType::Struct(_) => {
            let fields = array.as_struct();
            Value::Struct(
                fields
                    .columns()
                    .iter()
                    .map(|column| value_at(column.as_ref(), row))
                    .collect(),
            )
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_through_a_record_batch_and_back() {
        let schema = Schema::new([
            Field::new("b", DataType::Boolean),
            Field::new("n", DataType::Int64),
            Field::new("x", DataType::Float64),
            Field::new("s", DataType::String),
            Field::new("ts", DataType::Timestamp),
            Field::new("d", DataType::Date),
            Field::new("bytes", DataType::Binary),
            Field::new(
                "money",
                DataType::Decimal {
                    precision: 12,
                    scale: 2,
                },
            ),
            Field::new("xs", DataType::Array(Box::new(DataType::Int64))),
            Field::new(
                "st",
                DataType::Struct(vec![
                    Field::new("p", DataType::String),
                    Field::new("q", DataType::Int64),
                ]),
            ),
        ]);
        let rows = vec![
            Row::from(vec![
                Value::Bool(true),
                Value::Int(-7),
                Value::Float(2.5),
                Value::str("é"),
                Value::Timestamp(1_767_225_605_000_001),
                Value::Date(20_454),
                Value::binary([0u8, 255]),
                Value::Decimal(crate::data::Decimal::new(-123_456, 2)),
                Value::Array(vec![Value::Int(1), Value::Null].into()),
                Value::Struct(vec![Value::str("p"), Value::Null].into()),
            ]),
            Row::from(vec![Value::Null; 10]),
        ];
        let batch = record_batch(&schema, &rows).expect("a batch");
        assert_eq!(schema_of(&batch.schema()).expect("schema"), schema);
        let back: Vec<Row> = (0..batch.num_rows())
            .map(|r| batch.columns().iter().map(|c| value_at(c.as_ref(), r)).collect())
            .collect();
        assert_eq!(back, rows);
    }
}
