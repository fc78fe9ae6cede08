//! Layout, schema and both roll triggers, on a local folder.

use std::time::Duration;

use crate::support::{Harness, assert_lake_holds, purchases, read_lake, stop};

#[tokio::test]
async fn a_time_roll_writes_every_event_once_partitioned_by_date_and_branch() {
    let harness = Harness::new().await;
    let events = purchases(300, &["2025-05-26", "2025-05-27"]);
    harness.publish(&events).await;

    // A size roll far above the event count: only the 1 s time roll can
    // write them while the sink runs.
    let (task, shutdown) = harness.spawn_sink(harness.config(1, 100_000));
    harness.wait_for_done(300, Duration::from_secs(30)).await;
    let summary = read_lake(&harness.dir);
    stop(task, shutdown).await;

    assert_lake_holds(&summary, &events);
    assert_eq!(summary.partitions.len(), 6, "2 dates x 3 branches");
    let batches = harness
        .databases
        .analytics_count("SELECT count(*) FROM lake_batches WHERE state = 'done'")
        .await;
    let objects = harness
        .databases
        .analytics_count("SELECT sum(cardinality(objects))::bigint FROM lake_batches")
        .await;
    assert_eq!(
        summary.files, objects,
        "one file per partition per roll, as recorded"
    );
    assert!(
        batches <= 3,
        "a burst published at once lands in few rolls, got {batches}"
    );
    assert_eq!(summary.types["purchased_at"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(summary.types["total_cents"], "BIGINT");
    assert_eq!(summary.types["stream_sequence"], "BIGINT");
    assert_eq!(summary.types["event_id"], "VARCHAR");
    assert_eq!(summary.types["date"], "DATE", "the hive date partition");
    assert_eq!(
        summary.types["branch"], "VARCHAR",
        "the hive branch partition"
    );
    assert_eq!(
        summary.types["items"],
        "STRUCT(product_id INTEGER, product_name VARCHAR, unit_price_cents BIGINT)[]"
    );
    harness.nats.cleanup().await;
}

#[tokio::test]
async fn a_size_roll_writes_full_rolls_without_waiting_for_the_clock() {
    let harness = Harness::new().await;
    let events = purchases(230, &["2025-05-26"]);
    harness.publish(&events).await;

    // A time roll far longer than the test: only the 50-event size roll
    // can write anything within the wait below.
    let (task, shutdown) = harness.spawn_sink(harness.config(600, 50));
    harness.wait_for_done(200, Duration::from_secs(30)).await;
    let sizes: Vec<i32> = harness
        .databases
        .analytics()
        .await
        .query(
            "SELECT events FROM lake_batches WHERE state = 'done' ORDER BY first_seq",
            &[],
        )
        .await
        .expect("lake_batches")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        sizes,
        vec![50, 50, 50, 50],
        "four full rolls, the last 30 events still waiting for the clock"
    );
    // Shutdown writes the roll in hand.
    stop(task, shutdown).await;
    assert_eq!(harness.sequences_done().await, 230);
    let summary = read_lake(&harness.dir);
    assert_lake_holds(&summary, &events);
    assert_eq!(summary.files, 15, "5 rolls x 3 branches");
    harness.nats.cleanup().await;
}
