//! The page session cookie: `v1.<role>.<expiry unix seconds>.<HMAC-SHA256>`.
//!
//! Signed rather than kept in a server-side table so that any replica of any
//! service (purchases scaled to three behind nginx, the analytics API) accepts
//! a session opened on another. The key is derived from both tokens: changing
//! a token ends every session. Logging out clears the cookie in the browser;
//! a copied cookie stays valid until its expiry (12 h), which is the price of
//! holding no shared state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::credentials::Role;

pub const COOKIE_NAME: &str = "sm_session";
pub const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// Derives the signing key from both tokens (length-prefixed, so that
    /// moving characters from one token to the other changes the key).
    pub fn derive(owner_token: &str, cashier_token: &str) -> SessionKey {
        use sha2::Digest;
        let mut hasher = Sha256::new();
        hasher.update(b"supermarket session key v1");
        for token in [owner_token, cashier_token] {
            hasher.update((token.len() as u64).to_be_bytes());
            hasher.update(token.as_bytes());
        }
        SessionKey(hasher.finalize().into())
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC accepts a 32-byte key");
        mac.update(payload.as_bytes());
        mac
    }

    /// A cookie value for `role`, valid for [`LIFETIME`] from `now`.
    pub fn issue(&self, role: Role, now: SystemTime) -> String {
        let expires = now
            .checked_add(LIFETIME)
            .unwrap_or(now)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let payload = format!("v1.{}.{expires}", role.as_str());
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The role of a cookie value whose signature is right and which has not
    /// expired at `now`. The signature is checked in constant time.
    pub fn verify(&self, value: &str, now: SystemTime) -> Option<Role> {
        let (payload, signature) = value.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(payload).verify_slice(&signature).ok()?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(role), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let role = Role::parse(role)?;
        let expires: u64 = expires.parse().ok()?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        (now < expires).then_some(role)
    }
}

/// The `Set-Cookie` value that opens a session.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn find_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_cookie_verifies_until_it_expires() {
        let key = SessionKey::derive("owner-secret-token", "cashier-secret-token");
        let now = SystemTime::now();
        let cookie = key.issue(Role::Owner, now);
        assert_eq!(key.verify(&cookie, now), Some(Role::Owner));
        assert_eq!(
            key.verify(&cookie, now + LIFETIME + Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn a_tampered_or_foreign_cookie_is_refused() {
        let key = SessionKey::derive("owner-secret-token", "cashier-secret-token");
        let now = SystemTime::now();
        let cookie = key.issue(Role::Cashier, now);
        let promoted = cookie.replacen("cashier", "owner", 1);
        assert_eq!(key.verify(&promoted, now), None);
        let other = SessionKey::derive("owner-secret-tokenX", "cashier-secret-token");
        assert_eq!(other.verify(&cookie, now), None);
        assert_eq!(key.verify("garbage", now), None);
        assert_eq!(key.verify("", now), None);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; sm_session=abc.def; b=2".parse().unwrap(),
        );
        assert_eq!(find_cookie(&headers), Some("abc.def"));
    }
}
