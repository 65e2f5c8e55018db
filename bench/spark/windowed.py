"""Windowed counts under a watermark, for tidewater-bench's `windowed` workload, on Spark.

Reads the CSV files of --input (`key,ts_ms`, no header; one file per epoch, one micro-batch per
file), declares `ts` (the milliseconds as a timestamp) the event time with a 5-second
watermark, counts per key and 10-second window in append mode, and writes each batch's rows,
sorted, to --output/batch-NNNNNN.json as a JSON list of ["key@window start ms", count]. Spark
also runs the batches without data that its watermark calls for; they are written too. The
measurements and the report are those of `wordcount.py`, whose helpers this script uses.
"""

from wordcount import arguments, run_query, start_session


def main():
    args = arguments(__doc__.splitlines()[0]).parse_args()
    spark, startup_s = start_session(args, "tidewater-bench windowed")
    from pyspark.sql.functions import col, concat, lit, unix_millis, window

    events = (
        spark.readStream.schema("key STRING, ts_ms BIGINT")
        .option("maxFilesPerTrigger", 1)
        .csv(args.input)
        .withColumn("ts", (col("ts_ms") / 1000).cast("timestamp"))
    )
    counts = (
        events.withWatermark("ts", "5 seconds")
        .groupBy(window("ts", "10 seconds"), "key")
        .count()
        .select(
            concat(col("key"), lit("@"), unix_millis(col("window.start")).cast("string")).alias("label"),
            col("count"),
        )
    )
    run_query(spark, args, counts, startup_s, output_mode="append")


if __name__ == "__main__":
    main()
