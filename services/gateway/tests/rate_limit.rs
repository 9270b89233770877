//! Rate limits through the router: per user, per client address (many users from
//! one address), the lower limit of `POST /v1/generations`, 0 = off, and the
//! buckets shared through a real Redis (127.0.0.1:6379) by two gateways. A
//! refused request answers 429 with `Retry-After` and the JSON error, and starts
//! no saga (no row, no outbox message). IPv6 clients are limited per /64; the
//! in-process buckets are bounded (`GATEWAY_RATE_LIMIT_MAX_KEYS`).

use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use sagaflow_gateway::Settings;
use sagaflow_gateway::config::Secret;
use sagaflow_gateway::rate_limit::{Decision, Limit, Limiter, Limits, client_key};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

use common::{Gateway, TENANT, USER, count, generation_body, get_request, outbox};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn limited(user_per_sec: u32, user_burst: u32, ip_per_sec: u32, ip_burst: u32) -> Settings {
    Settings {
        rate_limit_user_per_sec: user_per_sec,
        rate_limit_user_burst: user_burst,
        rate_limit_ip_per_sec: ip_per_sec,
        rate_limit_ip_burst: ip_burst,
        rate_limit_generations_per_hour: 0,
        ..common::settings()
    }
}

/// Sends `request` (from `peer`, if given): status, Retry-After, body.
async fn send_from(
    gw: &Gateway,
    mut request: Request<Body>,
    peer: Option<SocketAddr>,
) -> anyhow::Result<(StatusCode, Option<u64>, Value)> {
    if let Some(peer) = peer {
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    let response = gw.app.clone().oneshot(request).await?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, retry_after, body))
}

