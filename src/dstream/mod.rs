//! The DStream API: Spark Streaming's typed, batch-by-batch API, over differential collections.
//!
//! A [`StreamingContext`] cuts its sources into batches of one batch interval each; every
//! batch is one epoch of the dataflow. A [`DStream<T>`] holds, for every batch, the batch's
//! elements, and its transformations are Spark's: `map`, `flat_map`, `filter`, `union`,
//! `count`, `reduce`, `count_by_value`, `transform`; on pairs `reduce_by_key`, `group_by_key`,
//! `join` and the outer joins, `cogroup`; state across batches with `update_state_by_key` and
//! `map_with_state`; windows with `window`, `reduce_by_key_and_window` (with or without an
//! inverse function), `count_by_window`, `count_by_value_and_window`; outputs `print`,
//! `save_as_text_files` and `foreach_rdd`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use tidewater::dstream::{StreamingConfig, StreamingContext};
//!
//! # fn main() -> tidewater::Result<()> {
//! let ssc = StreamingContext::new(StreamingConfig::new(), Duration::from_millis(10))?;
//! let lines = ssc.queue_stream(vec![vec!["a b a".to_string()], vec!["b".to_string()]]);
//! let counts = lines
//!     .flat_map(|line: String| line.split(' ').map(String::from).collect::<Vec<_>>())
//!     .map(|word| (word, 1u64))
//!     .reduce_by_key(|a, b| a + b);
//! let batches = Arc::new(Mutex::new(Vec::new()));
//! let seen = batches.clone();
//! counts.foreach_rdd(move |rdd, _time| seen.lock().unwrap().push(rdd.to_vec()));
//! ssc.start()?;
//! ssc.await_termination()?;   // the queue has two batches; then the context ends by itself
//! let a = |w: &str, n| (w.to_string(), n);
//! assert_eq!(*batches.lock().unwrap(), vec![vec![a("a", 2), a("b", 1)], vec![a("b", 1)]]);
//! # Ok(())
//! # }
//! ```
//!
//! Elements are any type that is [`Data`]: ordered, hashable and serde-serializable, because
//! batches are exchanged between workers by key hash and written out sorted, which is what
//! makes the output the same for any number of workers and processes.

mod batch_info;
mod context;
mod driver;
mod durable;
mod graph;
mod output;
mod pairs;
mod show;
mod sources;
mod state;
mod stream;
mod window;

pub use batch_info::BatchInfo;
pub use context::{StreamingConfig, StreamingContext};
pub use graph::Data;
pub use output::{format_batch, Time};
pub use show::Show;
pub use state::{MapWithStateDStream, State, StateSpec};
pub use stream::DStream;
