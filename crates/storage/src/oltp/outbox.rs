//! The outbox: rows written with each purchase (same transaction), claimed,
//! published and deleted by the relay.

use chrono::{DateTime, Utc};
use supermarket_domain::{EventItem, PurchaseCreated};
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

/// Claims up to `$1` rows (`SKIP LOCKED`: several relays get different
/// rows) and reads, in the same statement, each purchase with its items and
/// product names (outbox rows are only pointers).
const CLAIM_AND_READ: &str = "
WITH claimed AS (
    SELECT seq, event_id, event_type FROM outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
)
SELECT c.seq, c.event_id, c.event_type, p.branch_id, p.customer_id, p.purchased_at, p.total_cents,
       i.product_ids, i.names, i.prices
FROM claimed c
LEFT JOIN purchases p ON p.id = c.event_id
LEFT JOIN LATERAL (
    SELECT array_agg(pi.product_id ORDER BY pi.product_id) AS product_ids,
           array_agg(pr.name ORDER BY pi.product_id) AS names,
           array_agg(pi.unit_price_cents::bigint ORDER BY pi.product_id) AS prices
    FROM purchase_items pi JOIN products pr ON pr.id = pi.product_id
    WHERE pi.purchase_id = c.event_id
) i ON p.id IS NOT NULL
ORDER BY c.seq";

/// One claimed outbox row.
#[derive(Debug)]
pub struct Claimed {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The event to publish; `None` when the row names no stored purchase
    /// or an event type this code does not publish.
    pub event: Option<PurchaseCreated>,
}

/// Claims up to `limit` rows, in `seq` order, inside the caller's
/// transaction: they stay locked until it ends.
pub async fn claim(
    tx: &impl GenericClient,
    limit: i64,
) -> Result<Vec<Claimed>, tokio_postgres::Error> {
    let rows = tx.query(CLAIM_AND_READ, &[&limit]).await?;
    Ok(rows.iter().map(claimed).collect())
}

fn claimed(row: &Row) -> Claimed {
    let event_id: Uuid = row.get("event_id");
    let event_type: String = row.get("event_type");
    let branch: Option<String> = row.get("branch_id");
    let product_ids: Option<Vec<i32>> = row.get("product_ids");
    let event = match (branch, product_ids) {
        (Some(branch_id), Some(product_ids)) if event_type == PurchaseCreated::EVENT_TYPE => {
            let names: Vec<String> = row.get("names");
            let prices: Vec<i64> = row.get("prices");
            let purchased_at: DateTime<Utc> = row.get("purchased_at");
            Some(PurchaseCreated {
                event_id,
                event_type: event_type.clone(),
                schema_version: PurchaseCreated::SCHEMA_VERSION,
                purchase_id: event_id,
                branch_id,
                customer_id: row.get("customer_id"),
                purchased_at,
                items: product_ids
                    .into_iter()
                    .zip(names)
                    .zip(prices)
                    .map(|((product_id, product_name), unit_price_cents)| EventItem {
                        product_id,
                        product_name,
                        unit_price_cents,
                    })
                    .collect(),
                total_cents: row.get("total_cents"),
            })
        }
        _ => None,
    };
    Claimed {
        seq: row.get("seq"),
        event_id,
        event_type,
        event,
    }
}

/// Deletes published rows (inside the claiming transaction).
pub async fn delete(tx: &impl GenericClient, seqs: &[i64]) -> Result<u64, tokio_postgres::Error> {
    tx.execute("DELETE FROM outbox WHERE seq = ANY($1)", &[&seqs])
        .await
}

/// Rows waiting (counted up to a million, which bounds the cost when a large
/// backlog builds up) and the age in seconds of the oldest (0 when empty).
pub async fn backlog(client: &impl GenericClient) -> Result<(i64, f64), tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT 1000000) AS capped),
                    coalesce((SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox ORDER BY seq LIMIT 1), 0)",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}
