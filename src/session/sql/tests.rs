//! `explain` names the operators that run: for each query, the strategies `explain` describes
//! are those that compiling the query builds, and both are the ones written down by hand here.

use std::path::Path;

use super::*;
use crate::compile::{compile, described_strategies, Compiled, Settings, Strategy};
use crate::connectors::memory::MemoryStream;
use crate::data::{DataType, Field, Schema};

use Strategy::*;

/// The strategies that compiling `plan` under `settings` builds, on one worker.
fn built(plan: Arc<LogicalPlan>, settings: Settings) -> Vec<Strategy> {
    timely::execute_directly(move |worker| {
        worker.dataflow::<u64, _, _>(|scope| {
            let mut compiled = Compiled::new(&plan, settings);
            compile(&plan, scope, &mut compiled);
            std::mem::take(&mut compiled.strategies)
        })
    })
}

/// The strategies of the last query of `script`, after checking that `explain` names the
/// ones that compiling it builds, in the order it builds them.
fn strategies(spark: &Session, script: &str) -> Vec<Strategy> {
    let defaults = ScriptDefaults::default();
    let text = spark.explain_script(script, &defaults).expect("explains");
    let query = spark
        .plan_script(script, &defaults)
        .expect("plans")
        .pop()
        .expect("a query");
    let plan = query.writer.plan().clone();
    let spec = query.prepare().expect("prepares");
    let settings = Settings {
        output_mode: spec.mode,
        broadcast_threshold: spec.broadcast_threshold,
        join_state_format: Default::default(),
    };
    let explained = described_strategies(&plan, settings);
    assert_eq!(explained, built(plan, settings), "{text}");
    // The text names each of them, in order, in the query's dataflow.
    let dataflow = text
        .rsplit("== Dataflow (every worker) ==")
        .next()
        .expect("a dataflow");
    let mut rest = dataflow;
    for strategy in &explained {
        let name = strategy.to_string();
        let at = rest
            .find(&name)
            .unwrap_or_else(|| panic!("`{name}` is not named in order in\n{text}"));
        rest = &rest[at + name.len()..];
    }
    explained
}

fn session(threshold: &str) -> Session {
    Session::builder()
        .config("spark.sql.autoBroadcastJoinThreshold", threshold)
        .get_or_create()
        .expect("session")
}

/// A users table, a socket stream of transactions, and a directory for a file stream.
fn sources(dir: &Path) -> String {
    let users = dir.join("users.csv");
    std::fs::write(&users, "user_id,country\n1,NO\n2,IT\n").expect("write");
    let clicks = dir.join("clicks");
    std::fs::create_dir_all(&clicks).expect("mkdir");
    format!(
        "CREATE STREAM t (user_id BIGINT, amount BIGINT) USING socket OPTIONS (host 'localhost', port '9');
         CREATE TABLE u (user_id BIGINT, country STRING) USING csv OPTIONS (path '{}', header 'true');
         CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
           USING csv OPTIONS (path '{}', header 'true');
         CREATE STREAM lines USING socket OPTIONS (host 'localhost', port '9');
         CREATE STREAM flights (airport STRING, delay BIGINT) USING socket OPTIONS (host 'localhost', port '9');
         CREATE STREAMING TABLE weather (airport STRING, condition STRING, PRIMARY KEY (airport))
           USING socket OPTIONS (host 'localhost', port '9');
        ",
        users.display(),
        clicks.display()
    )
}

