//! The loader against a real PostgreSQL: a fresh migrated database per test.
//!
//! Module map:
//! - `helpers`: the test files' rows, load options, row counts, and the
//!   refusal check the one-bad-row tests share.
//! - `loading`: what a good file stores, once, whatever its line ends, and
//!   the bulk path and outbox wake-up of big loads.
//! - `refusals`: bad files and rows, each refused on its line with nothing
//!   stored.
//! - `command`: the `supermarket load` flags and exit code.

mod command;
mod helpers;
mod loading;
mod refusals;
