//! DECIMAL(p, s) through SQL, the file formats and a checkpoint, against values and types
//! worked out by hand from Spark's rules: `DecimalPrecision` for the result types of
//! operators, `DecimalType.bounded` for `sum` and `avg`, `RoundBase` for `round`, and HALF_UP
//! rounding with NULL on overflow (non-ANSI) for every cast.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use tidewater::data::Decimal;
use tidewater::prelude::*;

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

fn dec(unscaled: i128, scale: u8) -> Value {
    Value::Decimal(Decimal::new(unscaled, scale))
}

/// Each value as `show()` prints it, so that the scale is checked along with the number.
fn shown(row: &Row) -> Vec<String> {
    row.iter().map(|v| v.to_string()).collect()
}

/// The SQL names of a query's column types.
fn types(df: &DataFrame) -> Vec<String> {
    df.schema()
        .fields()
        .iter()
        .map(|f| f.data_type.sql_name())
        .collect()
}

/// Runs `SELECT <case> AS c0, ...` over a stream of schema `ddl` fed `rows` in one epoch, with
/// `workers` workers, after checking each case's type (`(expression, type, shown value)`):
/// the output rows.
fn select_cases(workers: usize, ddl: &str, cases: &[(&str, &str, &str)], rows: Vec<Row>) -> Vec<Row> {
    let spark = session(workers);
    let input = MemoryStream::new(Schema::from_ddl(ddl).expect("ddl"));
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("t");
    let select: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (e, ..))| format!("{e} AS c{i}"))
        .collect();
    let df = spark
        .sql(&format!("SELECT {} FROM t", select.join(", ")))
        .expect("plans");
    let expected_types: Vec<&str> = cases.iter().map(|(_, t, _)| *t).collect();
    assert_eq!(types(&df), expected_types);
    run_to_end(df.write_stream(), Feed::Epochs(&input, vec![rows]))
        .batch_rows()
        .concat()
}

/// Checks that `row` shows each case's expected value.
fn assert_shown(row: &Row, cases: &[(&str, &str, &str)], workers: usize) {
    for (i, (got, (e, _, want))) in shown(row).iter().zip(cases).enumerate() {
        assert_eq!(got, want, "{e} (c{i}) with {workers} worker(s)");
    }
}

