//! The formats `read_stream().format(..)` and `write_stream().format(..)` know: for each, its
//! name, its options (with their defaults and a line of doc) and its constructor.
//!
//! This table is the one place a format is declared. The reader and the writer look formats up
//! here, the error for an unknown format lists the names found here, and an option a format
//! does not know gets a warning naming the format's options (where Spark would silently ignore
//! a misspelling). Adding a format (Kafka, say) is one entry in [`SOURCE_FORMATS`] or
//! [`SINK_FORMATS`]: its options, and a function from a [`SourceContext`] or [`SinkContext`]
//! to the connector.
//!
//! The options listed are exactly those the connector reads; the ones that every sink takes,
//! whatever its format, are in [`SINK_OPTIONS`].

use std::io::Write;
use std::sync::Arc;

use super::console::{ConsoleSink, ConsoleTarget};
use super::file::{FileFormat, FileSink, FileSource};
use super::foreach_batch::{BatchFn, ForeachBatchSink};
use super::kafka::{KafkaSink, KafkaSource};
use super::memory::{MemorySink, MemoryTable};
use super::noop::NoopSink;
use super::rate::RateSource;
use super::socket::SocketSource;
use super::{Options, Sink, Source};
use crate::data::Schema;
use crate::error::{Error, Result};

/// What an option is when it is not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionDefault {
    /// The format cannot do without it.
    Required,
    /// This value (as it would be written in `.option(..)`).
    Value(&'static str),
    /// Absent means "off" or "no limit"; the option's doc says which.
    Unset,
}

/// One option of a format: what users look up when writing `.option(name, value)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The name, in Spark's spelling (options match ignoring case).
    pub name: &'static str,
    /// The value when not given.
    pub default: OptionDefault,
    /// One line: what the option does.
    pub doc: &'static str,
}

impl OptionSpec {
    /// An option the format cannot do without.
    pub const fn required(name: &'static str, doc: &'static str) -> Self {
        OptionSpec {
            name,
            default: OptionDefault::Required,
            doc,
        }
    }

    /// An option with a default value.
    pub const fn with_default(name: &'static str, default: &'static str, doc: &'static str) -> Self {
        OptionSpec {
            name,
            default: OptionDefault::Value(default),
            doc,
        }
    }

    /// An option that is off unless given.
    pub const fn unset(name: &'static str, doc: &'static str) -> Self {
        OptionSpec {
            name,
            default: OptionDefault::Unset,
            doc,
        }
    }
}

/// What a source's constructor gets from `read_stream()` / `read()`.
pub struct SourceContext<'a> {
    /// The options given with `.option(..)`.
    pub options: &'a Options,
    /// The schema declared with `.schema(..)` (or by SQL's column list), if any.
    pub schema: Option<Schema>,
    /// True for `spark.read()`: a static table, read once and whole at the start.
    pub once: bool,
    /// The session's configuration (`spark.conf.get`): the settings a source reads under
    /// Spark's names, such as `spark.sql.session.timeZone`,
    /// `spark.sql.streaming.schemaInference` and the file sources'
    /// `spark.sql.files.maxPartitionBytes`.
    pub conf: &'a dyn Fn(&str) -> Option<String>,
}

