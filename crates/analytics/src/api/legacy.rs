//! The original contract: `/`, `/unique-customers`, `/loyal-customers`
//! and `/top-products`, with their exact paths and shapes.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use supermarket_http::{ApiError, Json, Problem};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::params::{Paging, check_paging};
use super::plumbing::{Unavailable, one, query, rows};

/// How many customers are loyal: a sum over the purchase-count histogram
/// (also the total of the `/api/v1/analytics/loyal-customers` pages).
pub(super) const LOYAL_COUNT: &str = "SELECT coalesce(sum(customers), 0)::int8 FROM customer_purchase_histogram WHERE purchases >= $1";

#[derive(Serialize, ToSchema)]
pub struct ServiceInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub endpoints: Vec<&'static str>,
}

/// Service information.
#[utoipa::path(get, path = "/", tag = "analytics", responses((status = 200, body = ServiceInfo)))]
pub(super) async fn service_info() -> Json<ServiceInfo> {
    Json(ServiceInfo {
        name: "supermarket-analytics",
        version: env!("CARGO_PKG_VERSION"),
        description: "Customer and product analytics, read from incrementally maintained read models.",
        endpoints: vec![
            "GET /",
            "GET /health",
            "GET /ready",
            "GET /unique-customers",
            "GET /loyal-customers",
            "GET /top-products",
            "GET /api/v1/analytics/kpis",
            "GET /api/v1/analytics/sales/daily",
            "GET /api/v1/analytics/sales/hourly",
            "GET /api/v1/analytics/customers/{id}",
            "GET /api/v1/analytics/loyal-customers",
            "GET /api/v1/analytics/freshness",
            "GET /openapi.json",
            "GET /docs",
        ],
    })
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UniqueCustomers {
    pub unique_customers: i64,
}

/// How many distinct customers ever bought.
#[utoipa::path(get, path = "/unique-customers", tag = "analytics", responses((status = 200, body = UniqueCustomers), Unavailable))]
pub(super) async fn unique_customers(
    State(state): State<AppState>,
) -> Result<Json<UniqueCustomers>, ApiError> {
    let client = state.pool.get().await?;
    let row = one(&client, "SELECT customers FROM sales_totals", &[]).await?;
    Ok(Json(UniqueCustomers {
        unique_customers: row.get(0),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoyalCustomers {
    pub min_purchases: i64,
    /// How many customers are loyal (whatever the page).
    pub count: i64,
    /// Most purchases first, then by customer id.
    pub customers: Vec<LoyalCustomer>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoyalCustomer {
    pub customer_id: Uuid,
    pub purchases: i64,
}

/// Customers with at least `min_purchases` purchases (LOYAL_MIN_PURCHASES).
#[utoipa::path(get, path = "/loyal-customers", tag = "analytics", params(Paging),
    responses((status = 200, body = LoyalCustomers),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
pub(super) async fn loyal_customers(
    State(state): State<AppState>,
    params: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<LoyalCustomers>, ApiError> {
    let paging = query(params)?;
    let (limit, offset) = check_paging(paging.limit, paging.offset, None)?;
    let client = state.pool.get().await?;
    let min = state.loyal_min_purchases;
    let count_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&min];
    let page_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&min, &limit, &offset];
    // Both statements go down the one connection back to back (pipelined).
    let (count, customers) = tokio::try_join!(
        one(&client, LOYAL_COUNT, &count_params),
        rows(
            &client,
            "SELECT customer_id, purchases FROM customer_stats WHERE purchases >= $1
             ORDER BY purchases DESC, customer_id LIMIT $2 OFFSET $3",
            &page_params
        ),
    )?;
    Ok(Json(LoyalCustomers {
        min_purchases: min,
        count: count.get(0),
        customers: customers
            .iter()
            .map(|r| LoyalCustomer {
                customer_id: r.get(0),
                purchases: r.get(1),
            })
            .collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TopProducts {
    pub products: Vec<TopProduct>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TopProduct {
    pub product: String,
    pub units_sold: i64,
    /// SQL `RANK()`: tied products share a rank, the next rank skips (1, 1, 3).
    pub rank: i64,
}

/// The three best-selling products by units, ties kept (so possibly more than three).
#[utoipa::path(get, path = "/top-products", tag = "analytics", responses((status = 200, body = TopProducts), Unavailable))]
pub(super) async fn top_products(
    State(state): State<AppState>,
) -> Result<Json<TopProducts>, ApiError> {
    let client = state.pool.get().await?;
    // rank <= 3 keeps exactly the rows of FETCH FIRST 3 ROWS WITH TIES.
    let rows = rows(&client,
        "SELECT product_name, units_sold, rank FROM (
             SELECT product_name, units_sold, rank() OVER (ORDER BY units_sold DESC) AS rank FROM product_sales
         ) AS ranked WHERE rank <= 3 ORDER BY rank, product_name",
        &[]).await?;
    Ok(Json(TopProducts {
        products: rows
            .iter()
            .map(|r| TopProduct {
                product: r.get(0),
                units_sold: r.get(1),
                rank: r.get(2),
            })
            .collect(),
    }))
}
