//! Redelivery, repeats and crashes: every event is in the lake once.

use std::time::Duration;

use supermarket_lake::ledger::Ledger;
use supermarket_lake::parquet_file::{self, Row};
use supermarket_lake::{LakeStore, SeqSet};

use crate::support::{Harness, assert_lake_holds, purchases, read_lake, stop};

#[tokio::test]
async fn repeated_and_unreadable_messages_are_left_out() {
    let harness = Harness::new().await;
    let events = purchases(60, &["2025-05-26"]);
    harness.publish(&events).await;
    // The same events again with the same message id: the broker drops them.
    harness.publish(&events[..10]).await;
    // Re-published after the duplicate window: new stream messages.
    for event in &events[20..30] {
        harness
            .publish_raw(&event.branch_id, serde_json::to_vec(event).unwrap())
            .await;
    }
    harness
        .publish_raw("SMKT001", b"{not an event".to_vec())
        .await;

    let (task, shutdown) = harness.spawn_sink(harness.config(1, 25));
    harness.wait_for_done(71, Duration::from_secs(30)).await;
    stop(task, shutdown).await;

    assert_lake_holds(&read_lake(&harness.dir), &events);
    let skipped = harness
        .databases
        .analytics_count("SELECT sum(skipped)::bigint FROM lake_batches")
        .await;
    assert_eq!(skipped, 11, "10 repeats and 1 unreadable message");
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_batch_interrupted_between_record_and_done_is_redone_identically() {
    let harness = Harness::new().await;
    let events = purchases(90, &["2025-05-26", "2025-05-27"]);
    harness.publish(&events).await;
    let lake = LakeStore::open(&harness.dir.to_string_lossy()).unwrap();

    // The state a sink killed mid-write leaves: sequences 1..=40 recorded
    // as 'writing', one of their files written, nothing acknowledged.
    let mut ledger = Ledger::connect(&harness.pool, &harness.nats.consumer)
        .await
        .unwrap();
    let js = harness.nats.jetstream();
    let info: serde_json::Value = js
        .request(
            format!("STREAM.INFO.{}", harness.nats.stream),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
    ledger
        .load(&harness.nats.stream, info["created"].as_str().unwrap())
        .await
        .unwrap();
    let rows: Vec<Row> = (1..=40u64)
        .map(|seq| Row {
            seq,
            event: events[seq as usize - 1].clone(),
        })
        .collect();
    let (record, files) = ledger
        .begin(SeqSet::from_ranges([(1, 41)]), rows, 0)
        .await
        .unwrap();
    assert!(files.len() > 1);
    let (first_path, first_rows) = &files[0];
    let first_bytes = parquet_file::encode(first_rows).unwrap();
    lake.put(first_path, first_bytes.clone()).await.unwrap();
    drop(ledger);

    let (task, shutdown) = harness.spawn_sink(harness.config(1, 100));
    harness.wait_for_done(90, Duration::from_secs(30)).await;
    stop(task, shutdown).await;

    assert_lake_holds(&read_lake(&harness.dir), &events);
    let batch = harness
        .databases
        .analytics_count(&format!(
            "SELECT count(*) FROM lake_batches WHERE first_seq = 1 AND last_seq = 40 AND state = 'done' AND events = 40 \
             AND cardinality(objects) = {}",
            record.objects.len()
        ))
        .await;
    assert_eq!(batch, 1, "the interrupted batch was finished as recorded");
    let rewritten = std::fs::read(harness.dir.join(first_path.as_ref())).unwrap();
    assert_eq!(
        rewritten,
        first_bytes.to_vec(),
        "the redo wrote the same file under the same name"
    );
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_sink_killed_again_and_again_still_writes_each_event_once() {
    let harness = Harness::new().await;
    let events = purchases(400, &["2025-05-26", "2025-05-27", "2025-05-28"]);
    harness.publish(&events).await;

    // Small rolls and aborts at varied moments: the task is dropped at
    // whatever await it is in (gathering, recording, writing, marking
    // done, acknowledging), as a SIGKILL would leave it.
    let config = harness.config(1, 15);
    let mut left_writing = 0;
    for round in 0..20u64 {
        let (task, _shutdown) = harness.spawn_sink(config.clone());
        tokio::time::sleep(Duration::from_millis(150 + round * 37 % 200)).await;
        task.abort();
        let _ = task.await;
        left_writing += harness
            .databases
            .analytics_count("SELECT count(*) FROM lake_batches WHERE state = 'writing'")
            .await;
    }
    eprintln!("rounds that left a batch half-written: {left_writing} of 20");
    let done_while_crashing = harness.sequences_done().await;

    let (task, shutdown) = harness.spawn_sink(config);
    harness.wait_for_done(400, Duration::from_secs(60)).await;
    stop(task, shutdown).await;

    assert!(done_while_crashing > 0, "the crashing sinks made progress");
    assert_lake_holds(&read_lake(&harness.dir), &events);
    let writing = harness
        .databases
        .analytics_count("SELECT count(*) FROM lake_batches WHERE state = 'writing'")
        .await;
    assert_eq!(writing, 0);
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_sink_that_loses_its_database_connection_starts_over_by_itself() {
    let harness = Harness::new().await;
    let events = purchases(60, &["2025-05-26"]);
    harness.publish(&events[..30]).await;
    let (task, shutdown) = harness.spawn_sink(harness.config(1, 1000));
    harness.wait_for_done(30, Duration::from_secs(30)).await;

    // What a database restart does to the sink: the session holding its
    // lock and recording its batches is cut.
    let cut = harness
        .databases
        .analytics_count(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .await;
    assert_eq!(cut, 1, "the sink's session held the lock");
    harness.publish(&events[30..]).await;
    harness.wait_for_done(60, Duration::from_secs(30)).await;
    assert!(
        !task.is_finished(),
        "the sink started over instead of stopping"
    );
    stop(task, shutdown).await;

    assert_lake_holds(&read_lake(&harness.dir), &events);
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_second_sink_of_the_same_name_stands_by() {
    let harness = Harness::new().await;
    let events = purchases(30, &["2025-05-26"]);
    harness.publish(&events).await;

    let (first, first_shutdown) = harness.spawn_sink(harness.config(1, 1000));
    harness.wait_for_done(30, Duration::from_secs(30)).await;
    let (second, second_shutdown) = harness.spawn_sink(harness.config(1, 1000));
    let probe = Ledger::connect(&harness.pool, &harness.nats.consumer)
        .await
        .unwrap();
    assert!(
        !probe.try_lock().await.unwrap(),
        "the running sink holds the lock"
    );
    drop(probe);

    let more = purchases(30, &["2025-05-27"]);
    harness.publish(&more).await;
    harness.wait_for_done(60, Duration::from_secs(30)).await;
    stop(first, first_shutdown).await;
    assert!(!second.is_finished(), "the standby waits for the lock");
    stop(second, second_shutdown).await;

    let all: Vec<_> = events.into_iter().chain(more).collect();
    assert_lake_holds(&read_lake(&harness.dir), &all);
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_recreated_stream_is_refused_rather_than_overwriting_the_lake() {
    let harness = Harness::new().await;
    let events = purchases(20, &["2025-05-26"]);
    harness.publish(&events).await;
    let (task, shutdown) = harness.spawn_sink(harness.config(1, 1000));
    harness.wait_for_done(20, Duration::from_secs(30)).await;
    stop(task, shutdown).await;

    // Same name, new stream: its sequences start at 1 again.
    harness
        .nats
        .jetstream()
        .delete_stream(&harness.nats.stream)
        .await
        .unwrap();
    harness.publish(&purchases(5, &["2025-05-26"])).await;
    let (task, _shutdown) = harness.spawn_sink(harness.config(1, 1000));
    let error = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the sink gives up at once")
        .unwrap()
        .expect_err("the sink refuses a recreated stream");
    assert!(
        format!("{error:#}").contains("LAKE_CONSUMER_NAME"),
        "the message says how to go on: {error:#}"
    );
    assert_lake_holds(&read_lake(&harness.dir), &events);
    harness.nats.cleanup().await;
}
