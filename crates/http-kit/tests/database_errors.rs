//! Database errors become answers by one classification, on a real
//! PostgreSQL: what retrying can fix is a 503, the rest a hidden 500, and an
//! expected constraint violation its own problem.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use supermarket_http::database::on_constraint;
use supermarket_http::{ApiError, Problem};
use supermarket_testkit::TestDatabases;

fn conflict() -> Problem {
    Problem::new(StatusCode::CONFLICT, "duplicate", "Already there")
}

#[tokio::test]
async fn a_broken_constraint_is_its_problem_only_when_named() {
    let db = TestDatabases::new().await;
    let client = db.oltp().await;
    client
        .batch_execute("CREATE TABLE things (id int CONSTRAINT things_pkey PRIMARY KEY)")
        .await
        .expect("table");
    client
        .execute("INSERT INTO things VALUES (1)", &[])
        .await
        .expect("first insert");
    let duplicate = || async {
        client
            .execute("INSERT INTO things VALUES (1)", &[])
            .await
            .expect_err("a duplicate")
    };

    match on_constraint(duplicate().await, "things_pkey", conflict) {
        ApiError::Problem(problem) => assert_eq!(problem.status, 409),
        other => panic!("expected the conflict problem, got {other:?}"),
    }
    assert!(
        matches!(
            on_constraint(duplicate().await, "another_constraint", conflict),
            ApiError::Internal(_)
        ),
        "another constraint's violation is an internal error"
    );
    assert!(matches!(
        ApiError::from(duplicate().await),
        ApiError::Internal(_)
    ));
}

#[tokio::test]
async fn a_closed_connection_is_unavailable_not_internal() {
    let db = TestDatabases::new().await;
    let doomed = db.oltp().await;
    let admin = db.oltp().await;
    let pid: i32 = doomed
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .expect("terminate");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let error = doomed
        .query_one("SELECT 1", &[])
        .await
        .expect_err("the connection is gone");
    assert!(
        matches!(ApiError::from(error), ApiError::Unavailable { .. }),
        "a dropped connection is a 503"
    );
    // The same through anyhow, as handlers using storage functions see it.
    let wrapped = anyhow::Error::from(
        doomed
            .query_one("SELECT 1", &[])
            .await
            .expect_err("still gone"),
    )
    .context("cannot read the catalog");
    assert!(matches!(
        ApiError::from(wrapped),
        ApiError::Unavailable { .. }
    ));
}

#[tokio::test]
async fn an_exhausted_pool_is_unavailable_after_the_pool_wait() {
    let db = TestDatabases::new().await;
    let pool = supermarket_storage::pool::pool(&db.oltp_url, "DATABASE_URL", 1).expect("pool");
    let _held = pool.get().await.expect("the one connection");
    let asked = Instant::now();
    let error = pool.get().await.expect_err("no connection left");
    let waited = asked.elapsed();
    assert!(matches!(
        ApiError::from(error),
        ApiError::Unavailable { .. }
    ));
    let wait = supermarket_storage::pool::CONNECTION_WAIT;
    assert!(
        waited >= wait && waited < wait + Duration::from_secs(2),
        "waited {waited:?}"
    );
}
