//! Spark's functions through SQL and the DataFrame API, over a stream, against values worked
//! out by hand from Spark's documentation (or, for digests, by Python's hashlib and zlib, and
//! for Murmur3 by a reference written here from the algorithm's description).

mod common;

use common::*;
use tidewater::data::Decimal;
use tidewater::prelude::*;

/// One input row: `s` text, `n` milliseconds, `x` a double; and a row of nulls.
fn input() -> (MemoryStream, Vec<Row>) {
    let stream = MemoryStream::new(Schema::new([
        Field::new("s", DataType::String),
        Field::new("n", DataType::Int64),
        Field::new("x", DataType::Float64),
    ]));
    // 2024-02-29 13:05:09 UTC is 1,709,211,909 s after the epoch (a Thursday, a leap day).
    let rows = vec![row!["2024-02-29 13:05:09", 1_709_211_909_000i64, 2.675]];
    (stream, rows)
}

/// Runs `SELECT <exprs> FROM t` over `rows` with `workers` workers and returns the one output
/// row.
fn sql_row(spark: &Session, exprs: &str, stream: &MemoryStream, rows: Vec<Row>) -> Row {
    spark
        .read_stream()
        .memory(stream)
        .create_or_replace_temp_view("t");
    let df = spark.sql(&format!("SELECT {exprs} FROM t")).expect("plans");
    let ran = run_to_end(df.write_stream(), Feed::Epochs(stream, vec![rows]));
    let mut out = ran.batch_rows().concat();
    assert_eq!(out.len(), 1, "one row out: {out:?}");
    out.remove(0)
}

fn text(v: &str) -> Value {
    Value::str(v)
}

#[test]
fn date_and_time_functions_in_sql() {
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let (stream, rows) = input();
        let row = sql_row(
            &spark,
            "to_timestamp(s) AS a, unix_seconds(timestamp_millis(n)) AS b,
             date_format(timestamp_millis(n), 'EEE, d MMM yyyy HH:mm') AS c,
             CAST(date_add(to_date(s), 1) AS STRING) AS d, dayofweek(to_date(s)) AS e,
             weekofyear(s) AS f, hour(to_timestamp(s)) AS g, from_unixtime(0) AS h,
             unix_timestamp('29/02/2024 13:05', 'dd/MM/yyyy HH:mm') AS i,
             datediff('2024-03-01', '2024-02-01') AS j, CAST(add_months('2024-01-31', 1) AS STRING) AS k,
             CAST(date_trunc('HOUR', to_timestamp(s)) AS STRING) AS l,
             CAST(to_timestamp(s) + INTERVAL '1' MINUTE AS STRING) AS m,
             CAST(to_timestamp(s) - INTERVAL 2 DAYS AS STRING) AS o,
             CAST(last_day('2023-02-10') AS STRING) AS p,
             months_between('1997-02-28 10:30:00', '1996-10-30') AS q,
             to_timestamp('2024-13-01') AS r, year(DATE '2024-02-29') AS u,
             CAST(to_timestamp('31.12.1969 23:59:59.999', 'dd.MM.yyyy HH:mm:ss.SSS') AS STRING) AS v",
            &stream,
            rows,
        );
        let expected = vec![
            Value::Timestamp(1_709_211_909_000_000),
            Value::Int(1_709_211_909),
            text("Thu, 29 Feb 2024 13:05"),
            text("2024-03-01"),
            Value::Int(5),
            Value::Int(9),
            Value::Int(13),
            text("1970-01-01 00:00:00"),
            Value::Int(1_709_211_900),
            Value::Int(29),
            text("2024-02-29"),
            text("2024-02-29 13:00:00"),
            text("2024-02-29 13:06:09"),
            text("2024-02-27 13:05:09"),
            text("2023-02-28"),
            Value::Float(3.94959677),
            Value::Null,
            Value::Int(2024),
            text("1969-12-31 23:59:59.999"),
        ];
        assert_eq!(row.values(), expected.as_slice(), "workers {workers}");
    }
}

