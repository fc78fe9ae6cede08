//! Settings of access control, read from flags or the environment.

use clap::{Args, ValueEnum};

/// Whether access control is on.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Bearer tokens and sessions are required (the default).
    #[default]
    Tokens,
    /// Access control is off: every request is let through. Local
    /// development only; it must be asked for explicitly.
    Open,
}

/// Tokens of the two roles. Both are required unless `AUTH_MODE=open`.
#[derive(Args, Clone, Default)]
pub struct AuthConfig {
    /// Bearer token of the owner (dashboard, analytics data, and everything a cashier can do).
    #[arg(
        long = "owner-token",
        env = "OWNER_TOKEN",
        value_name = "OWNER_TOKEN",
        hide_env_values = true
    )]
    pub owner_token: Option<String>,

    /// Bearer token of the cashiers (POS page, purchases API).
    #[arg(
        long = "cashier-token",
        env = "CASHIER_TOKEN",
        value_name = "CASHIER_TOKEN",
        hide_env_values = true
    )]
    pub cashier_token: Option<String>,

    /// `tokens` (default) requires credentials; `open` turns access control off (local development).
    #[arg(long = "auth-mode", env = "AUTH_MODE", value_name = "AUTH_MODE", value_enum, default_value_t = AuthMode::Tokens)]
    pub auth_mode: AuthMode,
}

// Hand-written so that a debug print of a service's settings never shows a token.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |token: &Option<String>| if token.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("AuthConfig")
            .field("owner_token", &shown(&self.owner_token))
            .field("cashier_token", &shown(&self.cashier_token))
            .field("auth_mode", &self.auth_mode)
            .finish()
    }
}