/// What a sink's constructor gets from `write_stream()`: its options, and what only the writer
/// holds (the query's name, a console writer, a `foreach_batch` function, the session's memory
/// tables).
pub struct SinkContext<'a> {
    /// The options given with `.option(..)`.
    pub options: &'a Options,
    /// The query's output schema: a format that cannot write it (an array column in CSV, more
    /// than one column in text) refuses it when the query starts.
    pub schema: &'a Schema,
    /// The name given with `query_name(..)`.
    pub query_name: Option<&'a str>,
    /// Where the console sink writes, if not standard output.
    pub console: Option<Box<dyn Write + Send>>,
    /// The function given with `foreach_batch(..)`.
    pub foreach_batch: Option<BatchFn>,
    /// Registers (and returns) the memory table named so, where `memory_table(name)` finds it.
    pub memory_table: &'a dyn Fn(&str) -> MemoryTable,
    /// The query's checkpoint, if it has one: its directory and its id (the same across
    /// restarts). A sink that finishes a partly written epoch after a restart keeps what it
    /// needs for that there (the Kafka sink, under `sinks/kafka`).
    pub checkpoint: Option<(&'a std::path::Path, String)>,
    /// The session's configuration (`spark.conf.get`): the settings a sink reads under Spark's
    /// names, such as the file sinks' `spark.sql.streaming.fileSink.log.compactInterval`.
    pub conf: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for SourceContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext")
            .field("options", self.options)
            .field("schema", &self.schema)
            .field("once", &self.once)
            .finish_non_exhaustive()
    }
}