#[test]
fn the_session_time_zone_reads_shows_and_splits_timestamps() {
    let spark = Session::builder()
        .config("spark.sql.session.timeZone", "America/Los_Angeles")
        .get_or_create()
        .expect("session");
    let (stream, rows) = input();
    // 13:05:09 UTC on 2024-02-29 is 05:05:09 in Los Angeles (UTC-8 in winter); text without a
    // zone is Los Angeles time.
    let row = sql_row(
        &spark,
        "hour(timestamp_millis(n)) AS a, CAST(timestamp_millis(n) AS STRING) AS b,
         unix_seconds(to_timestamp('2024-07-01 00:00:00')) AS c, date_format(timestamp_millis(n), 'HH:mm XXX') AS d",
        &stream,
        rows,
    );
    // 2024-07-01 00:00 in Los Angeles (UTC-7 in summer) is 07:00 UTC: 1,719,817,200.
    assert_eq!(
        row.values(),
        [
            Value::Int(5),
            text("2024-02-29 05:05:09"),
            Value::Int(1_719_817_200),
            text("05:05 -08:00")
        ]
    );
    let bad = Session::builder()
        .config("spark.sql.session.timeZone", "Mars/Olympus")
        .get_or_create();
    assert_eq!(bad.unwrap_err().code(), "INVALID_OPTION");
    // ANSI mode is accepted (tests/ansi.rs checks what it does).
    let ansi = Session::builder()
        .config("spark.sql.ansi.enabled", "true")
        .get_or_create();
    assert!(ansi.is_ok());
}

#[test]
fn string_json_array_and_conditional_functions_in_sql() {
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let (stream, rows) = input();
    let row = sql_row(
        &spark,
        r#"regexp_extract('id=42;x', 'id=([0-9]+)', 1) AS a, regexp_replace('a1b22', '[0-9]+', '#') AS b,
           lpad('7', 3, '0') AS c, initcap('hello wORLD') AS d, translate('AaBb', 'ab', 'x') AS e,
           concat_ws('-', 'a', NULL, 'b') AS f, format_number(1234567.891, 2) AS g, instr('ñandú', 'dú') AS h,
           left('Spark', 2) AS i, right('Spark', 3) AS j, reverse('añb') AS k, repeat('ab', 3) AS l,
           locate('b', 'abcb', 3) AS m, replace('a.b.c', '.', '') AS o, rlike('x1', '^x[0-9]$') AS p,
           get_json_object('{"a": {"b": [1, {"c": "x"}]}, "a": 2}', '$.a.b[1].c') AS q,
           from_json('{"a": 1, "b": {"c": "y"}, "b": {"c": "z"}}', 'a INT, b STRUCT<c: STRING>').b.c AS r,
           to_json(named_struct('a', 1, 'b', 'x', 'c', NULL)) AS u,
           size(split('a,b,c', ',')) AS v, element_at(split('a,b,c', ','), -1) AS w, split('a,b,c', ',')[0] AS y,
           array_contains(split('a,b', ','), 'b') AS z, element_at(split('a', ','), 5) AS z1,
           if(1 > 2, 'y', 'n') AS z2, nullif(1, 1) AS z3, nvl(NULL, 5) AS z4, greatest(1, 3.5, 2) AS z5,
           least(3, NULL, 2) AS z6, CAST(split('', ',') AS STRING) AS z7,
           nvl(CAST(NULL AS DOUBLE), 0) AS z8, coalesce(CAST(NULL AS DOUBLE), 1) AS z9,
           if(1 < 2, 1, 2.5D) AS z10"#,
        &stream,
        rows,
    );
    let expected = vec![
        text("42"),
        text("a#b#"),
        text("007"),
        text("Hello World"),
        text("AxB"),
        text("a-b"),
        text("1,234,567.89"),
        Value::Int(4),
        text("Sp"),
        text("ark"),
        text("bña"),
        text("ababab"),
        Value::Int(4),
        text("abc"),
        Value::Bool(true),
        // get_json_object keeps the first of duplicate keys, from_json the last.
        text("x"),
        text("z"),
        text(r#"{"a":1,"b":"x"}"#),
        Value::Int(3),
        text("c"),
        text("a"),
        Value::Bool(true),
        Value::Null,
        text("n"),
        Value::Null,
        Value::Int(5),
        // 3.5 is DECIMAL(2, 1): the common type of it and the integers is a decimal.
        Value::Decimal(Decimal::new(35, 1)),
        Value::Int(2),
        text("[]"),
        // A conditional's values take its common type, as Spark casts them: DOUBLE here
        // (Spark 4.3 gives 0.0 for `nvl(x, 0)` of a null DOUBLE `x`).
        Value::Float(0.0),
        Value::Float(1.0),
        Value::Float(1.0),
    ];
    assert_eq!(row.values(), expected.as_slice());
}

/// Spark's Murmur3 as its description reads: whole 32-bit little-endian words, then each
/// leftover byte alone as a sign-extended word; written apart from the engine's.
fn reference_murmur3(words: &[u32], tail: &[u8], len: u32, seed: u32) -> i32 {
    let mix = |h: u32, k: u32| -> u32 {
        let k = k
            .wrapping_mul(0xcc9e2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b873593);
        (h ^ k).rotate_left(13).wrapping_mul(5).wrapping_add(0xe6546b64)
    };
    let mut h = words.iter().fold(seed, |h, w| mix(h, *w));
    h = tail.iter().fold(h, |h, b| mix(h, *b as i8 as i32 as u32));
    h ^= len;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85ebca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2ae35);
    (h ^ (h >> 16)) as i32
}

