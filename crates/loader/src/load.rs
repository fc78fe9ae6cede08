//! The load itself: one transaction that upserts branches and products,
//! streams validated purchases into a staging table with binary COPY, and
//! moves the new ones into the real tables with set-based SQL.
//!
//! The purchases file is parsed on a blocking thread while this task feeds
//! PostgreSQL, so parsing and ingestion overlap on two cores. Any bad row
//! stops the COPY and rolls the transaction back: nothing is written unless
//! the whole file is valid.

use std::fmt;
use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use supermarket_domain::Purchase;
use supermarket_storage::oltp::catalog::{load_branches, load_catalog};
use tokio::sync::mpsc;
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::parse::{self, PurchaseRows, PurchaseRules, RowError};

/// How many bad rows a report lists before "... and N more".
pub const REPORTED_ERRORS: usize = 50;
/// Purchases per message from the parser thread to the COPY task.
const BATCH: usize = 4096;
/// Batches in flight: enough to keep COPY busy, small enough to bound memory.
const BATCHES_IN_FLIGHT: usize = 8;
/// Serializes loaders: two loads of the same file then cannot race on the
/// same purchase ids ("SMKTLOAD" in ASCII).
const LOADER_LOCK_KEY: i64 = 0x534D_4B54_4C4F_4144;

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

/// What a successful load did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadSummary {
    pub branches_added: u64,
    pub branches_renamed: u64,
    pub products_added: u64,
    /// Products whose price the file changed: future sales use the new price.
    pub products_repriced: u64,
    /// Data rows of the purchases file (the header excluded).
    pub rows_read: u64,
    pub purchases_loaded: u64,
    pub items_loaded: u64,
    pub customers_added: u64,
    /// Rows whose purchase was stored already (by an earlier load or an
    /// identical earlier row of the same file).
    pub skipped_present: u64,
    pub elapsed: Duration,
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loaded: {} rows read, {} purchases loaded ({} items, {} new customers), {} skipped as already present; \
             branches: {} added, {} renamed; products: {} added, {} repriced{}; {:.1} s",
            self.rows_read,
            self.purchases_loaded,
            self.items_loaded,
            self.customers_added,
            self.skipped_present,
            self.branches_added,
            self.branches_renamed,
            self.products_added,
            self.products_repriced,
            if self.products_repriced > 0 {
                " (new prices apply to future sales)"
            } else {
                ""
            },
            self.elapsed.as_secs_f64()
        )
    }
}

/// A file that breaks the rules: nothing was loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadFile {
    pub file: PathBuf,
    /// The first [`REPORTED_ERRORS`] bad rows, in file order.
    pub errors: Vec<RowError>,
    /// How many rows were bad in all.
    pub total: u64,
}

impl fmt::Display for BadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} bad row(s); nothing was loaded",
            self.file.display(),
            self.total
        )?;
        for error in &self.errors {
            writeln!(f, "  {error}")?;
        }
        let more = self.total.saturating_sub(self.errors.len() as u64);
        if more > 0 {
            writeln!(f, "  ... and {more} more")?;
        }
        Ok(())
    }
}

