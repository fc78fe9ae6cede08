//! Bad files: every bad row named on its line, and nothing stored.

use std::path::Path;

use supermarket_loader::{LoadError, load};
use supermarket_testkit::{TestDatabases, data};

use crate::helpers::{CUSTOMER, GOOD_ROW, HEADER, counts, csv_file, load_ok, options, refused};

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
