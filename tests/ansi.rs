//! `spark.sql.ansi.enabled`: with it on, an expression that fails on a row raises Spark's ANSI
//! error (its class and message shape, from Spark's error-conditions) and the query stops
//! before writing the epoch; with it off (the default), the same expressions answer null or
//! wrap, as before. Expected values are worked out by hand from Spark's documented rules.

mod common;

use common::*;
use tidewater::functions::*;
use tidewater::prelude::*;

/// `s` text, `n` a small integer, `big` the largest BIGINT, `x` a double beyond BIGINT.
fn input() -> (MemoryStream, Vec<Row>) {
    let stream = MemoryStream::new(Schema::new([
        Field::new("s", DataType::String),
        Field::new("n", DataType::Int64),
        Field::new("big", DataType::Int64),
        Field::new("x", DataType::Float64),
    ]));
    (stream, vec![row!["abc", 7i64, i64::MAX, 1e19]])
}

fn session(workers: usize, ansi: bool) -> Session {
    Session::builder()
        .workers(workers)
        .config("spark.sql.ansi.enabled", if ansi { "true" } else { "false" })
        .get_or_create()
        .expect("session")
}

/// Starts `df` with a collector, gives it `rows` as one epoch and returns the error the query
/// stops with, checking that no batch was written.
fn failure(df: DataFrame, stream: &MemoryStream, rows: Vec<Row>, mode: &str) -> Error {
    let collected = Collected::default();
    let query = collected
        .attach(df.write_stream().output_mode(mode))
        .start()
        .expect("the query starts");
    stream.add_data(rows);
    // The failure ends the query whether or not this call sees it first.
    let _ = query.process_all_available();
    stream.end();
    let error = await_within(&query, "the failing query").expect_err("the query fails");
    assert!(
        collected.batches().iter().all(|(_, rows)| rows.is_empty()),
        "the failing epoch is not written: {:?}",
        collected.batches()
    );
    assert_eq!(query.exception().map(|e| e.code()), Some(error.code()));
    error
}

fn sql_failure(workers: usize, expr: &str) -> Error {
    let spark = session(workers, true);
    let (stream, rows) = input();
    spark
        .read_stream()
        .memory(&stream)
        .create_or_replace_temp_view("t");
    let df = spark.sql(&format!("SELECT {expr} AS v FROM t")).expect("plans");
    failure(df, &stream, rows, "append")
}

fn sql_values(workers: usize, ansi: bool, exprs: &str) -> Vec<Value> {
    let spark = session(workers, ansi);
    let (stream, rows) = input();
    spark
        .read_stream()
        .memory(&stream)
        .create_or_replace_temp_view("t");
    let df = spark.sql(&format!("SELECT {exprs} FROM t")).expect("plans");
    let ran = run_to_end(df.write_stream(), Feed::Epochs(&stream, vec![rows]));
    let mut out = ran.batch_rows().concat();
    assert_eq!(out.len(), 1, "one row out: {out:?}");
    out.remove(0).values().to_vec()
}

const BYPASS: &str = "If necessary set \"spark.sql.ansi.enabled\" to \"false\" to bypass this error.";

