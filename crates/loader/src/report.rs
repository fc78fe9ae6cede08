//! What a load tells its caller: the summary of a successful load, the
//! report of a refused file, and the error type.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::parse::RowError;

/// How many bad rows a report lists before "... and N more".
pub const REPORTED_ERRORS: usize = 50;

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
    pub(crate) fn new(file: &Path, mut errors: Vec<RowError>) -> BadFile {
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
