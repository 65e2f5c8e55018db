//! The library's error type. Each variant has a stable, searchable code in brackets (in the
//! spirit of Spark's error classes) and a message that says what to do next.

/// Everything that can go wrong building or running a query.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// A column name that the input does not have.
    #[error(
        "[UNRESOLVED_COLUMN] column `{name}` does not exist{}; available columns: {available}",
        did_you_mean(name, available)
    )]
    UnresolvedColumn {
        /// The name that was asked for.
        name: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// A column name that more than one relation of a join has, written without saying whose.
    #[error(
        "[AMBIGUOUS_REFERENCE] Reference `{name}` is ambiguous, could be: [{candidates}]; \
         qualify it with its relation"
    )]
    AmbiguousReference {
        /// The name as written.
        name: String,
        /// The columns it could be, qualified (`a.id, b.id`).
        candidates: String,
    },
    /// An expression applied to values of the wrong type.
    #[error("[DATATYPE_MISMATCH] {0}")]
    TypeMismatch(String),
    /// An expression applied to values of types it does not take, named by its SQL text and
    /// with the types in Spark's upper-case names, as Spark's `DATATYPE_MISMATCH.*` errors say
    /// it: `Cannot resolve "(name + 1)" due to data type mismatch: ...`. Its code is
    /// `DATATYPE_MISMATCH`, as for [`Error::TypeMismatch`]; the message's brackets name Spark's
    /// subclass too (`DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES`, `BINARY_OP_WRONG_TYPE`,
    /// `UNEXPECTED_INPUT_TYPE`, `FILTER_NOT_BOOLEAN`, `CAST_WITHOUT_SUGGESTION`,
    /// `DATA_DIFF_TYPES`).
    #[error("[{class}] Cannot resolve \"{expr}\" due to data type mismatch: {reason}")]
    DatatypeMismatch {
        /// The full class, `DATATYPE_MISMATCH.<subclass>`.
        class: &'static str,
        /// The offending expression, as SQL text.
        expr: String,
        /// Why, in Spark's words.
        reason: String,
    },
    /// A function that does not exist, or was called with the wrong arguments.
    #[error("[INVALID_FUNCTION_CALL] {0}")]
    InvalidFunctionCall(String),
    /// A query shape that cannot run (e.g. `explode` inside `filter`).
    #[error("[INVALID_PLAN] {0}")]
    InvalidPlan(String),
    /// A join of two streams that Spark's rules refuse: an outer or semi join without the
    /// watermarks and time-range condition that tell when a row can no longer match.
    #[error("[UNSUPPORTED_STREAM_STREAM_JOIN] {0}")]
    UnsupportedStreamJoin(String),
    /// An output mode that the query cannot support, with Spark's reason.
    #[error("[UNSUPPORTED_OUTPUT_MODE] {0}")]
    UnsupportedOutputMode(String),
    /// A source or sink option that is missing or malformed.
    #[error("[INVALID_OPTION] {0}")]
    InvalidOption(String),
    /// An unknown source or sink format.
    #[error("[UNKNOWN_FORMAT] unknown {kind} format `{format}`; known formats: {known}")]
    UnknownFormat {
        /// "source" or "sink".
        kind: &'static str,
        /// The format asked for.
        format: String,
        /// The formats that exist, comma-separated (from the connectors' registry).
        known: String,
    },
    /// A source failed while the query ran.
    #[error("[SOURCE_FAILED] {0}")]
    Source(SourceError),
    /// A sink failed while the query ran.
    #[error("[SINK_FAILED] {0}")]
    Sink(SinkError),
    /// A checkpoint that cannot be used: another query's, corrupt, in use, or unreadable.
    #[error("[{code}] {0}", code = .0.code())]
    Checkpoint(CheckpointError),
    /// A cluster that could not form, or lost a process while running.
    #[error("[{code}] {0}", code = .0.code())]
    Cluster(ClusterError),
    /// The dataflow runtime failed (a worker panicked, the cluster could not start, ...).
    #[error("[RUNTIME_FAILED] {0}")]
    Runtime(String),
    /// SQL that does not parse.
    #[error("[PARSE_SYNTAX_ERROR] {0}")]
    Syntax(String),
    /// A static table's path (a directory, file or glob) that does not exist or matches
    /// nothing: reading it as empty would silently turn a join's matches into nulls.
    #[error("[PATH_NOT_FOUND] Path does not exist: {0}; check the path, or create it first")]
    PathNotFound(String),
    /// A name (table, stream, sink) that the script never declared.
    #[error("[TABLE_OR_VIEW_NOT_FOUND] {0}")]
    UnknownRelation(String),
    /// SQL the engine does not support (yet), with what to do instead.
    #[error("[UNSUPPORTED_FEATURE] {0}")]
    Unsupported(String),
    /// A sink format that cannot write the query's columns (an array for CSV, two columns for
    /// text), found when the query starts rather than at its first row, as Spark refuses it.
    #[error("[UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE] {0}")]
    UnsupportedDataType(String),
    /// An expression that failed on a row under ANSI mode (`spark.sql.ansi.enabled`): a
    /// division by zero, an overflow, a malformed cast. The query stops, as Spark's does.
    #[error("[{code}] {0}", code = .0.kind.code())]
    Eval(EvalError),
    /// An error at a place in a SQL script.
    #[error("{error}\n  at line {line}, column {column}{hint}")]
    Located {
        /// The error itself.
        error: Box<Error>,
        /// 1-based line in the script.
        line: u64,
        /// 1-based column in the script.
        column: u64,
        /// `\n  hint: ...`, or empty.
        hint: String,
    },
}

