//! HTTP handlers, the router and the OpenAPI document.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::json;
use supermarket_http::{ApiError, Json, Path, Problem};
use supermarket_storage::Pool;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::catalog::CatalogCache;
use crate::receipt::{Receipt, ReceiptItem};
use crate::request::{
    self, BasketItem, Order, ProductKey, ProductName, PurchaseRequest, SeedItems,
    SeedPurchaseRequest,
};
use crate::writer::{Outcome, WriteError, Writer};

/// Set on a response that replays the purchase an idempotency key already
/// made (status and body are those of the original response).
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

#[derive(Clone, Debug)]
pub struct AppState {
    pub catalog: CatalogCache,
    pub writer: Writer,
    /// For reads (`GET` a receipt); writes go through [`Writer`].
    pub pool: Pool,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Supermarket purchases API",
        description = "Records sales at the tills. Prices and totals come from the catalog; `Idempotency-Key` makes retries safe."
    ),
    paths(create_purchase, create_purchase_seed, get_purchase),
    components(schemas(
        PurchaseRequest,
        SeedPurchaseRequest,
        BasketItem,
        ProductKey,
        ProductName,
        SeedItems,
        Receipt,
        ReceiptItem,
        Problem
    ))
)]
pub struct ApiDoc;

/// The served document: [`ApiDoc`] with the cashier's bearer token on every
/// operation (the owner's works too, so no role is ever refused with 403).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    supermarket_http::openapi::require_bearer(&mut document, "cashier", &[], false);
    document
}

/// The API routes, with state but without health, docs or the standard
/// layers (access control can wrap exactly these).
pub fn api_routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/purchases", post(create_purchase))
        .route("/api/v1/purchases/{id}", get(get_purchase))
        .route("/purchase", post(create_purchase_seed))
        .with_state(state)
}

pub async fn index() -> impl IntoResponse {
    Json(
        json!({"service": "purchases", "openapi": "/openapi.json", "docs": "/docs", "health": "/health", "ready": "/ready"}),
    )
}

/// The refusals both sale endpoints share (their 201 and 422 differ), as
/// problem documents.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the answers are built by `ApiError`
enum SaleRefusals {
    #[response(
        status = 400,
        description = "Malformed JSON or Idempotency-Key",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
    #[response(
        status = 409,
        content_type = "application/problem+json",
        description = "Idempotency-Key reused with a different request (`idempotency-key-reused`), or the catalog changed under the sale (`purchase-rejected`)"
    )]
    Conflict(Problem),
    #[response(
        status = 413,
        description = "Body too large",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "Not JSON",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
    #[response(
        status = 503,
        description = "Database unavailable (see Retry-After)",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Records a sale.
///
/// Answers 201 with the receipt and a `Location`. With an `Idempotency-Key`
/// (a UUID), repeating the same request returns the original receipt (201
/// again, with `Idempotent-Replayed: true`) and stores nothing; the same key
/// with a different request is a 409.
#[utoipa::path(post, path = "/api/v1/purchases", tag = "purchases",
    request_body = PurchaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, format = Uuid, description = "Client-generated UUID making retries safe")),
    responses(
        (status = 201, description = "Stored (or replayed)", body = Receipt,
         headers(("Location" = String, description = "URL of the receipt"),
                 ("Idempotent-Replayed" = Option<String>, description = "`true` when this replays an earlier response"))),
        (status = 422, description = "Breaks a rule: unknown branch or product, repeated product, quantity not 1, empty basket, bad customer id, missing field",
         body = Problem, content_type = "application/problem+json"),
        SaleRefusals))]
pub async fn create_purchase(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<PurchaseRequest>,
) -> Result<Response, ApiError> {
    record(&state, &headers, Order::try_from(body)?).await
}

