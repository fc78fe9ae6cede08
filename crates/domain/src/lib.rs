//! The supermarket's business rules, with no I/O.
//!
//! Everything that decides whether a sale is valid lives here, so that the
//! HTTP services, the CSV loader and the analytics consumer all agree.
//!
//! Module map:
//! - [`money`]: exact amounts in integer cents ([`Money`]); never `f64`.
//! - [`branch`]: the predefined branches ([`BranchId`], [`Branches`]).
//! - [`catalog`]: products and their prices ([`Product`], [`Catalog`]).
//! - [`purchase`]: a [`Purchase`] that cannot exist if it breaks a rule
//!   (repeated product, quantity other than 1, unknown product or branch,
//!   empty basket), and its ids ([`PurchaseId`], [`CustomerId`]).
//! - [`event`]: the `purchase.created` event that leaves the OLTP side
//!   through the outbox and feeds analytics.

pub mod branch;
pub mod catalog;
pub mod event;
pub mod money;
pub mod purchase;

pub use branch::{Branch, BranchError, BranchId, Branches};
pub use catalog::{Catalog, CatalogError, Product, ProductId, ProductRef};
pub use event::{EventItem, PurchaseCreated};
pub use money::{Money, MoneyError};
pub use purchase::{
    BasketLine, CustomerId, LineItem, Purchase, PurchaseError, PurchaseId, UuidError,
};