fn assert_429(status: StatusCode, retry_after: Option<u64>, body: &Value) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    assert!(body["detail"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn a_user_over_the_limit_gets_429_and_starts_nothing() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(limited(1, 2, 0, 1)).await?;
    for _ in 0..2 {
        gw.checkout(TENANT, USER).await?;
    }
    let (status, retry_after, body) = send_from(
        &gw,
        common::post_request(
            Some(TENANT),
            Some(USER),
            Some("over"),
            common::checkout_body().to_string(),
        ),
        None,
    )
    .await?;
    assert_429(status, retry_after, &body);
    assert_eq!(retry_after, Some(1), "one token per second");
    // Nothing of the refused request was written.
    assert_eq!(count(gw.pool(), "checkouts").await?, 2);
    assert_eq!(outbox(gw.pool()).await?.len(), 2);
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE idempotency_key = 'over'")
            .fetch_one(gw.pool())
            .await?;
    assert_eq!(keys, 0);
    // Other users have their own buckets; so does the same user id in another tenant.
    assert_eq!(
        gw.get(TENANT, "user-2", "/v1/history").await?.0,
        StatusCode::OK
    );
    assert_eq!(
        gw.get("tenant-b", USER, "/v1/history").await?.0,
        StatusCode::OK
    );
    // The bucket refills: within a few seconds the user gets through again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _) = gw.get(TENANT, USER, "/v1/history").await?;
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never refilled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn many_users_from_one_address_share_its_limit() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(limited(0, 1, 1, 5)).await?;
    let office: SocketAddr = "10.0.0.7:40000".parse()?;
    let home: SocketAddr = "192.0.2.1:5000".parse()?;
    for i in 0..5 {
        let (status, _, body) = send_from(
            &gw,
            get_request(TENANT, &format!("user-{i}"), "/v1/history"),
            Some(office),
        )
        .await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, retry_after, body) = send_from(
        &gw,
        get_request(TENANT, "user-99", "/v1/history"),
        Some(office),
    )
    .await?;
    assert_429(status, retry_after, &body);
    // Even without a token: the address limit comes before authentication.
    let anonymous = Request::builder().uri("/v1/history").body(Body::empty())?;
    assert_eq!(
        send_from(&gw, anonymous, Some(office)).await?.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another address is not affected.
    assert_eq!(
        send_from(&gw, get_request(TENANT, USER, "/v1/history"), Some(home))
            .await?
            .0,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn generations_have_their_own_lower_limit() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        rate_limit_generations_per_hour: 3,
        ..common::settings()
    })
    .await?;
    for _ in 0..3 {
        gw.generation(TENANT, USER).await?;
    }
    let (status, retry_after, body) = send_from(
        &gw,
        common::post_request_to(
            "/v1/generations",
            Some(TENANT),
            Some(USER),
            Some("fourth"),
            generation_body().to_string(),
        ),
        None,
    )
    .await?;
    assert_429(status, retry_after, &body);
    // 3 per hour: the next one is 20 minutes away.
    let secs = retry_after.unwrap_or_default();
    assert!((1100..=1200).contains(&secs), "Retry-After {secs}");
    assert_eq!(count(gw.pool(), "generations").await?, 3);
    assert_eq!(outbox(gw.pool()).await?.len(), 3);
    // Other routes of the same user, and other users, are not limited by it.
    gw.checkout(TENANT, USER).await?;
    assert_eq!(gw.get(TENANT, USER, "/v1/history").await?.0, StatusCode::OK);
    gw.generation(TENANT, "user-2").await?;
    Ok(())
}

#[tokio::test]
async fn zero_turns_a_limit_off() -> anyhow::Result<()> {
    let gw = Gateway::start().await?; // every limit 0
    let peer: SocketAddr = "10.0.0.1:1".parse()?;
    for _ in 0..300 {
        let (status, _, body) =
            send_from(&gw, get_request(TENANT, USER, "/v1/history"), Some(peer)).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for _ in 0..12 {
        gw.generation(TENANT, USER).await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_address_limit_sees_real_peers_through_serve() -> anyhow::Result<()> {
    let db = sagaflow_test_support::TestDb::create("gw").await?;
    sagaflow_gateway::migrate(&db.pool).await?;
    let state = sagaflow_gateway::AppState::new(db.pool.clone(), limited(0, 1, 1, 3)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(sagaflow_gateway::serve(listener, state, shutdown.clone()));
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = http.get(format!("http://{addr}/healthz")).send().await?;
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 429]);
    shutdown.cancel();
    server.await??;
    Ok(())
}

/// A fresh key prefix so runs and tests never share buckets.
fn unique(name: &str) -> String {
    format!("{name}-{}", Uuid::new_v4().simple())
}

#[tokio::test]
async fn redis_buckets_are_shared_by_every_gateway() -> anyhow::Result<()> {
    let settings = Settings {
        redis_url: Some(Secret::new(REDIS_URL)),
        ..limited(1, 3, 0, 1)
    };
    let a = Gateway::with_settings(settings.clone()).await?;
    let b = Gateway::with_settings(settings).await?;
    let tenant = unique("tenant");
    // Three tokens in all, spent across both gateways.
    assert_eq!(a.get(&tenant, USER, "/v1/history").await?.0, StatusCode::OK);
    assert_eq!(b.get(&tenant, USER, "/v1/history").await?.0, StatusCode::OK);
    assert_eq!(a.get(&tenant, USER, "/v1/history").await?.0, StatusCode::OK);
    let (status, retry_after, body) =
        send_from(&b, get_request(&tenant, USER, "/v1/history"), None).await?;
    assert_429(status, retry_after, &body);
    assert_eq!(
        a.get(&tenant, USER, "/v1/history").await?.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another user's bucket is separate; and it refills at one per second.
    assert_eq!(
        b.get(&tenant, "someone-else", "/v1/history").await?.0,
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.get(&tenant, USER, "/v1/history").await?.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the Redis bucket never refilled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn redis_generation_limit_refuses_without_writing() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        redis_url: Some(Secret::new(REDIS_URL)),
        rate_limit_generations_per_hour: 2,
        ..common::settings()
    })
    .await?;
    let tenant = unique("tenant");
    gw.generation(&tenant, USER).await?;
    gw.generation(&tenant, USER).await?;
    let (status, retry_after, body) = send_from(
        &gw,
        common::post_request_to(
            "/v1/generations",
            Some(&tenant),
            Some(USER),
            Some("third"),
            generation_body().to_string(),
        ),
        None,
    )
    .await?;
    assert_429(status, retry_after, &body);
    assert!(
        retry_after.is_some_and(|s| (1700..=1800).contains(&s)),
        "{retry_after:?}"
    );
    assert_eq!(count(gw.pool(), "generations").await?, 2);
    assert_eq!(outbox(gw.pool()).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn the_redis_script_is_a_token_bucket() -> anyhow::Result<()> {
    let limits = Limits {
        ip: None,
        user: None,
        generations: None,
    };
    let limiter = Limiter::redis(limits, REDIS_URL).await?;
    let key = unique("bucket");
    let limit = Limit {
        per_sec: 10.0,
        burst: 5,
    };
    for _ in 0..5 {
        assert_eq!(limiter.check(&key, limit).await, Decision::Allow);
    }
    match limiter.check(&key, limit).await {
        Decision::Deny { retry_after } => assert!(
            retry_after <= Duration::from_millis(100) && retry_after > Duration::ZERO,
            "{retry_after:?}"
        ),
        Decision::Allow => panic!("the sixth request is over the burst"),
    }
    // The key expires once the bucket would be full again: no unbounded growth.
    let mut redis = redis::Client::open(REDIS_URL)?
        .get_multiplexed_async_connection()
        .await?;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("sagaflow:gateway:rl:{key}"))
        .query_async(&mut redis)
        .await?;
    assert!((1..=2000).contains(&ttl), "PTTL {ttl}");
    Ok(())
}

#[tokio::test]
async fn an_unreachable_redis_is_refused_at_start_naming_its_key() -> anyhow::Result<()> {
    let port = sagaflow_test_support::free_port()?;
    let limits = Limits {
        ip: None,
        user: None,
        generations: None,
    };
    let err = Limiter::redis(limits, &format!("redis://127.0.0.1:{port}"))
        .await
        .err()
        .expect("nothing listens there");
    assert!(format!("{err:#}").contains("GATEWAY_REDIS_URL"), "{err:#}");
    Ok(())
}

#[tokio::test]
async fn ipv6_clients_share_the_limit_of_their_64() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(limited(0, 1, 1, 3)).await?;
    // Three requests from three addresses of one /64 use up its burst...
    for host in ["0:0:0:1", "0:0:0:2", "dead:beef:1:2"] {
        let peer: SocketAddr = format!("[2001:db8:aa:bb:{host}]:4000").parse()?;
        let (status, _, body) =
            send_from(&gw, get_request(TENANT, USER, "/v1/history"), Some(peer)).await?;
        assert_eq!(status, StatusCode::OK, "{peer}: {body}");
    }
    // ...so a fourth, fresh address of the same /64 is refused,
    let rotated: SocketAddr = "[2001:db8:aa:bb:ffff:ffff:ffff:fffe]:4000".parse()?;
    let (status, retry_after, body) =
        send_from(&gw, get_request(TENANT, USER, "/v1/history"), Some(rotated)).await?;
    assert_429(status, retry_after, &body);
    // while the neighbouring /64 has its own bucket.
    let neighbour: SocketAddr = "[2001:db8:aa:bc::1]:4000".parse()?;
    assert_eq!(
        send_from(
            &gw,
            get_request(TENANT, USER, "/v1/history"),
            Some(neighbour)
        )
        .await?
        .0,
        StatusCode::OK
    );
    assert_eq!(
        client_key("2001:db8:aa:bb:1:2:3:4".parse()?),
        client_key("2001:db8:aa:bb::9".parse()?)
    );
    // IPv4 keeps one bucket per address, also when it arrives IPv4-mapped.
    assert_eq!(client_key("10.0.0.7".parse()?), "ip:10.0.0.7");
    assert_eq!(client_key("::ffff:10.0.0.7".parse()?), "ip:10.0.0.7");
    assert_ne!(
        client_key("10.0.0.7".parse()?),
        client_key("10.0.0.8".parse()?)
    );
    Ok(())
}

#[tokio::test]
async fn the_in_process_buckets_are_bounded() -> anyhow::Result<()> {
    // Hourly buckets stay partly used for an hour: only eviction can free them.
    let limits = Limits {
        ip: Limit::per_hour(100),
        user: None,
        generations: None,
    };
    let limit = limits.ip.expect("on");
    let limiter = Limiter::local_bounded(limits, 50);
    for i in 0..10_000u32 {
        let address = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i) << 64);
        let key = client_key(address.into());
        assert_eq!(limiter.check(&key, limit).await, Decision::Allow);
        assert!(limiter.local_keys().expect("local") <= 50);
    }
    // The latest client still has its (used) bucket: nothing was reset for it.
    let latest =
        client_key(std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | 9_999_u128 << 64).into());
    for _ in 0..99 {
        assert_eq!(limiter.check(&latest, limit).await, Decision::Allow);
    }
    assert!(matches!(
        limiter.check(&latest, limit).await,
        Decision::Deny { .. }
    ));

    // The gateway takes the bound from its settings.
    let db = sagaflow_test_support::TestDb::create("gw_rl_bound").await?;
    let state = sagaflow_gateway::AppState::new(
        db.pool.clone(),
        Settings {
            rate_limit_max_keys: 7,
            ..limited(0, 1, 1, 3)
        },
    )
    .await?;
    for i in 0..100u32 {
        let key = format!("ip:10.0.{}.{}", i / 256, i % 256);
        state
            .limiter
            .check(&key, Limit::per_hour(5).expect("on"))
            .await;
    }
    assert!(state.limiter.local_keys().expect("local") <= 7);
    Ok(())
}
