"""The Python side of the benchmark: Spark's word count over the text files of a folder into
the ``noop`` sink, the query ``python/examples/wordcount_noop.rs`` builds in Rust.

    python python/bench/wordcount_noop.py FOLDER WORKERS

Prints the seconds from ``start()`` to the query's end, and the rows it read. No row crosses
into Python: the query runs in Tidewater's workers from source to sink.
"""

import json
import sys
import time

from tidewater.sql import SparkSession
from tidewater.sql.functions import explode, split

folder, workers = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("wordcount_noop").master(f"local[{workers}]").getOrCreate()
lines = spark.readStream.text(folder)
words = lines.select(explode(split(lines.value, " ")).alias("word"))
counts = words.groupBy("word").count()
started = time.perf_counter()
query = counts.writeStream.outputMode("update").format("noop").trigger(availableNow=True).start()
query.awaitTermination()
seconds = time.perf_counter() - started
rows = sum(p["numInputRows"] for p in query.recentProgress)
print(json.dumps({"seconds": seconds, "rows": rows}))
