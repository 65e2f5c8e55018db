//! `r.c` in SQL over a join finds relation `r`'s column `c` when several relations have a `c`,
//! as Spark resolves qualified names. The expected rows are worked out by hand from the inputs
//! below; each query runs on 1, 2 and 4 workers.

mod common;

use std::io::Write;
use std::path::Path;

use common::{run_to_end, Feed};
use tidewater::prelude::*;

/// Auctions `(id, seller, name)`: both `id` and `name` are also columns of `person`.
fn auctions() -> Vec<Row> {
    vec![
        Row::from(vec![Value::Int(1), Value::Int(10), Value::str("lamp")]),
        Row::from(vec![Value::Int(2), Value::Int(20), Value::str("sofa")]),
        Row::from(vec![Value::Int(3), Value::Int(10), Value::str("alice")]),
        Row::from(vec![Value::Int(4), Value::Int(99), Value::str("desk")]),
    ]
}

/// The `person` table `(id, name)`.
const PEOPLE: &str = "id,name\n10,alice\n20,bob\n";

/// A session on `workers` workers, the stream `auction` (fed through the returned
/// `MemoryStream`) and the table `person` (read from `dir`), as DataFrames.
fn auction_and_person(workers: usize, dir: &Path) -> (Session, MemoryStream, DataFrame, DataFrame) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(Schema::new([
        Field::new("id", DataType::Int64),
        Field::new("seller", DataType::Int64),
        Field::new("name", DataType::String),
    ]));
    let auction = spark.read_stream().memory(&input);
    let person = spark
        .read()
        .schema(Schema::new([
            Field::new("id", DataType::Int64),
            Field::new("name", DataType::String),
        ]))
        .option("header", true)
        .csv(dir.join("people.csv").to_str().expect("path"))
        .expect("table");
    (spark, input, auction, person)
}

/// [`auction_and_person`], named `auction` and `person` for SQL.
fn auction_and_person_views(workers: usize, dir: &Path) -> (Session, MemoryStream) {
    let (spark, input, auction, person) = auction_and_person(workers, dir);
    auction.create_or_replace_temp_view("auction");
    person.create_or_replace_temp_view("person");
    (spark, input)
}

/// Runs `sql` over the stream `auction` and the table `person` on `workers` workers, one epoch
/// of [`auctions`], and returns the output column names and every row written, sorted.
fn run(sql: &str, workers: usize, dir: &Path) -> (Vec<String>, Vec<Row>) {
    let (spark, input) = auction_and_person_views(workers, dir);
    let result = spark.sql(sql).expect("the query plans");
    let names = result.schema().names();
    // One epoch: an aggregation's complete output is its rows once.
    let mode = if sql.contains("GROUP BY") {
        "complete"
    } else {
        "append"
    };
    let ran = run_to_end(
        result.write_stream().output_mode(mode),
        Feed::Epochs(&input, vec![auctions()]),
    );
    (names, ran.rows())
}

/// Rows of two streams: a key and a time, in seconds.
type Events = Vec<(i64, i64)>;

/// Runs `sql` in append mode over two streams of `(key, ts)` named `views`, each `ts` under a
/// watermark of `delay`, on `workers` workers, fed `epochs` of rows for each; returns every row
/// written, sorted.
fn two_streams(
    workers: usize,
    key: &str,
    views: [&str; 2],
    delay: &str,
    sql: &str,
    epochs: &[(Events, Events)],
) -> Vec<Row> {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let schema = || {
        Schema::new([
            Field::new(key, DataType::Int64),
            Field::new("ts", DataType::Timestamp),
        ])
    };
    let (left, right) = (MemoryStream::new(schema()), MemoryStream::new(schema()));
    for (stream, view) in [(&left, views[0]), (&right, views[1])] {
        spark
            .read_stream()
            .memory(stream)
            .with_watermark("ts", delay)
            .expect("watermark")
            .create_or_replace_temp_view(view);
    }
    let result = spark.sql(sql).expect("the query plans");
    let collected = common::Collected::default();
    let query = collected
        .attach(result.write_stream().output_mode("append"))
        .start()
        .expect("the query starts in append mode");
    let rows = |events: &Events| -> Vec<Row> {
        events
            .iter()
            .map(|&(k, s)| Row::from(vec![Value::Int(k), second(s)]))
            .collect()
    };
    for (left_events, right_events) in epochs {
        left.add_data(rows(left_events));
        right.add_data(rows(right_events));
        query.process_all_available().expect("the epoch runs");
    }
    left.end();
    right.end();
    common::await_within(&query, "the join").expect("the query succeeds");
    let mut written: Vec<Row> = collected
        .batches()
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .collect();
    written.sort();
    written
}

fn second(s: i64) -> Value {
    Value::Timestamp(s * 1_000_000)
}

fn people_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut file = std::fs::File::create(dir.path().join("people.csv")).expect("people.csv");
    file.write_all(PEOPLE.as_bytes()).expect("people.csv");
    dir
}

fn row(values: Vec<Value>) -> Row {
    Row::from(values)
}

