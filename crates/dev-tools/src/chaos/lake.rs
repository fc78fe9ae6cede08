//! Reads the lake back with an independent reader: DuckDB, from Python.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde::Deserialize;

pub const INSTALL_HINT: &str = "the chaos suite reads the lake's Parquet files with DuckDB from Python: \
    install python3 and `pip install duckdb` (scripts/test.sh prepares target/test-venv), or set CHAOS_PYTHON";

/// Every row of every Parquet file, with the partition it was found in.
const READER: &str = r#"
import glob, json, sys
try:
    import duckdb
except ImportError:
    sys.stderr.write("python cannot import duckdb\n")
    sys.exit(3)
root = sys.argv[1]
if not glob.glob(root + "/purchases/*/*/*.parquet"):
    print("[]")
    sys.exit(0)
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
src = "read_parquet('%s/purchases/*/*/*.parquet', hive_partitioning = true, filename = true)" % root.replace("'", "''")
rows = con.execute(f"""
    SELECT event_id, purchase_id, branch_id, customer_id, epoch_us(purchased_at), total_cents,
           [[i.product_id, i.unit_price_cents] for i in items], CAST(date AS VARCHAR), CAST(branch AS VARCHAR), filename
    FROM {src}""").fetchall()
print(json.dumps([list(r) for r in rows]))
"#;

/// One row of the lake, its fields in the reader's column order (each row
/// comes as a JSON array).
#[derive(Debug, Deserialize)]
pub struct LakeRow {
    pub event_id: String,
    pub purchase_id: String,
    pub branch_id: String,
    pub customer_id: String,
    /// µs since the epoch (UTC).
    pub purchased_at: i64,
    pub total_cents: i64,
    /// (product id, unit price)
    pub items: Vec<(i64, i64)>,
    pub date_partition: String,
    pub branch_partition: String,
    pub file: String,
}

/// Reads every row under `root` (a lake folder) with `python`.
pub fn read(python: &str, root: &Path) -> anyhow::Result<Vec<LakeRow>> {
    let output = Command::new(python)
        .arg("-c")
        .arg(READER)
        .arg(root)
        .output()
        .with_context(|| format!("cannot run {python}: {INSTALL_HINT}"))?;
    anyhow::ensure!(
        output.status.code() != Some(3),
        "{python} has no duckdb module: {INSTALL_HINT}"
    );
    anyhow::ensure!(
        output.status.success(),
        "the DuckDB reader failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).context("unreadable output of the DuckDB reader")
}
