//! The `tidewater` binary in timely's cluster mode: two processes on loopback give the same
//! word count as one process, and only process 0 prints.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use tidewater::demo::TextServer;
use tidewater::prelude::*;

fn demo_command(port: u16, extra: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command
        .args([
            "demo",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--num-rows",
            "100000",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn succeed(output: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}): {stderr}",
        output.status
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn two_processes_match_one_process_and_the_reference() {
    let lines = word_lines(21, 600);
    let expected = reference_counts(&lines);

    let server = TextServer::start(lines.clone(), 50, Duration::from_millis(2)).expect("server");
    let single = demo_command(server.port(), &["--workers".into(), "2".into()])
        .output()
        .expect("run");
    let single = last_console_table(&succeed(single, "one process"));
    server.join().expect("server");
    assert_eq!(single, expected, "one process, two workers");

    let server = TextServer::start(lines.clone(), 50, Duration::from_millis(2)).expect("server");
    let (first, second) = on_two_processes(|args| demo_command(server.port(), args));
    let first = succeed(first, "process 0");
    let second = succeed(second, "process 1");
    server.join().expect("server");
    assert_eq!(last_console_table(&first), expected, "two processes");
    // (timely itself may print connection retries; batches come only from process 0)
    assert!(
        !second.contains("Batch:"),
        "only process 0 prints batches, process 1 printed: {second}"
    );
}

fn run_command(script: &str, extra: &[String]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command
        .args(["run", "--trigger", "availableNow", "-e", script])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A hostfile in `dir` for a two-process cluster on free loopback ports.
fn two_process_hostfile(dir: &std::path::Path) -> std::path::PathBuf {
    let hostfile = dir.join("hosts.txt");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .expect("hostfile");
    hostfile
}

/// Runs the command `make(cluster flags)` as process 1 and process 0 of a two-process cluster
/// (2 workers each, a fresh hostfile on free loopback ports) and returns their outputs, in
/// process order.
fn on_two_processes(make: impl Fn(&[String]) -> Command) -> (Output, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = two_process_hostfile(dir.path());
    let args = |process: usize| -> Vec<String> {
        [
            "--workers",
            "2",
            "--processes",
            "2",
            "--process",
            &process.to_string(),
            "--hostfile",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([hostfile.display().to_string()])
        .collect()
    };
    let second = make(&args(1)).spawn().expect("spawn process 1");
    let first = make(&args(0)).spawn().expect("spawn process 0");
    (finish(first, "process 0"), finish(second, "process 1"))
}

#[test]
fn files_are_read_on_both_processes_and_failures_cross_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = word_lines(29, 400);
    let input = text_files(dir.path(), "in", &lines, 25);
    let script = format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}', maxFilesPerTrigger '4');
         SELECT word, count(*) AS count FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;",
        input.display()
    );
    let (first, second) = on_two_processes(|args| run_command(&script, args));
    let first = succeed(first, "process 0");
    succeed(second, "process 1");
    assert_eq!(last_console_table(&first), reference_counts(&lines));
    assert_eq!(first.matches("Batch: ").count(), 4, "16 files, 4 per epoch");

    // A FAILFAST record in a file that process 1 may read still stops the query everywhere.
    let csv = dir.path().join("csv");
    std::fs::create_dir(&csv).expect("mkdir");
    for i in 0..6 {
        let body = if i == 3 { "1\nnot-a-number\n" } else { "1\n2\n" };
        std::fs::write(csv.join(format!("n{i}.csv")), body).expect("write");
    }
    let script = format!(
        "CREATE STREAM n (v BIGINT) USING csv OPTIONS (path '{}', mode 'FAILFAST');
         SELECT sum(v) AS total FROM n;",
        csv.display()
    );
    let (first, _) = on_two_processes(|args| run_command(&script, args));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("n3.csv, line 2"), "{stderr}");
}

