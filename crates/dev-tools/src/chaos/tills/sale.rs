//! One sale from a till: the request, its answer, the retries until a final
//! answer, and the deliberate repeat of an acknowledged sale.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use supermarket_simulator::traffic::{Kind, Sale};
use uuid::Uuid;

use super::{Ack, Inner, lock};

#[derive(Deserialize)]
struct Receipt {
    purchase_id: Uuid,
    branch_id: String,
    customer_id: Uuid,
    items: Vec<ReceiptItem>,
    total_cents: i64,
}

#[derive(Deserialize)]
struct ReceiptItem {
    product_id: i32,
    unit_price_cents: i64,
}

enum Answer {
    Created {
        receipt: Receipt,
        replayed: bool,
    },
    /// A 4xx: a final answer.
    Refused(u16, String),
    /// No answer or a 5xx: the sale may or may not be stored.
    TryAgain(String),
}

impl Inner {
    /// One request.
    async fn send(&self, target: usize, sale: &Sale) -> Answer {
        let url = format!("{}/api/v1/purchases", self.targets[target]);
        let response = match self
            .client
            .post(&url)
            .header("Idempotency-Key", sale.key.to_string())
            .json(&sale.body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                let cause = if error.is_timeout() {
                    "timeout"
                } else if error.is_connect() {
                    "connect"
                } else {
                    "connection lost"
                };
                return Answer::TryAgain(cause.to_owned());
            }
        };
        let status = response.status();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        if status.is_server_error() {
            if status.as_u16() != 503 {
                let body = response.text().await.unwrap_or_default();
                self.unexpected(format!("{status} for sale {}: {body}", sale.key));
            }
            return Answer::TryAgain(status.as_u16().to_string());
        }
        if status.as_u16() == 201 {
            return match response.json::<Receipt>().await {
                Ok(receipt) => Answer::Created { receipt, replayed },
                // The body was cut off: the sale is stored, but the till
                // cannot tell; asking again replays it.
                Err(_) => Answer::TryAgain("body lost".to_owned()),
            };
        }
        Answer::Refused(status.as_u16(), response.text().await.unwrap_or_default())
    }
}

/// Sells one sale until it gets a final answer (or the run gives up).
pub(super) async fn sell(inner: &Inner, sale: Sale, target: Option<usize>) -> Option<Ack> {
    let count = inner.targets.len();
    let mut index = target.unwrap_or_else(|| inner.next_target.fetch_add(1, Relaxed) % count);
    let mut attempts = 0u32;
    let mut pause = Duration::from_millis(50);
    loop {
        attempts += 1;
        match inner.send(index, &sale).await {
            Answer::Created { receipt, replayed } => {
                if sale.kind == Kind::Invalid {
                    inner.unexpected(format!(
                        "invalid sale {} was stored as purchase {}: {}",
                        sale.key, receipt.purchase_id, sale.body
                    ));
                    return None;
                }
                let mut items: Vec<(i32, i64)> = receipt
                    .items
                    .iter()
                    .map(|i| (i.product_id, i.unit_price_cents))
                    .collect();
                items.sort_unstable();
                let ack = Ack {
                    key: sale.key,
                    purchase_id: receipt.purchase_id,
                    branch_id: receipt.branch_id,
                    customer_id: receipt.customer_id,
                    items,
                    total_cents: receipt.total_cents,
                    acked_at: Utc::now(),
                    attempts,
                    replayed,
                };
                inner.remember(ack.customer_id);
                lock(&inner.ledger).acked.push(ack.clone());
                if sale.retry {
                    repeat(inner, &sale, &ack, (index + 1) % count).await;
                }
                return Some(ack);
            }
            Answer::Refused(status, body) => {
                if sale.kind == Kind::Invalid {
                    lock(&inner.ledger).invalid.push(sale.key);
                } else {
                    inner.unexpected(format!(
                        "valid sale {} refused with {status}: {body}",
                        sale.key
                    ));
                }
                return None;
            }
            Answer::TryAgain(cause) => {
                inner.failed(&cause);
                if inner.give_up.is_cancelled() {
                    let mut ledger = lock(&inner.ledger);
                    match sale.kind {
                        Kind::Sale => ledger.unacknowledged.push(sale.key),
                        Kind::Invalid => ledger.invalid.push(sale.key),
                    }
                    return None;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
                if target.is_none() {
                    index = (index + 1) % count;
                }
            }
        }
    }
}

/// Sends an acknowledged sale again (a till repeating it after an answer it
/// did not trust): it must replay the same purchase, never store another.
async fn repeat(inner: &Inner, sale: &Sale, first: &Ack, mut index: usize) {
    loop {
        match inner.send(index, sale).await {
            Answer::Created { receipt, replayed } => {
                if receipt.purchase_id != first.purchase_id || !replayed {
                    let what = format!(
                        "repeat of sale {} answered purchase {} (replayed: {replayed}), first answer {}",
                        sale.key, receipt.purchase_id, first.purchase_id
                    );
                    tracing::error!(what, "a repeated sale was not a replay");
                    lock(&inner.ledger).replay_mismatches.push(what);
                } else {
                    lock(&inner.ledger).replays_ok += 1;
                }
                return;
            }
            Answer::Refused(status, body) => {
                inner.unexpected(format!(
                    "repeat of sale {} refused with {status}: {body}",
                    sale.key
                ));
                return;
            }
            Answer::TryAgain(cause) => {
                inner.failed(&cause);
                if inner.give_up.is_cancelled() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                index = (index + 1) % inner.targets.len();
            }
        }
    }
}
