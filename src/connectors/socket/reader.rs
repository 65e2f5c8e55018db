//! The socket source's reading thread and the worker-side end of its channel.

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smol_str::SmolStr;
use tracing::{debug, info, warn};

use super::SocketSource;
use crate::connectors::{ReadStatus, SourceError, SourceReader, Wake};
use crate::data::{Decoded, Row, Value};

/// Lines per message on the channel: amortises the channel and the wake-ups.
const CHUNK: usize = 1024;
/// Messages the channel holds before the reading thread waits (backpressure).
const CHANNEL_CAPACITY: usize = 64;
const MAX_BACKOFF: Duration = Duration::from_secs(2);

enum Message {
    Rows(Vec<Row>),
    Failed(SourceError),
    Closed,
}

/// The worker's end: drains the channel, never blocks.
pub(super) struct SocketReader {
    receiver: Receiver<Message>,
    /// Rows received but not yet handed out (when a poll asked for fewer than a chunk).
    spill: Vec<Row>,
    finished: bool,
    stop: Arc<AtomicBool>,
    connection: Arc<Mutex<Option<TcpStream>>>,
}

impl SocketReader {
    pub(super) fn spawn(config: SocketSource, wake: Wake) -> Self {
        let (sender, receiver) = sync_channel(CHANNEL_CAPACITY);
        let stop = Arc::new(AtomicBool::new(false));
        let connection = Arc::new(Mutex::new(None));
        let thread_stop = stop.clone();
        let thread_connection = connection.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("socket-{}", config.address()))
            .spawn(move || {
                let end = read_connection(&config, &sender, &wake, &thread_stop, &thread_connection);
                // The worker may have gone (query stopped): nothing left to tell then.
                let _ = sender.send(end);
                wake.wake();
            });
        let mut reader = SocketReader {
            receiver,
            spill: Vec::new(),
            finished: false,
            stop,
            connection,
        };
        if let Err(e) = spawned {
            let (sender, receiver) = sync_channel(1);
            let _ = sender.send(Message::Failed(SourceError::Read {
                source_name: "socket".into(),
                reason: format!("could not start the reading thread: {e}"),
            }));
            reader.receiver = receiver;
        }
        reader
    }
}

impl SourceReader for SocketReader {
    fn poll(&mut self, out: &mut Vec<Row>, max: usize) -> Result<ReadStatus, SourceError> {
        let take = |rows: &mut Vec<Row>, out: &mut Vec<Row>, room: usize| {
            let n = rows.len().min(room);
            out.extend(rows.drain(..n));
        };
        take(&mut self.spill, out, max);
        while out.len() < max && !self.finished {
            match self.receiver.try_recv() {
                Ok(Message::Rows(mut rows)) => {
                    let room = max - out.len();
                    take(&mut rows, out, room);
                    self.spill = rows;
                }
                Ok(Message::Failed(e)) => {
                    self.finished = true;
                    return Err(e);
                }
                Ok(Message::Closed) | Err(TryRecvError::Disconnected) => self.finished = true,
                Err(TryRecvError::Empty) => break,
            }
        }
        Ok(if self.finished && self.spill.is_empty() {
            ReadStatus::Exhausted
        } else {
            ReadStatus::Open
        })
    }
}

