//! The statements of `supermarket load`: one transaction that upserts
//! branches and products, streams purchases into a temporary staging table
//! with binary COPY, and moves the new ones into customers, purchases,
//! purchase_items and the outbox with set-based SQL.
//!
//! Each function is one statement (or one batch that must run together);
//! the loader (`supermarket-loader`) decides which run and in what order.
//! The staging tables (`loader_stage`, `loader_new`) are temporary and
//! dropped at commit.

use std::pin::Pin;

use supermarket_domain::Purchase;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Error, Transaction};

/// Serializes loaders: two loads of the same file then cannot race on the
/// same purchase ids ("SMKTLOAD" in ASCII).
pub const LOADER_LOCK_KEY: i64 = 0x534D_4B54_4C4F_4144;

/// Temporary tables live in this session's own buffers; the default 8 MB
/// would spill the staging table to disk early. Must precede their creation,
/// so it is set on the session, before the transaction.
pub async fn set_temp_buffers(client: &Client) -> Result<(), Error> {
    client.batch_execute("SET temp_buffers = '1GB'").await
}

/// Sorting millions of staged rows by id is the heaviest step: gives it
/// memory for this transaction only, and takes the loaders' lock
/// ([`LOADER_LOCK_KEY`]) until commit.
pub async fn begin_load(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute(&format!(
        "SET LOCAL work_mem = '1GB'; SET LOCAL maintenance_work_mem = '1GB'; SELECT pg_advisory_xact_lock({LOADER_LOCK_KEY})"
    ))
    .await
}

/// Inserts new branches and renames changed ones (`ids[i]` is named
/// `names[i]`). Returns (added, renamed).
pub async fn upsert_branches(
    tx: &Transaction<'_>,
    ids: &[&str],
    names: &[&str],
) -> Result<(u64, u64), Error> {
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
/// name; `names[i]` costs `prices_cents[i]`). Returns (added, repriced).
pub async fn upsert_products(
    tx: &Transaction<'_>,
    names: &[&str],
    prices_cents: &[i32],
) -> Result<(u64, u64), Error> {
    let changed = tx
        .query(
            "INSERT INTO products (name, price_cents) SELECT * FROM unnest($1::text[], $2::int4[])
             ON CONFLICT (name) DO UPDATE SET price_cents = EXCLUDED.price_cents, updated_at = now()
             WHERE products.price_cents <> EXCLUDED.price_cents
             RETURNING (xmax = 0) AS added",
            &[&names, &prices_cents],
        )
        .await?;
    let added = changed.iter().filter(|row| row.get::<_, bool>(0)).count() as u64;
    Ok((added, changed.len() as u64 - added))
}

/// Creates the temporary `loader_stage` table the purchases are copied into.
pub async fn create_stage(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute(
        "CREATE TEMP TABLE loader_stage (
             id uuid, branch_id text, customer_id uuid, purchased_at timestamptz, total_cents bigint, product_ids int4[]
         ) ON COMMIT DROP",
    )
    .await
}

/// The binary COPY into `loader_stage`, one row per purchase.
///
/// Dropped without [`finish`](StageWriter::finish), the COPY is aborted.
pub struct StageWriter {
    writer: Pin<Box<BinaryCopyInWriter>>,
    /// Reused for every row, to allocate once.
    product_ids: Vec<i32>,
}

impl StageWriter {
    /// Starts the COPY (after [`create_stage`]).
    pub async fn start(tx: &Transaction<'_>) -> Result<StageWriter, Error> {
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
        Ok(StageWriter {
            writer: Box::pin(writer),
            product_ids: Vec::with_capacity(8),
        })
    }

    /// Sends one purchase: its columns and its product ids.
    pub async fn write(&mut self, purchase: &Purchase) -> Result<(), Error> {
        self.product_ids.clear();
        self.product_ids
            .extend(purchase.items().iter().map(|item| item.product_id.0));
        // Sorted ids make the (purchase_id, product_id) key inserts sequential.
        self.product_ids.sort_unstable();
        self.writer
            .as_mut()
            .write(&[
                &purchase.id().0,
                &purchase.branch().as_str(),
                &purchase.customer().0,
                &purchase.purchased_at(),
                &purchase.total().cents(),
                &self.product_ids,
            ])
            .await
    }

    /// Ends the COPY: the rows are in `loader_stage`.
    pub async fn finish(mut self) -> Result<u64, Error> {
        self.writer.as_mut().finish().await
    }
}

/// The planner knows nothing of a fresh temporary table without this.
pub async fn analyze_stage(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute("ANALYZE loader_stage").await
}

/// Creates the temporary `loader_new` table: the staged purchases
/// deduplicated (identical rows share an id) and without those stored
/// already, sorted by id so the index inserts that follow append.
pub async fn select_new_purchases(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute(
        "CREATE TEMP TABLE loader_new ON COMMIT DROP AS
         SELECT DISTINCT ON (s.id) s.* FROM loader_stage s
         WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = s.id)
         ORDER BY s.id;
         ANALYZE loader_new",
    )
    .await
}

/// Whether the session is a superuser's (who alone may set
/// `session_replication_role`).
pub async fn is_superuser(tx: &Transaction<'_>) -> Result<bool, Error> {
    Ok(tx
        .query_one("SELECT current_setting('is_superuser') = 'on'", &[])
        .await?
        .get(0))
}

/// The triggers on the tables the load writes, other than the outbox's
/// wake-up (`outbox_notify`), as `table.trigger`.
pub async fn other_triggers(tx: &Transaction<'_>) -> Result<Vec<String>, Error> {
    Ok(tx
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
        .collect())
}

