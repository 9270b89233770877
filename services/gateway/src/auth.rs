//! Bearer-token (JWT) authentication: who is calling.
//!
//! Every `/v1` route needs `Authorization: Bearer <token>`. A token is accepted
//! when its signature verifies with a configured key **of the algorithm its header
//! names** — HS256 with `GATEWAY_JWT_HS256_SECRET`, RS256 with the public key in
//! `GATEWAY_JWT_RS256_PUBLIC_KEY_FILE`, and a token whose header names a `kid`
//! (RS*, PS*, ES256/384, EdDSA) with that key of the OpenID Connect provider's JWKS
//! at `GATEWAY_JWT_JWKS_URL` ([`crate::jwks`]: cached, re-read on an unknown `kid`,
//! so key rotation needs no restart) — and its claims hold:
//!
//! - `sub`: the user id; `tenant_id`: the tenant (both 1..=128 visible ASCII
//!   characters, since they become database keys and forwarded headers);
//! - `exp` in the future (30 s leeway), `nbf` (if present) in the past;
//! - `iss` = `GATEWAY_JWT_ISSUER`, `aud` = `GATEWAY_JWT_AUDIENCE`;
//! - optional `roles`: an array of strings (`"operator"` lets a caller read any
//!   saga log of its own tenant, see `routes::sagas`); at most [`MAX_ROLES`] roles
//!   of [`MAX_ID_CHARS`] visible ASCII characters each.
//!
//! Anything else is 401 with `WWW-Authenticate: Bearer`: `alg: none` and every
//! algorithm without a configured key (so an HS256 token "signed" with the RS256
//! public key's bytes is refused: HS256 is checked only against the HS256 secret),
//! expired tokens, wrong issuer or audience, missing claims, garbage.
//!
//! [`authenticate`] (middleware) verifies the header once per request and leaves
//! the outcome in the request's extensions, where the [`Caller`] extractor and the
//! per-user rate limit find it; routes without a `Caller` (health, docs, the web
//! page) ignore it. [`mint_hs256`] makes tokens for development and tests.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::error::ApiError;
use crate::jwks::Jwks;

/// The request header carrying the token.
pub const AUTHORIZATION: &str = "Authorization";
/// Longest accepted `Authorization` header (bytes).
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Longest accepted `sub` and `tenant_id`.
pub const MAX_ID_CHARS: usize = 128;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;
/// Most roles a token may carry.
pub const MAX_ROLES: usize = 16;
/// The role that may read every saga log of its tenant.
pub const OPERATOR_ROLE: &str = "operator";

/// Who is calling: the verified `tenant_id`, `sub` and `roles` of the bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub user_id: String,
    pub roles: Vec<String>,
}

impl Caller {
    /// Whether the token gave the caller the operator role (in its tenant).
    pub fn is_operator(&self) -> bool {
        self.roles.iter().any(|r| r == OPERATOR_ROLE)
    }
}

/// The claims the gateway reads. Every field but `nbf` is required, and each
/// must have its type: jsonwebtoken skips a time check whose claim does not
/// parse, so a mistyped `exp` or `nbf` must fail here instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iss: String,
    pub aud: Audience,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// `aud`: one audience or several (the gateway's must be among them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Why a token was refused (the 401's message; never echoes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    Missing,
    #[error("the Authorization header must be `Bearer <token>`")]
    NotBearer,
    #[error("the bearer token is malformed")]
    Malformed,
    #[error("tokens signed with {0} are not accepted")]
    AlgorithmNotAccepted(String),
    #[error("the bearer token's signature is invalid")]
    BadSignature,
    #[error("the bearer token's key `{0}` is not among the issuer's keys")]
    UnknownKey(String),
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid yet")]
    NotYetValid,
    #[error("the bearer token's issuer is not accepted")]
    WrongIssuer,
    #[error("the bearer token's audience is not accepted")]
    WrongAudience,
    #[error("the bearer token lacks the `{0}` claim or it has the wrong type")]
    MissingClaim(String),
    #[error("the bearer token's `{0}` claim must be 1 to 128 visible ASCII characters")]
    BadIdentity(&'static str),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        ApiError::Unauthenticated {
            invalid_token: err != AuthError::Missing,
            reason: err.to_string(),
        }
    }
}

/// The outcome of [`authenticate`], kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct Authentication(pub Result<Caller, AuthError>);

/// Checks tokens against the configured keys.
#[derive(Clone)]
pub struct Verifier {
    hs256: Option<DecodingKey>,
    rs256: Option<DecodingKey>,
    /// An OpenID Connect provider's keys (`GATEWAY_JWT_JWKS_URL`).
    jwks: Option<Arc<Jwks>>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.hs256.is_some())
            .field("rs256", &self.rs256.is_some())
            .field("jwks", &self.jwks)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// A key setting that cannot be used; names its key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE={path}: cannot read it: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE={path}: not an RSA public key in PEM: {source}")]
    Pem {
        path: String,
        source: jsonwebtoken::errors::Error,
    },
    #[error("GATEWAY_JWT_HS256_SECRET is empty")]
    EmptySecret,
    #[error("{0}")]
    Jwks(String),
    #[error(
        "no token verification key is configured: set GATEWAY_JWT_HS256_SECRET \
         and/or GATEWAY_JWT_RS256_PUBLIC_KEY_FILE and/or GATEWAY_JWT_JWKS_URL"
    )]
    NoKey,
}

