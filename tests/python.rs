//! The Python package's pytest suite (python/tests), run from `cargo test`.
//!
//! `.ci/python-venv` provides a virtualenv with maturin and pytest under the user's cache;
//! `maturin develop` builds the `tidewater` package into it (in this test binary's own target
//! directory, so the workspace's compiled crates are reused), and pytest runs the suite. The
//! test fails with pytest's output and summary line when any Python test fails. When Python,
//! the virtualenv or the build is not available, the test fails under `CI=true` (CI must not
//! pass by not testing) and otherwise says loudly, on stderr, that the suite did not run.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The workspace root (this package's folder).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory this test binary was built in (`<target>/<profile>/deps/python-..`).
fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.to_path_buf())
}

/// A step that could not be taken for want of tools: a failure under CI, a loud notice
/// otherwise.
fn unavailable(what: &str) {
    if std::env::var("CI").is_ok_and(|ci| !ci.is_empty() && ci != "false") {
        panic!("the Python suite cannot run under CI: {what}");
    }
    eprintln!("\n*** python tests NOT RUN: {what} ***\n*** (under CI=true this fails) ***\n");
}

/// What a command printed, for failure messages.
fn printed(output: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// pytest's summary line (`== 32 passed in 2.90s ==`, or `-q`'s `32 passed in 2.90s`).
fn summary_line(stdout: &str) -> Option<&str> {
    stdout.lines().rev().map(str::trim).find(|line| {
        [" passed", " failed", " error", " skipped", "no tests ran"]
            .iter()
            .any(|word| line.contains(word))
            && line.contains(" in ")
    })
}

#[test]
fn pytest_suite_passes() {
    let root = workspace();
    let venv = match Command::new(root.join(".ci/python-venv")).output() {
        Ok(out) if out.status.success() => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        Ok(out) => return unavailable(&format!(".ci/python-venv failed:\n{}", printed(&out))),
        Err(e) => return unavailable(&format!(".ci/python-venv could not run: {e}")),
    };
    let Some(target) = target_dir() else {
        return unavailable("the test binary's target directory is unknown");
    };
    let bin = venv.join("bin");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH entries hold no separator");

    let build = Command::new(bin.join("maturin"))
        .args(["develop", "--quiet", "-m"])
        .arg(root.join("python/Cargo.toml"))
        .env("VIRTUAL_ENV", &venv)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", &target)
        .output();
    match build {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("maturin develop failed to build the package:\n{}", printed(&out)),
        Err(e) => return unavailable(&format!("maturin could not run: {e}")),
    }

    let run = Command::new(bin.join("python"))
        .args(["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests"))
        .current_dir(&root)
        .env("PATH", &path)
        .output()
        .expect("the virtualenv's python runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let summary = summary_line(&stdout).unwrap_or("(no pytest summary line)");
    eprintln!("pytest: {summary}");
    assert!(
        run.status.success()
            && summary.contains(" passed")
            && !summary.contains("failed")
            && !summary.contains("error"),
        "pytest: {summary}\n{}",
        printed(&run)
    );
}

#[test]
fn summary_lines_are_found_in_pytest_output() {
    let out =
        "....\n=== short test summary info ===\nSKIPPED [1] x: no pandas\n31 passed, 1 skipped in 2.90s\n";
    assert_eq!(summary_line(out), Some("31 passed, 1 skipped in 2.90s"));
    assert_eq!(
        summary_line("F\n1 failed, 2 passed in 0.1s\n"),
        Some("1 failed, 2 passed in 0.1s")
    );
    assert_eq!(summary_line("collecting\n"), None);
}
