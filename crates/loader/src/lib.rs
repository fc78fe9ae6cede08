//! Loads branches, products and historical purchases from CSV files into
//! the OLTP database, fast and all-or-nothing.
//!
//! Module map:
//! - [`parse`]: pure reading and validation of the three files (no I/O
//!   besides the reader it is given): BOM, CRLF/LF, headers, column counts,
//!   the domain's purchase rules, totals, time zones; bad rows carry their
//!   line number in the file. It is the `supermarket-loader-csv` crate, kept
//!   apart from the database code so that the fuzz targets (`fuzz/`) build
//!   it alone.
//! - [`load`]: the transaction, start to end: reading the small files,
//!   the advisory lock, the progress bar, commit or roll back;
//!   [`load()`] is the library entry point, [`run`] the CLI's.
//! - `stage`: the purchases file parsed on a second thread while its
//!   valid purchases are streamed into a staging table with binary COPY.
//! - `store`: branch and product upserts, then set-based moves from the
//!   staging table into customers, purchases, purchase_items and the
//!   outbox. Big loads skip the per-row foreign-key triggers when the
//!   session may (superuser; the transaction takes the locks they would)
//!   and rebuild the items primary key once instead of maintaining it row
//!   by row.
//! - [`report`]: what a load returns: [`LoadSummary`], the [`BadFile`]
//!   report of a refused file, [`LoadError`].
//!
//! The SQL itself is `supermarket_storage::oltp::bulk_load`.

pub mod load;
pub mod report;
mod stage;
mod store;
pub use supermarket_loader_csv as parse;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono_tz::Tz;

pub use load::{LoadOptions, load};
pub use report::{BadFile, LoadError, LoadSummary};

/// Exit code of a refused file (sysexits' EX_DATAERR).
pub const EXIT_BAD_FILE: u8 = 65;

/// Settings of `supermarket load`. File paths are relative to the current
/// directory; the defaults are the repository's `data/` files.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub database: supermarket_storage::DatabaseArgs,

    /// The products file (`product_name,unit_price`).
    #[arg(long, value_name = "PATH", default_value = "data/products_list.csv")]
    pub products: PathBuf,

    /// The purchases file (`supermarket_id,timestamp,user_id,items_list,total_amount`).
    #[arg(long, value_name = "PATH", default_value = "data/purchases.csv")]
    pub purchases: PathBuf,

    /// The branches file (`supermarket_id,name`).
    #[arg(long, value_name = "PATH", default_value = "data/supermarkets.csv")]
    pub branches: PathBuf,

    /// IANA time zone of the stores' clocks, for timestamps written without
    /// a zone (e.g. Europe/Paris).
    #[arg(long = "store-timezone", env = "STORE_TIMEZONE", value_name = "STORE_TIMEZONE", default_value = "UTC",
          value_parser = parse_zone)]
    pub store_timezone: Tz,

    /// Never draw the progress bar (it is only drawn on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
}

fn parse_zone(text: &str) -> Result<Tz, String> {
    text.parse::<Tz>().map_err(|_| {
        format!("STORE_TIMEZONE `{text}` is not an IANA time zone name like Europe/Paris or UTC")
    })
}

/// Runs `supermarket load`: prints a one-line summary on stdout, or the
/// report of bad rows on stderr with exit code [`EXIT_BAD_FILE`].
pub async fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let options = LoadOptions {
        db_wait: args.database.db_wait(),
        database_url: args.database.database_url,
        products: args.products,
        purchases: args.purchases,
        branches: args.branches,
        store_timezone: args.store_timezone,
        progress: !args.no_progress,
    };
    match load(&options).await {
        Ok(summary) => {
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Err(LoadError::BadFile(report)) => {
            eprint!("error: {report}");
            Ok(ExitCode::from(EXIT_BAD_FILE))
        }
        Err(LoadError::Failed(error)) => Err(error),
    }
}
