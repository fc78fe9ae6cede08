//! The loader against a real PostgreSQL: a fresh migrated database per test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::Parser;
use supermarket_loader::{LoadArgs, LoadError, LoadOptions, LoadSummary, load};
use supermarket_testkit::{TestDatabases, data};

const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount";
const CUSTOMER: &str = "01e1e159-8045-43c2-88dd-5682b18bd680";
const GOOD_ROW: &str =
    "SMKT003,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,milk\",4.5";

fn options(db: &TestDatabases, purchases: &Path) -> LoadOptions {
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
fn csv_file(dir: &tempfile::TempDir, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, lines.join("\r\n") + "\r\n").expect("write the test file");
    path
}

/// Row counts of every table the loader writes, to compare before and after.
async fn counts(db: &TestDatabases) -> Vec<i64> {
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

async fn load_ok(options: &LoadOptions) -> LoadSummary {
    match load(options).await {
        Ok(summary) => summary,
        Err(error) => panic!("the load failed: {error}"),
    }
}

/// Loads a file whose third line is `bad_row` and checks the refusal: the
/// report names line 3 with `reason`, and nothing is stored.
async fn refused(bad_row: &str, reason: &str) {
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

#[tokio::test]
async fn loads_the_repository_data_once() {
    let db = TestDatabases::new().await;
    let summary = load_ok(&options(&db, &data::purchases_csv())).await;
    assert_eq!(summary.rows_read, 2183);
    assert_eq!(summary.purchases_loaded, 2183);
    assert_eq!(summary.items_loaded, 5952);
    assert_eq!(summary.customers_added, 1762);
    assert_eq!(summary.skipped_present, 0);
    assert_eq!((summary.branches_added, summary.products_added), (3, 10));
    assert_eq!(counts(&db).await[..6], [3, 10, 1762, 2183, 5952, 2183]);
    assert_eq!(
        db.oltp_count("SELECT count(DISTINCT customer_id) FROM purchases")
            .await,
        1762
    );
    assert_eq!(db.oltp_count("SELECT count(*) FROM purchases WHERE source = 'import' AND idempotency_key IS NULL AND request_hash IS NULL").await, 2183);
    // One outbox row per purchase, pointing at it.
    assert_eq!(
        db.oltp_count("SELECT count(*) FROM outbox o JOIN purchases p ON p.id = o.event_id WHERE o.event_type = 'purchase.created'").await,
        2183
    );
    // Totals are the sum of the items' catalog prices.
    assert_eq!(
        db.oltp_count(
            "SELECT count(*) FROM purchases p WHERE total_cents <> (SELECT sum(unit_price_cents) FROM purchase_items i WHERE i.purchase_id = p.id)"
        )
        .await,
        0
    );
    // Every foreign key holds, whichever way the loader checked them.
    let orphans = db
        .oltp_count(
            "SELECT (SELECT count(*) FROM purchase_items i WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = i.purchase_id))
                  + (SELECT count(*) FROM purchase_items i WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i.product_id))
                  + (SELECT count(*) FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p.customer_id))
                  + (SELECT count(*) FROM purchases p WHERE NOT EXISTS (SELECT 1 FROM branches b WHERE b.id = p.branch_id))",
        )
        .await;
    assert_eq!(orphans, 0);
    // The first row of the file, in UTC.
    let first: DateTime<Utc> = db
        .oltp()
        .await
        .query_one("SELECT purchased_at FROM purchases WHERE customer_id = $1::text::uuid ORDER BY purchased_at LIMIT 1", &[&CUSTOMER])
        .await
        .expect("the first purchase")
        .get(0);
    assert_eq!(first.to_rfc3339(), "2025-05-26T19:51:00.539354+00:00");
    assert!(
        summary.to_string().contains("2183 purchases loaded"),
        "{summary}"
    );

    let again = load_ok(&options(&db, &data::purchases_csv())).await;
    assert_eq!(
        (
            again.purchases_loaded,
            again.skipped_present,
            again.items_loaded
        ),
        (0, 2183, 0)
    );
    assert_eq!(
        (
            again.branches_added,
            again.products_added,
            again.products_repriced
        ),
        (0, 0, 0)
    );
    assert!(
        again
            .to_string()
            .contains("2183 skipped as already present"),
        "{again}"
    );
    assert_eq!(
        counts(&db).await[..6],
        [3, 10, 1762, 2183, 5952, 2183],
        "a second load stores nothing"
    );
}

