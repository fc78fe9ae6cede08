//! Serving an OpenAPI 3.1 document at `/openapi.json` and Swagger UI at
//! `/docs` (vendored assets: works offline).

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The `/openapi.json` and `/docs` routes for `document`.
pub fn routes<S>(document: OpenApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", document))
}