impl Error {
    /// The stable code of this error, e.g. `UNRESOLVED_COLUMN`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::UnresolvedColumn { .. } => "UNRESOLVED_COLUMN",
            Error::AmbiguousReference { .. } => "AMBIGUOUS_REFERENCE",
            Error::TypeMismatch(_) => "DATATYPE_MISMATCH",
            // The class without its subclass, which the message's brackets show: one stable
            // code for every type error.
            Error::DatatypeMismatch { .. } => "DATATYPE_MISMATCH",
            Error::InvalidFunctionCall(_) => "INVALID_FUNCTION_CALL",
            Error::InvalidPlan(_) => "INVALID_PLAN",
            Error::UnsupportedStreamJoin(_) => "UNSUPPORTED_STREAM_STREAM_JOIN",
            Error::UnsupportedOutputMode(_) => "UNSUPPORTED_OUTPUT_MODE",
            Error::InvalidOption(_) => "INVALID_OPTION",
            Error::UnknownFormat { .. } => "UNKNOWN_FORMAT",
            Error::Source(_) => "SOURCE_FAILED",
            Error::Sink(_) => "SINK_FAILED",
            Error::Checkpoint(e) => e.code(),
            Error::Cluster(e) => e.code(),
            Error::Runtime(_) => "RUNTIME_FAILED",
            Error::Syntax(_) => "PARSE_SYNTAX_ERROR",
            Error::UnknownRelation(_) => "TABLE_OR_VIEW_NOT_FOUND",
            Error::Unsupported(_) => "UNSUPPORTED_FEATURE",
            Error::UnsupportedDataType(_) => "UNSUPPORTED_DATA_TYPE_FOR_DATASOURCE",
            Error::PathNotFound(_) => "PATH_NOT_FOUND",
            Error::Eval(e) => e.kind.code(),
            Error::Located { error, .. } => error.code(),
        }
    }

    /// This error, placed at `line:column` of a script (unless it already has a place).
    pub fn at(self, line: u64, column: u64, hint: Option<&str>) -> Error {
        match self {
            located @ Error::Located { .. } => located,
            error if line == 0 => error,
            error => Error::Located {
                error: Box::new(error),
                line,
                column,
                hint: hint.map(|h| format!("\n  hint: {h}")).unwrap_or_default(),
            },
        }
    }

    /// True for errors in the query itself (fix the query), false for failures while running.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Located { error, .. } => error.is_user_error(),
            Error::Cluster(e) => matches!(e, ClusterError::SecretRequired { .. }),
            _ => !matches!(
                self,
                Error::Source(_) | Error::Sink(_) | Error::Checkpoint(_) | Error::Runtime(_) | Error::Eval(_)
            ),
        }
    }
}

/// ` (did you mean `x`?)` when one of the `available` columns (comma-separated) is close to
/// `name`, as Spark's `UNRESOLVED_COLUMN.WITH_SUGGESTION` suggests.
fn did_you_mean(name: &str, available: &str) -> String {
    crate::suggest::closest(name, available.split(", ").map(str::trim))
        .map(|close| format!(" (did you mean `{close}`?)"))
        .unwrap_or_default()
}

