//! Internal tokens: the gateway's word, per forwarded request, on who is calling.
//!
//! [`InternalSigner::sign`] makes one for a service (`aud`) and a caller;
//! [`InternalVerifier::verify`] checks signature, `iss = "sagaflow-gateway"`, its
//! own audience and `exp` (5 s leeway), and returns the [`InternalCaller`].
//! [`guard`] wraps a service's router: every request but the health probes
//! ([`UNGUARDED_PATHS`]) needs a valid token, else a 401 `unauthenticated` problem
//! ([`crate::Rejection`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::{INTERNAL_TOKEN_SECRET, Secret, SecretError};
use crate::{Rejection, bearer, identity};

/// The issuer of every internal token.
pub const ISSUER: &str = "sagaflow-gateway";
/// How long a token is valid.
pub const TTL: Duration = Duration::from_secs(60);
/// Clock skew tolerated on `exp`.
pub const LEEWAY_SECS: u64 = 5;
/// Paths a guarded router serves without a token (liveness and readiness).
pub const UNGUARDED_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The caller a valid internal token names. The only identity a service behind
/// the gateway trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalCaller {
    pub tenant_id: String,
    pub user_id: String,
    pub roles: Vec<String>,
}

impl InternalCaller {
    /// Whether the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    tid: String,
    #[serde(default)]
    roles: Vec<String>,
    exp: u64,
    iat: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Signs internal tokens (the gateway).
#[derive(Clone)]
pub struct InternalSigner {
    key: Arc<EncodingKey>,
}

impl std::fmt::Debug for InternalSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InternalSigner(***)")
    }
}

impl InternalSigner {
    /// A signer with `secret` (`SAGAFLOW_INTERNAL_TOKEN_SECRET`): refused when
    /// missing or shorter than 32 bytes.
    pub fn new(secret: Option<&Secret>) -> Result<Self, SecretError> {
        let secret = Secret::require(INTERNAL_TOKEN_SECRET, secret)?;
        Ok(Self {
            key: Arc::new(
                EncodingKey::from_secret(secret.expose().as_bytes())
                    .expect("HMAC secrets are checked non-empty"),
            ),
        })
    }

    /// A token for `audience` naming `caller`, valid for [`TTL`].
    pub fn sign(&self, audience: &str, caller: &InternalCaller) -> String {
        let now = now_secs();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: audience.to_owned(),
            sub: caller.user_id.clone(),
            tid: caller.tenant_id.clone(),
            roles: caller.roles.clone(),
            exp: now + TTL.as_secs(),
            iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .expect("HMAC signing of plain claims cannot fail")
    }
}

/// Verifies the internal tokens addressed to one service.
#[derive(Clone)]
pub struct InternalVerifier {
    key: Arc<DecodingKey>,
    audience: String,
}

impl std::fmt::Debug for InternalVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InternalVerifier")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl InternalVerifier {
    /// A verifier for tokens whose `aud` is `audience`, with `secret`
    /// (`SAGAFLOW_INTERNAL_TOKEN_SECRET`): refused when missing or short.
    pub fn new(secret: Option<&Secret>, audience: &str) -> Result<Self, SecretError> {
        let secret = Secret::require(INTERNAL_TOKEN_SECRET, secret)?;
        Ok(Self {
            key: Arc::new(
                DecodingKey::from_secret(secret.expose().as_bytes())
                    .expect("HMAC secrets are checked non-empty"),
            ),
            audience: audience.to_owned(),
        })
    }

    /// The audience this verifier accepts.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The caller of a token, or why it is refused (never echoes the token).
    pub fn verify(&self, token: &str) -> Result<InternalCaller, Rejection> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &validation)
            .map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match err.kind() {
                    ErrorKind::ExpiredSignature => "the internal token has expired",
                    ErrorKind::InvalidAudience => "the internal token is for another service",
                    ErrorKind::InvalidIssuer => "the internal token was not issued by the gateway",
                    ErrorKind::InvalidSignature => "the internal token's signature is invalid",
                    _ => "the internal token is invalid",
                };
                Rejection::unauthorized(why)
            })?
            .claims;
        let tenant_id = identity(claims.tid)
            .ok_or_else(|| Rejection::unauthorized("the internal token's `tid` is invalid"))?;
        let user_id = identity(claims.sub)
            .ok_or_else(|| Rejection::unauthorized("the internal token's `sub` is invalid"))?;
        Ok(InternalCaller {
            tenant_id,
            user_id,
            roles: claims.roles,
        })
    }
}

/// `router` with every request but [`UNGUARDED_PATHS`] requiring a valid
/// internal token for `verifier`'s audience; the [`InternalCaller`] is left in the
/// request's extensions.
pub fn guard<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    verifier: InternalVerifier,
) -> Router<S> {
    router.layer(from_fn_with_state(verifier, require))
}

/// The middleware of [`guard`].
pub async fn require(
    State(verifier): State<InternalVerifier>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if UNGUARDED_PATHS.contains(&path) {
        return next.run(request).await;
    }
    // Never trust a caller-made InternalCaller: only this middleware inserts it.
    request.extensions_mut().remove::<InternalCaller>();
    let outcome = bearer(request.headers()).and_then(|token| verifier.verify(token));
    match outcome {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(rejection) => {
            metrics::counter!("sagaflow_internal_auth_rejected_total", "service" => verifier.audience.clone())
                .increment(1);
            tracing::debug!(service = %verifier.audience, reason = %rejection, "internal token refused");
            rejection.into_response()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for InternalCaller {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<InternalCaller>()
            .cloned()
            .ok_or_else(|| {
                Rejection::unauthorized("an internal token from the gateway is required")
            })
    }
}

/// An internal token for development tools and tests.
pub fn mint(secret: &str, audience: &str, tenant: &str, user: &str, roles: &[&str]) -> String {
    let signer = InternalSigner {
        key: Arc::new(
            EncodingKey::from_secret(secret.as_bytes())
                .expect("HMAC secrets are checked non-empty"),
        ),
    };
    signer.sign(
        audience,
        &InternalCaller {
            tenant_id: tenant.to_owned(),
            user_id: user.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        },
    )
}