#[tokio::test]
async fn a_bad_file_names_its_lines_and_changes_nothing() {
    let db = TestDatabases::new().await;
    load_ok(&options(&db, &data::purchases_csv())).await;
    let before = counts(&db).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let repeated = format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"milk,bread,milk\",5");
    let unknown = format!("SMKT002,2025-06-01T10:05:00,{CUSTOMER},\"milk,caviar\",9.5");
    let fine = format!("SMKT002,2025-06-01T10:10:00,{CUSTOMER},\"milk\",1.5");
    let bom_header = format!("\u{feff}{HEADER}");
    let path = csv_file(
        &dir,
        "purchases.csv",
        &[&bom_header, &fine, &repeated, &fine, &unknown],
    );
    let Err(LoadError::BadFile(report)) = load(&options(&db, &path)).await else {
        panic!("the file must be refused")
    };
    assert_eq!(
        report.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![3, 5],
        "{report}"
    );
    assert!(
        report.errors[0]
            .reason
            .contains("`milk` appears more than once"),
        "{report}"
    );
    assert!(
        report.errors[1].reason.contains("unknown product `caviar`"),
        "{report}"
    );
    assert_eq!(
        counts(&db).await,
        before,
        "nothing stored is lost or changed"
    );
}

#[tokio::test]
async fn refuses_an_unknown_branch() {
    refused(
        &format!("SMKT009,2025-06-01T10:00:00,{CUSTOMER},milk,1.5"),
        "unknown branch `SMKT009`",
    )
    .await;
}

#[tokio::test]
async fn refuses_an_unknown_product() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"milk,caviar\",1.5"),
        "unknown product `caviar`",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_repeated_product() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"eggs,Eggs\",6"),
        "`eggs` appears more than once",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_bad_customer_uuid() {
    refused(
        "SMKT001,2025-06-01T10:00:00,01e1e159-8045-43c2-88dd,milk,1.5",
        "is not a UUID",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_bad_timestamp() {
    refused(
        &format!("SMKT001,2025-02-30T10:00:00,{CUSTOMER},milk,1.5"),
        "is not a timestamp",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_total_that_differs_from_the_catalog() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"milk,eggs\",4.4"),
        "differs from the catalog's sum 4.50",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_wrong_column_count() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},milk,eggs,4.5"),
        "expected 5 columns, found 6",
    )
    .await;
}

#[tokio::test]
async fn refuses_empty_items() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"\",0"),
        "the basket is empty",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_stated_quantity() {
    refused(
        &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},\"milk x2\",3"),
        "quantity of every product is exactly 1",
    )
    .await;
}

#[tokio::test]
async fn refuses_a_wrong_header() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(
        &dir,
        "purchases.csv",
        &["store,timestamp,user_id,items_list,total_amount", GOOD_ROW],
    );
    let Err(LoadError::BadFile(report)) = load(&options(&db, &path)).await else {
        panic!("the file must be refused")
    };
    assert_eq!(report.errors[0].line, 1);
    assert!(
        report.errors[0]
            .reason
            .contains("the header must be `supermarket_id,timestamp"),
        "{report}"
    );
    assert_eq!(db.oltp_count("SELECT count(*) FROM purchases").await, 0);
    // The small files are checked too, before anything is written.
    let mut bad_products = options(&db, &data::purchases_csv());
    bad_products.products = csv_file(
        &dir,
        "products.csv",
        &["product_name,unit_price", "milk,1.5", "milk,2"],
    );
    let Err(LoadError::BadFile(report)) = load(&bad_products).await else {
        panic!("the products file must be refused")
    };
    assert_eq!(report.errors[0].line, 3, "{report}");
    assert_eq!(counts(&db).await[..2], [0, 0]);
}

