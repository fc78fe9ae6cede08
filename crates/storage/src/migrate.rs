//! Embedded, versioned migrations for both databases.
//!
//! Each database keeps its own history table, so pointing both settings at
//! one database by mistake still migrates each schema once.

use anyhow::Context;
use tokio_postgres::Client;

mod oltp {
    refinery::embed_migrations!("migrations/oltp");
}

mod analytics {
    refinery::embed_migrations!("migrations/analytics");
}

/// Applies the OLTP migrations not yet applied. Safe to re-run.
pub async fn oltp(client: &mut Client) -> anyhow::Result<usize> {
    let report = oltp::migrations::runner()
        .set_migration_table_name("oltp_schema_history")
        .run_async(client)
        .await
        .context("OLTP migrations failed")?;
    Ok(report.applied_migrations().len())
}

/// Applies the analytics migrations not yet applied. Safe to re-run.
pub async fn analytics(client: &mut Client) -> anyhow::Result<usize> {
    let report = analytics::migrations::runner()
        .set_migration_table_name("analytics_schema_history")
        .run_async(client)
        .await
        .context("analytics migrations failed")?;
    Ok(report.applied_migrations().len())
}
