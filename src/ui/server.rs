//! The HTTP server: axum on a current-thread tokio runtime of its own thread.

use std::net::{SocketAddr, TcpListener};

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};

use super::{metrics, page, snapshot};

/// Binds `host` at `port` or one of the `retries` ports after it (`0`: any free port) and
/// serves on a thread of its own; returns the address bound.
pub(super) fn start(host: &str, port: u16, retries: u16) -> Result<SocketAddr, String> {
    let listener = bind(host, port, retries)?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("no runtime for the UI: {e}"))?;
    std::thread::Builder::new()
        .name("tidewater-ui".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!("the UI stopped: {e}");
                        return;
                    }
                };
                if let Err(e) = axum::serve(listener, routes()).await {
                    tracing::warn!("the UI stopped: {e}");
                }
            })
        })
        .map_err(|e| format!("no thread for the UI: {e}"))?;
    Ok(address)
}

/// The first port of `port..=port + retries` that `host` lets us bind.
fn bind(host: &str, port: u16, retries: u16) -> Result<TcpListener, String> {
    let mut last = String::new();
    let tries = if port == 0 { 0 } else { retries };
    for offset in 0..=tries {
        let Some(candidate) = port.checked_add(offset) else {
            break;
        };
        match TcpListener::bind((host, candidate)) {
            Ok(listener) => {
                if offset > 0 {
                    tracing::info!("port {port} is taken; the UI uses {candidate}");
                }
                return Ok(listener);
            }
            Err(e) => last = format!("{host}:{candidate}: {e}"),
        }
    }
    Err(format!(
        "no free port from {port} to {}: {last}",
        port.saturating_add(tries)
    ))
}

fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { Html(page::PAGE) }))
        .route(
            "/static/uPlot.iife.min.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], page::UPLOT_JS) }),
        )
        .route(
            "/static/uPlot.min.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], page::UPLOT_CSS) }),
        )
        .route("/api/queries", get(|| async { Json(snapshot().0) }))
        .route("/api/dstreams", get(|| async { Json(snapshot().1) }))
        .route("/metrics", get(metrics_text))
}

async fn metrics_text() -> impl IntoResponse {
    let (queries, dstreams) = snapshot();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics::render(&queries, &dstreams),
    )
}

#[cfg(test)]
mod tests {
    use super::bind;

    #[test]
    fn a_taken_port_falls_through_to_the_next_free_one() {
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a port");
        let port = taken.local_addr().expect("address").port();
        match bind("127.0.0.1", port, 16) {
            Ok(next) => {
                let got = next.local_addr().expect("address").port();
                assert!(got > port && got <= port.saturating_add(16), "{port} -> {got}");
            }
            // Every one of the 16 ports after it may be taken on a busy machine; then the
            // error names the range.
            Err(reason) => assert!(reason.contains(&port.to_string()), "{reason}"),
        }
        let error = bind("127.0.0.1", port, 0).expect_err("no retries: the port is taken");
        assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    }
}