impl Verifier {
    /// The verifier of `settings`. No key at all is allowed here (every token is
    /// then refused); [`crate::run`] refuses to start that way ([`Verifier::require_key`]).
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let hs256 = settings
            .jwt_hs256_secret
            .as_ref()
            .map(|secret| DecodingKey::from_secret(secret.expose().as_bytes()))
            .transpose()
            .map_err(|_| KeyError::EmptySecret)?;
        let rs256 = match &settings.jwt_rs256_public_key_file {
            None => None,
            Some(path) => {
                let shown = path.display().to_string();
                let pem = std::fs::read(path).map_err(|source| KeyError::Read {
                    path: shown.clone(),
                    source,
                })?;
                Some(
                    DecodingKey::from_rsa_pem(&pem).map_err(|source| KeyError::Pem {
                        path: shown,
                        source,
                    })?,
                )
            }
        };
        let jwks = match &settings.jwt_jwks_url {
            None => None,
            Some(url) => Some(Arc::new(Jwks::new(url).map_err(KeyError::Jwks)?)),
        };
        Ok(Self {
            hs256,
            rs256,
            jwks,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
        })
    }

    /// An error naming both key settings when neither is configured.
    pub fn require_key(&self) -> Result<(), KeyError> {
        if self.hs256.is_none() && self.rs256.is_none() && self.jwks.is_none() {
            return Err(KeyError::NoKey);
        }
        Ok(())
    }

    /// The caller named by an `Authorization` header value.
    pub fn verify_header(&self, value: &[u8]) -> Result<Caller, AuthError> {
        if value.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let value = std::str::from_utf8(value).map_err(|_| AuthError::Malformed)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim())
    }

    /// The caller named by a token.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        // An unknown `alg` (including "none") fails here: jsonwebtoken has no such
        // algorithm.
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        // A token naming a key id of the provider is checked with that key only;
        // HS256 never goes to the JWKS.
        let from_jwks = match (&self.jwks, header.kid.as_deref()) {
            (Some(jwks), Some(kid)) if header.alg.family() != AlgorithmFamily::Hmac => Some(
                jwks.key(kid, header.alg)
                    .ok_or_else(|| AuthError::UnknownKey(kid.to_owned()))?,
            ),
            _ => None,
        };
        let key = match (&from_jwks, header.alg) {
            (Some(key), _) => Some(key),
            (None, Algorithm::HS256) => self.hs256.as_ref(),
            (None, Algorithm::RS256) => self.rs256.as_ref(),
            _ => None,
        }
        .ok_or_else(|| AuthError::AlgorithmNotAccepted(format!("{:?}", header.alg)))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(classify)?;
        let claims = data.claims;
        if claims.roles.len() > MAX_ROLES {
            return Err(AuthError::BadIdentity("roles"));
        }
        let roles = claims
            .roles
            .into_iter()
            .map(|role| identity("roles", role))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Caller {
            tenant_id: identity("tenant_id", claims.tenant_id)?,
            user_id: identity("sub", claims.sub)?,
            roles,
        })
    }
}

fn identity(claim: &'static str, value: String) -> Result<String, AuthError> {
    let ok =
        (1..=MAX_ID_CHARS).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(value)
    } else {
        Err(AuthError::BadIdentity(claim))
    }
}

fn classify(err: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm => AuthError::AlgorithmNotAccepted("this algorithm".into()),
        ErrorKind::Json(err) => {
            // serde names the missing or mistyped field in its message.
            let text = err.to_string();
            let claim = ["tenant_id", "sub", "exp", "nbf", "iss", "aud", "roles"]
                .into_iter()
                .find(|c| text.contains(&format!("`{c}`")))
                .unwrap_or("claims");
            AuthError::MissingClaim(claim.to_owned())
        }
        _ => AuthError::Malformed,
    }
}

/// Middleware (`from_fn_with_state`) verifying the `Authorization` header, if any,
/// into an [`Authentication`] extension. It never rejects: the routes that need a
/// caller do, through [`Caller`].
pub async fn authenticate(
    State(verifier): State<Arc<Verifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(value) = request.headers().get(axum::http::header::AUTHORIZATION) {
        if let Some(jwks) = &verifier.jwks
            && jwks.stale()
        {
            jwks.refresh().await;
        }
        let mut outcome = verifier.verify_header(value.as_bytes());
        // A key the cache lacks may have just been rotated in.
        if let (Err(AuthError::UnknownKey(_)), Some(jwks)) = (&outcome, &verifier.jwks)
            && jwks.refresh().await
        {
            outcome = verifier.verify_header(value.as_bytes());
        }
        if let Err(err) = &outcome {
            metrics::counter!("sagaflow_gateway_auth_rejected_total", "reason" => reason_label(err))
                .increment(1);
        }
        request.extensions_mut().insert(Authentication(outcome));
    }
    next.run(request).await
}

