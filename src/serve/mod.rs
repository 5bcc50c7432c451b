//! `segmenter serve`: the scoring API (`/v1/predict`, `/v1/model`, `/healthz`, `/metrics`)
//! and the segment dashboard, on axum and tokio. A front end like the CLI: it calls
//! `pipeline` (the model), `report` (the run's summary) and `io` (tables), nothing else.
//!
//! Hyper's HTTP/1.1 connections are driven here rather than by `axum::serve`, for the two
//! things it does not expose: a deadline on reading request headers (slow clients), and a
//! graceful drain on SIGTERM that waits for in-flight requests.

pub mod assets;
pub mod metrics;
pub mod routes;
pub mod score;
pub mod state;

pub use routes::{layered, routes};
pub use state::{AppState, Limits, LoadedModel};

use crate::error::{Error, Result};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Default `--max-body`: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 << 20;
/// Default `--max-rows`.
pub const DEFAULT_MAX_ROWS: usize = 100_000;
/// Default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the drain on shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What `segmenter serve` was asked to do.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// model.json to serve (and watch).
    pub model: PathBuf,
    /// Run directory whose summary.json the dashboard shows; no dashboard without it.
    pub run: Option<PathBuf>,
    /// Address to listen on.
    pub addr: SocketAddr,
    /// File holding the bearer token.
    pub token_file: Option<PathBuf>,
    /// Request limits.
    pub limits: Limits,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
}

/// Reads the token file: its first line, trimmed; an empty token is refused.
pub fn read_token(path: &std::path::Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
    let t = text.lines().next().unwrap_or("").trim();
    if t.is_empty() {
        return Err(Error::Data(format!(
            "{}: the token file is empty; put the token on its first line",
            path.display()
        )));
    }
    Ok(t.as_bytes().to_vec())
}

/// Runs the server until SIGTERM or Ctrl-C, then drains in-flight requests and returns.
/// `on_listening` gets the bound address (port 0 picks a free port).
pub fn serve(config: ServeConfig, on_listening: impl FnOnce(SocketAddr)) -> Result<()> {
    if let Some(run) = &config.run {
        let p = run.join(crate::report::SUMMARY_JSON);
        if !p.is_file() {
            return Err(Error::Data(format!(
                "{}: no {} in the run directory; write it with `segmenter run` (this version writes it)",
                p.display(),
                crate::report::SUMMARY_JSON
            )));
        }
    }
    let token = config.token_file.as_deref().map(read_token).transpose()?;
    let state = Arc::new(AppState::new(
        config.model.clone(),
        config.run.clone(),
        token,
        config.limits.clone(),
    )?);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = config.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt
        // Each request thread is its own one-thread rayon pool, so the library's parallel
        // loops run inline on it: concurrent requests fill the cores, and a small request
        // costs no hand-off to rayon's threads and back (measured: benches/serve_load.sh).
        .on_thread_start(|| {
            if let Ok(pool) = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .use_current_thread()
                .build()
            {
                // Dropping it would terminate the registry this thread now belongs to.
                std::mem::forget(pool);
            }
        })
        .enable_all()
        .build()
        .map_err(|e| Error::Data(format!("cannot start the server's threads: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| Error::Data(format!("cannot listen on {}: {e}", config.addr)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Data(format!("cannot listen on {}: {e}", config.addr)))?;
        on_listening(addr);
        tokio::spawn(state::watch_model(state.clone()));
        let app = layered(routes(state.clone()), state);
        serve_on(listener, app, shutdown_signal()).await;
        Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// in-flight request finish (idle keep-alive connections are closed) and returns.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, _) = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        eprintln!("segmenter serve: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(app.clone());
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => {
            eprintln!("segmenter serve: requests still running after {} s; stopping", DRAIN_TIMEOUT.as_secs());
        }
    }
}
