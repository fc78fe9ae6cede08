//! The harness: real NATS and PostgreSQL through the test kit, a lake
//! folder per test, and an independent reader (DuckDB in Python).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use supermarket_domain::{EventItem, PurchaseCreated};
use supermarket_events::NatsArgs;
use supermarket_lake::{LakeConfig, LakeStore};
use supermarket_testkit::{TestDatabases, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const INSTALL_HINT: &str = "the lake tests read the Parquet files back with Python: install python3, then \
     `pip install duckdb pyarrow 'moto[server]'`";

const CATALOG: [(i32, &str, i64); 5] = [
    (1, "milk", 150),
    (2, "eggs", 300),
    (3, "bread", 250),
    (4, "toilet paper", 600),
    (5, "coffee", 899),
];

/// A purchase event at `branch` and time `at`, with 1 to 4 items.
pub fn purchase(branch: &str, at: DateTime<Utc>, salt: usize) -> PurchaseCreated {
    let id = uuid::Uuid::now_v7();
    let items: Vec<EventItem> = CATALOG
        .iter()
        .cycle()
        .skip(salt % CATALOG.len())
        .take(1 + salt % 4)
        .map(|&(product_id, name, price)| EventItem {
            product_id,
            product_name: name.to_owned(),
            unit_price_cents: price,
        })
        .collect();
    PurchaseCreated::new(id, branch, uuid::Uuid::new_v4(), at, items)
}

/// `n` purchases spread over the three branches and the given days.
pub fn purchases(n: usize, days: &[&str]) -> Vec<PurchaseCreated> {
    (0..n)
        .map(|i| {
            let branch = ["SMKT001", "SMKT002", "SMKT003"][i % 3];
            let day = days[(i / 3) % days.len()];
            let at: DateTime<Utc> = format!("{day}T12:00:00.123456Z")
                .parse()
                .expect("a test timestamp");
            purchase(branch, at + chrono::Duration::seconds(i as i64), i)
        })
        .collect()
}

pub struct Harness {
    pub databases: TestDatabases,
    pub nats: TestNats,
    pub args: NatsArgs,
    pub pool: deadpool_postgres::Pool,
    pub dir: PathBuf,
}

impl Harness {
    pub async fn new() -> Harness {
        let databases = TestDatabases::new().await;
        let nats = TestNats::new().await;
        let args = NatsArgs::new(
            nats.url.clone(),
            nats.stream.clone(),
            nats.subject_prefix.clone(),
        );
        let pool =
            supermarket_storage::pool::pool(&databases.analytics_url, "ANALYTICS_DATABASE_URL", 4)
                .expect("a pool on the analytics test database");
        let dir = std::env::temp_dir().join(format!(
            "lake-test-{}",
            supermarket_testkit::unique_suffix()
        ));
        Harness {
            databases,
            nats,
            args,
            pool,
            dir,
        }
    }

    pub fn config(&self, roll_seconds: u64, roll_events: u64) -> LakeConfig {
        LakeConfig {
            lake_url: self.dir.to_string_lossy().into_owned(),
            roll_seconds,
            roll_events,
            consumer_name: self.nats.consumer.clone(),
        }
    }

    /// Publishes events the way the relay does (Nats-Msg-Id = event id).
    pub async fn publish(&self, events: &[PurchaseCreated]) {
        let js = self.nats.jetstream();
        supermarket_events::ensure_stream(&js, &self.args)
            .await
            .expect("the test stream");
        let mut acks = Vec::with_capacity(events.len());
        for event in events {
            acks.push(
                supermarket_events::publish_purchase(&js, &self.args, event)
                    .await
                    .expect("publish"),
            );
        }
        for ack in acks {
            ack.await.expect("JetStream ack");
        }
    }

    /// Publishes a payload as a new stream message (no message id): what a
    /// relay re-publishing after the duplicate window would produce.
    pub async fn publish_raw(&self, branch: &str, payload: Vec<u8>) {
        let js = self.nats.jetstream();
        supermarket_events::ensure_stream(&js, &self.args)
            .await
            .expect("the test stream");
        js.publish(self.args.created_subject(branch), payload.into())
            .await
            .expect("publish")
            .await
            .expect("JetStream ack");
    }

    /// Runs the sink on a local lake in this test's folder.
    pub fn spawn_sink(
        &self,
        config: LakeConfig,
    ) -> (JoinHandle<anyhow::Result<()>>, CancellationToken) {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(supermarket_lake::run_sink(
            config,
            self.args.clone(),
            self.pool.clone(),
            Arc::default(),
            shutdown.clone(),
        ));
        (task, shutdown)
    }

    pub fn spawn_sink_on(
        &self,
        config: LakeConfig,
        lake: LakeStore,
    ) -> (JoinHandle<anyhow::Result<()>>, CancellationToken) {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(supermarket_lake::run_sink_on(
            config,
            lake,
            self.args.clone(),
            self.pool.clone(),
            Arc::default(),
            shutdown.clone(),
        ));
        (task, shutdown)
    }

    /// How many stream messages the lake has dealt with (written or left out).
    pub async fn sequences_done(&self) -> i64 {
        self.databases
            .analytics_count(
                "SELECT coalesce(sum(upper(r) - lower(r)), 0)::bigint FROM lake_progress p, unnest(p.done) r",
            )
            .await
    }

    /// Waits until `n` stream messages are done, failing after `limit`.
    pub async fn wait_for_done(&self, n: i64, limit: Duration) {
        let started = tokio::time::Instant::now();
        loop {
            let done = self.sequences_done().await;
            if done >= n {
                assert_eq!(done, n, "more sequences done than published");
                return;
            }
            assert!(
                started.elapsed() < limit,
                "only {done} of {n} events in the lake after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Stops a sink gracefully and checks it ended well.
pub async fn stop(task: JoinHandle<anyhow::Result<()>>, shutdown: CancellationToken) {
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the sink stops within 30 s");
    result
        .expect("the sink task")
        .expect("the sink ends without error");
}

/// What an independent reader (DuckDB) sees in a lake folder.
#[derive(Debug, Deserialize)]
pub struct LakeSummary {
    pub rows: i64,
    pub distinct_ids: i64,
    pub total_cents: i64,
    pub item_cents: i64,
    pub items: i64,
    /// (date, branch, rows), sorted.
    pub partitions: Vec<(String, String, i64)>,
    /// (date, branch) of the hive path == (UTC date of purchased_at, branch_id) on every row.
    pub partition_mismatches: i64,
    pub files: i64,
    /// column name -> DuckDB type
    pub types: std::collections::BTreeMap<String, String>,
}

const READER: &str = r#"
import glob, json, sys
try:
    import duckdb
except ImportError:
    sys.stderr.write("python3 cannot import duckdb\n")
    sys.exit(3)
root = sys.argv[1]
files = glob.glob(root + "/purchases/**/*.parquet", recursive=True)
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
src = "read_parquet('%s/purchases/*/*/*.parquet', hive_partitioning = true)" % root
rows, ids, total = con.execute(f"SELECT count(*), count(DISTINCT event_id), coalesce(sum(total_cents), 0) FROM {src}").fetchone()
items, item_cents = con.execute(f"SELECT count(*), coalesce(sum(i.unit_price_cents), 0) FROM (SELECT unnest(items) AS i FROM {src})").fetchone()
parts = con.execute(f"SELECT CAST(date AS VARCHAR), CAST(branch AS VARCHAR), count(*) FROM {src} GROUP BY ALL ORDER BY ALL").fetchall()
mismatches = con.execute(f"SELECT count(*) FROM {src} WHERE CAST(date AS VARCHAR) <> strftime(purchased_at, '%Y-%m-%d') OR CAST(branch AS VARCHAR) <> branch_id").fetchone()[0]
types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
print(json.dumps({"rows": rows, "distinct_ids": ids, "total_cents": int(total), "item_cents": int(item_cents), "items": items,
                  "partitions": [list(p) for p in parts], "partition_mismatches": mismatches, "files": len(files), "types": types}))
"#;

/// Reads a lake folder with DuckDB in a `python3` subprocess. Fails (does
/// not skip) when python3 or duckdb is missing.
pub fn read_lake(root: &Path) -> LakeSummary {
    let output = Command::new("python3")
        .arg("-c")
        .arg(READER)
        .arg(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): {INSTALL_HINT}"));
    if output.status.code() == Some(3) {
        panic!("python3 has no duckdb module: {INSTALL_HINT}");
    }
    assert!(
        output.status.success(),
        "the DuckDB reader failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "unreadable reader output ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// What the lake must hold for `events`: (date, branch, rows) sorted.
pub fn expected_partitions(events: &[PurchaseCreated]) -> Vec<(String, String, i64)> {
    let mut counts = std::collections::BTreeMap::new();
    for event in events {
        *counts
            .entry((
                event.purchased_at.format("%Y-%m-%d").to_string(),
                event.branch_id.clone(),
            ))
            .or_insert(0) += 1;
    }
    counts
        .into_iter()
        .map(|((date, branch), n)| (date, branch, n))
        .collect()
}

/// Checks that the lake holds exactly `events`, once each.
pub fn assert_lake_holds(summary: &LakeSummary, events: &[PurchaseCreated]) {
    let n = events.len() as i64;
    assert_eq!(summary.rows, n, "rows in the lake");
    assert_eq!(summary.distinct_ids, n, "distinct event ids in the lake");
    assert_eq!(
        summary.total_cents,
        events.iter().map(|e| e.total_cents).sum::<i64>(),
        "sum of totals"
    );
    assert_eq!(
        summary.item_cents, summary.total_cents,
        "items add up to the totals"
    );
    assert_eq!(
        summary.items,
        events.iter().map(|e| e.items.len() as i64).sum::<i64>(),
        "items"
    );
    assert_eq!(
        summary.partitions,
        expected_partitions(events),
        "partitions (date, branch, rows)"
    );
    assert_eq!(
        summary.partition_mismatches, 0,
        "rows whose hive path disagrees with their columns"
    );
}