impl Drop for SocketReader {
    /// Unblocks the reading thread: it is either retrying (sees the flag) or in a read (the
    /// shutdown makes the read return).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(guard) = self.connection.lock() {
            if let Some(stream) = guard.as_ref() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

fn connect(config: &SocketSource, stop: &AtomicBool) -> Result<TcpStream, SourceError> {
    let address = config.address();
    let mut backoff = config.first_backoff;
    let mut attempt = 0;
    loop {
        match TcpStream::connect(&address) {
            Ok(stream) => return Ok(stream),
            Err(e) if attempt < config.retries && !stop.load(Ordering::SeqCst) => {
                attempt += 1;
                warn!(
                    "{address} refused the connection ({e}); is the server running? retrying in {} ms ({attempt}/{})",
                    backoff.as_millis(),
                    config.retries
                );
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                return Err(SourceError::Connect {
                    source_name: "socket source".into(),
                    address,
                    reason: format!("{e} (after {attempt} retries)"),
                });
            }
        }
    }
}

/// Reads lines until the peer closes the connection; returns the message that ends the stream.
fn read_connection(
    config: &SocketSource,
    sender: &SyncSender<Message>,
    wake: &Wake,
    stop: &AtomicBool,
    connection: &Mutex<Option<TcpStream>>,
) -> Message {
    let stream = match connect(config, stop) {
        Ok(stream) => stream,
        Err(e) => return Message::Failed(e),
    };
    info!("connected to {}", config.address());
    if let (Ok(clone), Ok(mut guard)) = (stream.try_clone(), connection.lock()) {
        *guard = Some(clone);
    }
    let mut reader = BufReader::with_capacity(1 << 16, stream);
    let mut line = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut invalid_utf8 = 0u64;
    let mut skipped = Skipped::default();
    loop {
        line.clear();
        let read = match read_line(&mut reader, &mut line, config.max_line_length) {
            Ok(Line::Kept(n)) => n,
            Ok(Line::TooLong(n)) => {
                skipped.too_long += 1;
                warn!(
                    "socket source {}: skipped a line of {n} bytes, longer than maxLineLength = {} \
                     ({} such line(s) so far); it starts `{}`",
                    config.address(),
                    config.max_line_length,
                    skipped.too_long,
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                );
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if stop.load(Ordering::SeqCst) => {
                debug!("socket closed on stop: {e}");
                0
            }
            Err(e) => {
                return Message::Failed(SourceError::Read {
                    source_name: format!("socket source {}", config.address()),
                    reason: e.to_string(),
                });
            }
        };
        if read > 0 {
            // Like Java's readLine: strip "\n", "\r\n" (and a lone trailing "\r").
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let text = match std::str::from_utf8(&line) {
                Ok(text) => SmolStr::new(text),
                Err(_) => {
                    invalid_utf8 += 1;
                    SmolStr::new(String::from_utf8_lossy(&line))
                }
            };
            let decoded = match &config.records {
                None => {
                    let mut row = Row::with_capacity(1 + usize::from(config.include_timestamp));
                    row.push(Value::Str(text));
                    Some(row)
                }
                Some(records) => {
                    let fields: Vec<&str> = text.split(records.sep.as_str()).collect();
                    match records
                        .decoder
                        .decode_fields(fields.into_iter(), || text.to_string())
                    {
                        Decoded::Row(row) | Decoded::Repaired(row, _) => Some(row),
                        Decoded::Dropped(reason) => {
                            skipped.malformed += 1;
                            // Each drop at debug level, as the files' readers log them; at
                            // warning level the first and then every tenfold, with the count.
                            debug!("socket line dropped (DROPMALFORMED): `{text}`: {reason}");
                            if skipped.malformed == 10u64.pow(skipped.malformed.ilog10()) {
                                warn!(
                                    "socket source {}: {} malformed line(s) dropped (DROPMALFORMED); the latest: `{text}`: {reason}",
                                    config.address(),
                                    skipped.malformed
                                );
                            }
                            None
                        }
                        Decoded::Failed(reason) => {
                            return Message::Failed(SourceError::Malformed(format!(
                                "socket source {}: malformed line `{text}`: {reason}",
                                config.address()
                            )));
                        }
                    }
                }
            };
            if let Some(mut row) = decoded {
                if config.include_timestamp {
                    row.push(Value::Timestamp(chrono::Utc::now().timestamp_micros()));
                }
                chunk.push(row);
            }
        }
        let at_end = read == 0;
        if !chunk.is_empty() && (at_end || chunk.len() >= CHUNK || reader.buffer().is_empty()) {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if sender.send(Message::Rows(full)).is_err() {
                return Message::Closed; // the query is gone
            }
            wake.wake();
        }
        if at_end {
            if invalid_utf8 > 0 {
                warn!("{invalid_utf8} line(s) were not valid UTF-8; invalid bytes became U+FFFD");
            }
            if skipped.malformed > 0 || skipped.too_long > 0 {
                warn!(
                    "socket source {}: {} malformed line(s) dropped (DROPMALFORMED), {} line(s) longer than maxLineLength = {} skipped",
                    config.address(),
                    skipped.malformed,
                    skipped.too_long,
                    config.max_line_length
                );
            }
            info!(
                "{} closed the connection; the socket source is exhausted",
                config.address()
            );
            return Message::Closed;
        }
    }
}

/// Lines the socket source skipped, for its log.
#[derive(Default)]
struct Skipped {
    /// Dropped as malformed (DROPMALFORMED).
    malformed: u64,
    /// Longer than `maxLineLength`.
    too_long: u64,
}

/// What [`read_line`] read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line of this many bytes (with its line end), or 0 at the end of the stream.
    Kept(usize),
    /// A line of this many bytes, longer than the limit: only its first bytes are in `line`.
    TooLong(usize),
}

/// Reads up to and including the next `\n` into `line`, as `read_until` does, but keeps at
/// most `max` bytes (plus the line end): the rest of a longer line is read and dropped, so
/// its memory is bounded.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    let mut total = 0;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            break;
        }
        let (take, ended) = match buffer.iter().position(|b| *b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buffer.len(), false),
        };
        // The content may be `max` bytes long, then "\r\n"; one byte more tells it is longer.
        let room = (max + 2).saturating_sub(line.len());
        line.extend_from_slice(&buffer[..take.min(room)]);
        total += take;
        reader.consume(take);
        if ended {
            break;
        }
    }
    let content = total - usize::from(line.last() == Some(&b'\n'));
    let content =
        content - usize::from(line.len() >= 2 && line[line.len() - 2] == b'\r' && line.ends_with(b"\n"));
    Ok(if content > max {
        Line::TooLong(total)
    } else {
        Line::Kept(total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_in_bounded_memory() {
        let input = format!("short\n{}\nnext\r\nlast", "x".repeat(100_000));
        let mut reader = std::io::BufReader::with_capacity(64, input.as_bytes());
        let mut line = Vec::new();
        let mut read = || {
            line.clear();
            let what = read_line(&mut reader, &mut line, 10).expect("in memory");
            (what, line.clone())
        };
        assert_eq!(read(), (Line::Kept(6), b"short\n".to_vec()));
        let (what, kept) = read();
        assert_eq!(what, Line::TooLong(100_001));
        assert!(kept.len() <= 12, "kept {} bytes", kept.len());
        assert_eq!(read(), (Line::Kept(6), b"next\r\n".to_vec()));
        assert_eq!(read(), (Line::Kept(4), b"last".to_vec()));
        assert_eq!(read(), (Line::Kept(0), Vec::new()));
        let mut exact = std::io::BufReader::new("0123456789\n".as_bytes());
        let mut line = Vec::new();
        assert_eq!(
            read_line(&mut exact, &mut line, 10).expect("in memory"),
            Line::Kept(11)
        );
    }
}