/// A source format: its name, its options, its constructor.
#[derive(Debug)]
pub struct SourceFormat {
    /// The name given to `format(..)`.
    pub name: &'static str,
    /// The options the source reads.
    pub options: &'static [OptionSpec],
    /// True if `spark.read()` can read it as a static table.
    pub table: bool,
    /// Builds the source.
    pub new: fn(SourceContext<'_>) -> Result<Arc<dyn Source>>,
}

/// A sink format: its name, its options (besides [`SINK_OPTIONS`]), its constructor.
#[derive(Debug)]
pub struct SinkFormat {
    /// The name given to `format(..)`.
    pub name: &'static str,
    /// The options the sink reads.
    pub options: &'static [OptionSpec],
    /// Builds the sink.
    pub new: fn(SinkContext<'_>) -> Result<Box<dyn Sink>>,
}

const PATH_SOURCE: OptionSpec =
    OptionSpec::required("path", "a directory, a glob such as `in/*.log`, or a file");
const MAX_FILES_PER_TRIGGER: OptionSpec = OptionSpec::unset(
    "maxFilesPerTrigger",
    "the most new files one epoch takes (default: all of them; ignored by static tables)",
);
const MULTI_LINE: OptionSpec = OptionSpec::with_default(
    "multiLine",
    "false",
    "csv: a quoted field may span lines; json: each file is one document (an object, or an array of objects)",
);
const CORRUPT_RECORD_COLUMN: OptionSpec = OptionSpec::with_default(
    "columnNameOfCorruptRecord",
    "_corrupt_record",
    "PERMISSIVE: the STRING column of the schema that receives a malformed record's text (default: spark.sql.columnNameOfCorruptRecord)",
);
const TIMESTAMP_FORMAT_SOURCE: OptionSpec = OptionSpec::unset(
    "timestampFormat",
    "the pattern timestamp fields must match (default: any form CAST reads)",
);
const DATE_FORMAT_SOURCE: OptionSpec = OptionSpec::unset(
    "dateFormat",
    "the pattern date fields must match (default: any form CAST reads)",
);
const TIME_ZONE_SOURCE: OptionSpec = OptionSpec::unset(
    "timeZone",
    "the zone of timestamps without an offset (default: spark.sql.session.timeZone, else UTC)",
);
const LATEST_FIRST: OptionSpec = OptionSpec::with_default(
    "latestFirst",
    "false",
    "takes the newest files first (useful with maxFilesPerTrigger over a backlog)",
);
const MAX_FILE_AGE: OptionSpec = OptionSpec::with_default(
    "maxFileAge",
    "7d",
    "a file older than the newest file seen by more than this is skipped (not in the first listing; ignored with latestFirst and maxFilesPerTrigger)",
);
const PATH_GLOB_FILTER: OptionSpec = OptionSpec::unset(
    "pathGlobFilter",
    "only files whose name matches this glob, such as `*.csv`",
);
const RECURSIVE_FILE_LOOKUP: OptionSpec = OptionSpec::with_default(
    "recursiveFileLookup",
    "false",
    "reads the files of subdirectories too (hidden ones skipped)",
);
const CLEAN_SOURCE: OptionSpec = OptionSpec::with_default(
    "cleanSource",
    "off",
    "what happens to a file once the epoch that read it is committed: off, delete, or archive (to sourceArchiveDir)",
);
const SOURCE_ARCHIVE_DIR: OptionSpec = OptionSpec::unset(
    "sourceArchiveDir",
    "with cleanSource archive: where files move, under their own absolute path",
);
const MODE: OptionSpec = OptionSpec::with_default(
    "mode",
    "PERMISSIVE",
    "malformed records: PERMISSIVE keeps them (nulls), DROPMALFORMED skips, FAILFAST stops the query",
);

/// The source formats, in the order the unknown-format error lists them.
pub static SOURCE_FORMATS: &[SourceFormat] = &[
    SourceFormat {
        name: "socket",
        options: &[
            OptionSpec::required("host", "the server to connect to"),
            OptionSpec::required("port", "the server's port"),
            OptionSpec::with_default(
                "includeTimestamp",
                "false",
                "adds a `timestamp` column: when each line was read",
            ),
            OptionSpec::with_default(
                "connectRetries",
                "10",
                "connection attempts to retry while the server refuses",
            ),
            OptionSpec::with_default(
                "retryIntervalMs",
                "100",
                "the first wait between attempts, in ms (at most 60000), doubled each time up to 2 s",
            ),
            OptionSpec::with_default(
                "maxLineLength",
                "1048576",
                "the longest line kept, in bytes; a longer one is skipped, counted and logged",
            ),
            OptionSpec::with_default(
                "sep",
                ",",
                "with a declared schema: the field separator of each line (no quoting)",
            ),
            OptionSpec::with_default(
                "mode",
                "PERMISSIVE",
                "with a declared schema: what to do with malformed lines",
            ),
        ],
        table: false,
        new: socket_source,
    },
    SourceFormat {
        name: "rate",
        options: &[
            OptionSpec::with_default("rowsPerSecond", "1", "rows generated per second"),
            OptionSpec::unset("numRows", "ends the source after this many rows (default: never)"),
        ],
        table: false,
        new: rate_source,
    },
    SourceFormat {
        name: "text",
        options: &[
            PATH_SOURCE,
            MAX_FILES_PER_TRIGGER,
            LATEST_FIRST,
            MAX_FILE_AGE,
            PATH_GLOB_FILTER,
            RECURSIVE_FILE_LOOKUP,
            CLEAN_SOURCE,
            SOURCE_ARCHIVE_DIR,
        ],
        table: true,
        new: text_source,
    },
    SourceFormat {
        name: "csv",
        options: &[
            PATH_SOURCE,
            OptionSpec::with_default("header", "false", "the first line of each file names the columns"),
            OptionSpec::with_default("sep", ",", "the field separator (`\\t` for a tab)"),
            OptionSpec::with_default(
                "delimiter",
                ",",
                "another name for `sep` (`sep` wins if both are given)",
            ),
            OptionSpec::with_default("quote", "\"", "the quote character"),
            OptionSpec::with_default(
                "escape",
                "\\",
                "the escape character inside quotes (`\"\"` also works)",
            ),
            OptionSpec::with_default(
                "nullValue",
                "",
                "the text of a null: a field with it (or an empty unquoted field) is null",
            ),
            OptionSpec::with_default(
                "emptyValue",
                "",
                "what a quoted empty field (`\"\"`) reads as (null when it equals nullValue)",
            ),
            OptionSpec::with_default(
                "inferSchema",
                "false",
                "without a schema, guesses each column's type from the files (a stream only under spark.sql.streaming.schemaInference)",
            ),
            MULTI_LINE,
            TIMESTAMP_FORMAT_SOURCE,
            DATE_FORMAT_SOURCE,
            TIME_ZONE_SOURCE,
            MODE,
            CORRUPT_RECORD_COLUMN,
            MAX_FILES_PER_TRIGGER,
            LATEST_FIRST,
            MAX_FILE_AGE,
            PATH_GLOB_FILTER,
            RECURSIVE_FILE_LOOKUP,
            CLEAN_SOURCE,
            SOURCE_ARCHIVE_DIR,
        ],
        table: true,
        new: csv_source,
    },
    SourceFormat {
        name: "json",
        options: &[
            PATH_SOURCE,
            MULTI_LINE,
            TIMESTAMP_FORMAT_SOURCE,
            DATE_FORMAT_SOURCE,
            TIME_ZONE_SOURCE,
            MODE,
            CORRUPT_RECORD_COLUMN,
            MAX_FILES_PER_TRIGGER,
            LATEST_FIRST,
            MAX_FILE_AGE,
            PATH_GLOB_FILTER,
            RECURSIVE_FILE_LOOKUP,
            CLEAN_SOURCE,
            SOURCE_ARCHIVE_DIR,
        ],
        table: true,
        new: json_source,
    },
    SourceFormat {
        name: "parquet",
        options: &[
            PATH_SOURCE,
            MAX_FILES_PER_TRIGGER,
            LATEST_FIRST,
            MAX_FILE_AGE,
            PATH_GLOB_FILTER,
            RECURSIVE_FILE_LOOKUP,
            CLEAN_SOURCE,
            SOURCE_ARCHIVE_DIR,
        ],
        table: true,
        new: parquet_source,
    },
    SourceFormat {
        name: "kafka",
        options: &[
            KAFKA_BOOTSTRAP,
            OptionSpec::unset("subscribe", "topics to read, comma-separated (one of subscribe, subscribePattern, assign)"),
            OptionSpec::unset(
                "subscribePattern",
                "a regex: every topic whose whole name matches, including topics created later",
            ),
            OptionSpec::unset("assign", "exactly these partitions, as JSON: {\"topic\":[0,1]}"),
            OptionSpec::with_default(
                "startingOffsets",
                "latest",
                "where a query without a checkpoint starts: earliest, latest, or JSON {\"topic\":{\"0\":23}} (-2 earliest, -1 latest)",
            ),
            OptionSpec::unset(
                "endingOffsets",
                "where the source ends: latest (the ends seen at start) or JSON offsets (default: never)",
            ),
            OptionSpec::unset(
                "maxOffsetsPerTrigger",
                "the most offsets one epoch reads, shared out over the partitions (default: all available)",
            ),
            OptionSpec::with_default(
                "failOnDataLoss",
                "true",
                "fail when offsets the query needs are gone (retention, a deleted topic); false skips them with a warning",
            ),
            OptionSpec::with_default(
                "includeHeaders",
                "false",
                "adds a `headers` column: array<struct<key: string, value: binary>>",
            ),
            KAFKA_CLIENT,
        ],
        table: false,
        new: kafka_source,
    },
];

const KAFKA_BOOTSTRAP: OptionSpec =
    OptionSpec::required("kafka.bootstrap.servers", "the brokers, host:port[,host:port...]");

/// Stands for every other `kafka.*` option: the client takes those it supports
/// (`kafka.client.id`, `kafka.request.timeout.ms`, `kafka.max.partition.fetch.bytes`,
/// `kafka.security.protocol` PLAINTEXT) and warns about the others.
const KAFKA_CLIENT: OptionSpec = OptionSpec::unset(
    "kafka.*",
    "client settings: kafka.client.id, kafka.request.timeout.ms (how long requests are retried, default 30000), kafka.max.partition.fetch.bytes; others are warned about",
);

/// `checkpointLocation`, taken by every sink.
pub const CHECKPOINT_LOCATION: OptionSpec = OptionSpec::unset(
    "checkpointLocation",
    "the query's checkpoint directory: offsets before each epoch, commits after, so that a restart resumes where the query stopped",
);

/// `maxRowsPerTrigger`, taken by every sink (the writer reads it).
pub const MAX_ROWS_PER_TRIGGER: OptionSpec = OptionSpec::with_default(
    "maxRowsPerTrigger",
    "1048576",
    "the most rows a source contributes to one epoch (a full epoch is also backpressure)",
);

/// The options every sink takes, whatever its format: the writer reads them, not the sink.
pub static SINK_OPTIONS: &[OptionSpec] = &[CHECKPOINT_LOCATION, MAX_ROWS_PER_TRIGGER];

/// `outputMode` in `CREATE SINK ... OPTIONS (..)`: the script sets the writer's output mode
/// from it (in code, call `output_mode(..)`).
pub const OUTPUT_MODE: OptionSpec = OptionSpec::unset(
    "outputMode",
    "append, update or complete (default: complete for aggregations, update over a streaming table, else append)",
);

/// `trigger` in `CREATE SINK ... OPTIONS (..)`: the script sets the writer's trigger from it (in
/// code, call `trigger(..)`).
pub const TRIGGER: OptionSpec = OptionSpec::unset(
    "trigger",
    "an interval such as `1 second`, `once` or `availableNow` (default: as soon as data waits)",
);

/// The options `CREATE SINK ... OPTIONS (..)` takes besides the sink's own: the script reads
/// them and never hands them to the sink.
pub static SCRIPT_SINK_OPTIONS: &[OptionSpec] = &[OUTPUT_MODE, TRIGGER];

const PATH_SINK: OptionSpec = OptionSpec::required(
    "path",
    "the directory of the part files and of the `_tidewater` log",
);

const MIN_BATCH_INTERVAL_SINK: OptionSpec = OptionSpec::with_default(
    "minBatchInterval",
    "1 second",
    "under the default trigger, the least time between two epochs, so that fast input makes \
     fewer, larger files (default: `spark.sql.streaming.fileSink.minBatchInterval`, else 1 second)",
);

const TIMESTAMP_FORMAT_SINK: OptionSpec = OptionSpec::with_default(
    "timestampFormat",
    "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "the pattern timestamps are written with, in the session time zone (`2026-01-01T00:00:05.000Z`)",
);

const DATE_FORMAT_SINK: OptionSpec =
    OptionSpec::with_default("dateFormat", "yyyy-MM-dd", "the pattern dates are written with");

const TIME_ZONE_SINK: OptionSpec = OptionSpec::unset(
    "timeZone",
    "the zone timestamps are written in (default: `spark.sql.session.timeZone`, else UTC)",
);

/// The sink formats, in the order the unknown-format error lists them.
pub static SINK_FORMATS: &[SinkFormat] = &[
    SinkFormat {
        name: "console",
        options: &[
            OptionSpec::with_default("numRows", "20", "rows shown per batch"),
            OptionSpec::with_default(
                "truncate",
                "true",
                "cuts cells to 20 characters (and right-aligns them)",
            ),
        ],
        new: console_sink,
    },
    SinkFormat {
        name: "memory",
        options: &[],
        new: memory_sink,
    },
    SinkFormat {
        name: "noop",
        options: &[],
        new: noop_sink,
    },
    SinkFormat {
        name: "csv",
        options: &[
            PATH_SINK,
            OptionSpec::with_default("header", "false", "writes the column names first in each file"),
            OptionSpec::with_default("sep", ",", "the field separator (`\\t` for a tab)"),
            OptionSpec::with_default(
                "delimiter",
                ",",
                "another name for `sep` (`sep` wins if both are given)",
            ),
            OptionSpec::with_default("quote", "\"", "the quote character"),
            OptionSpec::with_default(
                "escape",
                "\\",
                "escapes a quote inside a quoted field (and an escape before a quote)",
            ),
            OptionSpec::with_default(
                "escapeQuotes",
                "true",
                "quotes every field that holds a quote (false: only those with a separator or line break)",
            ),
            OptionSpec::with_default("quoteAll", "false", "quotes every field"),
            OptionSpec::with_default("nullValue", "", "the text of a null (an empty field)"),
            OptionSpec::with_default("emptyValue", "\"\"", "the text of an empty string"),
            OptionSpec::with_default(
                "ignoreLeadingWhiteSpace",
                "true",
                "trims spaces and tabs at the start of each value, as Spark's writer does",
            ),
            OptionSpec::with_default(
                "ignoreTrailingWhiteSpace",
                "true",
                "trims spaces and tabs at the end of each value, as Spark's writer does",
            ),
            TIMESTAMP_FORMAT_SINK,
            DATE_FORMAT_SINK,
            TIME_ZONE_SINK,
            MIN_BATCH_INTERVAL_SINK,
        ],
        new: csv_sink,
    },
    SinkFormat {
        name: "json",
        options: &[
            PATH_SINK,
            OptionSpec::unset(
                "ignoreNullFields",
                "leaves null fields out (default: `spark.sql.jsonGenerator.ignoreNullFields`, else true)",
            ),
            TIMESTAMP_FORMAT_SINK,
            DATE_FORMAT_SINK,
            TIME_ZONE_SINK,
            MIN_BATCH_INTERVAL_SINK,
        ],
        new: json_sink,
    },
    SinkFormat {
        name: "text",
        options: &[PATH_SINK, MIN_BATCH_INTERVAL_SINK],
        new: text_sink,
    },
    SinkFormat {
        name: "parquet",
        options: &[PATH_SINK, MIN_BATCH_INTERVAL_SINK],
        new: parquet_sink,
    },
    SinkFormat {
        name: "kafka",
        options: &[
            KAFKA_BOOTSTRAP,
            OptionSpec::unset(
                "topic",
                "the topic every record goes to (default: each row's `topic` column)",
            ),
            KAFKA_CLIENT,
        ],
        new: kafka_sink,
    },
    SinkFormat {
        name: "foreach_batch",
        options: &[],
        new: foreach_batch_sink,
    },
];

fn socket_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    Ok(Arc::new(SocketSource::from_options(cx.options, cx.schema)?))
}

fn rate_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    Ok(Arc::new(RateSource::from_options(cx.options)?))
}

