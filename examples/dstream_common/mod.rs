//! What the DStream examples share: their command line and the words of a line.

use std::time::Duration;

use clap::Args;
use tidewater::dstream::{DStream, StreamingConfig, StreamingContext};
use tidewater::runtime::ClusterArgs;

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
    /// Where the workers run.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl StreamArgs {
    /// A context named `app_name` with these workers and batch interval, and the words of
    /// the lines read from the socket.
    pub fn words(&self, app_name: &str) -> tidewater::Result<(StreamingContext, DStream<String>)> {
        let conf = StreamingConfig::new()
            .app_name(app_name)
            .cluster(self.cluster.config());
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
