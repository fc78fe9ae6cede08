//! What every handler goes through: statements prepared once per pooled
//! connection ([`rows`], [`one`]; database errors become answers through
//! http-kit's one mapping) and the problem documents of bad parameters
//! ([`query`], [`bad_parameter`], [`bad_range`]).

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use supermarket_http::{ApiError, Problem};

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
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

pub(super) async fn one(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<tokio_postgres::Row, ApiError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_one(&statement, params).await?)
}

/// Every report reads the analytics database: 503 with `Retry-After` while
/// it does not answer.
#[derive(utoipa::IntoResponses)]
#[response(status = 503, description = "The analytics database is unavailable (see Retry-After)", content_type = "application/problem+json",
           headers(("Retry-After" = u64, description = "Seconds to wait")))]
#[allow(dead_code)] // documentation only: the answer is built by `ApiError`
pub(super) struct Unavailable(Problem);
