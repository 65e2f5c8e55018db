"""Exceptions named as PySpark's (``pyspark.errors``), carrying Tidewater's error code.

Every error has ``errorClass`` (the stable code of the Rust error, e.g. ``UNRESOLVED_COLUMN``;
README lists them) and ``message`` (the Rust error's text, which starts with the code in
brackets). ``getErrorClass()`` and ``getMessage()`` return them as PySpark's do.
"""


class TidewaterException(Exception):
    """Base of Tidewater's exceptions (PySpark's ``PySparkException``)."""

    def __init__(self, message, error_class=None):
        super().__init__(message)
        self.message = message
        self.errorClass = error_class

    def getErrorClass(self):
        """The error's stable code, e.g. ``UNRESOLVED_COLUMN``."""
        return self.errorClass

    def getCondition(self):
        """The error's stable code (PySpark 4's name for ``getErrorClass``)."""
        return self.errorClass

    def getMessage(self):
        """The error's message, as the Rust error prints it."""
        return self.message

    def __str__(self):
        return self.message


class AnalysisException(TidewaterException):
    """A query that cannot be built: a missing column, a wrong type, an unsupported mode."""


class ParseException(AnalysisException):
    """SQL or a DDL string that does not parse (``PARSE_SYNTAX_ERROR``)."""


class StreamingQueryException(TidewaterException):
    """A query that failed while it ran. When a ``foreachBatch`` function raised, the message
    holds its traceback and ``__cause__`` is the exception itself."""


# PySpark's older name for the base class.
PySparkException = TidewaterException

__all__ = [
    "TidewaterException",
    "PySparkException",
    "AnalysisException",
    "ParseException",
    "StreamingQueryException",
]
