//! The `tidewater` command line.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tidewater::demo::{tale_lines, TextServer};
use tidewater::prelude::*;
use tidewater::session::ScriptDefaults;

/// The CLI's allocator: see the `mimalloc` feature in Cargo.toml for why.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Progress on stderr, one line per epoch: `text` (the default when stderr is a
    /// terminal), `json` (Spark's progress JSON, one object a line) or `off` (the default
    /// otherwise).
    #[arg(long, value_enum)]
    progress: Option<ProgressFormat>,
    /// The UI's port (`spark.ui.port`, default 4040; the next free one if it is taken).
    #[arg(long, value_name = "PORT", conflicts_with = "no_ui")]
    ui_port: Option<u16>,
    /// The address the UI binds (`spark.ui.host`, default 127.0.0.1).
    #[arg(long, value_name = "HOST", conflicts_with = "no_ui")]
    ui_host: Option<String>,
    /// Runs without the UI (`spark.ui.enabled=false`).
    #[arg(long)]
    no_ui: bool,
}

/// How `tidewater run` reports progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ProgressFormat {
    /// One readable line per epoch.
    Text,
    /// Spark's progress JSON, one object a line.
    Json,
    /// Nothing.
    Off,
}

/// Writes each epoch's progress on stderr, and, for a run that ends (once, availableNow)
/// over files on a terminal, a bar per query of the files read out of those known.
struct ProgressPrinter {
    format: ProgressFormat,
    bars: Option<Bars>,
}

/// The progress bars, one per query, drawn together.
struct Bars {
    all: indicatif::MultiProgress,
    by_query: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

/// Files read so far and files in all, when every source of the report is a file source
/// (its progress counts files in `numFiles`, its offsets in files, and its latest offset is
/// every file listed): the bar's position and length. `None` when the total is not known.
fn files_done(progress: &QueryProgress) -> Option<(u64, u64)> {
    let files = |s: &tidewater::runtime::SourceProgress| s.metrics.contains_key("numFiles");
    if progress.sources.is_empty() || !progress.sources.iter().all(files) {
        return None;
    }
    let read = progress.sources.iter().map(|s| s.end_offset).sum();
    let total = progress
        .sources
        .iter()
        .map(|s| s.latest_offset.max(s.end_offset))
        .sum();
    Some((read, total))
}

impl Bars {
    /// Moves the bar of the report's query (made at its first report); false when the
    /// report's total is not known (no bar then).
    fn update(&self, progress: &QueryProgress) -> bool {
        let Some((read, total)) = files_done(progress) else {
            return false;
        };
        let mut bars = self.by_query.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bars.entry(progress.id.clone()).or_insert_with(|| {
            let bar = self.all.add(indicatif::ProgressBar::new(total));
            let style =
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} files ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(
                progress
                    .name
                    .clone()
                    .unwrap_or_else(|| progress.id.chars().take(8).collect()),
            );
            bar
        });
        bar.set_length(total);
        bar.set_position(read);
        true
    }
}

impl StreamingQueryListener for ProgressPrinter {
    fn on_query_terminated(&self, event: &tidewater::runtime::QueryTerminatedEvent) {
        if let Some(bars) = &self.bars {
            let mut bars = bars.by_query.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(bar) = bars.remove(&event.id.to_string()) {
                bar.finish();
            }
        }
    }