#[test]
fn each_side_of_a_join_answers_for_its_own_columns() {
    let dir = people_dir();
    // Auction 4's seller (99) is nobody: an inner join drops it.
    let expected = vec![
        row(vec![
            Value::Int(1),
            Value::Int(10),
            Value::str("lamp"),
            Value::str("alice"),
        ]),
        row(vec![
            Value::Int(2),
            Value::Int(20),
            Value::str("sofa"),
            Value::str("bob"),
        ]),
        row(vec![
            Value::Int(3),
            Value::Int(10),
            Value::str("alice"),
            Value::str("alice"),
        ]),
    ];
    for workers in [1, 2, 4] {
        let (names, rows) = run(
            "SELECT A.id, P.id, A.name, P.name AS who FROM auction A JOIN person P ON A.seller = P.id",
            workers,
            dir.path(),
        );
        // Spark names a qualified column by its own name.
        assert_eq!(names, ["id", "id", "name", "who"], "{workers} worker(s)");
        assert_eq!(rows, expected, "{workers} worker(s)");
        // The condition written the other way round pairs the same columns.
        let (_, rows) = run(
            "SELECT A.id, P.id, A.name, P.name AS who FROM auction A JOIN person P ON P.id = A.seller",
            workers,
            dir.path(),
        );
        assert_eq!(rows, expected, "{workers} worker(s), the condition turned");
    }
}

#[test]
fn a_condition_on_a_name_both_sides_have_compares_the_two_sides() {
    let dir = people_dir();
    // Only auction 3 is named after its seller.
    for workers in [1, 2, 4] {
        for condition in [
            "P.id = A.seller AND P.name = A.name",
            "A.name = P.name AND A.seller = P.id",
        ] {
            let (_, rows) = run(
                &format!("SELECT A.id, P.name FROM auction A JOIN person P ON {condition}"),
                workers,
                dir.path(),
            );
            assert_eq!(
                rows,
                vec![row(vec![Value::Int(3), Value::str("alice")])],
                "{condition}, {workers} worker(s)"
            );
        }
        // A LEFT join keeps the others, with the right side's columns null.
        let (_, rows) = run(
            "SELECT A.id, P.id FROM auction AS A LEFT JOIN person AS P \
             ON P.id = A.seller AND P.name = A.name",
            workers,
            dir.path(),
        );
        assert_eq!(
            rows,
            vec![
                row(vec![Value::Int(1), Value::Null]),
                row(vec![Value::Int(2), Value::Null]),
                row(vec![Value::Int(3), Value::Int(10)]),
                row(vec![Value::Int(4), Value::Null]),
            ],
            "LEFT JOIN, {workers} worker(s)"
        );
    }
}

