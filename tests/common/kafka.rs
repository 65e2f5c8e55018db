//! A Kafka-protocol broker for the tests, and an independent client (kafka-python) to put
//! records in and read them back without going through Tidewater.
//!
//! The broker's address comes from `TIDEWATER_KAFKA_BOOTSTRAP` (`.ci/run` starts one and sets it,
//! with `TIDEWATER_KAFKA_PYTHON` for the client). Without it, the first test that asks starts a
//! broker of its own on a free loopback port, from the virtualenv `.ci/kafka-venv` installs (and
//! stops it when the test process ends). Under `CI=true` a missing address is a failure: CI must
//! never pass by not testing Kafka. Every test uses topics of its own (see [`topic`]), so tests
//! share the broker safely.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A broker the tests can reach, and the Python that has kafka-python.
pub struct Broker {
    /// `host:port`.
    pub bootstrap: String,
    /// The virtualenv's Python.
    pub python: PathBuf,
    /// The shell that runs and watches a broker of the tests' own (it ends with this process).
    _watcher: Option<std::sync::Mutex<std::process::Child>>,
}

/// The tests' broker (started on first use when none is given).
pub fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        let given = std::env::var("TIDEWATER_KAFKA_BOOTSTRAP")
            .ok()
            .filter(|b| !b.is_empty());
        match given {
            Some(bootstrap) => {
                let python = match std::env::var("TIDEWATER_KAFKA_PYTHON") {
                    Ok(python) if !python.is_empty() => PathBuf::from(python),
                    _ => venv().join("bin/python"),
                };
                Broker {
                    bootstrap,
                    python,
                    _watcher: None,
                }
            }
            None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
                "CI=true but TIDEWATER_KAFKA_BOOTSTRAP is not set: .ci/run must start the Kafka broker"
            ),
            None => start_own(),
        }
    })
}

