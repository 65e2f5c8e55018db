"""spark.sql.ansi.enabled: an expression that fails on a row stops the query with Spark's
error class, as PySpark raises it; without it, the same row gives null."""

import pytest
from conftest import run_to_end

from tidewater.errors import StreamingQueryException
from tidewater.sql import Row, SparkSession


@pytest.mark.parametrize("master", ["local[1]", "local[2]"])
def test_an_ansi_error_is_a_streaming_query_exception_with_its_class(text_dir, master):
    spark = SparkSession.builder.master(master).config("spark.sql.ansi.enabled", "true").create()
    df = spark.readStream.text(text_dir(["12", "abc"]))
    query = df.selectExpr("CAST(value AS BIGINT) AS n").writeStream.trigger(availableNow=True).foreachBatch(
        lambda batch_df, batch_id: None
    ).start()
    with pytest.raises(StreamingQueryException) as raised:
        query.awaitTermination(60)
    error = raised.value
    assert error.getErrorClass() == "CAST_INVALID_INPUT"
    assert error.getMessage().startswith(
        "[CAST_INVALID_INPUT] The value 'abc' of the type \"STRING\" cannot be cast to \"BIGINT\" because it is malformed."
    )
    assert not query.isActive


def test_without_ansi_the_bad_row_is_null(spark, text_dir):
    df = spark.readStream.text(text_dir(["12", "abc"]))
    batches = run_to_end(df.selectExpr("CAST(value AS BIGINT) AS n"))
    rows = sorted((row for _, batch in batches for row in batch), key=lambda r: (r.n is None, r.n))
    assert rows == [Row(n=12), Row(n=None)]
