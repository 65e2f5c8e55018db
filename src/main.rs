//! The `tidewater` command line.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tidewater::demo::{tale_lines, TextServer};
use tidewater::prelude::*;
use tidewater::session::ScriptDefaults;

/// Spark-style streaming on timely and differential dataflow.
#[derive(Parser, Debug)]
#[command(name = "tidewater", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the socket word count of Spark's guide against a built-in local server that streams
    /// a bundled public-domain text, printing Spark-style batches; exits when the text ends.
    Demo(DemoArgs),
    /// Runs a streaming SQL script: its CREATE statements declare streams, tables and sinks,
    /// and each INSERT INTO or bare SELECT starts a query; ends when all queries have ended.
    Run(ScriptArgs),
    /// Prints each query's logical plan and the dataflow it compiles to, without running it.
    Explain(ScriptArgs),
}

#[derive(Args, Debug)]
struct ScriptArgs {
    /// The script file.
    #[arg(required_unless_present = "execute", conflicts_with = "execute")]
    file: Option<std::path::PathBuf>,
    /// The script itself, instead of a file.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    execute: Option<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Output mode for sinks that set none (default: complete for aggregations, else append).
    #[arg(long)]
    output_mode: Option<String>,
    /// Trigger for sinks that set none: an interval like `1 second`, `once` or `availableNow`.
    #[arg(long)]
    trigger: Option<String>,
    /// A session setting, as spark-submit takes it: `KEY=VALUE` (repeatable), e.g.
    /// `spark.sql.autoBroadcastJoinThreshold=-1`.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// The checkpoint root: each query keeps its checkpoint in DIR/<its sink's name> and, when
    /// run again, resumes where it stopped (`spark.sql.streaming.checkpointLocation`).
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<std::path::PathBuf>,
}

impl ScriptArgs {
    fn script(&self) -> anyhow::Result<String> {
        match (&self.execute, &self.file) {
            (Some(sql), _) => Ok(sql.clone()),
            (None, Some(path)) => {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            }
            (None, None) => anyhow::bail!("give a script file or -e 'SQL'"),
        }
    }

    fn defaults(&self) -> anyhow::Result<ScriptDefaults> {
        Ok(ScriptDefaults {
            output_mode: self.output_mode.clone(),
            trigger: self.trigger.as_deref().map(Trigger::parse).transpose()?,
        })
    }

    fn session(&self) -> anyhow::Result<Session> {
        let mut builder = Session::builder()
            .app_name("tidewater-sql")
            .cluster(self.cluster.config());
        for setting in &self.conf {
            let Some((key, value)) = setting.split_once('=') else {
                anyhow::bail!("--conf `{setting}`: use KEY=VALUE");
            };
            builder = builder.config(key.trim(), value.trim());
        }
        if let Some(root) = &self.checkpoint {
            builder = builder.config(tidewater::session::conf::CHECKPOINT_LOCATION, root.display());
        }
        Ok(builder.get_or_create()?)
    }
}

fn run(args: &ScriptArgs) -> anyhow::Result<()> {
    let script = args.script()?;
    let queries = args.session()?.run_script(&script, &args.defaults()?)?;
    let mut first_failure = None;
    for query in &queries {
        if let Err(e) = query.await_termination() {
            first_failure.get_or_insert(e);
        }
    }
    first_failure.map_or(Ok(()), |e| Err(e.into()))
}

fn explain(args: &ScriptArgs) -> anyhow::Result<()> {
    let script = args.script()?;
    print!("{}", args.session()?.explain_script(&script, &args.defaults()?)?);
    Ok(())
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// complete or update.
    #[arg(long, default_value = "complete")]
    output_mode: String,
    /// Lines the built-in server sends at a time.
    #[arg(long, default_value_t = 6)]
    burst: usize,
    /// Pause between bursts, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pause_ms: u64,
    /// Rows the console shows per batch.
    #[arg(long, default_value_t = 20)]
    num_rows: usize,
    /// Read this server (e.g. one started with `nc -lk 9999`) instead of the built-in one.
    #[arg(long)]
    port: Option<u16>,
    /// Host of the server given with --port.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// Connection attempts to retry (with backoff) while the server refuses.
    #[arg(long, default_value_t = 10)]
    connect_retries: u32,
}

fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    // Only the process that reads the socket (process 0) needs the built-in server.
    let server = match args.port {
        None if args.cluster.process == 0 => Some(
            TextServer::start(tale_lines(), args.burst, Duration::from_millis(args.pause_ms))
                .context("starting the built-in text server")?,
        ),
        _ => None,
    };
    let (host, port) = match &server {
        Some(server) => ("127.0.0.1".to_string(), server.port()),
        None => (args.host.clone(), args.port.unwrap_or(0)),
    };
    let spark = Session::builder()
        .app_name("StructuredNetworkWordCount")
        .cluster(args.cluster.config())
        .get_or_create()?;
    let lines = spark
        .read_stream()
        .format("socket")
        .option("host", host)
        .option("port", port)
        .option("connectRetries", args.connect_retries)
        .load()?;
    let words = lines.select([explode(split(col("value"), " ")).alias("word")])?;
    let word_counts = words.group_by([col("word")]).count()?;
    let query = word_counts
        .write_stream()
        .output_mode(&args.output_mode)
        .format("console")
        .option("numRows", args.num_rows)
        .start()?;
    query.await_termination()?;
    if let Some(server) = server {
        server.join().context("the built-in text server")?;
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TIDEWATER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A log line that cannot be written (stderr closed) must not become a panic.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Demo(args) => demo(args),
        Command::Run(args) => run(args),
        Command::Explain(args) => explain(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // stderr may be closed too: a failed write must not panic.
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            let user_error = e.downcast_ref::<Error>().is_some_and(Error::is_user_error);
            ExitCode::from(if user_error { 2 } else { 1 })
        }
    }
}
