//! The lake sink: a durable pull consumer that writes rolls of events as
//! Parquet files, recording each roll in the [`Ledger`] before and after.
//!
//! Module map:
//! - `roll`: gathering a roll from the pull consumer and writing it
//!   (record, write the files, mark done).
//! - `redo`: finishing the batch a stopped sink left `writing`.
//! - this file: [`run_sink_on`], the advisory lock, the sink's durable
//!   consumer and acknowledging a written roll.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, Message, stream::Stream as JetStream};
use supermarket_events::NatsArgs;
use tokio_util::sync::CancellationToken;

use crate::LakeConfig;
use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::seqset::SeqSet;
use crate::store::LakeStore;

mod redo;
mod roll;

use redo::redo;
use roll::{gather, write_roll};

/// How often a standby sink checks whether the active one is gone.
const STANDBY_RETRY: Duration = Duration::from_secs(2);
/// Messages requested from the server per pull.
const PULL_BATCH: usize = 1_000;

/// Runs the sink on an opened lake until `shutdown` (see [`crate::run_sink`]).
pub async fn run_sink_on(
    config: LakeConfig,
    lake: LakeStore,
    nats: NatsArgs,
    analytics: deadpool_postgres::Pool,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(mut ledger) = take_the_lock(&config, &analytics, &shutdown).await? else {
        return Ok(());
    };
    let (client, js) = supermarket_events::connect(&nats).await?;
    let stream = supermarket_events::ensure_stream(&js, &nats).await?;
    let created = stream_created(&js, &nats.stream).await?;
    let progress = ledger.load(&nats.stream, &created).await?;
    let mut done = progress.done;
    tracing::info!(lake = %lake.url(), sink = %config.consumer_name, stream = %nats.stream,
        events_in_lake = done.len(), "lake sink started");

    if let Some(batch) = progress.writing
        && !redo(&lake, &stream, &mut ledger, batch, &mut done, &shutdown).await?
    {
        return Ok(());
    }

    let roll_seconds = Duration::from_secs(config.roll_seconds);
    let roll_events = config.roll_events;
    let consumer = fresh_consumer(&stream, &config, &nats, &done).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(PULL_BATCH.min(usize::try_from(roll_events).unwrap_or(PULL_BATCH)))
        .messages()
        .await
        .context("cannot start pulling from the lake's consumer")?;

    loop {
        let (roll, stopping) =
            gather(&mut messages, &done, roll_seconds, roll_events, &shutdown).await?;
        if !roll.is_empty() {
            let deliveries =
                write_roll(&lake, &mut ledger, roll, &mut done, &metrics, &shutdown).await?;
            match deliveries {
                Some(deliveries) => acknowledge(&deliveries).await,
                // Shut down while the object store was failing: the batch
                // stays 'writing' and is redone at the next start.
                None => break,
            }
        }
        if stopping {
            break;
        }
    }
    client
        .flush()
        .await
        .context("cannot flush the last acknowledgements to NATS")?;
    tracing::info!(sink = %config.consumer_name, "lake sink stopped");
    Ok(())
}

/// Waits until this sink holds the advisory lock; `None` on shutdown.
async fn take_the_lock(
    config: &LakeConfig,
    analytics: &deadpool_postgres::Pool,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<Ledger>> {
    let ledger = Ledger::connect(analytics, &config.consumer_name).await?;
    let mut announced = false;
    loop {
        if ledger.try_lock().await? {
            return Ok(Some(ledger));
        }
        if !announced {
            tracing::info!(sink = %config.consumer_name, "another lake sink of this name is running: standing by");
            announced = true;
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(STANDBY_RETRY) => {}
        }
    }
}

/// Recreates the sink's durable consumer so it starts at the first
/// sequence not yet in the lake. The done set in PostgreSQL is the truth;
/// the consumer's own state is disposable, and a fresh one redelivers at
/// once what a crashed sink held unacknowledged instead of after its ack
/// wait. It also applies changed roll settings.
async fn fresh_consumer(
    stream: &JetStream,
    config: &LakeConfig,
    nats: &NatsArgs,
    done: &SeqSet,
) -> anyhow::Result<jetstream::consumer::PullConsumer> {
    let name = &config.consumer_name;
    match stream.delete_consumer(name).await {
        Ok(_) => {}
        Err(error)
            if matches!(error.kind(), jetstream::stream::ConsumerErrorKind::JetStream(ref js)
                if js.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND) => {}
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot reset the lake's consumer {name:?}"));
        }
    }
    let start = done.first_missing();
    let roll_seconds = Duration::from_secs(config.roll_seconds);
    let consumer_config = jetstream::consumer::pull::Config {
        durable_name: Some(name.clone()),
        description: Some("data lake sink (purchase.created -> Parquet)".to_owned()),
        deliver_policy: if start <= 1 {
            jetstream::consumer::DeliverPolicy::All
        } else {
            jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            }
        },
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        // A message waits up to one roll in memory, then for its file to
        // be written: redelivering it sooner would only add skips.
        ack_wait: roll_seconds * 2 + Duration::from_secs(30),
        // A roll holds its messages unacknowledged: the server must let a
        // whole roll (plus the next pull) be outstanding.
        max_ack_pending: i64::try_from(config.roll_events.saturating_add(PULL_BATCH as u64 * 2))
            .unwrap_or(i64::MAX),
        filter_subject: nats.all_subjects(),
        ..Default::default()
    };
    stream
        .create_consumer(consumer_config)
        .await
        .with_context(|| format!("cannot create the lake's consumer {name:?}"))
}

/// The stream's creation time as the server states it: it identifies this
/// incarnation of the stream (sequence numbers restart with a new one).
async fn stream_created(js: &jetstream::Context, stream: &str) -> anyhow::Result<String> {
    let info: serde_json::Value = js
        .request(format!("STREAM.INFO.{stream}"), &serde_json::json!({}))
        .await
        .with_context(|| format!("cannot read the information of stream {stream:?}"))?;
    info.get("created")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .with_context(|| {
            format!("the information of stream {stream:?} has no creation time: {info}")
        })
}

/// Acknowledges every delivery of a written roll. A lost ack only means a
/// redelivery, which the done set turns into a skip.
async fn acknowledge(deliveries: &[Message]) {
    for message in deliveries {
        if let Err(error) = message.ack().await {
            tracing::warn!(%error, "cannot acknowledge a lake event; it will be redelivered and skipped");
        }
    }
}