impl BadFile {
    fn new(file: &Path, mut errors: Vec<RowError>) -> BadFile {
        let total = errors.len() as u64;
        errors.truncate(REPORTED_ERRORS);
        BadFile {
            file: file.to_owned(),
            errors,
            total,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file breaks the rules; the report names each bad line.
    #[error("{0}")]
    BadFile(BadFile),
    /// The load could not run (unreadable file, database unreachable...).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<tokio_postgres::Error> for LoadError {
    fn from(error: tokio_postgres::Error) -> LoadError {
        LoadError::Failed(anyhow::Error::new(error).context("database error during the load"))
    }
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
    // Temporary tables live in this session's own buffers; the default 8 MB
    // would spill the staging table to disk early. Must precede their creation.
    client.batch_execute("SET temp_buffers = '1GB'").await?;
    let tx = client.transaction().await?;
    // Sorting millions of staged rows by id is the heaviest step: give it
    // memory for this transaction only.
    tx.batch_execute(&format!(
        "SET LOCAL work_mem = '1GB'; SET LOCAL maintenance_work_mem = '1GB'; SELECT pg_advisory_xact_lock({LOADER_LOCK_KEY})"
    ))
    .await?;

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

/// Inserts new branches and renames changed ones. Returns (added, renamed).
async fn upsert_branches(
    tx: &Transaction<'_>,
    rows: &[parse::BranchRow],
) -> Result<(u64, u64), LoadError> {
    let ids: Vec<&str> = rows.iter().map(|b| b.id.as_str()).collect();
    let names: Vec<&str> = rows.iter().map(|b| b.name.as_str()).collect();
    let changed = tx
        .query(
            "INSERT INTO branches (id, name) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name WHERE branches.name <> EXCLUDED.name
             RETURNING (xmax = 0) AS added",
            &[&ids, &names],
        )
        .await?;
    let added = changed.iter().filter(|row| row.get::<_, bool>(0)).count() as u64;
    Ok((added, changed.len() as u64 - added))
}

/// Inserts new products and updates changed prices (products are matched by
/// name). Returns (added, repriced).
async fn upsert_products(
    tx: &Transaction<'_>,
    rows: &[parse::ProductRow],
) -> Result<(u64, u64), LoadError> {
    let names: Vec<&str> = rows.iter().map(|p| p.name.as_str()).collect();
    let prices: Vec<i32> = rows
        .iter()
        .map(|p| i32::try_from(p.price.cents()).unwrap_or(i32::MAX))
        .collect();
    let changed = tx
        .query(
            "INSERT INTO products (name, price_cents) SELECT * FROM unnest($1::text[], $2::int4[])
             ON CONFLICT (name) DO UPDATE SET price_cents = EXCLUDED.price_cents, updated_at = now()
             WHERE products.price_cents <> EXCLUDED.price_cents
             RETURNING (xmax = 0) AS added",
            &[&names, &prices],
        )
        .await?;
    let added = changed.iter().filter(|row| row.get::<_, bool>(0)).count() as u64;
    Ok((added, changed.len() as u64 - added))
}

/// What the parser thread found.
struct Parsed {
    rows_read: u64,
    errors: Vec<RowError>,
    error_count: u64,
}

/// Streams the valid purchases of `file` into the temporary `loader_stage`
/// table. The parser runs on a blocking thread and hands batches over a
/// bounded channel; after the first bad row it stops sending but keeps
/// reading, to report every bad row.
async fn stage_purchases(
    tx: &Transaction<'_>,
    file: File,
    rules: PurchaseRules,
    progress: ProgressBar,
) -> Result<Parsed, LoadError> {
    tx.batch_execute(
        "CREATE TEMP TABLE loader_stage (
             id uuid, branch_id text, customer_id uuid, purchased_at timestamptz, total_cents bigint, product_ids int4[]
         ) ON COMMIT DROP",
    )
    .await?;
    let (sender, mut receiver) = mpsc::channel::<Vec<Purchase>>(BATCHES_IN_FLIGHT);
    let parser = tokio::task::spawn_blocking(move || -> anyhow::Result<Parsed> {
        let mut rows = PurchaseRows::new(file, rules).context("cannot read the purchases file")?;
        let mut parsed = Parsed {
            rows_read: 0,
            errors: Vec::new(),
            error_count: 0,
        };
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(row) = rows.next() {
            match row {
                Ok(purchase) => {
                    parsed.rows_read += 1;
                    if parsed.error_count == 0 {
                        batch.push(purchase);
                        if batch.len() == BATCH {
                            // A closed channel means the COPY failed: its error wins.
                            if sender
                                .blocking_send(std::mem::replace(
                                    &mut batch,
                                    Vec::with_capacity(BATCH),
                                ))
                                .is_err()
                            {
                                return Ok(parsed);
                            }
                            progress.set_position(rows.bytes_read());
                        }
                    }
                }
                Err(error) => {
                    // Line 1 is the header: it is not a data row.
                    if error.line > 1 {
                        parsed.rows_read += 1;
                    }
                    parsed.error_count += 1;
                    batch.clear();
                    if parsed.errors.len() < REPORTED_ERRORS {
                        parsed.errors.push(error);
                    }
                }
            }
            if parsed.rows_read.is_multiple_of(65_536) {
                progress.set_position(rows.bytes_read());
            }
        }
        if parsed.error_count == 0 && !batch.is_empty() {
            let _ = sender.blocking_send(batch);
        }
        Ok(parsed)
    });

    let sink = tx
        .copy_in("COPY loader_stage (id, branch_id, customer_id, purchased_at, total_cents, product_ids) FROM STDIN (FORMAT binary)")
        .await?;
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::UUID,
            Type::TEXT,
            Type::UUID,
            Type::TIMESTAMPTZ,
            Type::INT8,
            Type::INT4_ARRAY,
        ],
    );
    tokio::pin!(writer);
    let mut product_ids: Vec<i32> = Vec::with_capacity(8);
    while let Some(batch) = receiver.recv().await {
        for purchase in &batch {
            product_ids.clear();
            product_ids.extend(purchase.items().iter().map(|item| item.product_id.0));
            // Sorted ids make the (purchase_id, product_id) key inserts sequential.
            product_ids.sort_unstable();
            writer
                .as_mut()
                .write(&[
                    &purchase.id().0,
                    &purchase.branch().as_str(),
                    &purchase.customer().0,
                    &purchase.purchased_at(),
                    &purchase.total().cents(),
                    &product_ids,
                ])
                .await?;
        }
    }
    let parsed = parser.await.context("the parser thread failed")??;
    if parsed.error_count == 0 {
        writer.finish().await?;
    }
    Ok(parsed)
}

