//! Gateway settings, read from flags or the environment and validated before
//! anything binds: a value out of range is refused with an error naming its key.
//!
//! Groups: HTTP (`GATEWAY_LISTEN`, `GATEWAY_MAX_BODY_BYTES`,
//! `GATEWAY_IDEMPOTENCY_TTL_SECS`, `GATEWAY_CORS_ORIGINS`), authentication
//! (`GATEWAY_JWT_*`), rate limits (`GATEWAY_RATE_LIMIT_*`, `GATEWAY_REDIS_URL`),
//! server-sent event streams (`GATEWAY_SSE_*`: caps, lifetime, safety poll),
//! housekeeping (`GATEWAY_HOUSEKEEPING_INTERVAL_SECS`, `GATEWAY_PRUNE_BATCH`,
//! `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS`) and the backends the gateway
//! forwards to (`GATEWAY_*_URL`). Secrets are [`Secret`]s,
//! which never print.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Default `GATEWAY_LISTEN`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default `GATEWAY_IDEMPOTENCY_TTL_SECS` (one day).
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u32 = 86_400;
/// Default `GATEWAY_MAX_BODY_BYTES` (64 KiB).
pub const DEFAULT_MAX_BODY_BYTES: u32 = 65_536;
/// Where `sagaflow serve` puts the generation service's API by default.
pub const DEFAULT_GENERATION_URL: &str = "http://127.0.0.1:8085";
/// Default `GATEWAY_CART_URL`.
pub const DEFAULT_CART_URL: &str = "http://127.0.0.1:8083";
/// Default `GATEWAY_PLANNER_URL`.
pub const DEFAULT_PLANNER_URL: &str = "http://127.0.0.1:8086";
/// Default `GATEWAY_APPLICATIONS_URL`.
pub const DEFAULT_APPLICATIONS_URL: &str = "http://127.0.0.1:8087";
/// Default `GATEWAY_ORDER_URL`.
pub const DEFAULT_ORDER_URL: &str = "http://127.0.0.1:8082";
/// Default `GATEWAY_NOTIFICATION_URL` (the notification service's default
/// `NOTIFICATION_LISTEN`).
pub const DEFAULT_NOTIFICATION_URL: &str = "http://127.0.0.1:8084";
/// Default `GATEWAY_JWT_ISSUER`.
pub const DEFAULT_JWT_ISSUER: &str = "sagaflow";
/// Default `GATEWAY_JWT_AUDIENCE`.
pub const DEFAULT_JWT_AUDIENCE: &str = "sagaflow-api";
/// Shortest accepted `GATEWAY_JWT_HS256_SECRET` (bytes): HS256 keys shorter than
/// the hash are brute-forceable.
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Default `GATEWAY_RATE_LIMIT_IP_PER_SEC`: generous, since a load test or an office
/// sends many users' requests from one address.
pub const DEFAULT_IP_PER_SEC: u32 = 100;
/// Default `GATEWAY_RATE_LIMIT_IP_BURST`.
pub const DEFAULT_IP_BURST: u32 = 200;
/// Default `GATEWAY_RATE_LIMIT_USER_PER_SEC`.
pub const DEFAULT_USER_PER_SEC: u32 = 20;
/// Default `GATEWAY_RATE_LIMIT_USER_BURST`.
pub const DEFAULT_USER_BURST: u32 = 40;
/// Default `GATEWAY_RATE_LIMIT_GENERATIONS_PER_HOUR` (per user).
pub const DEFAULT_GENERATIONS_PER_HOUR: u32 = 10;
/// Default `GATEWAY_SSE_MAX_PER_USER`: a few tabs and devices of one person.
pub const DEFAULT_SSE_MAX_PER_USER: u32 = 8;
/// Default `GATEWAY_SSE_MAX_STREAMS` (per gateway process).
pub const DEFAULT_SSE_MAX_STREAMS: u32 = 10_000;
/// Default `GATEWAY_SSE_MAX_LIFETIME_SECS` (15 minutes).
pub const DEFAULT_SSE_MAX_LIFETIME_SECS: u32 = 900;
/// Default `GATEWAY_SSE_SAFETY_POLL_SECS`.
pub const DEFAULT_SSE_SAFETY_POLL_SECS: u32 = 5;
/// Default `GATEWAY_HOUSEKEEPING_INTERVAL_SECS`.
pub const DEFAULT_HOUSEKEEPING_INTERVAL_SECS: u32 = 60;
/// Default `GATEWAY_PRUNE_BATCH`.
pub const DEFAULT_PRUNE_BATCH: u32 = 5_000;
/// Default `GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS` (7 days).
pub const DEFAULT_ORPHAN_PROGRESS_RETENTION_SECS: u32 = 604_800;

