//! The ceiling: the same kind of purchases the POS sends, written straight
//! to PostgreSQL with the purchases service's batch statement: no HTTP, no
//! JSON, no validation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use supermarket_domain::{
    BasketLine, Branches, Catalog, CustomerId, ProductRef, Purchase, PurchaseId,
};
use supermarket_storage::oltp::purchases::{Idempotency, NewPurchase};

/// Purchases like the POS sends: 2–4 distinct products, ~30% returning
/// customers, an idempotency key each.
pub fn generate(count: usize, catalog: &Catalog, branches: &Branches) -> Vec<NewPurchase> {
    let mut rng = StdRng::seed_from_u64(7);
    let products: Vec<_> = catalog.iter().map(|p| p.id).collect();
    let branch_ids: Vec<String> = branches.iter().map(|b| b.id.as_str().to_owned()).collect();
    let mut customers: Vec<CustomerId> = Vec::new();
    let now = Utc::now();
    (0..count)
        .map(|_| {
            let size = rng.random_range(2..=4);
            let mut chosen = Vec::new();
            while chosen.len() < size {
                let id = products[rng.random_range(0..products.len())];
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            let customer = if !customers.is_empty() && rng.random_bool(0.3) {
                customers[rng.random_range(0..customers.len())]
            } else {
                let c = CustomerId::new_random();
                customers.push(c);
                c
            };
            let lines = chosen
                .into_iter()
                .map(|id| BasketLine::one(ProductRef::Id(id)));
            let branch = &branch_ids[rng.random_range(0..branch_ids.len())];
            let purchase = Purchase::new(
                PurchaseId::new_live(),
                branch,
                customer,
                now,
                lines,
                catalog,
                branches,
            )
            .expect("generated purchases are valid");
            let request_hash =
                supermarket_purchases::request::request_hash(&purchase, Some(customer));
            NewPurchase {
                purchase,
                idempotency: Some(Idempotency {
                    key: uuid::Uuid::new_v4(),
                    request_hash,
                }),
            }
        })
        .collect()
}

pub struct Ceiling {
    pub purchases_per_s: f64,
    pub batch: usize,
    pub writers: usize,
}

/// Writes `purchases` in batches of `batch` with `writers` connections.
pub async fn ceiling(
    url: &str,
    purchases: Arc<Vec<NewPurchase>>,
    batch: usize,
    writers: usize,
) -> anyhow::Result<Ceiling> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let client = supermarket_storage::connect(url, "bench database").await?;
        let (purchases, next) = (Arc::clone(&purchases), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let statement =
                supermarket_storage::oltp::purchases::prepare_insert_batch(&client).await?;
            loop {
                let start = next.fetch_add(batch, Ordering::Relaxed);
                if start >= purchases.len() {
                    return anyhow::Ok(());
                }
                let end = (start + batch).min(purchases.len());
                supermarket_storage::oltp::purchases::insert_batch(
                    &client,
                    &statement,
                    &purchases[start..end],
                )
                .await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(Ceiling {
        purchases_per_s: purchases.len() as f64 / started.elapsed().as_secs_f64(),
        batch,
        writers,
    })
}
