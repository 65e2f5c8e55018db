//! `format("socket")`: lines of text read from one TCP connection (Spark's socket source).
//!
//! One connection serves the whole cluster: the leader worker opens it, and the rows are spread
//! over the workers inside the dataflow. The connection is read on its own thread, which retries
//! with exponential backoff while the server refuses it, and ends the source when the server
//! closes the connection. Options: `host`, `port`, `includeTimestamp` (adds a `timestamp`
//! column, the time the line was read), `connectRetries` (default 10), `retryIntervalMs`
//! (first backoff, default 100, at most 60 000, doubled up to 2 s or the first backoff if
//! longer) and `maxLineLength` (default 1 MiB: a longer line is skipped whole, counted and
//! logged, so one endless line cannot take the memory).
//!
//! With a declared schema (`.schema(..)`, or columns in SQL) each line is a CSV record of that
//! schema instead, split on `sep` (default `,`, no quoting), with the file sources' rules for
//! fields and the `mode` option for malformed lines: a stream of rows typed at the source, for
//! example an upsert table's rows.

mod reader;

use std::time::Duration;

use super::{Options, Source, SourceError, SourceReader, Wake};
use crate::data::{DataType, Field, ParseMode, RowDecoder, Schema};
use crate::error::{Error, Result};

/// The default `maxLineLength`: 1 MiB, far above any line a socket stream of text or CSV
/// records carries, far below what would strain the memory.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 1 << 20;

/// The longest `retryIntervalMs` taken: a longer first backoff is cut to it, with a warning,
/// so that a typo cannot leave the source asleep for days before its first retry.
pub const MAX_RETRY_INTERVAL_MS: u64 = 60_000;

/// The first backoff `retryIntervalMs` asks for, capped at [`MAX_RETRY_INTERVAL_MS`].
fn retry_interval(millis: u64) -> Duration {
    if millis > MAX_RETRY_INTERVAL_MS {
        tracing::warn!(
            "option `retryIntervalMs` = {millis} is longer than {MAX_RETRY_INTERVAL_MS} ms; using {MAX_RETRY_INTERVAL_MS}"
        );
    }
    Duration::from_millis(millis.min(MAX_RETRY_INTERVAL_MS))
}

/// A configured socket source.
#[derive(Clone, Debug)]
pub struct SocketSource {
    host: String,
    port: u16,
    include_timestamp: bool,
    retries: u32,
    first_backoff: Duration,
    /// The longest line kept, in bytes; a longer one is skipped.
    max_line_length: usize,
    /// Decodes each line as a CSV record of the declared schema, if one was declared.
    records: Option<Records>,
}

/// How a socket source with a declared schema splits and decodes its lines.
#[derive(Clone, Debug)]
pub(crate) struct Records {
    pub(crate) decoder: RowDecoder,
    pub(crate) sep: String,
}

impl SocketSource {
    /// Reads the options of `format("socket")`; with `schema`, lines are CSV records of it.
    pub fn from_options(options: &Options, schema: Option<Schema>) -> Result<Self> {
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
            first_backoff: retry_interval(options.parse_or("retryIntervalMs", 100)?),
            max_line_length: match options.parse_or::<usize>("maxLineLength", DEFAULT_MAX_LINE_LENGTH)? {
                0 => {
                    return Err(Error::InvalidOption(
                        "option `maxLineLength` must be at least 1 (bytes)".into(),
                    ))
                }
                n => n,
            },
            records: match schema {
                None => None,
                Some(schema) => {
                    let mode: ParseMode = options
                        .get("mode")
                        .map_or(Ok(ParseMode::default()), str::parse)
                        .map_err(Error::InvalidOption)?;
                    let sep = options.get("sep").unwrap_or(",").to_string();
                    if sep.is_empty() {
                        return Err(Error::InvalidOption("option `sep` cannot be empty".into()));
                    }
                    Some(Records {
                        decoder: RowDecoder::new(schema, mode),
                        sep,
                    })
                }
            },
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
        let mut fields = match &self.records {
            Some(records) => records.decoder.schema().fields().to_vec(),
            None => vec![Field::new("value", DataType::String)],
        };
        if self.include_timestamp {
            fields.push(Field::new("timestamp", DataType::Timestamp));
        }
        Schema::new(fields)
    }

    fn open(&self, wake: Wake) -> std::result::Result<Box<dyn SourceReader>, SourceError> {
        Ok(Box::new(reader::SocketReader::spawn(self.clone(), wake)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> Options {
        let mut options = Options::default();
        for (key, value) in pairs {
            options.set(key, value);
        }
        options
    }

    #[test]
    fn the_retry_interval_is_capped_and_the_line_limit_is_positive() {
        let base = [("host", "localhost"), ("port", "9999")];
        let source = SocketSource::from_options(&options(&base), None).expect("defaults");
        assert_eq!(source.first_backoff, Duration::from_millis(100));
        assert_eq!(source.max_line_length, DEFAULT_MAX_LINE_LENGTH);
        let slow = [base[0], base[1], ("retryIntervalMs", "86400000")];
        let source = SocketSource::from_options(&options(&slow), None).expect("capped, not refused");
        assert_eq!(source.first_backoff, Duration::from_millis(MAX_RETRY_INTERVAL_MS));
        let zero = [base[0], base[1], ("maxLineLength", "0")];
        let error = SocketSource::from_options(&options(&zero), None).expect_err("no line fits");
        assert_eq!(error.code(), "INVALID_OPTION");
    }
}
