//! Relay integration tests on the real PostgreSQL and NATS servers.

mod broker_loss;
mod helpers;
mod publishing;
mod service;