fn reason_label(err: &AuthError) -> &'static str {
    match err {
        AuthError::Missing => "missing",
        AuthError::NotBearer => "not_bearer",
        AuthError::Malformed => "malformed",
        AuthError::AlgorithmNotAccepted(_) => "algorithm",
        AuthError::BadSignature => "signature",
        AuthError::UnknownKey(_) => "unknown_key",
        AuthError::Expired => "expired",
        AuthError::NotYetValid => "not_yet_valid",
        AuthError::WrongIssuer => "issuer",
        AuthError::WrongAudience => "audience",
        AuthError::MissingClaim(_) => "claims",
        AuthError::BadIdentity(_) => "identity",
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication(Ok(caller))) => Ok(caller.clone()),
            Some(Authentication(Err(err))) => Err(err.clone().into()),
            None => Err(AuthError::Missing.into()),
        }
    }
}

/// An HS256 token for `user` of `tenant`, valid for `ttl` — for development tools
/// (`sagaflow token`, the demo) and tests.
pub fn mint_hs256(
    secret: &str,
    issuer: &str,
    audience: &str,
    tenant: &str,
    user: &str,
    ttl: Duration,
) -> String {
    mint_hs256_with_roles(secret, issuer, audience, tenant, user, &[], ttl)
}

/// [`mint_hs256`] with a `roles` claim (e.g. `["operator"]`).
pub fn mint_hs256_with_roles(
    secret: &str,
    issuer: &str,
    audience: &str,
    tenant: &str,
    user: &str,
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
        sub: user.to_owned(),
        tenant_id: tenant.to_owned(),
        exp,
        nbf: None,
        iss: issuer.to_owned(),
        aud: Audience::One(audience.to_owned()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).expect("a development secret is not empty"),
    )
    .expect("HMAC signing of plain claims cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    const SECRET: &str = "unit-test-secret-0123456789abcdef0123";

    fn verifier() -> Verifier {
        Verifier::from_settings(&Settings {
            jwt_hs256_secret: Some(Secret::new(SECRET)),
            ..Settings::default()
        })
        .expect("verifier")
    }

    #[test]
    fn a_minted_token_verifies() {
        let token = mint_hs256(
            SECRET,
            "sagaflow",
            "sagaflow-api",
            "acme",
            "ada",
            Duration::from_secs(60),
        );
        let caller = verifier().verify(&token).expect("valid");
        assert_eq!(
            caller,
            Caller {
                tenant_id: "acme".into(),
                user_id: "ada".into(),
                roles: Vec::new(),
            }
        );
        let header = format!("bearer {token}");
        assert!(verifier().verify_header(header.as_bytes()).is_ok());
    }

    #[test]
    fn roles_are_read_and_checked() {
        let token = mint_hs256_with_roles(
            SECRET,
            "sagaflow",
            "sagaflow-api",
            "acme",
            "ops",
            &["operator"],
            Duration::from_secs(60),
        );
        let caller = verifier().verify(&token).expect("valid");
        assert!(caller.is_operator());
        let bad = mint_hs256_with_roles(
            SECRET,
            "sagaflow",
            "sagaflow-api",
            "acme",
            "ops",
            &["has space"],
            Duration::from_secs(60),
        );
        assert_eq!(
            verifier().verify(&bad),
            Err(AuthError::BadIdentity("roles"))
        );
    }

    #[test]
    fn no_key_is_refused_at_startup_naming_both_keys() {
        let err = Verifier::from_settings(&Settings::default())
            .expect("builds")
            .require_key()
            .expect_err("no key");
        let text = err.to_string();
        assert!(text.contains("GATEWAY_JWT_HS256_SECRET"), "{text}");
        assert!(text.contains("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE"), "{text}");
    }

    #[test]
    fn an_unreadable_key_file_names_its_key() {
        let err = Verifier::from_settings(&Settings {
            jwt_rs256_public_key_file: Some("/nonexistent/key.pem".into()),
            ..Settings::default()
        })
        .expect_err("unreadable");
        assert!(
            err.to_string()
                .contains("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE")
        );
    }

    #[test]
    fn bad_identities_are_refused() {
        for (tenant, user) in [("", "ada"), ("acme", "a b"), ("acme", &"x".repeat(129))] {
            let token = mint_hs256(
                SECRET,
                "sagaflow",
                "sagaflow-api",
                tenant,
                user,
                Duration::from_secs(60),
            );
            assert!(
                matches!(verifier().verify(&token), Err(AuthError::BadIdentity(_))),
                "{tenant:?}/{user:?}"
            );
        }
    }
}