fn reference_hash_bytes(b: &[u8], seed: i32) -> i32 {
    let words: Vec<u32> = b
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    reference_murmur3(&words, &b[words.len() * 4..], b.len() as u32, seed as u32)
}

fn reference_hash_long(l: i64, seed: i32) -> i32 {
    reference_murmur3(&[l as u32, (l >> 32) as u32], &[], 8, seed as u32)
}

#[test]
fn the_murmur3_reference_gives_sparks_documented_value() {
    // Spark's documentation: hash('Spark', array(123), 2) = -1321691492, where 123 and 2 are
    // INTs (one 4-byte word each).
    let h = reference_hash_bytes(b"Spark", 42);
    let h = reference_murmur3(&[123], &[], 4, h as u32);
    let h = reference_murmur3(&[2], &[], 4, h as u32);
    assert_eq!(h, -1_321_691_492);
}

#[test]
fn hashes_digests_math_and_casts_in_sql() {
    let spark = Session::builder().get_or_create().expect("session");
    let (stream, rows) = input();
    let row = sql_row(
        &spark,
        "md5('Spark') AS a, sha2('Spark', 256) AS b, crc32('Spark') AS c, hash('Spark') AS d,
         hash(s, n) AS e, hash(0.0D) = hash(-0.0D) AS f, hash(NULL) AS g,
         floor(-1.5) AS h, ceil(1.2) AS i, sqrt(16) AS j, pow(2, 10) AS k, ln(1) AS l, log10(1000) AS m,
         bround(2.5, 0) AS o, round(x, 2) AS p, pmod(-7, 3) AS q, ln(0) AS r,
         try_cast('3.7' AS BIGINT) AS u, CAST('3.7' AS BIGINT) AS v, CAST(1e10 AS STRING) AS w,
         CAST(to_timestamp('2024-01-01 00:00:00.25') AS STRING) AS y, try_cast('12345' AS TIMESTAMP) AS z,
         CAST(named_struct('a', 1.0, 'b', split('x,y', ',')) AS STRING) AS z1",
        &stream,
        rows,
    );
    let murmur_spark = reference_hash_bytes(b"Spark", 42);
    let murmur_row = reference_hash_long(
        1_709_211_909_000,
        reference_hash_bytes(b"2024-02-29 13:05:09", 42),
    );
    let expected = vec![
        text("8cde774d6f7333752ed72cacddb05126"),
        text("529bc3b07127ecb7e53a4dcf1991d9152c24537d919178022b2c42657f79a26b"),
        Value::Int(1_557_323_817),
        Value::Int(i64::from(murmur_spark)),
        Value::Int(i64::from(murmur_row)),
        Value::Bool(true),
        Value::Int(42),
        // -1.5 and 1.2 are DECIMAL(2, 1): floor and ceil give DECIMAL(2, 0).
        Value::Decimal(Decimal::new(-2, 0)),
        Value::Decimal(Decimal::new(2, 0)),
        Value::Float(4.0),
        Value::Float(1024.0),
        Value::Float(0.0),
        Value::Float(3.0),
        // bround of DECIMAL(2, 1) to 0 places: DECIMAL(2, 0), HALF_EVEN.
        Value::Decimal(Decimal::new(2, 0)),
        Value::Float(2.68),
        Value::Int(2),
        Value::Null,
        Value::Null,
        Value::Int(3),
        text("1.0E10"),
        text("2024-01-01 00:00:00.25"),
        // 12345-01-01 00:00:00 UTC: 10,375 years after 1970 with 2,516 leap days.
        Value::Timestamp((10_375 * 365 + 2_516) * 86_400 * 1_000_000),
        text("{1.0, [x, y]}"),
    ];
    assert_eq!(row.values(), expected.as_slice());
}

