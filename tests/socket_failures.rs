//! A socket that refuses, closes early, or sends odd bytes gives a clear error or a clean
//! finish: never a panic or a hang.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use tidewater::prelude::*;

fn word_count_on_port(port: u16, retries: u32) -> (StreamingQuery, Collected) {
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let lines = spark
        .read_stream()
        .format("socket")
        .option("host", "127.0.0.1")
        .option("port", port)
        .option("connectRetries", retries)
        .option("retryIntervalMs", 10)
        .load()
        .expect("source");
    let counts = lines
        .select([explode(split(col("value"), " ")).alias("word")])
        .and_then(|w| w.group_by([col("word")]).count())
        .expect("plan");
    let collected = Collected::default();
    let query = collected
        .attach(counts.write_stream().output_mode("update"))
        .start()
        .expect("start");
    (query, collected)
}

/// A port on which nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn refused_connection_retries_then_fails_clearly() {
    let started = Instant::now();
    let (query, collected) = word_count_on_port(closed_port(), 3);
    let err = await_within(&query, "refused socket").unwrap_err();
    assert_eq!(err.code(), "SOURCE_FAILED");
    let message = err.to_string();
    assert!(
        message.contains("could not connect") && message.contains("is the server running"),
        "{message}"
    );
    assert!(message.contains("after 3 retries"), "{message}");
    // Backoff 10 + 20 + 40 ms: the retries happened, and nothing waited for long.
    assert!(started.elapsed() >= Duration::from_millis(70));
    assert!(!query.is_active());
    assert!(query.exception().is_some());
    assert!(collected.batches().is_empty());
}

#[test]
fn server_closing_at_once_finishes_cleanly_with_no_batches() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || drop(listener.accept()));
    let (query, collected) = word_count_on_port(port, 0);
    await_within(&query, "closed socket").expect("a closed connection is the end of the stream");
    server.join().expect("server");
    assert!(collected.batches().is_empty());
    assert!(query.exception().is_none());
}

#[test]
fn last_line_without_newline_crlf_and_invalid_utf8_are_read() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.write_all(b"x y\r\nbad \xff byte\ny").expect("write");
    });
    let (query, collected) = word_count_on_port(port, 0);
    await_within(&query, "odd bytes").expect("finishes");
    server.join().expect("server");
    let mut latest = std::collections::BTreeMap::new();
    for (_, rows) in collected.batches() {
        latest.extend(counts_of(&rows));
    }
    let expected: std::collections::BTreeMap<String, i64> =
        [("x", 1), ("y", 2), ("bad", 1), ("\u{fffd}", 1), ("byte", 1)]
            .into_iter()
            .map(|(w, c)| (w.to_string(), c))
            .collect();
    assert_eq!(latest, expected);
}

#[test]
fn stopping_a_query_waiting_on_an_idle_socket_returns() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (query, _) = word_count_on_port(port, 0);
    // Hold the connection open without sending anything, until the query is stopped.
    let (stream, _) = listener.accept().expect("accept");
    assert!(query.is_active());
    query.stop().expect("stop");
    assert!(!query.is_active());
    assert!(query.await_termination().is_ok());
    drop(stream);
}

/// A line longer than `maxLineLength` is skipped whole (its memory bounded by the limit), and
/// the lines around it are read; with a schema under DROPMALFORMED, a line with `3.5` or an
/// out-of-range number in a BIGINT column is dropped, not truncated or saturated.
#[test]
fn an_overlong_line_and_bad_numbers_are_skipped_and_the_rest_read() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let long = "9".repeat(5_000);
        let text = format!("a,1\nb,3.5\n{long},2\nc,99999999999999999999\nd,4\n");
        stream.write_all(text.as_bytes()).expect("write");
    });
    let spark = Session::builder().workers(2).get_or_create().expect("session");
    let rows = spark
        .read_stream()
        .format("socket")
        .schema("k STRING, n BIGINT")
        .option("host", "127.0.0.1")
        .option("port", port)
        .option("connectRetries", 0)
        .option("maxLineLength", 1_000)
        .option("mode", "DROPMALFORMED")
        .load()
        .expect("source");
    let ran = run_to_end(rows.write_stream(), Feed::Nothing);
    server.join().expect("server");
    // By hand: b and c are malformed, the 5,002-byte line is too long.
    assert_eq!(ran.rows(), vec![row!["a", 1], row!["d", 4]]);
}
