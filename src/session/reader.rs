//! [`DataStreamReader`]: `read_stream().format(..).option(..).load()`.

use std::sync::Arc;

use super::{DataFrame, Session};
use crate::connectors::memory::MemoryStream;
use crate::connectors::registry::{source_format, SourceContext};
use crate::connectors::Options;
use crate::data::Schema;
use crate::error::{Error, Result};
use crate::plan::LogicalPlan;

/// What [`DataStreamReader::schema`] takes: a [`Schema`], or a DDL string of columns
/// (`"ts BIGINT, key STRING"`) as Spark's `DataStreamReader.schema` does.
pub trait IntoSchema {
    /// The schema, or why the DDL does not parse.
    fn into_schema(self) -> Result<Schema>;
}

impl IntoSchema for Schema {
    fn into_schema(self) -> Result<Schema> {
        Ok(self)
    }
}

impl IntoSchema for &Schema {
    fn into_schema(self) -> Result<Schema> {
        Ok(self.clone())
    }
}

impl IntoSchema for &str {
    fn into_schema(self) -> Result<Schema> {
        Schema::from_ddl(self)
    }
}

impl IntoSchema for String {
    fn into_schema(self) -> Result<Schema> {
        Schema::from_ddl(&self)
    }
}

/// Builds a streaming DataFrame from a source, like Spark's `DataStreamReader`.
#[derive(Clone, Debug)]
pub struct DataStreamReader {
    session: Session,
    format: Option<String>,
    options: Options,
    /// The declared schema, or why the DDL string that declared it did not parse (reported by
    /// `load()`, as Spark reports it when the query is analysed).
    schema: Option<Result<Schema>>,
    /// `spark.read()`: a static table, read once and whole at the start.
    once: bool,
}

impl DataStreamReader {
    pub(super) fn new(session: Session) -> Self {
        DataStreamReader {
            session,
            format: None,
            options: Options::default(),
            schema: None,
            once: false,
        }
    }

    pub(super) fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// Declares the rows' schema (needed by `json`, optional for `csv`): a [`Schema`], or a
    /// DDL string as in Spark, `.schema("ts BIGINT, key STRING")` (see [`Schema::from_ddl`]).
    /// A DDL string that does not parse fails `load()`.
    ///
    /// ```
    /// # use tidewater::prelude::*;
    /// # fn main() -> tidewater::Result<()> {
    /// # let spark = Session::builder().get_or_create()?;
    /// let dir = std::env::temp_dir();
    /// let events = spark.read_stream().format("json").schema("ts BIGINT, key STRING")
    ///     .option("path", dir.display()).load()?;
    /// assert_eq!(events.schema().names(), ["ts", "key"]);
    /// let bad = spark.read_stream().format("json").schema("ts BIGINT,").option("path", dir.display());
    /// assert_eq!(bad.load().unwrap_err().code(), "PARSE_SYNTAX_ERROR");
    /// # Ok(())
    /// # }
    /// ```
    pub fn schema(mut self, schema: impl IntoSchema) -> Self {
        self.schema = Some(schema.into_schema());
        self
    }

    /// `format("text").option("path", path).load()`
    pub fn text(self, path: &str) -> Result<DataFrame> {
        self.format("text").option("path", path).load()
    }

    /// `format("csv").option("path", path).load()`
    pub fn csv(self, path: &str) -> Result<DataFrame> {
        self.format("csv").option("path", path).load()
    }

    /// `format("json").option("path", path).load()`
    pub fn json(self, path: &str) -> Result<DataFrame> {
        self.format("json").option("path", path).load()
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

    /// Creates the source (of a format in the [registry](crate::connectors::registry)) and
    /// returns its DataFrame.
    pub fn load(self) -> Result<DataFrame> {
        let format = self.format.ok_or_else(|| {
            Error::InvalidOption("read_stream() needs a format, e.g. format(\"socket\")".into())
        })?;
        let session = self.session.clone();
        let conf = move |key: &str| session.conf(key).map(str::to_string);
        let source = source_format(&format, self.once)?.build(SourceContext {
            options: &self.options,
            schema: self.schema.transpose()?,
            once: self.once,
            conf: &conf,
        })?;
        Ok(DataFrame::new(self.session, LogicalPlan::source(source)))
    }

    /// Reads a [`MemoryStream`] (Spark's `MemoryStream.toDF()`).
    pub fn memory(self, stream: &MemoryStream) -> DataFrame {
        DataFrame::new(self.session, LogicalPlan::source(Arc::new(stream.clone())))
    }
}
