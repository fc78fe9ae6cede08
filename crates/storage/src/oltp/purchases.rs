//! Writing and reading live purchases (the purchases service's storage).
//!
//! [`insert_batch`] stores many purchases with ONE statement: customers are
//! upserted, purchases inserted with `ON CONFLICT (idempotency_key) DO
//! NOTHING`, and only the purchases actually inserted get their items and an
//! outbox row. A single statement is atomic and, outside an explicit
//! transaction, commits on return (durably: `synchronous_commit` stays on),
//! so a batch costs one round trip. Rows whose key already existed are not
//! in the returned set: the caller looks them up with
//! [`find_by_idempotency_keys`] to replay them or to refuse a reused key.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use supermarket_domain::Purchase;
use tokio_postgres::{Client, Row, Statement};
use uuid::Uuid;

/// The batch insert: arrays of purchase columns ($1..$7) and of item columns
/// ($8..$10). Customers are inserted in id order so concurrent batches lock
/// them in the same order (no deadlock between writers).
pub const INSERT_BATCH_SQL: &str = "\
WITH new_customers AS (
    INSERT INTO customers (id)
    SELECT DISTINCT c.id FROM unnest($3::uuid[]) AS c(id) ORDER BY c.id
    ON CONFLICT DO NOTHING
),
inserted AS (
    INSERT INTO purchases (id, branch_id, customer_id, purchased_at, total_cents, source, idempotency_key, request_hash)
    SELECT p.id, p.branch_id, p.customer_id, p.purchased_at, p.total_cents, 'pos', p.idempotency_key, p.request_hash
    FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::int8[], $6::uuid[], $7::bytea[])
         AS p(id, branch_id, customer_id, purchased_at, total_cents, idempotency_key, request_hash)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
),
items AS (
    INSERT INTO purchase_items (purchase_id, product_id, unit_price_cents)
    SELECT i.purchase_id, i.product_id, i.unit_price_cents
    FROM unnest($8::uuid[], $9::int4[], $10::int4[]) AS i(purchase_id, product_id, unit_price_cents)
    JOIN inserted ON inserted.id = i.purchase_id
),
events AS (
    INSERT INTO outbox (event_id, event_type)
    SELECT id, 'purchase.created' FROM inserted
)
SELECT id FROM inserted";

/// One purchase to store, with its idempotency key and request hash if the
/// client sent a key.
#[derive(Clone, Debug)]
pub struct NewPurchase {
    pub purchase: Purchase,
    pub idempotency: Option<Idempotency>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    pub key: Uuid,
    /// SHA-256 of the canonical request.
    pub request_hash: [u8; 32],
}

/// The column arrays of a batch, built once and bound as parameters.
#[derive(Default)]
struct Columns {
    ids: Vec<Uuid>,
    branches: Vec<String>,
    customers: Vec<Uuid>,
    times: Vec<DateTime<Utc>>,
    totals: Vec<i64>,
    keys: Vec<Option<Uuid>>,
    hashes: Vec<Option<Vec<u8>>>,
    item_purchases: Vec<Uuid>,
    item_products: Vec<i32>,
    item_prices: Vec<i32>,
}

