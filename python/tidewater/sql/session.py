"""``SparkSession`` and its readers (``spark.readStream``, ``spark.read``)."""

import threading

from tidewater import _native
from tidewater.errors import AnalysisException
from tidewater.sql.dataframe import DataFrame
from tidewater.sql.types import Row, StructType


def _option_value(value):
    """Options are text, with Python's booleans written as Spark writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SparkSession:
    """The entry point: ``SparkSession.builder.appName("x").getOrCreate()``.

    ``.master("local[N]")`` sets the worker threads that run each query (``local[*]``: one
    per core); ``.config(key, value)`` sets what Tidewater reads (README lists the keys).
    """

    _lock = threading.Lock()
    _active = None

    class Builder:
        """Collects the session's settings (``SparkSession.builder``)."""

        def __init__(self):
            self._options = {}

        def appName(self, name):
            """The application's name."""
            return self.config("spark.app.name", name)

        def master(self, master):
            """``local``, ``local[N]`` or ``local[*]``: the worker threads."""
            return self.config("spark.master", master)

        def config(self, key=None, value=None, conf=None, map=None):
            """A setting; ``map`` gives several at once."""
            if key is not None:
                self._options[key] = _option_value(value)
            for pairs in (conf, map):
                for k, v in dict(pairs or {}).items():
                    self._options[k] = _option_value(v)
            return self

        def enableHiveSupport(self):
            """Accepted and ignored: Tidewater has no Hive catalog."""
            return self

        def getOrCreate(self):
            """The active session, if one exists, updated with these settings as PySpark does;
            else a new one."""
            with SparkSession._lock:
                active = SparkSession._active
                if active is not None and not _changes_cluster(active, self._options):
                    active._conf.update(self._options)
                    return active
                session = SparkSession(dict(self._options))
                SparkSession._active = session
                return session

        def create(self):
            """A new session, whatever is active."""
            return SparkSession(dict(self._options))

    #: ``SparkSession.builder``: a new builder each time it is read.
    builder = None

    def __init__(self, conf):
        conf = dict(conf)
        self._conf = conf
        settings = [(k, v) for k, v in conf.items() if k not in ("spark.app.name", "spark.master")]
        self._native = _native.Session(conf.get("spark.app.name"), conf.get("spark.master"), settings)
        # The queries started from this session's DataFrames that may still run, for
        # `spark.streams`.
        self._started = []

    @property
    def sparkContext(self):
        """PySpark's ``SparkContext``, for what a streaming program asks of it:
        ``setLogLevel``, ``appName``, ``master``, ``defaultParallelism``."""
        return SparkContext(self)

    @property
    def streams(self):
        """The session's queries: ``active``, ``get(id)``, ``awaitAnyTermination()``,
        ``resetTerminated()``."""
        from tidewater.sql.streaming import StreamingQueryManager

        return StreamingQueryManager(self)

    @property
    def conf(self):
        """The settings (``spark.conf.get(key)``)."""
        return RuntimeConfig(self._conf)

    @property
    def readStream(self):
        """Reads streams: ``spark.readStream.format("socket").option(..).load()``."""
        return DataStreamReader(self, once=False)

    @property
    def read(self):
        """Reads a static table, once and whole, to join with streams."""
        return DataStreamReader(self, once=True)

    @property
    def version(self):
        """The Spark version whose API this follows."""
        return "3.5.0"

    def createDataFrame(self, data, schema=None, samplingRatio=None, verifySchema=True):
        """A static DataFrame of ``data`` (tuples, lists, ``Row``s, dicts or a pandas
        DataFrame), as PySpark's: for joins with streams and for ``collect()``/``show()``.
        ``schema`` is a ``StructType``, a DDL string (``"id BIGINT, name STRING"``), or a list
        of column names whose types are inferred from the values (``bool`` BOOLEAN, ``int``
        BIGINT, ``float`` DOUBLE, ``str`` STRING, ``datetime`` TIMESTAMP, ``date`` DATE,
        ``bytes`` BINARY, ``list`` ARRAY); without it, names come from ``Row`` fields or
        dict keys, else ``_1``, ``_2``, ... Values are checked against the schema, as with
        PySpark's ``verifySchema``: an ``int`` is no DOUBLE."""
        if samplingRatio is not None or verifySchema is not True:
            import warnings

            warnings.warn("createDataFrame: samplingRatio and verifySchema are not supported; "
                          "every row is read and checked", stacklevel=2)
        names, rows = _rows_of(data)
        ddl = None
        if isinstance(schema, StructType):
            ddl, names = schema.toDDL(), schema.fieldNames()
        elif isinstance(schema, str):
            # Rows that name their values (dicts, Rows) are read by the schema's names, tuples
            # by position.
            ddl = schema
            names = _verified(lambda: self._native.ddl_names(schema)) if names is not None else None
        else:
            if schema is not None:
                names = [str(n) for n in schema]
            width = max((len(r) for r in rows), default=len(names or []))
            names = names or [f"_{i + 1}" for i in range(width)]
        rows = [list(row) if names is None else _in_order(row, names) for row in rows]
        if ddl is None:
            ddl = ", ".join(f"`{n}` {t}" for n, t in zip(names, _inferred_types(names, rows)))
        return DataFrame(_verified(lambda: self._native.create_data_frame(rows, ddl)), self)

    def sql(self, sqlQuery):
        """A DataFrame of a SQL query over the temporary views
        (``df.createOrReplaceTempView(name)``)."""
        return DataFrame(self._native.sql(sqlQuery), self)

    def stop(self):
        """Forgets this session as the active one (its queries are stopped by their own
        ``stop``)."""
        with SparkSession._lock:
            if SparkSession._active is self:
                SparkSession._active = None

    @classmethod
    def getActiveSession(cls):
        """The session ``getOrCreate`` returns, or ``None``."""
        return cls._active

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SparkContext:
    """The part of PySpark's ``SparkContext`` a streaming program uses."""

    def __init__(self, spark):
        self._spark = spark

    def setLogLevel(self, logLevel):
        """The level of the engine's logs on stderr: ``ALL``, ``DEBUG``, ``ERROR``, ``FATAL``,
        ``INFO``, ``OFF``, ``TRACE`` or ``WARN`` (the default)."""
        _native.set_log_level(logLevel)

    @property
    def appName(self):
        """The application's name."""
        return self._spark._native.app_name

    @property
    def master(self):
        """``local[N]``, N the worker threads."""
        return f"local[{self._spark._native.workers}]"

    @property
    def defaultParallelism(self):
        """The worker threads."""
        return self._spark._native.workers

    @property
    def version(self):
        """The Spark version whose API this follows."""
        return self._spark.version

    def stop(self):
        """Stops the session (``spark.stop()``)."""
        self._spark.stop()