fn file_source(format: FileFormat, cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    Ok(Arc::new(
        FileSource::new(format, cx.options, cx.schema, cx.once, cx.conf)?.split_by_conf(cx.conf)?,
    ))
}

fn text_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    file_source(FileFormat::Text, cx)
}

fn csv_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    file_source(FileFormat::Csv, cx)
}

fn json_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    file_source(FileFormat::Json, cx)
}

/// Parquet files; a build without the `parquet` feature refuses the format with a message
/// that names the feature.
fn parquet_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    file_source(FileFormat::Parquet, cx)
}

fn kafka_source(cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
    if cx.schema.is_some() {
        return Err(Error::InvalidOption(
            "the kafka source has a fixed schema (key, value, topic, partition, offset, timestamp, timestampType[, headers]); \
             declare no columns and parse `value` instead"
                .into(),
        ));
    }
    Ok(Arc::new(KafkaSource::from_options(cx.options)?))
}

fn kafka_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(KafkaSink::from_options(cx.options, cx.checkpoint)?))
}

fn console_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    let target = match cx.console {
        Some(writer) => ConsoleTarget::Writer(writer),
        None => ConsoleTarget::Stdout,
    };
    Ok(Box::new(ConsoleSink::from_options(cx.options, target)?))
}

fn memory_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    let name = cx.query_name.ok_or_else(|| {
        Error::InvalidOption("the memory sink needs a query name: call query_name(..)".into())
    })?;
    Ok(Box::new(MemorySink::new(name, (cx.memory_table)(name))))
}

