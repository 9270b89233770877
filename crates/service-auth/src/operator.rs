//! Operator tokens: HS256 with `SAGAFLOW_OPERATOR_JWT_SECRET`, claims `sub`,
//! `exp`, `roles` (must contain [`OPERATOR_ROLE`]) and an optional tenant
//! (`tenant_id` or `tid`). [`Operator`] is the extractor of operator APIs: it needs
//! an [`OperatorVerifier`] reachable from the router state through `FromRef`
//! (an `OperatorVerifier` state itself works too).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::{OPERATOR_JWT_SECRET, Secret, SecretError};
use crate::{Rejection, bearer, identity};

/// The role an operator token must carry.
pub const OPERATOR_ROLE: &str = "operator";
/// Clock skew tolerated on `exp`.
pub const LEEWAY_SECS: u64 = 30;

/// A verified operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// `sub`: who the operator is (for audit logs).
    pub subject: String,
    /// The tenant the token is limited to, if any.
    pub tenant_id: Option<String>,
    pub roles: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
}

/// Verifies operator tokens.
#[derive(Clone)]
pub struct OperatorVerifier {
    key: Arc<DecodingKey>,
}

impl std::fmt::Debug for OperatorVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorVerifier(***)")
    }
}

impl OperatorVerifier {
    /// A verifier with `secret` (`SAGAFLOW_OPERATOR_JWT_SECRET`): refused when
    /// missing or shorter than 32 bytes.
    pub fn new(secret: Option<&Secret>) -> Result<Self, SecretError> {
        let secret = Secret::require(OPERATOR_JWT_SECRET, secret)?;
        Ok(Self {
            key: Arc::new(
                DecodingKey::from_secret(secret.expose().as_bytes())
                    .expect("HMAC secrets are checked non-empty"),
            ),
        })
    }

    /// The operator of a token: 401 when the token is not valid, 403 when it
    /// lacks the operator role.
    pub fn verify(&self, token: &str) -> Result<Operator, Rejection> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &validation)
            .map_err(|err| {
                Rejection::unauthorized(match err.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "the operator token has expired"
                    }
                    _ => "the operator token is invalid",
                })
            })?
            .claims;
        let subject = identity(claims.sub)
            .ok_or_else(|| Rejection::unauthorized("the operator token's `sub` is invalid"))?;
        if !claims.roles.iter().any(|r| r == OPERATOR_ROLE) {
            return Err(Rejection::forbidden(
                "this API needs a token with the `operator` role",
            ));
        }
        Ok(Operator {
            subject,
            tenant_id: claims.tenant_id.or(claims.tid),
            roles: claims.roles,
        })
    }
}

impl<S> FromRequestParts<S> for Operator
where
    OperatorVerifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = OperatorVerifier::from_ref(state);
        let outcome = bearer(&parts.headers).and_then(|token| verifier.verify(token));
        if let Err(rejection) = &outcome {
            metrics::counter!("sagaflow_operator_auth_rejected_total", "status" => rejection.status.as_str().to_owned())
                .increment(1);
        }
        outcome
    }
}

/// A token for `subject` with `roles` (include [`OPERATOR_ROLE`] for an operator),
/// optionally limited to `tenant`, valid for `ttl`: for `sagaflow token
/// --operator`, `sagaflow saga` and tests.
pub fn mint(
    secret: &str,
    subject: &str,
    tenant: Option<&str>,
    roles: &[&str],
    ttl: Duration,
) -> String {
    let exp = SystemTime::now()
        .checked_add(ttl)
        .unwrap_or(SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = Claims {
        sub: subject.to_owned(),
        exp,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        tenant_id: tenant.map(str::to_owned),
        tid: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("HMAC secrets are checked non-empty"),
    )
    .expect("HMAC signing of plain claims cannot fail")
}
