//! [`Auth`]: who is calling, from a bearer token or a session cookie.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AuthConfig, AuthMode};
use crate::limiter::Limiter;
use crate::session::{self, SessionKey};

/// Shorter tokens are refused at start-up: they could be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// What a caller may do. The owner can do everything a cashier can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Cashier,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Owner => "owner",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "cashier" => Some(Role::Cashier),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }

    /// Whether this role may do what `required` may.
    pub fn satisfies(self, required: Role) -> bool {
        self == Role::Owner || self == required
    }
}

/// The authenticated caller, put in the request's extensions by the
/// middleware (absent when access control is off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
}

/// What a request's credentials amount to.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials {
    /// None given (or an expired or foreign session cookie, which a browser
    /// simply keeps sending: not an attack, so it costs no attempt).
    Missing,
    /// A bearer token that matches no role: a failed attempt.
    Invalid,
    Valid(Role),
}

/// Access control of one process. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Option<Keys>,
    limiter: Limiter,
}

struct Keys {
    owner_hash: [u8; 32],
    cashier_hash: [u8; 32],
    session: SessionKey,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl Auth {
    /// Access control from the settings. Refuses to start without both
    /// tokens unless `AUTH_MODE=open` was asked for.
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Auth> {
        if config.auth_mode == AuthMode::Open {
            tracing::warn!(
                auth_mode = "open",
                "access control is OFF: every request is allowed (AUTH_MODE=open)"
            );
            return Ok(Auth::open());
        }
        let owner = required_token(config.owner_token.as_deref(), "OWNER_TOKEN")?;
        let cashier = required_token(config.cashier_token.as_deref(), "CASHIER_TOKEN")?;
        if owner == cashier {
            anyhow::bail!(
                "OWNER_TOKEN and CASHIER_TOKEN must differ: otherwise every cashier is an owner"
            );
        }
        let keys = Keys {
            owner_hash: sha256(owner),
            cashier_hash: sha256(cashier),
            session: SessionKey::derive(owner, cashier),
        };
        Ok(Auth {
            inner: Arc::new(Inner {
                keys: Some(keys),
                limiter: default_limiter(),
            }),
        })
    }

    /// Access control turned off: every request passes.
    pub fn open() -> Auth {
        Auth {
            inner: Arc::new(Inner {
                keys: None,
                limiter: default_limiter(),
            }),
        }
    }

    /// The same access control with another failed-attempt limit:
    /// `burst` failures, then one more every `refill_every`.
    pub fn with_failure_limit(self, burst: u32, refill_every: Duration) -> Auth {
        let keys = Arc::try_unwrap(self.inner)
            .map(|inner| inner.keys)
            .unwrap_or_else(|shared| {
                shared.keys.as_ref().map(|k| Keys {
                    owner_hash: k.owner_hash,
                    cashier_hash: k.cashier_hash,
                    session: k.session.clone(),
                })
            });
        Auth {
            inner: Arc::new(Inner {
                keys,
                limiter: Limiter::new(burst, refill_every),
            }),
        }
    }

    pub fn is_open(&self) -> bool {
        self.inner.keys.is_none()
    }

    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// The role of a token, comparing its hash with both roles' hashes in
    /// constant time (both comparisons always run).
    pub fn role_of_token(&self, token: &str) -> Option<Role> {
        let keys = self.inner.keys.as_ref()?;
        let hash = sha256(token);
        let is_owner = hash.ct_eq(&keys.owner_hash);
        let is_cashier = hash.ct_eq(&keys.cashier_hash);
        if bool::from(is_owner) {
            Some(Role::Owner)
        } else if bool::from(is_cashier) {
            Some(Role::Cashier)
        } else {
            None
        }
    }

    /// A session cookie value for a role (see [`session`]).
    pub fn issue_session(&self, role: Role) -> Option<String> {
        Some(
            self.inner
                .keys
                .as_ref()?
                .session
                .issue(role, SystemTime::now()),
        )
    }

    /// Reads `Authorization: Bearer` first, then the session cookie.
    pub fn credentials(&self, headers: &HeaderMap) -> Credentials {
        let Some(keys) = self.inner.keys.as_ref() else {
            return Credentials::Missing;
        };
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let token = value.to_str().ok().and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
            return match token.and_then(|t| self.role_of_token(t.trim())) {
                Some(role) => Credentials::Valid(role),
                None => Credentials::Invalid,
            };
        }
        match session::find_cookie(headers)
            .and_then(|value| keys.session.verify(value, SystemTime::now()))
        {
            Some(role) => Credentials::Valid(role),
            None => Credentials::Missing,
        }
    }
}

