//! The load itself: one transaction that upserts branches and products,
//! streams validated purchases into a staging table with binary COPY, and
//! moves the new ones into the real tables with set-based SQL (the
//! statements are `supermarket_storage::oltp::bulk_load`).
//!
//! The purchases file is parsed on a blocking thread while this task feeds
//! PostgreSQL, so parsing and ingestion overlap on two cores. Any bad row
//! stops the COPY and rolls the transaction back: nothing is written unless
//! the whole file is valid.

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use supermarket_storage::oltp::bulk_load;
use supermarket_storage::oltp::catalog::{load_branches, load_catalog};

use crate::parse::{self, PurchaseRules, RowError};
use crate::stage::stage_purchases;
use crate::store::{move_staged, upsert_branches, upsert_products};

// The report types were first defined here: callers may still name them
// through this module.
pub use crate::report::{BadFile, LoadError, LoadSummary, REPORTED_ERRORS};

/// What to load and where.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub database_url: String,
    /// How long to wait for the database to answer at start (`DB_WAIT_SECS`).
    pub db_wait: Duration,
    pub products: PathBuf,
    pub purchases: PathBuf,
    pub branches: PathBuf,
    /// The zone of timestamps written without one.
    pub store_timezone: Tz,
    /// Draw a progress bar (only ever on a terminal).
    pub progress: bool,
}

fn open(path: &Path) -> Result<File, LoadError> {
    File::open(path)
        .with_context(|| {
            format!(
                "cannot open {} (relative paths start from the current directory)",
                path.display()
            )
        })
        .map_err(LoadError::Failed)
}

/// Loads the three files in one transaction. See the module documentation.
pub async fn load(options: &LoadOptions) -> Result<LoadSummary, LoadError> {
    let started = Instant::now();
    let branch_rows = parse::parse_branches(open(&options.branches)?)
        .map_err(|e| LoadError::BadFile(BadFile::new(&options.branches, e)))?;
    let product_rows = parse::parse_products(open(&options.products)?)
        .map_err(|e| LoadError::BadFile(BadFile::new(&options.products, e)))?;
    parse::catalog_of(&product_rows).map_err(|reason| {
        LoadError::BadFile(BadFile::new(
            &options.products,
            vec![RowError { line: 1, reason }],
        ))
    })?;
    let purchases_file = open(&options.purchases)?;
    let file_size = purchases_file.metadata().map(|m| m.len()).unwrap_or(0);

    let mut client = supermarket_storage::connect_waiting(
        &options.database_url,
        "DATABASE_URL",
        options.db_wait,
    )
    .await?;
    bulk_load::set_temp_buffers(&client).await?;
    let tx = client.transaction().await?;
    bulk_load::begin_load(&tx).await?;

    let mut summary = LoadSummary::default();
    (summary.branches_added, summary.branches_renamed) = upsert_branches(&tx, &branch_rows).await?;
    (summary.products_added, summary.products_repriced) =
        upsert_products(&tx, &product_rows).await?;
    let rules = PurchaseRules {
        catalog: load_catalog(&tx).await?,
        branches: load_branches(&tx).await?,
        zone: options.store_timezone,
    };
    tracing::info!(
        branches = rules.branches.len(),
        products = rules.catalog.len(),
        file = %options.purchases.display(),
        bytes = file_size,
        "catalog ready, streaming purchases"
    );

    let progress = progress_bar(options.progress, file_size);
    let stage_started = Instant::now();
    let parsed = stage_purchases(&tx, purchases_file, rules.clone(), progress.clone()).await?;
    summary.rows_read = parsed.rows_read;
    if parsed.error_count > 0 {
        progress.finish_and_clear();
        // Dropping the transaction rolls everything back.
        drop(tx);
        return Err(LoadError::BadFile(BadFile {
            file: options.purchases.clone(),
            errors: parsed.errors,
            total: parsed.error_count,
        }));
    }
    tracing::info!(
        rows = parsed.rows_read,
        seconds = stage_started.elapsed().as_secs_f64(),
        "purchases staged"
    );
    progress.set_message("storing");

    let moved = move_staged(&tx, &rules).await?;
    summary.purchases_loaded = moved.purchases;
    summary.items_loaded = moved.items;
    summary.customers_added = moved.customers;
    summary.skipped_present = parsed.rows_read - moved.purchases;
    tx.commit().await?;
    progress.finish_and_clear();
    summary.elapsed = started.elapsed();
    tracing::info!(
        rows = summary.rows_read,
        loaded = summary.purchases_loaded,
        skipped = summary.skipped_present,
        seconds = summary.elapsed.as_secs_f64(),
        "load committed"
    );
    Ok(summary)
}

fn progress_bar(wanted: bool, bytes: u64) -> ProgressBar {
    if !wanted || !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(bytes);
    let style = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message("parsing");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