#[test]
fn operators_casts_and_functions_follow_sparks_precision_rules() {
    // (expression, result type, result for a = 12.35, b = -0.125, n = 3, x = 0.5), each
    // worked out from DecimalPrecision with allowPrecisionLoss on.
    let cases: &[(&str, &str, &str)] = &[
        // scale max(2, 3) = 3; whole max(8, 2) = 8; precision 8 + 3 + 1.
        ("a + b", "decimal(12,3)", "12.225"),
        // BIGINT is DECIMAL(20, 0): whole 20, scale 2, precision 23.
        ("a - n", "decimal(23,2)", "9.35"),
        ("a * b", "decimal(16,5)", "-1.54375"),
        // scale max(6, 2 + 5 + 1) = 8; precision 10 - 2 + 3 + 8 = 19.
        ("a / b", "decimal(19,8)", "-98.80000000"),
        // scale max(6, 2 + 20 + 1) = 23; precision 10 - 2 + 0 + 23 = 31; 4.11666… HALF_UP.
        ("a / n", "decimal(31,23)", "4.11666666666666666666667"),
        ("a % n", "decimal(10,2)", "0.35"),
        ("b % a", "decimal(5,3)", "-0.125"),
        ("pmod(b, n)", "decimal(5,3)", "2.875"),
        // With a DOUBLE, the decimal is a double.
        ("a * x", "double", "6.175"),
        ("-a", "decimal(10,2)", "-12.35"),
        ("CAST(b AS STRING)", "string", "-0.125"),
        // RoundBase: whole 10 - 2 + 1 = 9, scale min(2, 1) = 1.
        ("round(a, 1)", "decimal(10,1)", "12.4"),
        ("round(b, 2)", "decimal(5,2)", "-0.13"),
        ("bround(b, 2)", "decimal(5,2)", "-0.12"),
        ("round(a, -1)", "decimal(9,0)", "10"),
        // floor and ceil: whole digits plus one, scale 0.
        ("floor(b)", "decimal(3,0)", "-1"),
        ("ceil(b)", "decimal(3,0)", "0"),
        ("ceil(a)", "decimal(9,0)", "13"),
        ("abs(b)", "decimal(5,3)", "0.125"),
        ("a > n", "boolean", "true"),
        ("a = CAST('12.350' AS DECIMAL(5, 3))", "boolean", "true"),
        ("b < x", "boolean", "true"),
        ("CAST(a AS BIGINT)", "bigint", "12"),
        ("CAST(b AS DOUBLE)", "double", "-0.125"),
        ("CAST(a AS DECIMAL(3, 1))", "decimal(3,1)", "12.4"),
        // 12.35 needs two whole digits: no room in DECIMAL(2, 1).
        ("CAST(a AS DECIMAL(2, 1))", "decimal(2,1)", "null"),
        ("CAST(n AS NUMERIC(4))", "decimal(4,0)", "3"),
        ("CAST(x AS DEC(3, 2))", "decimal(3,2)", "0.50"),
        ("CAST('1.45' AS DECIMAL(2, 1))", "decimal(2,1)", "1.5"),
        ("CAST('-1.45' AS DECIMAL)", "decimal(10,0)", "-1"),
        ("try_cast('abc' AS DECIMAL(4, 2))", "decimal(4,2)", "null"),
        ("try_cast('99.995' AS DECIMAL(4, 2))", "decimal(4,2)", "null"),
        ("CASE WHEN n > 1 THEN a ELSE n END", "decimal(22,2)", "12.35"),
        // The common type of DECIMAL(4, 2) and BIGINT (DECIMAL(20, 0)): whole 20, scale 2.
        (
            "coalesce(CAST(NULL AS DECIMAL(4, 2)), n)",
            "decimal(22,2)",
            "3.00",
        ),
        ("if(n > 5, a, n)", "decimal(22,2)", "3.00"),
        ("greatest(a, n)", "decimal(22,2)", "12.35"),
        // Spark hashes a decimal of up to 18 digits as its unscaled BIGINT.
        (
            "hash(CAST('12.35' AS DECIMAL(10, 2))) = hash(1235)",
            "boolean",
            "true",
        ),
        (
            "xxhash64(CAST('-0.125' AS DECIMAL(18, 3))) = xxhash64(-125)",
            "boolean",
            "true",
        ),
        // 10^37 × 100: 40 digits, more than DECIMAL(38, 0) holds.
        (
            "CAST('1e37' AS DECIMAL(38, 0)) * CAST(100 AS DECIMAL(3, 0))",
            "decimal(38,0)",
            "null",
        ),
    ];
    for workers in [1, 2] {
        let rows = vec![
            row![dec(1235, 2), dec(-125, 3), 3i64, 0.5],
            Row::from(vec![Value::Null; 4]),
        ];
        let out = select_cases(
            workers,
            "a DECIMAL(10, 2), b DECIMAL(5, 3), n BIGINT, x DOUBLE",
            cases,
            rows,
        );
        assert_eq!(out.len(), 2);
        let (values, nulls): (Vec<&Row>, Vec<&Row>) = out.iter().partition(|r| !r[0].is_null());
        assert_shown(values[0], cases, workers);
        // Every operator and function of a null is null (the constants aside).
        for (i, v) in nulls[0].iter().enumerate() {
            let e = cases[i].0;
            if !e.starts_with("CAST('") && !e.starts_with("try_cast") && !e.contains("hash") {
                assert_eq!(v, &Value::Null, "{e} of nulls");
            }
        }
    }
}

