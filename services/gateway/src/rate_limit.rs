//! Rate limits: token buckets per client address, per user, and per user for
//! `POST /v1/generations` (which spends LLM tokens, so it has its own, much lower
//! limit). A request over a limit gets 429 with `Retry-After` (whole seconds) and
//! the JSON error, before any handler runs, so it never starts a saga.
//!
//! - [`per_ip`] (outside authentication) uses the TCP peer address from
//!   `ConnectInfo` (serve with `into_make_service_with_connect_info`; a request
//!   without it, as in router tests, has no address limit). `X-Forwarded-For` is
//!   not trusted. An IPv6 client is keyed by its /64 ([`client_key`]): one host
//!   usually holds a whole /64, so rotating addresses inside it gains nothing.
//! - [`per_user`] (after authentication) uses the verified tenant and user.
//!
//! A bucket holds up to `burst` tokens and refills at `rate` per second; each
//! request takes one. The buckets live in Redis when `GATEWAY_REDIS_URL` is set
//! (one atomic Lua script per check, Redis's own clock, keys expiring once full
//! again), so every gateway replica shares them; otherwise in this process, at
//! most `GATEWAY_RATE_LIMIT_MAX_KEYS` buckets ([`DEFAULT_MAX_KEYS`]): a new key
//! past that first drops the buckets that are full again (they hold nothing),
//! then the tenth of the buckets idle longest. When
//! Redis fails, requests are let through (and counted in
//! `sagaflow_gateway_rate_limit_errors_total`): an outage of the limiter must not
//! become an outage of the API.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tracing::warn;

use crate::auth::Authentication;
use crate::config::Settings;
use crate::error::ApiError;

/// The route with its own per-user limit.
pub const GENERATIONS_ROUTE: &str = "/v1/generations";

/// Default bound of the buckets kept in process.
pub const DEFAULT_MAX_KEYS: u32 = 100_000;

/// How long a Redis check may take before the request is let through.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// One limit: `burst` tokens, refilled at `per_sec`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub per_sec: f64,
    pub burst: u32,
}

impl Limit {
    /// `per_sec` per second with `burst`; `None` (no limit) when `per_sec` is 0.
    pub fn per_second(per_sec: u32, burst: u32) -> Option<Self> {
        (per_sec > 0).then(|| Self {
            per_sec: f64::from(per_sec),
            burst: burst.max(1),
        })
    }

    /// `per_hour` per hour, also the burst; `None` when 0.
    pub fn per_hour(per_hour: u32) -> Option<Self> {
        (per_hour > 0).then(|| Self {
            per_sec: f64::from(per_hour) / 3600.0,
            burst: per_hour,
        })
    }
}

/// The configured limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub ip: Option<Limit>,
    pub user: Option<Limit>,
    pub generations: Option<Limit>,
}

impl Limits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            ip: Limit::per_second(settings.rate_limit_ip_per_sec, settings.rate_limit_ip_burst),
            user: Limit::per_second(
                settings.rate_limit_user_per_sec,
                settings.rate_limit_user_burst,
            ),
            generations: Limit::per_hour(settings.rate_limit_generations_per_hour),
        }
    }
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Over the limit: the next token is due after this long.
    Deny {
        retry_after: Duration,
    },
}

/// The buckets and where they live. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    limits: Limits,
    store: Store,
}

