//! Data-driven SQL tests: every `tests/sql/cases/*.sql` is a test of its own, named after its
//! file, that runs the script through `tidewater run` (from `tests/sql`, trigger available-now).
//!
//! - A script's output must equal its `.expected` file, written by hand from the input in
//!   `tests/sql/data`. It runs once with `--workers 1` and once with `--workers 2`
//!   (`NAME::workers_1`, `NAME::workers_2`) against the same file: the output may not depend on
//!   the worker count.
//! - Scripts named `error_*.sql` must fail with exit status 2 and the error code and
//!   `line:column` named on their first line: `-- expect-error: CODE LINE:COLUMN`. They fail
//!   while planning, before any worker starts, so they run once.
//!
//! A new script dropped into the folder is a new test. `cargo test --test sql wordcount` runs
//! one case.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Failed, Trial};

/// Worker counts every golden script runs with.
const WORKERS: [usize; 2] = [1, 2];

fn main() {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials()).exit();
}

/// One trial per error script, one per golden script and worker count, and one that checks
/// the folder still holds the cases (so that a wrong path cannot pass by running nothing).
fn trials() -> Vec<Trial> {
    let cases = cases();
    let (errors, golden): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(Case::is_error);
    let (golden_count, error_count) = (golden.len(), errors.len());
    let mut trials = vec![Trial::test("the_folder_holds_the_cases", move || {
        check(golden_count >= 4, || {
            format!("only {golden_count} golden scripts")
        })?;
        check(error_count >= 6, || format!("only {error_count} error scripts"))
    })];
    trials.extend(trials_restored(&golden));
    for case in golden {
        for workers in WORKERS {
            let case = case.clone();
            let name = format!("{}::workers_{workers}", case.name);
            trials.push(Trial::test(name, move || case.gives_its_expected_output(workers)));
        }
    }
    for case in errors {
        trials.push(Trial::test(case.name.clone(), move || {
            case.fails_with_its_code_and_place()
        }));
    }
    trials
}

/// One trial per golden script that stops it mid-run and restores it (see
/// [`Case::restores_to_its_expected_output`]).
fn trials_restored(golden: &[Case]) -> Vec<Trial> {
    golden
        .iter()
        .map(|case| {
            let case = case.clone();
            Trial::test(format!("{}::restored", case.name), move || {
                case.restores_to_its_expected_output()
            })
        })
        .collect()
}

/// A script of `tests/sql/cases` and its name (the file name without `.sql`).
#[derive(Clone)]
struct Case {
    name: String,
    script: PathBuf,
}

/// The scripts of `tests/sql/cases`, by name.
fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/cases");
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .filter_map(|script| {
            let name = script.file_stem()?.to_str()?.to_string();
            Some(Case { name, script })
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

impl Case {
    fn is_error(&self) -> bool {
        self.name.starts_with("error_")
    }

    /// Runs the script with `workers` workers; it must succeed and print its `.expected` file.
    fn gives_its_expected_output(&self, workers: usize) -> Result<(), Failed> {
        let expected_file = self.script.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_file)
            .map_err(|e| format!("{}: no .expected file: {e}", expected_file.display()))?;
        let output = self.run(workers)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        check(output.status.success(), || {
            format!("{workers} workers: the script failed: {stderr}")
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        check(stdout == expected, || {
            format!(
                "{workers} workers: the output differs from {}\n--- expected\n{expected}\n--- got\n{stdout}",
                expected_file.display()
            )
        })
    }

    /// Runs the script with a checkpoint, killed once the offsets of epoch 1 are written, then
    /// again: the two runs' console output, one after the other, must be the expected output,
    /// each epoch printed once.
    fn restores_to_its_expected_output(&self) -> Result<(), Failed> {
        let expected =
            std::fs::read_to_string(self.script.with_extension("expected")).map_err(|e| e.to_string())?;
        let checkpoint = tempfile::tempdir().map_err(|e| e.to_string())?;
        let run = |crash: Option<&str>| {
            let mut command = self.command(2);
            command
                .arg("--checkpoint")
                .arg(checkpoint.path())
                .env_remove("TIDEWATER_CRASH_AT");
            if let Some(crash) = crash {
                command.env("TIDEWATER_CRASH_AT", crash);
            }
            command
                .output()
                .map_err(|e| Failed::from(format!("tidewater did not start: {e}")))
        };
        let first = run(Some("after-offsets:1"))?;
        let second = run(None)?;
        let stderr = String::from_utf8_lossy(&second.stderr);
        check(second.status.success(), || {
            format!("the restored run failed: {stderr}")
        })?;
        let (first_out, second_out) = (
            String::from_utf8_lossy(&first.stdout),
            String::from_utf8_lossy(&second.stdout),
        );
        let both = format!("{first_out}{second_out}");
        check(both == expected, || {
            format!("killed after the offsets of epoch 1, then restored:\n--- expected\n{expected}\n--- got\n{both}")
        })
    }

    /// Runs the script, which must fail before anything runs with the error code and place
    /// named on its first line.
    fn fails_with_its_code_and_place(&self) -> Result<(), Failed> {
        let text = std::fs::read_to_string(&self.script).map_err(|e| e.to_string())?;
        let header = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("-- expect-error: "))
            .ok_or("the first line must be `-- expect-error: CODE LINE:COLUMN`")?;
        let (code, place) = header.split_once(' ').ok_or("expected `CODE LINE:COLUMN`")?;
        let (line, column) = place.split_once(':').ok_or("expected `LINE:COLUMN`")?;
        let output = self.run(1)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        check(output.status.code() == Some(2), || {
            format!("exit status {:?}, not 2: {stderr}", output.status.code())
        })?;
        check(stderr.contains(&format!("[{code}]")), || {
            format!("expected {code}: {stderr}")
        })?;
        check(
            stderr.contains(&format!("at line {line}, column {column}")),
            || format!("expected line {line}, column {column}: {stderr}"),
        )?;
        check(output.stdout.is_empty(), || {
            format!("nothing may run: {}", String::from_utf8_lossy(&output.stdout))
        })
    }

    /// `tidewater run --workers N --trigger availableNow SCRIPT`, from `tests/sql`.
    fn run(&self, workers: usize) -> Result<Output, Failed> {
        self.command(workers)
            .output()
            .map_err(|e| format!("tidewater did not start: {e}").into())
    }

    /// The command `run` runs.
    fn command(&self, workers: usize) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
        command
            .args([
                "run",
                "--trigger",
                "availableNow",
                "--workers",
                &workers.to_string(),
            ])
            .arg(&self.script)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql"));
        command
    }
}

/// Fails the trial with `message()` unless `condition` holds.
fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}
