"""PySpark's data types and ``Row``.

Tidewater has fewer types than Spark: every integer is a 64-bit ``bigint`` and every inexact
fraction a ``double`` (``DecimalType(p, s)`` is exact, as Spark's). ``IntegerType()`` and
friends are accepted in schemas (they read as ``bigint``), and
a DataFrame's ``schema`` reports the types Tidewater uses.
"""

from tidewater import _native


class DataType:
    """Base of the data types."""

    #: The type's name in SQL DDL.
    _ddl = None

    def simpleString(self):
        """The type as Spark's DDL writes it, e.g. ``bigint``."""
        return self._ddl

    def typeName(self):
        """The type's name, e.g. ``long``."""
        return type(self).__name__[: -len("Type")].lower()

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash(self.simpleString())

    def __repr__(self):
        return f"{type(self).__name__}()"


def _simple(name, ddl, doc):
    cls = type(name, (DataType,), {"_ddl": ddl, "__doc__": doc})
    return cls


NullType = _simple("NullType", "void", "The type of ``None`` literals.")
BooleanType = _simple("BooleanType", "boolean", "True or false.")
LongType = _simple("LongType", "bigint", "A 64-bit integer: Tidewater's integer type.")
IntegerType = _simple("IntegerType", "int", "Read as ``bigint``: integers are 64-bit here.")
ShortType = _simple("ShortType", "smallint", "Read as ``bigint``: integers are 64-bit here.")
ByteType = _simple("ByteType", "tinyint", "Read as ``bigint``: integers are 64-bit here.")
DoubleType = _simple("DoubleType", "double", "A 64-bit float: Tidewater's fractional type.")
FloatType = _simple("FloatType", "float", "Read as ``double``.")
StringType = _simple("StringType", "string", "Text.")
BinaryType = _simple("BinaryType", "binary", "Bytes.")
TimestampType = _simple("TimestampType", "timestamp", "Microseconds since the epoch, UTC.")
DateType = _simple("DateType", "date", "Days since the epoch.")


class ArrayType(DataType):
    """An array of ``elementType``."""

    def __init__(self, elementType, containsNull=True):
        self.elementType = elementType
        self.containsNull = containsNull

    def simpleString(self):
        return f"array<{self.elementType.simpleString()}>"

    def __repr__(self):
        return f"ArrayType({self.elementType!r}, {self.containsNull})"


class StructField:
    """A named, typed column of a ``StructType``."""

    def __init__(self, name, dataType, nullable=True, metadata=None):
        self.name = name
        self.dataType = dataType
        self.nullable = nullable
        self.metadata = metadata or {}

    def simpleString(self):
        """``name:type``."""
        return f"{self.name}:{self.dataType.simpleString()}"

    def __eq__(self, other):
        return (
            isinstance(other, StructField)
            and (self.name, self.dataType, self.nullable) == (other.name, other.dataType, other.nullable)
        )

    def __hash__(self):
        return hash((self.name, self.dataType, self.nullable))

    def __repr__(self):
        return f"StructField('{self.name}', {self.dataType!r}, {self.nullable})"


class StructType(DataType):
    """A row's columns: a DataFrame's ``schema``, or what ``readStream.schema(..)`` takes."""

    def __init__(self, fields=None):
        self.fields = list(fields or [])

    def add(self, field, data_type=None, nullable=True, metadata=None):
        """Appends a field (a ``StructField``, or a name and a type or type name)."""
        if isinstance(field, StructField):
            self.fields.append(field)
        else:
            if isinstance(data_type, str):
                data_type = _from_description(_native.parse_ddl(f"x {data_type}")[0][1])
            self.fields.append(StructField(field, data_type, nullable, metadata))
        return self

    @property
    def names(self):
        """The columns' names."""
        return [f.name for f in self.fields]

    def fieldNames(self):
        """The columns' names."""
        return self.names

    def simpleString(self):
        return "struct<" + ",".join(f.simpleString() for f in self.fields) + ">"

    def toDDL(self):
        """The schema as a DDL string, ``a BIGINT, b STRING``."""
        return ", ".join(
            f"`{f.name.replace('`', '``')}` {f.dataType.simpleString()}" + ("" if f.nullable else " NOT NULL")
            for f in self.fields
        )

    @classmethod
    def fromDDL(cls, ddl):
        """Parses ``"a BIGINT, b STRING"``."""
        return _from_fields(_native.parse_ddl(ddl))

    def __iter__(self):
        return iter(self.fields)

    def __len__(self):
        return len(self.fields)

    def __getitem__(self, key):
        if isinstance(key, str):
            for f in self.fields:
                if f.name == key:
                    return f
            raise KeyError(key)
        return self.fields[key]

    def __eq__(self, other):
        return isinstance(other, StructType) and self.fields == other.fields

    def __hash__(self):
        return hash(tuple(self.fields))

    def __repr__(self):
        return f"StructType([{', '.join(repr(f) for f in self.fields)}])"