#[derive(Clone)]
enum Store {
    Local {
        buckets: Arc<Mutex<HashMap<String, Bucket>>>,
        max_keys: usize,
    },
    Redis {
        connection: ConnectionManager,
        script: Arc<redis::Script>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token bucket in Redis. `KEYS[1]` = bucket; ARGV = rate per millisecond,
/// burst. Returns `{allowed (0/1), milliseconds until the next token}`.
const BUCKET_SCRIPT: &str = r#"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate)
  at = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {allowed, wait}
"#;

impl Limiter {
    /// Buckets in this process, at most [`DEFAULT_MAX_KEYS`].
    pub fn local(limits: Limits) -> Self {
        Self::local_bounded(limits, DEFAULT_MAX_KEYS as usize)
    }

    /// Buckets in this process, at most `max_keys` (at least 1).
    pub fn local_bounded(limits: Limits, max_keys: usize) -> Self {
        Self {
            limits,
            store: Store::Local {
                buckets: Arc::default(),
                max_keys: max_keys.max(1),
            },
        }
    }

    /// How many buckets this process holds (`None` with Redis).
    pub fn local_keys(&self) -> Option<usize> {
        match &self.store {
            Store::Local { buckets, .. } => buckets.lock().ok().map(|b| b.len()),
            Store::Redis { .. } => None,
        }
    }

    /// Buckets in the Redis at `url` (connects now, so a wrong URL fails at start).
    pub async fn redis(limits: Limits, url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("GATEWAY_REDIS_URL is not a Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2);
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .context("GATEWAY_REDIS_URL: connecting to Redis timed out")?
        .context("GATEWAY_REDIS_URL: cannot connect to Redis")?;
        Ok(Self {
            limits,
            store: Store::Redis {
                connection,
                script: Arc::new(redis::Script::new(BUCKET_SCRIPT)),
            },
        })
    }

    /// The limiter `settings` ask for: Redis when `GATEWAY_REDIS_URL` is set.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let limits = Limits::from_settings(settings);
        match &settings.redis_url {
            Some(url) => Self::redis(limits, url.expose()).await,
            None => Ok(Self::local_bounded(
                limits,
                usize::try_from(settings.rate_limit_max_keys).unwrap_or(usize::MAX),
            )),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes a token from bucket `key` under `limit`.
    pub async fn check(&self, key: &str, limit: Limit) -> Decision {
        match &self.store {
            Store::Local { buckets, max_keys } => {
                check_local(buckets, *max_keys, key, limit, Instant::now())
            }
            Store::Redis { connection, script } => {
                let mut connection = connection.clone();
                let rate_per_ms = limit.per_sec / 1000.0;
                let mut invocation = script.prepare_invoke();
                invocation
                    .key(format!("sagaflow:gateway:rl:{key}"))
                    .arg(format!("{rate_per_ms:e}"))
                    .arg(limit.burst);
                let call = invocation.invoke_async::<(i64, i64)>(&mut connection);
                match tokio::time::timeout(REDIS_TIMEOUT, call).await {
                    Ok(Ok((1, _))) => Decision::Allow,
                    Ok(Ok((_, wait_ms))) => Decision::Deny {
                        retry_after: Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)),
                    },
                    Ok(Err(err)) => {
                        warn!(error = %err, "rate limit: Redis failed; letting the request through");
                        metrics::counter!("sagaflow_gateway_rate_limit_errors_total").increment(1);
                        Decision::Allow
                    }
                    Err(_) => {
                        warn!("rate limit: Redis timed out; letting the request through");
                        metrics::counter!("sagaflow_gateway_rate_limit_errors_total").increment(1);
                        Decision::Allow
                    }
                }
            }
        }
    }

    /// `Err(429)` when bucket `key` is empty.
    async fn enforce(&self, scope: &'static str, key: &str, limit: Limit) -> Result<(), ApiError> {
        match self.check(key, limit).await {
            Decision::Allow => Ok(()),
            Decision::Deny { retry_after } => {
                metrics::counter!("sagaflow_gateway_rate_limited_total", "scope" => scope)
                    .increment(1);
                // Whole seconds, rounded up, at least 1.
                let secs = retry_after.as_millis().div_ceil(1000).max(1);
                Err(ApiError::RateLimited {
                    scope: match scope {
                        "ip" => "from this address",
                        "generations" => "creating generations",
                        _ => "from this user",
                    },
                    retry_after_secs: u64::try_from(secs).unwrap_or(u64::MAX),
                })
            }
        }
    }
}

fn check_local(
    buckets: &Mutex<HashMap<String, Bucket>>,
    max_keys: usize,
    key: &str,
    limit: Limit,
    now: Instant,
) -> Decision {
    let Ok(mut buckets) = buckets.lock() else {
        // A panic while holding the lock: no limit rather than no service.
        return Decision::Allow;
    };
    let burst = f64::from(limit.burst);
    if buckets.len() >= max_keys && !buckets.contains_key(key) {
        make_room(&mut buckets, max_keys, limit, now);
    }
    let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
        tokens: burst,
        at: now,
    });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * limit.per_sec).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Decision::Allow
    } else {
        Decision::Deny {
            retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / limit.per_sec),
        }
    }
}

