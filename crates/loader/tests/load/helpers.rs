//! What the loader tests share: rows of the test files, load options, row
//! counts before and after, and the check of a refused row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use clap::Parser;
use supermarket_loader::{LoadArgs, LoadError, LoadOptions, LoadSummary, load};
use supermarket_testkit::{TestDatabases, data};

pub const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount";
pub const CUSTOMER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";
pub const GOOD_ROW: &str =
    "SMKT003,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,milk\",4.5";

pub fn options(db: &TestDatabases, purchases: &Path) -> LoadOptions {
    LoadOptions {
        database_url: db.oltp_url.clone(),
        db_wait: Duration::from_secs(supermarket_storage::startup::DEFAULT_WAIT_SECS),
        products: data::products_csv(),
        purchases: purchases.to_owned(),
        branches: data::branches_csv(),
        store_timezone: Tz::UTC,
        progress: false,
    }
}

/// Writes `lines` joined by CRLF (as the original files) to a temporary file.
pub fn csv_file(dir: &tempfile::TempDir, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\r\n") + "\r\n").expect("write the test file");
    path
}

/// Row counts of every table the loader writes, to compare before and after.
pub async fn counts(db: &TestDatabases) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "branches",
        "products",
        "customers",
        "purchases",
        "purchase_items",
        "outbox",
    ] {
        out.push(
            db.oltp_count(&format!("SELECT count(*) FROM {table}"))
                .await,
        );
    }
    out.push(
        db.oltp_count("SELECT coalesce(sum(price_cents), 0)::bigint FROM products")
            .await,
    );
    out
}

pub async fn load_ok(options: &LoadOptions) -> LoadSummary {
    match load(options).await {
        Ok(summary) => summary,
        Err(error) => panic!("the load failed: {error}"),
    }
}

/// Loads a file whose third line is `bad_row` and checks the refusal: the
/// report names line 3 with `reason`, and nothing is stored.
pub async fn refused(bad_row: &str, reason: &str) {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(&dir, "purchases.csv", &[HEADER, GOOD_ROW, bad_row]);
    let before = counts(&db).await;
    match load(&options(&db, &path)).await {
        Err(LoadError::BadFile(report)) => {
            assert_eq!(report.total, 1, "{report}");
            assert_eq!(report.errors[0].line, 3, "{report}");
            assert!(
                report.errors[0].reason.contains(reason),
                "`{}` lacks `{reason}`",
                report.errors[0].reason
            );
            assert!(report.to_string().contains("line 3: "), "{report}");
        }
        other => panic!("expected a refused file, got {other:?}"),
    }
    assert_eq!(counts(&db).await, before, "a refused file changes nothing");
}

/// The loader's flags inside a command, as the CLI mounts them.
#[derive(Parser, Debug)]
pub struct Args {
    #[command(flatten)]
    pub load: LoadArgs,
}
