//! Group commit: the only code that writes purchases.
//!
//! Handlers validate a purchase in memory and hand it to [`Writer::submit`],
//! which queues it on a bounded channel. `writers` tasks take turns
//! gathering: the task holding the queue takes every purchase waiting (up to
//! `batch_max`, waiting at most `batch_wait` for more), releases the queue to
//! the next task, and stores its batch with one statement on its own
//! connection ([`supermarket_storage::oltp::purchases::insert_batch`]). So one task
//! gathers while others commit, and under load each commit carries many
//! purchases. Each request is answered only after its batch has committed.
//!
//! Isolation inside a batch:
//! - same idempotency key twice in one batch: resolved in memory (the first
//!   is written; identical requests replay it, different ones get a 409);
//! - a key already stored: `ON CONFLICT DO NOTHING` skips the row, which is
//!   then looked up to replay it or refuse the reused key;
//! - a row the database rejects (say a product deleted since the catalog
//!   was loaded) fails the whole statement: the batch is then retried one
//!   purchase at a time so only that purchase fails.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supermarket_storage::Pool;
use supermarket_storage::oltp::purchases::{self, BatchError, NewPurchase, StoredPurchase};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Batching settings.
#[derive(Clone, Debug)]
pub struct WriterSettings {
    /// Most purchases per statement.
    pub batch_max: usize,
    /// How long a gathering task waits for more purchases after the first.
    /// Zero: take what is queued and go (batches still grow under load,
    /// because purchases queue while every task is committing).
    pub batch_wait: Duration,
    /// Concurrent writer tasks, one connection each.
    pub writers: usize,
    /// Bound on one batch statement; past it the requests get a 503.
    pub write_timeout: Duration,
}

impl Default for WriterSettings {
    fn default() -> WriterSettings {
        WriterSettings {
            batch_max: 512,
            batch_wait: Duration::ZERO,
            writers: 4,
            write_timeout: Duration::from_secs(5),
        }
    }
}

/// How a submitted purchase ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now (with its items and outbox row).
    Created,
    /// Its idempotency key was already used by an identical request: this is
    /// the purchase stored then; nothing new was stored.
    Replayed(StoredPurchase),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("idempotency key {0} was already used for a different purchase request")]
    KeyReused(Uuid),
    /// The database refused this purchase (an integrity rule), e.g. because
    /// the catalog changed under it.
    #[error("the database refused the purchase: {0}")]
    Rejected(String),
    /// The database cannot be reached or did not answer in time. The purchase
    /// may or may not be stored: retry with the same idempotency key.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected failure: {0}")]
    Internal(String),
    #[error("the service is shutting down")]
    ShuttingDown,
}

type Reply = oneshot::Sender<Result<Outcome, WriteError>>;

struct Job {
    new: NewPurchase,
    reply: Reply,
}

/// The handle requests submit through; cheap to clone. When every clone is
/// dropped, the writer tasks store what is queued and stop.
#[derive(Clone, Debug)]
pub struct Writer {
    sender: mpsc::Sender<Job>,
}

/// The writer tasks, to await at shutdown.
pub struct WriterTasks {
    handles: Vec<JoinHandle<()>>,
}

impl WriterTasks {
    /// Waits until every queued purchase is stored and the tasks end (they
    /// end once every [`Writer`] clone is dropped).
    pub async fn join(self) {
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("purchase", &self.new.purchase.id())
            .finish()
    }
}

impl Writer {
    /// Starts `settings.writers` tasks writing through `pool`.
    pub fn start(pool: Pool, settings: WriterSettings) -> (Writer, WriterTasks) {
        let settings = WriterSettings {
            batch_max: settings.batch_max.max(1),
            writers: settings.writers.max(1),
            ..settings
        };
        // Room for two full batches per writer: beyond that, callers wait
        // (backpressure) instead of queueing without bound.
        let (sender, receiver) = mpsc::channel(settings.batch_max * settings.writers * 2);
        let receiver = Arc::new(Mutex::new(receiver));
        let handles = (0..settings.writers)
            .map(|index| {
                tokio::spawn(writer_loop(
                    index,
                    pool.clone(),
                    Arc::clone(&receiver),
                    settings.clone(),
                ))
            })
            .collect();
        (Writer { sender }, WriterTasks { handles })
    }

    /// Stores `new` (or finds the purchase its idempotency key already
    /// names), returning once the outcome is durable.
    pub async fn submit(&self, new: NewPurchase) -> Result<Outcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { new, reply })
            .await
            .map_err(|_| WriteError::ShuttingDown)?;
        answer.await.map_err(|_| {
            WriteError::Internal("the writer task ended before answering".to_owned())
        })?
    }
}

async fn writer_loop(
    index: usize,
    pool: Pool,
    receiver: Arc<Mutex<mpsc::Receiver<Job>>>,
    settings: WriterSettings,
) {
    loop {
        let jobs = gather(&receiver, &settings).await;
        if jobs.is_empty() {
            tracing::debug!(writer = index, "purchase queue closed, writer stopping");
            return;
        }
        write_jobs(&pool, &settings, jobs).await;
    }
}

/// Takes the queue, then every job waiting (up to `batch_max`), waiting up
/// to `batch_wait` for more. Empty means the queue is closed and drained.
async fn gather(receiver: &Mutex<mpsc::Receiver<Job>>, settings: &WriterSettings) -> Vec<Job> {
    let mut receiver = receiver.lock().await;
    let mut jobs = Vec::with_capacity(settings.batch_max.min(1024));
    if receiver.recv_many(&mut jobs, settings.batch_max).await == 0 {
        return jobs;
    }
    if !settings.batch_wait.is_zero() {
        let deadline = tokio::time::Instant::now() + settings.batch_wait;
        while jobs.len() < settings.batch_max {
            let room = settings.batch_max - jobs.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(&mut jobs, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    jobs
}

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

async fn write_jobs(pool: &Pool, settings: &WriterSettings, jobs: Vec<Job>) {
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