#[test]
fn the_dataframe_api_gives_what_sql_gives() {
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let (stream, rows) = input();
    let sql = sql_row(
        &spark,
        "date_format(to_timestamp(s), 'yyyy-MM-dd') AS a, regexp_extract(s, '([0-9]+)-', 1) AS b,
         hash(s) AS c, xxhash64(s, n) AS d, get_json_object('{\"k\": [5]}', '$.k[0]') AS e, bround(x, 2) AS f",
        &stream,
        rows.clone(),
    );
    let (stream, _) = input();
    let df = spark
        .read_stream()
        .memory(&stream)
        .select([
            date_format(to_timestamp(col("s")), "yyyy-MM-dd"),
            regexp_extract(col("s"), "([0-9]+)-", 1),
            hash([col("s")]),
            xxhash64([col("s"), col("n")]),
            get_json_object(lit(r#"{"k": [5]}"#), lit("$.k[0]")),
            bround(col("x"), 2),
        ])
        .expect("binds");
    let api = run_to_end(df.write_stream(), Feed::Epochs(&stream, vec![rows]))
        .batch_rows()
        .concat();
    assert_eq!(api, vec![sql.clone()]);
    assert_eq!(sql[0], text("2024-02-29"));
    assert_eq!(sql[1], text("2024"));
    assert_eq!(sql[4], text("5"));
    // 2.675 is a little under 2.675 in binary, and HALF_EVEN on the text "2.675" keeps 2.68
    // (the 7 is odd).
    assert_eq!(sql[5], Value::Float(2.68));
}

#[test]
fn wrong_argument_types_and_unknown_functions_are_errors_that_help() {
    let spark = Session::builder().get_or_create().expect("session");
    let (stream, _) = input();
    spark
        .read_stream()
        .memory(&stream)
        .create_or_replace_temp_view("t");
    let err = spark.sql("SELECT date_add(s, 'x') FROM t").unwrap_err();
    assert_eq!(err.code(), "DATATYPE_MISMATCH", "{err}");
    let err = spark.sql("SELECT size(s) FROM t").unwrap_err();
    assert_eq!(err.code(), "DATATYPE_MISMATCH", "{err}");
    let err = spark.sql("SELECT date_formt(s, 'yyyy') FROM t").unwrap_err();
    assert_eq!(err.code(), "INVALID_FUNCTION_CALL");
    assert!(err.to_string().contains("did you mean `date_format`?"), "{err}");
    let err = spark.sql("SELECT date_format(s, 'yyyy-bb') FROM t").unwrap_err();
    assert_eq!(err.code(), "INVALID_FUNCTION_CALL");
    let err = spark.sql("SELECT regexp_extract(s, '(', 1) FROM t").unwrap_err();
    assert_eq!(err.code(), "INVALID_FUNCTION_CALL");
    let df = spark.read_stream().memory(&stream);
    assert_eq!(
        df.select([sqrt(col("s").gt(1))]).unwrap_err().code(),
        "DATATYPE_MISMATCH"
    );
}

#[test]
fn aggregates_give_the_same_results_on_any_number_of_workers() {
    for workers in [1, 2, 4] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let stream = MemoryStream::new(Schema::new([
            Field::new("k", DataType::String),
            Field::new("v", DataType::Int64),
            Field::new("name", DataType::String),
        ]));
        spark
            .read_stream()
            .memory(&stream)
            .create_or_replace_temp_view("t");
        let df = spark
            .sql(
                "SELECT k, collect_list(v) AS l, collect_set(v) AS s, approx_count_distinct(v) AS d,
                        stddev(v) AS sd, variance(v) AS var, var_pop(v) AS vp, count_if(v > 2) AS c,
                        max_by(name, v) AS mx, min_by(name, v) AS mn
                 FROM t GROUP BY k",
            )
            .expect("plans");
        let epochs = vec![
            vec![row!["a", 2, "two"], row!["a", 4, "four"], row!["b", 7, "seven"]],
            vec![
                row!["a", 4, "four again"],
                row!["a", 5, "five"],
                row!["a", None::<i64>, "none"],
            ],
        ];
        let ran = run_to_end(
            df.write_stream().output_mode("complete"),
            Feed::Epochs(&stream, epochs),
        );
        let last = ran.batch_rows().pop().expect("batches");
        let ints = |v: &[i64]| Value::Array(v.iter().map(|i| Value::Int(*i)).collect());
        // a: 2, 4, 4, 5 (mean 3.75; squares of deviations 3.0625 + 0.0625 + 0.0625 + 1.5625 =
        // 4.75); b: 7 alone (no sample variance).
        let a = row![
            "a",
            ints(&[2, 4, 4, 5]),
            ints(&[2, 4, 5]),
            3,
            (4.75f64 / 3.0).sqrt(),
            4.75 / 3.0,
            4.75 / 4.0,
            3,
            "five",
            "two"
        ];
        let b = row![
            "b",
            ints(&[7]),
            ints(&[7]),
            1,
            Value::Null,
            Value::Null,
            0.0,
            1,
            "seven",
            "seven"
        ];
        assert_eq!(last, vec![a, b], "workers {workers}");
    }
}

/// Spark's `a DIV b`: integer division truncating toward zero, null for a zero divisor, with the
/// precedence of `*` and `/`; `div` stays usable as a name.
#[test]
fn div_divides_integers_in_sql() {
    let spark = Session::builder().get_or_create().expect("session");
    let (stream, rows) = input();
    let row = sql_row(
        &spark,
        "7 DIV 2 AS a, -7 div 2 AS b, n DIV 1000 AS c, 7 DIV 0 AS d, 1 + 7 DIV 2 * 2 AS e,
         (n + 1000) DIV (2 - 1) AS f, n AS div",
        &stream,
        rows,
    );
    let n = 1_709_211_909_000i64;
    let expected = vec![
        Value::Int(3),
        Value::Int(-3),
        Value::Int(1_709_211_909),
        Value::Null,
        // (7 DIV 2) * 2 = 6, then 1 + 6.
        Value::Int(7),
        Value::Int(n + 1000),
        Value::Int(n),
    ];
    assert_eq!(row.values(), expected.as_slice());
}

/// `current_timestamp()`, `now()` and `current_date()` are the epoch's batch time, the same
/// for every row of an epoch, as in Spark; the manual clock sets it. The session time zone is
/// -08:00, so the date of 2026-01-01T00:00:05Z is 2025-12-31 (day 20453).
#[test]
fn current_timestamp_is_the_batch_time_of_each_epoch() {
    // 2026-01-01T00:00:05Z: day 20454 (56 years and 14 leap days after 1970), plus 5 s.
    let t0_ms = 20_454 * 86_400_000 + 5_000;
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .config("spark.sql.session.timeZone", "-08:00")
            .get_or_create()
            .expect("session");
        for api in [false, true] {
            // A stream of its own per query: a memory stream keeps every row it was given.
            let stream = MemoryStream::new(Schema::new([Field::new("k", DataType::String)]));
            let df = spark.read_stream().memory(&stream);
            let query = if api {
                df.select([col("k"), current_timestamp(), now(), current_date()])
            } else {
                df.select_expr(["k", "CURRENT_TIMESTAMP AS a", "now() AS b", "current_date AS c"])
            }
            .expect("plan");
            let clock = ManualClock::new(t0_ms);
            let collected = Collected::default();
            let started = collected
                .attach(query.write_stream().processing_clock(clock.clone()))
                .start()
                .expect("start");
            stream.add_data(vec![row!["a"], row!["b"]]);
            started.process_all_available().expect("epoch 0");
            clock.advance(std::time::Duration::from_millis(1_500));
            stream.add_data(vec![row!["c"]]);
            started.process_all_available().expect("epoch 1");
            started.stop().expect("stop");
            let at = |ms: i64| Value::Timestamp(ms * 1000);
            let mut batches = collected.batches();
            batches.iter_mut().for_each(|(_, rows)| rows.sort());
            assert_eq!(
                batches,
                vec![
                    (
                        0,
                        vec![
                            row!["a", at(t0_ms), at(t0_ms), Value::Date(20_453)],
                            row!["b", at(t0_ms), at(t0_ms), Value::Date(20_453)]
                        ]
                    ),
                    (
                        1,
                        vec![row![
                            "c",
                            at(t0_ms + 1_500),
                            at(t0_ms + 1_500),
                            Value::Date(20_453)
                        ]]
                    ),
                ],
                "{workers} worker(s), api {api}"
            );
        }
    }
}

