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
pub mod plan;
pub mod runtime;
pub mod session;

pub use error::{Error, Result};

/// The functions of `pyspark.sql.functions` that exist here: `col`, `lit`, `split`, ...
pub mod functions {
    pub use crate::expr::{
        abs, avg, coalesce, col, concat, count, explode, interval, length, lit, lower, max, min,
        session_window, session_window_by, sliding_window, split, sum, trim, upper, window,
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
    pub use crate::plan::OutputMode;
    pub use crate::row;
    pub use crate::runtime::{
        ClusterArgs, ClusterConfig, QueryProgress, QueryStatus, StreamingQuery, Trigger,
    };
    pub use crate::session::{DataFrame, DataStreamReader, DataStreamWriter, GroupedData, Session};
}
