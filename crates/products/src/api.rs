//! The HTTP handlers and their OpenAPI description.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use supermarket_domain::ProductId;
use supermarket_http::{ApiError, Json, Path, Problem};
use supermarket_storage::Pool;
use utoipa::OpenApi;

use crate::views::{BranchView, ProductView};

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Supermarket products API",
        description = "The product catalog and the branches of the chain."
    ),
    paths(list_products, get_product, list_branches),
    components(schemas(ProductView, BranchView, Problem))
)]
pub struct ApiDoc;

/// The API routes (without health, docs or the standard layers).
pub fn api_routes(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/products", get(list_products))
        .route("/api/v1/products/{id}", get(get_product))
        .route("/api/v1/branches", get(list_branches))
        .with_state(state)
}

/// Every product, in id order.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog",
    responses((status = 200, description = "The catalog", body = Vec<ProductView>),
              (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")))]
async fn list_products(State(state): State<AppState>) -> Result<Json<Vec<ProductView>>, ApiError> {
    let client = state.pool.get().await?;
    let catalog = supermarket_storage::oltp::catalog::load_catalog(&**client).await?;
    Ok(Json(catalog.iter().map(ProductView::from).collect()))
}

/// One product by its integer id.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog",
    params(("id" = i32, Path, description = "Product id")),
    responses((status = 200, description = "The product", body = ProductView),
              (status = 400, description = "The id is not an integer", body = Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
              (status = 503, description = "Database unavailable (see Retry-After)", body = Problem, content_type = "application/problem+json")))]
async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<Json<ProductView>, ApiError> {
    let client = state.pool.get().await?;
    let catalog = supermarket_storage::oltp::catalog::load_catalog(&**client).await?;
    match catalog.by_id(ProductId(id)) {
        Some(product) => Ok(Json(ProductView::from(product))),
        None => Err(Problem::not_found(format!("there is no product with id {id}")).into()),
    }
}

/// Every branch, in id order.
#[utoipa::path(get, path = "/api/v1/branches", tag = "catalog",
    responses((status = 200, description = "The branches", body = Vec<BranchView>),
              (status = 503, description = "Database unavailable (see Retry-After)", body = Problem, content_type = "application/problem+json")))]
async fn list_branches(State(state): State<AppState>) -> Result<Json<Vec<BranchView>>, ApiError> {
    let client = state.pool.get().await?;
    let branches = supermarket_storage::oltp::catalog::load_branches(&**client).await?;
    Ok(Json(branches.iter().map(BranchView::from).collect()))
}
