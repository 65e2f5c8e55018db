"""foreachBatch: Rows in Python, a Python exception failing the query, the GIL released while
queries run, and Ctrl-C stopping a query."""

import collections
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import run_to_end

from tidewater.errors import StreamingQueryException
from tidewater.sql import Row
from tidewater.sql.functions import explode, split


def test_batches_hold_rows_with_attribute_and_key_access(spark, text_dir):
    lines = ["b a", "a"]
    df = spark.readStream.text(text_dir(lines))
    counts = df.select(explode(split(df.value, " ")).alias("word")).groupBy("word").count()
    seen = []

    def each(batch_df, batch_id):
        rows = batch_df.collect()
        seen.append((batch_id, batch_df.count(), batch_df.columns, rows))

    query = counts.writeStream.outputMode("update").trigger(availableNow=True).foreachBatch(each).start()
    query.awaitTermination()
    assert len(seen) == 1
    batch_id, count, columns, rows = seen[0]
    assert (batch_id, count, columns) == (0, 2, ["word", "count"])
    assert rows == [Row(word="a", count=2), Row(word="b", count=1)]
    first = rows[0]
    assert (first.word, first["count"], first[1]) == ("a", 2, 2)
    assert first.asDict() == {"word": "a", "count": 2}
    assert "word" in first
    assert repr(first) == "Row(word='a', count=2)"


def test_to_pandas(spark, text_dir):
    pandas = pytest.importorskip("pandas")
    df = spark.readStream.text(text_dir(["x", "y"]))
    frames = []
    query = df.writeStream.trigger(availableNow=True).foreachBatch(lambda b, i: frames.append(b.toPandas())).start()
    query.awaitTermination()
    assert len(frames) == 1
    assert isinstance(frames[0], pandas.DataFrame)
    assert list(frames[0].columns) == ["value"]
    assert sorted(frames[0]["value"]) == ["x", "y"]


def test_an_exception_in_foreach_batch_fails_the_query_with_its_traceback(spark, text_dir):
    df = spark.readStream.text(text_dir(["boom"]))

    def explode_on_purpose(batch_df, batch_id):
        raise ValueError(f"bad row in batch {batch_id}")

    query = df.writeStream.trigger(availableNow=True).foreachBatch(explode_on_purpose).start()
    with pytest.raises(StreamingQueryException) as raised:
        query.awaitTermination()
    error = raised.value
    assert error.getErrorClass() == "SINK_FAILED"
    message = str(error)
    assert "Traceback (most recent call last)" in message
    assert "explode_on_purpose" in message
    assert "ValueError: bad row in batch 0" in message
    assert isinstance(error.__cause__, ValueError)
    assert not query.isActive
    # The failure stays readable afterwards, as PySpark's exception().
    assert isinstance(query.exception(), StreamingQueryException)
    assert "bad row in batch 0" in str(query.exception())


def test_the_gil_is_released_while_a_query_runs(spark):
    # A Python thread keeps counting while the main thread waits for the query, and the
    # foreachBatch function (which needs the GIL) runs meanwhile.
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    batches = []
    df = spark.readStream.format("rate").option("rowsPerSecond", 1000).load()
    query = df.writeStream.trigger(processingTime="50 milliseconds").foreachBatch(
        lambda b, i: batches.append(b.count())).start()
    before = len(ticks)
    assert query.awaitTermination(1.0) is False
    during = len(ticks) - before
    query.stop()
    stop.set()
    counter.join()
    assert during > 50, f"the counting thread ran {during} times in a second"
    assert len(batches) >= 2


def test_two_workers_give_the_same_rows_to_foreach_batch(text_dir):
    from tidewater.sql import SparkSession

    lines = [f"k{i % 5} k{i % 2}" for i in range(100)]
    results = []
    for workers in (1, 2):
        spark = SparkSession.builder.appName("fb-workers").master(f"local[{workers}]").getOrCreate()
        df = spark.readStream.text(text_dir(lines))
        counts = df.select(explode(split(df.value, " ")).alias("k")).groupBy("k").count()
        batches = run_to_end(counts, "complete")
        results.append([tuple(r) for r in batches[-1][1]])
    reference = sorted(collections.Counter(w for line in lines for w in line.split(" ")).items())
    assert results[0] == results[1] == reference


def test_ctrl_c_stops_the_query_and_raises_keyboard_interrupt(tmp_path):
    # The child sends itself SIGINT (as Ctrl-C does) once its main thread is seen waiting in
    # awaitTermination, then reports whether the query is still active after the interrupt.
    program = tmp_path / "forever.py"
    program.write_text(textwrap.dedent("""
        import os, signal, sys, threading
        from tidewater.sql import SparkSession

        # Ctrl-C as a terminal delivers it, even where this program starts with SIGINT ignored
        # (a shell's background job), which Python would keep.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # Ctrl-C as a terminal delivers it, even when this test runs in the background, where
        # the shell starts it with SIGINT ignored and Python keeps that.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        main = threading.main_thread().ident

        def press_ctrl_c():
            # Seen in awaitTermination on two looks 10 ms apart: waiting in the native call.
            seen = 0
            while seen < 2:
                frame = sys._current_frames().get(main)
                seen = seen + 1 if frame is not None and frame.f_code.co_name == "awaitTermination" else 0
                threading.Event().wait(0.01)
            os.kill(os.getpid(), signal.SIGINT)

        spark = SparkSession.builder.master("local[2]").getOrCreate()
        df = spark.readStream.format("rate").option("rowsPerSecond", 10).load()
        query = df.writeStream.format("noop").start()
        threading.Thread(target=press_ctrl_c, daemon=True).start()
        try:
            query.awaitTermination()
        except KeyboardInterrupt:
            print("interrupted; active:", query.isActive, flush=True)
            sys.exit(3)
    """))
    done = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "interrupted; active: False"


def test_foreach_calls_a_function_or_a_writer_object_per_row(spark, text_dir):
    df = spark.readStream.text(text_dir(["x", "y", "z"]))
    seen = []
    df.writeStream.trigger(availableNow=True).foreach(lambda row: seen.append(row.value)).start().awaitTermination()
    assert sorted(seen) == ["x", "y", "z"]

    class Writer:
        def __init__(self):
            self.events = []

        def open(self, partition_id, epoch_id):
            self.events.append(("open", epoch_id))
            return True

        def process(self, row):
            self.events.append(("row", row.value))

        def close(self, error):
            self.events.append(("close", error))

    writer = Writer()
    df.writeStream.trigger(availableNow=True).foreach(writer).start().awaitTermination()
    assert writer.events == [("open", 0), ("row", "x"), ("row", "y"), ("row", "z"), ("close", None)]