/// The virtualenv with the broker and kafka-python, installed if missing (`.ci/kafka-venv`).
fn venv() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/kafka-venv");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("run .ci/kafka-venv");
    assert!(
        output.status.success(),
        ".ci/kafka-venv failed: the Kafka tests need python3 and PyPI to install their broker"
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// Starts a broker on a free loopback port, watched by a shell that stops it once this test
/// process is gone (statics are never dropped, so nothing else would).
fn start_own() -> Broker {
    let venv = venv();
    let port = super::free_port();
    let tansu = venv.join("bin/tansu");
    let url = format!("tcp://127.0.0.1:{port}");
    let watch = format!(
        "\"$0\" broker --listener-url {url} --advertised-listener-url {url} --storage-engine memory://tansu/ \
         >/dev/null 2>&1 & b=$!; while kill -0 {parent} 2>/dev/null && kill -0 $b 2>/dev/null; do sleep 1; done; kill $b",
        parent = std::process::id()
    );
    let watcher = Command::new("sh")
        .args(["-c", &watch])
        .arg(&tansu)
        .stdin(Stdio::null())
        .spawn()
        .expect("start the tansu broker");
    let bootstrap = format!("127.0.0.1:{port}");
    wait_for(&bootstrap);
    Broker {
        bootstrap,
        python: venv.join("bin/python"),
        _watcher: Some(std::sync::Mutex::new(watcher)),
    }
}

/// Waits (at most 20 s) until `address` accepts connections.
fn wait_for(address: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(address).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the broker at {address} never accepted a connection"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A topic name no other test (or earlier run against the same broker) uses.
pub fn topic(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{name}-{}-{n}-{nanos}", std::process::id())
}

/// Runs `script` with kafka-python, `args` as JSON on its standard input (the broker's address
/// is `args["bootstrap"]`), and returns what it prints on standard output, parsed as JSON.
pub fn python(script: &str, mut args: serde_json::Value) -> serde_json::Value {
    let broker = broker();
    args["bootstrap"] = serde_json::Value::String(broker.bootstrap.clone());
    let mut child = Command::new(&broker.python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kafka-python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(args.to_string().as_bytes())
        .expect("write the arguments");
    let output = super::finish(child, "kafka-python");
    assert!(
        output.status.success(),
        "kafka-python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "kafka-python printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

const CREATE: &str = r#"
import json, sys
from kafka.admin import KafkaAdminClient, NewTopic
a = json.load(sys.stdin)
admin = KafkaAdminClient(bootstrap_servers=a["bootstrap"])
admin.create_topics([NewTopic(a["topic"], a["partitions"], 1)])
admin.close()
print("null")
"#;

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(topic: &str, partitions: u32) {
    python(
        CREATE,
        serde_json::json!({"topic": topic, "partitions": partitions}),
    );
}

/// One record as the tests write and read it: values are UTF-8 text, or `None`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    /// The partition.
    pub partition: i32,
    /// The key.
    pub key: Option<String>,
    /// The value.
    pub value: Option<String>,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
}

const PRODUCE: &str = r#"
import json, sys
from kafka import KafkaProducer
a = json.load(sys.stdin)
p = KafkaProducer(bootstrap_servers=a["bootstrap"], linger_ms=a["linger_ms"])
enc = lambda s: None if s is None else s.encode("utf-8")
for r in a["records"]:
    p.send(a["topic"], key=enc(r["key"]), value=enc(r["value"]), partition=r["partition"],
           headers=[(k, enc(v)) for k, v in r["headers"]])
p.flush()
p.close()
print("null")
"#;

/// Writes `records` to `topic` with kafka-python, in order, each to its own partition.
/// `batched` lets the producer put many records in one batch (as real producers do).
pub fn produce(topic: &str, records: &[Record], batched: bool) {
    let records: Vec<_> = records
        .iter()
        .map(|r| {
            serde_json::json!({
                "partition": r.partition, "key": r.key, "value": r.value, "headers": r.headers,
            })
        })
        .collect();
    let linger = if batched { 50 } else { 0 };
    python(
        PRODUCE,
        serde_json::json!({"topic": topic, "records": records, "linger_ms": linger}),
    );
}

/// Writes one batch per call of text values (no key) to one partition.
pub fn produce_values(topic: &str, partition: i32, values: &[String]) {
    let records: Vec<Record> = values
        .iter()
        .map(|v| Record {
            partition,
            key: None,
            value: Some(v.clone()),
            headers: vec![],
        })
        .collect();
    produce(topic, &records, true);
}

const CONSUME: &str = r#"
import json, sys
from kafka import KafkaConsumer, TopicPartition
a = json.load(sys.stdin)
c = KafkaConsumer(bootstrap_servers=a["bootstrap"], enable_auto_commit=False)
parts = c.partitions_for_topic(a["topic"]) or set()
tps = [TopicPartition(a["topic"], p) for p in sorted(parts)]
out = []
if tps:
    c.assign(tps)
    c.seek_to_beginning()
    # The broker's ListOffsets "latest" cannot be trusted (see the planning test), so read until
    # four polls in a row bring nothing.
    idle = 0
    while idle < 4:
        batch = c.poll(timeout_ms=400)
        if not batch:
            idle += 1
        for tp, msgs in batch.items():
            idle = 0
            for m in msgs:
                dec = lambda b: None if b is None else b.decode("utf-8", "replace")
                out.append({"partition": m.partition, "offset": m.offset, "key": dec(m.key),
                            "value": dec(m.value),
                            "headers": [[k, dec(v)] for k, v in (m.headers or [])]})
c.close()
print(json.dumps(out))
"#;

/// Every record of `topic`, read with kafka-python from the beginning, with its offset, sorted
/// by partition and offset.
pub fn consume_all(topic: &str) -> Vec<(Record, i64)> {
    let out = python(CONSUME, serde_json::json!({"topic": topic}));
    let text = |v: &serde_json::Value| v.as_str().map(String::from);
    let mut records: Vec<(Record, i64)> = out
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            let headers = r["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| (text(&h[0]).unwrap_or_default(), text(&h[1]).unwrap_or_default()))
                .collect();
            let record = Record {
                partition: r["partition"].as_i64().expect("partition") as i32,
                key: text(&r["key"]),
                value: text(&r["value"]),
                headers,
            };
            (record, r["offset"].as_i64().expect("offset"))
        })
        .collect();
    records.sort_by_key(|(r, offset)| (r.partition, *offset));
    records
}

const DELETE: &str = r#"
import json, sys, time
from kafka.admin import KafkaAdminClient
a = json.load(sys.stdin)
admin = KafkaAdminClient(bootstrap_servers=a["bootstrap"])
admin.delete_topics([a["topic"]])
for _ in range(100):
    if a["topic"] not in admin.list_topics():
        break
    time.sleep(0.05)
admin.close()
print("null")
"#;

/// Deletes `topic` and waits until the broker no longer lists it.
pub fn delete_topic(topic: &str) {
    python(DELETE, serde_json::json!({"topic": topic}));
}

/// A broker of one test's own, for tests that kill it; killed when dropped.
pub struct PrivateBroker {
    /// `host:port`.
    pub bootstrap: String,
    child: std::process::Child,
}

impl PrivateBroker {
    /// Starts a broker on a free loopback port, from the same installation as the shared one.
    pub fn start() -> PrivateBroker {
        let tansu = broker()
            .python
            .parent()
            .expect("the venv's bin folder")
            .join("tansu");
        let port = super::free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a private tansu broker");
        let bootstrap = format!("127.0.0.1:{port}");
        wait_for(&bootstrap);
        PrivateBroker { bootstrap, child }
    }

    /// Kills the broker (SIGKILL) and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

const PARTITIONS: &str = r#"
import json, sys
from kafka.partitioner.default import murmur2
a = json.load(sys.stdin)
print(json.dumps([(murmur2(k.encode("utf-8")) & 0x7fffffff) % a["partitions"] for k in a["keys"]]))
"#;

/// The partition of each key under the Java producer's default partitioner, computed by
/// kafka-python's own port of it.
pub fn java_partitions(keys: &[String], partitions: u32) -> Vec<i32> {
    let out = python(
        PARTITIONS,
        serde_json::json!({"keys": keys, "partitions": partitions}),
    );
    out.as_array()
        .expect("a list")
        .iter()
        .map(|p| p.as_i64().expect("a partition") as i32)
        .collect()
}

const PRODUCE_AT: &str = r#"
import json, sys
from kafka import KafkaProducer
a = json.load(sys.stdin)
p = KafkaProducer(bootstrap_servers=a["bootstrap"], linger_ms=20)
for partition, value, ms in a["records"]:
    p.send(a["topic"], value=value.encode("utf-8"), partition=partition, timestamp_ms=ms)
p.flush()
p.close()
print("null")
"#;

/// Writes `(partition, value, timestamp in ms)` records with those timestamps.
pub fn produce_at(topic: &str, records: &[(i32, String, i64)]) {
    python(
        PRODUCE_AT,
        serde_json::json!({"topic": topic, "records": records}),
    );
}
