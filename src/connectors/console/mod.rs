//! `format("console")`: prints each batch as Spark's console sink does.
//!
//! ```text
//! -------------------------------------------
//! Batch: 0
//! -------------------------------------------
//! +----+-----+
//! |word|count|
//! +----+-----+
//! |   a|    2|
//! +----+-----+
//!
//! ```
//! Options: `numRows` (default 20) and `truncate` (default true: cells over 20 characters are cut
//! to 17 plus `...`, and cells are right-aligned; false: whole and left-aligned).

mod table;

use std::io::Write;

pub use table::{show_string, show_string_cut};

use crate::connectors::{Batch, Options, Sink, SinkError};
use crate::error::Result;

/// Where the console sink writes: standard output, or a shared buffer (tests, embedding).
pub enum ConsoleTarget {
    /// The process's standard output.
    Stdout,
    /// Any writer.
    Writer(Box<dyn Write + Send>),
}

/// Prints batches as tables.
pub struct ConsoleSink {
    num_rows: usize,
    truncate: bool,
    target: ConsoleTarget,
}

impl ConsoleSink {
    /// Reads `numRows` and `truncate`.
    pub fn from_options(options: &Options, target: ConsoleTarget) -> Result<Self> {
        Ok(ConsoleSink {
            num_rows: options.parse_or("numRows", 20)?,
            truncate: options.bool_or("truncate", true)?,
            target,
        })
    }
}

impl Sink for ConsoleSink {
    fn description(&self) -> String {
        format!(
            "ConsoleSink[numRows: {}, truncate: {}]",
            self.num_rows, self.truncate
        )
    }

    fn add_batch(&mut self, batch: &Batch<'_>) -> Result<(), SinkError> {
        let dashes = "-------------------------------------------";
        let text = format!(
            "{dashes}\nBatch: {}\n{dashes}\n{}\n",
            batch.id,
            show_string(batch.schema, batch.rows, self.num_rows, self.truncate)
        );
        let written = match &mut self.target {
            ConsoleTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|_| out.flush())
            }
            ConsoleTarget::Writer(w) => w.write_all(text.as_bytes()).and_then(|_| w.flush()),
        };
        written.map_err(|e| SinkError::Write {
            sink_name: "console".into(),
            batch_id: batch.id,
            reason: e.to_string(),
        })
    }
}
