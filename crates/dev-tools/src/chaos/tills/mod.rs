//! The tills: simulated cashiers selling through both purchases instances
//! the way a real till does, and the ledger of every answer they got.
//!
//! Sales come from the simulator's [`Generator`] (realistic baskets,
//! returning customers, a few deliberately invalid baskets and deliberate
//! repeats). Each sale has its own `Idempotency-Key`. When a sale gets no
//! answer, or a 5xx, the till does not know whether it was stored, so it
//! sends the *same* request with the *same* key again, to the other
//! instance, until it gets an answer (or the run gives up on it at the
//! very end). Every 201 is recorded: that sale was acknowledged, and the
//! checks afterwards demand it be stored once, in OLTP, analytics and the
//! lake.
//!
//! Module map: this file holds the ledger ([`Ack`], [`Ledger`]) and the
//! tills ([`Tills`]: the load, the probes, the end); [`sale`] sends one sale
//! and retries it until it has a final answer.

mod sale;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use supermarket_simulator::traffic::{Generator, Mix, Sale};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

/// A sale the API acknowledged (201), as the receipt stated it.
#[derive(Clone, Debug)]
pub struct Ack {
    pub key: Uuid,
    pub purchase_id: Uuid,
    pub branch_id: String,
    pub customer_id: Uuid,
    /// (product id, unit price in cents), by product id.
    pub items: Vec<(i32, i64)>,
    pub total_cents: i64,
    pub acked_at: DateTime<Utc>,
    /// Requests it took (1 when the first one was answered).
    pub attempts: u32,
    /// The acknowledgement was a replay: an earlier attempt stored the sale
    /// but its answer was lost.
    pub replayed: bool,
}

/// Everything the tills saw.
#[derive(Default, Debug)]
pub struct Ledger {
    pub acked: Vec<Ack>,
    /// Keys of valid sales never acknowledged (the run gave up retrying at
    /// the end): each may or may not be stored, but at most once.
    pub unacknowledged: Vec<Uuid>,
    /// Keys of deliberately invalid sales: none may be stored.
    pub invalid: Vec<Uuid>,
    /// Deliberate repeats of an acknowledged sale that were not a replay of
    /// it (another purchase id, or stored anew): double counting.
    pub replay_mismatches: Vec<String>,
    /// Answers no fault explains: a valid sale refused, an invalid one
    /// stored, a 500.
    pub unexpected: Vec<String>,
    /// Attempts that got no usable answer, by cause (`503`, `connect`, ...).
    pub failed_attempts: BTreeMap<String, u64>,
    /// Deliberate repeats answered as replays of the same purchase.
    pub replays_ok: u64,
}

struct Inner {
    client: reqwest::Client,
    targets: Vec<String>,
    sales: Generator,
    probes: Generator,
    rng: Mutex<StdRng>,
    customers: Mutex<Vec<Uuid>>,
    ledger: Mutex<Ledger>,
    next_target: AtomicUsize,
    /// Cancelled when the run stops retrying unanswered sales.
    give_up: CancellationToken,
    tasks: TaskTracker,
    dispatched: AtomicU64,
    skipped: AtomicU64,
}

/// The tills, shared by the load and the recovery probes.
#[derive(Clone)]
pub struct Tills {
    inner: Arc<Inner>,
}

