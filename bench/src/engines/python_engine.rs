//! What the `spark` and `flink` engines share: each runs a Python program of its own (PySpark,
//! PyFlink) on the machine's Java, from a virtualenv under the user's cache that its
//! `bench/<engine>/setup.sh` installs. Where that interpreter is, whether it can run the
//! engine (or why the engine is skipped), and running a script with its output in a log.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// One Python-driven engine: its name, where its interpreter is, and how to check it.
pub struct PythonEngine {
    /// The engine's name in messages: `Spark`, `Flink`.
    pub name: &'static str,
    /// The Python package, as messages name it: `PySpark`.
    pub package: &'static str,
    /// The module the interpreter must import, and its short name in messages.
    pub import: (&'static str, &'static str),
    /// The variable naming an interpreter that imports the package.
    pub python_var: &'static str,
    /// The variable naming the virtualenv, and its default under `$HOME`.
    pub venv: (&'static str, &'static str),
    /// The script that installs it.
    pub setup: &'static str,
    /// Lines of its log a failure shows.
    pub log_tail: usize,
}

impl PythonEngine {
    /// The Python interpreter that would run the engine, whether or not it is there.
    fn python(&self) -> PathBuf {
        if let Some(python) = std::env::var_os(self.python_var) {
            return PathBuf::from(python);
        }
        let (venv_var, default) = self.venv;
        let venv = std::env::var_os(venv_var).map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(default)
        });
        venv.join("bin/python")
    }

    /// The interpreter to run the engine with, or why it cannot run here (the engine is then
    /// skipped).
    pub fn available(&self) -> Result<PathBuf, String> {
        let python = self.python();
        let setup = format!("install it with `bash {}`", self.setup);
        if !python.exists() {
            return Err(format!(
                "no {} venv at {}; {setup}",
                self.package,
                python.display()
            ));
        }
        let (module, short) = self.import;
        if !succeeds(Command::new(&python).args(["-c", &format!("import {module}")])) {
            return Err(format!("{} cannot import {short}; {setup}", python.display()));
        }
        if !succeeds(Command::new("java").arg("-version")) {
            return Err(format!(
                "no `java` on PATH; {} needs a Java runtime (17)",
                self.name
            ));
        }
        Ok(python)
    }

    /// Runs `command` (a script on `python`) to its end with its output in `log_path`; a
    /// failure carries the log's last lines.
    pub fn run_logged(&self, mut command: Command, log_path: &Path, python: &Path) -> anyhow::Result<()> {
        let log = fs::File::create(log_path)?;
        let status = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| format!("running {}", python.display()))?;
        if !status.success() {
            let log = fs::read_to_string(log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(self.log_tail).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{} exited with {status}; the end of its log:\n{}",
                self.name,
                tail.join("\n")
            );
        }
        Ok(())
    }
}

/// Whether `command` runs and exits successfully, its output discarded.
fn succeeds(command: &mut Command) -> bool {
    matches!(
        command.stdout(Stdio::null()).stderr(Stdio::null()).status(),
        Ok(status) if status.success()
    )
}
