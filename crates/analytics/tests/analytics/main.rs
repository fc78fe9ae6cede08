//! Analytics integration tests on the real PostgreSQL and NATS servers.

mod access;
mod api;
mod consumer;
mod end_to_end;
mod fuzz;
mod helpers;
mod rebuild;
