//! Integration tests of the lake sink on the real NATS and PostgreSQL
//! servers, with the Parquet files read back by DuckDB (Python).

mod exactly_once;
mod rolls;
mod s3;
mod support;
