//! Secrets and the credentials made of them. Only the HTTP capability ever reads a secret's
//! value, to send it; `Debug` shows `***`, and there is no `Display`.

/// A secret value. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Resolved credentials, ready to inject.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// None.
    None,
    /// HTTP basic.
    Basic {
        /// User name (may be empty).
        user: String,
        /// Token or password.
        token: Secret,
    },
    /// Bearer token.
    Bearer(Secret),
}
