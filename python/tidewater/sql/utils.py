"""PySpark 3's import path for its exceptions (``pyspark.sql.utils``)."""

from tidewater.errors import (  # noqa: F401
    AnalysisException,
    ParseException,
    PySparkException,
    StreamingQueryException,
    TidewaterException,
)