impl Columns {
    fn of(batch: &[&NewPurchase]) -> Result<Columns, BatchError> {
        let mut columns = Columns::default();
        for new in batch {
            let purchase = &new.purchase;
            columns.ids.push(purchase.id().0);
            columns.branches.push(purchase.branch().as_str().to_owned());
            columns.customers.push(purchase.customer().0);
            columns.times.push(purchase.purchased_at());
            columns.totals.push(purchase.total().cents());
            columns.keys.push(new.idempotency.as_ref().map(|i| i.key));
            columns
                .hashes
                .push(new.idempotency.as_ref().map(|i| i.request_hash.to_vec()));
            for item in purchase.items() {
                columns.item_purchases.push(purchase.id().0);
                columns.item_products.push(item.product_id.0);
                let price = i32::try_from(item.unit_price.cents())
                    .map_err(|_| BatchError::PriceOutOfRange(item.unit_price.cents()))?;
                columns.item_prices.push(price);
            }
        }
        Ok(columns)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("unit price of {0} cents does not fit the items table")]
    PriceOutOfRange(i64),
    #[error(transparent)]
    Database(#[from] tokio_postgres::Error),
}

/// Prepares [`INSERT_BATCH_SQL`] on `client`.
pub async fn prepare_insert_batch(client: &Client) -> Result<Statement, tokio_postgres::Error> {
    client.prepare(INSERT_BATCH_SQL).await
}

/// Stores `batch` in one statement (one transaction) and returns the ids of
/// the purchases inserted; a purchase missing from the set had an
/// idempotency key that was already stored. `statement` is
/// [`INSERT_BATCH_SQL`] prepared on `client`.
///
/// Rows are sent in idempotency-key order so that concurrent batches wait on
/// each other's keys in one order rather than deadlocking.
pub async fn insert_batch(
    client: &Client,
    statement: &Statement,
    batch: &[NewPurchase],
) -> Result<HashSet<Uuid>, BatchError> {
    let mut ordered: Vec<&NewPurchase> = batch.iter().collect();
    ordered.sort_by_key(|new| new.idempotency.as_ref().map(|i| i.key));
    let c = Columns::of(&ordered)?;
    let rows = client
        .query(
            statement,
            &[
                &c.ids,
                &c.branches,
                &c.customers,
                &c.times,
                &c.totals,
                &c.keys,
                &c.hashes,
                &c.item_purchases,
                &c.item_products,
                &c.item_prices,
            ],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get::<_, Uuid>(0)).collect())
}

/// A purchase as stored, with its items in product-id order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPurchase {
    pub id: Uuid,
    pub branch_id: String,
    pub customer_id: Uuid,
    pub purchased_at: DateTime<Utc>,
    pub total_cents: i64,
    pub idempotency_key: Option<Uuid>,
    pub request_hash: Option<Vec<u8>>,
    /// (product id, unit price in cents at the time of sale)
    pub items: Vec<(i32, i64)>,
}

const SELECT_STORED: &str = "\
SELECT p.id, p.branch_id, p.customer_id, p.purchased_at, p.total_cents, p.idempotency_key, p.request_hash,
       array_agg(i.product_id ORDER BY i.product_id) AS product_ids,
       array_agg(i.unit_price_cents::int8 ORDER BY i.product_id) AS prices
FROM purchases p JOIN purchase_items i ON i.purchase_id = p.id";

fn stored(row: &Row) -> StoredPurchase {
    let products: Vec<i32> = row.get(7);
    let prices: Vec<i64> = row.get(8);
    StoredPurchase {
        id: row.get(0),
        branch_id: row.get(1),
        customer_id: row.get(2),
        purchased_at: row.get(3),
        total_cents: row.get(4),
        idempotency_key: row.get(5),
        request_hash: row.get(6),
        items: products.into_iter().zip(prices).collect(),
    }
}

/// The purchases stored under any of `keys`.
pub async fn find_by_idempotency_keys(
    client: &Client,
    keys: &[Uuid],
) -> Result<Vec<StoredPurchase>, tokio_postgres::Error> {
    let sql = format!("{SELECT_STORED} WHERE p.idempotency_key = ANY($1) GROUP BY p.id");
    let rows = client.query(&sql, &[&keys]).await?;
    Ok(rows.iter().map(stored).collect())
}

/// One purchase by id.
pub async fn find_by_id(
    client: &Client,
    id: Uuid,
) -> Result<Option<StoredPurchase>, tokio_postgres::Error> {
    let sql = format!("{SELECT_STORED} WHERE p.id = $1 GROUP BY p.id");
    let row = client.query_opt(&sql, &[&id]).await?;
    Ok(row.as_ref().map(stored))
}
