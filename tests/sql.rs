//! Data-driven SQL tests: every `tests/sql/cases/*.sql` runs through `tidewater run` (from
//! `tests/sql`, trigger available-now). A script's output must equal its `.expected` file,
//! written by hand from the input in `tests/sql/data`. Scripts named `error_*.sql` must fail
//! with exit status 2 and the error code and `line:column` named on their first line:
//! `-- expect-error: CODE LINE:COLUMN`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    cases.sort();
    cases
}

fn run(script: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .args(["run", "--trigger", "availableNow"])
        .arg(script)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql"))
        .output()
        .expect("tidewater runs")
}

#[test]
fn golden_scripts_give_their_expected_output() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| {
        !c.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("error_"))
    }) {
        let expected = std::fs::read_to_string(case.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{}: no .expected file: {e}", case.display()));
        let output = run(case);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{} failed: {stderr}", case.display());
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "{}",
            case.display()
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} golden scripts ran");
}

#[test]
fn error_scripts_fail_with_their_code_and_place() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| {
        c.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("error_"))
    }) {
        let text = std::fs::read_to_string(case).expect("script");
        let header = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- expect-error: "))
            .unwrap_or_else(|| {
                panic!(
                    "{}: first line must be `-- expect-error: CODE LINE:COLUMN`",
                    case.display()
                )
            });
        let (code, place) = header.split_once(' ').expect("CODE LINE:COLUMN");
        let (line, column) = place.split_once(':').expect("LINE:COLUMN");
        let output = run(case);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.display());
        assert!(
            stderr.contains(&format!("[{code}]")),
            "{}: expected {code}: {stderr}",
            case.display()
        );
        assert!(
            stderr.contains(&format!("at line {line}, column {column}")),
            "{}: expected line {line}, column {column}: {stderr}",
            case.display()
        );
        assert!(output.stdout.is_empty(), "{}: nothing may run", case.display());
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} error scripts ran");
}
