//! The analytics API (`supermarket serve analytics-api`): reads only the
//! read models, each answer a few indexed rows.
//!
//! The original contract (`/`, `/health`, `/unique-customers`,
//! `/loyal-customers`, `/top-products`) keeps its exact paths and shapes;
//! richer reports live under `/api/v1/analytics/`. [`router`] builds the
//! whole service in one place so that access control or a dashboard page
//! can be layered onto it.

// Handlers return http-kit's `ApiError`, a full problem document; these
// responses are built once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use supermarket_http::{ApiError, Json, Path, Problem, Readiness};
use supermarket_storage::Pool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::timezone::StoreTimeZone;

/// Requests carry no body.
const BODY_LIMIT: usize = 4 * 1024;
/// Longest date range of one daily report.
const MAX_DAILY_RANGE_DAYS: i64 = 366;
/// Longest date range of one hourly report.
const MAX_HOURLY_RANGE_DAYS: i64 = 31;

/// Settings of this service: flags that also read the environment.
#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long = "addr",
        env = "ANALYTICS_ADDR",
        value_name = "ANALYTICS_ADDR",
        default_value = "0.0.0.0:8001"
    )]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub analytics: supermarket_storage::AnalyticsDatabaseArgs,
    /// Purchases that make a customer loyal.
    #[arg(long = "loyal-min-purchases", env = "LOYAL_MIN_PURCHASES", value_name = "LOYAL_MIN_PURCHASES", default_value_t = 3,
          value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub loyal_min_purchases: i64,
    #[command(flatten)]
    pub time_zone: StoreTimeZone,
    #[command(flatten)]
    pub auth: supermarket_auth::AuthConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub loyal_min_purchases: i64,
    pub time_zone: StoreTimeZone,
}

/// The whole service: the analytics data (owner credentials), the owner
/// dashboard at `/dashboard` and the login routes, plus the open `/`,
/// `/health`, `/ready`, `/openapi.json`, `/docs`, with request ids and
/// problem documents for unknown paths.
pub fn router(state: AppState, auth: &supermarket_auth::Auth) -> Router {
    let pool = state.pool.clone();
    let readiness = Readiness::new(move || {
        let pool = pool.clone();
        async move { supermarket_storage::pool::check(&pool).await }
    });
    let router = routes(state)
        .route_layer(supermarket_auth::require(
            auth,
            supermarket_auth::Role::Owner,
        ))
        .route("/", get(service_info))
        .merge(auth.routes())
        .merge(supermarket_web::dashboard_router(auth))
        .merge(supermarket_http::health::routes(readiness))
        .merge(supermarket_http::openapi::routes(openapi_document()));
    supermarket_http::with_standard_layers(router, BODY_LIMIT)
}

/// The data routes alone (no `/`, health, docs, access control or standard
/// layers): everything here is owner data.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/unique-customers", get(unique_customers))
        .route("/loyal-customers", get(loyal_customers))
        .route("/top-products", get(top_products))
        .route("/api/v1/analytics/kpis", get(kpis))
        .route("/api/v1/analytics/sales/daily", get(daily_sales))
        .route("/api/v1/analytics/sales/hourly", get(hourly_sales))
        .route("/api/v1/analytics/customers/{id}", get(customer))
        .route(
            "/api/v1/analytics/loyal-customers",
            get(loyal_customers_page),
        )
        .route("/api/v1/analytics/freshness", get(freshness))
        .with_state(state)
}

