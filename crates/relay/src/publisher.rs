//! Claiming outbox rows, publishing their events, deleting them after the ack.
//!
//! One batch is one short transaction:
//! 1. claim up to `batch_size` rows (`ORDER BY seq ... FOR UPDATE SKIP LOCKED`)
//!    and, in the same statement, read each purchase with its items and
//!    product names (outbox rows are only pointers);
//! 2. send every event with `Nats-Msg-Id` = event id, keeping at most
//!    `max_in_flight` JetStream acks outstanding and awaiting them
//!    concurrently (awaiting each ack before the next send caps a relay at a
//!    few thousand events per second);
//! 3. once every ack arrived, `DELETE` the rows and commit.
//!
//! Any failure rolls the transaction back: the rows stay and are retried.
//! A NATS connection that drops while acks are awaited fails the batch at
//! once (those acks cannot come), rather than after the ack timeout.
//! A crash after the acks but before the commit re-publishes the batch
//! later; the stream's duplicate window drops those repeats, and analytics
//! deduplicates on the event id anyway.
//!
//! Several relays can run at once: `SKIP LOCKED` hands each one different
//! rows. Events therefore reach the stream out of `seq` order across relays
//! (and even within one relay, acks complete in any order): consumers must
//! not depend on order, and nothing here keeps a "last published seq"
//! high-water mark, which would skip rows whose transactions commit late
//! (sequence numbers are taken at insert, not at commit).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use supermarket_events::NatsArgs;
use supermarket_storage::Pool;
use supermarket_storage::oltp::outbox;

use crate::metrics::{Backlog, Metrics};

#[cfg(not(feature = "test-stops"))]
use stops::Stop;
#[cfg(feature = "test-stops")]
pub use stops::Stop;

mod stops {
    /// Where a batch stops. Only tests use anything but [`Stop::Never`]: it
    /// reproduces a process dying at that point (the open transaction is
    /// rolled back exactly as when the connection drops). Public only with
    /// the `test-stops` feature, which this crate's own tests turn on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Stop {
        Never,
        #[cfg_attr(not(feature = "test-stops"), allow(dead_code))]
        AfterPublishBeforeCommit,
    }
}

/// Publishes outbox rows to JetStream.
pub struct Publisher {
    pool: Pool,
    js: jetstream::Context,
    nats: NatsArgs,
    batch_size: i64,
    max_in_flight: usize,
    metrics: Arc<Metrics>,
}

impl Publisher {
    pub fn new(
        pool: Pool,
        js: jetstream::Context,
        nats: NatsArgs,
        batch_size: u32,
        max_in_flight: u32,
        metrics: Arc<Metrics>,
    ) -> Publisher {
        Publisher {
            pool,
            js,
            nats,
            batch_size: i64::from(batch_size.max(1)),
            max_in_flight: max_in_flight.max(1) as usize,
            metrics,
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size as usize
    }

    /// Publishes one batch; returns how many outbox rows it removed.
    pub async fn publish_batch(&self) -> anyhow::Result<usize> {
        self.publish_batch_stopping(Stop::Never).await
    }

    /// [`publish_batch`](Publisher::publish_batch), stopping at `stop` (tests).
    #[cfg(feature = "test-stops")]
    pub async fn publish_batch_until(&self, stop: Stop) -> anyhow::Result<usize> {
        self.publish_batch_stopping(stop).await
    }

    async fn publish_batch_stopping(&self, stop: Stop) -> anyhow::Result<usize> {
        let result = self.try_publish_batch(stop).await;
        if result.is_err() {
            self.metrics.errors.fetch_add(1, Relaxed);
        }
        result
    }

    async fn try_publish_batch(&self, stop: Stop) -> anyhow::Result<usize> {
        let mut client = self
            .pool
            .get()
            .await
            .context("no OLTP database connection (DATABASE_URL)")?;
        let tx = client.transaction().await?;
        let claimed = outbox::claim(&*tx, self.batch_size)
            .await
            .context("cannot claim outbox rows")?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let seqs: Vec<i64> = claimed.iter().map(|row| row.seq).collect();
        let mut events = Vec::with_capacity(claimed.len());
        for row in claimed {
            match row.event {
                Some(event) => events.push(event),
                None => {
                    // Nothing can be published for it, and keeping it would
                    // claim a slot of every batch forever.
                    tracing::warn!(seq = row.seq, event_id = %row.event_id, event_type = row.event_type,
                        "outbox row without a publishable purchase: dropped");
                    self.metrics.orphans.fetch_add(1, Relaxed);
                }
            }
        }

        let publish_all = async {
            let mut acks = FuturesUnordered::new();
            let mut duplicates = 0u64;
            for event in &events {
                if acks.len() >= self.max_in_flight
                    && let Some(ack) = acks.next().await
                {
                    duplicates += u64::from(check_ack(ack)?);
                }
                let ack = supermarket_events::publish_purchase(&self.js, &self.nats, event).await?;
                acks.push(ack.into_future());
            }
            while let Some(ack) = acks.next().await {
                duplicates += u64::from(check_ack(ack)?);
            }
            anyhow::Ok(duplicates)
        };
        // Acks of messages sent before the connection dropped never come:
        // waiting for their timeout (seconds) would hold the whole outbox
        // back after the broker is back. Give the batch up at once instead;
        // its rows stay and are published again (the broker drops repeats).
        let client = self.js.client();
        let duplicates = tokio::select! {
            duplicates = publish_all => duplicates?,
            () = until_connected_is(&client, false) => {
                anyhow::bail!("the NATS connection dropped while {} events awaited their acks", events.len())
            }
        };

        if stop == Stop::AfterPublishBeforeCommit {
            // Dropping `tx` rolls back, as a dead process would.
            return Ok(0);
        }
        outbox::delete(&*tx, &seqs)
            .await
            .context("cannot delete published outbox rows")?;
        tx.commit()
            .await
            .context("cannot commit the outbox batch")?;

        self.metrics
            .published
            .fetch_add(events.len() as u64, Relaxed);
        self.metrics.duplicates.fetch_add(duplicates, Relaxed);
        self.metrics.observe_batch(seqs.len() as u64);
        tracing::debug!(
            rows = seqs.len(),
            published = events.len(),
            duplicates,
            "outbox batch published"
        );
        Ok(seqs.len())
    }

    /// The outbox backlog for `/metrics`: rows waiting and the oldest's age.
    pub async fn backlog(&self) -> anyhow::Result<Backlog> {
        let client = self.pool.get().await?;
        let (rows, oldest_age_seconds) = outbox::backlog(&**client).await?;
        Ok(Backlog {
            rows,
            oldest_age_seconds,
        })
    }
}

/// How often the connection's state is checked while waiting for it to change.
const CONNECTION_CHECK: Duration = Duration::from_millis(20);

fn connected(client: &async_nats::Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// Resolves once whether the client is connected is `wanted` (at once if it is).
async fn until_connected_is(client: &async_nats::Client, wanted: bool) {
    while connected(client) != wanted {
        tokio::time::sleep(CONNECTION_CHECK).await;
    }
}

/// Whether an ack reports a duplicate; an error fails the batch.
fn check_ack(
    ack: Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
) -> anyhow::Result<bool> {
    let ack = ack.context("JetStream did not acknowledge a publish")?;
    Ok(ack.duplicate)
}

impl Publisher {
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the NATS client is connected now.
    pub fn broker_connected(&self) -> bool {
        connected(&self.js.client())
    }

    /// Resolves once the NATS client is connected (at once if it is).
    pub async fn broker_reconnected(&self) {
        until_connected_is(&self.js.client(), true).await;
    }
}
