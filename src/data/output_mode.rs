//! The output mode: how each epoch's result reaches a sink.
//!
//! It lives with the data model because both sides of a batch need the word: the plan checks
//! which modes a query supports (`plan::validate_output_mode`), and the sinks, which sit below
//! the plan, read the mode of each batch (`connectors::Batch`) they receive.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// How each epoch's result is written to the sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputMode {
    /// Only rows that can never change again (new rows of a query without aggregation).
    Append,
    /// The rows that changed in the epoch, with their new values.
    Update,
    /// The whole result table, every epoch.
    Complete,
}

impl FromStr for OutputMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "append" => Ok(OutputMode::Append),
            "update" => Ok(OutputMode::Update),
            "complete" => Ok(OutputMode::Complete),
            _ => Err(Error::InvalidOption(format!(
                "unknown output mode `{s}`; use append, update or complete"
            ))),
        }
    }
}

impl fmt::Display for OutputMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputMode::Append => "append",
            OutputMode::Update => "update",
            OutputMode::Complete => "complete",
        })
    }
}