/// Whether the per-row foreign-key triggers may be skipped, through
/// `session_replication_role = replica`: at millions of rows they cost more
/// than everything else together (measured: 81 s → 24 s for a million rows).
///
/// Only a superuser may set it, and it would also skip every ordinary
/// trigger, so it is used only when the tables written with it carry no
/// trigger but the outbox wake-up, which is then fired by hand.
async fn can_skip_fk_triggers(tx: &Transaction<'_>) -> Result<bool, LoadError> {
    let superuser: bool = tx
        .query_one("SELECT current_setting('is_superuser') = 'on'", &[])
        .await?
        .get(0);
    if !superuser {
        tracing::warn!(
            "not a superuser: foreign keys are checked row by row (correct, but slower for big files)"
        );
        return Ok(false);
    }
    let others: Vec<String> = tx
        .query(
            "SELECT tgrelid::regclass::text || '.' || tgname FROM pg_trigger
             WHERE NOT tgisinternal
               AND tgrelid IN ('purchases'::regclass, 'purchase_items'::regclass, 'outbox'::regclass)
               AND NOT (tgrelid = 'outbox'::regclass AND tgname = 'outbox_notify')",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !others.is_empty() {
        tracing::warn!(triggers = ?others, "triggers the loader does not know of: foreign keys are checked row by row");
        return Ok(false);
    }
    Ok(true)
}

