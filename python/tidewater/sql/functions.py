"""PySpark's ``pyspark.sql.functions`` over Tidewater's functions.

As in PySpark, a column argument is a ``Column`` or a column name, and arguments that Spark
takes as values (a pattern, a format, a number of digits) are plain Python values. The
functions README lists all exist here; the common ones are spelled out below, the rest are
found by name (``F.initcap("name")``), every argument a column name, ``Column`` or value.
"""

from tidewater import _native
from tidewater.sql.column import Column, _WhenColumn, _expr, _to_col



def _call(name, *args):
    return Column(_native.Expr.call(name, [a._jc if isinstance(a, Column) else a for a in args]))


def _cols(*cols):
    return [_to_col(c)._jc for c in cols]


def _lit(value):
    return _native.Expr.lit(value)


def _flatten(cols):
    """``f(a, b)`` or ``f([a, b])``: the columns either way."""
    if len(cols) == 1 and isinstance(cols[0], (list, tuple)):
        return tuple(cols[0])
    return cols


def col(col):
    """The column named ``col`` (``"window.start"`` for a struct's field)."""
    return Column(_native.Expr.col(col))


column = col


def lit(col):
    """A literal: ``lit(1)``, ``lit("x")``; a ``Column`` is returned as it is."""
    if isinstance(col, Column):
        return col
    return Column(_lit(col))


def expr(str):
    """A SQL expression: ``expr("length(word) > 3")``."""
    return Column(_native.Expr.sql(str))


def explode(col):
    """One row per element of the array ``col``."""
    return _call("explode", *_cols(col))


def split(str, pattern, limit=-1):
    """The pieces of ``str`` between matches of the regular expression ``pattern``: at most
    ``limit`` of them when it is positive, the last holding the rest."""
    return Column(_native.Expr.call("split", _cols(str) + [_lit(pattern), _lit(int(limit))]))


def window(timeColumn, windowDuration, slideDuration=None, startTime=None):
    """The event-time window of ``windowDuration`` (``"10 minutes"``) holding
    ``timeColumn``, sliding by ``slideDuration`` when given; a struct with ``start`` and
    ``end``."""
    if startTime is not None:
        raise ValueError("window(..) does not support startTime")
    args = _cols(timeColumn) + [_lit(windowDuration)]
    if slideDuration is not None and slideDuration != windowDuration:
        args.append(_lit(slideDuration))
    return Column(_native.Expr.call("window", args))


def session_window(timeColumn, gapDuration):
    """Spark's session window: rows of a key closer than ``gapDuration`` share a session."""
    gap = gapDuration._jc if isinstance(gapDuration, Column) else _lit(gapDuration)
    return Column(_native.Expr.call("session_window", _cols(timeColumn) + [gap]))


def when(condition, value):
    """``CASE WHEN``: chain ``.when(..)`` and end with ``.otherwise(..)``."""
    return _WhenColumn([(_expr(condition), _expr(value))])


def _aggregate(name):
    def aggregate(col):
        return Column(_native.Expr.call(name, _cols(col)))

    aggregate.__name__ = name
    aggregate.__doc__ = f"The aggregate ``{name}`` (``\"*\"`` counts rows for ``count``)."
    return aggregate


count = _aggregate("count")
sum = _aggregate("sum")
avg = _aggregate("avg")
mean = _aggregate("avg")
min = _aggregate("min")
max = _aggregate("max")
collect_list = _aggregate("collect_list")
collect_set = _aggregate("collect_set")
stddev = _aggregate("stddev")
stddev_samp = _aggregate("stddev")
stddev_pop = _aggregate("stddev_pop")
variance = _aggregate("variance")
var_samp = _aggregate("variance")
var_pop = _aggregate("var_pop")
count_if = _aggregate("count_if")


def count_distinct(col, *cols):
    """The number of distinct values of ``col``."""
    if cols:
        raise ValueError("count_distinct(..) takes one column here")
    return Column(_native.Expr.call("count_distinct", _cols(col)))


countDistinct = count_distinct


def approx_count_distinct(col, rsd=None):
    """An estimate of the number of distinct values."""
    return Column(_native.Expr.call("approx_count_distinct", _cols(col)))


approxCountDistinct = approx_count_distinct


def max_by(col, ord):
    """The value of ``col`` where ``ord`` is largest."""
    return Column(_native.Expr.call("max_by", _cols(col, ord)))


def min_by(col, ord):
    """The value of ``col`` where ``ord`` is smallest."""
    return Column(_native.Expr.call("min_by", _cols(col, ord)))


def _unary(name):
    def function(col):
        return Column(_native.Expr.call(name, _cols(col)))

    function.__name__ = name
    function.__doc__ = f"Spark's ``{name}(col)``."
    return function