const KNOWN_CUSTOMERS: usize = 5_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking till task cannot leave the ledger half-written: each
    // update is a single push or increment.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Tills {
    /// Reads the catalog from the products service at `catalog_url` and
    /// prepares the generators.
    pub async fn connect(
        targets: Vec<String>,
        catalog_url: &str,
        cashier_token: &str,
        seed: u64,
    ) -> anyhow::Result<Tills> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {cashier_token}")
                .parse()
                .context("a token unfit for a header")?,
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .build()?;
        anyhow::ensure!(!targets.is_empty(), "no purchases instance");
        let (products, branches) =
            supermarket_simulator::fetch_catalog(&client, catalog_url).await?;
        let sales = Generator::new(
            products.clone(),
            branches.clone(),
            Mix {
                returning: 0.3,
                retry: 0.02,
                invalid: 0.02,
            },
        )?;
        let probes = Generator::new(
            products,
            branches,
            Mix {
                returning: 0.3,
                retry: 0.0,
                invalid: 0.0,
            },
        )?;
        Ok(Tills {
            inner: Arc::new(Inner {
                client,
                targets,
                sales,
                probes,
                rng: Mutex::new(StdRng::seed_from_u64(seed)),
                customers: Mutex::new(Vec::new()),
                ledger: Mutex::new(Ledger::default()),
                next_target: AtomicUsize::new(0),
                give_up: CancellationToken::new(),
                tasks: TaskTracker::new(),
                dispatched: AtomicU64::new(0),
                skipped: AtomicU64::new(0),
            }),
        })
    }

    /// Sends `rate` sales per second with at most `tills` in flight until
    /// `stop`. A tick with every till busy (all retrying through an
    /// outage) is skipped, as a queue at a till would wait.
    pub fn start_load(
        &self,
        rate: u32,
        tills: usize,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(tills.max(1)));
            let mut ticker = tokio::time::interval(Duration::from_millis(10));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = tokio::time::Instant::now();
            let mut due = 0.0f64;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    now = ticker.tick() => {
                        due += f64::from(rate) * now.duration_since(last).as_secs_f64();
                        last = now;
                    }
                }
                while due >= 1.0 {
                    due -= 1.0;
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        inner.skipped.fetch_add(1, Relaxed);
                        continue;
                    };
                    inner.dispatched.fetch_add(1, Relaxed);
                    let sale = inner.next_sale(&inner.sales);
                    let task_inner = inner.clone();
                    inner.tasks.spawn(async move {
                        let _permit = permit;
                        sale::sell(&task_inner, sale, None).await;
                    });
                }
            }
        })
    }

    /// One probe sale (a valid basket, no deliberate repeat), to `target`
    /// or the next instance; retried like any sale. `None` if never acknowledged.
    pub async fn probe(&self, target: Option<usize>) -> Option<Ack> {
        let sale = self.inner.next_sale(&self.inner.probes);
        sale::sell(&self.inner, sale, target).await
    }

    /// Spawns a probe tracked with the sales (finished before the ledger is read).
    pub fn spawn_probe(
        &self,
        target: Option<usize>,
        done: tokio::sync::mpsc::UnboundedSender<Ack>,
    ) {
        let tills = self.clone();
        self.inner.tasks.spawn(async move {
            if let Some(ack) = tills.probe(target).await {
                let _ = done.send(ack);
            }
        });
    }

    /// Sales acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        lock(&self.inner.ledger).acked.len()
    }

    /// Sales dispatched and ticks skipped because every till was busy.
    pub fn dispatched(&self) -> (u64, u64) {
        (
            self.inner.dispatched.load(Relaxed),
            self.inner.skipped.load(Relaxed),
        )
    }

    /// Waits up to `patience` for every sale in flight to be answered, then
    /// gives up on the rest (they are recorded as unacknowledged) and
    /// returns the ledger.
    pub async fn finish(self, patience: Duration) -> Ledger {
        self.inner.tasks.close();
        if tokio::time::timeout(patience, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                patience_s = patience.as_secs(),
                "sales still unanswered: giving up on them"
            );
            self.inner.give_up.cancel();
            self.inner.tasks.wait().await;
        }
        std::mem::take(&mut *lock(&self.inner.ledger))
    }
}

impl Inner {
    fn next_sale(&self, generator: &Generator) -> Sale {
        let mut rng = lock(&self.rng);
        let known = {
            let customers = lock(&self.customers);
            (!customers.is_empty()).then(|| customers[rng.random_range(0..customers.len())])
        };
        generator.next(&mut rng, known)
    }

    pub(super) fn remember(&self, customer: Uuid) {
        // The generator's lock first and alone: `next_sale` takes it before
        // the customers' lock, so taking them the other way round could deadlock.
        let slot = lock(&self.rng).random_range(0..KNOWN_CUSTOMERS);
        let mut customers = lock(&self.customers);
        if customers.len() < KNOWN_CUSTOMERS {
            customers.push(customer);
        } else {
            customers[slot] = customer;
        }
    }

    pub(super) fn failed(&self, cause: &str) {
        *lock(&self.ledger)
            .failed_attempts
            .entry(cause.to_owned())
            .or_default() += 1;
    }

    pub(super) fn unexpected(&self, what: String) {
        tracing::error!(what, "unexpected answer");
        lock(&self.ledger).unexpected.push(what);
    }
}
