//! The UI: `/metrics` parsed as Prometheus text with counters that grow between scrapes,
//! `/api/queries` and `/api/dstreams` in their documented shape, and the page loaded in
//! headless Chromium during a run (the query's name, every chart's title, a drawn chart),
//! with a screenshot saved under `target/`.
//!
//! One UI server runs per process: every test here asks for any free port (`spark.ui.port`
//! = 0), and the first session starts the server the others share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tidewater::dstream::{StreamingConfig, StreamingContext};
use tidewater::prelude::*;

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .config("spark.ui.port", 0)
        .get_or_create()
        .expect("session")
}

/// `GET path` from the UI at `base` (`http://host:port/`): the status line and the body.
fn get(base: &str, path: &str) -> (String, String) {
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).expect("the UI accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
    let status = head.lines().next().unwrap_or_default().to_string();
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    (status, if chunked { dechunk(body) } else { body.to_string() })
}

/// A chunked body's data.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// The samples of `/metrics`, parsed by an independent Prometheus text parser.
fn scrape(base: &str) -> prometheus_parse::Scrape {
    let (status, body) = get(base, "/metrics");
    assert!(status.contains("200"), "{status}");
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

/// The value of `metric` for the query named `query` (and `extra` label, if given).
fn sample(scrape: &prometheus_parse::Scrape, metric: &str, query: &str) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && s.labels.get("query") == Some(query))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

fn words() -> Schema {
    Schema::new([Field::new("value", DataType::String)])
}

#[test]
fn metrics_count_each_query_and_grow_between_scrapes() {
    for workers in [1, 2] {
        let spark = session(workers);
        let base = spark.ui_web_url().expect("the UI runs");
        let name = format!("metered_{workers}");
        let input = MemoryStream::new(words());
        let counts = spark
            .read_stream()
            .memory(&input)
            .group_by([col("value")])
            .count()
            .expect("plan");
        let query = counts
            .write_stream()
            .output_mode("complete")
            .format("memory")
            .query_name(&name)
            .start()
            .expect("start");
        input.add_data([row!["a"], row!["b"], row!["a"]]);
        query.process_all_available().expect("epoch");
        let first = scrape(&base);
        // Counted by hand: 3 rows in, one epoch, the complete table of 2 words out, 2 keys.
        assert_eq!(sample(&first, "tidewater_input_rows_total", &name), Some(3.0));
        assert_eq!(sample(&first, "tidewater_batches_total", &name), Some(1.0));
        assert_eq!(sample(&first, "tidewater_output_rows_total", &name), Some(2.0));
        assert_eq!(sample(&first, "tidewater_state_rows", &name), Some(2.0));
        assert_eq!(
            sample(&first, "tidewater_dropped_by_watermark_rows_total", &name),
            Some(0.0)
        );
        for gauge in [
            "tidewater_input_rows_per_second",
            "tidewater_processed_rows_per_second",
            "tidewater_batch_duration_seconds",
            "tidewater_state_memory_bytes",
            "tidewater_source_lag_rows",
        ] {
            assert!(sample(&first, gauge, &name).is_some(), "{gauge}");
        }
        assert!(sample(&first, "tidewater_state_memory_bytes", &name) > Some(0.0));
        let histogram = first
            .samples
            .iter()
            .find(|s| {
                s.metric == "tidewater_batch_duration_histogram_seconds"
                    && s.labels.get("query") == Some(&name)
            })
            .expect("the duration histogram");
        match &histogram.value {
            prometheus_parse::Value::Histogram(buckets) => {
                assert_eq!(buckets.last().map(|b| b.count), Some(1.0));
            }
            other => panic!("not a histogram: {other:?}"),
        }
        input.add_data([row!["c"], row!["a"]]);
        query.process_all_available().expect("epoch");
        let second = scrape(&base);
        assert_eq!(sample(&second, "tidewater_input_rows_total", &name), Some(5.0));
        assert_eq!(sample(&second, "tidewater_batches_total", &name), Some(2.0));
        assert_eq!(sample(&second, "tidewater_output_rows_total", &name), Some(5.0));
        assert_eq!(sample(&second, "tidewater_state_rows", &name), Some(3.0));
        query.stop().expect("stop");
    }
}

