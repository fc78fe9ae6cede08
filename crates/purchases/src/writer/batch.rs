//! Writing one gathered batch: idempotency keys resolved in memory, one
//! insert statement, and the retry one purchase at a time when the
//! database refuses a row.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use supermarket_storage::Pool;
use supermarket_storage::oltp::purchases::{self, BatchError, NewPurchase, StoredPurchase};
use uuid::Uuid;

use super::{Job, Outcome, Reply, WriteError, WriterSettings};

/// A stored form of a purchase written by this batch, for replays of it.
fn stored_form(new: &NewPurchase) -> StoredPurchase {
    let purchase = &new.purchase;
    let mut items: Vec<(i32, i64)> = purchase
        .items()
        .iter()
        .map(|item| (item.product_id.0, item.unit_price.cents()))
        .collect();
    items.sort_unstable();
    StoredPurchase {
        id: purchase.id().0,
        branch_id: purchase.branch().as_str().to_owned(),
        customer_id: purchase.customer().0,
        purchased_at: purchase.purchased_at(),
        total_cents: purchase.total().cents(),
        idempotency_key: new.idempotency.as_ref().map(|i| i.key),
        request_hash: new.idempotency.as_ref().map(|i| i.request_hash.to_vec()),
        items,
    }
}

pub(super) async fn write_jobs(pool: &Pool, settings: &WriterSettings, jobs: Vec<Job>) {
    let started = Instant::now();
    let received = jobs.len();
    // Same key twice in one batch: the first leads, the others follow it.
    let mut leaders: Vec<NewPurchase> = Vec::with_capacity(jobs.len());
    let mut leader_replies: Vec<Reply> = Vec::with_capacity(jobs.len());
    let mut followers: Vec<(usize, Reply)> = Vec::new();
    let mut leader_of_key: HashMap<Uuid, usize> = HashMap::new();
    for Job { new, reply } in jobs {
        if let Some(idempotency) = &new.idempotency {
            if let Some(&leader) = leader_of_key.get(&idempotency.key) {
                let same_request = leaders[leader]
                    .idempotency
                    .as_ref()
                    .is_some_and(|l| l.request_hash == idempotency.request_hash);
                if same_request {
                    followers.push((leader, reply));
                } else {
                    let _ = reply.send(Err(WriteError::KeyReused(idempotency.key)));
                }
                continue;
            }
            leader_of_key.insert(idempotency.key, leaders.len());
        }
        leaders.push(new);
        leader_replies.push(reply);
    }

    let results = write_purchases(pool, settings, &leaders).await;

    for (leader, reply) in followers {
        let result = match &results[leader] {
            Ok(Outcome::Created) => Ok(Outcome::Replayed(stored_form(&leaders[leader]))),
            other => other.clone(),
        };
        let _ = reply.send(result);
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    for (reply, result) in leader_replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
    tracing::debug!(
        purchases = received,
        written = leaders.len(),
        failed,
        elapsed_us = started.elapsed().as_micros() as u64,
        "batch stored"
    );
}

/// Why an attempt failed as a whole.
enum AttemptError {
    /// The connection is unusable (closed, I/O error, timeout): every
    /// purchase of the attempt gets a 503.
    Connection(String),
    /// The statement failed on a row (constraint, deadlock): retry smaller.
    Statement(tokio_postgres::Error),
    Price(String),
}

fn classify(error: tokio_postgres::Error) -> AttemptError {
    if error.code().is_some() {
        AttemptError::Statement(error)
    } else {
        AttemptError::Connection(error.to_string())
    }
}

async fn write_purchases(
    pool: &Pool,
    settings: &WriterSettings,
    news: &[NewPurchase],
) -> Vec<Result<Outcome, WriteError>> {
    let all = |error: WriteError| vec![Err(error); news.len()];
    // The pool bounds the wait (`supermarket_storage::pool::CONNECTION_WAIT`).
    let client = match pool.get().await {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "no database connection for a batch");
            return all(WriteError::Unavailable(error.to_string()));
        }
    };
    match attempt(&client, settings, news).await {
        Ok(results) => results,
        Err(AttemptError::Connection(error)) => {
            tracing::warn!(%error, purchases = news.len(), "batch failed: database unavailable");
            // The connection may still have the statement in flight: never reuse it.
            drop(deadpool_postgres::Object::take(client));
            all(WriteError::Unavailable(error))
        }
        Err(AttemptError::Price(error)) if news.len() == 1 => {
            vec![Err(WriteError::Internal(error))]
        }
        Err(AttemptError::Statement(error)) if news.len() == 1 => vec![Err(single_failure(&error))],
        Err(batch_error) => {
            let reason = match &batch_error {
                AttemptError::Statement(error) => error.to_string(),
                AttemptError::Price(error) | AttemptError::Connection(error) => error.clone(),
            };
            tracing::warn!(error = %reason, purchases = news.len(), "batch refused by the database, retrying its purchases one by one");
            let mut results = Vec::with_capacity(news.len());
            for new in news {
                let result = match attempt(&client, settings, std::slice::from_ref(new)).await {
                    Ok(mut one) => one
                        .pop()
                        .unwrap_or_else(|| Err(WriteError::Internal("empty result".to_owned()))),
                    Err(AttemptError::Statement(error)) => Err(single_failure(&error)),
                    Err(AttemptError::Price(error)) => Err(WriteError::Internal(error)),
                    Err(AttemptError::Connection(error)) => Err(WriteError::Unavailable(error)),
                };
                results.push(result);
            }
            results
        }
    }
}