def _verified(call):
    """``call()``, with a type mismatch raised as the ``TypeError`` PySpark's ``verifySchema``
    raises for a value (or a schema) of the wrong type."""
    try:
        return call()
    except AnalysisException as e:
        if e.getErrorClass() == "DATATYPE_MISMATCH":
            raise TypeError(str(e)) from e
        raise


def _rows_of(data):
    """The rows of ``createDataFrame``'s data, and the column names they carry, if any."""
    if hasattr(data, "itertuples") and hasattr(data, "columns"):
        # A pandas DataFrame: numpy scalars become Python values.
        plain = lambda v: v.item() if hasattr(v, "item") else v  # noqa: E731
        return [str(c) for c in data.columns], [tuple(map(plain, r)) for r in data.itertuples(index=False)]
    rows = list(data)
    first = rows[0] if rows else None
    if isinstance(first, dict):
        return list(first), rows
    if isinstance(first, Row) and hasattr(first, "__fields__"):
        return list(first.__fields__), rows
    return None, rows


def _in_order(row, names):
    """A row's values in the order of ``names``: a dict or a named ``Row`` by name."""
    if isinstance(row, dict):
        return [row.get(n) for n in names]
    if isinstance(row, Row) and hasattr(row, "__fields__"):
        return [row[row.__fields__.index(n)] if n in row.__fields__ else None for n in names]
    if len(row) != len(names):
        raise ValueError(f"a row has {len(row)} values for {len(names)} columns: {row!r}")
    return list(row)


