//! The service runner: what stops a service, and the bound on its stop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use supermarket_http::{Readiness, Service};
use tokio_util::sync::CancellationToken;

async fn bound() -> Service {
    Service::bind("test", SocketAddr::from(([127, 0, 0, 1], 0)), "TEST_ADDR")
        .await
        .expect("binds port 0")
        .with_routes(Router::new(), Readiness::always(), 1024)
}

#[tokio::test]
async fn serves_health_and_metrics_and_stops_on_shutdown() {
    let service = bound()
        .await
        .with_metrics(|| async { "test_up 1\n".to_owned() })
        .with_task("waiter", |stop| async move {
            stop.cancelled().await;
            Ok(())
        });
    let port = service.port();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(service.run_until_stopped(shutdown.clone()));

    let base = format!("http://127.0.0.1:{port}");
    let health = reqwest::get(format!("{base}/health"))
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{base}/ready")).await.expect("ready");
    assert_eq!(ready.status(), 200);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics");
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    assert_eq!(metrics.text().await.expect("text"), "test_up 1\n");

    let asked = Instant::now();
    shutdown.cancel();
    let result = running.await.expect("joined");
    assert!(result.is_ok(), "{result:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn a_failing_task_stops_the_service_with_its_error() {
    let service = bound()
        .await
        .with_task("doomed", |_| async { anyhow::bail!("the broker is gone") })
        .with_task("waiter", |stop| async move {
            stop.cancelled().await;
            Ok(())
        });
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        service.run_until_stopped(CancellationToken::new()),
    )
    .await
    .expect("the service stops by itself");
    let error = format!("{:#}", result.expect_err("the task's failure"));
    assert!(error.contains("doomed failed"), "{error}");
    assert!(error.contains("the broker is gone"), "{error}");
}

#[tokio::test]
async fn a_task_that_ends_on_its_own_stops_the_service() {
    let service = bound().await.with_task("loop", |_| async { Ok(()) });
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        service.run_until_stopped(CancellationToken::new()),
    )
    .await
    .expect("the service stops by itself");
    let error = format!("{:#}", result.expect_err("an early end is an error"));
    assert!(error.contains("loop ended on its own"), "{error}");
}

#[tokio::test]
async fn work_that_outlives_the_bound_is_abandoned_and_reported() {
    let service = bound()
        .await
        .with_stop_within(Duration::from_millis(300))
        .with_task("stuck", |_| std::future::pending());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(service.run_until_stopped(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(50)).await;

    let asked = Instant::now();
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the bound ends the stop")
        .expect("joined");
    let took = asked.elapsed();
    let error = format!("{:#}", result.expect_err("abandoned work is an error"));
    assert!(error.contains("still running"), "{error}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "{took:?}"
    );
}