    fn on_query_progress(&self, event: &tidewater::runtime::QueryProgressEvent) {
        let p = &event.progress;
        let barred = self.bars.as_ref().is_some_and(|bars| bars.update(p));
        let line = match self.format {
            ProgressFormat::Off => return,
            ProgressFormat::Json => p.json(),
            ProgressFormat::Text => {
                let name = p.name.clone().unwrap_or_else(|| p.id.chars().take(8).collect());
                let watermark = p
                    .event_time
                    .get("watermark")
                    .map(|w| format!(", watermark {w}"))
                    .unwrap_or_default();
                format!(
                    "[{name}] batch {}: {} rows, {:.1} rows/s, {} ms{watermark}",
                    p.batch_id,
                    p.num_input_rows,
                    p.processed_rows_per_second,
                    p.duration_ms
                        .get("triggerExecution")
                        .copied()
                        .unwrap_or(p.batch_duration),
                )
            }
        };
        match (&self.bars, barred) {
            // Above the bars, which stay at the bottom.
            (Some(bars), true) => {
                let _ = bars.all.println(line);
            }
            // stderr may be closed: a failed write must not panic.
            _ => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }
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

    /// The session the arguments describe; `explaining` runs nothing, so it serves no UI.
    fn session(&self, explaining: bool) -> anyhow::Result<Session> {
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
        if self.no_ui || explaining {
            builder = builder.config(tidewater::ui::UI_ENABLED, false);
        }
        if let Some(port) = self.ui_port {
            builder = builder.config(tidewater::ui::UI_PORT, port);
        }
        if let Some(host) = &self.ui_host {
            builder = builder.config(tidewater::ui::UI_HOST, host);
        }
        Ok(builder.get_or_create()?)
    }
}

fn run(args: &ScriptArgs) -> anyhow::Result<()> {
    let script = args.script()?;
    let spark = args.session(false)?;
    let progress = args.progress.unwrap_or(if std::io::stderr().is_terminal() {
        ProgressFormat::Text
    } else {
        ProgressFormat::Off
    });
    // A bar only where it can be drawn and where the run ends: once or availableNow.
    let ends = matches!(
        args.trigger.as_deref().map(Trigger::parse).transpose()?,
        Some(Trigger::Once | Trigger::AvailableNow)
    );
    let bars = (progress == ProgressFormat::Text && ends && std::io::stderr().is_terminal()).then(|| Bars {
        all: indicatif::MultiProgress::new(),
        by_query: Default::default(),
    });
    if progress != ProgressFormat::Off {
        spark.streams().add_listener(std::sync::Arc::new(ProgressPrinter {
            format: progress,
            bars,
        }));
    }
    let queries = spark.run_script(&script, &args.defaults()?)?;
    let mut first_failure = None;
    for query in &queries {
        if let Err(e) = query.await_termination() {
            first_failure.get_or_insert(e);
        }
    }
    // The last epochs' lines are printed before the process ends.
    spark.streams().wait_for_listeners(Duration::from_secs(5));
    first_failure.map_or(Ok(()), |e| Err(e.into()))
}

fn explain(args: &ScriptArgs) -> anyhow::Result<()> {
    let script = args.script()?;
    print!(
        "{}",
        args.session(true)?.explain_script(&script, &args.defaults()?)?
    );
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
        .with_env_filter(tidewater::logs::env_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A log line that cannot be written (stderr closed) must not become a panic.
        .log_internal_errors(false)
        .init();
    // Huge pages stall epochs and cost a zeroed 2 MiB page per fault (see `process`).
    tidewater::process::avoid_transparent_huge_pages();
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

#[cfg(test)]
mod tests {
    use super::files_done;
    use tidewater::runtime::{QueryProgress, SinkProgress, SourceProgress};

    fn report(sources: Vec<(u64, u64, bool)>) -> QueryProgress {
        QueryProgress {
            id: "q".into(),
            run_id: "r".into(),
            name: None,
            timestamp: String::new(),
            batch_id: 0,
            batch_duration: 0,
            num_input_rows: 0,
            input_rows_per_second: 0.0,
            processed_rows_per_second: 0.0,
            duration_ms: Default::default(),
            event_time: Default::default(),
            state_operators: Vec::new(),
            sources: sources
                .into_iter()
                .map(|(end, latest, files)| SourceProgress {
                    description: String::new(),
                    start_offset: 0,
                    end_offset: end,
                    latest_offset: latest,
                    num_input_rows: 0,
                    input_rows_per_second: 0.0,
                    processed_rows_per_second: 0.0,
                    metrics: if files {
                        [("numFiles".to_string(), "1".to_string())].into()
                    } else {
                        Default::default()
                    },
                })
                .collect(),
            sink: SinkProgress {
                description: String::new(),
                num_output_rows: 0,
            },
        }
    }

    #[test]
    fn the_bar_counts_files_only_when_every_source_reads_files() {
        assert_eq!(
            files_done(&report(vec![(2, 5, true), (1, 1, true)])),
            Some((3, 6))
        );
        assert_eq!(files_done(&report(vec![(2, 5, true), (10, 10, false)])), None);
        assert_eq!(files_done(&report(vec![])), None);
    }
}
