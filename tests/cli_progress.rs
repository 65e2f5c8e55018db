//! `tidewater run`'s progress on stderr (`--progress text|json|off`), its UI flags, and
//! `TIDEWATER_LOG`, which shows the engine's logs and never a dependency's.

use std::process::Command;

fn tidewater(args: &[&str], log: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command.args(args).env_remove("TIDEWATER_LOG");
    if let Some(log) = log {
        command.env("TIDEWATER_LOG", log);
    }
    let output = command.output().expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A folder of two CSV files, 3 and 2 words, and a script counting the words.
fn words_script(dir: &std::path::Path) -> String {
    let input = dir.join("in");
    std::fs::create_dir(&input).expect("mkdir");
    std::fs::write(input.join("a.csv"), "word\nx\ny\nx\n").expect("write");
    std::fs::write(input.join("b.csv"), "word\ny\nz\n").expect("write");
    format!(
        "CREATE STREAM s (word STRING) USING csv OPTIONS (path '{}', header 'true');
         SELECT word, count(*) AS n FROM s GROUP BY word;",
        input.display()
    )
}

#[test]
fn json_progress_is_one_report_a_line_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = words_script(dir.path());
    let (ok, _, stderr) = tidewater(
        &[
            "run",
            "--trigger",
            "availableNow",
            "--progress",
            "json",
            "--no-ui",
            "-e",
            &script,
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let reports: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert!(!reports.is_empty(), "{stderr}");
    let rows: u64 = reports
        .iter()
        .map(|r| r["numInputRows"].as_u64().expect("rows"))
        .sum();
    assert_eq!(rows, 5, "{stderr}");
    let ids: Vec<u64> = reports
        .iter()
        .map(|r| r["batchId"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
    assert!(!stderr.contains("Tidewater UI at"), "--no-ui: {stderr}");
}

#[test]
fn text_progress_says_batch_rows_and_duration_and_the_ui_prints_its_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = words_script(dir.path());
    let (ok, stdout, stderr) = tidewater(
        &[
            "run",
            "--trigger",
            "availableNow",
            "--progress",
            "text",
            "--ui-port",
            "0",
            "-e",
            &script,
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Batch: 0"),
        "the console sink still writes stdout: {stdout}"
    );
    assert!(stderr.contains("Tidewater UI at http://127.0.0.1:"), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("] batch 0: "))
        .unwrap_or_else(|| panic!("a line for batch 0: {stderr}"));
    assert!(
        line.contains(" rows, ") && line.contains(" rows/s, ") && line.ends_with(" ms"),
        "{line}"
    );
}

#[test]
fn off_prints_no_progress_and_a_bare_log_level_shows_only_the_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = words_script(dir.path());
    let (ok, _, stderr) = tidewater(
        &[
            "run",
            "--trigger",
            "availableNow",
            "--progress",
            "off",
            "--no-ui",
            "-e",
            &script,
        ],
        Some("debug"),
    );
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("] batch 0: "), "{stderr}");
    assert!(
        stderr.contains("tidewater::"),
        "the engine's debug logs show: {stderr}"
    );
    for dependency in ["sqlparser", "hyper", "axum", "rskafka", "timely::"] {
        assert!(!stderr.contains(dependency), "{dependency} logs leaked: {stderr}");
    }
}