/// For a load that at least doubles `purchase_items`, drops its primary key
/// so that it is rebuilt once, sorted, after the insert, instead of being
/// maintained row by row (measured: 9.2 s → 3.5 s + 2.3 s for 3M items).
/// Returns the key's name and definition to re-create it with.
///
/// Dropping the key locks the table until commit, so live sales wait during
/// such a load; small loads into a big table keep the key and the lock-free
/// path. Needs the table's owner (or a superuser); otherwise keeps the key.
async fn drop_items_key_for_bulk(
    tx: &Transaction<'_>,
    new_purchases: u64,
) -> Result<Option<(String, String)>, LoadError> {
    /// Below this, the rebuild's fixed cost is not worth the table lock.
    const BULK_MINIMUM: u64 = 100_000;
    if new_purchases < BULK_MINIMUM {
        return Ok(None);
    }
    let row = tx
        .query_opt(
            "SELECT quote_ident(k.conname), pg_get_constraintdef(k.oid),
                    greatest(c.reltuples, 0)::float8, pg_has_role(c.relowner, 'USAGE')
             FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
             WHERE c.oid = 'purchase_items'::regclass",
            &[],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (name, definition, existing_items, owner): (String, String, f64, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    // A purchase has two to four items: this many purchases bring at least
    // as many items as the table holds.
    if !owner || (new_purchases as f64) * 2.0 < existing_items {
        return Ok(None);
    }
    tx.batch_execute(&format!(
        "ALTER TABLE purchase_items DROP CONSTRAINT {name}"
    ))
    .await?;
    tracing::info!(key = %name, existing_items, "bulk load: items primary key dropped until the insert is done");
    Ok(Some((name, definition)))
}

/// What the set-based move stored.
struct Moved {
    purchases: u64,
    items: u64,
    customers: u64,
}

/// Moves the staged purchases that are not stored yet into the real tables:
/// customers, purchases, their items and one outbox row each, so loaded
/// purchases reach analytics the way live ones do.
async fn move_staged(tx: &Transaction<'_>, rules: &PurchaseRules) -> Result<Moved, LoadError> {
    let timer = Instant::now();
    // The planner knows nothing of a fresh temporary table without this.
    tx.batch_execute("ANALYZE loader_stage").await?;
    // Deduplicates the file (identical rows share an id) and drops purchases
    // stored already, sorted by id so the index inserts below append.
    tx.batch_execute(
        "CREATE TEMP TABLE loader_new ON COMMIT DROP AS
         SELECT DISTINCT ON (s.id) s.* FROM loader_stage s
         WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = s.id)
         ORDER BY s.id;
         ANALYZE loader_new",
    )
    .await?;
    tracing::info!(
        seconds = timer.elapsed().as_secs_f64(),
        "new purchases selected"
    );

    let skip_fk_triggers = can_skip_fk_triggers(tx).await?;
    if skip_fk_triggers {
        // Without the per-row foreign-key triggers, this transaction itself
        // guarantees what they would check, and takes the same row locks:
        // branches and products were read above and are locked here; items
        // point at purchases inserted below in this transaction; customers
        // are either inserted below or locked here before that insert.
        let timer = Instant::now();
        let locked: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM branches FOR KEY SHARE) b)
                      + (SELECT count(*) FROM (SELECT 1 FROM products FOR KEY SHARE) p)
                      + (SELECT count(*) FROM (SELECT 1 FROM customers c
                                               WHERE c.id IN (SELECT customer_id FROM loader_new) FOR KEY SHARE) c)",
                &[],
            )
            .await?
            .get(0);
        tracing::info!(
            rows = locked,
            seconds = timer.elapsed().as_secs_f64(),
            "referenced rows locked"
        );
    }

    let timer = Instant::now();
    let customers = tx
        .execute(
            "INSERT INTO customers (id, first_seen_at)
             SELECT customer_id, min(purchased_at) FROM loader_new GROUP BY customer_id ORDER BY customer_id
             ON CONFLICT (id) DO NOTHING",
            &[],
        )
        .await?;
    tracing::info!(
        customers,
        seconds = timer.elapsed().as_secs_f64(),
        "customers stored"
    );

    if skip_fk_triggers {
        // Only this transaction's statements skip the triggers; CHECK,
        // NOT NULL and unique constraints still apply to every row.
        tx.batch_execute("SET LOCAL session_replication_role = replica")
            .await?;
    }
    let timer = Instant::now();
    let purchases = tx
        .execute(
            "INSERT INTO purchases (id, branch_id, customer_id, purchased_at, total_cents, source)
             SELECT id, branch_id, customer_id, purchased_at, total_cents, 'import' FROM loader_new",
            &[],
        )
        .await?;
    tracing::info!(
        purchases,
        seconds = timer.elapsed().as_secs_f64(),
        "purchases stored"
    );

    let timer = Instant::now();
    let (ids, prices): (Vec<i32>, Vec<i32>) = rules
        .catalog
        .iter()
        .map(|p| (p.id.0, i32::try_from(p.price.cents()).unwrap_or(i32::MAX)))
        .unzip();
    let rebuilt_key = drop_items_key_for_bulk(tx, purchases).await?;
    // Unit prices are those the totals were checked against, passed in
    // rather than re-read, so a concurrent price change cannot slip in.
    let items = tx
        .execute(
            "INSERT INTO purchase_items (purchase_id, product_id, quantity, unit_price_cents)
             SELECT n.id, c.id, 1, c.price
             FROM loader_new n
             CROSS JOIN LATERAL unnest(n.product_ids) AS i(product_id)
             JOIN unnest($1::int4[], $2::int4[]) AS c(id, price) ON c.id = i.product_id",
            &[&ids, &prices],
        )
        .await?;
    tracing::info!(
        items,
        seconds = timer.elapsed().as_secs_f64(),
        "items stored"
    );
    if let Some((name, definition)) = rebuilt_key {
        let timer = Instant::now();
        // Rebuilding checks every key again: a duplicate fails the load.
        tx.batch_execute(&format!(
            "ALTER TABLE purchase_items ADD CONSTRAINT {name} {definition}"
        ))
        .await?;
        tracing::info!(
            seconds = timer.elapsed().as_secs_f64(),
            "items primary key rebuilt"
        );
    }

    let timer = Instant::now();
    let events = tx
        .execute("INSERT INTO outbox (event_id, event_type) SELECT id, 'purchase.created' FROM loader_new", &[])
        .await?;
    tracing::info!(
        events,
        seconds = timer.elapsed().as_secs_f64(),
        "outbox rows stored"
    );
    if skip_fk_triggers {
        // The outbox's NOTIFY trigger was skipped with the others: wake the
        // relay by hand (delivered at commit, like the trigger's).
        tx.batch_execute(
            "SET LOCAL session_replication_role = origin; SELECT pg_notify('outbox', '')",
        )
        .await?;
    }
    Ok(Moved {
        purchases,
        items,
        customers,
    })
}