/// An update-mode word count into `noop` has each worker of both processes discard its own new
/// rows (no gather to worker 0); process 0's progress still counts them all, epoch by epoch:
/// the distinct words of each epoch's four files, counted here.
#[test]
fn noop_in_update_mode_counts_the_rows_of_both_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = word_lines(31, 400);
    let input = text_files(dir.path(), "in", &lines, 25);
    let script = format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}', maxFilesPerTrigger '4');
         CREATE SINK out USING noop OPTIONS (outputMode 'update');
         INSERT INTO out
         SELECT word, count(*) AS count FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;",
        input.display()
    );
    let expected: Vec<u64> = lines
        .chunks(100)
        .map(|epoch| {
            let words: std::collections::BTreeSet<&str> =
                epoch.iter().flat_map(|line| line.split(' ')).collect();
            words.len() as u64
        })
        .collect();
    let progress = ["--progress".to_string(), "json".to_string()];
    let (first, second) = on_two_processes(|args| {
        let mut command = run_command(&script, args);
        command.args(&progress);
        command
    });
    let stderr = String::from_utf8_lossy(&first.stderr).to_string();
    succeed(first, "process 0");
    succeed(second, "process 1");
    let written: Vec<u64> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|report| report.get("batchId").is_some())
        .map(|report| report["sink"]["numOutputRows"].as_u64().unwrap_or(u64::MAX))
        .collect();
    assert_eq!(written, expected, "rows written per epoch: {stderr}");
}

/// A stream joined with a table and aggregated runs as one fused step with the table broadcast
/// to every worker; across two processes the table crosses the process boundary, and the
/// totals must still be those of a nested-loop join computed here.
#[test]
fn a_table_join_under_an_aggregation_matches_the_reference_on_two_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Users 0..20 but every seventh, so some transactions find no user.
    let users: Vec<(u64, String)> = (0..20)
        .filter(|id| id % 7 != 3)
        .map(|id| (id, format!("c{}", id % 4)))
        .collect();
    let table = dir.path().join("users.csv");
    let mut csv = String::from("user_id,country\n");
    for (id, country) in &users {
        csv.push_str(&format!("{id},{country}\n"));
    }
    std::fs::write(&table, csv).expect("write users");
    let input = dir.path().join("transactions");
    std::fs::create_dir(&input).expect("mkdir");
    let mut rng = Seeded::new(41);
    let mut expected = std::collections::BTreeMap::<String, i64>::new();
    for file in 0..8 {
        let mut body = String::new();
        for _ in 0..200 {
            let (user, amount) = (rng.below(25), 1 + rng.below(100) as i64);
            body.push_str(&format!("{user},{amount}\n"));
            if let Some((_, country)) = users.iter().find(|(id, _)| *id == user) {
                *expected.entry(country.clone()).or_insert(0) += amount;
            }
        }
        std::fs::write(input.join(format!("t{file}.csv")), body).expect("write transactions");
    }
    let script = format!(
        "CREATE STREAM t (user_id BIGINT, amount BIGINT) USING csv OPTIONS (path '{}', maxFilesPerTrigger '2');
         CREATE TABLE u (user_id BIGINT, country STRING) USING csv OPTIONS (path '{}', header 'true');
         SELECT country, sum(amount) AS total FROM t JOIN u USING (user_id) GROUP BY country;",
        input.display(),
        table.display()
    );
    let single = run_command(&script, &["--workers".into(), "2".into()])
        .output()
        .expect("run");
    assert_eq!(
        last_console_table(&succeed(single, "one process")),
        expected,
        "one process"
    );
    let (first, second) = on_two_processes(|args| run_command(&script, args));
    let first = succeed(first, "process 0");
    succeed(second, "process 1");
    assert_eq!(last_console_table(&first), expected, "two processes");
    assert_eq!(first.matches("Batch: ").count(), 4, "8 files, 2 per epoch");
}

/// A `MemoryStream` lives in one process's memory: across two processes, only the workers of
/// the leader's process read it (each its share of an epoch), and what the other process's
/// stream holds is never read. Both processes run in this test, as two sessions.
#[test]
fn a_memory_stream_is_read_by_the_workers_of_the_process_that_holds_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hostfile = two_process_hostfile(dir.path());
    let lines = word_lines(17, 900);
    let run = |process: usize, lines: Vec<String>| {
        let hostfile = hostfile.clone();
        std::thread::spawn(move || -> Result<Vec<BatchRows>> {
            let spark = Session::builder()
                .workers(2)
                .processes(2)
                .process(process)
                .hostfile(hostfile)
                .get_or_create()?;
            let input = MemoryStream::new(Schema::new([Field::new("value", DataType::String)]));
            input.add_data(lines.iter().map(|l| row![l.as_str()]));
            input.end();
            let counts = spark
                .read_stream()
                .memory(&input)
                .select([explode(split(col("value"), " ")).alias("word")])?
                .group_by([col("word")])
                .count()?;
            let collected = Collected::default();
            let query = collected
                .attach(counts.write_stream().output_mode("complete"))
                .option("maxRowsPerTrigger", 250)
                .start()?;
            await_within(&query, "the memory stream query")?;
            Ok(collected.batches())
        })
    };
    // Process 1's stream holds other lines: a worker there that read its own stream would
    // count words that process 0's stream does not have.
    let second = run(1, word_lines(99, 500));
    let first = run(0, lines.clone());
    let batches = first.join().expect("process 0").expect("process 0 runs");
    let others = second.join().expect("process 1").expect("process 1 runs");
    assert!(others.is_empty(), "process 1 writes no output");
    assert_eq!(batches.len(), 4, "900 lines, 250 an epoch");
    let last = &batches.last().expect("a batch").1;
    assert_eq!(counts_of(last), reference_counts(&lines));
}

