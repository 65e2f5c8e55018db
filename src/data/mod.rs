//! The data model: values, rows, types and schemas.
//!
//! Everything that flows through a dataflow is a [`Row`] of [`Value`]s. Both are cheap to clone
//! (short strings are stored inline, rows of up to four values need no heap allocation) and are
//! totally ordered and hashable, as differential dataflow needs of its records.

mod cast;
pub mod datetime;
mod ddl;
pub mod decimal;
mod decode;
mod display;
mod interval;
mod json_field;
mod json_line;
mod key_row;
mod output_mode;
mod row;
mod schema;
mod value;

pub use cast::{cast, cast_in, invalid_utf8_bytes, text_in, text_to_long, try_cast_in};
pub use ddl::{parse_schema_ddl, parse_type};
pub use decimal::Decimal;
pub use decode::{Decoded, FieldText, ParseMode, RowDecoder, CORRUPT_RECORD};
pub use display::{format_date, format_double, format_timestamp};
pub use interval::{parse_interval, MAX_INTERVAL_SECONDS};
pub use key_row::KeyRow;
pub use output_mode::OutputMode;
pub use row::Row;
pub use schema::{dataset_column, dataset_column_parts, written_column_name, DataType, Field, Schema};
pub use value::{text_prefix, Value};