for _name in (
    "lower", "upper", "length", "trim", "ltrim", "rtrim", "initcap", "reverse", "ascii", "abs",
    "sqrt", "exp", "floor", "ceil", "log10", "log2", "signum", "md5", "sha1", "crc32", "size",
    "to_json", "year", "quarter", "month", "dayofmonth", "dayofweek", "dayofyear", "weekofyear",
    "hour", "minute", "second", "last_day", "timestamp_seconds", "timestamp_millis",
    "timestamp_micros", "unix_seconds", "unix_millis", "unix_micros", "unix_date",
):
    globals()[_name] = _unary(_name)
ln = _unary("ln")
ceiling = _unary("ceil")
del _name


def _variadic(name):
    def function(*cols):
        return Column(_native.Expr.call(name, _cols(*_flatten(cols))))

    function.__name__ = name
    function.__doc__ = f"Spark's ``{name}(col, ...)``."
    return function


concat = _variadic("concat")
coalesce = _variadic("coalesce")
greatest = _variadic("greatest")
least = _variadic("least")
array = _variadic("array")
struct = _variadic("struct")
hash = _variadic("hash")
xxhash64 = _variadic("xxhash64")


def concat_ws(sep, *cols):
    """The strings joined by ``sep``, nulls skipped."""
    return Column(_native.Expr.call("concat_ws", [_lit(sep)] + _cols(*_flatten(cols))))


def substring(str, pos, len):
    """``len`` characters of ``str`` from the 1-based ``pos``."""
    return Column(_native.Expr.call("substring", _cols(str) + [_lit(pos), _lit(len)]))


def round(col, scale=0):
    """``col`` rounded half up to ``scale`` decimals."""
    return Column(_native.Expr.call("round", _cols(col) + [_lit(scale)]))


def bround(col, scale=0):
    """``col`` rounded half even to ``scale`` decimals."""
    return Column(_native.Expr.call("bround", _cols(col) + [_lit(scale)]))


def regexp_extract(str, pattern, idx):
    """Group ``idx`` of the first match of ``pattern``."""
    return Column(_native.Expr.call("regexp_extract", _cols(str) + [_lit(pattern), _lit(idx)]))


def regexp_replace(string, pattern, replacement):
    """Every match of ``pattern`` replaced."""
    return Column(_native.Expr.call("regexp_replace", _cols(string) + [_lit(pattern), _lit(replacement)]))


def _with_format(name):
    def function(col, format=None):
        args = _cols(col)
        if format is not None:
            args.append(_lit(format))
        return Column(_native.Expr.call(name, args))

    function.__name__ = name
    function.__doc__ = f"Spark's ``{name}(col[, format])``."
    return function


to_timestamp = _with_format("to_timestamp")
try_to_timestamp = _with_format("try_to_timestamp")
to_date = _with_format("to_date")


def from_unixtime(timestamp, format="yyyy-MM-dd HH:mm:ss"):
    """Seconds since the epoch as text in ``format``."""
    return Column(_native.Expr.call("from_unixtime", _cols(timestamp) + [_lit(format)]))


def unix_timestamp(timestamp, format="yyyy-MM-dd HH:mm:ss"):
    """Text in ``format`` (or a timestamp) as seconds since the epoch."""
    return Column(_native.Expr.call("unix_timestamp", _cols(timestamp) + [_lit(format)]))


def date_format(date, format):
    """A date or timestamp as text in ``format``."""
    return Column(_native.Expr.call("date_format", _cols(date) + [_lit(format)]))


def date_trunc(format, timestamp):
    """The timestamp truncated to the unit ``format`` (``"hour"``)."""
    return Column(_native.Expr.call("date_trunc", [_lit(format)] + _cols(timestamp)))


def trunc(date, format):
    """The date truncated to the unit ``format`` (``"month"``)."""
    return Column(_native.Expr.call("trunc", _cols(date) + [_lit(format)]))


def _column_or_value(value):
    return value._jc if isinstance(value, Column) else _lit(value)


def date_add(start, days):
    """``days`` days after ``start``."""
    return Column(_native.Expr.call("date_add", _cols(start) + [_column_or_value(days)]))


def date_sub(start, days):
    """``days`` days before ``start``."""
    return Column(_native.Expr.call("date_sub", _cols(start) + [_column_or_value(days)]))


def datediff(end, start):
    """Days from ``start`` to ``end``."""
    return Column(_native.Expr.call("datediff", _cols(end, start)))


def instr(str, substr):
    """The 1-based position of ``substr`` in ``str`` (0 if absent)."""
    return Column(_native.Expr.call("instr", _cols(str) + [_lit(substr)]))


