//! A cluster that strangers cannot crash, stall or join: the processes authenticate each other
//! before timely gets the sockets, give up with the missing peers named, and end with one clear
//! error when a peer dies.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use tidewater::demo::TextServer;

const SECRET: &str = "a secret only the real processes share";
/// A query that would end at once, once its cluster formed.
const TICKS: &str = "CREATE STREAM ticks USING rate OPTIONS (rowsPerSecond '100', numRows '10');
                     SELECT value FROM ticks;";

/// A hostfile for two processes on free loopback ports, and the two addresses.
fn hostfile(dir: &Path) -> (PathBuf, [String; 2]) {
    let addresses = [
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    let path = dir.join("hosts.txt");
    std::fs::write(&path, format!("{}\n{}\n", addresses[0], addresses[1])).expect("hostfile");
    (path, addresses)
}

/// `tidewater <args>` as process `process` of two, with `secret` in the environment.
fn tidewater(args: &[&str], hostfile: &Path, process: usize, secret: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tidewater"));
    command
        .args(args)
        .args(["--workers", "2", "--processes", "2", "--process"])
        .arg(process.to_string())
        .arg("--hostfile")
        .arg(hostfile)
        .env_remove("TIDEWATER_CLUSTER_SECRET")
        .env_remove("TIDEWATER_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("TIDEWATER_CLUSTER_SECRET", secret);
    }
    command
}

/// The lines a child writes on one of its pipes, as they come, and all of them at the end.
struct Lines {
    live: mpsc::Receiver<String>,
    all: std::thread::JoinHandle<String>,
}

impl Lines {
    fn follow(pipe: impl Read + Send + 'static) -> Lines {
        let (tx, live) = mpsc::channel();
        let all = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        Lines { live, all }
    }

    /// Waits (at most a minute) for a line containing every one of `parts`.
    fn wait_for(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.live.recv_timeout(left) {
                Ok(line) if parts.iter().all(|p| line.contains(p)) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {parts:?}: {e}"),
            }
        }
    }

    fn rest(self) -> String {
        self.all.join().expect("reader")
    }
}

/// Connects to `address`, retrying while nothing listens there yet (at most a minute).
fn reach(address: &str) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match TcpStream::connect(address) {
            Ok(stream) => return stream,
            Err(e) if Instant::now() > deadline => panic!("{address} never listened: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Waits at most `limit` for `child` to exit.
fn exits_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn strangers_are_rejected_and_the_real_peers_still_form_the_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hosts, addresses) = hostfile(dir.path());
    let lines = word_lines(5, 300);
    let input = text_files(dir.path(), "in", &lines, 6);
    let script = format!(
        "CREATE STREAM lines USING text OPTIONS (path '{}');
         SELECT word, count(*) AS count FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;",
        input.display()
    );
    let run = ["run", "--trigger", "availableNow", "-e", &script];
    let mut first = tidewater(&run, &hosts, 0, Some(SECRET))
        .spawn()
        .expect("process 0");
    let first_out = Lines::follow(first.stdout.take().expect("stdout"));
    let first_err = Lines::follow(first.stderr.take().expect("stderr"));

    // Eight zero bytes crashed timely's own start-up; here they are turned away.
    let mut garbage = reach(&addresses[0]);
    garbage.write_all(&[0; 8]).expect("write");
    first_err.wait_for(&["rejected a connection", "not a Tidewater cluster process"]);

    // A stranger that claims to be process 1 but cannot prove the secret gets no verdict.
    let mut impostor = reach(&addresses[0]);
    let mut greeting = b"TIDEWTR1".to_vec();
    for field in [2u32, 1, 0] {
        greeting.extend_from_slice(&field.to_be_bytes());
    }
    greeting.extend_from_slice(&[9; 16]);
    impostor.write_all(&greeting).expect("greeting");
    let mut reply = [0u8; 48];
    impostor.read_exact(&mut reply).expect("the challenge");
    impostor.write_all(&[0x5a; 32]).expect("a made-up proof");
    first_err.wait_for(&[
        "rejected a connection",
        "claims to be process 1",
        "does not know the cluster secret",
    ]);
    let mut verdict = Vec::new();
    impostor
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    impostor.read_to_end(&mut verdict).expect("closed");
    assert!(verdict.is_empty(), "the impostor was answered: {verdict:?}");

    // A silent connection does not stall the cluster: it is dropped after the handshake's time.
    let _silent = reach(&addresses[0]);
    first_err.wait_for(&["rejected a connection", "did not introduce itself"]);

    let mut second = tidewater(&run, &hosts, 1, Some(SECRET))
        .spawn()
        .expect("process 1");
    let second_out = Lines::follow(second.stdout.take().expect("stdout"));
    let second_err = Lines::follow(second.stderr.take().expect("stderr"));
    let first_status = exits_within(&mut first, Duration::from_secs(120), "process 0");
    let second_status = exits_within(&mut second, Duration::from_secs(120), "process 1");
    let (stdout, stderr) = (first_out.rest(), first_err.rest());
    assert!(first_status.success(), "process 0: {stderr}");
    assert!(second_status.success(), "process 1: {}", second_err.rest());
    assert_eq!(last_console_table(&stdout), reference_counts(&lines));
    // timely's "awaiting connections" lines no longer reach stdout, where the console writes.
    assert_eq!(second_out.rest(), "", "process 1 writes nothing on stdout");
}