#[test]
fn a_checkpoint_written_by_two_processes_resumes_on_one_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = word_lines(33, 120);
    let (input, out, checkpoint) = (
        dir.path().join("in"),
        dir.path().join("out"),
        dir.path().join("ck"),
    );
    std::fs::create_dir(&input).expect("input directory");
    // Six files of 20 lines, fed in three runs: two processes, one process, two processes.
    let put = |files: std::ops::Range<usize>| {
        for f in files {
            let text: String = lines[f * 20..(f + 1) * 20]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect();
            std::fs::write(input.join(format!("f{f}.txt")), text).expect("input");
        }
    };
    let script = format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}', maxFilesPerTrigger '1', cleanSource 'delete');
         CREATE SINK out USING csv OPTIONS (path '{}', outputMode 'complete');
         INSERT INTO out SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;",
        input.display(),
        out.display()
    );
    let with_checkpoint = |args: &[String]| {
        let mut args = args.to_vec();
        args.extend(["--checkpoint".to_string(), checkpoint.display().to_string()]);
        run_command(&script, &args)
    };
    put(0..2);
    let (first, second) = on_two_processes(with_checkpoint);
    succeed(first, "process 0");
    succeed(second, "process 1");
    put(2..4);
    let one = with_checkpoint(&["--workers".to_string(), "2".to_string()])
        .output()
        .expect("run");
    succeed(one, "one process");
    put(4..6);
    let (first, second) = on_two_processes(with_checkpoint);
    succeed(first, "process 0");
    succeed(second, "process 1");

    // Every epoch's complete result is the count of the files read so far, whoever ran it.
    let epochs = sink_epochs(&out);
    assert_eq!(epochs.len(), 6, "{epochs:?}");
    for (epoch, text) in &epochs {
        let read = &lines[..(*epoch as usize + 1) * 20];
        let counted: std::collections::BTreeMap<String, i64> = text
            .lines()
            .map(|line| {
                let (word, n) = line.rsplit_once(',').expect("word,count");
                (word.trim_matches('"').to_string(), n.parse().expect("count"))
            })
            .collect();
        assert_eq!(counted, reference_counts(read), "epoch {epoch}");
    }
}

/// Under ANSI mode, a division by zero in a file that any worker of either process may read
/// stops the query with `DIVIDE_BY_ZERO` on process 0, which exits 1. The zero is put in each
/// of four files in turn, so that (files being spread over the workers of both processes by
/// their names) some runs raise the error on process 1.
#[test]
fn an_ansi_error_on_any_process_stops_the_query() {
    for bad in 0..4 {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = dir.path().join("csv");
        std::fs::create_dir(&csv).expect("mkdir");
        for i in 0..6 {
            let body = if i == bad { "1,1\n7,0\n" } else { "1,1\n2,2\n" };
            std::fs::write(csv.join(format!("n{i}.csv")), body).expect("write");
        }
        let script = format!(
            "CREATE STREAM n (a BIGINT, b BIGINT) USING csv OPTIONS (path '{}');
             SELECT a / b AS q FROM n;",
            csv.display()
        );
        let (first, _) = on_two_processes(|args| {
            let mut command = run_command(&script, args);
            command.args(["--conf", "spark.sql.ansi.enabled=true"]);
            command
        });
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert_eq!(first.status.code(), Some(1), "file n{bad}: {stderr}");
        assert!(stderr.contains("[DIVIDE_BY_ZERO] Division by zero."), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