fn default_limiter() -> Limiter {
    // 10 failed attempts at once, then one every 6 s (10 a minute).
    Limiter::new(10, Duration::from_secs(6))
}

fn required_token<'a>(value: Option<&'a str>, name: &str) -> anyhow::Result<&'a str> {
    match value.map(str::trim) {
        None | Some("") => anyhow::bail!(
            "{name} is not set: set OWNER_TOKEN and CASHIER_TOKEN (random strings of {MIN_TOKEN_LEN}+ characters), \
             or AUTH_MODE=open to turn access control off for local development"
        ),
        Some(token) if token.len() < MIN_TOKEN_LEN => {
            anyhow::bail!("{name} is too short: use at least {MIN_TOKEN_LEN} random characters")
        }
        Some(token) => Ok(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(owner: Option<&str>, cashier: Option<&str>, mode: AuthMode) -> AuthConfig {
        AuthConfig {
            owner_token: owner.map(Into::into),
            cashier_token: cashier.map(Into::into),
            auth_mode: mode,
        }
    }

    #[test]
    fn missing_tokens_stop_the_service_with_their_names() {
        let error = Auth::from_config(&config(
            None,
            Some("cashier-token-0123456"),
            AuthMode::Tokens,
        ))
        .unwrap_err();
        assert!(error.to_string().contains("OWNER_TOKEN"), "{error}");
        let error = Auth::from_config(&config(
            Some("owner-token-0123456789"),
            Some(""),
            AuthMode::Tokens,
        ))
        .unwrap_err();
        assert!(error.to_string().contains("CASHIER_TOKEN"), "{error}");
        let error = Auth::from_config(&config(
            Some("short"),
            Some("cashier-token-0123456"),
            AuthMode::Tokens,
        ))
        .unwrap_err();
        assert!(error.to_string().contains("too short"), "{error}");
        let same = "the-same-token-0123456";
        assert!(Auth::from_config(&config(Some(same), Some(same), AuthMode::Tokens)).is_err());
    }

    #[test]
    fn open_mode_needs_no_tokens() {
        assert!(
            Auth::from_config(&config(None, None, AuthMode::Open))
                .unwrap()
                .is_open()
        );
    }

    #[test]
    fn tokens_map_to_their_roles() {
        let auth = Auth::from_config(&config(
            Some("owner-token-0123456789"),
            Some("cashier-token-0123456"),
            AuthMode::Tokens,
        ))
        .unwrap();
        assert_eq!(
            auth.role_of_token("owner-token-0123456789"),
            Some(Role::Owner)
        );
        assert_eq!(
            auth.role_of_token("cashier-token-0123456"),
            Some(Role::Cashier)
        );
        assert_eq!(auth.role_of_token("cashier-token-012345"), None);
        let mut headers = HeaderMap::new();
        assert_eq!(auth.credentials(&headers), Credentials::Missing);
        headers.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(auth.credentials(&headers), Credentials::Invalid);
        headers.insert(
            header::AUTHORIZATION,
            "Bearer owner-token-0123456789".parse().unwrap(),
        );
        assert_eq!(auth.credentials(&headers), Credentials::Valid(Role::Owner));
    }

    #[test]
    fn the_owner_can_do_what_a_cashier_can_but_not_the_reverse() {
        assert!(Role::Owner.satisfies(Role::Cashier));
        assert!(Role::Owner.satisfies(Role::Owner));
        assert!(Role::Cashier.satisfies(Role::Cashier));
        assert!(!Role::Cashier.satisfies(Role::Owner));
    }
}