def locate(substr, str, pos=1):
    """The 1-based position of ``substr`` in ``str`` from ``pos`` (0 if absent)."""
    return Column(_native.Expr.call("locate", [_lit(substr)] + _cols(str) + [_lit(pos)]))


def lpad(col, len, pad):
    """``col`` padded on the left to ``len`` characters."""
    return Column(_native.Expr.call("lpad", _cols(col) + [_lit(len), _lit(pad)]))


def rpad(col, len, pad):
    """``col`` padded on the right to ``len`` characters."""
    return Column(_native.Expr.call("rpad", _cols(col) + [_lit(len), _lit(pad)]))


def repeat(col, n):
    """``col`` repeated ``n`` times."""
    return Column(_native.Expr.call("repeat", _cols(col) + [_column_or_value(n)]))


def translate(srcCol, matching, replace):
    """Each character of ``matching`` replaced by the one at its place in ``replace``."""
    return Column(_native.Expr.call("translate", _cols(srcCol) + [_lit(matching), _lit(replace)]))


def element_at(col, extraction):
    """The 1-based ``extraction``-th element of an array."""
    return Column(_native.Expr.call("element_at", _cols(col) + [_column_or_value(extraction)]))


def array_contains(col, value):
    """True where the array holds ``value``."""
    return Column(_native.Expr.call("array_contains", _cols(col) + [_column_or_value(value)]))


def sha2(col, numBits):
    """The SHA-2 digest of ``numBits`` bits, as hex."""
    return Column(_native.Expr.call("sha2", _cols(col) + [_lit(numBits)]))


def format_number(col, d):
    """``col`` with ``d`` decimals and thousands separators."""
    return Column(_native.Expr.call("format_number", _cols(col) + [_lit(d)]))


def from_json(col, schema, options=None):
    """The JSON text ``col`` parsed with ``schema`` (a DDL string or ``StructType``)."""
    ddl = schema if isinstance(schema, str) else schema.toDDL()
    return Column(_native.Expr.call("from_json", _cols(col) + [_lit(ddl)]))


def get_json_object(col, path):
    """The value at the JSON ``path`` (``$.a.b``) of the JSON text ``col``."""
    return Column(_native.Expr.call("get_json_object", _cols(col) + [_lit(path)]))


def _two_columns(name):
    def function(col1, col2):
        return Column(_native.Expr.call(name, [_column_or_value_or_name(col1), _column_or_value_or_name(col2)]))

    function.__name__ = name
    function.__doc__ = f"Spark's ``{name}(col1, col2)``."
    return function


def _column_or_value_or_name(value):
    """PySpark's two-column functions take names, Columns or numbers."""
    if isinstance(value, (Column, str)):
        return _to_col(value)._jc
    return _lit(value)


pow = _two_columns("pow")
power = pow
pmod = _two_columns("pmod")
nvl = _two_columns("nvl")
ifnull = nvl
nullif = _two_columns("nullif")


def nvl2(col1, col2, col3):
    """``col2`` where ``col1`` is not null, else ``col3``."""
    return Column(_native.Expr.call("nvl2", _cols(col1, col2, col3)))


def log(arg1, arg2=None):
    """``log(base, col)``, or the natural logarithm of ``arg1`` alone."""
    if arg2 is None:
        return ln(arg1)
    return Column(_native.Expr.call("log", [_lit(float(arg1))] + _cols(arg2)))


def asc(col):
    """Ascending order of a column (a name or a Column) for ``orderBy``."""
    return _to_col(col).asc()


def desc(col):
    """Descending order of a column (a name or a Column) for ``orderBy``."""
    return _to_col(col).desc()


def isnull(col):
    """True where the column is null."""
    return _to_col(col).isNull()


def broadcast(df):
    """The DataFrame itself. Spark's hint to broadcast a join's table: a static table within
    ``spark.sql.autoBroadcastJoinThreshold`` is broadcast here without it, and a larger one is
    not (a warning says the hint is not taken)."""
    import warnings

    warnings.warn("broadcast() is not taken as a hint: a static table is broadcast when it is "
                  "within spark.sql.autoBroadcastJoinThreshold", stacklevel=2)
    return df


def __getattr__(name):
    """Any other function Tidewater knows, by its Spark name: columns as names or Columns,
    other arguments as values."""
    if name.startswith("_") or name not in _native.function_names():
        raise AttributeError(f"module 'tidewater.sql.functions' has no attribute '{name}'")

    def function(*args):
        return Column(_native.Expr.call(name, [_column_or_value_or_name(a) for a in args]))

    function.__name__ = name
    return function
