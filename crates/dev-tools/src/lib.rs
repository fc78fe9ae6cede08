//! Tools for working on the platform, not part of it: the fault-injection
//! suite and the benchmark programs, in one crate so the services' crates
//! carry no benchmark targets or dependencies.
//!
//! Module map:
//! - [`chaos`]: the fault-injection suite (the services as separate
//!   processes, killed and restarted under load, then checked exactly).
//!
//! Binaries (`[[bin]]` in `Cargo.toml`); each one's source stays in its
//! `bench/<name>/` folder beside its `run.sh`, README and data files, so a
//! benchmark is read, run and documented in one place:
//! - `chaos` (`bench/chaos/main.rs`): the chaos suite at full size.
//! - `bench-ingest` (`bench/ingest/`): POS ingest, purchases alone and the
//!   whole pipeline, against the no-HTTP ceiling.
//! - `bench-freshness` (`bench/freshness/`): a purchase's commit to its
//!   visibility in the analytics API.
//! - `bench-analytics` (`bench/analytics/`): the analytics API under wrk at
//!   10 M purchases.
//! - `bench-lake` (`bench/lake/`): the lake sink draining a backlog.

pub mod chaos;