/// An epoch run again after a restart sees the batch time its offsets log recorded, not the
/// clock's time at the restart.
#[test]
fn a_replayed_epoch_sees_its_logged_batch_time() {
    let t0_ms = 20_454 * 86_400_000 + 5_000;
    for workers in [1, 2] {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in");
        std::fs::create_dir(&input).expect("mkdir");
        std::fs::write(input.join("a.txt"), "a\nb\n").expect("write");
        let checkpoint = dir.path().join("checkpoint");
        let run = |clock_ms: i64| {
            let spark = Session::builder()
                .workers(workers)
                .get_or_create()
                .expect("session");
            let df = spark
                .read_stream()
                .text(input.to_str().expect("path"))
                .and_then(|df| df.select_expr(["value", "current_timestamp() AS ts"]))
                .expect("plan");
            let writer = df
                .write_stream()
                .option("checkpointLocation", checkpoint.display())
                .processing_clock(ManualClock::new(clock_ms))
                .trigger(Trigger::available_now());
            run_to_end(writer, Feed::Nothing).rows()
        };
        let at = Value::Timestamp(t0_ms * 1000);
        let expected = vec![row!["a", at.clone()], row!["b", at]];
        assert_eq!(run(t0_ms), expected, "{workers} worker(s)");
        // As if the query died after logging epoch 0's offsets and before committing it.
        std::fs::remove_file(checkpoint.join("commits").join("0")).expect("uncommit");
        assert_eq!(run(t0_ms + 3_600_000), expected, "{workers} worker(s), replayed");
    }
}

