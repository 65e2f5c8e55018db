"""``DataStreamWriter`` and ``StreamingQuery``: starting a streaming query and watching it."""

import json

from tidewater import _native
from tidewater.sql.dataframe import BatchDataFrame
from tidewater.sql.session import _option_value


class DataStreamWriter:
    """``df.writeStream``: where and how the query writes; ``start()`` runs it."""

    def __init__(self, df):
        self._df = df
        self._format = "console"
        self._output_mode = "append"
        self._options = {}
        self._trigger = ("default", None)
        self._query_name = None
        self._foreach_batch = None

    def outputMode(self, outputMode):
        """``append`` (the default), ``update`` or ``complete``."""
        self._output_mode = outputMode
        return self

    def format(self, source):
        """The sink: ``console``, ``memory``, ``noop``, ``csv``, ``json``, ``kafka``..."""
        self._format = source
        return self

    def option(self, key, value):
        """One sink option (``checkpointLocation``, ``path``, ``numRows``...)."""
        self._options[key] = _option_value(value)
        return self

    def options(self, **options):
        """Several sink options."""
        for key, value in options.items():
            self.option(key, value)
        return self

    def partitionBy(self, *cols):
        """Not supported: file sinks write one folder."""
        raise NotImplementedError("partitionBy is not supported by Tidewater's file sinks")

    def trigger(self, processingTime=None, once=None, continuous=None, availableNow=None):
        """When epochs run: ``processingTime="5 seconds"``, ``once=True`` or
        ``availableNow=True`` (exactly one)."""
        given = [(k, v) for k, v in (("processingTime", processingTime), ("once", once),
                                     ("continuous", continuous), ("availableNow", availableNow)) if v is not None]
        if len(given) != 1:
            raise ValueError("trigger() takes exactly one of processingTime, once, continuous, availableNow")
        kind, value = given[0]
        if kind == "continuous":
            raise NotImplementedError("continuous processing is not supported; use processingTime")
        if kind == "processingTime":
            self._trigger = ("processingTime", str(value))
        elif value is not True:
            raise ValueError(f"{kind} must be True")
        else:
            self._trigger = (kind, None)
        return self

    def queryName(self, queryName):
        """The query's name (also the memory sink's table name)."""
        self._query_name = queryName
        return self

    def foreachBatch(self, func):
        """Calls ``func(batch_df, batch_id)`` for each epoch instead of writing to a format.
        ``batch_df`` has ``collect()``, ``count()`` and ``toPandas()``; an exception raised by
        ``func`` fails the query, with its traceback in the ``StreamingQueryException``."""
        self._foreach_batch = func
        self._format = "foreach_batch"
        return self

    def foreach(self, f):
        """Calls ``f(row)`` for each row (or ``f.process(row)`` on an object with ``open`` /
        ``process`` / ``close``), through ``foreachBatch``."""
        def each_batch(batch_df, batch_id):
            if hasattr(f, "process"):
                if hasattr(f, "open") and f.open(0, batch_id) is False:
                    return
                error = None
                try:
                    for row in batch_df.collect():
                        f.process(row)
                except Exception as e:
                    error = e
                    raise
                finally:
                    if hasattr(f, "close"):
                        f.close(error)
            else:
                for row in batch_df.collect():
                    f(row)

        return self.foreachBatch(each_batch)

    def start(self, path=None, format=None, outputMode=None, queryName=None, **options):
        """Checks the query against its output mode and starts it; returns at once."""
        if path is not None:
            self.option("path", path)
        if format is not None:
            self.format(format)
        if outputMode is not None:
            self.outputMode(outputMode)
        if queryName is not None:
            self.queryName(queryName)
        self.options(**options)
        callback = None
        if self._foreach_batch is not None:
            spark = self._df.sparkSession
            user_function = self._foreach_batch

            def callback(native_batch, batch_id):
                user_function(BatchDataFrame(native_batch, spark), batch_id)

        kind, interval = self._trigger
        native = _native.start(
            self._df._native,
            self._format,
            self._output_mode,
            list(self._options.items()),
            kind,
            interval,
            self._query_name,
            callback,
        )
        query = StreamingQuery(native)
        # Ended queries are let go here, so that a program starting many keeps no list of them
        # all: `spark.streams` shows running queries only.
        started = self._df.sparkSession._started
        started[:] = [q for q in started if q.isActive]
        started.append(query)
        return query

    def toTable(self, tableName, **options):
        """Not supported: Tidewater has no table catalog."""
        raise NotImplementedError("toTable is not supported; write with a format and start()")