#[test]
fn a_decimal_key_groups_by_value_on_any_number_of_workers() {
    let schema = Schema::from_ddl("s STRING, p DECIMAL(6, 2)").expect("ddl");
    let epochs = || {
        vec![
            vec![
                row!["1.5", dec(110, 2)],
                row!["1.50", dec(225, 2)],
                row!["1.54", dec(-35, 2)],
                // HALF_UP, away from zero: -0.05 is -0.1 at scale 1.
                row!["-0.05", dec(1000, 2)],
                row!["abc", dec(500, 2)],
                row![Value::Null, dec(100, 2)],
                row!["1.46", dec(1, 2)],
                row!["1.46", Value::Null],
            ],
            vec![row!["1.45", dec(99, 2)]],
        ]
    };
    // By hand. Key 1.5: 1.10 + 2.25 - 0.35 + 0.01 = 3.01 over 4 values, then + 0.99 = 4.00
    // over 5, avg 0.8 at scale 6. Key -0.1: 10.00. Key null ('abc' and NULL): 5.00 + 1.00.
    let expected = vec![
        vec!["null", "6.00", "3.000000", "2", "1.00", "5.00"],
        vec!["-0.1", "10.00", "10.000000", "1", "10.00", "10.00"],
        vec!["1.5", "4.00", "0.800000", "6", "-0.35", "2.25"],
    ];
    for workers in [1, 2, 4] {
        let spark = session(workers);
        let input = MemoryStream::new(schema.clone());
        spark
            .read_stream()
            .memory(&input)
            .create_or_replace_temp_view("t");
        let df = spark
            .sql(
                "SELECT k, sum(p) AS total, avg(p) AS mean, count(*) AS c, min(p) AS lo, max(p) AS hi
                 FROM (SELECT CAST(s AS DECIMAL(4, 1)) AS k, p FROM t) GROUP BY k",
            )
            .expect("plans");
        assert_eq!(
            types(&df),
            [
                "decimal(4,1)",
                "decimal(16,2)",
                "decimal(10,6)",
                "bigint",
                "decimal(6,2)",
                "decimal(6,2)"
            ]
        );
        let ran = run_to_end(
            df.write_stream().output_mode("complete"),
            Feed::Epochs(&input, epochs()),
        );
        let last = ran.batch_rows().pop().expect("a batch");
        let mut got: Vec<Vec<String>> = last.iter().map(shown).collect();
        got.sort_by_key(|r| match r[0].as_str() {
            "null" => 0,
            "-0.1" => 1,
            _ => 2,
        });
        assert_eq!(got, expected, "{workers} worker(s)");
    }
}

/// The files a file sink wrote, in name order, as one text.
fn parts(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("sink folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("part-"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| fs::read_to_string(dir.join(n)).expect("part"))
        .collect()
}

#[test]
fn decimals_go_from_csv_to_csv_and_json_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    // 1234.567 rounds to 1234.57 (HALF_UP); 12345.6 does not fit DECIMAL(6, 2) and `abc` does
    // not parse: both malformed, and dropped.
    fs::write(
        input.join("a.csv"),
        "id,price\n1,19.99\n2,-0.5\n3,\n4,1234.567\n5,abc\n6,12345.6\n",
    )
    .expect("write");
    for workers in [1, 2] {
        let spark = session(workers);
        let prices = spark
            .read_stream()
            .schema(Schema::from_ddl("id BIGINT, price DECIMAL(6, 2)").expect("ddl"))
            .option("header", true)
            .option("mode", "DROPMALFORMED")
            .csv(input.to_str().expect("path"))
            .expect("source");
        prices.create_or_replace_temp_view("prices");
        let df = spark
            .sql("SELECT id, price, price * 2 AS twice FROM prices")
            .expect("plans");
        // The literal 2 is DECIMAL(1, 0) (Spark's `DecimalType.fromLiteral`): 6 + 1 + 1, scale 2.
        assert_eq!(types(&df), ["bigint", "decimal(6,2)", "decimal(8,2)"]);
        for format in ["csv", "json"] {
            let out = dir.path().join(format!("{format}{workers}"));
            let query = df
                .write_stream()
                .format(format)
                .option("header", true)
                .option("path", out.to_str().expect("path"))
                .trigger(Trigger::available_now())
                .start()
                .expect("start");
            await_within(&query, "file sink").expect("finishes");
            // By hand: Spark writes the scale's digits, a number in JSON, and a null as an
            // empty CSV field or a left-out JSON field.
            let expected = if format == "csv" {
                "id,price,twice\n1,19.99,39.98\n2,-0.50,-1.00\n3,,\n4,1234.57,2469.14\n"
            } else {
                concat!(
                    "{\"id\":1,\"price\":19.99,\"twice\":39.98}\n",
                    "{\"id\":2,\"price\":-0.50,\"twice\":-1.00}\n",
                    "{\"id\":3}\n",
                    "{\"id\":4,\"price\":1234.57,\"twice\":2469.14}\n"
                )
            };
            assert_eq!(parts(&out), expected, "{format} with {workers} worker(s)");
        }
        // The CSV output read back as decimals holds the same numbers.
        let back = spark
            .read_stream()
            .schema(Schema::from_ddl("id BIGINT, price DECIMAL(6, 2), twice DECIMAL(8, 2)").expect("ddl"))
            .option("header", true)
            .csv(dir.path().join(format!("csv{workers}")).to_str().expect("path"))
            .expect("source");
        let rows = run_to_end(
            back.write_stream().trigger(Trigger::available_now()),
            Feed::Nothing,
        )
        .rows();
        assert_eq!(
            rows,
            vec![
                row![1i64, dec(1999, 2), dec(3998, 2)],
                row![2i64, dec(-50, 2), dec(-100, 2)],
                row![3i64, Value::Null, Value::Null],
                row![4i64, dec(123_457, 2), dec(246_914, 2)],
            ]
        );
    }
}

