"""Each PySpark call of the issue on a small stream, with the expected rows written out or
computed in plain Python beside the query."""

import collections
import datetime
import json

import pytest
from conftest import run_to_end

import tidewater.sql.functions as F
from tidewater.errors import AnalysisException, ParseException
from tidewater.sql import Row, SparkSession
from tidewater.sql.functions import col, explode, split, window
from tidewater.sql.types import LongType, StringType, StructField, StructType


def rows_of(batches):
    """Every row of every batch, as tuples, sorted."""
    return sorted(tuple(r) for _, rows in batches for r in rows)


def final_of(batches):
    """Complete mode: the last batch's rows, as tuples, sorted."""
    return sorted(tuple(r) for r in batches[-1][1])


# -- SparkSession.builder ------------------------------------------------------------------


def test_builder_takes_app_name_master_and_config():
    spark = (
        SparkSession.builder.appName("builder-test")
        .master("local[2]")
        .config("spark.sql.shuffle.partitions", 4)
        .config("my.flag", True)
        .getOrCreate()
    )
    assert spark._native.app_name == "builder-test"
    assert spark._native.workers == 2
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark.conf.get("my.flag") == "true"
    # The same settings give the same session back, as PySpark's getOrCreate does.
    assert SparkSession.builder.appName("builder-test").getOrCreate() is spark


def test_a_bad_master_is_an_error_with_the_rust_code():
    with pytest.raises(AnalysisException) as raised:
        SparkSession.builder.master("yarn").getOrCreate()
    assert raised.value.getErrorClass() == raised.value.errorClass
    assert raised.value.getMessage().startswith(f"[{raised.value.errorClass}]")


# -- readStream / read -----------------------------------------------------------------------


def test_text_source_by_format_option_load_and_by_text(spark, text_dir):
    folder = text_dir(["a b", "c"])
    by_load = spark.readStream.format("text").option("path", folder).load()
    by_text = spark.readStream.text(folder)
    assert by_load.isStreaming and by_text.isStreaming
    assert by_load.columns == by_text.columns == ["value"]
    assert rows_of(run_to_end(by_text)) == [("a b",), ("c",)]


def test_csv_with_a_struct_type_schema_and_options(spark, tmp_path):
    (tmp_path / "a.csv").write_text("name;n\nann;3\nbob;4\n")
    schema = StructType([StructField("name", StringType()), StructField("n", LongType())])
    df = spark.readStream.options(header=True, sep=";").schema(schema).csv(str(tmp_path))
    assert df.schema == schema
    assert rows_of(run_to_end(df)) == [("ann", 3), ("bob", 4)]


def test_json_with_a_ddl_schema(spark, tmp_path):
    (tmp_path / "a.json").write_text('{"k": "x", "v": 1}\n{"k": "y", "v": 2}\n')
    df = spark.readStream.schema("k STRING, v BIGINT").json(str(tmp_path))
    assert df.dtypes == [("k", "string"), ("v", "bigint")]
    assert rows_of(run_to_end(df)) == [("x", 1), ("y", 2)]


def test_decimal_columns_are_python_decimals_with_their_scale(spark, tmp_path):
    import decimal

    from tidewater.sql.types import DecimalType

    (tmp_path / "a.json").write_text('{"k": "x", "p": 1.5}\n{"k": "x", "p": "2.125"}\n{"k": "y"}\n')
    df = spark.readStream.schema("k STRING, p DECIMAL(5, 2)").json(str(tmp_path))
    assert df.schema["p"].dataType == DecimalType(5, 2)
    # 2.125 rounds HALF_UP to 2.13; the sum is DECIMAL(15, 2).
    totals = df.groupBy("k").agg(F.sum("p").alias("total"))
    assert totals.dtypes == [("k", "string"), ("total", "decimal(15,2)")]
    got = final_of(run_to_end(totals, "complete"))
    assert got == [("x", decimal.Decimal("3.63")), ("y", None)]
    assert str(got[0][1]) == "3.63"


