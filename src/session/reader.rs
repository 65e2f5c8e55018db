//! [`DataStreamReader`]: `read_stream().format(..).option(..).load()`.

use std::sync::Arc;

use super::{DataFrame, Session};
use crate::connectors::memory::MemoryStream;
use crate::connectors::socket::SocketSource;
use crate::connectors::{Options, Source};
use crate::error::{Error, Result};
use crate::plan::LogicalPlan;

/// The source formats `load()` knows.
const SOURCE_FORMATS: &str = "socket";

/// Builds a streaming DataFrame from a source, like Spark's `DataStreamReader`.
#[derive(Clone, Debug)]
pub struct DataStreamReader {
    session: Session,
    format: Option<String>,
    options: Options,
}

impl DataStreamReader {
    pub(super) fn new(session: Session) -> Self {
        DataStreamReader {
            session,
            format: None,
            options: Options::default(),
        }
    }

    /// The source format, e.g. `socket`.
    pub fn format(mut self, format: &str) -> Self {
        self.format = Some(format.to_string());
        self
    }

    /// One option (`host`, `port`, ...); numbers and booleans are accepted as they are.
    pub fn option(mut self, key: &str, value: impl ToString) -> Self {
        self.options.set(key, value);
        self
    }

    /// Several options.
    pub fn options<K: AsRef<str>, V: ToString>(mut self, options: impl IntoIterator<Item = (K, V)>) -> Self {
        for (k, v) in options {
            self.options.set(k.as_ref(), v);
        }
        self
    }

    /// Creates the source and returns its DataFrame.
    pub fn load(self) -> Result<DataFrame> {
        let format = self.format.ok_or_else(|| {
            Error::InvalidOption("read_stream() needs a format, e.g. format(\"socket\")".into())
        })?;
        let source: Arc<dyn Source> = match format.to_ascii_lowercase().as_str() {
            "socket" => Arc::new(SocketSource::from_options(&self.options)?),
            _ => {
                return Err(Error::UnknownFormat {
                    kind: "source",
                    format,
                    known: SOURCE_FORMATS,
                })
            }
        };
        Ok(DataFrame::new(self.session, LogicalPlan::source(source)))
    }

    /// Reads a [`MemoryStream`] (Spark's `MemoryStream.toDF()`).
    pub fn memory(self, stream: &MemoryStream) -> DataFrame {
        DataFrame::new(self.session, LogicalPlan::source(Arc::new(stream.clone())))
    }
}
