//! Database errors as API answers, classified once for every service.
//!
//! Handlers write `pool.get().await?` and `client.query(..).await?`: a
//! database that is down, restarting, out of connections or asking for a
//! retry becomes a 503 with `Retry-After` (the client's retry will work), any
//! other failure a 500 whose cause is logged and hidden. A constraint the
//! handler expects to be broken by a client (a duplicate, say) is turned into
//! its problem with [`on_constraint`].

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use crate::problem::{ApiError, Problem};

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> ApiError {
        if is_transient(&error) {
            ApiError::unavailable(error)
        } else {
            ApiError::Internal(error.into())
        }
    }
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> ApiError {
        match error {
            // No connection within the pool's wait (set once in
            // `supermarket_storage::pool`): the database is slow or away.
            PoolError::Timeout(_) => ApiError::unavailable(error),
            PoolError::Backend(backend) => ApiError::from(backend),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// `error` as `problem()` when it breaks the constraint named `constraint`,
/// else classified as any database error.
pub fn on_constraint(
    error: tokio_postgres::Error,
    constraint: &str,
    problem: impl FnOnce() -> Problem,
) -> ApiError {
    let broken = error
        .as_db_error()
        .and_then(|db| db.constraint())
        .is_some_and(|name| name == constraint);
    if broken {
        problem().into()
    } else {
        error.into()
    }
}

/// Whether a database error in `error`'s chain is transient (a pool that
/// timed out counts).
pub(crate) fn chain_is_transient(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(pool) = cause.downcast_ref::<PoolError>() {
            return match pool {
                PoolError::Timeout(_) => true,
                PoolError::Backend(backend) => is_transient(backend),
                _ => false,
            };
        }
        cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(is_transient)
    })
}

/// Whether waiting and retrying can make the same request succeed: the
/// connection is gone (a restart), the server is shutting down or starting,
/// has no connection slot left, or asks for a retry (serialization failure,
/// deadlock).
fn is_transient(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    let Some(code) = error.code() else {
        // No SQLSTATE: the failure happened on the wire (an I/O error).
        return std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>());
    };
    const RETRYABLE: [SqlState; 6] = [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
    ];
    // Class 08: connection exceptions.
    code.code().starts_with("08") || RETRYABLE.contains(code)
}