#[tokio::test]
async fn bom_crlf_and_plain_lf_files_load_the_same_purchases() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let second =
        format!("SMKT002,2025-05-31T11:04:00.496934,{CUSTOMER},\"eggs,bread,milk,apples\",7.3");
    let bom_crlf = dir.path().join("bom_crlf.csv");
    std::fs::write(
        &bom_crlf,
        format!("\u{feff}{HEADER}\r\n{GOOD_ROW}\r\n{second}\r\n"),
    )
    .expect("write");
    let lf = dir.path().join("lf.csv");
    std::fs::write(&lf, format!("{HEADER}\n{GOOD_ROW}\n{second}")).expect("write");
    let first = load_ok(&options(&db, &bom_crlf)).await;
    assert_eq!(first.purchases_loaded, 2);
    let same = load_ok(&options(&db, &lf)).await;
    assert_eq!(
        (same.rows_read, same.purchases_loaded, same.skipped_present),
        (2, 0, 2),
        "the same purchases, the same ids"
    );
}

#[tokio::test]
async fn identical_rows_in_one_file_are_one_purchase() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(&dir, "purchases.csv", &[HEADER, GOOD_ROW, GOOD_ROW]);
    let summary = load_ok(&options(&db, &path)).await;
    assert_eq!(
        (
            summary.rows_read,
            summary.purchases_loaded,
            summary.skipped_present
        ),
        (2, 1, 1)
    );
    assert_eq!(counts(&db).await[3..6], [1, 2, 1]);
}

#[tokio::test]
async fn the_store_time_zone_interprets_wall_clock_times() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(&dir, "purchases.csv", &[HEADER, GOOD_ROW]);
    // The flag and its variable parse into the zone; a bad name is refused naming it.
    let args = Args::try_parse_from([
        "load",
        "--database-url",
        "postgres://x@h/db",
        "--store-timezone",
        "Europe/Paris",
    ])
    .expect("the flags parse");
    assert_eq!(args.load.store_timezone, chrono_tz::Europe::Paris);
    let error = Args::try_parse_from([
        "load",
        "--database-url",
        "postgres://x@h/db",
        "--store-timezone",
        "Mars/Olympus",
    ])
    .expect_err("an unknown zone is refused");
    assert!(error.to_string().contains("STORE_TIMEZONE"), "{error}");

    let mut paris = options(&db, &path);
    paris.store_timezone = args.load.store_timezone;
    load_ok(&paris).await;
    let at: DateTime<Utc> = db
        .oltp()
        .await
        .query_one("SELECT purchased_at FROM purchases", &[])
        .await
        .expect("one purchase")
        .get(0);
    assert_eq!(
        at.to_rfc3339(),
        "2025-05-26T17:51:00.539354+00:00",
        "19:51 in Paris in May is 17:51 UTC"
    );

    // A wall-clock time that does not exist in the zone is a row error.
    let gap = csv_file(
        &dir,
        "gap.csv",
        &[
            HEADER,
            &format!("SMKT001,2025-03-30T02:30:00,{CUSTOMER},milk,1.5"),
        ],
    );
    let mut gap_options = options(&db, &gap);
    gap_options.store_timezone = chrono_tz::Europe::Paris;
    let Err(LoadError::BadFile(report)) = load(&gap_options).await else {
        panic!("a nonexistent local time is refused")
    };
    assert!(
        report.errors[0]
            .reason
            .contains("does not exist in Europe/Paris"),
        "{report}"
    );
}

#[tokio::test]
async fn more_than_fifty_bad_rows_are_summarized() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut lines = vec![HEADER.to_owned()];
    for minute in 0..60 {
        lines.push(format!(
            "SMKT001,2025-06-01T10:{minute:02}:00,{CUSTOMER},caviar,1.5"
        ));
    }
    let path = csv_file(
        &dir,
        "purchases.csv",
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let Err(LoadError::BadFile(report)) = load(&options(&db, &path)).await else {
        panic!("the file must be refused")
    };
    assert_eq!((report.total, report.errors.len()), (60, 50));
    assert_eq!(report.errors[49].line, 51);
    let text = report.to_string();
    assert!(text.contains("60 bad row(s); nothing was loaded"), "{text}");
    assert!(text.trim_end().ends_with("... and 10 more"), "{text}");
}

#[tokio::test]
async fn a_changed_price_updates_the_catalog_for_future_sales() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = csv_file(&dir, "purchases.csv", &[HEADER]);
    load_ok(&options(&db, &empty)).await;
    let mut dearer = options(&db, &empty);
    let original = std::fs::read_to_string(data::products_csv()).expect("read the products");
    dearer.products = dir.path().join("products.csv");
    std::fs::write(&dearer.products, original.replace("milk,1.5", "milk,1.6")).expect("write");
    let summary = load_ok(&dearer).await;
    assert_eq!((summary.products_added, summary.products_repriced), (0, 1));
    assert!(
        summary
            .to_string()
            .contains("new prices apply to future sales"),
        "{summary}"
    );
    assert_eq!(
        db.oltp_count("SELECT price_cents::bigint FROM products WHERE name = 'milk'")
            .await,
        160
    );
}

