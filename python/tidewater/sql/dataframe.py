"""``DataFrame`` and ``GroupedData``: PySpark's query-building calls, each one call of
Tidewater's ``DataFrame``."""

from tidewater.sql.column import Column, _SortColumn, _to_col
from tidewater.sql.types import _from_fields


def _columns(cols):
    """PySpark's ``*cols`` (names or Columns), also given as one list."""
    if len(cols) == 1 and isinstance(cols[0], (list, tuple)):
        cols = tuple(cols[0])
    return [_to_col(c)._jc for c in cols]


class DataFrame:
    """A streaming (or static) DataFrame. Its columns are ``df.value``, ``df["value"]`` or
    ``col("value")``; its methods return new DataFrames, checked as they are built (a
    missing column raises ``AnalysisException`` at once)."""

    def __init__(self, native, spark):
        self._native = native
        self.sparkSession = spark

    # -- schema and debugging ------------------------------------------------------------

    @property
    def schema(self):
        """The columns as a ``StructType``."""
        return _from_fields(self._native.fields())

    @property
    def columns(self):
        """The columns' names."""
        return [name for name, _, _ in self._native.fields()]

    @property
    def dtypes(self):
        """``[(name, type)]``."""
        return [(f.name, f.dataType.simpleString()) for f in self.schema]

    @property
    def isStreaming(self):
        """True for a stream, false for a table read with ``spark.read``."""
        return self._native.is_streaming()

    def printSchema(self, level=None):
        """Prints the schema as a tree."""
        print(self._native.tree_string(), end="")

    def explain(self, extended=None, mode=None):
        """Prints the logical plan and the dataflow each worker runs."""
        print(self._native.explain())

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.columns:
            raise AttributeError(f"'DataFrame' object has no attribute '{name}'")
        return self[name]

    def __getitem__(self, item):
        if isinstance(item, str):
            if item not in self.columns and "." not in item:
                from tidewater.errors import AnalysisException

                raise AnalysisException(
                    f"[UNRESOLVED_COLUMN] column `{item}` does not exist; available columns: "
                    + ", ".join(self.columns),
                    "UNRESOLVED_COLUMN",
                )
            # This DataFrame's column: after a join, `left.id` and `right.id` are told apart.
            return Column(self._native.col(item))
        if isinstance(item, Column):
            return self.filter(item)
        if isinstance(item, (list, tuple)):
            return self.select(*item)
        if isinstance(item, int):
            return Column(self._native.col(self.columns[item]))
        raise TypeError(f"unexpected item type: {type(item).__name__}")

    # -- projection and filtering --------------------------------------------------------

    def select(self, *cols):
        """New columns from expressions (``"*"`` keeps every column)."""
        return self._wrap(self._native.select(_columns(cols)))

    def selectExpr(self, *expr):
        """``select`` with SQL expressions: ``selectExpr("upper(word) AS w")``."""
        if len(expr) == 1 and isinstance(expr[0], (list, tuple)):
            expr = tuple(expr[0])
        return self._wrap(self._native.select_expr(list(expr)))

    def filter(self, condition):
        """The rows where ``condition`` (a Column or SQL text) holds."""
        if isinstance(condition, str):
            from tidewater.sql.functions import expr

            condition = expr(condition)
        return self._wrap(self._native.filter(condition._jc))

    where = filter

    def withColumn(self, colName, col):
        """A column added, or replaced if ``colName`` exists."""
        return self._wrap(self._native.with_column(colName, col._jc))

    def withColumns(self, *colsMap):
        """Several columns added or replaced: ``withColumns({"a": .., "b": ..})``."""
        df = self
        for name, col in dict(*colsMap).items():
            df = df.withColumn(name, col)
        return df

    def withColumnRenamed(self, existing, new):
        """A column renamed."""
        return self._wrap(self._native.with_column_renamed(existing, new))

    def toDF(self, *cols):
        """The same columns under new names, by position: as many names as columns."""
        return self._wrap(self._native.to_df([str(c) for c in cols]))

    def withColumnsRenamed(self, colsMap):
        """Columns renamed, ``{existing: new}`` (a missing one is ignored, as in PySpark)."""
        df = self
        for existing, new in colsMap.items():
            df = df.withColumnRenamed(existing, new)
        return df

    @property
    def na(self):
        """``fill`` and ``drop`` of nulls: ``df.na.fill(0)``, ``df.na.drop()``."""
        return DataFrameNaFunctions(self)

    def fillna(self, value, subset=None):
        """Nulls replaced by ``value``, in the columns of its type, as PySpark's: a number
        fills numeric columns (cast to each column's type), a string string columns, a bool
        boolean columns; ``{column: value}`` fills those columns. ``subset`` limits the
        columns."""
        if isinstance(value, dict):
            fills = dict(value)
        elif isinstance(value, (bool, int, float, str)):
            wanted = _subset(subset) or self.columns
            fills = {name: value for name, t in self.dtypes if name in wanted and _fills(value, t)}
        else:
            raise TypeError(f"value must be a bool, int, float, str or dict, got {type(value).__name__}")
        from tidewater.sql import functions as F

        columns = []
        for name, t in self.dtypes:
            column = self[name]
            if name in fills:
                column = F.coalesce(column, F.lit(fills[name]).cast(t)).alias(name)
            columns.append(column)
        return self.select(*columns)

    def dropna(self, how="any", thresh=None, subset=None):
        """Rows without nulls (``how="any"``), or with a value somewhere (``"all"``), or with
        at least ``thresh`` values, in ``subset`` (all columns by default)."""
        from tidewater.sql import functions as F

        names = _subset(subset) or self.columns
        if how not in ("any", "all"):
            raise ValueError(f"how must be 'any' or 'all', got {how!r}")
        if thresh is None:
            thresh = len(names) if how == "any" else 1
        present = [F.when(self[n].isNotNull(), 1).otherwise(0) for n in names]
        if not present:
            return self
        count = present[0]
        for p in present[1:]:
            count = count + p
        return self.filter(count >= thresh)

    def drop(self, *cols):
        """Columns removed."""
        names = [c if isinstance(c, str) else c._jc.column_name() or c._jc.output_name() for c in cols]
        return self._wrap(self._native.drop(names))

    # -- grouping, joins, event time -----------------------------------------------------

    def groupBy(self, *cols):
        """Groups by columns (or ``window(..)``) for ``count()`` or ``agg(..)``."""
        return GroupedData(self._native.group_by(_columns(cols)), self)

    groupby = groupBy

    def agg(self, *exprs):
        """Aggregates over all rows (a global aggregate)."""
        return self.groupBy().agg(*exprs)

    def alias(self, alias):
        """This DataFrame under the name ``alias``: ``col("a.id")`` is then its ``id``, which
        tells it from another side's ``id`` after a join."""
        return self._wrap(self._native.alias(alias))

    def join(self, other, on=None, how=None):
        """Joins with ``other`` on column names (``"id"`` or ``["id", "day"]``) or a condition
        (a Column, or a list of Columns joined by AND); ``how`` is ``inner`` (the default),
        ``left``, ``right``, ``full``, ``left_semi``..."""
        how = how or "inner"
        if isinstance(on, str):
            on = [on]
        if isinstance(on, Column):
            return self._wrap(self._native.join(other._native, how, condition=on._jc))
        if isinstance(on, (list, tuple)) and on and all(isinstance(c, Column) for c in on):
            condition = on[0]
            for c in on[1:]:
                condition = condition & c
            return self._wrap(self._native.join(other._native, how, condition=condition._jc))
        return self._wrap(self._native.join(other._native, how, on=list(on) if on else None))

    def withWatermark(self, eventTime, delayThreshold):
        """Declares ``eventTime``'s lateness bound (``"10 minutes"``): windows and joins
        behind the watermark are final and their state is freed."""
        return self._wrap(self._native.with_watermark(eventTime, delayThreshold))

    # -- other relational calls -----------------------------------------------------------

    def union(self, other):
        """Rows of both, matched by position."""
        return self._wrap(self._native.union(other._native))

    unionAll = union

    def unionByName(self, other, allowMissingColumns=False):
        """Rows of both, matched by column name."""
        return self._wrap(self._native.union_by_name(other._native, allowMissingColumns))

    def dropDuplicates(self, subset=None):
        """Rows whose ``subset`` columns (all by default) were not seen before."""
        return self._wrap(self._native.drop_duplicates(list(subset or [])))

    drop_duplicates = dropDuplicates

    def dropDuplicatesWithinWatermark(self, subset=None):
        """As ``dropDuplicates``, but a key is remembered only until the watermark passes its
        first row's event time plus the watermark's delay (Spark 3.5); needs ``withWatermark``."""
        return self._wrap(self._native.drop_duplicates_within_watermark(list(subset or [])))

    def transform(self, func, *args, **kwargs):
        """``func(self, *args, **kwargs)``: chains a function of DataFrames."""
        result = func(self, *args, **kwargs)
        if not isinstance(result, DataFrame):
            raise TypeError(f"transform's function must return a DataFrame, got {type(result).__name__}")
        return result

    def repartition(self, numPartitions=None, *cols):
        """This DataFrame: Tidewater spreads rows over its workers by itself, so a partition
        count changes nothing (a warning says so)."""
        _ignored("repartition")
        return self

    def coalesce(self, numPartitions):
        """This DataFrame (see ``repartition``)."""
        _ignored("coalesce")
        return self

    def hint(self, name, *parameters):
        """This DataFrame: join hints are not taken (a warning says so); a static table is
        broadcast when it is within ``spark.sql.autoBroadcastJoinThreshold``."""
        _ignored(f"hint({name!r})")
        return self

    def distinct(self):
        """Rows not seen before."""
        return self.dropDuplicates()

    def orderBy(self, *cols, ascending=True):
        """Sorted rows (complete mode, after an aggregation)."""
        columns = cols[0] if len(cols) == 1 and isinstance(cols[0], (list, tuple)) else cols
        order = []
        for c in columns:
            column = _to_col(c)
            descending = column._descending if isinstance(column, _SortColumn) else not ascending
            order.append((column._jc, descending))
        return self._wrap(self._native.order_by(order))

    sort = orderBy

    def limit(self, num):
        """The first ``num`` rows."""
        return self._wrap(self._native.limit(num))

    def createOrReplaceTempView(self, name):
        """Names this DataFrame for ``spark.sql(..)``."""
        self._native.create_or_replace_temp_view(name)

    createTempView = createOrReplaceTempView

    @property
    def writeStream(self):
        """Starts a streaming query of this DataFrame:
        ``.writeStream.outputMode(..).format(..).start()``."""
        from tidewater.sql.streaming import DataStreamWriter

        return DataStreamWriter(self)

    # -- actions on a static DataFrame (spark.read) -----------------------------------------

    def _computed(self):
        """The rows of a static DataFrame, computed now; a stream raises ``AnalysisException``,
        as in PySpark (run it with ``writeStream``)."""
        return BatchDataFrame(self._native.collect_batch(), self.sparkSession)

    def collect(self):
        """The rows, as ``Row`` objects, sorted (or in ``orderBy``'s order)."""
        return self._computed().collect()

    def count(self):
        """The number of rows."""
        return self._computed().count()

    def isEmpty(self):
        """True when there is no row."""
        return self._computed().isEmpty()

    def head(self, n=None):
        """The first row (or the first ``n`` rows)."""
        return self._computed().head(n)

    def first(self):
        """The first row, or ``None``."""
        return self.head()

    def take(self, num):
        """The first ``num`` rows."""
        return self._computed().take(num)

    def toLocalIterator(self):
        """The rows, one at a time."""
        return iter(self.collect())

    def toPandas(self):
        """The rows as a ``pandas.DataFrame`` (pandas must be installed)."""
        return self._computed().toPandas()

    def show(self, n=20, truncate=True, vertical=False):
        """Prints the first ``n`` rows as Spark's ``show`` does (see ``BatchDataFrame.show``)."""
        if vertical:
            import warnings

            warnings.warn("show(vertical=True) is not supported; showing rows as a table", stacklevel=2)
        self._computed().show(n, truncate)

    def _wrap(self, native):
        return DataFrame(native, self.sparkSession)

    def __repr__(self):
        return "DataFrame[" + ", ".join(f"{n}: {t}" for n, t in self.dtypes) + "]"