_SIMPLE = {
    cls._ddl: cls
    for cls in (NullType, BooleanType, LongType, DoubleType, StringType, BinaryType, TimestampType, DateType)
}


class DecimalType(DataType):
    """An exact number of ``precision`` digits (1 to 38), ``scale`` of them after the point;
    its values are ``decimal.Decimal``."""

    def __init__(self, precision=10, scale=0):
        self.precision = precision
        self.scale = scale

    def simpleString(self):
        return f"decimal({self.precision},{self.scale})"

    def __repr__(self):
        return f"DecimalType({self.precision},{self.scale})"


def _from_description(described):
    """A type from ``_native``'s description: a name, ``("array", t)`` or ``("struct", fields)``."""
    if isinstance(described, str):
        if described.startswith("decimal("):
            precision, scale = described[len("decimal(") : -1].split(",")
            return DecimalType(int(precision), int(scale))
        return _SIMPLE[described]()
    kind, inner = described
    if kind == "array":
        return ArrayType(_from_description(inner))
    return _from_fields(inner)


def _from_fields(fields):
    return StructType([StructField(name, _from_description(t), nullable) for name, t, nullable in fields])


class Row(tuple):
    """A row: a tuple whose fields are also attributes and keys (``row.word``,
    ``row["word"]``), as PySpark's ``Row``. ``Row(word="a", count=1)`` builds one."""

    def __new__(cls, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Row takes values or named values, not both")
        if kwargs:
            row = tuple.__new__(cls, kwargs.values())
            row.__fields__ = list(kwargs)
            return row
        return tuple.__new__(cls, args)

    def asDict(self, recursive=False):
        """The row as a dict from column name to value."""
        def value(v):
            if recursive and isinstance(v, Row):
                return v.asDict(True)
            if recursive and isinstance(v, list):
                return [value(x) for x in v]
            return v

        return {name: value(v) for name, v in zip(self.__fields__, self)}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[self.__fields__.index(name)]
        except (ValueError, AttributeError):
            raise AttributeError(name) from None

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self.__fields__.index(key))
            except (ValueError, AttributeError):
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def __contains__(self, item):
        if hasattr(self, "__fields__"):
            return item in self.__fields__
        return tuple.__contains__(self, item)

    def __reduce__(self):
        if hasattr(self, "__fields__"):
            return (_make_row, (tuple(self.__fields__), tuple(self)))
        return (Row, tuple(self))

    def __repr__(self):
        if hasattr(self, "__fields__"):
            return "Row(" + ", ".join(f"{k}={v!r}" for k, v in zip(self.__fields__, self)) + ")"
        return "<Row(" + ", ".join(repr(v) for v in self) + ")>"


def _make_row(names, values):
    """A ``Row`` with fields ``names`` (used by ``_native`` to build collected rows)."""
    row = tuple.__new__(Row, values)
    row.__fields__ = list(names)
    return row


__all__ = [
    "DataType", "NullType", "BooleanType", "LongType", "IntegerType", "ShortType", "ByteType",
    "DoubleType", "FloatType", "DecimalType", "StringType", "BinaryType", "TimestampType", "DateType",
    "ArrayType", "StructField", "StructType", "Row",
]