/// A secret setting: its value never appears in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Gateway settings.
#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address the HTTP server binds (`host:port`).
    #[arg(
        id = "gateway-listen", long = "gateway-listen",
        env = "GATEWAY_LISTEN",
        value_name = "GATEWAY_LISTEN",
        default_value_t = DEFAULT_LISTEN
    )]
    pub listen: SocketAddr,

    /// How long an `Idempotency-Key` is remembered; an older key counts as new.
    #[arg(
        id = "gateway-idempotency-ttl-secs", long = "gateway-idempotency-ttl-secs",
        env = "GATEWAY_IDEMPOTENCY_TTL_SECS",
        value_name = "GATEWAY_IDEMPOTENCY_TTL_SECS",
        default_value_t = DEFAULT_IDEMPOTENCY_TTL_SECS,
        value_parser = clap::value_parser!(u32).range(1..=2_592_000)
    )]
    pub idempotency_ttl_secs: u32,

    /// Largest accepted request body; larger ones get 413.
    #[arg(
        id = "gateway-max-body-bytes", long = "gateway-max-body-bytes",
        env = "GATEWAY_MAX_BODY_BYTES",
        value_name = "GATEWAY_MAX_BODY_BYTES",
        default_value_t = DEFAULT_MAX_BODY_BYTES,
        value_parser = clap::value_parser!(u32).range(1_024..=16_777_216)
    )]
    pub max_body_bytes: u32,

    /// The generation service's document API, which the gateway proxies
    /// downloads to after checking the caller owns the document.
    #[arg(
        id = "gateway-generation-url", long = "gateway-generation-url",
        env = "GATEWAY_GENERATION_URL",
        value_name = "GATEWAY_GENERATION_URL",
        default_value = DEFAULT_GENERATION_URL,
        value_parser = parse_base_url
    )]
    pub generation_url: String,

    /// The cart service's HTTP API (`/v1/carts/...` are forwarded to it).
    #[arg(
        id = "gateway-cart-url", long = "gateway-cart-url",
        env = "GATEWAY_CART_URL",
        value_name = "GATEWAY_CART_URL",
        default_value = DEFAULT_CART_URL,
        value_parser = parse_base_url
    )]
    pub cart_url: String,

    /// The planner service's HTTP API (`/v1/assistant/...` are forwarded to it).
    #[arg(
        id = "gateway-planner-url", long = "gateway-planner-url",
        env = "GATEWAY_PLANNER_URL",
        value_name = "GATEWAY_PLANNER_URL",
        default_value = DEFAULT_PLANNER_URL,
        value_parser = parse_base_url
    )]
    pub planner_url: String,

    /// The applications service's HTTP API (`/v1/applications/...` and
    /// `/v1/tracker/...` are forwarded to it).
    #[arg(
        id = "gateway-applications-url", long = "gateway-applications-url",
        env = "GATEWAY_APPLICATIONS_URL",
        value_name = "GATEWAY_APPLICATIONS_URL",
        default_value = DEFAULT_APPLICATIONS_URL,
        value_parser = parse_base_url
    )]
    pub applications_url: String,

    /// The order service's HTTP API (`GET /v1/orders...` are forwarded to it).
    #[arg(
        id = "gateway-order-url", long = "gateway-order-url",
        env = "GATEWAY_ORDER_URL",
        value_name = "GATEWAY_ORDER_URL",
        default_value = DEFAULT_ORDER_URL,
        value_parser = parse_base_url
    )]
    pub order_url: String,

    /// The notification service's HTTP API (`/v1/notifications/preferences` and
    /// `/v1/notifications/test` are forwarded to it).
    #[arg(
        id = "gateway-notification-url", long = "gateway-notification-url",
        env = "GATEWAY_NOTIFICATION_URL",
        value_name = "GATEWAY_NOTIFICATION_URL",
        default_value = DEFAULT_NOTIFICATION_URL,
        value_parser = parse_base_url
    )]
    pub notification_url: String,

    /// HS256 secret bearer tokens may be signed with (at least 32 bytes). At
    /// least one of this and `GATEWAY_JWT_RS256_PUBLIC_KEY_FILE` is required.
    #[arg(
        id = "gateway-jwt-hs256-secret", long = "gateway-jwt-hs256-secret",
        env = "GATEWAY_JWT_HS256_SECRET",
        value_name = "GATEWAY_JWT_HS256_SECRET",
        hide_env_values = true,
        value_parser = parse_hs256_secret
    )]
    pub jwt_hs256_secret: Option<Secret>,

    /// PEM file with the RSA public key RS256 bearer tokens are verified with.
    #[arg(
        id = "gateway-jwt-rs256-public-key-file",
        long = "gateway-jwt-rs256-public-key-file",
        env = "GATEWAY_JWT_RS256_PUBLIC_KEY_FILE",
        value_name = "GATEWAY_JWT_RS256_PUBLIC_KEY_FILE"
    )]
    pub jwt_rs256_public_key_file: Option<PathBuf>,

    /// JWKS URL of an OpenID Connect provider (Keycloak, Auth0, Cognito, ...):
    /// tokens naming one of its key ids are verified with that key (RS256/384/512,
    /// PS256/384/512, ES256/384, EdDSA). Cached; re-read when a token names an
    /// unknown key id (key rotation) and every 10 minutes.
    #[arg(
        id = "gateway-jwt-jwks-url",
        long = "gateway-jwt-jwks-url",
        env = "GATEWAY_JWT_JWKS_URL",
        value_name = "GATEWAY_JWT_JWKS_URL"
    )]
    pub jwt_jwks_url: Option<String>,

    /// The `iss` claim every token must carry.
    #[arg(
        id = "gateway-jwt-issuer", long = "gateway-jwt-issuer",
        env = "GATEWAY_JWT_ISSUER",
        value_name = "GATEWAY_JWT_ISSUER",
        default_value = DEFAULT_JWT_ISSUER,
        value_parser = parse_claim_value
    )]
    pub jwt_issuer: String,

    /// The `aud` claim every token must carry.
    #[arg(
        id = "gateway-jwt-audience", long = "gateway-jwt-audience",
        env = "GATEWAY_JWT_AUDIENCE",
        value_name = "GATEWAY_JWT_AUDIENCE",
        default_value = DEFAULT_JWT_AUDIENCE,
        value_parser = parse_claim_value
    )]
    pub jwt_audience: String,

    /// Origins allowed to call the API from a browser (CORS), comma-separated,
    /// e.g. `http://localhost:8080,chrome-extension://<id>`. Empty: none.
    #[arg(
        id = "gateway-cors-origins", long = "gateway-cors-origins",
        env = "GATEWAY_CORS_ORIGINS",
        value_name = "GATEWAY_CORS_ORIGINS",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub cors_origins: Vec<String>,

    /// Redis shared by every gateway replica for the rate limits
    /// (`redis://host:port`); unset: each process limits on its own.
    #[arg(
        id = "gateway-redis-url", long = "gateway-redis-url",
        env = "GATEWAY_REDIS_URL",
        value_name = "GATEWAY_REDIS_URL",
        hide_env_values = true,
        value_parser = parse_redis_url
    )]
    pub redis_url: Option<Secret>,

    /// Requests per second from one client address (0 = no limit).
    #[arg(
        id = "gateway-rate-limit-ip-per-sec", long = "gateway-rate-limit-ip-per-sec",
        env = "GATEWAY_RATE_LIMIT_IP_PER_SEC",
        value_name = "GATEWAY_RATE_LIMIT_IP_PER_SEC",
        default_value_t = DEFAULT_IP_PER_SEC,
        value_parser = clap::value_parser!(u32).range(0..=1_000_000)
    )]
    pub rate_limit_ip_per_sec: u32,

    /// Requests one client address may send at once above its rate.
    #[arg(
        id = "gateway-rate-limit-ip-burst", long = "gateway-rate-limit-ip-burst",
        env = "GATEWAY_RATE_LIMIT_IP_BURST",
        value_name = "GATEWAY_RATE_LIMIT_IP_BURST",
        default_value_t = DEFAULT_IP_BURST,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub rate_limit_ip_burst: u32,

    /// Requests per second of one user (0 = no limit).
    #[arg(
        id = "gateway-rate-limit-user-per-sec", long = "gateway-rate-limit-user-per-sec",
        env = "GATEWAY_RATE_LIMIT_USER_PER_SEC",
        value_name = "GATEWAY_RATE_LIMIT_USER_PER_SEC",
        default_value_t = DEFAULT_USER_PER_SEC,
        value_parser = clap::value_parser!(u32).range(0..=1_000_000)
    )]
    pub rate_limit_user_per_sec: u32,

    /// Requests one user may send at once above their rate.
    #[arg(
        id = "gateway-rate-limit-user-burst", long = "gateway-rate-limit-user-burst",
        env = "GATEWAY_RATE_LIMIT_USER_BURST",
        value_name = "GATEWAY_RATE_LIMIT_USER_BURST",
        default_value_t = DEFAULT_USER_BURST,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub rate_limit_user_burst: u32,

    /// `POST /v1/generations` per user and hour (0 = no limit); also the burst.
    #[arg(
        id = "gateway-rate-limit-generations-per-hour",
        long = "gateway-rate-limit-generations-per-hour",
        env = "GATEWAY_RATE_LIMIT_GENERATIONS_PER_HOUR",
        value_name = "GATEWAY_RATE_LIMIT_GENERATIONS_PER_HOUR",
        default_value_t = DEFAULT_GENERATIONS_PER_HOUR,
        value_parser = clap::value_parser!(u32).range(0..=1_000_000)
    )]
    pub rate_limit_generations_per_hour: u32,

    /// Most rate limit buckets kept in process (without Redis); past it, full
    /// buckets are dropped, then the longest idle ones.
    #[arg(
        id = "gateway-rate-limit-max-keys",
        long = "gateway-rate-limit-max-keys",
        env = "GATEWAY_RATE_LIMIT_MAX_KEYS",
        value_name = "GATEWAY_RATE_LIMIT_MAX_KEYS",
        default_value_t = crate::rate_limit::DEFAULT_MAX_KEYS,
        value_parser = clap::value_parser!(u32).range(1..=10_000_000)
    )]
    pub rate_limit_max_keys: u32,

    /// Most server-sent event streams one user (tenant and user) may hold open on
    /// this gateway process; one more gets 429.
    #[arg(
        id = "gateway-sse-max-per-user", long = "gateway-sse-max-per-user",
        env = "GATEWAY_SSE_MAX_PER_USER",
        value_name = "GATEWAY_SSE_MAX_PER_USER",
        default_value_t = DEFAULT_SSE_MAX_PER_USER,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub sse_max_per_user: u32,

    /// Most server-sent event streams open on this gateway process; one more
    /// gets 429.
    #[arg(
        id = "gateway-sse-max-streams", long = "gateway-sse-max-streams",
        env = "GATEWAY_SSE_MAX_STREAMS",
        value_name = "GATEWAY_SSE_MAX_STREAMS",
        default_value_t = DEFAULT_SSE_MAX_STREAMS,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000)
    )]
    pub sse_max_streams: u32,

    /// Longest a server-sent event stream stays open; then it ends with a
    /// `reconnect` event (the client reconnects with `Last-Event-ID`).
    #[arg(
        id = "gateway-sse-max-lifetime-secs", long = "gateway-sse-max-lifetime-secs",
        env = "GATEWAY_SSE_MAX_LIFETIME_SECS",
        value_name = "GATEWAY_SSE_MAX_LIFETIME_SECS",
        default_value_t = DEFAULT_SSE_MAX_LIFETIME_SECS,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub sse_max_lifetime_secs: u32,

    /// How often an open stream re-reads its saga although no change was
    /// notified (a safety net for a lost `NOTIFY`).
    #[arg(
        id = "gateway-sse-safety-poll-secs", long = "gateway-sse-safety-poll-secs",
        env = "GATEWAY_SSE_SAFETY_POLL_SECS",
        value_name = "GATEWAY_SSE_SAFETY_POLL_SECS",
        default_value_t = DEFAULT_SSE_SAFETY_POLL_SECS,
        value_parser = clap::value_parser!(u32).range(1..=3_600)
    )]
    pub sse_safety_poll_secs: u32,

    /// How often the housekeeping task prunes the gateway's tables.
    #[arg(
        id = "gateway-housekeeping-interval-secs",
        long = "gateway-housekeeping-interval-secs",
        env = "GATEWAY_HOUSEKEEPING_INTERVAL_SECS",
        value_name = "GATEWAY_HOUSEKEEPING_INTERVAL_SECS",
        default_value_t = DEFAULT_HOUSEKEEPING_INTERVAL_SECS,
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub housekeeping_interval_secs: u32,

    /// Most rows of one table deleted by one housekeeping transaction.
    #[arg(
        id = "gateway-prune-batch", long = "gateway-prune-batch",
        env = "GATEWAY_PRUNE_BATCH",
        value_name = "GATEWAY_PRUNE_BATCH",
        default_value_t = DEFAULT_PRUNE_BATCH,
        value_parser = clap::value_parser!(u32).range(1..=100_000)
    )]
    pub prune_batch: u32,

    /// How long progress of a saga the gateway has no checkout or generation for
    /// is kept (its start may still arrive); then it is pruned.
    #[arg(
        id = "gateway-orphan-progress-retention-secs",
        long = "gateway-orphan-progress-retention-secs",
        env = "GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS",
        value_name = "GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS",
        default_value_t = DEFAULT_ORPHAN_PROGRESS_RETENTION_SECS,
        value_parser = clap::value_parser!(u32).range(60..=31_536_000)
    )]
    pub orphan_progress_retention_secs: u32,

    /// `SAGAFLOW_INTERNAL_TOKEN_SECRET` (handed over by `sagaflow serve`): signs the
    /// token of every request forwarded to a backend ([`crate::proxy`]).
    #[arg(skip)]
    pub internal_token_secret: Option<sagaflow_service_auth::Secret>,

    /// The process's broker probe (`sagaflow serve` runs it and hands the handle
    /// over): `/readyz` answers 503 while its last probe failed. The default has
    /// never probed and counts as serving.
    #[arg(skip)]
    pub broker_health: sagaflow_bus::probe::BrokerHealth,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            idempotency_ttl_secs: DEFAULT_IDEMPOTENCY_TTL_SECS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            generation_url: DEFAULT_GENERATION_URL.to_owned(),
            cart_url: DEFAULT_CART_URL.to_owned(),
            planner_url: DEFAULT_PLANNER_URL.to_owned(),
            applications_url: DEFAULT_APPLICATIONS_URL.to_owned(),
            order_url: DEFAULT_ORDER_URL.to_owned(),
            notification_url: DEFAULT_NOTIFICATION_URL.to_owned(),
            jwt_hs256_secret: None,
            jwt_rs256_public_key_file: None,
            jwt_jwks_url: None,
            jwt_issuer: DEFAULT_JWT_ISSUER.to_owned(),
            jwt_audience: DEFAULT_JWT_AUDIENCE.to_owned(),
            cors_origins: Vec::new(),
            redis_url: None,
            rate_limit_ip_per_sec: DEFAULT_IP_PER_SEC,
            rate_limit_ip_burst: DEFAULT_IP_BURST,
            rate_limit_user_per_sec: DEFAULT_USER_PER_SEC,
            rate_limit_user_burst: DEFAULT_USER_BURST,
            rate_limit_generations_per_hour: DEFAULT_GENERATIONS_PER_HOUR,
            rate_limit_max_keys: crate::rate_limit::DEFAULT_MAX_KEYS,
            sse_max_per_user: DEFAULT_SSE_MAX_PER_USER,
            sse_max_streams: DEFAULT_SSE_MAX_STREAMS,
            sse_max_lifetime_secs: DEFAULT_SSE_MAX_LIFETIME_SECS,
            sse_safety_poll_secs: DEFAULT_SSE_SAFETY_POLL_SECS,
            housekeeping_interval_secs: DEFAULT_HOUSEKEEPING_INTERVAL_SECS,
            prune_batch: DEFAULT_PRUNE_BATCH,
            orphan_progress_retention_secs: DEFAULT_ORPHAN_PROGRESS_RETENTION_SECS,
            internal_token_secret: None,
            broker_health: sagaflow_bus::probe::BrokerHealth::default(),
        }
    }
}