/// `first` and `last` (with and without ignoring nulls) go by arrival order: the epoch, and
/// within an epoch the value (the smallest first, nulls first), so the answer is the same for
/// any number of workers. Worked out by hand for three epochs; complete mode shows every key.
#[test]
fn first_and_last_follow_the_epochs_in_which_values_arrive() {
    let epochs = || {
        vec![
            vec![row!["a", Value::Null], row!["a", 5], row!["b", 3]],
            vec![row!["a", 2], row!["a", Value::Null], row!["b", Value::Null]],
            vec![row!["a", 9]],
        ]
    };
    let null = Value::Null;
    // k, first(v), last(v), first(v, true), last(v, true)
    let expected = vec![
        (
            0,
            vec![
                // a: epoch 0 holds NULL and 5; first takes the smallest (NULL), last the largest.
                row!["a", null.clone(), 5, 5, 5],
                row!["b", 3, 3, 3, 3],
            ],
        ),
        (
            1,
            vec![
                // a: epoch 1 holds 2 and NULL: last is 2; the first stay epoch 0's.
                row!["a", null.clone(), 2, 5, 2],
                // b: epoch 1 holds only NULL: last is NULL, last ignoring nulls is still 3.
                row!["b", 3, null.clone(), 3, 3],
            ],
        ),
        (
            2,
            vec![row!["a", null.clone(), 9, 5, 9], row!["b", 3, null, 3, 3]],
        ),
    ];
    for workers in [1, 2] {
        for api in [false, true] {
            let spark = Session::builder()
                .workers(workers)
                .get_or_create()
                .expect("session");
            let stream = MemoryStream::new(Schema::new([
                Field::new("k", DataType::String),
                Field::new("v", DataType::Int64),
            ]));
            let df = spark.read_stream().memory(&stream);
            let query = if api {
                df.group_by([col("k")]).agg([
                    first(col("v")),
                    last(col("v")),
                    first_ignore_nulls(col("v")),
                    last_ignore_nulls(col("v")),
                ])
            } else {
                df.create_or_replace_temp_view("t");
                spark.sql("SELECT k, first(v), last_value(v), first(v, true), last(v) IGNORE NULLS FROM t GROUP BY k")
            }
            .expect("plan");
            let ran = run_to_end(
                query.write_stream().output_mode("complete"),
                Feed::Epochs(&stream, epochs()),
            );
            let mut batches = ran.batches();
            batches.iter_mut().for_each(|(_, rows)| rows.sort());
            assert_eq!(batches, expected, "{workers} worker(s), api {api}");
        }
    }
}