class StreamingQuery:
    """A running (or finished) query: wait for it, stop it, read its progress."""

    def __init__(self, native):
        self._native = native

    @property
    def id(self):
        """The query's id (kept across restarts from a checkpoint)."""
        return self._native.id

    @property
    def runId(self):
        """This run's id."""
        return self._native.run_id

    @property
    def name(self):
        """The name given with ``queryName``, or ``None``."""
        return self._native.name

    @property
    def isActive(self):
        """True until the query ends."""
        return self._native.is_active

    def awaitTermination(self, timeout=None):
        """Waits for the query to end. With ``timeout`` (seconds), returns whether it ended
        in time; without, returns ``None`` once it has. A failed query raises
        ``StreamingQueryException``. Ctrl-C stops the query and raises ``KeyboardInterrupt``."""
        ended = self._native.await_termination(timeout)
        return ended if timeout is not None else None

    def processAllAvailable(self):
        """Waits until every row available now has been processed and written (for tests)."""
        self._native.process_all_available()

    def stop(self):
        """Stops the query and waits for it to end."""
        self._native.stop()

    def exception(self):
        """The ``StreamingQueryException`` the query failed with, or ``None``."""
        return self._native.exception()

    @property
    def status(self):
        """What the query is doing now: ``{"message", "isDataAvailable", "isTriggerActive"}``."""
        return json.loads(self._native.status_json())

    @property
    def lastProgress(self):
        """The last epoch's progress, as PySpark's dict (``batchId``, ``numInputRows``,
        ``durationMs``, ``sources``, ``sink``, ...), or ``None`` before the first epoch."""
        last = self._native.last_progress_json()
        return None if last is None else json.loads(last)

    @property
    def recentProgress(self):
        """The recent epochs' progress dicts, oldest first."""
        return [json.loads(p) for p in self._native.recent_progress_json()]

    def explain(self, extended=False):
        """Not kept per query here: use ``df.explain()`` before starting."""
        raise NotImplementedError("use df.explain() on the query's DataFrame")

    def __repr__(self):
        return f"<StreamingQuery id={self.id} name={self.name}>"


class StreamingQueryManager:
    """``spark.streams``: the session's queries, as PySpark's ``StreamingQueryManager``."""

    def __init__(self, spark):
        self._spark = spark

    @property
    def active(self):
        """The queries of this session that are running."""
        running = set(self._spark._native.active_query_ids())
        return [q for q in self._spark._started if q.id in running]

    def get(self, id):
        """The query of this id (a running one, as in PySpark), or ``None``."""
        return next((q for q in self.active if q.id == str(id)), None)

    def awaitAnyTermination(self, timeout=None):
        """Waits until a query of this session has ended since the start or the last
        ``resetTerminated()``, raising ``StreamingQueryException`` if it failed. With
        ``timeout`` (seconds), returns whether one ended in time."""
        ended = self._spark._native.await_any_termination(timeout)
        return ended if timeout is not None else None

    def resetTerminated(self):
        """Forgets the queries that have ended, so that ``awaitAnyTermination`` waits for
        the next."""
        self._spark._native.reset_terminated()

    def addListener(self, listener):
        """Not supported from Python yet: the listener hears nothing (a warning says so)."""
        import warnings

        warnings.warn("spark.streams.addListener is not supported from Python; use "
                      "query.lastProgress or recentProgress", stacklevel=2)

    def removeListener(self, listener):
        """Nothing to remove (see ``addListener``)."""
