//! Access control for every HTTP service and page.
//!
//! Module map:
//! - [`config`]: [`AuthConfig`], the `OWNER_TOKEN`, `CASHIER_TOKEN` and
//!   `AUTH_MODE` settings.
//! - [`credentials`]: [`Auth`], built once per process from the settings;
//!   checks bearer tokens (SHA-256 hashes compared in constant time) and
//!   signed session cookies.
//! - [`session`]: the page session cookie, HMAC-signed so that every replica
//!   of every service accepts it without shared state.
//! - [`limiter`]: a token bucket per client IP for failed attempts (429).
//! - [`middleware`]: [`require`], the tower layer that guards a sub-router
//!   with a [`Role`].
//! - [`login`]: the login page and the `/auth/login`, `/auth/logout`,
//!   `/auth/whoami` routes.
//! - [`problem`]: RFC 9457 problem+json answers of this crate.
//!
//! Roles: the owner can do everything a cashier can (owner ⊇ cashier); a
//! cashier cannot read owner data.

pub mod config;
pub mod credentials;
pub mod limiter;
pub mod login;
pub mod middleware;
pub mod problem;
pub mod session;

pub use config::{AuthConfig, AuthMode};
pub use credentials::{Auth, Principal, Role};
pub use middleware::{RequireLayer, require};
