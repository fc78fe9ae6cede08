//! Relay integration tests on the real PostgreSQL and NATS servers.

mod helpers;
mod publishing;
mod service;