impl Settings {
    /// The idempotency key lifetime.
    pub fn idempotency_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.idempotency_ttl_secs))
    }

    /// The body limit in bytes.
    pub fn max_body(&self) -> usize {
        usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX)
    }

    /// The longest an event stream stays open.
    pub fn sse_max_lifetime(&self) -> Duration {
        Duration::from_secs(u64::from(self.sse_max_lifetime_secs))
    }

    /// How often an idle event stream re-reads its saga without a notification.
    pub fn sse_safety_poll(&self) -> Duration {
        Duration::from_secs(u64::from(self.sse_safety_poll_secs))
    }

    /// The pause between two housekeeping rounds.
    pub fn housekeeping_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.housekeeping_interval_secs))
    }

    /// How long progress without a checkout or generation is kept.
    pub fn orphan_progress_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.orphan_progress_retention_secs))
    }

    /// These settings with every rate limit off (tests that send many requests).
    pub fn without_rate_limits(mut self) -> Self {
        self.rate_limit_ip_per_sec = 0;
        self.rate_limit_user_per_sec = 0;
        self.rate_limit_generations_per_hour = 0;
        self
    }
}

fn parse_hs256_secret(value: &str) -> Result<Secret, String> {
    if value.len() < MIN_HS256_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_HS256_SECRET_BYTES} bytes (it is {})",
            value.len()
        ));
    }
    Ok(Secret::new(value))
}