#[test]
fn explain_names_the_strategies_that_compile_builds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path());
    let windowed = |mode: &str| {
        format!(
            "CREATE SINK out USING console OPTIONS (outputMode '{mode}');
             INSERT INTO out
             SELECT window(ts, '10 seconds') AS window, page, count(*) AS clicks
             FROM clicks GROUP BY window(ts, '10 seconds'), page;"
        )
    };
    let cases: Vec<(&str, String, Vec<Strategy>)> = vec![
        (
            "10m",
            "SELECT word, count(*) AS count
             FROM (SELECT explode(split(value, ' ')) AS word FROM lines) w GROUP BY word;"
                .into(),
            vec![StreamedRows, PieceCount],
        ),
        (
            "10m",
            windowed("append"),
            vec![PartitionedItems, WatermarkTracked, WindowStartFold],
        ),
        (
            "10m",
            windowed("update"),
            vec![PartitionedItems, WatermarkTracked, WindowStartFold],
        ),
        // Grouped by the window after another key: the general expiring fold.
        (
            "10m",
            "CREATE SINK out USING console OPTIONS (outputMode 'append');
             INSERT INTO out
             SELECT page, window(ts, '10 seconds') AS window, count(*) AS clicks
             FROM clicks GROUP BY page, window(ts, '10 seconds');"
                .into(),
            vec![PartitionedItems, WatermarkTracked, ExpiringFold],
        ),
        // Complete mode writes every window every epoch: none is forgotten, and no row is late.
        // Each row still goes into its windows' groups by their start, the window first among
        // the keys or not.
        (
            "10m",
            windowed("complete"),
            vec![PartitionedItems, WatermarkTracked, WindowStartKeptFold],
        ),
        (
            "10m",
            "CREATE SINK out USING console OPTIONS (outputMode 'complete');
             INSERT INTO out
             SELECT page, window(ts, '10 seconds') AS window, count(*) AS clicks
             FROM clicks GROUP BY page, window(ts, '10 seconds');"
                .into(),
            vec![PartitionedItems, WatermarkTracked, WindowStartKeptFold],
        ),
        (
            "10m",
            "SELECT country, sum(amount) AS total FROM t JOIN u USING (user_id) GROUP BY country;".into(),
            vec![
                StreamedRows,
                PartitionsOnEveryWorker,
                BroadcastJoin,
                GroupedByTable { integer: true },
            ],
        ),
        (
            "-1",
            "SELECT country, sum(amount) AS total FROM t JOIN u USING (user_id) GROUP BY country;".into(),
            vec![StreamedRows, PartitionedItems, LookupJoin, AppendOnlyFold],
        ),
        (
            "10m",
            "SELECT user_id, sum(amount) AS total FROM t JOIN u USING (user_id) GROUP BY user_id;".into(),
            vec![StreamedRows, PartitionsOnEveryWorker, BroadcastJoin, ColumnFold],
        ),
        (
            "10m",
            "SELECT upper(country) AS c, count(*) AS n FROM t JOIN u USING (user_id)
             WHERE amount > 0 GROUP BY upper(country);"
                .into(),
            vec![
                StreamedRows,
                PartitionsOnEveryWorker,
                BroadcastJoin,
                JoinedRowFold,
            ],
        ),
        (
            "10m",
            "SELECT * FROM t JOIN u USING (user_id);".into(),
            vec![StreamedRows, PartitionedItems, LookupJoin],
        ),
        // A join with a streaming table retracts: the aggregation above it is differential's.
        (
            "10m",
            "SELECT airport, condition, count(*) AS at_risk
             FROM flights JOIN weather USING (airport) WHERE delay >= 20 GROUP BY airport, condition;"
                .into(),
            vec![StreamedRows, StreamedRows, UpsertTable, ArrangedJoin, Reduce],
        ),
    ];
    for (threshold, query, expected) in cases {
        let spark = session(threshold);
        assert_eq!(
            strategies(&spark, &format!("{sources}{query}")),
            expected,
            "{query}"
        );
    }
}

#[test]
fn a_stream_held_in_memory_is_read_in_place_by_a_fused_table_join() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = sources(dir.path());
    let spark = session("10m");
    let input = MemoryStream::new(Schema::new([
        Field::new("user_id", DataType::Int64),
        Field::new("amount", DataType::Int64),
    ]));
    spark.register_view("tx", &spark.read_stream().memory(&input));
    let fused = format!(
        "{sources}SELECT country, sum(amount) AS total FROM tx JOIN u USING (user_id) GROUP BY country;"
    );
    assert_eq!(
        strategies(&spark, &fused),
        vec![
            LocalRowsInPlace,
            PartitionsOnEveryWorker,
            BroadcastJoin,
            GroupedByTable { integer: true }
        ]
    );
    let alone = format!("{sources}SELECT user_id, count(*) AS n FROM tx GROUP BY user_id;");
    assert_eq!(strategies(&spark, &alone), vec![LocalRows, AppendOnlyFold]);
}
