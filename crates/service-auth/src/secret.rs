//! [`Secret`]: a signing secret that never prints, and [`Settings`]: the two
//! secrets' environment keys (`SAGAFLOW_INTERNAL_TOKEN_SECRET`,
//! `SAGAFLOW_OPERATOR_JWT_SECRET`), their values hidden in `--help`.
//!
//! Parsing accepts any value (so clap never echoes a secret in an error);
//! [`Secret::require`] checks it when a signer or verifier is built, and its error
//! names the key.

use std::fmt;
use std::str::FromStr;

/// Shortest accepted secret (bytes): HS256 wants at least its output size.
pub const MIN_SECRET_BYTES: usize = 32;
/// The internal token secret's key.
pub const INTERNAL_TOKEN_SECRET: &str = "SAGAFLOW_INTERNAL_TOKEN_SECRET";
/// The operator token secret's key.
pub const OPERATOR_JWT_SECRET: &str = "SAGAFLOW_OPERATOR_JWT_SECRET";

/// A secret string: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for signing and verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `secret` (the value of `key`) if it is set and long enough.
    pub fn require<'a>(
        key: &'static str,
        secret: Option<&'a Secret>,
    ) -> Result<&'a Secret, SecretError> {
        let secret = secret.ok_or(SecretError::Missing(key))?;
        if secret.0.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(key));
        }
        Ok(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(value))
    }
}

/// A secret that cannot be used; names its key, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{0} is not set: it signs and verifies tokens between services (at least 32 bytes)")]
    Missing(&'static str),
    #[error("{0} is too short: it must be at least 32 bytes")]
    TooShort(&'static str),
}

/// The secrets of both token kinds (flatten once; hand them to the services).
#[derive(clap::Args, Debug, Clone, Default)]
#[group(skip)]
pub struct Settings {
    // `env` below repeats INTERNAL_TOKEN_SECRET / OPERATOR_JWT_SECRET; a unit test
    // keeps them equal.
    /// Secret (>= 32 bytes) with which the gateway signs, and the services behind
    /// it verify, the short-lived token of every forwarded request.
    #[arg(
        id = "internal-token-secret",
        long = "internal-token-secret",
        // Literal keys (not the constants) so the deployment checks find them.
        env = "SAGAFLOW_INTERNAL_TOKEN_SECRET",
        value_name = "SAGAFLOW_INTERNAL_TOKEN_SECRET",
        hide_env_values = true
    )]
    pub internal_token_secret: Option<Secret>,

    /// Secret (>= 32 bytes) of operator tokens (`roles: ["operator"]`), required by
    /// the operator APIs (orchestrator, `sagaflow saga ...`).
    #[arg(
        id = "operator-jwt-secret",
        long = "operator-jwt-secret",
        env = "SAGAFLOW_OPERATOR_JWT_SECRET",
        value_name = "SAGAFLOW_OPERATOR_JWT_SECRET",
        hide_env_values = true
    )]
    pub operator_jwt_secret: Option<Secret>,
}

impl Settings {
    /// The verifier of internal tokens addressed to `audience`.
    pub fn internal_verifier(
        &self,
        audience: &str,
    ) -> Result<crate::InternalVerifier, SecretError> {
        crate::InternalVerifier::new(self.internal_token_secret.as_ref(), audience)
    }

    /// The verifier of operator tokens.
    pub fn operator_verifier(&self) -> Result<crate::OperatorVerifier, SecretError> {
        crate::OperatorVerifier::new(self.operator_jwt_secret.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_read_the_named_keys() {
        use clap::Args;
        let command = Settings::augment_args(clap::Command::new("x"));
        for (id, key) in [
            ("internal-token-secret", INTERNAL_TOKEN_SECRET),
            ("operator-jwt-secret", OPERATOR_JWT_SECRET),
        ] {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .expect("the argument exists");
            assert_eq!(arg.get_env().and_then(|env| env.to_str()), Some(key));
        }
    }

    #[test]
    fn secrets_never_print_and_short_ones_name_their_key() {
        let secret = Secret::new("hunter2-hunter2-hunter2-hunter2-x");
        assert_eq!(format!("{secret:?} {secret}"), "Secret(***) ***");
        let short = Secret::new("short");
        let err = Secret::require(INTERNAL_TOKEN_SECRET, Some(&short)).expect_err("short");
        assert_eq!(err, SecretError::TooShort(INTERNAL_TOKEN_SECRET));
        assert!(err.to_string().contains(INTERNAL_TOKEN_SECRET));
        let err = Secret::require(OPERATOR_JWT_SECRET, None).expect_err("missing");
        assert!(err.to_string().contains(OPERATOR_JWT_SECRET));
        assert!(Secret::require(OPERATOR_JWT_SECRET, Some(&secret)).is_ok());
    }
}