/// The kinds of evaluation errors ANSI mode raises, each one of Spark's error classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum EvalErrorKind {
    /// `/` or `DIV` by zero.
    DivideByZero,
    /// `%`, `mod` or `pmod` by zero (Spark 4's class of its own).
    RemainderByZero,
    /// An integer result outside the BIGINT range (`+ - *`, unary minus, `abs`, `sum`).
    ArithmeticOverflow,
    /// Text that does not parse as the type it is cast to.
    CastInvalidInput,
    /// A number outside the range of the type it is cast to.
    CastOverflow,
    /// `array[i]` with `i` outside the array.
    InvalidArrayIndex,
    /// `element_at(array, i)` with `i` outside the array.
    InvalidArrayIndexInElementAt,
    /// `element_at(array, 0)`: indexes start at 1.
    InvalidIndexOfZero,
    /// `to_timestamp` / `to_date` on text that does not match the pattern.
    CannotParseTimestamp,
}

impl EvalErrorKind {
    /// Spark's error class, the stable code.
    pub fn code(self) -> &'static str {
        match self {
            EvalErrorKind::DivideByZero => "DIVIDE_BY_ZERO",
            EvalErrorKind::RemainderByZero => "REMAINDER_BY_ZERO",
            EvalErrorKind::ArithmeticOverflow => "ARITHMETIC_OVERFLOW",
            EvalErrorKind::CastInvalidInput => "CAST_INVALID_INPUT",
            EvalErrorKind::CastOverflow => "CAST_OVERFLOW",
            EvalErrorKind::InvalidArrayIndex => "INVALID_ARRAY_INDEX",
            EvalErrorKind::InvalidArrayIndexInElementAt => "INVALID_ARRAY_INDEX_IN_ELEMENT_AT",
            EvalErrorKind::InvalidIndexOfZero => "INVALID_INDEX_OF_ZERO",
            EvalErrorKind::CannotParseTimestamp => "CANNOT_PARSE_TIMESTAMP",
        }
    }

    /// Spark's SQLSTATE for the class, which its messages end with.
    pub fn sql_state(self) -> &'static str {
        match self {
            EvalErrorKind::DivideByZero | EvalErrorKind::RemainderByZero => "22012",
            EvalErrorKind::CastInvalidInput => "22018",
            EvalErrorKind::CannotParseTimestamp => "22007",
            EvalErrorKind::ArithmeticOverflow
            | EvalErrorKind::CastOverflow
            | EvalErrorKind::InvalidArrayIndex
            | EvalErrorKind::InvalidArrayIndexInElementAt
            | EvalErrorKind::InvalidIndexOfZero => "22003",
        }
    }
}

/// An expression that failed on one row under ANSI mode, with Spark's error class and message.
///
/// Defined here, below every layer, because it is raised in `expr`, travels through the
/// dataflow as a `connectors::SourceEvent` (so it reaches the leader from any worker of any
/// process) and ends the query as [`Error::Eval`]. Ordered, so that when several workers fail
/// at once the same one is reported on every run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct EvalError {
    /// The error class.
    pub kind: EvalErrorKind,
    /// Spark's message for it, without the class (which [`Error`]'s display adds).
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} SQLSTATE: {}", self.message, self.kind.sql_state())
    }
}

impl From<EvalError> for Error {
    fn from(e: EvalError) -> Self {
        Error::Eval(e)
    }
}

/// Errors of sources: each names the source and says what to do.
///
/// Defined here rather than in `connectors` so that [`Error`] wraps it without importing a
/// layer above it; `connectors::SourceError` re-exports it for the sources that raise it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SourceError {
    /// Could not connect (after retrying).
    #[error("{source_name}: could not connect to {address}: {reason}; is the server running?")]
    Connect {
        /// Which source.
        source_name: String,
        /// host:port
        address: String,
        /// The last error.
        reason: String,
    },
    /// A record or file that stops the query (FAILFAST, an unreadable file).
    #[error("{0}")]
    Malformed(String),
    /// Reading failed mid-stream.
    #[error("{source_name}: read failed: {reason}")]
    Read {
        /// Which source.
        source_name: String,
        /// What happened.
        reason: String,
    },
}

/// Errors of sinks: each names the sink and the epoch it failed on.
///
/// Defined here for the same reason as [`SourceError`]; `connectors::SinkError` re-exports it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum SinkError {
    /// Writing an epoch failed.
    #[error("{sink_name}: writing batch {batch_id} failed: {reason}")]
    Write {
        /// Which sink.
        sink_name: String,
        /// The epoch.
        batch_id: u64,
        /// What happened.
        reason: String,
    },
    /// A user's `foreach_batch` function returned an error.
    #[error("foreach_batch function failed on batch {batch_id}: {reason}")]
    UserFunction {
        /// The epoch.
        batch_id: u64,
        /// The function's error.
        reason: String,
    },
}

// The connector errors are the message, not a separate cause: converting by hand (instead of
// `#[from]`, which also makes them the `source()`) keeps error chains from printing them twice.
impl From<SourceError> for Error {
    fn from(e: SourceError) -> Self {
        Error::Source(e)
    }
}