def _inferred_types(names, rows):
    """Each column's SQL type, inferred from its values (`rows` in the order of `names`) as
    PySpark infers them."""
    types = []
    for i, name in enumerate(names):
        found = None
        for row in rows:
            t = _type_of(row[i])
            if t is None:
                continue
            if found is not None and t != found:
                raise TypeError(f"column `{name}`: can not merge type {found} and {t}")
            found = t
        if found is None:
            raise ValueError(f"column `{name}`: its type cannot be determined (every value is None); "
                             "give a schema")
        types.append(found)
    return types


def _type_of(value):
    """The SQL type of a Python value, or None for None."""
    import datetime

    if value is None:
        return None
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, datetime.datetime):
        return "TIMESTAMP"
    if isinstance(value, datetime.date):
        return "DATE"
    if isinstance(value, bytes):
        return "BINARY"
    if isinstance(value, (list, tuple)):
        elements = {_type_of(v) for v in value} - {None}
        if len(elements) > 1:
            raise TypeError(f"an array holds values of several types: {value!r}")
        return f"ARRAY<{elements.pop() if elements else 'STRING'}>"
    raise TypeError(f"createDataFrame cannot infer a type for {type(value).__name__} value {value!r}; "
                    "give a schema")


def _changes_cluster(session, options):
    """True when a setting fixed at creation (master, app name, engine settings) differs."""
    return any(session._conf.get(k) != v for k, v in options.items())


class _BuilderDescriptor:
    def __get__(self, instance, owner):
        return SparkSession.Builder()


SparkSession.builder = _BuilderDescriptor()


class RuntimeConfig:
    """``spark.conf``: the session's settings."""

    def __init__(self, conf):
        self._conf = conf

    def get(self, key, default=None):
        """The value of ``key``, or ``default``."""
        return self._conf.get(key, default)

    def getAll(self):
        """Every setting."""
        return dict(self._conf)


class DataStreamReader:
    """``spark.readStream`` (and ``spark.read``): a source's format, options and schema."""

    def __init__(self, spark, once):
        self._spark = spark
        self._once = once
        self._format = None
        self._options = {}
        self._schema = None

    def format(self, source):
        """The source format: ``socket``, ``rate``, ``text``, ``csv``, ``json``, ``kafka``..."""
        self._format = source
        return self

    def option(self, key, value):
        """One option."""
        self._options[key] = _option_value(value)
        return self

    def options(self, **options):
        """Several options."""
        for key, value in options.items():
            self.option(key, value)
        return self

    def schema(self, schema):
        """The rows' schema: a ``StructType`` or a DDL string (``"ts BIGINT, key STRING"``)."""
        if isinstance(schema, StructType):
            schema = schema.toDDL()
        elif not isinstance(schema, str):
            raise TypeError("schema must be a StructType or a DDL string")
        self._schema = schema
        return self

    def load(self, path=None, format=None, schema=None, **options):
        """The DataFrame of the source."""
        if format is not None:
            self.format(format)
        if schema is not None:
            self.schema(schema)
        if path is not None:
            self.option("path", path)
        self.options(**options)
        if self._format is None:
            raise ValueError("readStream needs a format, e.g. .format(\"socket\")")
        native = self._spark._native.load(self._format, list(self._options.items()), self._schema, self._once)
        return DataFrame(native, self._spark)

    def text(self, path, **options):
        """Lines of the text files under ``path``, in a column ``value``."""
        return self.load(path, format="text", **options)

    def csv(self, path, schema=None, sep=None, header=None, **options):
        """CSV files under ``path``."""
        for key, value in (("sep", sep), ("header", header)):
            if value is not None:
                options[key] = value
        return self.load(path, format="csv", schema=schema, **options)

    def json(self, path, schema=None, **options):
        """JSON lines files under ``path``."""
        return self.load(path, format="json", schema=schema, **options)

    def table(self, tableName):
        """A temporary view, by name."""
        return self._spark.sql(f"SELECT * FROM {tableName}")
