//! The `/api/v1/analytics/*` reports: headline figures, sales per branch
//! per day and per hour, one customer's summary, loyal customers paged and
//! searched, and the pipeline's freshness.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use supermarket_http::{ApiError, Json, Path, Problem};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::legacy::LOYAL_COUNT;
use super::params::{
    LoyalQuery, MAX_DAILY_RANGE_DAYS, MAX_HOURLY_RANGE_DAYS, SalesRange, check_paging,
    prefix_bounds,
};
use super::plumbing::{Unavailable, bad_parameter, one, query, rows};

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
pub(super) async fn kpis(State(state): State<AppState>) -> Result<Json<Kpis>, ApiError> {
    let client = state.pool.get().await?;
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

/// The daily and the hourly sales reports are one request on two tables:
/// a date range and an optional branch, answered with the table's rows in
/// key order. Each row type says which table and how its rows read.
trait BranchSalesReport: Serialize + Sized {
    /// Days covered when `from` is not given (counting `to`).
    const DEFAULT_DAYS: i64;
    /// Longest range served: beyond it, 400 `invalid-range`.
    const MAX_DAYS: i64;
    /// The rows with `day` in `$1..=$2`, of branch `$3` unless it is NULL,
    /// in key order (written by `branch_sales_sql!`).
    const SQL: &'static str;

    fn from_row(row: &tokio_postgres::Row) -> Self;
}

/// A report's SQL: only the table and its key columns (selected first,
/// and the order) differ between the two.
macro_rules! branch_sales_sql {
    ($table:literal, $key:literal) => {
        concat!(
            "SELECT ",
            $key,
            ", purchases, revenue_cents FROM ",
            $table,
            " WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR branch_id = $3) ORDER BY ",
            $key
        )
    };
}

/// Either report, for the range `params` asks for.
async fn branch_sales<Report: BranchSalesReport>(
    state: &AppState,
    params: Result<Query<SalesRange>, QueryRejection>,
) -> Result<Json<Vec<Report>>, ApiError> {
    let (from, to, branch) = query(params)?.resolve(
        state.time_zone.today(),
        Report::DEFAULT_DAYS,
        Report::MAX_DAYS,
    )?;
    let client = state.pool.get().await?;
    let rows = rows(&client, Report::SQL, &[&from, &to, &branch]).await?;
    Ok(Json(rows.iter().map(Report::from_row).collect()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BranchDay {
    pub day: NaiveDate,
    pub branch_id: String,
    pub purchases: i64,
    pub revenue_cents: i64,
}

impl BranchSalesReport for BranchDay {
    const DEFAULT_DAYS: i64 = 30;
    const MAX_DAYS: i64 = MAX_DAILY_RANGE_DAYS;
    const SQL: &'static str = branch_sales_sql!("branch_daily_sales", "day, branch_id");

    fn from_row(row: &tokio_postgres::Row) -> BranchDay {
        BranchDay {
            day: row.get(0),
            branch_id: row.get(1),
            purchases: row.get(2),
            revenue_cents: row.get(3),
        }
    }
}

/// Purchases and revenue per branch per day (days with sales only).
#[utoipa::path(get, path = "/api/v1/analytics/sales/daily", tag = "analytics", params(SalesRange),
    responses((status = 200, body = Vec<BranchDay>),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
pub(super) async fn daily_sales(
    State(state): State<AppState>,
    params: Result<Query<SalesRange>, QueryRejection>,
) -> Result<Json<Vec<BranchDay>>, ApiError> {
    branch_sales(&state, params).await
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

impl BranchSalesReport for BranchHour {
    const DEFAULT_DAYS: i64 = 1;
    const MAX_DAYS: i64 = MAX_HOURLY_RANGE_DAYS;
    const SQL: &'static str = branch_sales_sql!("branch_hourly_sales", "day, hour, branch_id");

    fn from_row(row: &tokio_postgres::Row) -> BranchHour {
        BranchHour {
            day: row.get(0),
            hour: row.get(1),
            branch_id: row.get(2),
            purchases: row.get(3),
            revenue_cents: row.get(4),
        }
    }
}

/// Purchases and revenue per branch per local hour (hours with sales only).
#[utoipa::path(get, path = "/api/v1/analytics/sales/hourly", tag = "analytics", params(SalesRange),
    responses((status = 200, body = Vec<BranchHour>),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
pub(super) async fn hourly_sales(
    State(state): State<AppState>,
    params: Result<Query<SalesRange>, QueryRejection>,
) -> Result<Json<Vec<BranchHour>>, ApiError> {
    branch_sales(&state, params).await
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
pub(super) async fn customer(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<CustomerSummary>, ApiError> {
    let client = state.pool.get().await?;
    let statement = client
        .prepare_cached("SELECT purchases, total_spent_cents, first_purchase_at, last_purchase_at FROM customer_stats WHERE customer_id = $1")
        .await
        ?;
    let Some(row) = client.query_opt(&statement, &[&id]).await? else {
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

/// Loyal customers, paged, optionally searched by id prefix.
#[utoipa::path(get, path = "/api/v1/analytics/loyal-customers", tag = "analytics", params(LoyalQuery),
    responses((status = 200, body = LoyalPage),
              (status = 400, body = Problem, content_type = "application/problem+json"), Unavailable))]
pub(super) async fn loyal_customers_page(
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
    let client = state.pool.get().await?;
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
pub(super) async fn freshness(State(state): State<AppState>) -> Result<Json<Freshness>, ApiError> {
    let client = state.pool.get().await?;
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
    use super::{BranchDay, BranchHour, BranchSalesReport};

    #[test]
    fn the_sales_reports_read_their_own_table_in_key_order() {
        assert_eq!(
            BranchDay::SQL,
            "SELECT day, branch_id, purchases, revenue_cents FROM branch_daily_sales \
             WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR branch_id = $3) \
             ORDER BY day, branch_id"
        );
        assert_eq!(
            BranchHour::SQL,
            "SELECT day, hour, branch_id, purchases, revenue_cents FROM branch_hourly_sales \
             WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR branch_id = $3) \
             ORDER BY day, hour, branch_id"
        );
    }
}