fn noop_sink(_: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(NoopSink))
}

fn csv_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(FileSink::new(
        FileFormat::Csv,
        cx.options,
        cx.schema,
        cx.conf,
    )?))
}

fn json_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(FileSink::new(
        FileFormat::Json,
        cx.options,
        cx.schema,
        cx.conf,
    )?))
}

fn text_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(FileSink::new(
        FileFormat::Text,
        cx.options,
        cx.schema,
        cx.conf,
    )?))
}

/// One Parquet file per epoch; a build without the `parquet` feature refuses the format.
fn parquet_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    Ok(Box::new(FileSink::new(
        FileFormat::Parquet,
        cx.options,
        cx.schema,
        cx.conf,
    )?))
}

fn foreach_batch_sink(cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
    let f = cx
        .foreach_batch
        .ok_or_else(|| Error::InvalidOption("foreach_batch needs a function".into()))?;
    Ok(Box::new(ForeachBatchSink::new(f)))
}

/// The names of `formats`, comma-separated, for the unknown-format error.
fn names<'a>(formats: impl Iterator<Item = &'a str>) -> String {
    formats.collect::<Vec<_>>().join(", ")
}

/// The source format called `name` (any case). With `table`, only the formats `spark.read()`
/// can read whole count; the error names the formats that do.
pub fn source_format(name: &str, table: bool) -> Result<&'static SourceFormat> {
    let found = SOURCE_FORMATS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name) && (f.table || !table));
    found.ok_or_else(|| {
        let known = SOURCE_FORMATS
            .iter()
            .filter(|f| f.table || !table)
            .map(|f| f.name);
        Error::UnknownFormat {
            kind: if table { "table" } else { "source" },
            format: name.to_string(),
            known: names(known),
        }
    })
}