#[test]
fn ansi_errors_stop_a_sql_query_with_sparks_class_and_message() {
    let divide = format!(
        "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead. {BYPASS} SQLSTATE: 22012"
    );
    // Spark 4 gives the remainder its own class (checked against PySpark 4.3).
    let remainder = format!(
        "[REMAINDER_BY_ZERO] Remainder by zero. Use `try_mod` to tolerate divisor being 0 and return NULL instead. {BYPASS} SQLSTATE: 22012"
    );
    let malformed = |to: &str| {
        format!(
            "[CAST_INVALID_INPUT] The value 'abc' of the type \"STRING\" cannot be cast to \"{to}\" because it is malformed. Correct the value as per the syntax, or change its target type. Use `try_cast` to tolerate malformed input and return NULL instead. SQLSTATE: 22018"
        )
    };
    let cases: Vec<(&str, String)> = vec![
        ("n / 0", divide.clone()),
        ("n DIV 0", divide.clone()),
        ("n % 0", remainder.clone()),
        ("mod(n, 0)", remainder.clone()),
        ("pmod(n, 0)", remainder.clone()),
        ("x / 0", divide.clone()),
        (
            "big + 1",
            format!("[ARITHMETIC_OVERFLOW] long overflow. Use 'try_add' to tolerate overflow and return NULL instead. {BYPASS} SQLSTATE: 22003"),
        ),
        (
            "-big - 2",
            format!("[ARITHMETIC_OVERFLOW] long overflow. Use 'try_subtract' to tolerate overflow and return NULL instead. {BYPASS} SQLSTATE: 22003"),
        ),
        (
            "big * 2",
            format!("[ARITHMETIC_OVERFLOW] long overflow. Use 'try_multiply' to tolerate overflow and return NULL instead. {BYPASS} SQLSTATE: 22003"),
        ),
        ("-(-big - 1)", format!("[ARITHMETIC_OVERFLOW] long overflow. {BYPASS} SQLSTATE: 22003")),
        ("abs(-big - 1)", format!("[ARITHMETIC_OVERFLOW] long overflow. {BYPASS} SQLSTATE: 22003")),
        ("CAST(s AS BIGINT)", malformed("BIGINT")),
        ("CAST(s AS DOUBLE)", malformed("DOUBLE")),
        ("CAST(s AS BOOLEAN)", malformed("BOOLEAN")),
        ("CAST(s AS DATE)", malformed("DATE")),
        ("CAST(s AS TIMESTAMP)", malformed("TIMESTAMP")),
        ("CAST('3.7' AS BIGINT)", malformed("BIGINT").replace("'abc'", "'3.7'")),
        (
            "CAST(x AS BIGINT)",
            "[CAST_OVERFLOW] The value 1.0E19D of the type \"DOUBLE\" cannot be cast to \"BIGINT\" due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead. SQLSTATE: 22003".into(),
        ),
        (
            "split(s, 'b')[2]",
            "[INVALID_ARRAY_INDEX] The index 2 is out of bounds. The array has 2 elements. Use the SQL function `get()` to tolerate accessing element at invalid index and return NULL instead. SQLSTATE: 22003".into(),
        ),
        (
            "element_at(split(s, 'b'), -3)",
            "[INVALID_ARRAY_INDEX_IN_ELEMENT_AT] The index -3 is out of bounds. The array has 2 elements. Use `try_element_at` to tolerate accessing element at invalid index and return NULL instead. SQLSTATE: 22003".into(),
        ),
        (
            "element_at(split(s, 'b'), 0)",
            "[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1). SQLSTATE: 22003".into(),
        ),
        (
            "to_timestamp(s, 'yyyy-MM-dd')",
            "[CANNOT_PARSE_TIMESTAMP] Text 'abc' could not be parsed. Use `try_to_timestamp` to tolerate invalid input string and return NULL instead. SQLSTATE: 22007".into(),
        ),
        (
            "to_date(s, 'yyyy-MM-dd')",
            "[CANNOT_PARSE_TIMESTAMP] Text 'abc' could not be parsed. Use `try_to_timestamp` to tolerate invalid input string and return NULL instead. SQLSTATE: 22007".into(),
        ),
        ("to_timestamp(s)", malformed("TIMESTAMP")),
    ];
    for workers in [1, 2] {
        for (expr, message) in &cases {
            let error = sql_failure(workers, expr);
            assert_eq!(error.to_string(), *message, "{expr} on {workers} workers");
            let class = &message[1..message.find(']').expect("a class")];
            assert_eq!(error.code(), class, "{expr}");
            assert!(
                !error.is_user_error(),
                "an evaluation error happens while the query runs"
            );
        }
    }
}

#[test]
fn ansi_errors_stop_a_dataframe_query_too() {
    for workers in [1, 2, 4] {
        let spark = session(workers, true);
        let (stream, rows) = input();
        let df = spark
            .read_stream()
            .memory(&stream)
            .select([(col("n") % 0).alias("v")])
            .expect("binds");
        assert_eq!(failure(df, &stream, rows, "append").code(), "REMAINDER_BY_ZERO");

        let (stream, rows) = input();
        let df = spark
            .read_stream()
            .memory(&stream)
            .select([col("s").cast(DataType::Int64).alias("v")])
            .expect("binds");
        assert_eq!(failure(df, &stream, rows, "append").code(), "CAST_INVALID_INPUT");

        // A filter's condition fails as well as a projection.
        let (stream, rows) = input();
        let df = spark
            .read_stream()
            .memory(&stream)
            .filter((col("big") + 1).gt(0))
            .expect("binds");
        assert_eq!(failure(df, &stream, rows, "append").code(), "ARITHMETIC_OVERFLOW");
    }
}

#[test]
fn a_sum_beyond_bigint_fails_under_ansi_and_wraps_without() {
    for workers in [1, 2] {
        // Two rows of the largest BIGINT, in two groups of the same key, on any worker.
        let rows = || vec![row!["a", 1i64, i64::MAX, 0.0], row!["a", 2i64, i64::MAX, 0.0]];
        let spark = session(workers, true);
        let (stream, _) = input();
        spark
            .read_stream()
            .memory(&stream)
            .create_or_replace_temp_view("t");
        let df = spark
            .sql("SELECT s, sum(big) AS total FROM t GROUP BY s")
            .expect("plans");
        let error = failure(df, &stream, rows(), "complete");
        assert_eq!(
            error.to_string(),
            format!("[ARITHMETIC_OVERFLOW] long overflow. Use 'try_sum' to tolerate overflow and return NULL instead. {BYPASS} SQLSTATE: 22003")
        );

        // Non-ANSI: MAX + MAX wraps to -2, as Java's long addition does.
        let spark = session(workers, false);
        let (stream, _) = input();
        spark
            .read_stream()
            .memory(&stream)
            .create_or_replace_temp_view("t");
        let df = spark
            .sql("SELECT s, sum(big) AS total FROM t GROUP BY s")
            .expect("plans");
        let ran = run_to_end(
            df.write_stream().output_mode("complete"),
            Feed::Epochs(&stream, vec![rows()]),
        );
        assert_eq!(
            ran.batch_rows().concat(),
            vec![row!["a", -2i64]],
            "workers {workers}"
        );
    }
}

