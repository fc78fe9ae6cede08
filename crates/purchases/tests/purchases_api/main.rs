//! The purchases service against a real, fresh PostgreSQL database per test.

mod access;
mod fuzz;
mod helpers;
mod idempotency;
mod openapi;
mod purchases;
mod validation;
mod writer;