/// Takes the row locks the foreign-key triggers would take: every branch,
/// every product, and the customers of `loader_new` that exist already.
/// Returns how many rows were locked.
pub async fn lock_referenced_rows(tx: &Transaction<'_>) -> Result<i64, Error> {
    Ok(tx
        .query_one(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM branches FOR KEY SHARE) b)
                      + (SELECT count(*) FROM (SELECT 1 FROM products FOR KEY SHARE) p)
                      + (SELECT count(*) FROM (SELECT 1 FROM customers c
                                               WHERE c.id IN (SELECT customer_id FROM loader_new) FOR KEY SHARE) c)",
            &[],
        )
        .await?
        .get(0))
}

/// Inserts the customers of `loader_new` not stored yet, first seen at their
/// earliest purchase. Returns how many were added.
pub async fn insert_customers(tx: &Transaction<'_>) -> Result<u64, Error> {
    tx.execute(
        "INSERT INTO customers (id, first_seen_at)
             SELECT customer_id, min(purchased_at) FROM loader_new GROUP BY customer_id ORDER BY customer_id
             ON CONFLICT (id) DO NOTHING",
        &[],
    )
    .await
}

/// Skips every trigger, the per-row foreign-key ones included, for the rest
/// of this transaction's statements (until [`notify_outbox`]). CHECK,
/// NOT NULL and unique constraints still apply to every row.
pub async fn skip_triggers(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute("SET LOCAL session_replication_role = replica")
        .await
}

/// Inserts the purchases of `loader_new`, as imported ones. Returns how many.
pub async fn insert_purchases(tx: &Transaction<'_>) -> Result<u64, Error> {
    tx.execute(
        "INSERT INTO purchases (id, branch_id, customer_id, purchased_at, total_cents, source)
             SELECT id, branch_id, customer_id, purchased_at, total_cents, 'import' FROM loader_new",
        &[],
    )
    .await
}

/// The primary key of `purchase_items`, as a bulk load may drop and rebuild
/// it. Only [`items_key`] makes one: its name and definition, spliced into
/// `ALTER TABLE`, are always PostgreSQL's own words.
#[derive(Clone, Debug)]
pub struct ItemsKey {
    /// The constraint's name, quoted by PostgreSQL's `quote_ident()`.
    name: String,
    /// Its definition, from `pg_get_constraintdef()`.
    definition: String,
    /// The planner's estimate of the table's rows (0 if never analyzed).
    pub existing_items: f64,
    /// Whether the session may alter the table (owner or member of its role).
    pub owner: bool,
}

impl ItemsKey {
    /// The constraint's name, quoted.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Reads the `purchase_items` primary key, if it has one.
pub async fn items_key(tx: &Transaction<'_>) -> Result<Option<ItemsKey>, Error> {
    let row = tx
        .query_opt(
            "SELECT quote_ident(k.conname), pg_get_constraintdef(k.oid),
                    greatest(c.reltuples, 0)::float8, pg_has_role(c.relowner, 'USAGE')
             FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
             WHERE c.oid = 'purchase_items'::regclass",
            &[],
        )
        .await?;
    Ok(row.map(|row| ItemsKey {
        name: row.get(0),
        definition: row.get(1),
        existing_items: row.get(2),
        owner: row.get(3),
    }))
}

/// Drops the `purchase_items` primary key until [`add_items_key`]; the table
/// stays locked until commit.
pub async fn drop_items_key(tx: &Transaction<'_>, key: &ItemsKey) -> Result<(), Error> {
    let name = &key.name;
    tx.batch_execute(&format!(
        "ALTER TABLE purchase_items DROP CONSTRAINT {name}"
    ))
    .await
}

/// Re-creates the key [`drop_items_key`] dropped. Rebuilding checks every
/// key again: a duplicate fails the statement.
pub async fn add_items_key(tx: &Transaction<'_>, key: &ItemsKey) -> Result<(), Error> {
    let (name, definition) = (&key.name, &key.definition);
    tx.batch_execute(&format!(
        "ALTER TABLE purchase_items ADD CONSTRAINT {name} {definition}"
    ))
    .await
}

/// Inserts the items of `loader_new`, one unit of each product, at the
/// prices given (`product_ids[i]` costs `prices_cents[i]`). Returns how many.
pub async fn insert_items(
    tx: &Transaction<'_>,
    product_ids: &[i32],
    prices_cents: &[i32],
) -> Result<u64, Error> {
    tx.execute(
        "INSERT INTO purchase_items (purchase_id, product_id, quantity, unit_price_cents)
             SELECT n.id, c.id, 1, c.price
             FROM loader_new n
             CROSS JOIN LATERAL unnest(n.product_ids) AS i(product_id)
             JOIN unnest($1::int4[], $2::int4[]) AS c(id, price) ON c.id = i.product_id",
        &[&product_ids, &prices_cents],
    )
    .await
}

/// Inserts one `purchase.created` outbox row per purchase of `loader_new`.
/// Returns how many.
pub async fn insert_outbox_rows(tx: &Transaction<'_>) -> Result<u64, Error> {
    tx.execute(
        "INSERT INTO outbox (event_id, event_type) SELECT id, 'purchase.created' FROM loader_new",
        &[],
    )
    .await
}

/// Ends [`skip_triggers`] and wakes the outbox relay as the skipped NOTIFY
/// trigger would have (delivered at commit, like the trigger's).
pub async fn notify_outbox(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute("SET LOCAL session_replication_role = origin; SELECT pg_notify('outbox', '')")
        .await
}
