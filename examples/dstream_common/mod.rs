//! What the DStream examples share: their command line and the words of a line.

use std::time::Duration;

use clap::Args;
use tidewater::dstream::{DStream, StreamingConfig, StreamingContext};
use tidewater::runtime::ClusterConfig;

/// The socket to read, the batch interval, and where the workers run.
#[derive(Args, Debug)]
pub struct StreamArgs {
    /// The server to read lines from.
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// The server's port.
    #[arg(long, default_value_t = 9999)]
    pub port: u16,
    /// The batch interval in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub batch_ms: u64,
    /// Worker threads per process.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Processes in a cluster run.
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// This process's index in a cluster run.
    #[arg(long, default_value_t = 0)]
    pub process: usize,
    /// One host:port per process.
    #[arg(long)]
    pub hostfile: Option<std::path::PathBuf>,
}

impl StreamArgs {
    /// A context named `app_name` with these workers and batch interval, and the words of
    /// the lines read from the socket.
    pub fn words(&self, app_name: &str) -> tidewater::Result<(StreamingContext, DStream<String>)> {
        let cluster = ClusterConfig {
            workers: self.workers,
            processes: self.processes,
            process: self.process,
            hostfile: self.hostfile.clone(),
        };
        let conf = StreamingConfig::new().app_name(app_name).cluster(cluster);
        let ssc = StreamingContext::new(conf, Duration::from_millis(self.batch_ms))?;
        let lines = ssc.socket_text_stream(&self.host, self.port);
        // The non-empty pieces between spaces.
        let words = lines.flat_map(|line: String| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        });
        Ok((ssc, words))
    }
}