def test_a_bad_ddl_schema_is_a_parse_exception(spark, tmp_path):
    with pytest.raises(ParseException) as raised:
        spark.readStream.schema("k STRING,").json(str(tmp_path))
    assert raised.value.getErrorClass() == "PARSE_SYNTAX_ERROR"
    # PySpark 3's import path names the same class.
    from tidewater.sql.utils import AnalysisException as FromUtils

    assert isinstance(raised.value, FromUtils)


def test_an_unknown_format_is_an_analysis_exception(spark):
    with pytest.raises(AnalysisException) as raised:
        spark.readStream.format("nope").load()
    assert raised.value.getErrorClass() == "UNKNOWN_FORMAT"


# -- columns and expressions -----------------------------------------------------------------


def test_the_three_column_forms_and_python_operators(spark, tmp_path):
    (tmp_path / "a.json").write_text('{"a": 7, "b": 2, "s": "xy"}\n{"a": 1, "b": 5, "s": null}\n')
    df = spark.readStream.schema("a BIGINT, b BIGINT, s STRING").json(str(tmp_path))
    out = df.select(
        df.a + 1,
        (df["a"] - col("b")).alias("diff"),
        (col("a") * 2).alias("twice"),
        (df.a / df.b).alias("ratio"),
        (df.a % 3).alias("rem"),
        (10 - df.a).alias("rsub"),
        ((df.a > 2) & ~(df.b == 5)).alias("and_not"),
        ((df.a <= 1) | (df.b != 2)).alias("or"),
        df.s.isNull().alias("no_s"),
        df.a.isin(1, 2).alias("in"),
        df.a.between(5, 9).alias("between"),
        df.s.cast("string").alias("s"),
        df.a.cast(StringType()).alias("a_text"),
        (-df.b).alias("neg"),
    )
    assert out.columns[0] == "(a + 1)"
    assert rows_of(run_to_end(out)) == sorted([
        (8, 5, 14, 3.5, 1, 3, True, False, False, False, True, "xy", "7", -2),
        (2, -4, 2, 0.2, 1, 9, False, True, True, True, False, None, "1", -5),
    ])


def test_select_expr_filter_where_with_column_renamed_and_drop(spark, text_dir):
    df = spark.readStream.text(text_dir(["apple", "fig", "banana", "kiwi"]))
    out = (
        df.selectExpr("value AS fruit", "length(value) AS len")
        .filter(col("len") > 3)
        .where("fruit != 'kiwi'")
        .withColumn("upper", F.upper("fruit"))
        .withColumnRenamed("len", "n")
        .drop("fruit")
    )
    assert out.columns == ["n", "upper"]
    fruits = ["apple", "fig", "banana", "kiwi"]
    expected = sorted((len(f), f.upper()) for f in fruits if len(f) > 3 and f != "kiwi")
    assert rows_of(run_to_end(out)) == expected


def test_a_missing_column_is_an_analysis_exception_at_once(spark, text_dir):
    df = spark.readStream.text(text_dir(["x"]))
    with pytest.raises(AnalysisException) as raised:
        df.select(col("nope"))
    assert raised.value.getErrorClass() == "UNRESOLVED_COLUMN"
    with pytest.raises(AttributeError):
        df.nope
    with pytest.raises(AnalysisException):
        df["nope"]


def test_when_otherwise_and_functions_by_name(spark, text_dir):
    df = spark.readStream.text(text_dir(["a", "bb", "ccc"]))
    out = df.select(
        F.when(F.length("value") == 1, "one").when(F.length("value") == 2, "two").otherwise("many").alias("n"),
        F.initcap(F.concat(df.value, F.lit("x"))).alias("cap"),
        F.expr("repeat(value, 2)").alias("rep"),
    )
    assert rows_of(run_to_end(out)) == [("many", "Cccx", "cccccc"), ("one", "Ax", "aa"), ("two", "Bbx", "bbbb")]


# -- grouping ---------------------------------------------------------------------------------

WORDS = ["to be or not to be", "that is the question", "to be is to do"]


def reference_counts(lines):
    return collections.Counter(w for line in lines for w in line.split(" "))


