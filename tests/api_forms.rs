//! The DataFrame and SQL forms Spark users write first: `union` / `union_by_name` / `UNION
//! [ALL]`, `WITH`, `select_expr` and `expr(..)`, `drop`, `with_column_renamed`, and a reader's
//! schema as a DDL string. Expected rows are worked out by hand from the inputs.

mod common;

use common::*;
use tidewater::prelude::*;

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

fn users() -> Schema {
    Schema::new([
        Field::new("name", DataType::String),
        Field::new("n", DataType::Int64),
    ])
}

#[test]
fn union_matches_columns_by_position_and_widens_types() {
    for workers in [1, 2] {
        let spark = session(workers);
        let ints = MemoryStream::new(users());
        let doubles = MemoryStream::new(Schema::new([
            Field::new("who", DataType::String),
            Field::new("x", DataType::Float64),
        ]));
        let all = spark
            .read_stream()
            .memory(&ints)
            .union(&spark.read_stream().memory(&doubles))
            .expect("plan");
        // The left side names the columns; BIGINT and DOUBLE meet in DOUBLE.
        assert_eq!(all.schema().names(), ["name", "n"]);
        assert_eq!(all.schema().fields()[1].data_type, DataType::Float64);
        let ran = run_to_end(
            all.write_stream(),
            Feed::Interleaved(vec![
                (&ints, vec![row!["b", 2], row!["a", 1]]),
                (&doubles, vec![row!["a", 0.5]]),
            ]),
        );
        assert_eq!(
            ran.batches(),
            [
                (0, vec![row!["a", 1.0], row!["b", 2.0]]),
                (1, vec![row!["a", 0.5]])
            ],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_union_of_one_stream_with_itself_reads_it_once() {
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(users());
        let stream = spark.read_stream().memory(&input);
        let small = stream.filter(col("n").lt(3)).expect("plan");
        let odd = stream.filter((col("n") % 2).eq(1)).expect("plan");
        let counts = small
            .union(&odd)
            .and_then(|df| df.group_by([col("name")]).count())
            .expect("plan");
        // a 1: small and odd (2); b 2: small (1); c 5: odd (1); d 4: neither.
        let rows = vec![row!["a", 1], row!["b", 2], row!["c", 5], row!["d", 4]];
        let ran = run_to_end(
            counts.write_stream().output_mode("complete"),
            Feed::Epochs(&input, vec![rows]),
        );
        assert_eq!(
            ran.batch_rows(),
            [vec![row!["a", 2], row!["b", 1], row!["c", 1]]],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn union_by_name_matches_names_and_fills_missing_columns_with_nulls() {
    let spark = session(2);
    let left = MemoryStream::new(users());
    let right = MemoryStream::new(Schema::new([
        Field::new("N", DataType::Int64),
        Field::new("city", DataType::String),
        Field::new("name", DataType::String),
    ]));
    let (l, r) = (
        spark.read_stream().memory(&left),
        spark.read_stream().memory(&right),
    );
    assert_eq!(
        l.union_by_name(&r, false).unwrap_err().code(),
        "UNRESOLVED_COLUMN"
    );
    let all = l.union_by_name(&r, true).expect("plan");
    assert_eq!(all.schema().names(), ["name", "n", "city"]);
    let ran = run_to_end(
        all.write_stream(),
        Feed::Interleaved(vec![
            (&left, vec![row!["ann", 1]]),
            (&right, vec![row![7, "Oslo", "bob"]]),
        ]),
    );
    assert_eq!(
        ran.batch_rows(),
        [vec![row!["ann", 1, Value::Null]], vec![row!["bob", 7, "Oslo"]]]
    );
    let err = l.union(&r).unwrap_err();
    assert_eq!(err.code(), "INVALID_PLAN", "{err}");
    let watermarked = MemoryStream::new(Schema::new([Field::new("ts", DataType::Timestamp)]));
    let w = spark.read_stream().memory(&watermarked);
    let err = w
        .with_watermark("ts", "1 second")
        .and_then(|df| df.union(&w))
        .unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
}

#[test]
fn sql_union_with_and_their_distinct_forms() {
    for workers in [1, 2] {
        let spark = session(workers);
        let queries = [
            // UNION ALL keeps both copies of (a, 1).
            (
                "SELECT name, n FROM web UNION ALL SELECT name, n FROM app",
                vec![row!["a", 1], row!["a", 1], row!["b", 2], row!["c", 3]],
            ),
            // UNION removes them.
            (
                "SELECT name, n FROM web UNION SELECT name, n FROM app",
                vec![row!["a", 1], row!["b", 2], row!["c", 3]],
            ),
            // A CTE read by the next one, and columns renamed by the CTE's list.
            (
                "WITH everyone (who, k) AS (SELECT * FROM web UNION ALL SELECT * FROM app), \
                 big AS (SELECT who, k * 10 AS k10 FROM everyone WHERE k > 1) \
                 SELECT who, k10 FROM big",
                vec![row!["b", 20], row!["c", 30]],
            ),
        ];
        for (query, expected) in queries {
            let web = MemoryStream::new(users());
            let app = MemoryStream::new(users());
            spark
                .read_stream()
                .memory(&web)
                .create_or_replace_temp_view("web");
            spark
                .read_stream()
                .memory(&app)
                .create_or_replace_temp_view("app");
            let df = spark.sql(query).expect(query);
            let ran = run_to_end(
                df.write_stream(),
                Feed::Interleaved(vec![
                    (&web, vec![row!["a", 1], row!["b", 2]]),
                    (&app, vec![row!["c", 3], row!["a", 1]]),
                ]),
            );
            assert_eq!(ran.rows(), expected, "{query}, {workers} worker(s)");
        }
        // A CTE hides a view of the same name, only inside its query.
        let df = spark
            .sql("WITH web AS (SELECT name, n + 100 AS n FROM app) SELECT * FROM web")
            .expect("plan");
        assert_eq!(df.schema().names(), ["name", "n"]);
        let err = spark
            .sql("SELECT name FROM web INTERSECT SELECT name FROM app")
            .unwrap_err();
        assert_eq!(err.code(), "UNSUPPORTED_FEATURE", "{err}");
    }
}

#[test]
fn select_expr_expr_drop_and_rename() {
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(users());
        let df = spark
            .read_stream()
            .memory(&input)
            .select_expr(["name", "n * 2 AS doubled", "upper(name) AS shout", "n"])
            .and_then(|df| df.filter(expr("doubled > 2 AND shout <> 'C'").expect("parses")))
            .and_then(|df| df.drop(&["N", "nothing"]))
            .and_then(|df| df.with_column_renamed("shout", "loud"))
            .and_then(|df| df.with_column_renamed("absent", "ignored"))
            .expect("plan");
        assert_eq!(df.schema().names(), ["name", "doubled", "loud"]);
        let rows = vec![row!["a", 1], row!["b", 2], row!["c", 5], row!["d", 4]];
        let ran = run_to_end(df.write_stream(), Feed::Epochs(&input, vec![rows]));
        assert_eq!(
            ran.rows(),
            [row!["b", 4, "B"], row!["d", 8, "D"]],
            "{workers} worker(s)"
        );
    }
    let err = expr("n +").unwrap_err();
    assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{err}");
    let err = expr("n m k").unwrap_err();
    assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{err}");
}

#[test]
fn a_reader_takes_its_schema_as_a_ddl_string() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(
        dir.path().join("a.json"),
        "{\"ts\": 5, \"key\": \"x\", \"tags\": [\"p\", \"q\"]}\n{\"ts\": 7, \"key\": \"y\", \"tags\": []}\n",
    )
    .expect("write");
    for workers in [1, 2] {
        let spark = session(workers);
        let events = spark
            .read_stream()
            .format("json")
            .schema("ts BIGINT, key STRING, tags ARRAY<STRING>")
            .option("path", dir.path().display())
            .load()
            .expect("plan");
        assert_eq!(events.schema().names(), ["ts", "key", "tags"]);
        let sizes = events.select_expr(["key", "ts + 1 AS next"]).expect("plan");
        let ran = run_to_end(sizes.write_stream().trigger(Trigger::AvailableNow), Feed::Nothing);
        assert_eq!(ran.rows(), [row!["x", 6], row!["y", 8]], "{workers} worker(s)");
    }
    let spark = session(1);
    let err = spark
        .read_stream()
        .format("json")
        .schema("ts BIGINT key STRING")
        .option("path", dir.path().display())
        .load()
        .unwrap_err();
    assert_eq!(err.code(), "PARSE_SYNTAX_ERROR", "{err}");
}

#[test]
fn append_mode_takes_projections_and_filters_that_compute_from_the_window() {
    let second = 1_000_000i64;
    let at = |s: i64| Value::Timestamp(s * second);
    let schema = Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]);
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(schema.clone());
        let counts = spark
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .and_then(|df| {
                df.group_by([window(col("ts"), "10 seconds"), col("word")])
                    .count()
            })
            .and_then(|df| {
                df.select([
                    col("window.start").alias("start"),
                    col("word"),
                    (col("count") * 10).alias("tens"),
                ])
            })
            .and_then(|df| df.filter(col("tens").gt(10)))
            .expect("plan");
        // Epoch 0 sees up to 12 s (watermark 7 s after it), epoch 1 sees 30 s (watermark 25 s),
        // and the batch without data that follows closes [0, 10) with a: 2 and [10, 20) with
        // b: 1, which the filter drops. [30, 40) never closes.
        let epochs = vec![
            vec![row!["a", at(1)], row!["a", at(4)], row!["b", at(12)]],
            vec![row!["b", at(30)]],
        ];
        let ran = run_to_end(
            counts.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs),
        );
        assert_eq!(ran.rows(), [row![at(0), "a", 20]], "{workers} worker(s)");

        // The same in SQL, over a view.
        let input = MemoryStream::new(schema.clone());
        spark
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .expect("plan")
            .create_or_replace_temp_view("events");
        let counts = spark
            .sql(
                "SELECT window.start AS start, word, count(*) * 10 AS tens FROM events \
                 GROUP BY window(ts, '10 seconds'), word HAVING count(*) > 1",
            )
            .expect("plan");
        let epochs = vec![
            vec![row!["a", at(1)], row!["a", at(4)], row!["b", at(12)]],
            vec![row!["b", at(30)]],
        ];
        let ran = run_to_end(
            counts.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs),
        );
        assert_eq!(ran.rows(), [row![at(0), "a", 20]], "{workers} worker(s), SQL");
    }
}

