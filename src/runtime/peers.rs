//! Forming a cluster: every process connects to the others itself, authenticates them, and
//! only then hands the sockets to timely, which carries all the data.
//!
//! Timely's own start-up trusts whoever connects first: eight zero bytes crash the process
//! that listens, a silent connection stalls it, and anyone who says "I am process 1" receives
//! that process's share of the rows. Here each connection first passes a handshake:
//!
//! 1. The process that connects (the higher index, as in timely) sends a greeting: a magic
//!    string, the cluster's size, its own index, the index it expects to reach, and a nonce.
//! 2. The process that accepts answers with its own nonce and an HMAC-SHA256, under the shared
//!    secret, of the greeting and that nonce: the connecting side learns that it reached a
//!    process that knows the secret.
//! 3. The connecting side proves the same with an HMAC of its own, and the accepting side
//!    gives its verdict in one byte.
//!
//! A connection that says nothing within [`HANDSHAKE_TIMEOUT`], sends garbage, claims an index
//! that is not expected or already taken, or does not know the secret is rejected with a log
//! line, and the cluster goes on waiting for the real peer. Each handshake runs on a thread of
//! its own, so a stranger cannot hold up the others.
//!
//! When every host is on loopback the secret may be left out (an empty key); the handshake then
//! still keeps out garbage and silent connections, but not an impostor on the same machine.
//! A cluster with any other host must have a secret.
//!
//! Once running, a peer that goes away makes timely's network threads panic. [`watch_losses`]
//! turns that into one clear error ("process 1 (127.0.0.1:2102) disconnected") for the query
//! handles, instead of a panic trace per thread.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ClusterConfig;
use crate::error::{ClusterError, Error, Result};

/// How long a connection may take to introduce itself before it is dropped.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between attempts to reach a peer that is not listening yet.
const RETRY: Duration = Duration::from_millis(100);
/// The first bytes of every greeting: the protocol and its version.
const MAGIC: &[u8; 8] = b"TIDEWTR1";
/// Bytes of a nonce.
const NONCE: usize = 16;
/// Bytes of an HMAC-SHA256.
const TAG: usize = 32;
/// Bytes of a greeting: magic, processes, from, to (u32 each), nonce.
const GREETING: usize = MAGIC.len() + 12 + NONCE;
/// The verdict byte of an accepted connection.
const ACCEPTED: u8 = 1;

type HmacSha256 = Hmac<Sha256>;

