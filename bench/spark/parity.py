"""Spark parity: the same DataFrame and SQL programs on PySpark and on the `tidewater` package,
their results compared. Batch programs over `createDataFrame` tables, so that Spark computes
them as plainly as it can; every difference is printed, and the exit status is 1 if any is not
among the deliberate ones (`KNOWN`, with their reasons, also in README.md).

    bash bench/spark/setup.sh                                  # PySpark, once
    TIDEWATER_PYSPARK=4.3.0 bash bench/spark/setup.sh          # or the Spark the notes follow
    python bench/spark/parity.py ~/.cache/tidewater/spark-venv/bin/python

The first argument is the Python that has PySpark; this script's own Python must import
`tidewater` (the package's venv, or `maturin develop`). Each side runs in a process of its
own and prints its results as JSON.
"""

import json
import subprocess
import sys

# Deliberate differences: case name -> why.
KNOWN = {
    "sql.exp": "exp uses Rust's libm, which rounds e^1 one unit in the last place differently from Java's StrictMath",
    "sql.int_overflow_cast": "INT is BIGINT here: a cast to INT keeps the 64-bit value",
    "sql.in_null": "IN does not coerce a STRING list item to the BIGINT column's type",
}


def programs(spark, F, T):
    """name -> a function giving a DataFrame (or rows)."""
    df = spark.createDataFrame([(1, None, "a"), (None, 2.5, None), (None, None, None)],
                               "id BIGINT, score DOUBLE, tag STRING")
    users = spark.createDataFrame([(1, "home"), (1, "work"), (3, "home")], "uid BIGINT, address STRING")
    orders = spark.createDataFrame([(10, 1), (11, 2), (12, 1), (13, None), (14, 3)], "id BIGINT, customer BIGINT")
    js = spark.createDataFrame([('{"a": 1, "b": "x"}',), ('{"a": 2}',), ("not json",)], "value STRING")
    inferred = lambda: spark.createDataFrame([(2, "bob", 1.5, True), (1, "ann", None, False)],  # noqa: E731
                                             ["id", "name", "score", "ok"])
    p = {
        "fillna_number": lambda: df.fillna(0),
        "fillna_string": lambda: df.na.fill("none"),
        "fillna_dict": lambda: df.fillna({"score": 9, "tag": "?"}),
        "fillna_float_on_bigint": lambda: df.fillna(1.5, subset=["id"]),
        "fillna_bool": lambda: df.fillna(True),
        "dropna_any": lambda: df.dropna(),
        "dropna_all": lambda: df.na.drop(how="all"),
        "dropna_thresh": lambda: df.dropna(thresh=2),
        "dropna_subset": lambda: df.dropna(subset=["score"]),
        "toDF": lambda: df.toDF("a", "b", "c"),
        "orderBy_desc_nulls_last": lambda: df.orderBy(F.desc("id")).select("id", "score"),
        "orderBy_asc_nulls_first": lambda: df.orderBy("tag").select("tag"),
        "inferred_dtypes": lambda: [inferred().dtypes],
        "rows_from_Row": lambda: spark.createDataFrame([T.Row(id=1, name="ann"), T.Row(id=3, name="cat")]),
        "rows_from_dict": lambda: spark.createDataFrame([{"k": "a", "n": 1}]),
        "from_json_star": lambda: js.select(F.from_json("value", "a BIGINT, b STRING").alias("data")).select("data.*"),
        "to_json_skips_nulls": lambda: df.select(F.to_json(F.struct("id", "score", "tag")).alias("j")),
        "join_both_sides_columns": lambda: orders.join(users, orders.customer == users.uid, "left")
        .select(orders.id, users.uid, users.address),
        "join_drop_right_column": lambda: orders.join(users, orders.customer == users.uid, "left").drop(users.uid),
        "join_using_left": lambda: spark.createDataFrame([(1, "a"), (2, "b")], "id BIGINT, l STRING")
        .join(spark.createDataFrame([(1, "x")], "id BIGINT, r STRING"), "id", "left"),
        "agg_count_sum": lambda: orders.groupBy("customer").agg(F.count("*").alias("n"), F.sum("id").alias("s")),
        "agg_dict_name": lambda: orders.groupBy("customer").agg({"id": "max"}),
        "agg_avg_min_distinct": lambda: orders.groupBy().agg(F.avg("id").alias("a"), F.min("customer").alias("mn"),
                                                             F.countDistinct("customer").alias("cd")),
        "agg_of_nulls": lambda: spark.createDataFrame([(1, None)], "k BIGINT, v BIGINT").groupBy("k")
        .agg(F.sum("v").alias("s"), F.count("v").alias("c"), F.avg("v").alias("a")),
        "distinct_count": lambda: [[orders.select("customer").distinct().count()]],
        "dropDuplicates_subset": lambda: orders.dropDuplicates(["customer"]).select("customer"),
        "withColumnsRenamed": lambda: orders.withColumnsRenamed({"id": "oid", "nothing": "x"}),
        "arithmetic": lambda: orders.select((F.col("id") / 4).alias("q"), (F.col("id") % 4).alias("m")),
        "when_otherwise": lambda: orders.select(F.when(F.col("customer").isNull(), "none")
                                                .when(F.col("customer") > 1, "big").otherwise("one").alias("w")),
        "split_limit": lambda: js.select(F.split("value", " ", 2).alias("p"), F.split("value", ",").alias("q")),
        "round_modes": lambda: spark.createDataFrame([(2.5,), (-2.5,), (1.005,)], "x DOUBLE")
        .select(F.round("x").alias("r"), F.round("x", 2).alias("r2"), F.bround("x").alias("b")),
        "substring_forms": lambda: spark.createDataFrame([("Spark SQL",)], "s STRING")
        .select(F.substring("s", 1, 5).alias("a"), F.substring("s", -3, 3).alias("b"), F.col("s").substr(2, 3).alias("c")),
        "double_to_string": lambda: spark.createDataFrame([(1e20,), (0.1,), (1.0,), (1e-5,)], "x DOUBLE")
        .select(F.col("x").cast("string").alias("s")),
        "decimal_sum": lambda: spark.createDataFrame([("1.10",), ("2.205",)], "x STRING")
        .select(F.col("x").cast("decimal(10,2)").alias("d")).groupBy().agg(F.sum("d").alias("s")),
        "three_valued_logic": lambda: spark.createDataFrame([(True, None), (False, None)], "a BOOLEAN, b BOOLEAN")
        .select((F.col("a") & F.col("b")).alias("and"), (F.col("a") | F.col("b")).alias("or")),
    }
    spark.createDataFrame([("Hello World", 7, -2.5, "2024-03-10 14:30:15", '{"a": {"b": [1, 2]}, "c": "x"}', "a,b,,c",
                            None)], "s STRING, n BIGINT, x DOUBLE, t STRING, j STRING, csv STRING, z STRING"
                          ).createOrReplaceTempView("v")
    sql = {
        "initcap": "initcap('hello wORLD')", "locate": "locate('o', s, 6)", "lpad_cut": "lpad(s, 3, '*')",
        "rpad": "rpad('ab', 5, 'xy')", "substring_neg": "substring(s, -5)", "concat_null": "concat(s, z)",
        "concat_ws_null": "concat_ws('|', s, z, 'end')", "split_empty_pieces": "split(csv, ',')",
        "element_at_neg": "element_at(split(csv, ','), -1)", "ceil_floor": "ceil(x) * 10 + floor(x)",
        "round_neg_scale": "round(1234.5678, -2)", "bround": "bround(2.5)", "exp": "exp(1)", "log_base": "log(2, 8)",
        "pmod_neg": "pmod(-7, 3)", "mod_neg": "-7 % 3", "int_div": "7 div 2", "div_double": "7 / 2",
        "cast_dec": "CAST(1.23456 AS DECIMAL(5,2))", "dec_arith": "CAST(1.10 AS DECIMAL(4,2)) * 3",
        "to_timestamp": "to_timestamp(t)", "dayofweek": "dayofweek(t)", "weekofyear": "weekofyear(t)",
        "date_trunc": "date_trunc('hour', t)", "trunc_month": "trunc(to_date(t), 'MM')", "last_day": "last_day(t)",
        "months_between": "months_between('2024-04-10', t)", "date_format": "date_format(t, 'MMM d, yyyy HH:mm a')",
        "get_json_path": "get_json_object(j, '$.a.b[1]')", "get_json_object_text": "get_json_object(j, '$.a')",
        "to_json_null_field": "to_json(named_struct('k', n, 'v', z))", "md5": "md5(s)", "sha2": "sha2(s, 256)",
        "hash": "hash(s)", "crc32": "crc32(s)", "nvl2": "nvl2(z, 1, 2)", "nullif": "nullif(n, 7)",
        "greatest_null": "greatest('a', 'b', z)", "format_number": "format_number(1234567.891, 2)",
        "like_escape": "'a_b' like 'a\\\\_b'", "upper_unicode": "upper('straße')", "double_fmt": "CAST(1.0E-5 AS STRING)",
        "double_big": "CAST(123456789012345.0 AS STRING)", "float_div": "1.0 / 3", "str_to_int_spaces": "CAST(' 12 ' AS BIGINT)",
        "datediff": "datediff('2024-03-01', '2024-02-01')", "exp_e": "exp(0)", "in_null": "n in (1, z)",
        "int_overflow_cast": "CAST(3000000000 AS INT)", "octet": "octet_length('héllo')", "bits": "bit_length('héllo')",
    }
    for name, e in sql.items():
        p["sql." + name] = (lambda e=e: spark.sql(f"SELECT {e} AS r FROM v"))
    return p