/// Records a sale, in the shape of the original specification.
///
/// `items_list` is a list of names or one comma-separated string. Same rules,
/// idempotency and receipt as `POST /api/v1/purchases`.
#[utoipa::path(post, path = "/purchase", tag = "purchases",
    request_body = SeedPurchaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, format = Uuid, description = "Client-generated UUID making retries safe")),
    responses(
        (status = 201, description = "Stored (or replayed)", body = Receipt),
        (status = 422, description = "Breaks a rule: unknown branch or product, repeated product, empty basket, bad user id, missing field",
         body = Problem, content_type = "application/problem+json"),
        SaleRefusals))]
pub async fn create_purchase_seed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<SeedPurchaseRequest>,
) -> Result<Response, ApiError> {
    record(&state, &headers, Order::try_from(body)?).await
}

async fn record(state: &AppState, headers: &HeaderMap, order: Order) -> Result<Response, ApiError> {
    let key = request::idempotency_key(headers)?;
    let snapshot = state.catalog.snapshot();
    let new = request::validate(order, key, &snapshot, Utc::now())?;
    let receipt = Receipt::from(&new.purchase);
    match state.writer.submit(new).await {
        Ok(Outcome::Created) => {
            tracing::debug!(purchase_id = %receipt.purchase_id, branch_id = %receipt.branch_id, total_cents = receipt.total_cents, "purchase stored");
            Ok(created(receipt, false))
        }
        Ok(Outcome::Replayed(stored)) => {
            tracing::info!(purchase_id = %stored.id, "idempotent replay, nothing stored");
            Ok(created(
                Receipt::from_stored(&stored, &snapshot.catalog),
                true,
            ))
        }
        Err(error) => Err(write_error(error)),
    }
}

fn created(receipt: Receipt, replayed: bool) -> Response {
    let location = format!("/api/v1/purchases/{}", receipt.purchase_id);
    let mut response = (StatusCode::CREATED, Json(receipt)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert(
            IDEMPOTENT_REPLAYED.clone(),
            HeaderValue::from_static("true"),
        );
    }
    response
}

fn write_error(error: WriteError) -> ApiError {
    match error {
        WriteError::KeyReused(key) => Problem::new(StatusCode::CONFLICT, "idempotency-key-reused", "Idempotency-Key reused")
            .with_detail(format!("Idempotency-Key {key} was already used for a different purchase request; use a new key for a new sale"))
            .into(),
        WriteError::Rejected(_) => Problem::new(StatusCode::CONFLICT, "purchase-rejected", "Purchase refused")
            .with_detail("the purchase conflicts with the current catalog (a product may just have been removed); check the basket and retry")
            .into(),
        WriteError::Unavailable(cause) => ApiError::Unavailable { cause: anyhow::anyhow!(cause), retry_after: Duration::from_secs(1) },
        WriteError::ShuttingDown => ApiError::Unavailable { cause: anyhow::anyhow!("shutting down"), retry_after: Duration::from_secs(1) },
        WriteError::Internal(cause) => ApiError::Internal(anyhow::anyhow!(cause)),
    }
}

/// One receipt by purchase id.
#[utoipa::path(get, path = "/api/v1/purchases/{id}", tag = "purchases",
    params(("id" = Uuid, Path, description = "Purchase id")),
    responses((status = 200, description = "The receipt", body = Receipt),
              (status = 400, description = "Not a UUID", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such purchase", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Database unavailable (see Retry-After)", body = Problem, content_type = "application/problem+json")))]
pub async fn get_purchase(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    let id = Uuid::try_parse(&id).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-purchase-id",
            "Invalid purchase id",
        )
        .with_detail(format!(
            "purchase id `{}` is not a UUID",
            id.chars().take(64).collect::<String>()
        ))
    })?;
    let client = state.pool.get().await?;
    let stored = supermarket_storage::oltp::purchases::find_by_id(&client, id).await?;
    match stored {
        Some(stored) => Ok(Json(Receipt::from_stored(
            &stored,
            &state.catalog.snapshot().catalog,
        ))),
        None => Err(Problem::not_found(format!("there is no purchase {id}")).into()),
    }
}
