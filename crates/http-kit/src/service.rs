//! [`Service`]: the one shape every long-running service has.
//!
//! A service is an HTTP listener (its API, or only `/health`, `/ready` and
//! `/metrics` for the workers) plus background tasks (writers, a relay loop,
//! a consumer loop...). Each service crate builds one in its
//! `Application::build` and runs it with [`Service::run_until_stopped`], so
//! binding, readiness, metrics, task bookkeeping and shutdown work the same
//! way everywhere:
//!
//! ```ignore
//! let service = Service::bind("relay", config.addr, "RELAY_ADDR").await?
//!     .with_routes(Router::new(), Readiness::postgres(pool.clone()), 1024)
//!     .with_metrics(move || { let metrics = metrics.clone(); async move { metrics.render() } })
//!     .with_task("relay loop", move |stop| relay_loop(publisher, stop));
//! service.run_until_stopped(shutdown).await
//! ```
//!
//! Shutdown: when `shutdown` is cancelled (SIGTERM/SIGINT), or when a
//! background task fails or ends on its own, the listener stops accepting,
//! in-flight requests finish, and every task is told to stop through the
//! token it was given. Everything still running [`STOP_WITHIN`] after the
//! stop began is abandoned, with an error logged: a service always exits
//! within that time (inside the 10 s `docker stop` grants before SIGKILL).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::health::{self, Readiness};
use crate::server::{bind, serve, with_standard_layers};

/// Longest time from the start of a stop to the end of the process's work:
/// in-flight requests, queued purchases, the batch in hand.
pub const STOP_WITHIN: Duration = Duration::from_secs(8);

type TaskFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
type TaskStart = Box<dyn FnOnce(CancellationToken) -> TaskFuture + Send>;

/// A bound service, not yet running (port 0 in tests: see [`Service::port`]).
pub struct Service {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    tasks: Vec<(&'static str, TaskStart)>,
    stop_within: Duration,
}

impl Service {
    /// Binds `addr`, naming `setting` (e.g. `RELAY_ADDR`) if that fails. The
    /// router starts with `/health` and an always-ready `/ready`.
    pub async fn bind(
        name: &'static str,
        addr: SocketAddr,
        setting: &str,
    ) -> anyhow::Result<Service> {
        let listener = bind(addr, setting).await?;
        Ok(Service {
            name,
            listener,
            router: Router::new(),
            tasks: Vec::new(),
            stop_within: STOP_WITHIN,
        })
    }

    /// The routes this service serves, with `/health` and `/ready` (answered
    /// by `readiness`) and the standard layers (request ids, a `body_limit`
    /// in bytes, problem documents for unknown paths and methods).
    pub fn with_routes(
        mut self,
        routes: Router,
        readiness: Readiness,
        body_limit: usize,
    ) -> Service {
        let router = std::mem::take(&mut self.router)
            .merge(routes)
            .merge(health::routes(readiness));
        self.router = with_standard_layers(router, body_limit);
        self
    }

    /// Adds `/metrics`, answered with the Prometheus text `render` gives.
    pub fn with_metrics<F, Fut>(mut self, render: F) -> Service
    where
        F: Fn() -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        let route = Router::new().route(
            "/metrics",
            get(move || {
                let render = render.clone();
                async move {
                    let text = render().await;
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        text,
                    )
                        .into_response()
                }
            }),
        );
        self.router = std::mem::take(&mut self.router).merge(route);
        self
    }

    /// Runs `task` beside the listener. It gets a token cancelled when the
    /// service stops, and should return soon after. A task that fails, or
    /// ends while the service runs, stops the whole service: a worker
    /// process never runs on with a part of it gone.
    pub fn with_task<F, Fut>(mut self, name: &'static str, task: F) -> Service
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks.push((
            name,
            Box::new(move |stop| Box::pin(task(stop)) as TaskFuture),
        ));
        self
    }

    /// Another bound than [`STOP_WITHIN`] on the stop (tests).
    pub fn with_stop_within(mut self, within: Duration) -> Service {
        self.stop_within = within;
        self
    }

    /// The bound port (the real one when the address asked for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serves and runs the tasks until `shutdown` (or a task's end), then
    /// stops within [`STOP_WITHIN`] (or the bound given to
    /// [`with_stop_within`](Service::with_stop_within)). The error is the first failure: the
    /// HTTP server's or a task's.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Service {
            name,
            listener,
            router,
            tasks,
            stop_within,
        } = self;
        let addr = listener.local_addr()?;
        // Our own token: SIGTERM cancels it, and so does a failing task.
        let stop = shutdown.child_token();
        let mut running = JoinSet::new();
        for (task_name, start) in tasks {
            let future = start(stop.clone());
            running.spawn(async move { (task_name, future.await) });
        }
        // The server owns the router, and with it every handle a handler
        // holds (the purchases writer's queue): once it returns, they drop.
        let server_stop = stop.clone();
        running.spawn(async move { ("HTTP server", serve(listener, router, server_stop).await) });
        tracing::info!(service = name, %addr, "service started");

        let mut first_error: Option<anyhow::Error> = None;
        let mut deadline: Option<Instant> = None;
        loop {
            let next = async {
                match deadline {
                    Some(at) => tokio::time::timeout_at(at, running.join_next()).await.ok(),
                    None => Some(running.join_next().await),
                }
            };
            tokio::select! {
                () = stop.cancelled(), if deadline.is_none() => {
                    deadline = Some(Instant::now() + stop_within);
                    tracing::info!(service = name, "stopping");
                }
                joined = next => match joined {
                    // Every task and the server are done.
                    Some(None) => break,
                    // The deadline passed with work still running.
                    None => {
                        tracing::error!(service = name, still_running = running.len(),
                            within_ms = stop_within.as_millis() as u64, "did not stop in time; abandoning what is left");
                        running.abort_all();
                        first_error.get_or_insert(anyhow::anyhow!(
                            "{} task(s) still running {:?} after the stop began",
                            running.len(),
                            stop_within
                        ));
                        break;
                    }
                    Some(Some(Ok((task, result)))) => {
                        if let Err(error) = result {
                            tracing::error!(service = name, task, error = format!("{error:#}"), "failed; stopping the service");
                            first_error.get_or_insert(error.context(format!("{task} failed")));
                        } else if !stop.is_cancelled() {
                            tracing::error!(service = name, task, "ended on its own; stopping the service");
                            first_error.get_or_insert(anyhow::anyhow!("{task} ended on its own"));
                        }
                        stop.cancel();
                    }
                    Some(Some(Err(join_error))) => {
                        // A panic is a broken invariant: stop, and say so.
                        tracing::error!(service = name, error = %join_error, "a task panicked; stopping the service");
                        first_error.get_or_insert(anyhow::anyhow!("a task panicked: {join_error}"));
                        stop.cancel();
                    }
                }
            }
        }
        tracing::info!(service = name, "stopped");
        first_error.map_or(Ok(()), Err)
    }
}