#[test]
fn under_ansi_the_try_functions_still_answer_null_and_good_rows_pass() {
    for workers in [1, 2] {
        let values = sql_values(
            workers,
            true,
            "try_cast(s AS BIGINT) AS a, try_element_at(split(s, 'b'), 5) AS b,
             try_to_timestamp(s, 'yyyy-MM-dd') AS c, size(split(CAST(NULL AS STRING), ',')) AS d,
             n / 2 AS e, CAST('12' AS BIGINT) AS f, element_at(split(s, 'b'), -1) AS g,
             split(s, 'b')[0] AS h, CAST(to_timestamp('2024-02-29', 'yyyy-MM-dd') AS STRING) AS i,
             big - 1 AS j, abs(-n) AS k, pmod(-7, 3) AS l, CAST(x / 1e4 AS BIGINT) AS m,
             try_cast(x AS BIGINT) AS o, CAST(NULL AS BIGINT) + 1 AS p",
        );
        assert_eq!(
            values,
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Float(3.5),
                Value::Int(12),
                Value::str("c"),
                Value::str("a"),
                Value::str("2024-02-29 00:00:00"),
                Value::Int(i64::MAX - 1),
                Value::Int(7),
                Value::Int(2),
                Value::Int(1_000_000_000_000_000),
                Value::Null,
                Value::Null,
            ],
            "workers {workers}"
        );
    }
}

#[test]
fn without_ansi_the_same_expressions_keep_todays_null_answers() {
    for workers in [1, 2] {
        let values = sql_values(
            workers,
            false,
            "n / 0 AS a, n DIV 0 AS b, n % 0 AS c, pmod(n, 0) AS d, big + 1 AS e, -(-big - 1) AS f,
             abs(-big - 1) AS g, CAST(s AS BIGINT) AS h, CAST(s AS DATE) AS i, CAST(x AS BIGINT) AS j,
             split(s, 'b')[2] AS k, element_at(split(s, 'b'), 3) AS l,
             to_timestamp(s, 'yyyy-MM-dd') AS m, size(split(CAST(NULL AS STRING), ',')) AS o,
             CAST('3.7' AS BIGINT) AS p",
        );
        assert_eq!(
            values,
            vec![
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int(i64::MIN),
                Value::Int(i64::MIN),
                Value::Int(i64::MIN),
                Value::Null,
                Value::Null,
                // Java's (long) 1e19 saturates.
                Value::Int(i64::MAX),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Int(-1),
                Value::Int(3),
            ],
            "workers {workers}"
        );
    }
}

#[test]
fn ansi_mode_is_read_from_the_session_and_checked() {
    let bad = Session::builder()
        .config("spark.sql.ansi.enabled", "maybe")
        .get_or_create();
    assert_eq!(bad.unwrap_err().code(), "INVALID_OPTION");
    assert!(Session::builder()
        .config("spark.sql.ansi.enabled", "TRUE")
        .get_or_create()
        .is_ok());
}

/// Two queries of one script share the workers: the one whose expression fails stops with
/// its error, the other runs to its end with its rows.
#[test]
fn an_ansi_error_stops_only_the_query_it_belongs_to() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in");
        std::fs::create_dir(&input).expect("mkdir");
        std::fs::write(input.join("a.csv"), "6,3\n7,0\n8,2\n").expect("write");
        let script = format!(
            "CREATE STREAM t (a BIGINT, b BIGINT) USING csv OPTIONS (path '{}');
             CREATE SINK ratios USING memory;
             CREATE SINK sums USING memory;
             INSERT INTO ratios SELECT a / b AS q FROM t;
             INSERT INTO sums SELECT a + b AS s FROM t;",
            input.display()
        );
        let spark = session(workers, true);
        let defaults = tidewater::session::ScriptDefaults {
            trigger: Some(Trigger::available_now()),
            ..Default::default()
        };
        let queries = spark.run_script(&script, &defaults).expect("script starts");
        assert_eq!(queries.len(), 2);
        let ratios = await_within(&queries[0], "ratios").expect_err("a / 0 fails");
        assert_eq!(ratios.code(), "DIVIDE_BY_ZERO", "workers {workers}");
        await_within(&queries[1], "sums").expect("a + b succeeds");
        let mut sums = spark.memory_table("sums").expect("sums").rows();
        sums.sort();
        assert_eq!(
            sums,
            vec![row![7i64], row![9i64], row![10i64]],
            "workers {workers}"
        );
        assert!(spark.memory_table("ratios").expect("ratios").rows().is_empty());
    }
}