def _ignored(call):
    """Warns that ``call`` has no effect here."""
    import warnings

    warnings.warn(f"{call} has no effect: Tidewater spreads rows over its workers itself", stacklevel=3)


def _subset(subset):
    """PySpark's ``subset`` of columns (a name, or a list or tuple of names) as a list; empty
    when none is given."""
    if not subset:
        return []
    return list(subset) if isinstance(subset, (list, tuple)) else [subset]


def _fills(value, sql_type):
    """Whether PySpark's ``fillna(value)`` fills a column of ``sql_type``."""
    numeric = sql_type in ("bigint", "int", "double", "float") or sql_type.startswith("decimal")
    if isinstance(value, bool):
        return sql_type == "boolean"
    if isinstance(value, (int, float)):
        return numeric
    return sql_type == "string"


class DataFrameNaFunctions:
    """``df.na``: PySpark's ``fill`` and ``drop`` of nulls."""

    def __init__(self, df):
        self._df = df

    def fill(self, value, subset=None):
        """See ``DataFrame.fillna``."""
        return self._df.fillna(value, subset)

    def drop(self, how="any", thresh=None, subset=None):
        """See ``DataFrame.dropna``."""
        return self._df.dropna(how, thresh, subset)


class GroupedData:
    """``df.groupBy(..)``: waits for ``count()`` or ``agg(..)``."""

    def __init__(self, native, df):
        self._native = native
        self._df = df

    def count(self):
        """Rows per group, in a column ``count``."""
        return self._df._wrap(self._native.count())

    def agg(self, *exprs):
        """Aggregates per group: ``agg(F.sum("n").alias("total"), F.max("ts"))``, or a dict
        ``{"n": "sum"}``."""
        if len(exprs) == 1 and isinstance(exprs[0], dict):
            from tidewater.sql import functions as F

            exprs = [getattr(F, fn)(c).alias(f"{fn}({c})") for c, fn in exprs[0].items()]
        return self._df._wrap(self._native.agg([e._jc for e in exprs]))

    def _simple(name):
        def aggregate(self, *cols):
            from tidewater.sql import functions as F

            return self.agg(*[getattr(F, name)(c).alias(f"{name}({c})") for c in cols])

        aggregate.__name__ = name
        aggregate.__doc__ = f"``{name}`` of each column, per group."
        return aggregate

    sum = _simple("sum")
    avg = _simple("avg")
    mean = _simple("avg")
    min = _simple("min")
    max = _simple("max")
    del _simple


