//! The embedded default: a local text server, so that `tidewater demo` (and the tests) can run
//! the socket word count with nothing else installed.
//!
//! [`TextServer`] listens on a free loopback port, accepts one connection, sends its lines in
//! bursts, and closes the connection, which ends the query reading it.

use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

/// The bundled text: the opening of Charles Dickens's *A Tale of Two Cities* (1859), in the
/// public domain.
pub const TALE_OF_TWO_CITIES: &str = include_str!("../data/a_tale_of_two_cities.txt");

/// A one-connection line server on 127.0.0.1.
pub struct TextServer {
    address: SocketAddr,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TextServer {
    /// Serves `lines` to the first client, `burst` lines at a time with `pause` between
    /// bursts, then closes the connection.
    pub fn start(lines: Vec<String>, burst: usize, pause: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let thread = std::thread::Builder::new().name("text-server".into()).spawn(
            move || -> std::io::Result<()> {
                let (stream, peer) = listener.accept()?;
                tracing::debug!("text server: {peer} connected");
                let mut out = BufWriter::new(stream);
                for chunk in lines.chunks(burst.max(1)) {
                    for line in chunk {
                        out.write_all(line.as_bytes())?;
                        out.write_all(b"\n")?;
                    }
                    out.flush()?;
                    if !pause.is_zero() {
                        std::thread::sleep(pause);
                    }
                }
                out.flush()
            },
        )?;
        Ok(TextServer {
            address,
            thread: Some(thread),
        })
    }

    /// The address clients connect to.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Waits for the server to finish sending; returns its I/O error, if any.
    pub fn join(mut self) -> std::io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the text server thread panicked")),
            None => Ok(()),
        }
    }
}

/// The bundled text's lines.
pub fn tale_lines() -> Vec<String> {
    TALE_OF_TWO_CITIES.lines().map(String::from).collect()
}
