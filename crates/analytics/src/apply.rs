//! Applying a batch of events to the read models, exactly once.
//!
//! In ONE analytics transaction:
//! 1. unreadable messages go to `dead_letters`;
//! 2. `INSERT INTO processed_events ... ON CONFLICT DO NOTHING RETURNING`
//!    tells which events are new: a redelivered or re-published event is
//!    not returned and changes nothing below;
//! 3. the new events are aggregated in memory and applied with set-based
//!    `UNNEST` upserts, read model by read model ([`crate::read_models`])
//!    in a fixed order and, inside each table, in key order, so that two
//!    consumer instances lock rows in the same order and never deadlock;
//! 4. totals and freshness rows are updated.
//!
//! The caller commits, then acknowledges the messages: a crash before the
//! commit redelivers the batch (nothing was applied), a crash after it
//! redelivers events that step 2 ignores.

use std::collections::HashSet;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::read_models::{self, NewEvent};

/// One message as received from the stream.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub stream_sequence: u64,
    pub subject: String,
    pub payload: Bytes,
    /// When JetStream stored the message.
    pub published_at: DateTime<Utc>,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events applied for the first time.
    pub new_events: usize,
    /// Events already applied before (redeliveries, re-publishes, repeats within the batch).
    pub duplicates: usize,
    /// Messages recorded as dead letters.
    pub dead_letters: usize,
}

/// Applies `batch` inside `tx` (not committed here). `time_zone` is the
/// store time zone's IANA name.
pub async fn apply_batch(
    tx: &Transaction<'_>,
    time_zone: &str,
    batch: &[Incoming],
) -> anyhow::Result<Applied> {
    let mut applied = Applied::default();
    let mut events: Vec<NewEvent> = Vec::with_capacity(batch.len());
    let mut dead: Vec<(&Incoming, String)> = Vec::new();
    let mut seen = HashSet::with_capacity(batch.len());
    for message in batch {
        match supermarket_events::decode(&message.payload) {
            Ok(event) => {
                if seen.insert(event.event_id) {
                    events.push((event, message.published_at));
                } else {
                    applied.duplicates += 1;
                }
            }
            Err(error) => dead.push((message, error.to_string())),
        }
    }

    if !dead.is_empty() {
        applied.dead_letters = record_dead_letters(tx, &dead).await?;
    }
    if events.is_empty() {
        return Ok(applied);
    }

    let ids: Vec<Uuid> = events.iter().map(|(e, _)| e.event_id).collect();
    let new_ids: HashSet<Uuid> = tx
        .query(
            "INSERT INTO processed_events (event_id) SELECT id FROM unnest($1::uuid[]) AS t(id) ORDER BY id
             ON CONFLICT DO NOTHING RETURNING event_id",
            &[&ids],
        )
        .await
        .context("cannot record processed events")?
        .iter()
        .map(|row| row.get(0))
        .collect();
    applied.duplicates += events.len() - new_ids.len();
    events.retain(|(e, _)| new_ids.contains(&e.event_id));
    applied.new_events = events.len();
    if events.is_empty() {
        return Ok(applied);
    }

    // The lock order: one table family after the other, always in this
    // order (the rebuild locks them in the same one), each in key order.
    let new_customers = read_models::customers::apply(tx, &events).await?;
    let items_sold = read_models::products::apply(tx, &events).await?;
    read_models::branch_sales::apply(tx, time_zone, &events).await?;
    read_models::daily_customers::apply(tx, time_zone, &events).await?;
    read_models::totals::apply(tx, &events, new_customers, items_sold).await?;
    read_models::freshness::apply(tx, &events).await?;
    Ok(applied)
}

async fn record_dead_letters(
    tx: &Transaction<'_>,
    dead: &[(&Incoming, String)],
) -> anyhow::Result<usize> {
    let mut sorted: Vec<&(&Incoming, String)> = dead.iter().collect();
    sorted.sort_by_key(|(m, _)| m.stream_sequence);
    let seqs: Vec<i64> = sorted
        .iter()
        .map(|(m, _)| m.stream_sequence as i64)
        .collect();
    let subjects: Vec<&str> = sorted.iter().map(|(m, _)| m.subject.as_str()).collect();
    let payloads: Vec<&[u8]> = sorted.iter().map(|(m, _)| m.payload.as_ref()).collect();
    let errors: Vec<&str> = sorted.iter().map(|(_, e)| e.as_str()).collect();
    let inserted = tx
        .execute(
            "INSERT INTO dead_letters (stream_sequence, subject, payload, error)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::bytea[], $4::text[])
             ON CONFLICT (stream_sequence) DO NOTHING",
            &[&seqs, &subjects, &payloads, &errors],
        )
        .await
        .context("cannot record dead letters")?;
    for (message, error) in &sorted {
        tracing::error!(stream_sequence = message.stream_sequence, subject = %message.subject, error = %error,
            "unreadable event recorded in dead_letters and acknowledged");
    }
    read_models::freshness::add_dead_letters(tx, inserted).await?;
    Ok(inserted as usize)
}
