//! Staging: the purchases file parsed on a blocking thread and its valid
//! purchases fed to the binary COPY into `loader_stage`, so parsing and
//! ingestion overlap on two cores.

use std::fs::File;

use anyhow::Context;
use indicatif::ProgressBar;
use supermarket_domain::Purchase;
use supermarket_storage::oltp::bulk_load::{self, StageWriter};
use tokio::sync::mpsc;
use tokio_postgres::Transaction;

use crate::parse::{PurchaseRows, PurchaseRules, RowError};
use crate::report::{LoadError, REPORTED_ERRORS};

/// Purchases per message from the parser thread to the COPY task.
const BATCH: usize = 4096;
/// Batches in flight: enough to keep COPY busy, small enough to bound memory.
const BATCHES_IN_FLIGHT: usize = 8;

/// What the parser thread found.
pub(crate) struct Parsed {
    pub(crate) rows_read: u64,
    /// The first [`REPORTED_ERRORS`] bad rows.
    pub(crate) errors: Vec<RowError>,
    pub(crate) error_count: u64,
}

/// Streams the valid purchases of `file` into the temporary `loader_stage`
/// table. The parser runs on a blocking thread and hands batches over a
/// bounded channel; after the first bad row it stops sending but keeps
/// reading, to report every bad row.
pub(crate) async fn stage_purchases(
    tx: &Transaction<'_>,
    file: File,
    rules: PurchaseRules,
    progress: ProgressBar,
) -> Result<Parsed, LoadError> {
    bulk_load::create_stage(tx).await?;
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

    let mut writer = StageWriter::start(tx).await?;
    while let Some(batch) = receiver.recv().await {
        for purchase in &batch {
            writer.write(purchase).await?;
        }
    }
    let parsed = parser.await.context("the parser thread failed")??;
    if parsed.error_count == 0 {
        writer.finish().await?;
    }
    Ok(parsed)
}
