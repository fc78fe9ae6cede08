//! `/health` (the process is alive) and `/ready` (it can do its job, e.g. the
//! database answers), for load balancers and orchestrators.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::problem::Problem;

type CheckFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A readiness check: an async closure that fails when the service cannot
/// serve (e.g. `SELECT 1` on its database). Each call is bounded by a timeout.
#[derive(Clone)]
pub struct Readiness {
    check: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
    timeout: Duration,
}

impl Readiness {
    pub fn new<F, Fut>(check: F) -> Readiness
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Readiness {
            check: Arc::new(move || Box::pin(check())),
            timeout: Duration::from_secs(2),
        }
    }

    /// A check that waits for nothing: it reads a state (e.g. whether a
    /// broker connection is up).
    pub fn immediate<F>(check: F) -> Readiness
    where
        F: Fn() -> anyhow::Result<()> + Send + Sync + 'static,
    {
        Readiness::new(move || {
            let answer = check();
            async move { answer }
        })
    }

    /// Ready as soon as the process runs (services without dependencies).
    pub fn always() -> Readiness {
        Readiness::new(|| async { Ok(()) })
    }

    /// Ready while the database behind `pool` runs `SELECT 1`.
    pub fn postgres(pool: deadpool_postgres::Pool) -> Readiness {
        Readiness::new(move || {
            let pool = pool.clone();
            async move {
                let client = pool.get().await?;
                client.simple_query("SELECT 1").await?;
                Ok(())
            }
        })
    }

    /// Ready while both this and `other` are (checked in that order).
    pub fn and(self, other: Readiness) -> Readiness {
        let timeout = self.timeout.max(other.timeout);
        let both = Readiness::new(move || {
            let (first, second) = (self.clone(), other.clone());
            async move {
                first.check().await?;
                second.check().await
            }
        });
        both.with_timeout(timeout)
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Readiness {
        self.timeout = timeout;
        self
    }

    /// Runs the check once.
    pub async fn check(&self) -> anyhow::Result<()> {
        match tokio::time::timeout(self.timeout, (self.check)()).await {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(
                "readiness check timed out after {:?}",
                self.timeout
            )),
        }
    }
}

/// The `/health` and `/ready` routes, mergeable into any router.
///
/// `/health` answers 200 `{"status":"ok"}`. `/ready` answers 200
/// `{"status":"ready"}`, or a 503 problem (`/problems/not-ready`) whose cause
/// is logged, not shown.
pub fn routes<S>(readiness: Readiness) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/ready", get(move || ready(readiness.clone())))
}

async fn ready(readiness: Readiness) -> Response {
    match readiness.check().await {
        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "not ready");
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", "Not ready")
                .with_detail("a dependency of this service is unreachable")
                .with_retry_after(Duration::from_secs(1))
                .into_response()
        }
    }
}
