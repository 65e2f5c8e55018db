//! `format("socket")`: lines of text read from one TCP connection (Spark's socket source).
//!
//! One connection serves the whole cluster: the leader worker opens it, and the rows are spread
//! over the workers inside the dataflow. The connection is read on its own thread, which retries
//! with exponential backoff while the server refuses it, and ends the source when the server
//! closes the connection. Options: `host`, `port`, `includeTimestamp` (adds a `timestamp`
//! column, the time the line was read), `connectRetries` (default 10) and `retryIntervalMs`
//! (first backoff, default 100, doubled up to 2 s).

mod reader;

use std::time::Duration;

use super::{Options, Source, SourceError, SourceReader, Wake};
use crate::data::{DataType, Field, Schema};
use crate::error::Result;

/// A configured socket source.
#[derive(Clone, Debug)]
pub struct SocketSource {
    host: String,
    port: u16,
    include_timestamp: bool,
    retries: u32,
    first_backoff: Duration,
}

impl SocketSource {
    /// Reads the options of `format("socket")`.
    pub fn from_options(options: &Options) -> Result<Self> {
        let host = options.required("host", "the socket source")?.to_string();
        let port = options.required("port", "the socket source")?;
        let port = port.trim().parse::<u16>().map_err(|e| {
            crate::error::Error::InvalidOption(format!("option `port` = `{port}` is not a port number: {e}"))
        })?;
        Ok(SocketSource {
            host,
            port,
            include_timestamp: options.bool_or("includeTimestamp", false)?,
            retries: options.parse_or("connectRetries", 10)?,
            first_backoff: Duration::from_millis(options.parse_or("retryIntervalMs", 100)?),
        })
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl Source for SocketSource {
    fn description(&self) -> String {
        format!("TextSocketV2[host: {}, port: {}]", self.host, self.port)
    }

    fn schema(&self) -> Schema {
        let mut fields = vec![Field::new("value", DataType::String)];
        if self.include_timestamp {
            fields.push(Field::new("timestamp", DataType::Timestamp));
        }
        Schema::new(fields)
    }

    fn open(&self, wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        Ok(Box::new(reader::SocketReader::spawn(self.clone(), wake)))
    }
}