/// A bound, ready-to-serve service (port 0 in tests).
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let auth = supermarket_auth::Auth::from_config(&config.auth)?;
        let pool = supermarket_storage::pool::pool(
            &config.analytics.analytics_database_url,
            "ANALYTICS_DATABASE_URL",
            usize::from(config.analytics.analytics_db_pool_size),
        )?;
        supermarket_storage::pool::wait_until_answers(
            &pool,
            "ANALYTICS_DATABASE_URL",
            config.analytics.analytics_db_wait(),
        )
        .await?;
        let listener = supermarket_http::bind(config.addr, "ANALYTICS_ADDR").await?;
        let state = AppState {
            pool,
            loyal_min_purchases: config.loyal_min_purchases,
            time_zone: config.time_zone,
        };
        Ok(Application {
            listener,
            router: router(state, &auth),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "analytics API started");
        supermarket_http::serve(self.listener, self.router, shutdown).await
    }
}

/// `supermarket serve analytics-api`.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    supermarket_http::telemetry::init();
    Application::build(config)
        .await?
        .run_until_stopped(shutdown)
        .await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Supermarket analytics API",
        description = "Read-only reports from the analytics read models."
    ),
    paths(
        service_info,
        unique_customers,
        loyal_customers,
        top_products,
        kpis,
        daily_sales,
        hourly_sales,
        customer,
        loyal_customers_page,
        freshness
    ),
    components(schemas(
        ServiceInfo,
        UniqueCustomers,
        LoyalCustomers,
        LoyalCustomer,
        TopProducts,
        TopProduct,
        Kpis,
        Today,
        BranchDay,
        BranchHour,
        CustomerSummary,
        LoyalPage,
        LoyalEntry,
        Freshness,
        Problem
    ))
)]
pub struct ApiDoc;

/// The served document: [`ApiDoc`] with the owner's bearer token on every
/// operation but `/` (a cashier's token is refused with 403).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    supermarket_http::openapi::require_bearer(&mut document, "owner", &["/"], true);
    document
}

// ---- plumbing -------------------------------------------------------------

async fn connection(pool: &Pool) -> Result<deadpool_postgres::Object, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), pool.get()).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(ApiError::unavailable(error)),
        Err(_) => Err(ApiError::unavailable(anyhow::anyhow!(
            "timed out waiting for an analytics database connection"
        ))),
    }
}

fn database_error(error: tokio_postgres::Error) -> ApiError {
    // A closed connection means the database went away: 503, not 500.
    if error.is_closed() {
        ApiError::unavailable(error)
    } else {
        ApiError::Internal(error.into())
    }
}

fn bad_parameter(detail: impl Into<String>) -> ApiError {
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
fn bad_range(detail: impl Into<String>) -> ApiError {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-range",
        "Invalid date range",
    )
    .with_detail(detail)
    .into()
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|rejection| bad_parameter(rejection.body_text()))
}