#[test]
fn a_killed_peer_makes_the_survivor_exit_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hosts, addresses) = hostfile(dir.path());
    // Enough text, slowly enough, that the query is still running when process 1 dies.
    let server = TextServer::start(word_lines(11, 100_000), 20, Duration::from_millis(20)).expect("server");
    let port = server.port().to_string();
    let demo = ["demo", "--host", "127.0.0.1", "--port", &port];
    let mut first = tidewater(&demo, &hosts, 0, Some(SECRET))
        .spawn()
        .expect("process 0");
    let mut second = tidewater(&demo, &hosts, 1, Some(SECRET))
        .spawn()
        .expect("process 1");
    let first_out = Lines::follow(first.stdout.take().expect("stdout"));
    let first_err = Lines::follow(first.stderr.take().expect("stderr"));
    first_out.wait_for(&["Batch: 1"]);

    second.kill().expect("kill process 1");
    let _ = second.wait();
    let status = exits_within(&mut first, Duration::from_secs(20), "the survivor");
    let stderr = first_err.rest();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("process 1 ({}) disconnected", addresses[1])),
        "the error names the lost process: {stderr}"
    );
    assert!(stderr.contains("CLUSTER_PEER_LOST"), "{stderr}");
    assert!(!stderr.contains("panicked"), "no thread-panic traces: {stderr}");
    drop(server);
}

#[test]
fn a_cluster_that_does_not_form_names_the_missing_peer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hosts, addresses) = hostfile(dir.path());
    let run = ["run", "--trigger", "once", "--cluster-timeout", "2", "-e", TICKS];
    // Process 0 waits for process 1 to call; process 1 calls process 0, which is not there.
    for (process, missing) in [(0, 1), (1, 0)] {
        let mut child = tidewater(&run, &hosts, process, None).spawn().expect("spawn");
        let err = Lines::follow(child.stderr.take().expect("stderr"));
        let status = exits_within(&mut child, Duration::from_secs(30), "a lone process");
        let stderr = err.rest();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("CLUSTER_TIMEOUT"), "{stderr}");
        assert!(
            stderr.contains(&format!("process {missing} ({})", addresses[missing])),
            "process {process} names process {missing}: {stderr}"
        );
    }
}

#[test]
fn processes_with_different_secrets_refuse_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hosts, addresses) = hostfile(dir.path());
    let run = ["run", "--trigger", "once", "--cluster-timeout", "10", "-e", TICKS];
    let mut first = tidewater(&run, &hosts, 0, Some("one secret"))
        .spawn()
        .expect("process 0");
    let first_err = Lines::follow(first.stderr.take().expect("stderr"));
    let mut second = tidewater(&run, &hosts, 1, Some("another"))
        .spawn()
        .expect("process 1");
    let second_err = Lines::follow(second.stderr.take().expect("stderr"));
    let status = exits_within(&mut second, Duration::from_secs(30), "process 1");
    let stderr = second_err.rest();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "process 0 ({}) does not know the cluster secret",
            addresses[0]
        )),
        "{stderr}"
    );
    first_err.wait_for(&["rejected a connection", "claims to be process 1"]);
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn a_cluster_across_machines_needs_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = dir.path().join("hosts.txt");
    std::fs::write(&hosts, "127.0.0.1:2101\n192.0.2.7:2101\n").expect("hostfile");
    let output = tidewater(&["run", "-e", TICKS], &hosts, 0, None)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "a configuration error: {stderr}");
    assert!(stderr.contains("CLUSTER_SECRET_REQUIRED"), "{stderr}");
    assert!(stderr.contains("192.0.2.7:2101"), "{stderr}");
}