#[test]
fn the_queries_api_lists_each_query_with_its_progress() {
    let spark = session(2);
    let base = spark.ui_web_url().expect("the UI runs");
    let input = MemoryStream::new(words());
    let query = spark
        .read_stream()
        .memory(&input)
        .write_stream()
        .format("memory")
        .query_name("listed")
        .start()
        .expect("start");
    input.add_data([row!["x"], row!["y"]]);
    query.process_all_available().expect("epoch");
    let (status, body) = get(&base, "/api/queries");
    assert!(status.contains("200"), "{status}");
    let all: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let listed = all
        .as_array()
        .expect("an array")
        .iter()
        .find(|q| q["name"] == "listed")
        .expect("the query is listed");
    assert_eq!(listed["id"], query.id().to_string());
    assert_eq!(listed["runId"], query.run_id().to_string());
    assert_eq!(listed["active"], true);
    for key in ["message", "isDataAvailable", "isTriggerActive"] {
        assert!(listed["status"].get(key).is_some(), "status.{key}");
    }
    assert_eq!(listed["lastProgress"]["batchId"], 0);
    assert_eq!(listed["lastProgress"]["numInputRows"], 2);
    assert_eq!(listed["lastProgress"]["name"], "listed");
    assert_eq!(listed["recentProgress"].as_array().map(Vec::len), Some(1));
    query.stop().expect("stop");
    let (_, body) = get(&base, "/api/queries");
    let all: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let listed = all
        .as_array()
        .expect("an array")
        .iter()
        .find(|q| q["name"] == "listed")
        .expect("a finished query is still listed");
    assert_eq!(listed["active"], false);
}

#[test]
fn dstream_batches_are_on_the_same_api_and_metrics() {
    // The session starts (or shares) the server; the context shows its batches there.
    let base = session(1).ui_web_url().expect("the UI runs");
    let conf = StreamingConfig::new()
        .app_name("dstream_ui")
        .set("spark.ui.port", "0")
        .expect("conf");
    let ssc = StreamingContext::new(conf, Duration::from_millis(20)).expect("context");
    ssc.queue_stream(vec![vec![1u64, 2, 3], vec![], vec![4]])
        .count()
        .foreach_rdd(|_, _| {});
    ssc.start().expect("start");
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(60))
        .expect("no failure"));
    let (_, body) = get(&base, "/api/dstreams");
    let all: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let context = all
        .as_array()
        .expect("an array")
        .iter()
        .find(|d| d["name"] == "dstream_ui")
        .expect("the context is listed");
    let batches = context["batches"].as_array().expect("batches");
    let records: Vec<u64> = batches
        .iter()
        .map(|b| b["numRecords"].as_u64().expect("a count"))
        .collect();
    assert_eq!(records.iter().sum::<u64>(), 4, "{records:?}");
    assert_eq!(context["recordsTotal"], 4);
    for b in batches {
        assert!(b["schedulingDelay"].is_u64() && b["processingDelay"].is_u64() && b["batchTime"].is_i64());
    }
    let metrics = scrape(&base);
    let total = metrics
        .samples
        .iter()
        .find(|s| {
            s.metric == "tidewater_dstream_records_total" && s.labels.get("context") == Some("dstream_ui")
        })
        .expect("the context's records");
    assert!(matches!(total.value, prometheus_parse::Value::Counter(v) if v == 4.0));
}

