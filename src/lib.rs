//! Tidewater: Spark's streaming programming model, executed incrementally on timely and
//! differential dataflow.
//!
//! A query is written with the structured API (the DataFrame calls Spark users know), compiled
//! once into a differential dataflow on every worker, and driven one epoch per trigger: each
//! epoch computes only the *changes* that its new input causes, and the sinks turn those
//! changes into append, update or complete output.
//!
//! ```no_run
//! use tidewater::prelude::*;
//!
//! # fn main() -> tidewater::Result<()> {
//! let spark = Session::builder().app_name("StructuredNetworkWordCount").get_or_create()?;
//! let lines = spark.read_stream().format("socket")
//!     .option("host", "localhost").option("port", 9999).load()?;
//! let words = lines.select([explode(split(col("value"), " ")).alias("word")])?;
//! let word_counts = words.group_by([col("word")]).count()?;
//! let query = word_counts.write_stream().output_mode("complete").format("console").start()?;
//! query.await_termination()?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod checkpoint;
pub(crate) mod compile;
pub mod connectors;
mod crash;
pub mod data;
pub mod demo;
pub mod dstream;
pub mod error;
pub mod expr;
#[cfg(test)]
mod fuzz_tests;
pub mod logs;
pub mod plan;
pub mod process;
pub mod runtime;
pub mod session;
mod suggest;
pub mod ui;

pub use error::{Error, Result};

/// The functions of `pyspark.sql.functions` that exist here: `col`, `lit`, `split`, ... (README's
/// function table lists each with its Spark semantics).
pub mod functions {
    pub use crate::expr::{
        abs, add_interval, add_months, approx_count_distinct, array, array_contains, ascii, avg, bround,
        ceil, coalesce, col, collect_list, collect_set, concat, concat_ws, count, count_distinct, count_if,
        crc32, current_date, current_timestamp, date_add, date_format, date_sub, date_trunc, datediff,
        dayofmonth, dayofweek, dayofyear, div, element_at, exp, explode, first, first_ignore_nulls, floor,
        format_number, from_json, from_unixtime, from_unixtime_fmt, get_field, get_json_object, greatest,
        hash, hour, if_, ifnull, initcap, instr, interval, last, last_day, last_ignore_nulls, least, left,
        length, lit, ln, locate, log, log10, log2, lower, lpad, ltrim, make_date, max, max_by, md5, min,
        min_by, minute, month, months_between, named_struct, now, nullif, nvl, nvl2, pmod, pow, quarter,
        regexp_extract, regexp_replace, repeat, replace, reverse, right, rlike, round, rpad, rtrim, second,
        session_window, session_window_by, sha1, sha2, signum, size, sliding_window, split, sqrt, stddev,
        stddev_pop, struct_, substring, sum, timestamp_micros, timestamp_millis, timestamp_seconds, to_date,
        to_date_fmt, to_json, to_timestamp, to_timestamp_fmt, translate, trim, trunc, try_cast,
        try_element_at, try_to_timestamp, try_to_timestamp_fmt, unix_date, unix_micros, unix_millis,
        unix_seconds, unix_timestamp, upper, var_pop, variance, weekofyear, when, window, xxhash64, year,
    };
    pub use crate::plan::sql::expr;
}

/// Everything a typical program needs: `use tidewater::prelude::*;`.
pub mod prelude {
    pub use crate::connectors::memory::{MemoryStream, MemoryTable};
    pub use crate::connectors::Batch;
    pub use crate::data::{DataType, Field, Row, Schema, Value};
    pub use crate::error::{Error, Result};
    pub use crate::expr::Expr;
    pub use crate::functions::*;
    pub use crate::plan::processor::{
        ExpiredTimerInfo, KeyContext, ListState, MapState, ProcessorHandle, StatefulProcessor, TimeMode,
        TimerValues, ValueState,
    };
    pub use crate::plan::{GroupState, GroupStateTimeout, OutputMode};
    pub use crate::row;
    pub use crate::runtime::{
        ClusterArgs, ClusterConfig, ManualClock, QueryProgress, QueryStatus, StreamingQuery,
        StreamingQueryListener, StreamingQueryManager, Trigger,
    };
    pub use crate::session::{
        DataFrame, DataStreamReader, DataStreamWriter, GroupedData, KeyedDataFrame, Session,
    };
}