#[test]
fn where_star_and_group_by_read_the_qualified_side() {
    let dir = people_dir();
    for workers in [1, 2, 4] {
        // `*` keeps both copies of a shared name, each under its own name.
        let (names, rows) = run(
            "SELECT * FROM auction A JOIN person P ON A.seller = P.id WHERE P.name = 'alice'",
            workers,
            dir.path(),
        );
        assert_eq!(names, ["id", "seller", "name", "id", "name"]);
        assert_eq!(
            rows,
            vec![
                row(vec![
                    Value::Int(1),
                    Value::Int(10),
                    Value::str("lamp"),
                    Value::Int(10),
                    Value::str("alice")
                ]),
                row(vec![
                    Value::Int(3),
                    Value::Int(10),
                    Value::str("alice"),
                    Value::Int(10),
                    Value::str("alice")
                ]),
            ],
            "{workers} worker(s)"
        );
        let (names, rows) = run(
            "SELECT P.name, count(*) AS auctions, max(A.id) AS last \
             FROM auction A JOIN person P ON A.seller = P.id GROUP BY P.name",
            workers,
            dir.path(),
        );
        assert_eq!(names, ["name", "auctions", "last"]);
        assert_eq!(
            rows,
            vec![
                row(vec![Value::str("alice"), Value::Int(2), Value::Int(3)]),
                row(vec![Value::str("bob"), Value::Int(1), Value::Int(2)]),
            ],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_relation_that_lacks_the_column_is_an_error_not_the_other_side() {
    let dir = people_dir();
    let (spark, _input) = auction_and_person_views(1, dir.path());
    // `person` has no `seller`; `P.seller` must not read the auction's.
    let error = spark
        .sql("SELECT P.seller, P.id FROM auction A JOIN person P ON A.seller = P.id")
        .err()
        .map(|e| e.to_string());
    assert!(
        error.as_deref().is_some_and(|e| e.contains("seller")),
        "{error:?}"
    );
}

#[test]
fn two_streams_with_the_same_event_time_name_join_on_their_own_times() {
    for workers in [1, 2, 4] {
        // Ad 1's click comes 30 s after its impression; ad 2's 90 s after, out of range; ad 3's
        // 5 s before its impression. Were both `ts` the impression's, every pair would match.
        let rows = two_streams(
            workers,
            "ad",
            ["impressions", "clicks"],
            "10 seconds",
            "SELECT i.ad, i.ts, c.ts AS clicked FROM impressions i JOIN clicks c \
             ON i.ad = c.ad AND c.ts BETWEEN i.ts AND i.ts + INTERVAL 1 MINUTE",
            &[(
                vec![(1, 100), (2, 100), (3, 100)],
                vec![(1, 130), (2, 190), (3, 95)],
            )],
        );
        assert_eq!(
            rows,
            vec![Row::from(vec![Value::Int(1), second(100), second(130)])],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_bare_name_both_sides_have_is_ambiguous_as_in_spark() {
    let dir = people_dir();
    let (spark, _input) = auction_and_person_views(1, dir.path());
    for sql in [
        "SELECT name FROM auction A JOIN person P ON A.seller = P.id",
        "SELECT A.id FROM auction A JOIN person P ON A.seller = P.id WHERE name = 'bob'",
        "SELECT A.id FROM auction A JOIN person P ON seller = id",
    ] {
        let Err(error) = spark.sql(sql) else {
            panic!("{sql} was not refused");
        };
        assert_eq!(error.code(), "AMBIGUOUS_REFERENCE", "{sql}: {error}");
        let text = error.to_string();
        assert!(text.contains("A.") && text.contains("P."), "{sql}: {text}");
    }
    // `USING` keeps one copy of its key: the bare name is that copy.
    assert!(spark
        .sql("SELECT id, P.name FROM auction A JOIN person P USING (id)")
        .is_ok());
}

#[test]
fn dataframe_aliases_tell_apart_the_columns_both_sides_have() {
    let dir = people_dir();
    for workers in [1, 2, 4] {
        let (_spark, input, auction, person) = auction_and_person(workers, dir.path());
        use tidewater::functions::col;
        let joined = auction
            .alias("a")
            .join_expr(&person.alias("p"), col("a.seller").eq(col("p.id")), "inner")
            .expect("the join plans")
            .select([col("a.id"), col("p.id"), col("p.name").alias("who")])
            .expect("the columns resolve");
        assert_eq!(joined.schema().names(), ["id", "id", "who"]);
        let ran = run_to_end(joined.write_stream(), Feed::Epochs(&input, vec![auctions()]));
        assert_eq!(
            ran.rows(),
            vec![
                row(vec![Value::Int(1), Value::Int(10), Value::str("alice")]),
                row(vec![Value::Int(2), Value::Int(20), Value::str("bob")]),
                row(vec![Value::Int(3), Value::Int(10), Value::str("alice")]),
            ],
            "{workers} worker(s)"
        );
    }
}

/// Nexmark q8's shape: a join of two streams on a key and a window of each side's `ts`, then
/// the windows grouped in append mode, with every `ts` qualified.
#[test]
fn a_window_of_a_qualified_event_time_closes_in_append_mode() {
    for workers in [1, 2] {
        let rows = two_streams(
            workers,
            "id",
            ["person", "auction"],
            "1 second",
            "SELECT P.id, window.start AS start, count(*) AS n FROM person P JOIN auction A \
             ON P.id = A.id AND window(P.ts, '10 seconds') = window(A.ts, '10 seconds') \
             GROUP BY window(P.ts, '10 seconds'), P.id",
            &[
                // Person 1 registers at 2 s and sells at 5 s and 8 s: two pairs in window
                // [0, 10). Person 2 registers at 3 s but sells at 12 s, in the next window.
                (vec![(1, 2), (2, 3)], vec![(1, 5), (1, 8), (2, 12)]),
                // Time moves past 11 s on both sides: window [0, 10) closes.
                (vec![(9, 30)], vec![(9, 30)]),
            ],
        );
        assert!(
            rows.contains(&Row::from(vec![Value::Int(1), second(0), Value::Int(2)])),
            "{workers} worker(s): {rows:?}"
        );
        assert!(
            rows.iter().all(|r| r.values()[0] != Value::Int(2)),
            "{workers} worker(s): {rows:?}"
        );
    }
}

#[test]
fn a_column_called_user_is_a_column_as_in_spark() {
    // sqlparser reads `user` as SQL's user function; Spark (outside ANSI's reserved keywords)
    // takes the column first.
    for workers in [1, 2, 4] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(Schema::new([
            Field::new("user", DataType::String),
            Field::new("n", DataType::Int64),
        ]));
        spark
            .read_stream()
            .memory(&input)
            .create_or_replace_temp_view("clicks");
        let result = spark
            .sql("SELECT user, c.user AS again, upper(user) AS loud FROM clicks c WHERE user <> 'bot'")
            .expect("the query plans");
        assert_eq!(result.schema().names(), ["user", "again", "loud"]);
        let ran = run_to_end(
            result.write_stream().output_mode("append"),
            Feed::Epochs(
                &input,
                vec![vec![
                    row(vec![Value::str("ann"), Value::Int(1)]),
                    row(vec![Value::str("bot"), Value::Int(2)]),
                ]],
            ),
        );
        assert_eq!(
            ran.rows(),
            [row(vec![Value::str("ann"), Value::str("ann"), Value::str("ANN")])],
            "{workers} worker(s)"
        );
    }
}
