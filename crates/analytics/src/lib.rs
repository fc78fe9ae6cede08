//! Analytics: the event consumer that keeps the read models, the read-only
//! analytics API, and the rebuild that recomputes the models from scratch.
//! (Being built.)

pub mod api;
pub mod consumer;
pub mod rebuild;
