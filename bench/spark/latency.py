"""Spark Structured Streaming's socket word count, for tidewater-bench's `latency` workload.

Reads lines from the socket at 127.0.0.1:--port (the benchmark's line server, which sends at a
fixed rate), counts words in update mode with Spark's default trigger (a micro-batch starts as
soon as the previous one ends), and records for every batch the wall-clock instant its rows
were handed to the sink and the lines consumed so far (the sum of the latest counts divided by
--words-per-line). After the first batch with data (the server's warm-up line) it creates the
file --ready, and the server starts its timed lines. The socket source never ends by itself: the query is stopped once --lines
lines have been consumed. The JSON report goes to --report:

    {"startup_s", "epochs": [[wall_ms, lines], ...], "trigger_ms": [...], "counts": [[word, n], ...],
     "peak_rss_mb", "spark_version", "master"}
"""

import argparse
import json
import os
import threading
import time

from wordcount import descendants, start_session, vm_hwm_mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="the line server's port")
    parser.add_argument("--lines", type=int, required=True, help="lines the server sends")
    parser.add_argument("--words-per-line", type=int, required=True)
    parser.add_argument("--checkpoint", required=True, help="the query's checkpoint directory")
    parser.add_argument("--report", required=True, help="file for the JSON report")
    parser.add_argument("--ready", required=True,
                        help="file created after the first batch (the warm-up line) is written")
    parser.add_argument("--workers", type=int, default=2, help="local[N]: task threads")
    parser.add_argument("--shuffle-partitions", type=int, default=2)
    args = parser.parse_args()
    spark, startup_s = start_session(args, "tidewater-bench latency")
    from pyspark.sql.functions import explode, split

    lines = (
        spark.readStream.format("socket")
        .option("host", "127.0.0.1")
        .option("port", args.port)
        .load()
    )
    counts = lines.select(explode(split(lines.value, " ")).alias("word")).groupBy("word").count()

    totals = {}
    words = [0]
    epochs = []
    done = threading.Event()

    def write_batch(batch, _batch_id):
        for word, count in batch.collect():
            words[0] += count - totals.get(word, 0)
            totals[word] = count
        consumed = words[0] // args.words_per_line
        epochs.append([time.time() * 1000.0, consumed])
        if consumed > 0 and not os.path.exists(args.ready):
            open(args.ready, "w").close()
        if consumed >= args.lines:
            done.set()

    query = (
        counts.writeStream.outputMode("update")
        .option("checkpointLocation", args.checkpoint)
        .foreachBatch(write_batch)
        .start()
    )
    while not done.wait(0.05):
        if not query.isActive:
            break
    query.stop()
    if query.exception() is not None:
        raise SystemExit(f"the query failed: {query.exception()}")
    if not done.is_set():
        raise SystemExit(f"the query ended after {words[0]} words, before all {args.lines} lines")
    progress = sorted(
        (p for p in query.recentProgress if p.get("numInputRows", 0) > 0), key=lambda p: p["batchId"]
    )
    python_rss = vm_hwm_mb(os.getpid())
    jvm_rss = sum(v for v in (vm_hwm_mb(pid) for pid in descendants(os.getpid())) if v is not None)
    report = {
        "startup_s": startup_s,
        "epochs": epochs,
        "trigger_ms": [p["durationMs"].get("triggerExecution", 0) for p in progress],
        "counts": sorted(totals.items()),
        "peak_rss_mb": (python_rss or 0.0) + jvm_rss,
        "spark_version": spark.version,
        "master": f"local[{args.workers}]",
    }
    with open(args.report, "w") as out:
        json.dump(report, out)
    spark.stop()


if __name__ == "__main__":
    main()
