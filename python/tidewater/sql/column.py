"""``Column``: PySpark's expression objects, each holding a Tidewater expression.

Python operators build expressions as in PySpark: ``df.value + 1``, ``col("a") == "x"``,
``(col("n") > 1) & ~col("flag")``. ``col("a")`` names a column; any other Python value in an
operator is a literal.
"""

from tidewater import _native


def _expr(value):
    """The native expression of a ``Column``, or of a Python value as a literal."""
    if isinstance(value, Column):
        return value._jc
    return _native.Expr.lit(value)


def _to_col(value):
    """A column name (``str``) or a ``Column`` as a ``Column`` (PySpark's functions take both)."""
    if isinstance(value, Column):
        return value
    if isinstance(value, str):
        return Column(_native.Expr.col(value))
    raise TypeError(f"expected a column name or a Column, got {type(value).__name__}")


def _binary(op, reflected=False):
    def method(self, other):
        if reflected:
            return Column(_expr(other).binary(op, self._jc))
        return Column(self._jc.binary(op, _expr(other)))

    method.__doc__ = f"``{op}``"
    return method


class Column:
    """An expression over a DataFrame's columns. Nothing is checked until it is used in a
    DataFrame, where a missing column raises ``AnalysisException``."""

    def __init__(self, native):
        # PySpark names its JVM handle `_jc`; the name is kept for code that pokes at it.
        self._jc = native

    __add__ = _binary("+")
    __radd__ = _binary("+", reflected=True)
    __sub__ = _binary("-")
    __rsub__ = _binary("-", reflected=True)
    __mul__ = _binary("*")
    __rmul__ = _binary("*", reflected=True)
    __truediv__ = _binary("/")
    __rtruediv__ = _binary("/", reflected=True)
    __mod__ = _binary("%")
    __rmod__ = _binary("%", reflected=True)
    __eq__ = _binary("==")
    __ne__ = _binary("!=")
    __lt__ = _binary("<")
    __le__ = _binary("<=")
    __gt__ = _binary(">")
    __ge__ = _binary(">=")
    __and__ = _binary("and")
    __rand__ = _binary("and", reflected=True)
    __or__ = _binary("or")
    __ror__ = _binary("or", reflected=True)

    def __invert__(self):
        return Column(self._jc.unary("not"))

    def __neg__(self):
        return Column(self._jc.unary("neg"))

    def __bool__(self):
        raise ValueError(
            "a Column has no truth value: use '&' for 'and', '|' for 'or', '~' for 'not' "
            "when building DataFrame boolean expressions"
        )

    # Columns compare into expressions, so they cannot be dict keys by value.
    __hash__ = None

    def eqNullSafe(self, other):
        """``<=>``: true when both are null or both equal."""
        mine, theirs = self, _to_literal_col(other)
        return (mine.isNull() & theirs.isNull()) | (mine.isNotNull() & theirs.isNotNull() & (mine == theirs))

    def alias(self, *alias, **kwargs):
        """The same expression under another name."""
        if len(alias) != 1:
            raise ValueError("alias takes one name here")
        return Column(self._jc.alias(alias[0]))

    name = alias

    def cast(self, dataType):
        """A cast to a type (a ``DataType`` or its name, ``"bigint"``, ``"string"``)."""
        ddl = dataType if isinstance(dataType, str) else dataType.simpleString()
        return Column(self._jc.cast(ddl))

    astype = cast

    def isNull(self):
        """True where the value is null."""
        return Column(self._jc.unary("isnull"))

    def isNotNull(self):
        """True where the value is not null."""
        return Column(self._jc.unary("isnotnull"))

    def like(self, other):
        """SQL ``LIKE`` (``%`` any text, ``_`` one character)."""
        return Column(self._jc.like(other))

    def rlike(self, other):
        """A regular-expression match."""
        return Column(_native.Expr.call("rlike", [self._jc, _native.Expr.lit(other)]))

    def contains(self, other):
        """True where the text contains ``other``."""
        return Column(_native.Expr.call("instr", [self._jc, _expr(other)])) > 0

    def startswith(self, other):
        """True where the text starts with ``other``."""
        prefix = _expr(other)
        return Column(_native.Expr.call("left", [self._jc, _native.Expr.call("length", [prefix])]).binary("==", prefix))

    def endswith(self, other):
        """True where the text ends with ``other``."""
        suffix = _expr(other)
        return Column(_native.Expr.call("right", [self._jc, _native.Expr.call("length", [suffix])]).binary("==", suffix))

    def substr(self, startPos, length):
        """``length`` characters from the 1-based ``startPos``."""
        return Column(_native.Expr.call("substring", [self._jc, _expr(startPos), _expr(length)]))

    def isin(self, *cols):
        """SQL ``IN (..)``."""
        if len(cols) == 1 and isinstance(cols[0], (list, set, tuple)):
            cols = tuple(cols[0])
        return Column(self._jc.isin([_expr(c) for c in cols]))

    def between(self, lowerBound, upperBound):
        """``lowerBound <= self <= upperBound``."""
        return Column(self._jc.between(_expr(lowerBound), _expr(upperBound)))

    def getField(self, name):
        """A struct's field (``window.start``)."""
        return Column(self._jc.get_field(name))

    def getItem(self, key):
        """An array's element (0-based) or a struct's field."""
        if isinstance(key, str):
            return self.getField(key)
        return Column(_native.Expr.call("element_at", [self._jc, _native.Expr.lit(key + 1)]))

    def __getitem__(self, key):
        return self.getItem(key)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.getField(name)

    def when(self, condition, value):
        """Another branch of a ``when(..)`` chain."""
        raise TypeError("when() can only follow functions.when(..) or another when(..)")

    def otherwise(self, value):
        """The value of a ``when(..)`` chain when no branch holds."""
        raise TypeError("otherwise() can only follow functions.when(..)")

    def asc(self):
        """Ascending order for ``orderBy``."""
        return _SortColumn(self, False)

    def desc(self):
        """Descending order for ``orderBy``."""
        return _SortColumn(self, True)

    def __repr__(self):
        return repr(self._jc)

    def __iter__(self):
        raise TypeError("Column is not iterable")


def _to_literal_col(value):
    return value if isinstance(value, Column) else Column(_native.Expr.lit(value))


class _SortColumn(Column):
    """A column with a sort direction (``col("a").desc()``)."""

    def __init__(self, column, descending):
        super().__init__(column._jc)
        self._descending = descending


class _WhenColumn(Column):
    """A ``when(..)`` chain: a Column (null where no branch holds) that takes more branches."""

    def __init__(self, branches, otherwise=None):
        self._branches = branches
        self._otherwise = otherwise
        super().__init__(_native.Expr.when(branches, otherwise))

    def when(self, condition, value):
        return _WhenColumn(self._branches + [(_expr(condition), _expr(value))])

    def otherwise(self, value):
        return Column(_native.Expr.when(self._branches, _expr(value)))
