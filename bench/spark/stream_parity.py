"""Streaming parity: the same streaming programs over JSON files (one file an epoch, under
`maxFilesPerTrigger` 1) on PySpark and on the `tidewater` package, every batch's rows compared.
Windows, sessions and deduplication under a watermark, with late rows; a group-by in complete
mode; a stream joined with a static table as LEFT, LEFT SEMI and LEFT ANTI, and with another
stream under watermarks and a time range as INNER, LEFT and LEFT SEMI, and without them as
INNER; join conditions with parts beyond the keys and the time range. Exit status 1 if any
program's batches differ.

    ~/.cache/tidewater/python-venv/bin/python bench/spark/stream_parity.py ~/.cache/tidewater/spark-venv/bin/python

The argument is the Python that has PySpark (`bench/spark/setup.sh`); this script's own Python
must import `tidewater`. Each side runs in a process of its own.
"""
import json
import os
import sys
import tempfile

# This script's neighbour: a value as both sides print it, the sides' sessions, and running them.
from parity import both_sides, plain, session

EVENTS = [  # (file, [(key, seconds)])
    [("a", 1), ("b", 3), ("a", 7)],
    [("a", 12), ("b", 4), ("c", 15)],        # b@4 is late only once the watermark passes 10
    [("a", 31), ("b", 25), ("a", 14)],       # a@14: watermark after file 1 is 15 - 5 = 10
    [("c", 60), ("a", 33), ("b", 20)],       # b@20: watermark 31 - 5 = 26: late
    [("d", 100)],
]
USERS = [("a", "ann"), ("c", "cat")]


CLICKS = [  # a second stream, for joins of two streams: (key, seconds)
    [("a", 2), ("b", 40)],
    [("c", 16), ("a", 13)],
    [("b", 26), ("a", 36)],
    [("c", 62)],
    [("d", 101)],
]


def write_inputs(root):
    os.makedirs(f"{root}/clicks", exist_ok=True)
    for i, rows in enumerate(CLICKS):
        path = f"{root}/clicks/part-{i:03d}.json"
        with open(path, "w") as f:
            for k, s in rows:
                f.write(json.dumps({"ck": k, "cs": s}) + "\n")
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    os.makedirs(f"{root}/in", exist_ok=True)
    for i, rows in enumerate(EVENTS):
        with open(f"{root}/in/part-{i:03d}.json", "w") as f:
            for k, s in rows:
                f.write(json.dumps({"k": k, "s": s}) + "\n")
        # Spark reads files in order of modification time: one second apart.
        os.utime(f"{root}/in/part-{i:03d}.json", (1_700_000_000 + i, 1_700_000_000 + i))


