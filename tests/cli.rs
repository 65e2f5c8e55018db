//! The `tidewater` command line.

mod common;

use std::process::Command;

use common::*;

fn tidewater(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn demo_counts_the_bundled_text_and_exits_by_itself() {
    let output = tidewater(&[
        "demo",
        "--pause-ms",
        "5",
        "--num-rows",
        "100000",
        "--workers",
        "2",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        stdout.starts_with("-------------------------------------------\nBatch: 0\n"),
        "{stdout}"
    );
    let table = last_console_table(&stdout);
    assert_eq!(table, reference_counts(&tidewater::demo::tale_lines()));
}

#[test]
fn version_and_help() {
    let version = tidewater(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tidewater {}", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8(tidewater(&["--help"]).stdout).expect("utf-8");
    assert!(help.contains("demo"), "{help}");
    let demo_help = String::from_utf8(tidewater(&["demo", "--help"]).stdout).expect("utf-8");
    for flag in [
        "--workers",
        "--processes",
        "--process",
        "--hostfile",
        "--output-mode",
    ] {
        assert!(demo_help.contains(flag), "demo --help lacks {flag}: {demo_help}");
    }
}

#[test]
fn user_errors_exit_2_and_runtime_failures_exit_1() {
    let bad_mode = tidewater(&["demo", "--output-mode", "append"]);
    assert_eq!(bad_mode.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_mode.stderr).contains("UNSUPPORTED_OUTPUT_MODE"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    // Nothing listens on the port: the socket source retries, then fails.
    let refused = Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .args([
            "demo",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--connect-retries",
            "1",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("could not connect"));
}

/// `--conf spark.sql.autoBroadcastJoinThreshold=...` decides how a table join under an
/// aggregation runs, and `explain` says which; a value that is not a size is a user error.
#[test]
fn the_broadcast_threshold_is_set_with_conf_and_shown_by_explain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("users.csv");
    std::fs::write(&table, "user_id,country\n1,NO\n2,IT\n").expect("write");
    let script = format!(
        "CREATE STREAM t (user_id BIGINT, amount BIGINT) USING socket OPTIONS (host 'localhost', port '9');
         CREATE TABLE u (user_id BIGINT, country STRING) USING csv OPTIONS (path '{}', header 'true');
         SELECT country, sum(amount) AS total FROM t JOIN u USING (user_id) GROUP BY country;",
        table.display()
    );
    let explain = |conf: &[&str]| {
        let mut args = vec!["explain"];
        args.extend_from_slice(conf);
        args.extend(["-e", &script]);
        let output = tidewater(&args);
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, default) = explain(&[]);
    assert_eq!(code, Some(0));
    assert!(default.contains("the table, 26 bytes, is within"), "{default}");
    assert!(
        default.contains("broadcast join on user_id = user_id"),
        "{default}"
    );
    let (code, tiny) = explain(&["--conf", "spark.sql.autoBroadcastJoinThreshold=20"]);
    assert_eq!(code, Some(0));
    assert!(tiny.contains("the table, 26 bytes, is not within"), "{tiny}");
    assert!(tiny.contains("lookup join on user_id = user_id"), "{tiny}");
    let (code, off) = explain(&["--conf", "spark.sql.autoBroadcastJoinThreshold=-1"]);
    assert_eq!(code, Some(0));
    assert!(off.contains("is not within"), "{off}");
    let bad = tidewater(&[
        "explain",
        "--conf",
        "spark.sql.autoBroadcastJoinThreshold=ten",
        "-e",
        &script,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("autoBroadcastJoinThreshold"));
}

/// `explain` shows the operators that run, fast paths included: a windowed count in append
/// mode drops rows only for windows the watermark has closed and forgets those windows, and
/// in complete mode keeps them all and drops nothing (Spark's rules); both fold each row into
/// its windows by their start.
#[test]
fn explain_shows_whether_closed_windows_are_forgotten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = format!(
        "CREATE STREAM clicks (page STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
           USING csv OPTIONS (path '{}', header 'true');
         SELECT window(ts, '10 seconds') AS window, count(*) AS clicks
         FROM clicks GROUP BY window(ts, '10 seconds');",
        dir.path().display()
    );
    let explain = |mode: &str| {
        let output = tidewater(&["explain", "--output-mode", mode, "-e", &script]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let append = explain("append");
    assert!(
        append.contains("watermark on ts (watermark tracked)")
            && append.contains("the fold drops a row's windows that ended at or before the watermark"),
        "{append}"
    );
    assert!(
        append.contains("aggregate (append-only accumulator by window start, closed windows forgotten)"),
        "{append}"
    );
    let complete = explain("complete");
    assert!(
        complete.contains("watermark on ts (watermark tracked)") && complete.contains("no row is late"),
        "{complete}"
    );
    // Every window kept, each row still folded into its windows by their start.
    assert!(
        complete.contains("aggregate (append-only accumulator by window start): each worker folds"),
        "{complete}"
    );
    assert!(!complete.contains("closed windows forgotten"), "{complete}");
}

/// Runs `tidewater run -e SQL` in `dir` with `args`, and returns its exit code and stderr.
fn run_sql(dir: &std::path::Path, sql: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .current_dir(dir)
        .arg("run")
        .args(args)
        .args(["-e", sql])
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An interval too long for any use is a user error (exit 2) naming the interval, wherever it
/// is written: the CLI's `--trigger`, a sink's `trigger` option, `window()` and a watermark's
/// delay. None of them may panic (exit 101).
#[test]
fn huge_intervals_exit_2_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("in")).expect("mkdir");
    let huge = "99999999999999999999 seconds";
    let stream = "CREATE STREAM events (k STRING, ts TIMESTAMP) USING csv OPTIONS (path 'in');";
    let cases = [
        (format!("{stream} SELECT k FROM events;"), vec!["--trigger", huge]),
        (
            format!(
                "{stream} CREATE SINK out USING console OPTIONS (trigger '{huge}'); INSERT INTO out SELECT k FROM events;"
            ),
            vec![],
        ),
        (
            format!("{stream} SELECT window(ts, '{huge}') AS w, count(*) AS n FROM events GROUP BY window(ts, '{huge}');"),
            vec![],
        ),
        (
            format!(
                "CREATE STREAM events (k STRING, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '{huge}') USING csv OPTIONS (path 'in'); SELECT k FROM events;"
            ),
            vec![],
        ),
        (
            format!("{stream} SELECT ts + INTERVAL '99999999999999 years' AS later FROM events;"),
            vec![],
        ),
    ];
    for (sql, args) in cases {
        let (code, stderr) = run_sql(dir.path(), &sql, &args);
        assert_eq!(code, Some(2), "{sql}: {stderr}");
        assert!(stderr.contains("too long"), "{sql}: {stderr}");
        assert!(!stderr.contains("panicked"), "{sql}: {stderr}");
    }
}

/// A static table over a path that does not exist is Spark's PATH_NOT_FOUND, not an empty
/// table (which made a LEFT JOIN all nulls and exit 0); a file sink's empty path is an error.
#[test]
fn a_missing_table_path_and_an_empty_sink_path_are_user_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("in")).expect("mkdir");
    let (code, stderr) = run_sql(
        dir.path(),
        "CREATE STREAM events (k STRING) USING csv OPTIONS (path 'in');
         CREATE TABLE users (k STRING, name STRING) USING csv OPTIONS (path 'no/such/users.csv');
         SELECT e.k, u.name FROM events e LEFT JOIN users u ON e.k = u.k;",
        &["--trigger", "availableNow"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("PATH_NOT_FOUND") && stderr.contains("no/such/users.csv"),
        "{stderr}"
    );
    let (code, stderr) = run_sql(
        dir.path(),
        "CREATE STREAM events (k STRING) USING csv OPTIONS (path 'in');
         CREATE SINK out USING json OPTIONS (path '');
         INSERT INTO out SELECT k FROM events;",
        &["--trigger", "availableNow"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("INVALID_OPTION") && stderr.contains("`path` is empty"),
        "{stderr}"
    );
}

/// Under `--conf spark.sql.ansi.enabled=true`, a division by zero stops the run with Spark's
/// `DIVIDE_BY_ZERO` and exit code 1 (a failure while running, not a mistake in the query), on
/// one worker or two, without a panic; with the default, the same query prints null and exits 0.
#[test]
fn an_ansi_error_fails_the_run_and_the_default_prints_null() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("in")).expect("mkdir");
    std::fs::write(dir.path().join("in/a.csv"), "1,0\n2,1\n").expect("write");
    let sql = "CREATE STREAM t (a BIGINT, b BIGINT) USING csv OPTIONS (path 'in'); SELECT a / b AS q FROM t;";
    for workers in ["1", "2"] {
        let ansi = [
            "--trigger",
            "availableNow",
            "--workers",
            workers,
            "--conf",
            "spark.sql.ansi.enabled=true",
        ];
        let (code, stderr) = run_sql(dir.path(), sql, &ansi);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("[DIVIDE_BY_ZERO] Division by zero."), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let (code, stderr) = run_sql(
            dir.path(),
            sql,
            &["--trigger", "availableNow", "--workers", workers],
        );
        assert_eq!(code, Some(0), "{stderr}");
    }
}
