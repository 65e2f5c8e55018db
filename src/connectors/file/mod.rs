//! Files: `text`, `csv` and `json` (JSON lines) sources over a directory or glob, the same
//! formats read once as static tables, and `csv`/`json`/`text` file sinks.
//!
//! Streaming: each trigger the leader lists the path and takes files not seen before, oldest
//! modification time first (then by name), at most `maxFilesPerTrigger` per epoch. The file
//! paths are the epoch's records: the dataflow spreads them over all workers (by hash), and
//! each file is read and decoded where it lands. Files must be moved into the directory
//! atomically (written elsewhere, then renamed), as with Spark.

mod csv_lines;
mod encode;
mod format;
mod infer;
mod listing;
#[cfg(feature = "parquet")]
mod parquet;
mod read;
mod sink;
mod source;
mod split;

#[cfg(test)]
pub(crate) use csv_lines::CsvLines;
pub use encode::{
    DEFAULT_DATE_FORMAT, DEFAULT_TIMESTAMP_FORMAT, IGNORE_NULL_FIELDS_CONF, SESSION_TIME_ZONE_CONF,
};
pub use format::{FileFormat, FormatOptions};
pub use sink::{FileSink, COMPACT_INTERVAL_CONF, MIN_BATCH_INTERVAL_CONF};
pub use source::{FileSource, SCHEMA_INFERENCE_CONF};
pub use split::{MAX_PARTITION_BYTES_CONF, MIN_RANGE_BYTES, OPEN_COST_BYTES};
