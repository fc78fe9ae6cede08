//! What every handler goes through: a pooled connection ([`connection`]),
//! statements prepared once per connection ([`rows`], [`one`]), and the
//! problem documents of database errors ([`database_error`]: 503 when the
//! database is gone) and of bad parameters ([`query`], [`bad_parameter`],
//! [`bad_range`]). Kept in one place so the error mapping is one change.

use std::time::Duration;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use supermarket_http::{ApiError, Problem};
use supermarket_storage::Pool;

pub(super) async fn connection(pool: &Pool) -> Result<deadpool_postgres::Object, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), pool.get()).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(ApiError::unavailable(error)),
        Err(_) => Err(ApiError::unavailable(anyhow::anyhow!(
            "timed out waiting for an analytics database connection"
        ))),
    }
}

pub(super) fn database_error(error: tokio_postgres::Error) -> ApiError {
    // A closed connection means the database went away: 503, not 500.
    if error.is_closed() {
        ApiError::unavailable(error)
    } else {
        ApiError::Internal(error.into())
    }
}

pub(super) fn bad_parameter(detail: impl Into<String>) -> ApiError {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-parameter",
        "Invalid query parameter",
    )
    .with_detail(detail)
    .into()
}

/// Dates that are each valid but do not make a range this report serves
/// (`from` after `to`, too many days): the one 400 a request that matches the
/// schema can get.
pub(super) fn bad_range(detail: impl Into<String>) -> ApiError {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-range",
        "Invalid date range",
    )
    .with_detail(detail)
    .into()
}

pub(super) fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|rejection| bad_parameter(rejection.body_text()))
}

/// Runs a statement prepared once per pooled connection.
pub(super) async fn rows(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, ApiError> {
    let statement = client.prepare_cached(sql).await.map_err(database_error)?;
    client
        .query(&statement, params)
        .await
        .map_err(database_error)
}

pub(super) async fn one(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<tokio_postgres::Row, ApiError> {
    let statement = client.prepare_cached(sql).await.map_err(database_error)?;
    client
        .query_one(&statement, params)
        .await
        .map_err(database_error)
}

/// Every report reads the analytics database: 503 with `Retry-After` while
/// it does not answer.
#[derive(utoipa::IntoResponses)]
#[response(status = 503, description = "The analytics database is unavailable (see Retry-After)", content_type = "application/problem+json",
           headers(("Retry-After" = u64, description = "Seconds to wait")))]
#[allow(dead_code)] // documentation only: the answer is built by `ApiError`
pub(super) struct Unavailable(Problem);