def test_group_by_count_complete_mode(spark, text_dir):
    lines = spark.readStream.text(text_dir(WORDS))
    counts = lines.select(explode(split(lines.value, " ")).alias("word")).groupBy("word").count()
    assert counts.columns == ["word", "count"]
    assert final_of(run_to_end(counts, "complete")) == sorted(reference_counts(WORDS).items())


def test_group_by_agg_with_functions_and_a_dict(spark, tmp_path):
    (tmp_path / "a.json").write_text("".join(json.dumps({"k": k, "v": v}) + "\n" for k, v in
                                             [("x", 1), ("x", 5), ("y", 2), ("x", 3), ("y", 2)]))
    df = spark.readStream.schema("k STRING, v BIGINT").json(str(tmp_path))
    out = df.groupBy(df.k).agg(
        F.sum("v").alias("total"),
        F.max(col("v")).alias("top"),
        F.count("*").alias("n"),
        F.countDistinct("v").alias("distinct"),
        F.avg("v").alias("mean"),
    )
    assert final_of(run_to_end(out, "complete")) == [("x", 9, 5, 3, 3, 3.0), ("y", 4, 2, 2, 1, 2.0)]
    by_dict = df.groupBy("k").agg({"v": "max"})
    assert by_dict.columns == ["k", "max(v)"]
    assert final_of(run_to_end(by_dict, "update")) == [("x", 5), ("y", 2)]


# -- joins ------------------------------------------------------------------------------------


def users_and_orders(spark, tmp_path, users_csv, orders_json, orders_schema):
    """The static table ``users`` (``id BIGINT, name STRING``, from ``users_csv`` with its
    header) and the stream ``orders`` (``orders_schema``, from the JSON lines ``orders_json``)."""
    for name, text, file in (("users", users_csv, "u.csv"), ("orders", orders_json, "o.json")):
        (tmp_path / name).mkdir()
        (tmp_path / name / file).write_text(text)
    users = spark.read.csv(str(tmp_path / "users"), schema="id BIGINT, name STRING", header=True)
    orders = spark.readStream.schema(orders_schema).json(str(tmp_path / "orders"))
    return users, orders


def test_join_a_stream_with_a_static_table_by_name_and_by_condition(spark, tmp_path):
    users, orders = users_and_orders(
        spark, tmp_path, "id,name\n1,ann\n2,bob\n",
        '{"uid": 1, "amount": 30}\n{"uid": 2, "amount": 5}\n{"uid": 3, "amount": 9}\n{"uid": 1, "amount": 7}\n',
        "uid BIGINT, amount BIGINT")
    by_condition = orders.join(users, orders.uid == users.id, "inner").select("name", "amount")
    assert rows_of(run_to_end(by_condition)) == [("ann", 7), ("ann", 30), ("bob", 5)]
    by_name = orders.withColumnRenamed("uid", "id").join(users, "id")
    assert by_name.columns == ["id", "amount", "name"]
    assert rows_of(run_to_end(by_name)) == [(1, 7, "ann"), (1, 30, "ann"), (2, 5, "bob")]
    left = orders.withColumnRenamed("uid", "id").join(users, ["id"], "left")
    assert rows_of(run_to_end(left)) == [(1, 7, "ann"), (1, 30, "ann"), (2, 5, "bob"), (3, 9, None)]


def test_a_join_condition_may_hold_more_than_the_keys(spark, tmp_path):
    users, orders = users_and_orders(
        spark, tmp_path, "id,name\n1,ann\n2,bob\n",
        '{"uid": 1, "amount": 30}\n{"uid": 2, "amount": 5}\n{"uid": 3, "amount": 9}\n{"uid": 1, "amount": 7}\n',
        "uid BIGINT, amount BIGINT")
    # Worked out by hand: the orders of known users over 6 are ann's two.
    inner = orders.join(users, (orders.uid == users.id) & (orders.amount > 6), "inner")
    assert rows_of(run_to_end(inner.select("name", "amount"))) == [("ann", 7), ("ann", 30)]
    # A LEFT join's part that reads the table filters the table: bob's row matches nothing, so
    # his order is padded with nulls, as uid 3's is.
    left = orders.join(users, (orders.uid == users.id) & (users.name != "bob"), "left")
    assert rows_of(run_to_end(left.select("uid", "amount", "name"))) == [
        (1, 7, "ann"), (1, 30, "ann"), (2, 5, None), (3, 9, None)]
    # One that reads the orders would decide which orders are padded: refused.
    with pytest.raises(AnalysisException, match="padded with nulls") as refused:
        orders.join(users, (orders.uid == users.id) & (orders.amount > 6), "left")
    assert refused.value.getErrorClass() == "UNSUPPORTED_FEATURE"


