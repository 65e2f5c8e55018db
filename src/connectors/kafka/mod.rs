//! The Kafka source and sink (`format("kafka")`), with Spark's option names and columns.
//!
//! The client is rskafka: pure Rust, async, and without consumer groups, which suits a source
//! whose offsets live in the query's own checkpoint. It runs on a small tokio runtime of its
//! own ([`client`]); workers never run async code, and rows reach them over bounded channels.
//!
//! - [`source`]: the leader plans each epoch's offset range per partition (as Spark's driver
//!   does) and logs the plan; [`reader`]: each worker fetches the ranges it was dealt.
//! - [`sink`]: writes an epoch's rows, partitioned as Java producers would ([`partitioner`]),
//!   exactly once across restarts without broker transactions.
//!   [`sink_log`] is what it keeps in the checkpoint for that.
//! - [`options`], [`offsets`], [`record`]: the options, Spark's offset JSON and the planning
//!   rule, and a record as a row.

pub mod client;
pub mod offsets;
pub mod options;
pub mod partitioner;
pub mod reader;
pub mod record;
pub mod sink;
pub mod sink_log;
pub mod source;

pub use sink::KafkaSink;
pub use source::KafkaSource;
