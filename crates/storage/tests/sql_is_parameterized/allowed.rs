//! The reviewed sites where SQL text is interpolated, and why each is safe.

/// This file, named in the failure message that asks for a new entry.
pub const ALLOWED_FILE: &str = file!();

/// Reviewed sites: (file, text of the SQL literal that the site's literal
/// contains, why it is safe). A site is allowed when its file matches and
/// its literal contains the text. An entry that matches no site fails the
/// test too, so the list can't go stale.
pub const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/storage/src/oltp/purchases.rs",
        "{SELECT_STORED} WHERE",
        "SELECT_STORED is a constant of the same file; the values are $1 parameters",
    ),
    (
        "crates/lake/src/ledger.rs",
        "{MULTIRANGE_FROM_ARRAYS}",
        "MULTIRANGE_FROM_ARRAYS is a constant SQL fragment of the same file; the values are $n parameters",
    ),
    (
        "crates/storage/src/oltp/bulk_load.rs",
        "pg_advisory_xact_lock({LOADER_LOCK_KEY})",
        "LOADER_LOCK_KEY is an integer constant",
    ),
    (
        "crates/storage/src/oltp/bulk_load.rs",
        "DROP CONSTRAINT {name}",
        "name is the primary key's name as PostgreSQL's quote_ident() returned it from pg_constraint",
    ),
    (
        "crates/storage/src/oltp/bulk_load.rs",
        "ADD CONSTRAINT {name} {definition}",
        "name from quote_ident(), definition from pg_get_constraintdef(): both written by PostgreSQL from its catalog",
    ),
    (
        "crates/analytics/src/rebuild.rs",
        "LOCK TABLE {TABLES}",
        "TABLES is a constant list of the read-model tables",
    ),
    (
        "crates/analytics/src/read_models/mod.rs",
        "COPY {table} FROM STDIN",
        "table is a string literal of a read-model module's (or the rebuild's) `rebuild`",
    ),
    (
        "crates/analytics/src/read_models/mod.rs",
        "COPY ({query}) TO STDOUT",
        "query is a constant of storage::oltp::history",
    ),
    (
        "crates/purchases/src/catalog.rs",
        "LISTEN {channel}",
        "channel is a &'static str identifier written in the code (\"catalog\"); LISTEN takes no parameters",
    ),
    (
        "crates/cli/src/up/provision.rs",
        "CREATE DATABASE \\\"{name}\\\"",
        "UP_OLTP_DATABASE/UP_ANALYTICS_DATABASE are validated by `database_name` (a-z, 0-9, _) and quoted; CREATE DATABASE takes no parameters",
    ),
    (
        "crates/cli/src/up/provision.rs",
        "CREATE DATABASE {name}",
        "the error message of the statement above, not SQL",
    ),
    (
        "crates/testkit/src/db.rs",
        "CREATE DATABASE {name}",
        "test database names are generated: test_<12 hex digits>[_analytics]",
    ),
    (
        "crates/testkit/src/db.rs",
        "DROP DATABASE IF EXISTS {name}",
        "test database names are generated: test_<12 hex digits>[_analytics]",
    ),
    (
        "crates/purchases/tests/purchases_api/purchases.rs",
        "ALTER DATABASE {name} ALLOW_CONNECTIONS",
        "the generated name of the test's own database (test_<hex>), from its URL",
    ),
    (
        "crates/analytics/tests/analytics/helpers.rs",
        "SELECT {columns} FROM {name}",
        "table and column names come from a constant list in the same function",
    ),
    (
        "crates/relay/tests/relay/helpers.rs",
        "FROM generate_series(1, {n})",
        "n is an i64 (a test's row count) in a multi-statement batch, which takes no parameters",
    ),
    (
        "crates/lake/tests/lake/exactly_once.rs",
        "AND cardinality(objects) = {}",
        "a usize (the number of files the test recorded)",
    ),
    (
        "crates/loader/tests/load/helpers.rs",
        "SELECT count(*) FROM {table}",
        "table names come from a constant list in the same function",
    ),
    (
        "bench/analytics/main.rs",
        "CREATE DATABASE {DATABASE}",
        "DATABASE is a constant (bench_analytics)",
    ),
    (
        "bench/analytics/main.rs",
        "DROP DATABASE IF EXISTS {DATABASE}",
        "DATABASE is a constant (bench_analytics)",
    ),
    (
        "bench/freshness/main.rs",
        "CREATE DATABASE {name}",
        "generated names: bench_freshness_<8 hex digits>[_analytics]",
    ),
    (
        "bench/freshness/main.rs",
        "DROP DATABASE IF EXISTS {name}",
        "generated names: bench_freshness_<8 hex digits>[_analytics]",
    ),
    (
        "bench/ingest/database.rs",
        "CREATE DATABASE {name}",
        "generated names: bench_ingest_<process id>[_pipeline|_analytics]",
    ),
    (
        "bench/ingest/database.rs",
        "DROP DATABASE IF EXISTS {name}",
        "generated names: bench_ingest_<process id>[_pipeline|_analytics]",
    ),
];