fn parse_claim_value(value: &str) -> Result<String, String> {
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err("must be 1 to 256 characters without control characters".to_owned());
    }
    Ok(value.to_owned())
}

/// An `http://` or `https://` base URL without query or fragment; stored without
/// a trailing slash.
fn parse_base_url(value: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(value).map_err(|err| format!("not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".to_owned());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_redis_url(value: &str) -> Result<Secret, String> {
    let url = reqwest::Url::parse(value).map_err(|_| "not a URL".to_owned())?;
    if !matches!(url.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
        return Err("must be a redis:// URL".to_owned());
    }
    Ok(Secret::new(value))
}

/// A CORS origin: `scheme://host[:port]`, no path, no wildcard.
fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let invalid =
        || format!("`{value}` is not an origin (scheme://host[:port], e.g. http://localhost:8080)");
    let (scheme, rest) = value.split_once("://").ok_or_else(invalid)?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !scheme_ok || !host_ok {
        return Err(invalid());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        gateway: Settings,
    }

    #[test]
    fn defaults_match_default_impl() {
        let cli = Cli::try_parse_from(["x"]).expect("defaults parse");
        let default = Settings::default();
        assert_eq!(cli.gateway.listen, default.listen);
        assert_eq!(cli.gateway.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.gateway.idempotency_ttl_secs, 86_400);
        assert_eq!(cli.gateway.max_body_bytes, 65_536);
        assert_eq!(default.idempotency_ttl(), Duration::from_secs(86_400));
        assert_eq!(default.max_body(), 65_536);
        assert_eq!(cli.gateway.cart_url, default.cart_url);
        assert_eq!(cli.gateway.planner_url, default.planner_url);
        assert_eq!(cli.gateway.applications_url, default.applications_url);
        assert_eq!(cli.gateway.order_url, default.order_url);
        assert_eq!(cli.gateway.notification_url, default.notification_url);
        assert_eq!(cli.gateway.jwt_issuer, "sagaflow");
        assert_eq!(cli.gateway.jwt_audience, "sagaflow-api");
        assert_eq!(cli.gateway.rate_limit_ip_per_sec, 100);
        assert_eq!(cli.gateway.rate_limit_ip_burst, 200);
        assert_eq!(
            cli.gateway.rate_limit_user_per_sec,
            default.rate_limit_user_per_sec
        );
        assert_eq!(cli.gateway.rate_limit_generations_per_hour, 10);
        assert!(cli.gateway.cors_origins.is_empty());
        assert_eq!(cli.gateway.sse_max_per_user, 8);
        assert_eq!(cli.gateway.sse_max_streams, 10_000);
        assert_eq!(default.sse_max_lifetime(), Duration::from_secs(900));
        assert_eq!(default.sse_safety_poll(), Duration::from_secs(5));
        assert_eq!(
            cli.gateway.sse_safety_poll_secs,
            default.sse_safety_poll_secs
        );
        assert_eq!(default.housekeeping_interval(), Duration::from_secs(60));
        assert_eq!(cli.gateway.prune_batch, 5_000);
        assert_eq!(
            cli.gateway.orphan_progress_retention_secs,
            default.orphan_progress_retention_secs
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (flag, value, key) in [
            ("--gateway-listen", "nowhere", "GATEWAY_LISTEN"),
            (
                "--gateway-idempotency-ttl-secs",
                "0",
                "GATEWAY_IDEMPOTENCY_TTL_SECS",
            ),
            (
                "--gateway-idempotency-ttl-secs",
                "99999999",
                "GATEWAY_IDEMPOTENCY_TTL_SECS",
            ),
            ("--gateway-max-body-bytes", "10", "GATEWAY_MAX_BODY_BYTES"),
            ("--gateway-max-body-bytes", "-1", "GATEWAY_MAX_BODY_BYTES"),
            (
                "--gateway-jwt-hs256-secret",
                "short",
                "GATEWAY_JWT_HS256_SECRET",
            ),
            ("--gateway-jwt-issuer", "", "GATEWAY_JWT_ISSUER"),
            ("--gateway-cart-url", "ftp://x", "GATEWAY_CART_URL"),
            ("--gateway-planner-url", "nope", "GATEWAY_PLANNER_URL"),
            (
                "--gateway-applications-url",
                "http://x/?q=1",
                "GATEWAY_APPLICATIONS_URL",
            ),
            ("--gateway-cors-origins", "*", "GATEWAY_CORS_ORIGINS"),
            (
                "--gateway-cors-origins",
                "http://ok.example,https://x.example/path",
                "GATEWAY_CORS_ORIGINS",
            ),
            ("--gateway-redis-url", "http://x", "GATEWAY_REDIS_URL"),
            (
                "--gateway-rate-limit-user-burst",
                "0",
                "GATEWAY_RATE_LIMIT_USER_BURST",
            ),
            (
                "--gateway-rate-limit-ip-per-sec",
                "-3",
                "GATEWAY_RATE_LIMIT_IP_PER_SEC",
            ),
            (
                "--gateway-sse-max-per-user",
                "0",
                "GATEWAY_SSE_MAX_PER_USER",
            ),
            ("--gateway-sse-max-streams", "x", "GATEWAY_SSE_MAX_STREAMS"),
            (
                "--gateway-sse-max-lifetime-secs",
                "0",
                "GATEWAY_SSE_MAX_LIFETIME_SECS",
            ),
            (
                "--gateway-sse-safety-poll-secs",
                "99999",
                "GATEWAY_SSE_SAFETY_POLL_SECS",
            ),
            (
                "--gateway-housekeeping-interval-secs",
                "0",
                "GATEWAY_HOUSEKEEPING_INTERVAL_SECS",
            ),
            ("--gateway-prune-batch", "0", "GATEWAY_PRUNE_BATCH"),
            (
                "--gateway-orphan-progress-retention-secs",
                "5",
                "GATEWAY_ORPHAN_PROGRESS_RETENTION_SECS",
            ),
        ] {
            let arg = format!("{flag}={value}");
            let err = Cli::try_parse_from(["x", arg.as_str()]).expect_err(&arg);
            assert!(err.to_string().contains(key), "{flag}={value}: {err}");
        }
    }

    #[test]
    fn good_values_are_taken() {
        let cli = Cli::try_parse_from([
            "x",
            "--gateway-listen",
            "0.0.0.0:9000",
            "--gateway-idempotency-ttl-secs",
            "60",
            "--gateway-max-body-bytes",
            "2048",
            "--gateway-jwt-hs256-secret",
            "0123456789abcdef0123456789abcdef",
            "--gateway-cors-origins",
            "http://localhost:8080,chrome-extension://abcdefghijklmnop",
            "--gateway-cart-url",
            "http://cart:8083/",
            "--gateway-redis-url",
            "redis://127.0.0.1:6379",
            "--gateway-rate-limit-generations-per-hour",
            "0",
        ])
        .expect("valid");
        assert_eq!(cli.gateway.listen.port(), 9000);
        assert_eq!(cli.gateway.idempotency_ttl(), Duration::from_secs(60));
        assert_eq!(cli.gateway.max_body(), 2048);
        assert_eq!(
            cli.gateway.cors_origins,
            vec![
                "http://localhost:8080",
                "chrome-extension://abcdefghijklmnop"
            ]
        );
        assert_eq!(cli.gateway.cart_url, "http://cart:8083");
        assert_eq!(cli.gateway.rate_limit_generations_per_hour, 0);
        let secret = cli.gateway.jwt_hs256_secret.expect("secret");
        assert_eq!(secret.expose(), "0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn secrets_never_print() {
        let settings = Settings {
            jwt_hs256_secret: Some(Secret::new("super-secret-value-0123456789abcdef")),
            redis_url: Some(Secret::new("redis://:hunter2@127.0.0.1:6379")),
            ..Settings::default()
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