#[test]
fn split_takes_spark_s_limit() {
    // Checked against PySpark 4.3: a positive limit keeps that many pieces, the last holding
    // the rest; 0 or less keeps every piece, trailing empty ones too.
    let spark = Session::builder().get_or_create().expect("session");
    let (stream, rows) = input();
    let row = sql_row(
        &spark,
        "split('a,b,c', ',', 2) AS a, split('a,b,,', ',', 0) AS b, split('abc', '', 2) AS c, \
         split('a1b22c', '[0-9]+', 2) AS d, split('a,b,c', ',', 1) AS e, split('a b', ' ', 5) AS f",
        &stream,
        rows,
    );
    let array = |items: &[&str]| Value::Array(items.iter().map(|s| text(s)).collect::<Vec<_>>().into());
    assert_eq!(
        row.values(),
        [
            array(&["a", "b,c"]),
            array(&["a", "b", "", ""]),
            array(&["a", "bc"]),
            array(&["a", "b22c"]),
            array(&["a,b,c"]),
            array(&["a", "b"]),
        ]
    );
    // Spark names `split` with its limit, -1 when none is given.
    spark
        .read_stream()
        .memory(&MemoryStream::new(Schema::new([Field::new(
            "value",
            DataType::String,
        )])))
        .create_or_replace_temp_view("lines");
    let names = spark
        .sql("SELECT split(value, ' '), split(value, ' ', 2) FROM lines")
        .expect("plans")
        .schema()
        .names();
    assert_eq!(names, ["split(value,  , -1)", "split(value,  , 2)"]);
}

#[test]
fn octet_and_bit_length_count_the_utf8() {
    // 'héllo' is five characters in six bytes (é takes two), as PySpark 4.3 counts them.
    let spark = Session::builder().get_or_create().expect("session");
    let (stream, rows) = input();
    let row = sql_row(
        &spark,
        "length('héllo') AS c, octet_length('héllo') AS o, bit_length('héllo') AS b, octet_length(CAST(NULL AS STRING)) AS n",
        &stream,
        rows,
    );
    assert_eq!(
        row.values(),
        [Value::Int(5), Value::Int(6), Value::Int(48), Value::Null]
    );
}