/// One connected, authenticated socket per other process, in process order, with `None` at
/// this process's own index: the shape timely's `initialize_networking_from_sockets` takes.
pub(crate) fn form(cluster: &ClusterConfig, addresses: &[String]) -> Result<Vec<Option<TcpStream>>> {
    let me = cluster.process;
    let key = cluster.secret_bytes();
    let deadline = Instant::now() + cluster.timeout;
    let listener = TcpListener::bind(&addresses[me]).map_err(|e| ClusterError::Bind {
        address: addresses[me].clone(),
        reason: e.to_string(),
    })?;
    listener.set_nonblocking(true).map_err(|e| ClusterError::Bind {
        address: addresses[me].clone(),
        reason: e.to_string(),
    })?;

    let (joined_tx, joined_rx) = mpsc::channel::<Joined>();
    // Outgoing: one thread per lower-indexed process, each retrying until the deadline.
    for (peer, address) in addresses.iter().enumerate().take(me) {
        let joined = joined_tx.clone();
        let address = address.clone();
        let key = key.clone();
        let processes = cluster.processes;
        spawn_named(format!("tidewater-connect-{peer}"), move || {
            let outcome = connect(&address, processes, me, peer, &key, deadline);
            let _ = joined.send(Joined { peer, outcome });
        })?;
    }

    let mut sockets: Vec<Option<TcpStream>> = (0..cluster.processes).map(|_| None).collect();
    let mut failures: Vec<Option<String>> = vec![None; cluster.processes];
    let mut outstanding = cluster.processes - 1;
    while outstanding > 0 {
        accept_pending(&listener, cluster, &key, &joined_tx);
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let wait = deadline
            .saturating_duration_since(now)
            .min(Duration::from_millis(20));
        match joined_rx.recv_timeout(wait) {
            Ok(Joined { peer, outcome }) => match outcome {
                Ok(stream) if sockets[peer].is_none() => {
                    tracing::debug!("cluster: process {peer} ({}) joined", addresses[peer]);
                    sockets[peer] = Some(stream);
                    outstanding -= 1;
                }
                Ok(_) => tracing::warn!(
                    "cluster: rejected a second connection claiming process {peer}: it has already joined"
                ),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retryable(reason)) => failures[peer] = Some(reason),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let missing: Vec<String> = (0..cluster.processes)
        .filter(|&p| p != me && sockets[p].is_none())
        .map(|p| {
            let why = failures[p]
                .take()
                .unwrap_or_else(|| "never connected".to_string());
            format!("process {p} ({}): {why}", addresses[p])
        })
        .collect();
    if !missing.is_empty() {
        return Err(ClusterError::Timeout {
            seconds: cluster.timeout.as_secs_f64(),
            missing: missing.join("; "),
        }
        .into());
    }
    for stream in sockets.iter().flatten() {
        // Handshake reads had timeouts; timely's threads block.
        let _ = stream.set_read_timeout(None);
        let _ = stream.set_write_timeout(None);
    }
    Ok(sockets)
}

/// A peer that finished its handshake, or why it could not.
struct Joined {
    peer: usize,
    outcome: std::result::Result<TcpStream, Failure>,
}

/// Why a connection to a peer failed.
enum Failure {
    /// Worth another try (the peer is not up yet); the reason is kept for the timeout's error.
    Retryable(String),
    /// The cluster cannot form (the peer does not know our secret).
    Fatal(Error),
}

/// Accepts every connection waiting on the listener and starts its handshake.
fn accept_pending(
    listener: &TcpListener,
    cluster: &ClusterConfig,
    key: &Arc<[u8]>,
    joined: &mpsc::Sender<Joined>,
) {
    loop {
        match listener.accept() {
            Ok((stream, from)) => {
                let joined = joined.clone();
                let key = key.clone();
                let (me, processes) = (cluster.process, cluster.processes);
                let started = spawn_named(format!("tidewater-handshake-{from}"), move || {
                    match accept(stream, processes, me, &key) {
                        Ok((peer, stream)) => {
                            let _ = joined.send(Joined {
                                peer,
                                outcome: Ok(stream),
                            });
                        }
                        Err(reason) => {
                            tracing::warn!("cluster: rejected a connection from {from}: {reason}")
                        }
                    }
                });
                if let Err(e) = started {
                    tracing::warn!("cluster: could not handle a connection from {from}: {e}");
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => {
                tracing::warn!("cluster: accepting a connection failed: {e}");
                return;
            }
        }
    }
}

/// The accepting side of a handshake: who the peer is, or why it was rejected.
fn accept(
    mut stream: TcpStream,
    processes: usize,
    me: usize,
    key: &[u8],
) -> std::result::Result<(usize, TcpStream), String> {
    let limit = Some(HANDSHAKE_TIMEOUT);
    stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(limit))
        .and_then(|()| stream.set_write_timeout(limit))
        .map_err(|e| e.to_string())?;
    // The magic first, so that garbage is turned away as soon as it arrives.
    let mut greeting = [0u8; GREETING];
    let (magic, rest) = greeting.split_at_mut(MAGIC.len());
    stream.read_exact(magic).map_err(|e| silent(&e))?;
    if magic != MAGIC {
        return Err("it is not a Tidewater cluster process (unknown greeting)".into());
    }
    stream.read_exact(rest).map_err(|e| silent(&e))?;
    let hello =
        Greeting::parse(&greeting).ok_or("it is not a Tidewater cluster process (unknown greeting)")?;
    if hello.processes != processes {
        return Err(format!(
            "it belongs to a cluster of {} processes, this one has {processes}",
            hello.processes
        ));
    }
    if hello.to != me || hello.from <= me || hello.from >= processes {
        return Err(format!(
            "it claims to be process {} calling process {}, which is not a connection process {me} accepts",
            hello.from, hello.to
        ));
    }
    let nonce = fresh_nonce();
    let mut reply = Vec::with_capacity(NONCE + TAG);
    reply.extend_from_slice(&nonce);
    reply.extend_from_slice(&tag(key, b"accept", &greeting, &nonce));
    stream
        .write_all(&reply)
        .map_err(|e| format!("answering it failed: {e}"))?;
    let mut proof = [0u8; TAG];
    stream.read_exact(&mut proof).map_err(|e| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            "it did not prove it knows the cluster secret in time".to_string()
        }
        _ => format!("it claims to be process {} but did not prove it: {e}", hello.from),
    })?;
    if !verify(key, b"connect", &greeting, &nonce, &proof) {
        return Err(format!(
            "it claims to be process {} but does not know the cluster secret",
            hello.from
        ));
    }
    stream
        .write_all(&[ACCEPTED])
        .map_err(|e| format!("confirming it failed: {e}"))?;
    Ok((hello.from, stream))
}

/// Why a peer's greeting did not arrive.
fn silent(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => format!(
            "it did not introduce itself within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        ),
        ErrorKind::UnexpectedEof => "it closed the connection before introducing itself".into(),
        _ => format!("reading its greeting failed: {e}"),
    }
}

/// The connecting side: reaches `peer` at `address`, retrying while it is not up, until the
/// deadline.
fn connect(
    address: &str,
    processes: usize,
    me: usize,
    peer: usize,
    key: &[u8],
    deadline: Instant,
) -> std::result::Result<TcpStream, Failure> {
    let mut last = String::from("never reached");
    while Instant::now() < deadline {
        match try_connect(address, processes, me, peer, key, deadline) {
            Ok(stream) => return Ok(stream),
            Err(Failure::Retryable(reason)) => last = reason,
            Err(fatal) => return Err(fatal),
        }
        std::thread::sleep(RETRY.min(deadline.saturating_duration_since(Instant::now())));
    }
    Err(Failure::Retryable(last))
}

fn try_connect(
    address: &str,
    processes: usize,
    me: usize,
    peer: usize,
    key: &[u8],
    deadline: Instant,
) -> std::result::Result<TcpStream, Failure> {
    let retry = |what: &str, e: std::io::Error| Failure::Retryable(format!("{what}: {e}"));
    let target: SocketAddr = address
        .to_socket_addrs()
        .map_err(|e| retry("cannot resolve its address", e))?
        .next()
        .ok_or_else(|| Failure::Retryable("its address resolves to nothing".into()))?;
    let remaining = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let mut stream = TcpStream::connect_timeout(&target, remaining.min(HANDSHAKE_TIMEOUT))
        .map_err(|e| retry("cannot connect", e))?;
    let limit = Some(HANDSHAKE_TIMEOUT);
    stream
        .set_read_timeout(limit)
        .and_then(|()| stream.set_write_timeout(limit))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|e| retry("cannot set up the socket", e))?;
    let greeting = Greeting {
        processes,
        from: me,
        to: peer,
        nonce: fresh_nonce(),
    }
    .bytes();
    stream
        .write_all(&greeting)
        .map_err(|e| retry("sending the greeting failed", e))?;
    let mut reply = [0u8; NONCE + TAG];
    stream
        .read_exact(&mut reply)
        .map_err(|e| retry("it did not answer the greeting", e))?;
    let (nonce, their_tag) = reply.split_at(NONCE);
    if !verify(key, b"accept", &greeting, nonce, their_tag) {
        return Err(Failure::Fatal(
            ClusterError::Unauthenticated {
                process: peer,
                address: address.to_string(),
            }
            .into(),
        ));
    }
    stream
        .write_all(&tag(key, b"connect", &greeting, nonce))
        .map_err(|e| retry("sending our proof failed", e))?;
    let mut verdict = [0u8; 1];
    stream
        .read_exact(&mut verdict)
        .map_err(|e| retry("it did not confirm the connection", e))?;
    if verdict[0] != ACCEPTED {
        return Err(Failure::Retryable("it refused the connection".into()));
    }
    Ok(stream)
}

