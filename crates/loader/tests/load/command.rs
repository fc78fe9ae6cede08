//! The `supermarket load` command: its flags (the store time zone among
//! them) and its exit code on a bad file.

use chrono::{DateTime, Utc};
use clap::Parser;
use supermarket_loader::{LoadError, load};
use supermarket_testkit::{TestDatabases, data};

use crate::helpers::{Args, CUSTOMER, GOOD_ROW, HEADER, csv_file, load_ok, options};

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