#[test]
fn string_literals_read_as_spark_sql_reads_them() {
    for escaped in [false, true] {
        let spark = Session::builder()
            .config("spark.sql.parser.escapedStringLiterals", escaped)
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
        spark
            .read_stream()
            .memory(&input)
            .create_or_replace_temp_view("lines");
        let df = spark
            .sql(
                r#"SELECT concat(value, 'it\'s', "a ""q""", ' \u0041\t|') AS s, length('\n') AS n,
                          value LIKE 'x\_%' AS under FROM lines"#,
            )
            .expect("plan");
        let ran = run_to_end(
            df.write_stream(),
            Feed::Epochs(&input, vec![vec![row!["x_"], row!["xy"]]]),
        );
        // By hand: the escapes give it's, a "q", " A<tab>|" and a newline of length 1; kept as
        // written, it\'s, the same "q" (a doubled quote is a quote either way), \u0041\t and
        // two characters. `x\_%` matches a literal underscore after x.
        let (tail, n) = if escaped {
            (r#"it\'sa "q" \u0041\t|"#, 2)
        } else {
            ("it'sa \"q\" A\t|", 1)
        };
        let expected = vec![
            row![format!("x_{tail}"), n, true],
            row![format!("xy{tail}"), n, false],
        ];
        assert_eq!(ran.rows(), expected, "escapedStringLiterals = {escaped}");
        let from_api = spark
            .read_stream()
            .memory(&input)
            .select_expr([r"length('\t') AS n"])
            .expect("plan");
        assert_eq!(from_api.schema().names(), ["n"]);
    }
}

#[test]
fn a_watermark_on_a_derived_column() {
    let schema = Schema::new([
        Field::new("word", DataType::String),
        Field::new("ms", DataType::Int64),
    ]);
    for workers in [1, 2] {
        let spark = session(workers);
        let input = MemoryStream::new(schema.clone());
        let counts = spark
            .read_stream()
            .memory(&input)
            .with_column("ts", (col("ms") / 1000).cast(DataType::Timestamp))
            .and_then(|df| df.with_watermark("ts", "2 seconds"))
            .and_then(|df| df.group_by([window(col("ts"), "10 seconds")]).count())
            .and_then(|df| df.select([col("window.end").cast(DataType::Int64).alias("end"), col("count")]))
            .expect("plan");
        // Epoch 0 reaches 12.5 s (watermark 10.5 s after it): the batch after it closes
        // [0, 10) with its two rows; a row at 3 s in epoch 1 is late for that window.
        let epochs = vec![
            vec![row!["a", 1_000], row!["b", 9_999], row!["c", 12_500]],
            vec![row!["d", 3_000], row!["e", 25_000]],
        ];
        let ran = run_to_end(
            counts.write_stream().output_mode("append"),
            Feed::Epochs(&input, epochs),
        );
        assert_eq!(ran.rows(), [row![10, 2], row![20, 1]], "{workers} worker(s)");
    }
}
