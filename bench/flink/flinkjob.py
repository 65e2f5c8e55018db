"""Shared helpers of tidewater-bench's PyFlink scripts: the table environment, the two jobs of a
run (one timed into a `blackhole` sink, one into a `filesystem` sink that the Rust side
digests), and the report.

Each script declares its source table and query as Flink SQL, then calls `run`:

    {"startup_s", "seconds", "digest_seconds", "flink_version", "parallelism", "mini_batch",
     "python_rss_mb", "jvm_rss_mb", "peak_rss_mb"}

`seconds` is the wall time from `execute_insert` of the timed job to its end: it includes the
job's planning and the mini-cluster's start (about a second), as Spark's time includes its
first batch's planning. The table environment's start-up (the JVM and the gateway) is
`startup_s`, measured apart. The digest job runs after it, untimed (`digest_seconds`).
Flink has no epochs: the digest job writes what the query's result is at the end (for an
updating query, its changelog as Debezium JSON), and the Rust side compares that.
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


def arguments(description):
    """The command line shared by the benchmark's Flink scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--input", required=True, help="the input directory (or file)")
    parser.add_argument("--output", required=True, help="directory of the digest job's files")
    parser.add_argument("--report", required=True, help="file for the JSON report")
    parser.add_argument("--parallelism", type=int, default=1, help="parallelism.default")
    parser.add_argument("--mini-batch", choices=["true", "false"], default="true",
                        help="table.exec.mini-batch.enabled (2 s, 50,000 rows), as Flink's "
                             "Nexmark setup runs")
    return parser


def start(args):
    """The streaming table environment, and the seconds its start-up took."""
    started = time.perf_counter()
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("parallelism.default", str(args.parallelism))
    config.set("table.local-time-zone", "UTC")
    config.set("rest.bind-address", "127.0.0.1")
    config.set("rest.address", "127.0.0.1")
    if args.mini_batch == "true":
        config.set("table.exec.mini-batch.enabled", "true")
        config.set("table.exec.mini-batch.allow-latency", "2 s")
        config.set("table.exec.mini-batch.size", "50000")
    return t_env, time.perf_counter() - started


def sink_ddl(name, columns, output, fmt):
    """A `filesystem` sink of `columns` (SQL column definitions) under `output`."""
    options = {"connector": "filesystem", "path": output, "format": fmt}
    if fmt == "csv":
        options["csv.field-delimiter"] = "\t"
        options["csv.disable-quote-character"] = "true"
    with_ = ", ".join(f"'{k}' = '{v}'" for k, v in options.items())
    return f"CREATE TABLE {name} ({columns}) WITH ({with_})"


def run(t_env, args, startup_s, sources, columns, query, digest_format="csv"):
    """Declares `sources` (DDL statements), runs `query` into a blackhole sink (timed) and
    then into a filesystem sink of `columns` under --output (for the digest), and writes the
    report."""
    for ddl in sources:
        t_env.execute_sql(ddl)
    t_env.execute_sql(f"CREATE TABLE timed_sink ({columns}) WITH ('connector' = 'blackhole')")
    t_env.execute_sql(sink_ddl("digest_sink", columns, args.output, digest_format))

    started = time.perf_counter()
    t_env.execute_sql(f"INSERT INTO timed_sink {query}").wait()
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    t_env.execute_sql(f"INSERT INTO digest_sink {query}").wait()
    digest_seconds = time.perf_counter() - started

    python_rss = vm_hwm_mb(os.getpid())
    below = [vm_hwm_mb(pid) for pid in descendants(os.getpid())]
    jvm_rss = sum(v for v in below if v is not None)
    try:
        import importlib.metadata

        version = importlib.metadata.version("apache-flink")
    except Exception:  # the version is informative only
        version = None
    report = {
        "startup_s": startup_s,
        "seconds": seconds,
        "digest_seconds": digest_seconds,
        "flink_version": version,
        "parallelism": args.parallelism,
        "mini_batch": args.mini_batch == "true",
        "python_rss_mb": python_rss,
        "jvm_rss_mb": jvm_rss,
        "peak_rss_mb": (python_rss or 0.0) + jvm_rss,
    }
    with open(args.report, "w") as out:
        json.dump(report, out)


def csv_source(name, columns, path, extra=""):
    """A `filesystem` source of tab-separated, unquoted text (`columns` are SQL column
    definitions; `extra` adds computed columns and a watermark)."""
    return (
        f"CREATE TABLE {name} ({columns}{extra}) WITH ("
        f"'connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv', "
        f"'csv.field-delimiter' = '\\t', 'csv.disable-quote-character' = 'true')"
    )