def test_a_static_data_frame_is_collected_shown_and_counted(spark, tmp_path, capsys):
    (tmp_path / "sales.csv").write_text("shop,amount\ny,3\nx,1\nx,4\nz,2\n")
    sales = spark.read.csv(str(tmp_path / "sales.csv"), header=True, inferSchema=True)
    assert not sales.isStreaming
    # Worked out by hand: x sold 1 + 4, y 3, z 2.
    totals = sales.groupBy("shop").agg(F.sum("amount").alias("total"))
    assert [tuple(r) for r in totals.collect()] == [("x", 5), ("y", 3), ("z", 2)]
    assert totals.count() == 3
    assert sales.filter(sales.amount > 3).first().shop == "x"
    assert sales.filter(sales.amount > 9).isEmpty()
    totals.orderBy(F.desc("total")).show()
    assert capsys.readouterr().out.splitlines()[3] == "|   x|    5|"
    # A stream has no end to collect at.
    stream = spark.readStream.schema("shop STRING, amount INT").csv(str(tmp_path))
    with pytest.raises(AnalysisException, match="writeStream.start"):
        stream.collect()


def test_create_data_frame_infers_or_takes_a_schema_and_joins_with_a_stream(spark, tmp_path):
    inferred = spark.createDataFrame([(2, "bob", 1.5), (1, "ann", None)], ["id", "name", "score"])
    assert not inferred.isStreaming
    assert inferred.dtypes == [("id", "bigint"), ("name", "string"), ("score", "double")]
    assert [tuple(r) for r in inferred.collect()] == [(1, "ann", None), (2, "bob", 1.5)]
    from_rows = spark.createDataFrame([Row(id=1, name="ann"), Row(id=3, name="cat")])
    assert from_rows.columns == ["id", "name"]
    from_dicts = spark.createDataFrame([{"k": "a", "n": 1}])
    assert [tuple(r) for r in from_dicts.collect()] == [("a", 1)]
    positional = spark.createDataFrame([(True, 7)])
    assert positional.columns == ["_1", "_2"]
    # Dicts and Rows are read by the schema's names, whatever their own order.
    by_name = spark.createDataFrame([{"name": "bob", "id": 2}, Row(id=3, name="cat")], "id BIGINT, name STRING")
    assert [tuple(r) for r in by_name.collect()] == [(2, "bob"), (3, "cat")]
    declared = spark.createDataFrame([(1, "ann")], "id BIGINT, name STRING")
    assert declared.schema == StructType([StructField("id", LongType()), StructField("name", StringType())])
    # As PySpark's verifySchema: an int is no DOUBLE, and a column of Nones has no type.
    with pytest.raises(TypeError, match="score"):
        spark.createDataFrame([(1, 2)], "id BIGINT, score DOUBLE")
    with pytest.raises(ValueError, match="cannot be determined"):
        spark.createDataFrame([(1, None)], ["id", "nothing"])
    with pytest.raises(TypeError, match="can not merge"):
        spark.createDataFrame([(1,), (1.5,)], ["x"])
    # A lookup table for a stream, PySpark's usual enrichment.
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "o.json").write_text('{"id": 1, "item": "lamp"}\n{"id": 3, "item": "desk"}\n')
    orders = spark.readStream.schema("id BIGINT, item STRING").json(str(tmp_path / "orders"))
    enriched = orders.join(from_rows, "id").select("item", "name")
    assert rows_of(run_to_end(enriched)) == [("desk", "cat"), ("lamp", "ann")]