/// The sink format called `name` (any case).
pub fn sink_format(name: &str) -> Result<&'static SinkFormat> {
    SINK_FORMATS
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::UnknownFormat {
            kind: "sink",
            format: name.to_string(),
            known: names(SINK_FORMATS.iter().map(|f| f.name)),
        })
}

impl SourceFormat {
    /// The options given that this format does not read (lower-cased, as options are kept).
    pub fn unknown_options(&self, options: &Options) -> Vec<String> {
        unknown(options, &[self.options])
    }

    /// Builds the source, first warning about each option it would ignore.
    pub fn build(&self, cx: SourceContext<'_>) -> Result<Arc<dyn Source>> {
        warn_unknown(
            &self.unknown_options(cx.options),
            "source",
            self.name,
            &[self.options],
        );
        (self.new)(cx)
    }
}

impl SinkFormat {
    /// The options given that neither this format nor the writer ([`SINK_OPTIONS`]) reads
    /// (lower-cased, as options are kept).
    pub fn unknown_options(&self, options: &Options) -> Vec<String> {
        unknown(options, &[self.options, SINK_OPTIONS])
    }

    /// Builds the sink, first warning about each option it would ignore.
    pub fn build(&self, cx: SinkContext<'_>) -> Result<Box<dyn Sink>> {
        let lists = [self.options, SINK_OPTIONS];
        warn_unknown(&self.unknown_options(cx.options), "sink", self.name, &lists);
        (self.new)(cx)
    }
}

fn unknown(options: &Options, known: &[&[OptionSpec]]) -> Vec<String> {
    options
        .keys()
        .filter(|key| {
            !known
                .iter()
                .flat_map(|l| l.iter())
                .any(|o| match o.name.strip_suffix('*') {
                    // A family of options, such as `kafka.*`.
                    Some(prefix) => key.starts_with(&prefix.to_ascii_lowercase()),
                    None => o.name.eq_ignore_ascii_case(key),
                })
        })
        .map(String::from)
        .collect()
}

fn warn_unknown(unknown: &[String], kind: &str, format: &str, known: &[&[OptionSpec]]) {
    if unknown.is_empty() {
        return;
    }
    let known = names(known.iter().flat_map(|l| l.iter()).map(|o| o.name));
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known
    };
    for option in unknown {
        tracing::warn!(
            option = %option,
            format,
            "option `{option}` is not an option of the {format} {kind} and is ignored; its options are: {known}"
        );
    }
}

#[cfg(test)]
mod tests;