def programs(spark, F, root):
    events = (spark.readStream.schema("k STRING, s BIGINT").option("maxFilesPerTrigger", 1).json(f"{root}/in")
              .withColumn("ts", F.timestamp_seconds("s")))
    timed = events.withWatermark("ts", "5 seconds")
    users = spark.createDataFrame(USERS, "k STRING, name STRING")
    clicks = (spark.readStream.schema("ck STRING, cs BIGINT").option("maxFilesPerTrigger", 1).json(f"{root}/clicks")
              .withColumn("cts", F.timestamp_seconds("cs")).withWatermark("cts", "5 seconds"))
    within = F.expr("ck = k AND cts >= ts AND cts <= ts + interval 10 seconds")
    raw_clicks = spark.readStream.schema("ck STRING, cs BIGINT").option("maxFilesPerTrigger", 1).json(f"{root}/clicks")
    return {
        # Two streams that only insert, without watermarks: every row kept for ever.
        "stream_stream_inner_no_watermark": (events.join(raw_clicks, F.expr("ck = k"), "inner")
                                             .select("cs", "k"), "append"),
        "stream_stream_inner": (timed.join(clicks, within, "inner").select("k", "s", "cs"), "append"),
        "stream_stream_left": (timed.join(clicks, within, "left").select("k", "s", "cs"), "append"),
        "stream_stream_left_semi": (timed.join(clicks, within, "left_semi").select("k", "s"), "append"),
        # Conditions beyond the keys and the time range: a filter of the pairs (INNER), and a
        # part that reads the right side alone (LEFT), which Spark pushes below the join.
        "stream_stream_inner_residual": (timed.join(clicks, F.expr(
            "ck = k AND cts >= ts AND cts <= ts + interval 10 seconds AND cs - s > 1"), "inner")
            .select("k", "s", "cs"), "append"),
        "stream_stream_left_residual": (timed.join(clicks, F.expr(
            "ck = k AND cts >= ts AND cts <= ts + interval 10 seconds AND cs <> 13"), "left")
            .select("k", "s", "cs"), "append"),
        "left_outer_static_residual": (events.join(users, (events["k"] == users["k"]) & (users["name"] != "cat"), "left")
                                       .select(events["k"], "s", "name"), "append"),
        "window_update_late": (timed.groupBy(F.window("ts", "10 seconds"), "k").agg(F.sum("s").alias("t")), "update"),
        "window_avg_append": (timed.groupBy(F.window("ts", "20 seconds"))
                              .agg(F.avg("s").alias("a"), F.approx_count_distinct("k").alias("d")), "append"),
        "tumbling_append": (timed.groupBy(F.window("ts", "10 seconds"), "k").count(), "append"),
        "tumbling_update": (timed.groupBy(F.window("ts", "10 seconds")).agg(F.count("*").alias("n"), F.max("s").alias("m")), "update"),
        "sliding_append": (timed.groupBy(F.window("ts", "10 seconds", "5 seconds")).count(), "append"),
        "session_append": (timed.groupBy(F.session_window("ts", "5 seconds"), "k").count(), "append"),
        "no_watermark_complete": (events.groupBy("k").agg(F.count("*").alias("n"), F.sum("s").alias("t")), "complete"),
        "dedup_watermark": (timed.dropDuplicates(["k"]).select("k", "s"), "append"),
        "dedup_within_watermark": (timed.dropDuplicatesWithinWatermark(["k"]).select("k", "s"), "append"),
        "left_anti_static": (events.join(users, "k", "left_anti").select("k", "s"), "append"),
        "left_semi_static": (events.join(users, "k", "left_semi").select("k", "s"), "append"),
        "left_outer_static": (events.join(users, "k", "left").select("k", "s", "name"), "append"),
        "filter_project": (events.filter(F.col("s") % 2 == 1).select("k", (F.col("s") * 10).alias("x")), "append"),
    }


def run(which, root):
    spark, F, _ = session(which, "local[2]", **{"spark.sql.shuffle.partitions": 2})
    out = {}
    for name, (df, mode) in programs(spark, F, root).items():
        batches = []

        def keep(batch_df, batch_id, batches=batches):
            rows = sorted(json.dumps([plain(v) for v in r]) for r in batch_df.collect())
            if rows:
                batches.append(rows)
        try:
            q = df.writeStream.outputMode(mode).trigger(availableNow=True).foreachBatch(keep).start()
            q.awaitTermination()
            out[name] = batches
        except Exception as e:  # the error's first line is the result
            out[name] = "ERR " + str(e).splitlines()[0][:150]
    print(json.dumps(out))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--side":
        return run(sys.argv[2], sys.argv[3])
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = tempfile.mkdtemp()
    write_inputs(root)
    spark, tidewater = both_sides(__file__, sys.argv[1], root)
    differ = [name for name in spark if spark[name] != tidewater.get(name)]
    for name in spark:
        print(("DIFFERS " if name in differ else "same    ") + name)
        if name in differ:
            print("  spark:    ", json.dumps(spark[name])[:600])
            print("  tidewater:", json.dumps(tidewater.get(name))[:600])
    print(f"{len(spark) - len(differ)} of {len(spark)} programs give Spark's batches")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