def test_nulls_filled_and_dropped_and_columns_renamed_as_pyspark_does(spark):
    df = spark.createDataFrame([(1, None, "a"), (None, 2.5, None), (None, None, None)],
                               "id BIGINT, score DOUBLE, tag STRING")
    # A number fills the numeric columns (cast to each), a string the string columns.
    assert [tuple(r) for r in df.fillna(0).collect()] == [(0, 0.0, None), (0, 2.5, None), (1, 0.0, "a")]
    assert [tuple(r) for r in df.na.fill("none").collect()] == [
        (None, None, "none"), (None, 2.5, "none"), (1, None, "a")]
    assert [tuple(r) for r in df.fillna({"score": 9, "tag": "?"}).collect()] == [
        (None, 2.5, "?"), (None, 9.0, "?"), (1, 9.0, "a")]
    assert [tuple(r) for r in df.fillna(1.5, subset=["id"]).collect()] == [
        (1, None, None), (1, None, "a"), (1, 2.5, None)]
    # Rows without nulls; with any value; with at least two values.
    assert df.dropna().count() == 0
    assert df.na.drop(how="all").count() == 2
    assert [tuple(r) for r in df.dropna(thresh=2).collect()] == [(1, None, "a")]
    assert df.dropna(subset=["score"]).count() == 1
    assert df.toDF("a", "b", "c").columns == ["a", "b", "c"]
    with pytest.raises(AnalysisException, match="number of columns"):
        df.toDF("a")
    assert df.withColumnsRenamed({"id": "key", "nothing": "x"}).columns == ["key", "score", "tag"]
    # A batch query sorts without an aggregation.
    assert [r.score for r in df.filter(df.score.isNotNull() | df.id.isNotNull()).orderBy(F.desc("id")).collect()] == [
        None, 2.5]


def test_drop_duplicates_within_watermark(spark, tmp_path):
    (tmp_path / "e.json").write_text('{"k": "a", "t": 1}\n{"k": "a", "t": 1}\n{"k": "b", "t": 3}\n')
    events = spark.readStream.schema("k STRING, t BIGINT").json(str(tmp_path))
    timed = events.withColumn("ts", F.timestamp_seconds("t")).withWatermark("ts", "10 seconds")
    unique = timed.dropDuplicatesWithinWatermark(["k", "t"]).select("k", "t")
    assert rows_of(run_to_end(unique)) == [("a", 1), ("b", 3)]


def test_calls_that_shape_partitions_warn_and_change_nothing(spark):
    df = spark.createDataFrame([(1, "a"), (2, "b")], ["id", "tag"])
    for call in (lambda d: d.repartition(8), lambda d: d.coalesce(1), lambda d: d.hint("broadcast")):
        with pytest.warns(UserWarning, match="no effect"):
            same = call(df)
        assert same is df
    doubled = df.transform(lambda d, k: d.withColumn("x", d.id * k), 2)
    assert [tuple(r) for r in doubled.collect()] == [(1, "a", 2), (2, "b", 4)]


def test_spark_streams_knows_the_session_s_queries(tmp_path):
    spark = SparkSession.builder.appName("streams").master("local[2]").getOrCreate()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\nb\n")
    lines = spark.readStream.text(str(tmp_path / "in"))
    once = lines.writeStream.format("noop").trigger(availableNow=True).start()
    assert spark.streams.awaitAnyTermination(60) is True
    assert not once.isActive and once not in spark.streams.active
    spark.streams.resetTerminated()
    running = lines.writeStream.format("noop").trigger(processingTime="1 second").start()
    try:
        assert spark.streams.active == [running]
        assert spark.streams.get(running.id) is running
        # The ended query is no longer held for `spark.streams`.
        assert spark._started == [running]
        # Nothing has ended since the reset.
        assert spark.streams.awaitAnyTermination(0.2) is False
    finally:
        running.stop()
    assert spark.streams.awaitAnyTermination(60) is True
    assert spark.streams.active == []


