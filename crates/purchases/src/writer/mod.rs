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
//!
//! Module map:
//! - `batch`: writing one gathered batch (`write_jobs`, the attempt, its
//!   retry one by one, and how a database error becomes a [`WriteError`]).
//! - this file: [`WriterSettings`], [`Outcome`], [`WriteError`], the
//!   [`Writer`] handle, its tasks and how they gather a batch.

use std::sync::Arc;
use std::time::Duration;

use supermarket_storage::Pool;
use supermarket_storage::oltp::purchases::{NewPurchase, StoredPurchase};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

mod batch;

use batch::write_jobs;

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