def plain(v):
    """A value as JSON holds it: a date, a timestamp or a nested row as its text."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def session(which, master, **conf):
    """The side's session and its `functions` and `types` modules: PySpark's on `master`, with
    ANSI mode off, UTC and `conf` set, or Tidewater's."""
    if which == "spark":
        from pyspark.sql import SparkSession, functions as F, types as T
        builder = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
                   .config("spark.sql.ansi.enabled", "false").config("spark.sql.session.timeZone", "UTC"))
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    else:
        from tidewater.sql import SparkSession, functions as F, types as T
        spark = SparkSession.builder.getOrCreate()
    return spark, F, T


def both_sides(script, spark_python, *args):
    """Runs `script --side <side> *args` with PySpark's Python and with this one, and gives each
    side's results, the JSON its last line prints."""
    sides = {}
    for side, python in (("spark", spark_python), ("tidewater", sys.executable)):
        done = subprocess.run([python, script, "--side", side, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"the {side} side failed:\n{done.stderr[-3000:]}")
        sides[side] = json.loads(done.stdout.strip().splitlines()[-1])
    return sides["spark"], sides["tidewater"]


def run(which):
    spark, F, T = session(which, "local[1]")
    out = {}
    for name, make in programs(spark, F, T).items():
        try:
            result = make()
            rows = result if isinstance(result, list) else result.collect()
            columns = None if isinstance(result, list) else list(result.columns)
            out[name] = {"columns": columns, "rows": sorted(json.dumps([plain(v) for v in r]) for r in rows)}
        except Exception as e:  # the error's first line is the result
            out[name] = {"error": str(e).splitlines()[0][:120]}
    print(json.dumps(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--side":
        return run(sys.argv[2])
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    spark, tidewater = both_sides(__file__, sys.argv[1])
    unexpected = 0
    for name in sorted(spark):
        if spark[name] == tidewater.get(name):
            continue
        known = KNOWN.get(name)
        unexpected += known is None
        print(f"{'known' if known else 'DIFFERS'}: {name}" + (f" ({known})" if known else ""))
        print(f"  spark:     {json.dumps(spark[name])[:300]}")
        print(f"  tidewater: {json.dumps(tidewater.get(name))[:300]}")
    same = sum(spark[n] == tidewater.get(n) for n in spark)
    print(f"{same} of {len(spark)} programs give Spark's result; {unexpected} unexpected difference(s)")
    sys.exit(1 if unexpected else 0)


if __name__ == "__main__":
    main()