def test_set_log_level_quiets_the_engine_s_warnings(spark, tmp_path, capfd):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a\n")

    def run_with_an_unknown_option():
        df = spark.readStream.option("noSuchOption", "1").text(str(tmp_path / "in"))
        run_to_end(df)
        return capfd.readouterr().err.lower()

    try:
        # An option Tidewater does not implement is warned about on stderr, never silent.
        assert "nosuchoption" in run_with_an_unknown_option()
        spark.sparkContext.setLogLevel("ERROR")
        assert "nosuchoption" not in run_with_an_unknown_option()
    finally:
        spark.sparkContext.setLogLevel("WARN")
    with pytest.raises(ValueError, match="unknown log level"):
        spark.sparkContext.setLogLevel("LOUD")
    assert spark.sparkContext.defaultParallelism == 1 and spark.sparkContext.master == "local[1]"


def test_aliases_tell_apart_the_columns_both_sides_of_a_join_have(spark, tmp_path):
    users, orders = users_and_orders(
        spark, tmp_path, "id,name\n1,ann\n2,bob\n",
        '{"id": 10, "uid": 1}\n{"id": 11, "uid": 2}\n{"id": 12, "uid": 3}\n', "id BIGINT, uid BIGINT")
    joined = (orders.alias("o")
              .join(users.alias("u"), F.col("o.uid") == F.col("u.id"), "inner")
              .select(F.col("o.id"), F.col("u.id").alias("user"), "name"))
    # Each `id` is its own side's: order 12's user 3 is nobody.
    assert joined.columns == ["id", "user", "name"]
    assert rows_of(run_to_end(joined)) == [(10, 1, "ann"), (11, 2, "bob")]


def test_each_data_frame_s_column_is_its_own_after_a_join(spark, tmp_path):
    users, orders = users_and_orders(
        spark, tmp_path, "id,name\n1,ann\n3,cat\n4,dan\n",
        '{"id": 1, "item": "lamp"}\n{"id": 2, "item": "sofa"}\n{"id": 3, "item": "desk"}\n',
        "id BIGINT, item STRING")
    joined = orders.join(users, orders.id == users.id, "left")
    # Order 2 matched nobody: `users.id` is null there, `orders.id` is not.
    picked = joined.select(orders.id, users["id"].alias("user_id"), users.name)
    assert picked.columns == ["id", "user_id", "name"]
    assert rows_of(run_to_end(picked)) == [(1, 1, "ann"), (2, None, None), (3, 3, "cat")]
    # PySpark's anti-join.
    unmatched = joined.filter(users.id.isNull()).select(orders.id, orders.item)
    assert rows_of(run_to_end(unmatched)) == [(2, "sofa")]
    # `drop(users.id)` drops that side's `id` alone; `drop("id")` every `id`.
    assert joined.drop(users.id).columns == ["id", "item", "name"]
    assert rows_of(run_to_end(joined.drop(users.id))) == [(1, "lamp", "ann"), (2, "sofa", None), (3, "desk", "cat")]
    assert joined.drop("id").columns == ["item", "name"]


# -- event time -------------------------------------------------------------------------------