class BatchDataFrame:
    """The ``batch_df`` a ``foreachBatch`` function gets: one epoch's output rows, held in
    Rust until ``collect()`` (a list of ``Row``) or ``toPandas()`` asks for them."""

    def __init__(self, native, spark):
        self._native = native
        self.sparkSession = spark

    @property
    def columns(self):
        """The columns' names."""
        return self._native.columns

    @property
    def schema(self):
        """The columns as a ``StructType``."""
        return _from_fields(self._native.fields())

    @property
    def isStreaming(self):
        """False: a batch is a finished table."""
        return False

    def count(self):
        """The number of rows (no row crosses into Python)."""
        return self._native.count()

    def isEmpty(self):
        """True when the epoch wrote no row."""
        return self._native.count() == 0

    def collect(self):
        """The rows, as ``Row`` objects (attribute and key access), in the sink's order."""
        return self._native.collect()

    def toLocalIterator(self):
        """The rows, one at a time."""
        return iter(self.collect())

    def head(self, n=None):
        """The first row (or the first ``n`` rows)."""
        rows = self.collect()
        if n is None:
            return rows[0] if rows else None
        return rows[:n]

    def first(self):
        """The first row, or ``None``."""
        return self.head()

    def take(self, num):
        """The first ``num`` rows."""
        return self.collect()[:num]

    def toPandas(self):
        """The rows as a ``pandas.DataFrame`` (pandas must be installed)."""
        try:
            import pandas
        except ImportError as e:
            raise ImportError("toPandas() needs pandas: pip install pandas") from e
        return pandas.DataFrame.from_records([tuple(r) for r in self.collect()], columns=self.columns)

    def show(self, n=20, truncate=True):
        """Prints the first ``n`` rows as Spark's ``show`` does (the console sink's table):
        ``truncate=True`` cuts cells to 20 characters, an integer to that many, ``False``
        keeps them whole and left-aligned; a null prints as ``NULL``."""
        if truncate is True:
            cut = 20
        elif truncate is False:
            cut = 0
        else:
            cut = max(int(truncate), 0)
        print(self._native.show_string(int(n), cut), end="")

    def __repr__(self):
        return "DataFrame[" + ", ".join(f"{f.name}: {f.dataType.simpleString()}" for f in self.schema) + "]"
