"""The word count of Spark's Structured Streaming guide, for tidewater-bench's `spark` engine.

Reads the text files of --input (one file per epoch, one micro-batch per file), counts words in
update mode, and writes each batch's changed rows, sorted by word, to --output/batch-NNNNNN.json
as a JSON list of [word, count] pairs. tidewater-bench digests those files exactly as it digests
the other engines' output. A JSON report of the measurements goes to --report:

    {"startup_s", "seconds", "batches", "trigger_ms": [...], "add_batch_ms": [...],
     "sink_ms": [...], "phase_ms_median": {...}, "python_rss_mb", "jvm_rss_mb", "peak_rss_mb", "spark_version", "master",
     "shuffle_partitions"}

`seconds` is the wall time from the query's start to its end; the JVM's and the session's
start-up are `startup_s`, measured apart. The peak resident memory is the sum of the peaks
(VmHWM) of this Python process and of every process under it (the driver JVM).
"""

import argparse
import json
import os
import sys
import time

# bench/procmem.py, shared with the other engine's scripts: found in bench/ when run from the
# repository, and beside the script in the benchmark's temporary directory, where it is copied.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from procmem import descendants, vm_hwm_mb  # noqa: E402


def phase_medians(progress, sink_ms):
    """The median over batches of each phase of `durationMs`, and of the sink's own time."""
    phases = {}
    for p in progress:
        for phase, ms in p["durationMs"].items():
            phases.setdefault(phase, []).append(ms)
    phases["foreachBatch"] = [sink_ms[p["batchId"]] for p in progress if p["batchId"] in sink_ms]
    return {phase: sorted(v)[len(v) // 2] for phase, v in phases.items() if v}


def arguments(description):
    """The command line shared by the benchmark's Spark scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--input", required=True, help="directory of one file per epoch")
    parser.add_argument("--output", required=True, help="directory for batch-NNNNNN.json")
    parser.add_argument("--checkpoint", required=True, help="the query's checkpoint directory")
    parser.add_argument("--report", required=True, help="file for the JSON report")
    parser.add_argument("--workers", type=int, default=2, help="local[N]: task threads")
    parser.add_argument("--shuffle-partitions", type=int, default=2,
                        help="spark.sql.shuffle.partitions: partitions of the state store")
    return parser


def start_session(args, app):
    """The Spark session, and the seconds its start-up took."""
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{args.workers}]")
        .appName(app)
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # Keep every batch's progress, not only the last 100.
        .config("spark.sql.streaming.numRecentProgressUpdates", "1000000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark, time.perf_counter() - started


def run_query(spark, args, result, startup_s, output_mode="update"):
    """Runs `result` (in update mode unless told otherwise) to the end of its input, writes each
    batch's rows sorted (by their first column) to --output, and the measurements to --report."""
    # Time spent in the sink per batch: running the batch's plan, collecting its rows into
    # Python, sorting and writing them.
    sink_ms = {}

    def write_batch(batch, batch_id):
        sink_started = time.perf_counter()
        rows = sorted(tuple(row) for row in batch.collect())
        path = os.path.join(args.output, f"batch-{batch_id:06d}.json")
        with open(path, "w") as out:
            json.dump(rows, out, separators=(",", ":"))
        sink_ms[batch_id] = (time.perf_counter() - sink_started) * 1e3

    query_started = time.perf_counter()
    query = (
        result.writeStream.outputMode(output_mode)
        .option("checkpointLocation", args.checkpoint)
        .trigger(availableNow=True)
        .foreachBatch(write_batch)
        .start()
    )
    query.awaitTermination()
    seconds = time.perf_counter() - query_started
    if query.exception() is not None:
        raise SystemExit(f"the query failed: {query.exception()}")

    progress = [p for p in query.recentProgress if p.get("numInputRows", 0) > 0]
    progress.sort(key=lambda p: p["batchId"])
    python_rss = vm_hwm_mb(os.getpid())
    below = [vm_hwm_mb(pid) for pid in descendants(os.getpid())]
    jvm_rss = sum(v for v in below if v is not None)
    report = {
        "startup_s": startup_s,
        "seconds": seconds,
        "batches": len(progress),
        "trigger_ms": [p["durationMs"].get("triggerExecution", 0) for p in progress],
        "add_batch_ms": [p["durationMs"].get("addBatch", 0) for p in progress],
        "sink_ms": [sink_ms.get(p["batchId"]) for p in progress],
        "phase_ms_median": phase_medians(progress, sink_ms),
        "python_rss_mb": python_rss,
        "jvm_rss_mb": jvm_rss,
        "peak_rss_mb": (python_rss or 0.0) + jvm_rss,
        "spark_version": spark.version,
        "master": f"local[{args.workers}]",
        "shuffle_partitions": args.shuffle_partitions,
    }
    with open(args.report, "w") as out:
        json.dump(report, out)
    spark.stop()


def main():
    args = arguments(__doc__.splitlines()[0]).parse_args()
    spark, startup_s = start_session(args, "tidewater-bench wordcount")
    from pyspark.sql.functions import explode, split

    lines = spark.readStream.option("maxFilesPerTrigger", 1).text(args.input)
    words = lines.select(explode(split(lines.value, " ")).alias("word"))
    counts = words.groupBy("word").count()
    run_query(spark, args, counts, startup_s)


if __name__ == "__main__":
    main()