/// The first message of a handshake.
struct Greeting {
    processes: usize,
    from: usize,
    to: usize,
    nonce: [u8; NONCE],
}

impl Greeting {
    fn bytes(&self) -> [u8; GREETING] {
        let mut out = [0u8; GREETING];
        out[..8].copy_from_slice(MAGIC);
        out[8..12].copy_from_slice(&(self.processes as u32).to_be_bytes());
        out[12..16].copy_from_slice(&(self.from as u32).to_be_bytes());
        out[16..20].copy_from_slice(&(self.to as u32).to_be_bytes());
        out[20..].copy_from_slice(&self.nonce);
        out
    }

    fn parse(bytes: &[u8; GREETING]) -> Option<Greeting> {
        if &bytes[..8] != MAGIC {
            return None;
        }
        let field =
            |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&bytes[20..]);
        Some(Greeting {
            processes: field(8),
            from: field(12),
            to: field(16),
            nonce,
        })
    }
}

/// Random bytes that make every handshake's tags new, so a recorded one cannot be replayed.
fn fresh_nonce() -> [u8; NONCE] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn keyed(key: &[u8], role: &[u8], greeting: &[u8], nonce: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(role);
    mac.update(greeting);
    mac.update(nonce);
    mac
}

fn tag(key: &[u8], role: &[u8], greeting: &[u8], nonce: &[u8]) -> [u8; TAG] {
    keyed(key, role, greeting, nonce).finalize().into_bytes().into()
}

/// Checks a peer's tag in constant time.
fn verify(key: &[u8], role: &[u8], greeting: &[u8], nonce: &[u8], their_tag: &[u8]) -> bool {
    keyed(key, role, greeting, nonce).verify_slice(their_tag).is_ok()
}

fn spawn_named(name: String, f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .map(drop)
        .map_err(|e| Error::Runtime(format!("could not start a cluster thread: {e}")))
}

/// Who to tell, and what, when a peer of the running cluster goes away.
struct LossWatch {
    addresses: Vec<String>,
    on_loss: Box<dyn Fn(Error) + Send + Sync>,
    lost: bool,
}

