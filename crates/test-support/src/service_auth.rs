//! Tokens for tests of services behind the gateway and of operator APIs: fixed
//! test secrets, verifiers built from them and tokens signed with them.

use std::time::Duration;

pub use sagaflow_service_auth::{InternalVerifier, OperatorVerifier, Secret};

/// The internal token secret tests use.
pub const INTERNAL_TOKEN_SECRET: &str = "test-internal-token-secret-0123456789abcdef";
/// The operator token secret tests use.
pub const OPERATOR_JWT_SECRET: &str = "test-operator-jwt-secret-0123456789abcdef";

/// Both test secrets, as `sagaflow serve` reads them.
pub fn auth_settings() -> sagaflow_service_auth::Settings {
    sagaflow_service_auth::Settings {
        internal_token_secret: Some(Secret::new(INTERNAL_TOKEN_SECRET)),
        operator_jwt_secret: Some(Secret::new(OPERATOR_JWT_SECRET)),
    }
}

/// The verifier a service named `audience` uses in tests.
pub fn internal_verifier(audience: &str) -> InternalVerifier {
    auth_settings()
        .internal_verifier(audience)
        .expect("the test secret is long enough")
}

/// The operator verifier tests use.
pub fn operator_verifier() -> OperatorVerifier {
    auth_settings()
        .operator_verifier()
        .expect("the test secret is long enough")
}

/// What the gateway would send `audience` for `user` of `tenant`:
/// `Bearer <internal token>`.
pub fn internal_bearer(audience: &str, tenant: &str, user: &str) -> String {
    format!(
        "Bearer {}",
        sagaflow_service_auth::internal::mint(INTERNAL_TOKEN_SECRET, audience, tenant, user, &[])
    )
}

/// `Bearer <token>` for `subject` with `roles` (an operator has `"operator"`).
pub fn operator_bearer(subject: &str, roles: &[&str]) -> String {
    format!(
        "Bearer {}",
        sagaflow_service_auth::operator::mint(
            OPERATOR_JWT_SECRET,
            subject,
            None,
            roles,
            Duration::from_secs(3600)
        )
    )
}
