"""Tidewater for Python: Spark Structured Streaming's PySpark API, run by Tidewater.

A PySpark streaming program runs after changing only its imports::

    from tidewater.sql import SparkSession
    from tidewater.sql.functions import explode, split

The classes mirror PySpark's (``SparkSession``, ``DataFrame``, ``Column``, ``Row``,
``StreamingQuery``); each call goes to Tidewater's Rust API, whose workers run the query with
the GIL released. Rows cross into Python only in ``foreachBatch``.
"""

from tidewater.errors import (
    AnalysisException,
    ParseException,
    StreamingQueryException,
    TidewaterException,
)

__all__ = ["AnalysisException", "ParseException", "StreamingQueryException", "TidewaterException"]