#[tokio::test]
async fn a_missing_file_is_an_error_naming_it() {
    let db = TestDatabases::new().await;
    let error = load(&options(&db, Path::new("no/such/purchases.csv")))
        .await
        .expect_err("a missing file fails");
    assert!(matches!(error, LoadError::Failed(_)));
    assert!(
        error.to_string().contains("no/such/purchases.csv"),
        "{error}"
    );
}

#[tokio::test]
async fn the_command_exits_65_on_a_bad_file() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = csv_file(
        &dir,
        "purchases.csv",
        &[
            HEADER,
            &format!("SMKT001,2025-06-01T10:00:00,{CUSTOMER},caviar,1.5"),
        ],
    );
    let products = data::products_csv();
    let branches = data::branches_csv();
    let args = Args::try_parse_from([
        "load".as_ref(),
        "--database-url".as_ref(),
        db.oltp_url.as_ref(),
        "--purchases".as_ref(),
        path.as_os_str(),
        "--products".as_ref(),
        products.as_os_str(),
        "--branches".as_ref(),
        branches.as_os_str(),
    ] as [&std::ffi::OsStr; 9])
    .expect("the flags parse");
    let code = supermarket_loader::run(args.load)
        .await
        .expect("a bad file is not a crash");
    assert_eq!(
        code,
        std::process::ExitCode::from(supermarket_loader::EXIT_BAD_FILE)
    );
}

/// The loader's flags inside a command, as the CLI mounts them.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    load: LoadArgs,
}

#[tokio::test]
async fn loaded_purchases_wake_the_outbox_relay() {
    use futures_util::StreamExt;
    use tokio_postgres::AsyncMessage;

    let db = TestDatabases::new().await;
    let (listener, mut connection) = tokio_postgres::connect(&db.oltp_url, tokio_postgres::NoTls)
        .await
        .expect("connect the listener");
    let (sender, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = std::pin::pin!(futures_util::stream::poll_fn(
            move |cx| connection.poll_message(cx)
        ));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(notification) = message {
                let _ = sender.send(notification.channel().to_owned());
            }
        }
    });
    listener
        .batch_execute("LISTEN outbox")
        .await
        .expect("LISTEN");
    load_ok(&options(&db, &data::purchases_csv())).await;
    let channel = tokio::time::timeout(std::time::Duration::from_secs(10), notifications.recv())
        .await
        .expect("a notification on the outbox channel after the load");
    assert_eq!(channel.as_deref(), Some("outbox"));
}

#[tokio::test]
async fn a_bulk_load_rebuilds_the_items_key_and_keeps_it_in_force() {
    let db = TestDatabases::new().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // Enough purchases for the bulk path (the items key dropped, then rebuilt).
    let start = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .expect("a time")
        .to_utc();
    let mut text = format!("{HEADER}\r\n");
    for i in 0..120_000 {
        let at = (start + chrono::Duration::microseconds(i)).format("%Y-%m-%dT%H:%M:%S%.6f");
        text.push_str(&format!("SMKT002,{at},{CUSTOMER},\"milk,bread\",3.5\r\n"));
    }
    let path = dir.path().join("purchases.csv");
    std::fs::write(&path, text).expect("write");
    let summary = load_ok(&options(&db, &path)).await;
    assert_eq!(
        (summary.purchases_loaded, summary.items_loaded),
        (120_000, 240_000)
    );
    assert_eq!(
        db.oltp_count("SELECT count(*) FROM pg_constraint WHERE conrelid = 'purchase_items'::regclass AND contype = 'p'").await,
        1,
        "the primary key is back"
    );
    let duplicate = db
        .oltp()
        .await
        .batch_execute("INSERT INTO purchase_items SELECT * FROM purchase_items LIMIT 1")
        .await
        .expect_err("the rebuilt key refuses a repeated product");
    assert_eq!(
        duplicate.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
        "{duplicate:?}"
    );
}