def test_with_watermark_and_window(spark, tmp_path):
    events = [("a", 1), ("a", 4), ("b", 6), ("a", 12), ("b", 14), ("a", 19)]
    (tmp_path / "e.json").write_text("".join(json.dumps({"w": w, "t": t}) + "\n" for w, t in events))
    df = spark.readStream.schema("w STRING, t BIGINT").json(str(tmp_path))
    timed = df.withColumn("ts", F.timestamp_seconds("t")).withWatermark("ts", "1 minute")
    counts = timed.groupBy(window(timed.ts, "10 seconds"), timed.w).count()
    got = final_of(run_to_end(counts, "complete"))
    epoch = datetime.datetime(1970, 1, 1)
    reference = collections.Counter((t // 10 * 10, w) for w, t in events)
    expected = sorted(
        (Row(start=epoch + datetime.timedelta(seconds=s), end=epoch + datetime.timedelta(seconds=s + 10)), w, n)
        for (s, w), n in reference.items()
    )
    assert got == expected
    first = got[0][0]
    assert first.start == epoch and first["end"] == epoch + datetime.timedelta(seconds=10)


# -- debugging --------------------------------------------------------------------------------


def test_print_schema_and_explain(spark, text_dir, capsys):
    lines = spark.readStream.text(text_dir(["a"]))
    counts = lines.select(explode(split(lines.value, " ")).alias("word")).groupBy("word").count()
    counts.printSchema()
    assert capsys.readouterr().out == (
        "root\n |-- word: string (nullable = true)\n |-- count: bigint (nullable = false)\n"
    )
    counts.explain()
    plan = capsys.readouterr().out
    assert "Aggregate" in plan or "aggregate" in plan, plan


# -- writeStream ------------------------------------------------------------------------------


def test_output_mode_format_option_query_name_and_trigger_once(spark, text_dir):
    lines = spark.readStream.text(text_dir(["x y", "y"]))
    counts = lines.select(explode(split("value", " ")).alias("word")).groupBy("word").count()
    query = (
        counts.writeStream.outputMode("complete").format("noop").option("ignored", 1)
        .queryName("named").trigger(once=True).start()
    )
    assert query.name == "named"
    assert query.awaitTermination(60) is True
    assert not query.isActive
    assert query.lastProgress["sink"]["numOutputRows"] == 2
    assert query.exception() is None


def test_append_mode_refuses_an_aggregation_without_watermark(spark, text_dir):
    lines = spark.readStream.text(text_dir(["x"]))
    with pytest.raises(AnalysisException) as raised:
        lines.groupBy("value").count().writeStream.outputMode("append").format("noop").start()
    assert raised.value.getErrorClass() == "UNSUPPORTED_OUTPUT_MODE"


def test_processing_time_trigger_await_with_timeout_and_stop(spark):
    df = spark.readStream.format("rate").option("rowsPerSecond", 100).load()
    seen = []
    query = (
        df.writeStream.trigger(processingTime="100 milliseconds")
        .foreachBatch(lambda batch, batch_id: seen.append(batch.count()))
        .start()
    )
    assert query.isActive
    # A rate source never ends: the wait times out, and says so.
    assert query.awaitTermination(0.5) is False
    query.processAllAvailable()
    assert query.isActive
    query.stop()
    assert not query.isActive
    assert query.awaitTermination() is None
    progress = query.recentProgress
    assert progress and [p["batchId"] for p in progress] == list(range(len(progress)))
    assert sum(p["numInputRows"] for p in progress) == sum(seen)


def test_last_progress_fields(spark, text_dir):
    lines = spark.readStream.text(text_dir(["a b", "c"]))
    query = lines.writeStream.format("noop").queryName("progress").trigger(availableNow=True).start()
    assert query.lastProgress is None or isinstance(query.lastProgress, dict)
    query.awaitTermination(60)
    p = query.lastProgress
    assert p["id"] == query.id and p["runId"] == query.runId and p["name"] == "progress"
    assert p["batchId"] == 0
    assert p["numInputRows"] == 2
    assert p["sink"]["numOutputRows"] == 2
    assert p["sources"][0]["numInputRows"] == 2
    assert p["sources"][0]["description"].startswith("FileStreamSource")
    assert {"triggerExecution", "addBatch", "latestOffset"} <= set(p["durationMs"])
    assert isinstance(p["timestamp"], str) and p["timestamp"].endswith("Z")
    assert query.recentProgress[-1] == p
    status = query.status
    assert set(status) == {"message", "isDataAvailable", "isTriggerActive"}
    assert status["isTriggerActive"] is False


# -- SQL ----------------------------------------------------------------------------------------


def test_sql_over_a_temp_view(spark, text_dir):
    lines = spark.readStream.text(text_dir(WORDS))
    lines.select(explode(split(lines.value, " ")).alias("word")).createOrReplaceTempView("words")
    counts = spark.sql("SELECT word, count(*) AS n FROM words GROUP BY word")
    assert counts.columns == ["word", "n"]
    assert final_of(run_to_end(counts, "complete")) == sorted(reference_counts(WORDS).items())


def test_sql_that_does_not_parse_is_a_parse_exception(spark):
    with pytest.raises(ParseException):
        spark.sql("SELEC nothing")


# -- workers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_results_do_not_depend_on_the_number_of_workers(text_dir, workers):
    spark = SparkSession.builder.appName("workers").master(f"local[{workers}]").getOrCreate()
    assert spark._native.workers == workers
    lines = [f"w{i % 7} w{i % 3} w{i % 11}" for i in range(300)]
    df = spark.readStream.text(text_dir(lines))
    counts = df.select(explode(split(df.value, " ")).alias("word")).groupBy("word").count()
    assert final_of(run_to_end(counts, "complete")) == sorted(reference_counts(lines).items())


# -- more of the DataFrame API, expected rows worked out by hand ----------------------------------

EVENTS = [("a", 1), ("a", 3), ("b", 2), ("a", 40), ("b", 2)]


@pytest.fixture
def events(spark, tmp_path):
    (tmp_path / "e.json").write_text("".join(json.dumps({"k": k, "t": t}) + "\n" for k, t in EVENTS))
    return spark.readStream.schema(StructType.fromDDL("k STRING, t BIGINT")).json(str(tmp_path))


def at(seconds):
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)


def test_session_and_sliding_windows(events):
    ts = events.withColumn("ts", F.timestamp_seconds("t")).withWatermark("ts", "1 minute")
    sessions = final_of(run_to_end(ts.groupBy(F.session_window("ts", "10 seconds"), "k").count(), "complete"))
    # a: 1 and 3 share [1, 13); b: 2 and 2 share [2, 12); a: 40 alone in [40, 50).
    assert sessions == [(Row(start=at(1), end=at(13)), "a", 2), (Row(start=at(2), end=at(12)), "b", 2),
                        (Row(start=at(40), end=at(50)), "a", 1)]
    sliding = final_of(run_to_end(ts.groupBy(window("ts", "10 seconds", "5 seconds")).count(), "complete"))
    assert sliding == [(Row(start=at(-5), end=at(5)), 4), (Row(start=at(0), end=at(10)), 4),
                       (Row(start=at(35), end=at(45)), 1), (Row(start=at(40), end=at(50)), 1)]


def test_order_by_drop_duplicates_union_and_limit(events):
    ordered = run_to_end(events.groupBy("k").count().orderBy(col("count").desc()), "complete")
    assert [tuple(r) for r in ordered[-1][1]] == [("a", 3), ("b", 2)]
    assert rows_of(run_to_end(events.dropDuplicates(["k", "t"]))) == [("a", 1), ("a", 3), ("a", 40), ("b", 2)]
    doubled = events.union(events).groupBy("k").agg(F.sum("t").alias("s"))
    assert final_of(run_to_end(doubled, "complete")) == [("a", 88), ("b", 8)]


def test_struct_type_from_ddl_round_trips():
    schema = StructType.fromDDL("k STRING, t BIGINT, s STRUCT<x: BIGINT>, arr ARRAY<STRING>")
    assert schema.names == ["k", "t", "s", "arr"]
    assert schema["s"].dataType == StructType([StructField("x", LongType())])
    assert StructType.fromDDL(schema.toDDL()) == schema


def test_a_batch_shows_as_sparks_show_prints_it(spark, text_dir, capsys):
    # Spark 4.3's show() of these rows, written out by hand from its rules: right-aligned cells
    # at least 3 wide, NULL for a null, cells cut to 20 characters (17 and `...`).
    lines = spark.readStream.text(text_dir(["a", "bb", "a very long line of text here"]))
    df = lines.select(
        col("value"),
        F.when(col("value") != "a", F.length(col("value"))).alias("n"),
    )
    shown = []

    def show(batch_df, batch_id):
        batch_df.show()
        shown.append(batch_id)

    query = df.writeStream.trigger(availableNow=True).foreachBatch(show).start()
    assert query.awaitTermination(60)
    assert shown == [0]
    assert capsys.readouterr().out == (
        "+--------------------+----+\n"
        "|               value|   n|\n"
        "+--------------------+----+\n"
        "|                   a|NULL|\n"
        "|a very long line ...|  29|\n"
        "|                  bb|   2|\n"
        "+--------------------+----+\n"
    )