#[test]
fn a_restarted_query_keeps_its_decimal_sums() {
    let checkpoint = tempfile::tempdir().expect("tempdir");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(Schema::from_ddl("k STRING, p DECIMAL(5, 2)").expect("ddl"));
    let totals = |spark: &Session| {
        spark
            .read_stream()
            .memory(&input)
            .group_by([col("k")])
            .agg([sum(col("p")).alias("total"), avg(col("p")).alias("mean")])
            .expect("plan")
            .write_stream()
            .output_mode("complete")
            .option("checkpointLocation", &location)
    };
    let first = Collected::default();
    let query = first.attach(totals(&session(2))).start().expect("start");
    input.add_data(vec![
        row!["a", dec(125, 2)],
        row!["a", dec(250, 2)],
        row!["b", dec(-1, 2)],
    ]);
    query.process_all_available().expect("epoch 0");
    query.stop().expect("stop");

    // Restarted with another number of workers: the state is re-partitioned.
    let second = Collected::default();
    let restarted = second.attach(totals(&session(1))).start().expect("restart");
    input.add_data(vec![row!["a", dec(25, 2)]]);
    restarted.process_all_available().expect("epoch 1");
    restarted.stop().expect("stop");

    let render = |batches: Vec<(u64, Vec<Row>)>| -> Vec<(u64, Vec<Vec<String>>)> {
        batches
            .into_iter()
            .map(|(id, mut rows)| {
                rows.sort();
                (id, rows.iter().map(shown).collect())
            })
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // By hand: a = 1.25 + 2.50 = 3.75 (avg 1.875), then + 0.25 = 4.00 over 3 (avg 1.333333…
    // at scale 6); b = -0.01. avg of DECIMAL(5, 2) is DECIMAL(9, 6).
    assert_eq!(
        render(first.batches()),
        vec![(
            0,
            vec![s(&["a", "3.75", "1.875000"]), s(&["b", "-0.01", "-0.010000"])]
        )]
    );
    assert_eq!(
        render(second.batches()),
        vec![(
            1,
            vec![s(&["a", "4.00", "1.333333"]), s(&["b", "-0.01", "-0.010000"])]
        )]
    );
}

#[test]
fn sql_literals_are_typed_as_sparks_parser_types_them() {
    // (expression, type, value for n = 3, d = 12.35), from Spark's lexer (`DECIMAL_VALUE`,
    // `EXPONENT_VALUE` and the suffixes) and `AstBuilder` (a decimal literal is Java's
    // `BigDecimal` of its text: its digits, and at least its scale, of precision), then
    // DecimalPrecision for the operators, an integer literal beside a decimal taking only its
    // own digits (`DecimalType.fromLiteral`).
    let cases: &[(&str, &str, &str)] = &[
        ("1.5", "decimal(2,1)", "1.5"),
        ("0.908", "decimal(3,3)", "0.908"),
        (".5", "decimal(1,1)", "0.5"),
        ("100.00", "decimal(5,2)", "100.00"),
        // `1.` is BigDecimal 1: one digit, scale 0.
        ("1.", "decimal(1,0)", "1"),
        // Zero has one digit; the scale of two makes the precision 2.
        ("0.00", "decimal(2,2)", "0.00"),
        ("-1.50", "decimal(3,2)", "-1.50"),
        // An exponent makes a DOUBLE; so do the suffixes D and F.
        ("1.5e0", "double", "1.5"),
        ("1E3", "double", "1000.0"),
        ("1.5D", "double", "1.5"),
        ("1.5d", "double", "1.5"),
        ("2F", "double", "2.0"),
        ("1e1D", "double", "10.0"),
        // BD: the exact BigDecimal, a negative scale (1E+3) made 0.
        ("1.5BD", "decimal(2,1)", "1.5"),
        ("1e3BD", "decimal(4,0)", "1000"),
        ("1.25E-1BD", "decimal(3,3)", "0.125"),
        ("10L", "bigint", "10"),
        ("10S", "bigint", "10"),
        ("10Y", "bigint", "10"),
        // Past BIGINT's range: 20 digits, DECIMAL(20, 0).
        ("12345678901234567890", "decimal(20,0)", "12345678901234567890"),
        // BIGINT n is DECIMAL(20, 0): precision 20 + 2 + 1, scale 0 + 1.
        ("n * 1.5", "decimal(23,1)", "4.5"),
        ("n * 1.5D", "double", "4.5"),
        // n * 0.908: 20 + 3 + 1, scale 3 (Nexmark's q1).
        ("n * 0.908", "decimal(24,3)", "2.724"),
        // The literal 1 is DECIMAL(1, 0): whole max(1, 1) + scale 1 + 1.
        ("1 + 1.5", "decimal(3,1)", "2.5"),
        // d DECIMAL(10, 2) times DECIMAL(1, 0): 10 + 1 + 1, scale 2.
        ("d * 2", "decimal(12,2)", "24.70"),
        // whole max(8, 3) + scale 2 + 1.
        ("d + 100", "decimal(11,2)", "112.35"),
        // scale max(6, 2 + 1 + 1) = 6; precision 10 - 2 + 0 + 6 = 14; 12.35 / 4 = 3.0875.
        ("d / 4", "decimal(14,6)", "3.087500"),
        // Exact, as decimals: as doubles 0.1 + 0.2 is 0.30000000000000004.
        ("0.1 + 0.2 = 0.3", "boolean", "true"),
        ("0.1D + 0.2D = 0.3D", "boolean", "false"),
    ];
    for workers in [1, 2] {
        let rows = vec![row![3i64, dec(1235, 2)]];
        let out = select_cases(workers, "n BIGINT, d DECIMAL(10, 2)", cases, rows);
        assert_eq!(out.len(), 1);
        assert_shown(&out[0], cases, workers);
    }
}

#[test]
fn a_suffix_joins_its_number_and_a_name_after_a_space_is_an_alias() {
    let spark = session(1);
    let input = MemoryStream::new(Schema::from_ddl("n BIGINT").expect("ddl"));
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("t");
    let named = |sql: &str| -> Vec<(String, String)> {
        let df = spark.sql(sql).expect("plans");
        df.schema()
            .fields()
            .iter()
            .map(|f| (f.name.clone(), f.data_type.sql_name()))
            .collect()
    };
    let pair = |name: &str, ty: &str| (name.to_string(), ty.to_string());
    // Spark names a literal column by its value.
    assert_eq!(named("SELECT 1.5D FROM t"), vec![pair("1.5", "double")]);
    assert_eq!(named("SELECT 1.50 FROM t"), vec![pair("1.50", "decimal(3,2)")]);
    assert_eq!(named("SELECT 1.5 D FROM t"), vec![pair("D", "decimal(2,1)")]);
    assert_eq!(named("SELECT 10 bd FROM t"), vec![pair("bd", "bigint")]);
    // `L` follows whole numbers only, in Spark's lexer: `1.5L` is `1.5` named `L`.
    assert_eq!(named("SELECT 1.5L FROM t"), vec![pair("L", "decimal(2,1)")]);
    // The fragments of the DataFrame API read literals the same way; `lit(1.5)` stays a
    // DOUBLE, as Spark's does.
    let df = spark.sql("SELECT * FROM t").expect("plans");
    let fragments = df
        .select_expr(["n * 1.5 AS a", "n * 1.5e0 AS b"])
        .expect("select_expr")
        .select(vec![
            col("a"),
            col("b"),
            lit(1.5).alias("c"),
            expr("2.50").expect("expr").alias("e"),
        ])
        .expect("select");
    assert_eq!(
        types(&fragments),
        vec!["decimal(23,1)", "double", "double", "decimal(3,2)"]
    );
}

#[test]
fn literals_out_of_their_types_range_are_refused() {
    let spark = session(1);
    let input = MemoryStream::new(Schema::from_ddl("n BIGINT").expect("ddl"));
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("t");
    let too_many_digits = format!("0.{}", "1".repeat(39));
    for sql in [
        "SELECT 128Y FROM t".to_string(),
        "SELECT 32768S FROM t".to_string(),
        "SELECT 9223372036854775808L FROM t".to_string(),
        "SELECT 1e-50BD FROM t".to_string(),
        "SELECT 1e999D FROM t".to_string(),
        "SELECT 1e999 FROM t".to_string(),
        format!("SELECT {too_many_digits} FROM t"),
        format!("SELECT 1{} FROM t", "0".repeat(38)),
    ] {
        let err = spark.sql(&sql).err().unwrap_or_else(|| panic!("{sql} plans"));
        assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{sql}: {err}");
    }
    // Within range they are accepted.
    for sql in [
        "SELECT 127Y FROM t",
        "SELECT 32767S FROM t",
        "SELECT 9223372036854775807L FROM t",
        "SELECT 99999999999999999999999999999999999999 FROM t",
    ] {
        spark.sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}
