"""PySpark's ``pyspark.sql`` for streaming: ``from tidewater.sql import SparkSession``."""

from tidewater.sql.column import Column
from tidewater.sql.dataframe import DataFrame, GroupedData
from tidewater.sql.session import DataStreamReader, SparkSession
from tidewater.sql.streaming import DataStreamWriter, StreamingQuery
from tidewater.sql.types import Row

__all__ = [
    "SparkSession",
    "DataFrame",
    "GroupedData",
    "Column",
    "Row",
    "DataStreamReader",
    "DataStreamWriter",
    "StreamingQuery",
]
