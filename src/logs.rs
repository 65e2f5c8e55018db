//! Where the engine's logs go in the programs that own their process: the filter that
//! `TIDEWATER_LOG` asks for, and, for the Python module, a filter that Spark's
//! `sparkContext.setLogLevel` can change while the program runs.
//!
//! The engine logs through `tracing`; warnings (an option it does not implement, a malformed
//! record skipped) must reach the user, so every program that runs it installs a subscriber.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The log filter `TIDEWATER_LOG` asks for. A bare level (`info`, `debug`) applies to the
/// engine's own crates only, and dependencies stay at `warn`: `TIDEWATER_LOG=debug` must not
/// flood stderr with the SQL parser's or the HTTP server's logs. Directives with a target
/// (`sqlparser=debug`) are taken as written, for whoever wants a dependency's logs.
pub fn log_filter(setting: Option<&str>) -> String {
    let mut directives = vec!["warn".to_string()];
    for directive in setting
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if directive.contains('=') || directive.contains('[') {
            directives.push(directive.to_string());
        } else {
            directives.push(format!("tidewater={directive}"));
            directives.push(format!("tidewater_operators={directive}"));
        }
    }
    directives.join(",")
}

/// The filter `TIDEWATER_LOG` asks for (see [`log_filter`]); one that does not parse is
/// reported on stderr and `warn` is used instead.
pub fn env_filter() -> EnvFilter {
    let setting = std::env::var("TIDEWATER_LOG").ok();
    EnvFilter::try_new(log_filter(setting.as_deref())).unwrap_or_else(|e| {
        // stderr may be closed: a failed write must not panic.
        let _ = writeln!(
            std::io::stderr(),
            "TIDEWATER_LOG={setting:?} is not a log filter ({e}); using warn"
        );
        EnvFilter::new("warn")
    })
}

/// The filter for one of Spark's log levels (`sparkContext.setLogLevel`: `ALL`, `TRACE`,
/// `DEBUG`, `INFO`, `WARN`, `ERROR`, `FATAL`, `OFF`, any case), or `None` for another word. A
/// level above `warn` applies to the engine's crates (as [`log_filter`]); `ERROR`, `FATAL` and
/// `OFF` quiet everything.
pub fn spark_level_filter(level: &str) -> Option<String> {
    Some(match level.to_ascii_uppercase().as_str() {
        "ALL" | "TRACE" => log_filter(Some("trace")),
        "DEBUG" => log_filter(Some("debug")),
        "INFO" => log_filter(Some("info")),
        "WARN" => log_filter(None),
        "ERROR" | "FATAL" => "error".into(),
        "OFF" => "off".into(),
        _ => return None,
    })
}

/// The filter of the subscriber [`install_reloadable`] installed.
static RELOADABLE: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Sends logs to stderr under the filter `TIDEWATER_LOG` asks for (`warn` by default), with a
/// filter [`set_filter`] can change later: for a library loaded into a program that has no
/// subscriber of its own (the Python module). Does nothing if the process has a subscriber.
pub fn install_reloadable() {
    let (filter, handle) = reload::Layer::new(env_filter());
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                // A log line that cannot be written (stderr closed) must not become a panic.
                .log_internal_errors(false),
        )
        .try_init();
    if installed.is_ok() {
        let _ = RELOADABLE.set(handle);
    }
}

/// Replaces the filter of the subscriber [`install_reloadable`] installed with `filter` (an
/// `EnvFilter` directive list). `Ok(false)` if it installed none.
pub fn set_filter(filter: &str) -> Result<bool, String> {
    let Some(handle) = RELOADABLE.get() else {
        return Ok(false);
    };
    let filter = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    handle.reload(filter).map_err(|e| e.to_string())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::{log_filter, spark_level_filter};

    #[test]
    fn a_bare_level_applies_to_the_engine_only() {
        assert_eq!(log_filter(None), "warn");
        assert_eq!(
            log_filter(Some("info")),
            "warn,tidewater=info,tidewater_operators=info"
        );
        assert_eq!(
            log_filter(Some("debug, sqlparser=trace")),
            "warn,tidewater=debug,tidewater_operators=debug,sqlparser=trace"
        );
    }

    #[test]
    fn spark_s_levels_map_to_filters() {
        assert_eq!(spark_level_filter("warn").as_deref(), Some("warn"));
        assert_eq!(
            spark_level_filter("INFO").as_deref(),
            Some("warn,tidewater=info,tidewater_operators=info")
        );
        assert_eq!(spark_level_filter("FATAL").as_deref(), Some("error"));
        assert_eq!(spark_level_filter("OFF").as_deref(), Some("off"));
        assert_eq!(spark_level_filter("LOUD"), None);
    }
}
