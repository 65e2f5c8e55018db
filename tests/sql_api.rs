//! SQL through the library: several queries of one script running together, and
//! `spark.sql(..)` over temporary views.

mod common;

use std::fs;

use common::*;
use tidewater::prelude::*;
use tidewater::session::ScriptDefaults;

#[test]
fn several_inserts_run_concurrently_on_the_same_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    let lines = word_lines(17, 200);
    fs::write(input.join("words.txt"), lines.join("\n") + "\n").expect("write");
    let script = format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}');
         CREATE SINK counts USING memory OPTIONS (outputMode 'complete');
         CREATE SINK long_lines USING memory;
         INSERT INTO counts
           SELECT word, count(*) AS count FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
         INSERT INTO long_lines SELECT value FROM lines WHERE length(value) > 40;",
        input.display()
    );
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let defaults = ScriptDefaults {
        trigger: Some(Trigger::available_now()),
        ..ScriptDefaults::default()
    };
    let queries = spark.run_script(&script, &defaults).expect("script starts");
    assert_eq!(queries.len(), 2);
    for query in &queries {
        await_within(query, "script query").expect("finishes");
    }
    let counts = spark.memory_table("counts").expect("counts table").rows();
    assert_eq!(counts_of(&counts), reference_counts(&lines));
    let mut long: Vec<String> = lines.iter().filter(|l| l.chars().count() > 40).cloned().collect();
    long.sort();
    let got: Vec<String> = spark
        .memory_table("long_lines")
        .expect("long table")
        .rows()
        .iter()
        .map(|r| r[0].as_str().expect("string").to_string())
        .collect();
    assert_eq!(got, long);
}

#[test]
fn spark_sql_over_a_temp_view() {
    let input = MemoryStream::new(Schema::new([
        Field::new("k", DataType::String),
        Field::new("v", DataType::Int64),
    ]));
    let spark = Session::builder().get_or_create().expect("session");
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("events");
    let totals = spark
        .sql("SELECT upper(k) AS key, sum(v) AS total FROM events WHERE v > 0 GROUP BY upper(k)")
        .expect("plans");
    assert_eq!(totals.schema().names(), ["key", "total"]);
    let epoch = vec![row!["a", 1], row!["A", 2], row!["b", -5], row!["b", 3]];
    let ran = run_to_end(
        totals.write_stream().output_mode("update"),
        Feed::Epochs(&input, vec![epoch]),
    );
    // By hand: a and A group together (1 + 2); b's -5 is filtered out.
    assert_eq!(ran.batches(), vec![(0, vec![row!["A", 3], row!["B", 3]])]);
    let err = spark.sql("SELECT nope FROM events").unwrap_err();
    assert_eq!(err.code(), "UNRESOLVED_COLUMN");
    assert!(err.to_string().contains("at line 1, column 8"), "{err}");
}