impl From<SinkError> for Error {
    fn from(e: SinkError) -> Self {
        Error::Sink(e)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a checkpoint directory cannot be used. Each refusal has its own stable code, and names
/// the directory and what to do.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The checkpoint was written by a different query (its plan fingerprint differs).
    #[error(
        "the checkpoint at {path} belongs to a different query (plan fingerprint {found}, this \
         query's is {expected}); give this query its own checkpointLocation, or delete the \
         directory to start over"
    )]
    Foreign {
        /// The checkpoint directory.
        path: String,
        /// The fingerprint recorded in its metadata.
        found: String,
        /// This query's fingerprint.
        expected: String,
    },
    /// The checkpoint's layout version is one this build does not know.
    #[error("the checkpoint at {path} has layout version {found}; this build reads version {supported}")]
    UnknownVersion {
        /// The checkpoint directory.
        path: String,
        /// The version recorded.
        found: String,
        /// The version this build writes and reads.
        supported: u32,
    },
    /// A checkpoint file that does not parse (truncated or damaged).
    #[error("checkpoint file {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another live query holds the checkpoint.
    #[error(
        "the checkpoint at {path} is in use by another running query; stop it first, or give \
         this query its own checkpointLocation"
    )]
    Locked {
        /// The checkpoint directory.
        path: String,
    },
    /// Reading or writing the checkpoint failed.
    #[error("checkpoint {path}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        reason: String,
    },
}

impl CheckpointError {
    /// The stable code of this refusal, e.g. `CHECKPOINT_FOREIGN`.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::Foreign { .. } => "CHECKPOINT_FOREIGN",
            CheckpointError::UnknownVersion { .. } => "CHECKPOINT_VERSION",
            CheckpointError::Corrupt { .. } => "CHECKPOINT_CORRUPT",
            CheckpointError::Locked { .. } => "CHECKPOINT_LOCKED",
            CheckpointError::Io { .. } => "CHECKPOINT_IO",
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        CheckpointError::Io {
            path: path.display().to_string(),
            reason: error.to_string(),
        }
    }
}

impl From<CheckpointError> for Error {
    fn from(e: CheckpointError) -> Self {
        Error::Checkpoint(e)
    }
}

/// Why a cluster of processes could not form or keep running. Each has its own stable code
/// and names the process and address concerned.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ClusterError {
    /// This process could not listen on its address from the hostfile.
    #[error("cannot listen on {address}: {reason}; is another process using the port?")]
    Bind {
        /// host:port from the hostfile.
        address: String,
        /// The operating system's error.
        reason: String,
    },
    /// Some peers did not join before `--cluster-timeout`.
    #[error("the cluster did not form within {seconds} s; missing {missing}")]
    Timeout {
        /// The timeout, in seconds.
        seconds: f64,
        /// Each missing process with its address and the last thing seen of it.
        missing: String,
    },
    /// A peer answered the handshake without knowing the cluster secret.
    #[error(
        "process {process} ({address}) does not know the cluster secret; give every process the same \
         --cluster-secret (or TIDEWATER_CLUSTER_SECRET)"
    )]
    Unauthenticated {
        /// The peer's index.
        process: usize,
        /// Its address.
        address: String,
    },
    /// A cluster with a host off this machine needs a secret.
    #[error(
        "the hostfile lists hosts that are not loopback ({hosts}); a cluster across machines needs \
         --cluster-secret or TIDEWATER_CLUSTER_SECRET, the same on every process"
    )]
    SecretRequired {
        /// The addresses that are not loopback.
        hosts: String,
    },
    /// A peer went away while the query ran.
    #[error("process {process} ({address}) disconnected: {reason}")]
    PeerLost {
        /// The peer's index.
        process: usize,
        /// Its address.
        address: String,
        /// What the network layer saw.
        reason: String,
    },
}

impl ClusterError {
    /// The error's stable code.
    pub fn code(&self) -> &'static str {
        match self {
            ClusterError::Bind { .. } => "CLUSTER_BIND",
            ClusterError::Timeout { .. } => "CLUSTER_TIMEOUT",
            ClusterError::Unauthenticated { .. } => "CLUSTER_UNAUTHENTICATED",
            ClusterError::SecretRequired { .. } => "CLUSTER_SECRET_REQUIRED",
            ClusterError::PeerLost { .. } => "CLUSTER_PEER_LOST",
        }
    }
}

impl From<ClusterError> for Error {
    fn from(e: ClusterError) -> Self {
        Error::Cluster(e)
    }
}
