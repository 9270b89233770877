//! The keys of an OpenID Connect provider (Keycloak, Auth0, Cognito, the built-in
//! issuer of a deployment), read from its JWKS at `GATEWAY_JWT_JWKS_URL`.
//!
//! - **Which keys**: RSA, EC (P-256, P-384) and OKP (Ed25519) public keys, by `kid`;
//!   a key whose JWK names an `alg` serves that algorithm only. Symmetric (`oct`)
//!   keys in a JWKS are ignored: a token signed with HS256 is checked against
//!   `GATEWAY_JWT_HS256_SECRET` alone.
//! - **When fetched**: on the first token that names a key, and again whenever a
//!   token names a `kid` the cache lacks (how a rotated-in key arrives), at most
//!   once per [`MIN_REFRESH`] so tokens with made-up key ids cost one fetch a
//!   period; and when the cache is older than [`TTL`] (how a removed key leaves).
//!   A failed fetch keeps the keys it had and is logged.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

/// How long fetched keys are used before the JWKS is read again.
pub const TTL: Duration = Duration::from_secs(600);
/// Least time between two fetches caused by unknown key ids.
pub const MIN_REFRESH: Duration = Duration::from_secs(2);
/// Longest a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// One usable key: the algorithm its JWK pins, if any.
#[derive(Clone)]
struct Key {
    alg: Option<Algorithm>,
    key: DecodingKey,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Key>,
    fetched_at: Option<Instant>,
    tried_at: Option<Instant>,
}

/// The JWKS of one issuer, cached.
pub struct Jwks {
    url: reqwest::Url,
    http: reqwest::Client,
    cache: std::sync::RwLock<Cache>,
    /// One fetch at a time.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url.as_str())
            .finish()
    }
}

impl Jwks {
    /// The JWKS at `url` (`GATEWAY_JWT_JWKS_URL`: an http or https URL).
    pub fn new(url: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| format!("GATEWAY_JWT_JWKS_URL={url}: not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "GATEWAY_JWT_JWKS_URL={url}: must be http:// or https://"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("GATEWAY_JWT_JWKS_URL: HTTP client: {e}"))?;
        Ok(Self {
            url: parsed,
            http,
            cache: std::sync::RwLock::new(Cache::default()),
            fetching: Mutex::new(()),
        })
    }

    /// The cached key `kid` for a token signed with `alg`, if the cache has it
    /// and it may sign with `alg`.
    pub fn key(&self, kid: &str, alg: Algorithm) -> Option<DecodingKey> {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = cache.keys.get(kid)?;
        let allowed =
            found.alg.is_none_or(|pinned| pinned == alg) && found.key.family() == alg.family();
        allowed.then(|| found.key.clone())
    }

    /// Whether the cache is older than [`TTL`] (or was never filled).
    pub fn stale(&self) -> bool {
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.fetched_at.is_none_or(|at| at.elapsed() >= TTL)
    }

    /// Fetches the JWKS after a token named an unknown key (or the cache went
    /// stale), unless another fetch happened within [`MIN_REFRESH`]; true when the
    /// keys were fetched.
    pub async fn refresh(&self) -> bool {
        let _one = self.fetching.lock().await;
        {
            let mut cache = self
                .cache
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if cache.tried_at.is_some_and(|at| at.elapsed() < MIN_REFRESH) {
                return false;
            }
            cache.tried_at = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(keys) => {
                let mut cache = self
                    .cache
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                tracing::info!(url = %self.url, keys = keys.len(), "JWKS fetched");
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                true
            }
            Err(err) => {
                tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed; keeping the keys it had");
                false
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, Key>, String> {
        let response = self
            .http
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let set: JwkSet = response.json().await.map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                continue;
            }
            // A pinned algorithm we do not sign with (RSA-OAEP is for encryption):
            // not a signing key.
            let alg = match jwk.common.key_algorithm.as_ref() {
                None => None,
                Some(pinned) => match pinned.to_string().parse::<Algorithm>() {
                    Ok(alg) => Some(alg),
                    Err(_) => continue,
                },
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid, Key { alg, key });
                }
                Err(err) => tracing::warn!(%kid, error = %err, "JWKS key skipped"),
            }
        }
        Ok(keys)
    }
}