/// Runs a statement prepared once per pooled connection.
async fn rows(
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

async fn one(
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
struct Unavailable(Problem);

const LOYAL_COUNT: &str = "SELECT coalesce(sum(customers), 0)::int8 FROM customer_purchase_histogram WHERE purchases >= $1";

// ---- the original contract ------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct ServiceInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub endpoints: Vec<&'static str>,
}

/// Service information.
#[utoipa::path(get, path = "/", tag = "analytics", responses((status = 200, body = ServiceInfo)))]
async fn service_info() -> Json<ServiceInfo> {
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
async fn unique_customers(
    State(state): State<AppState>,
) -> Result<Json<UniqueCustomers>, ApiError> {
    let client = connection(&state.pool).await?;
    let row = one(&client, "SELECT customers FROM sales_totals", &[]).await?;
    Ok(Json(UniqueCustomers {
        unique_customers: row.get(0),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Largest number of customers returned (default: all).
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// Customers skipped first (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
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

fn check_paging(
    limit: Option<i64>,
    offset: Option<i64>,
    max_limit: Option<i64>,
) -> Result<(Option<i64>, i64), ApiError> {
    if let Some(limit) = limit
        && (limit < 0 || max_limit.is_some_and(|max| limit > max))
    {
        let max = max_limit.map_or(String::new(), |m| format!(" and at most {m}"));
        return Err(bad_parameter(format!("`limit` must be 0 or more{max}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(bad_parameter("`offset` must be 0 or more"));
    }
    Ok((limit, offset))
}

/// Customers with at least `min_purchases` purchases (LOYAL_MIN_PURCHASES).
#[utoipa::path(get, path = "/loyal-customers", tag = "analytics", params(Paging),
    responses((status = 200, body = LoyalCustomers),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
async fn loyal_customers(
    State(state): State<AppState>,
    params: Result<Query<Paging>, QueryRejection>,
) -> Result<Json<LoyalCustomers>, ApiError> {
    let paging = query(params)?;
    let (limit, offset) = check_paging(paging.limit, paging.offset, None)?;
    let client = connection(&state.pool).await?;
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
async fn top_products(State(state): State<AppState>) -> Result<Json<TopProducts>, ApiError> {
    let client = connection(&state.pool).await?;
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

// ---- /api/v1/analytics ------------------------------------------------------

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Kpis {
    pub purchases: i64,
    pub revenue_cents: i64,
    pub items_sold: i64,
    pub unique_customers: i64,
    pub loyal_customers: i64,
    pub min_purchases: i64,
    /// The store time zone that defines "today".
    pub time_zone: String,
    pub today: Today,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Today {
    pub date: NaiveDate,
    pub purchases: i64,
    pub revenue_cents: i64,
    pub unique_customers: i64,
}

/// Headline figures: all-time and today (store time zone).
#[utoipa::path(get, path = "/api/v1/analytics/kpis", tag = "analytics", responses((status = 200, body = Kpis), Unavailable))]
async fn kpis(State(state): State<AppState>) -> Result<Json<Kpis>, ApiError> {
    let client = connection(&state.pool).await?;
    let today = state.time_zone.today();
    let row = one(&client,
        "SELECT t.purchases, t.revenue_cents, t.items_sold, t.customers,
                (SELECT coalesce(sum(customers), 0)::int8 FROM customer_purchase_histogram WHERE purchases >= $1),
                (SELECT coalesce(sum(purchases), 0)::int8 FROM branch_daily_sales WHERE day = $2),
                (SELECT coalesce(sum(revenue_cents), 0)::int8 FROM branch_daily_sales WHERE day = $2),
                coalesce((SELECT customers FROM daily_unique_customers WHERE day = $2), 0)
         FROM sales_totals AS t",
        &[&state.loyal_min_purchases, &today]).await?;
    Ok(Json(Kpis {
        purchases: row.get(0),
        revenue_cents: row.get(1),
        items_sold: row.get(2),
        unique_customers: row.get(3),
        loyal_customers: row.get(4),
        min_purchases: state.loyal_min_purchases,
        time_zone: state.time_zone.name().to_owned(),
        today: Today {
            date: today,
            purchases: row.get(5),
            revenue_cents: row.get(6),
            unique_customers: row.get(7),
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesRange {
    /// First day, YYYY-MM-DD (store time zone). Default: `to` minus 29 days (daily) or `to` (hourly).
    /// After `to`, or too far before it (366 days a daily report, 31 an hourly one): 400 `invalid-range`.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<Day>,
    /// Last day, YYYY-MM-DD, included. Default: today.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<Day>,
    /// Only this branch (e.g. SMKT001).
    #[param(pattern = "^[A-Z0-9_-]{1,32}$", example = "SMKT001")]
    pub branch: Option<String>,
}

/// A calendar day in a query, exactly `YYYY-MM-DD` (RFC 3339 `full-date`,
/// years 0000 to 9999): not chrono's wider syntax, which also takes signed
/// and six-digit years.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl std::str::FromStr for Day {
    type Err = String;

    fn from_str(text: &str) -> Result<Day, String> {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        let invalid = || {
            format!(
                "`{}` is not a date of the form YYYY-MM-DD",
                text.chars().take(40).collect::<String>()
            )
        };
        if !shaped {
            return Err(invalid());
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| invalid())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl SalesRange {
    fn resolve(
        &self,
        today: NaiveDate,
        default_days: i64,
        max_days: i64,
    ) -> Result<(NaiveDate, NaiveDate, Option<String>), ApiError> {
        let to = self.to.map_or(today, |day| day.0);
        let from = match self.from {
            Some(day) => day.0,
            // Saturates at the earliest date rather than panicking.
            None => to
                .checked_sub_days(chrono::Days::new((default_days - 1) as u64))
                .unwrap_or(NaiveDate::MIN),
        };
        if from > to {
            return Err(bad_range("`from` must not be after `to`"));
        }
        if (to - from).num_days() >= max_days {
            return Err(bad_range(format!(
                "the range may cover at most {max_days} days"
            )));
        }
        if let Some(branch) = &self.branch
            && !supermarket_domain::branch::is_valid_branch_id(branch)
        {
            return Err(bad_parameter(format!(
                "`{branch}` is not a branch id such as SMKT001"
            )));
        }
        Ok((from, to, self.branch.clone()))
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BranchDay {
    pub day: NaiveDate,
    pub branch_id: String,
    pub purchases: i64,
    pub revenue_cents: i64,
}

/// Purchases and revenue per branch per day (days with sales only).
#[utoipa::path(get, path = "/api/v1/analytics/sales/daily", tag = "analytics", params(SalesRange),
    responses((status = 200, body = Vec<BranchDay>),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
async fn daily_sales(
    State(state): State<AppState>,
    params: Result<Query<SalesRange>, QueryRejection>,
) -> Result<Json<Vec<BranchDay>>, ApiError> {
    let (from, to, branch) =
        query(params)?.resolve(state.time_zone.today(), 30, MAX_DAILY_RANGE_DAYS)?;
    let client = connection(&state.pool).await?;
    let rows = rows(&client,
        "SELECT day, branch_id, purchases, revenue_cents FROM branch_daily_sales
         WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR branch_id = $3) ORDER BY day, branch_id",
        &[&from, &to, &branch]).await?;
    Ok(Json(
        rows.iter()
            .map(|r| BranchDay {
                day: r.get(0),
                branch_id: r.get(1),
                purchases: r.get(2),
                revenue_cents: r.get(3),
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BranchHour {
    pub day: NaiveDate,
    /// Local hour of the day, 0 to 23.
    pub hour: i16,
    pub branch_id: String,
    pub purchases: i64,
    pub revenue_cents: i64,
}

/// Purchases and revenue per branch per local hour (hours with sales only).
#[utoipa::path(get, path = "/api/v1/analytics/sales/hourly", tag = "analytics", params(SalesRange),
    responses((status = 200, body = Vec<BranchHour>),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
async fn hourly_sales(
    State(state): State<AppState>,
    params: Result<Query<SalesRange>, QueryRejection>,
) -> Result<Json<Vec<BranchHour>>, ApiError> {
    let (from, to, branch) =
        query(params)?.resolve(state.time_zone.today(), 1, MAX_HOURLY_RANGE_DAYS)?;
    let client = connection(&state.pool).await?;
    let rows = rows(&client,
        "SELECT day, hour, branch_id, purchases, revenue_cents FROM branch_hourly_sales
         WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR branch_id = $3) ORDER BY day, hour, branch_id",
        &[&from, &to, &branch]).await?;
    Ok(Json(
        rows.iter()
            .map(|r| BranchHour {
                day: r.get(0),
                hour: r.get(1),
                branch_id: r.get(2),
                purchases: r.get(3),
                revenue_cents: r.get(4),
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CustomerSummary {
    pub customer_id: Uuid,
    pub purchases: i64,
    pub total_spent_cents: i64,
    pub first_purchase_at: DateTime<Utc>,
    pub last_purchase_at: DateTime<Utc>,
    pub loyal: bool,
}

/// One customer's history summary.
#[utoipa::path(get, path = "/api/v1/analytics/customers/{id}", tag = "analytics",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, body = CustomerSummary),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json"), Unavailable))]
async fn customer(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<CustomerSummary>, ApiError> {
    let client = connection(&state.pool).await?;
    let statement = client
        .prepare_cached("SELECT purchases, total_spent_cents, first_purchase_at, last_purchase_at FROM customer_stats WHERE customer_id = $1")
        .await
        .map_err(database_error)?;
    let Some(row) = client
        .query_opt(&statement, &[&id])
        .await
        .map_err(database_error)?
    else {
        return Err(
            Problem::not_found(format!("no purchase of customer {id} has been recorded")).into(),
        );
    };
    let purchases: i64 = row.get(0);
    Ok(Json(CustomerSummary {
        customer_id: id,
        purchases,
        total_spent_cents: row.get(1),
        first_purchase_at: row.get(2),
        last_purchase_at: row.get(3),
        loyal: purchases >= state.loyal_min_purchases,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoyalQuery {
    /// Page size, 0 to 1000 (default 50).
    #[param(minimum = 0, maximum = 1000)]
    pub limit: Option<i64>,
    /// Customers skipped first (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Only customers whose id starts with these hex digits (1 to 32 of them; dashes ignored); results are then ordered by id.
    #[param(pattern = "^-*([0-9a-fA-F]-*){1,32}$", example = "01e1e1")]
    pub prefix: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoyalPage {
    pub min_purchases: i64,
    /// All loyal customers (not only those matching `prefix`).
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub prefix: Option<String>,
    pub customers: Vec<LoyalEntry>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct LoyalEntry {
    pub customer_id: Uuid,
    pub purchases: i64,
    pub total_spent_cents: i64,
    pub last_purchase_at: DateTime<Utc>,
}

/// The smallest and largest UUIDs starting with `prefix` (hex digits, dashes ignored).
pub fn prefix_bounds(prefix: &str) -> Option<(Uuid, Uuid)> {
    let digits: String = prefix
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if digits.is_empty() || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let low = format!("{digits:0<32}");
    let high = format!("{digits:f<32}");
    Some((Uuid::parse_str(&low).ok()?, Uuid::parse_str(&high).ok()?))
}

/// Loyal customers, paged, optionally searched by id prefix.
#[utoipa::path(get, path = "/api/v1/analytics/loyal-customers", tag = "analytics", params(LoyalQuery),
    responses((status = 200, body = LoyalPage),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
async fn loyal_customers_page(
    State(state): State<AppState>,
    params: Result<Query<LoyalQuery>, QueryRejection>,
) -> Result<Json<LoyalPage>, ApiError> {
    let params = query(params)?;
    let (limit, offset) = check_paging(params.limit, params.offset, Some(1000))?;
    let limit = limit.unwrap_or(50);
    let bounds = match &params.prefix {
        None => None,
        Some(prefix) => Some(prefix_bounds(prefix).ok_or_else(|| {
            bad_parameter("`prefix` must be 1 to 32 hexadecimal digits of a customer id")
        })?),
    };
    let client = connection(&state.pool).await?;
    let min = state.loyal_min_purchases;
    let page = async {
        match bounds {
            // Walks the primary key inside the prefix range, in id order, and stops at the page.
            Some((low, high)) => rows(&client,
                "SELECT customer_id, purchases, total_spent_cents, last_purchase_at FROM customer_stats
                 WHERE customer_id BETWEEN $2 AND $3 AND purchases >= $1 ORDER BY customer_id LIMIT $4 OFFSET $5",
                &[&min, &low, &high, &limit, &offset]).await,
            None => rows(&client,
                "SELECT customer_id, purchases, total_spent_cents, last_purchase_at FROM customer_stats
                 WHERE purchases >= $1 ORDER BY purchases DESC, customer_id LIMIT $2 OFFSET $3",
                &[&min, &limit, &offset]).await,
        }
    };
    let count_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&min];
    let (total, page) = tokio::try_join!(one(&client, LOYAL_COUNT, &count_params), page)?;
    Ok(Json(LoyalPage {
        min_purchases: min,
        total: total.get(0),
        limit,
        offset,
        prefix: params.prefix,
        customers: page
            .iter()
            .map(|r| LoyalEntry {
                customer_id: r.get(0),
                purchases: r.get(1),
                total_spent_cents: r.get(2),
                last_purchase_at: r.get(3),
            })
            .collect(),
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Freshness {
    pub events_applied: i64,
    /// Purchase time of the newest applied event.
    pub last_event_purchased_at: Option<DateTime<Utc>>,
    /// When JetStream stored the newest applied event.
    pub last_event_published_at: Option<DateTime<Utc>>,
    /// When the consumer last committed a batch.
    pub last_applied_at: Option<DateTime<Utc>>,
    /// now − last_event_published_at: how old the newest applied event is
    /// (grows while no sales happen).
    pub lag_seconds: Option<f64>,
    /// last_applied_at − last_event_published_at: the pipeline delay of that event.
    pub apply_delay_seconds: Option<f64>,
    pub dead_letters: i64,
}

/// How current the read models are.
#[utoipa::path(get, path = "/api/v1/analytics/freshness", tag = "analytics", responses((status = 200, body = Freshness), Unavailable))]
async fn freshness(State(state): State<AppState>) -> Result<Json<Freshness>, ApiError> {
    let client = connection(&state.pool).await?;
    let row = one(&client,
        "SELECT events_applied, last_purchased_at, last_published_at, last_applied_at, dead_letters, clock_timestamp()
         FROM pipeline_freshness", &[]).await?;
    let published: Option<DateTime<Utc>> = row.get(2);
    let applied: Option<DateTime<Utc>> = row.get(3);
    let now: DateTime<Utc> = row.get(5);
    let seconds =
        |d: chrono::TimeDelta| d.num_microseconds().map_or(f64::MAX, |us| us as f64 / 1e6);
    Ok(Json(Freshness {
        events_applied: row.get(0),
        last_event_purchased_at: row.get(1),
        last_event_published_at: published,
        last_applied_at: applied,
        lag_seconds: published.map(|p| seconds(now - p)),
        apply_delay_seconds: published.zip(applied).map(|(p, a)| seconds(a - p)),
        dead_letters: row.get(4),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_cover_exactly_the_prefix() {
        let (low, high) = prefix_bounds("01E1-e1").expect("valid");
        assert_eq!(low.to_string(), "01e1e100-0000-0000-0000-000000000000");
        assert_eq!(high.to_string(), "01e1e1ff-ffff-ffff-ffff-ffffffffffff");
        assert!(prefix_bounds("xyz").is_none());
        assert!(prefix_bounds("").is_none());
        assert!(prefix_bounds(&"a".repeat(33)).is_none());
    }

    #[test]
    fn days_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            "2025-05-01".parse::<Day>(),
            Ok(Day(NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()))
        );
        assert_eq!(
            "0000-01-01".parse::<Day>().map(|d| d.0.to_string()),
            Ok("0000-01-01".to_owned())
        );
        for text in [
            "-262143-01-01",
            "+2025-05-01",
            "2025-5-1",
            "20250501",
            "2025-02-30",
            "2025-05-01 ",
            "２０２５-05-01",
            "",
        ] {
            assert!(text.parse::<Day>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_default_range_saturates_instead_of_panicking() {
        let range = SalesRange {
            from: None,
            to: Some(Day(NaiveDate::MIN)),
            branch: None,
        };
        let (from, to, _) = range
            .resolve(NaiveDate::MIN, 30, MAX_DAILY_RANGE_DAYS)
            .expect("a range");
        assert_eq!((from, to), (NaiveDate::MIN, NaiveDate::MIN));
    }
}