fn current_watch() -> &'static Mutex<Option<LossWatch>> {
    static WATCH: OnceLock<Mutex<Option<LossWatch>>> = OnceLock::new();
    WATCH.get_or_init(|| Mutex::new(None))
}

/// Reports a lost peer through `on_loss`, once, and keeps the panics that follow it in
/// timely's threads from printing traces.
///
/// Timely's network threads (named `timely:recv-N` and `timely:send-N`, N the peer) panic
/// with "timely communication error" when a socket closes under them; the worker threads then
/// panic in turn. A panic hook, installed once for the process, recognises the first, names
/// process N with its address, and stays quiet for the rest while a loss is known. Other panics
/// go to the hook that was there before.
pub(crate) fn watch_losses(addresses: Vec<String>, on_loss: impl Fn(Error) + Send + Sync + 'static) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !absorb_peer_panic(info) {
                previous(info);
            }
        }));
    });
    if let Ok(mut watch) = current_watch().lock() {
        *watch = Some(LossWatch {
            addresses,
            on_loss: Box::new(on_loss),
            lost: false,
        });
    }
}

/// How long a panic waits for a loss being reported before it is taken as a panic of its own.
const REPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// True if the panic is a lost peer (reported now) or follows one (silenced).
fn absorb_peer_panic(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let message = info
        .payload()
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| info.payload().downcast_ref::<&str>().copied())
        .unwrap_or("");
    let thread = std::thread::current();
    let peer = thread
        .name()
        .and_then(|name| {
            name.strip_prefix("timely:recv-")
                .or_else(|| name.strip_prefix("timely:send-"))
        })
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|_| message.starts_with("timely communication error"));
    // The lock is held while a loss is being reported. A lost socket fails the peer's receive
    // and send threads at once: the second to panic finds the first reporting, and is the same
    // loss. A worker thread can panic on the queue the network thread left poisoned while the
    // report is still being made: it waits for the report, to learn whether a loss is known.
    // (A plain `lock` could deadlock a panic inside the report itself: the wait is bounded.)
    let waiting_since = std::time::Instant::now();
    let mut guard = loop {
        match current_watch().try_lock() {
            Ok(guard) => break guard,
            Err(std::sync::TryLockError::WouldBlock) if peer.is_some() => return true,
            Err(std::sync::TryLockError::WouldBlock) if waiting_since.elapsed() < REPORT_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(std::sync::TryLockError::WouldBlock) => return false,
            Err(std::sync::TryLockError::Poisoned(_)) => return false,
        }
    };
    let Some(watch) = guard.as_mut() else {
        return false;
    };
    match peer {
        Some(peer) => {
            if !watch.lost {
                watch.lost = true;
                let address = watch.addresses.get(peer).cloned().unwrap_or_default();
                let error: Error = ClusterError::PeerLost {
                    process: peer,
                    address,
                    reason: message
                        .trim_start_matches("timely communication error: ")
                        .to_string(),
                }
                .into();
                tracing::error!("{error}");
                (watch.on_loss)(error);
            }
            true
        }
        // Once a peer is gone, the workers' panics are its echo.
        _ => watch.lost,
    }
}

/// True when `address` (`host:port`) is on this machine: a cluster of such addresses only may
/// leave the secret out.
pub(crate) fn is_loopback(address: &str) -> bool {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        let l = |a: &[&str]| a.iter().all(|address| is_loopback(address));
        assert!(l(&[
            "localhost:2101",
            "127.0.0.1:2102",
            "[::1]:2103",
            "127.1.2.3:9"
        ]));
        assert!(!l(&["localhost:2101", "10.0.0.2:2102"]));
        assert!(!l(&["node-b:2101"]));
    }

    #[test]
    fn a_greeting_round_trips_and_garbage_is_refused() {
        let g = Greeting {
            processes: 3,
            from: 2,
            to: 0,
            nonce: [7; NONCE],
        };
        let parsed = Greeting::parse(&g.bytes()).expect("parses");
        assert_eq!(
            (parsed.processes, parsed.from, parsed.to, parsed.nonce),
            (3, 2, 0, [7; NONCE])
        );
        assert!(Greeting::parse(&[0; GREETING]).is_none());
    }

    #[test]
    fn a_tag_binds_the_key_the_role_and_the_nonce() {
        let t = tag(b"secret", b"accept", b"hello", b"n1");
        assert!(verify(b"secret", b"accept", b"hello", b"n1", &t));
        assert!(!verify(b"other", b"accept", b"hello", b"n1", &t));
        assert!(!verify(b"secret", b"connect", b"hello", b"n1", &t));
        assert!(!verify(b"secret", b"accept", b"hello", b"n2", &t));
    }
}