/// Debian's Chromium, if installed.
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The flags that make Chromium run here: headless, no sandbox (root), and none of its own
/// network traffic, with a new empty profile.
fn chromium_command(browser: &PathBuf, profile: &std::path::Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn the_page_shows_the_query_and_its_charts_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("Chromium is missing in CI: .ci/chromium installs it (apt-get install chromium)");
        }
        eprintln!(
            "\n*** SKIPPED: the page test needs Chromium (/usr/bin/chromium): `apt-get install chromium` \
             or `.ci/chromium`; in CI (CI set) this test fails instead. ***\n"
        );
        return;
    };
    let spark = session(2);
    let base = spark.ui_web_url().expect("the UI runs");
    let input = MemoryStream::new(Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]));
    let counts = spark
        .read_stream()
        .memory(&input)
        .with_watermark("ts", "5 seconds")
        .and_then(|df| {
            df.group_by([window(col("ts"), "10 seconds"), col("word")])
                .count()
        })
        .expect("plan");
    let query = counts
        .write_stream()
        .output_mode("update")
        .format("memory")
        .query_name("word_windows")
        .start()
        .expect("start");
    let second = 1_000_000i64;
    // Event times from a minute ago, so that the watermark gap is what a live stream shows.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_micros() as i64
        - 60 * second;
    for epoch in 0..6i64 {
        let rows: Vec<Row> = (0..50)
            .map(|i| {
                let ts = start + (epoch * 4 + i % 3) * second;
                Row::from(vec![Value::str(format!("w{}", i % 7)), Value::Timestamp(ts)])
            })
            .collect();
        input.add_data(rows);
        query.process_all_available().expect("epoch");
    }
    // A query that failed shows its last error.
    let broken = MemoryStream::new(words());
    let failing = spark
        .read_stream()
        .memory(&broken)
        .write_stream()
        .query_name("fails_on_purpose")
        .foreach_batch(|_batch: &Batch<'_>| -> Result<()> {
            Err(Error::Runtime("the sink refused the batch on purpose".into()))
        })
        .start()
        .expect("start");
    broken.add_data([row!["boom"]]);
    assert!(failing
        .await_termination_timeout(Duration::from_secs(60))
        .is_err());
    // A DStream context's batches, on the same page as Spark's Streaming tab shows them.
    let conf = StreamingConfig::new()
        .app_name("dstream_on_the_page")
        .set("spark.ui.port", "0")
        .expect("conf");
    let ssc = StreamingContext::new(conf, Duration::from_millis(20)).expect("context");
    ssc.queue_stream(vec![vec![1u64, 2, 3], vec![4, 5], vec![6]])
        .count()
        .foreach_rdd(|_, _| {});
    ssc.start().expect("start");
    assert!(ssc
        .await_termination_or_timeout(Duration::from_secs(60))
        .expect("no failure"));

    let profile = tempfile::tempdir().expect("profile dir");
    // Virtual time lets the page's fetches and its first timer ticks run before the dump.
    let dump = chromium_command(&browser, profile.path())
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(&base)
        .output()
        .expect("Chromium runs");
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dom.contains("word_windows"),
        "the query's name is on the page; Chromium said: {}\n{dom}",
        String::from_utf8_lossy(&dump.stderr)
    );
    for title in [
        "Input Rate",
        "Process Rate",
        "Input Rows",
        "Batch Duration",
        "Operation Duration",
        "Watermark Gap",
        "State Rows",
    ] {
        assert!(dom.contains(&format!("data-chart=\"{title}\"")), "chart {title}");
    }
    assert!(dom.contains("data-drawn=\"true\""), "no chart was drawn:\n{dom}");
    assert!(
        dom.contains("Streaming (DStreams): dstream_on_the_page"),
        "the DStream context's section:\n{dom}"
    );
    for title in [
        "Input Records",
        "Scheduling Delay",
        "Processing Delay",
        "Total Delay",
    ] {
        assert!(
            dom.contains(&format!("data-chart=\"{title}\" data-drawn=\"true\"")),
            "DStream chart {title} is drawn:\n{dom}"
        );
    }
    assert!(
        dom.contains("the sink refused the batch on purpose"),
        "the failed query's error"
    );

    // The screenshot, a CI artefact: target/ui-screenshot.png.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).expect("target dir");
    let screenshot = target.join("ui-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir().expect("profile dir");
    let shot = chromium_command(&browser, profile.path())
        .args(["--virtual-time-budget=5000", "--window-size=1400,1700"])
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&base)
        .output()
        .expect("Chromium runs");
    let png = std::fs::read(&screenshot).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}): {}",
            screenshot.display(),
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    query.stop().expect("stop");
}