/// Brings `buckets` below `max_keys`: drops the buckets that are full again
/// (they hold nothing), then, if that is not enough, the tenth (at least one)
/// idle longest. Evicting in batches keeps a flood of new keys from scanning the
/// map on every request.
fn make_room(buckets: &mut HashMap<String, Bucket>, max_keys: usize, limit: Limit, now: Instant) {
    let burst = f64::from(limit.burst);
    buckets.retain(|_, b| {
        b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * limit.per_sec < burst
    });
    if buckets.len() < max_keys {
        return;
    }
    let evict = (buckets.len() / 10).max(buckets.len() + 1 - max_keys);
    let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
    let (_, cutoff, _) = ages.select_nth_unstable(evict - 1);
    let cutoff = *cutoff;
    let mut left = evict;
    buckets.retain(|_, b| {
        if left > 0 && b.at <= cutoff {
            left -= 1;
            false
        } else {
            true
        }
    });
    metrics::counter!("sagaflow_gateway_rate_limit_evictions_total")
        .increment(u64::try_from(evict - left).unwrap_or(0));
}

/// The per-address bucket key of `ip`: the address for IPv4 (also IPv4-mapped
/// IPv6), the /64 network for IPv6.
pub fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Middleware: the per-address limit.
pub async fn per_ip(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    if let (Some(limit), Some(ConnectInfo(peer))) = (
        limiter.limits.ip,
        request.extensions().get::<ConnectInfo<SocketAddr>>(),
    ) {
        let key = client_key(peer.ip());
        if let Err(err) = limiter.enforce("ip", &key, limit).await {
            return err.into_response();
        }
    }
    next.run(request).await
}

/// Middleware: the per-user limits (after [`crate::auth::authenticate`]).
pub async fn per_user(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    if let Some(Authentication(Ok(caller))) = request.extensions().get::<Authentication>() {
        // Tenant and user never contain '\n' (visible ASCII only).
        let who = format!("{}\n{}", caller.tenant_id, caller.user_id);
        if let Some(limit) = limiter.limits.user
            && let Err(err) = limiter.enforce("user", &format!("user:{who}"), limit).await
        {
            return err.into_response();
        }
        let is_generation = request.method() == Method::POST
            && request
                .extensions()
                .get::<MatchedPath>()
                .is_some_and(|path| path.as_str() == GENERATIONS_ROUTE);
        if is_generation
            && let Some(limit) = limiter.limits.generations
            && let Err(err) = limiter
                .enforce("generations", &format!("gen:{who}"), limit)
                .await
        {
            return err.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let buckets = Mutex::new(HashMap::new());
        let check_local = |b: &Mutex<HashMap<String, Bucket>>, k: &str, l: Limit, t: Instant| {
            check_local(b, usize::MAX, k, l, t)
        };
        let limit = Limit {
            per_sec: 2.0,
            burst: 3,
        };
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(check_local(&buckets, "k", limit, start), Decision::Allow);
        }
        let Decision::Deny { retry_after } = check_local(&buckets, "k", limit, start) else {
            panic!("the fourth request is over the burst");
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Another key has its own bucket.
        assert_eq!(
            check_local(&buckets, "other", limit, start),
            Decision::Allow
        );
        // Half a second later one token is back, not two.
        let later = start + Duration::from_millis(500);
        assert_eq!(check_local(&buckets, "k", limit, later), Decision::Allow);
        assert!(matches!(
            check_local(&buckets, "k", limit, later),
            Decision::Deny { .. }
        ));
        // Long after, the bucket is full again but never above its burst.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(
                check_local(&buckets, "k", limit, much_later),
                Decision::Allow
            );
        }
        assert!(matches!(
            check_local(&buckets, "k", limit, much_later),
            Decision::Deny { .. }
        ));
    }

    #[test]
    fn the_map_never_exceeds_its_bound_and_evicts_the_idle_first() {
        let buckets = Mutex::new(HashMap::new());
        let hourly = Limit::per_hour(10).expect("on");
        let start = Instant::now();
        // The first key, then 99 more, each touched once: none is full again for hours.
        for i in 0..100 {
            let at = start + Duration::from_millis(i);
            check_local(&buckets, 10, &format!("k{i}"), hourly, at);
            assert!(buckets.lock().expect("lock").len() <= 10);
        }
        let map = buckets.lock().expect("lock");
        assert!(map.contains_key("k99"), "the newest is kept");
        assert!(!map.contains_key("k0"), "the idle longest went first");
    }

    #[test]
    fn zero_means_off() {
        assert_eq!(Limit::per_second(0, 10), None);
        assert_eq!(Limit::per_hour(0), None);
        let hourly = Limit::per_hour(10).expect("on");
        assert_eq!(hourly.burst, 10);
        assert!((hourly.per_sec - 10.0 / 3600.0).abs() < 1e-12);
    }
}