/// The answer for one purchase the database refused.
fn single_failure(error: &tokio_postgres::Error) -> WriteError {
    let code = error.code().map(|c| c.code()).unwrap_or("");
    let message = error
        .as_db_error()
        .map(|e| e.message().to_owned())
        .unwrap_or_else(|| error.to_string());
    if code.starts_with("23") {
        tracing::warn!(%code, %message, "purchase refused by a database rule");
        WriteError::Rejected(message)
    } else if code.starts_with("40") || code.starts_with("53") || code.starts_with("57") {
        // Deadlock, serialization, resources, shutdown: transient.
        WriteError::Unavailable(message)
    } else {
        tracing::error!(%code, %message, "purchase insert failed");
        WriteError::Internal(message)
    }
}

async fn attempt(
    client: &deadpool_postgres::Object,
    settings: &WriterSettings,
    news: &[NewPurchase],
) -> Result<Vec<Result<Outcome, WriteError>>, AttemptError> {
    let statement = client
        .prepare_cached(purchases::INSERT_BATCH_SQL)
        .await
        .map_err(classify)?;
    let inserted: HashSet<Uuid> = match tokio::time::timeout(
        settings.write_timeout,
        purchases::insert_batch(client, &statement, news),
    )
    .await
    {
        Ok(Ok(inserted)) => inserted,
        Ok(Err(BatchError::Database(error))) => return Err(classify(error)),
        Ok(Err(error @ BatchError::PriceOutOfRange(_))) => {
            return Err(AttemptError::Price(error.to_string()));
        }
        Err(_) => {
            return Err(AttemptError::Connection(format!(
                "no answer within {:?}",
                settings.write_timeout
            )));
        }
    };
    let conflicting: Vec<Uuid> = news
        .iter()
        .filter(|new| !inserted.contains(&new.purchase.id().0))
        .filter_map(|new| new.idempotency.as_ref().map(|i| i.key))
        .collect();
    let existing: HashMap<Uuid, StoredPurchase> = if conflicting.is_empty() {
        HashMap::new()
    } else {
        purchases::find_by_idempotency_keys(client, &conflicting)
            .await
            .map_err(classify)?
            .into_iter()
            .filter_map(|stored| stored.idempotency_key.map(|key| (key, stored)))
            .collect()
    };
    Ok(news
        .iter()
        .map(|new| {
            if inserted.contains(&new.purchase.id().0) {
                return Ok(Outcome::Created);
            }
            let Some(idempotency) = &new.idempotency else {
                return Err(WriteError::Internal(
                    "a purchase without a key was not inserted".to_owned(),
                ));
            };
            match existing.get(&idempotency.key) {
                Some(stored)
                    if stored.request_hash.as_deref() == Some(&idempotency.request_hash[..]) =>
                {
                    Ok(Outcome::Replayed(stored.clone()))
                }
                Some(_) => Err(WriteError::KeyReused(idempotency.key)),
                None => Err(WriteError::Internal(
                    "the purchase holding this key was not found".to_owned(),
                )),
            }
        })
        .collect())
}
