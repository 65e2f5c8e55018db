//! A type error names the expression that is wrong, in SQL text, with the operand types in
//! Spark's upper-case names, as Spark's `DATATYPE_MISMATCH.*` errors do; in SQL and in the
//! DataFrame API alike. The expected messages follow Spark's error-conditions templates. The
//! code stays `DATATYPE_MISMATCH`; the message's brackets name Spark's subclass.

use tidewater::functions::*;
use tidewater::prelude::*;

fn stream() -> MemoryStream {
    MemoryStream::new(Schema::new([
        Field::new("name", DataType::String),
        Field::new("n", DataType::Int64),
        Field::new("flag", DataType::Boolean),
    ]))
}

/// The error of planning `sql` over the view `t`.
fn sql_error(sql: &str) -> Error {
    let spark = Session::builder().get_or_create().expect("session");
    spark
        .read_stream()
        .memory(&stream())
        .create_or_replace_temp_view("t");
    match spark.sql(sql) {
        Ok(_) => panic!("`{sql}` plans, but should not"),
        Err(e) => e,
    }
}

const DIFF: &str = "DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES";
const WRONG: &str = "DATATYPE_MISMATCH.BINARY_OP_WRONG_TYPE";
const INPUT: &str = "DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE";

#[test]
fn sql_type_errors_name_the_offending_expression() {
    let cases = [
        (
            "SELECT name + 1 AS x FROM t",
            DIFF,
            "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve \"(name + 1)\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"STRING\" and \"BIGINT\").",
        ),
        (
            // Only the wrong part of a larger expression is named.
            "SELECT n, length(name) + (flag * 2) AS x FROM t",
            DIFF,
            "Cannot resolve \"(flag * 2)\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"BOOLEAN\" and \"BIGINT\").",
        ),
        (
            "SELECT name || 'x' AS a, name * name AS x FROM t",
            WRONG,
            "Cannot resolve \"(name * name)\" due to data type mismatch: the binary operator requires the input type \"NUMERIC\", not \"STRING\".",
        ),
        (
            "SELECT name AND name AS x FROM t",
            WRONG,
            "Cannot resolve \"(name AND name)\" due to data type mismatch: the binary operator requires the input type \"BOOLEAN\", not \"STRING\".",
        ),
        (
            "SELECT n OR flag AS x FROM t",
            DIFF,
            "Cannot resolve \"(n OR flag)\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"BIGINT\" and \"BOOLEAN\").",
        ),
        (
            "SELECT year(flag) AS x FROM t",
            INPUT,
            "Cannot resolve \"year(flag)\" due to data type mismatch: The first parameter requires the \"DATE\" type, however \"flag\" has the type \"BOOLEAN\".",
        ),
        (
            "SELECT element_at(split(name, ','), flag) AS x FROM t",
            INPUT,
            "Cannot resolve \"element_at(split(name, ','), flag)\" due to data type mismatch: The second parameter requires the \"BIGINT\" type, however \"flag\" has the type \"BOOLEAN\".",
        ),
        (
            "SELECT NOT name AS x FROM t",
            INPUT,
            "Cannot resolve \"(NOT name)\" due to data type mismatch: The first parameter requires the \"BOOLEAN\" type, however \"name\" has the type \"STRING\".",
        ),
        (
            "SELECT name FROM t WHERE n",
            "DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN",
            "Cannot resolve \"n\" due to data type mismatch: Filter expression \"n\" of type \"BIGINT\" is not a boolean.",
        ),
        (
            "SELECT n = flag AS x FROM t",
            DIFF,
            "Cannot resolve \"(n = flag)\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"BIGINT\" and \"BOOLEAN\").",
        ),
    ];
    for (sql, class, message) in cases {
        let error = sql_error(sql);
        assert_eq!(error.code(), "DATATYPE_MISMATCH", "{sql}: {error}");
        assert!(
            error.to_string().starts_with(&format!("[{class}] ")),
            "{sql}: {error}"
        );
        assert!(
            error.to_string().contains(message),
            "{sql}:\n{error}\nwanted:\n{message}"
        );
        assert!(error.is_user_error(), "{sql}");
    }
}

#[test]
fn dataframe_type_errors_name_the_offending_expression() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = stream();
    let df = || spark.read_stream().memory(&input);
    let error = df()
        .select([(col("name") + 1).alias("x")])
        .expect_err("a type error");
    assert_eq!(
        error.to_string(),
        "[DATATYPE_MISMATCH.BINARY_OP_DIFF_TYPES] Cannot resolve \"(name + 1)\" due to data type mismatch: the left and right operands of the binary operator have incompatible types (\"STRING\" and \"BIGINT\")."
    );
    let error = df().filter(col("n")).expect_err("a type error");
    assert_eq!(
        error.to_string(),
        "[DATATYPE_MISMATCH.FILTER_NOT_BOOLEAN] Cannot resolve \"n\" due to data type mismatch: Filter expression \"n\" of type \"BIGINT\" is not a boolean."
    );
    let error = df()
        .select([
            col("n"),
            upper(col("name")).alias("u"),
            year(col("flag")).alias("y"),
        ])
        .expect_err("a type error");
    assert_eq!(error.code(), "DATATYPE_MISMATCH");
    assert!(error.to_string().starts_with(&format!("[{INPUT}] ")), "{error}");
    assert!(
        error.to_string().contains(
            "Cannot resolve \"year(flag)\" due to data type mismatch: The first parameter requires the \"DATE\" type, however \"flag\" has the type \"BOOLEAN\"."
        ),
        "{error}"
    );
    let error = df()
        .select([col("flag").cast(DataType::Date).alias("a")])
        .expect_err("a type error");
    assert_eq!(
        error.to_string(),
        "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] Cannot resolve \"CAST(flag AS DATE)\" due to data type mismatch: cannot cast \"BOOLEAN\" to \"DATE\"."
    );
}
