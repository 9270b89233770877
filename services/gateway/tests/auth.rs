//! Bearer-token authentication through the router, attack by attack: `alg:
//! none`, algorithm confusion (HS256 signed with the RS256 public key; RS256 when
//! only HS256 is configured), forged signatures, expired and not-yet-valid tokens,
//! wrong issuer or audience, missing or mistyped claims, garbage. Every refusal is
//! a 401 JSON error with `WWW-Authenticate: Bearer`, and nothing is written.

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sagaflow_gateway::Settings;
use sagaflow_gateway::config::Secret;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{Gateway, SECRET, TENANT, USER, checkout_body, count, outbox};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Claims that the test gateway accepts.
fn claims() -> Value {
    json!({
        "sub": USER,
        "tenant_id": TENANT,
        "exp": now() + 600,
        "iss": "sagaflow",
        "aud": "sagaflow-api",
    })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).expect("a secret"),
    )
    .expect("signs")
}

fn rs256(claims: &Value, private_pem: &str) -> String {
    let pem = std::fs::read(fixture(private_pem)).expect("fixture");
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(&pem).expect("private key"),
    )
    .expect("signs")
}

/// A token with any header and payload and the given signature bytes.
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// GET /v1/history with `authorization` (if any): status, WWW-Authenticate, body.
async fn call(
    gw: &Gateway,
    authorization: Option<&str>,
) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
    let mut builder = Request::builder().uri("/v1/history");
    if let Some(value) = authorization {
        builder = builder.header("Authorization", value);
    }
    let response = gw.app.clone().oneshot(builder.body(Body::empty())?).await?;
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, challenge, serde_json::from_slice(&bytes)?))
}

async fn assert_refused(gw: &Gateway, token: &str, why: &str) -> anyhow::Result<()> {
    let (status, challenge, body) = call(gw, Some(&format!("Bearer {token}"))).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "{why}: {challenge:?}"
    );
    assert_eq!(body["code"], "unauthenticated", "{why}: {body}");
    assert_eq!(body["field"], "Authorization", "{why}: {body}");
    let message = body["detail"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{why}");
    assert!(
        !message.contains(token),
        "{why}: the token is echoed: {message}"
    );
    Ok(())
}

async fn hs_gateway() -> anyhow::Result<Gateway> {
    Gateway::start().await
}

async fn rs_gateway() -> anyhow::Result<Gateway> {
    Gateway::with_settings(Settings {
        jwt_hs256_secret: None,
        jwt_rs256_public_key_file: Some(fixture("rs256-public.pem")),
        ..common::settings()
    })
    .await
}

#[tokio::test]
async fn valid_tokens_of_either_algorithm_are_accepted() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let (status, _, body) = call(&gw, Some(&common::bearer(TENANT, USER))).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The scheme is case-insensitive; `aud` may be a list holding ours.
    let mut listed = claims();
    listed["aud"] = json!(["other-api", "sagaflow-api"]);
    let token = hs256(&listed, SECRET.as_bytes());
    assert_eq!(
        call(&gw, Some(&format!("bearer {token}"))).await?.0,
        StatusCode::OK
    );

    let gw = rs_gateway().await?;
    let token = rs256(&claims(), "rs256-private.pem");
    let (status, _, body) = call(&gw, Some(&format!("Bearer {token}"))).await?;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Both keys at once: each algorithm against its own key.
    let both = Gateway::with_settings(Settings {
        jwt_rs256_public_key_file: Some(fixture("rs256-public.pem")),
        ..common::settings()
    })
    .await?;
    assert_eq!(
        call(&both, Some(&format!("Bearer {token}"))).await?.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&both, Some(&common::bearer(TENANT, USER))).await?.0,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_token_is_401_with_a_bearer_challenge() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let (status, challenge, body) = call(&gw, None).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(challenge.as_deref(), Some("Bearer"));
    assert_eq!(body["code"], "unauthenticated");
    // The old trusted headers no longer identify anyone.
    let response = gw
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/v1/history")
                .header("X-Tenant-Id", TENANT)
                .header("X-User-Id", USER)
                .body(Body::empty())?,
        )
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

/// Every gateway error is an RFC 9457 problem: `application/problem+json`, the
/// type, title, status, detail, code, field and the request id to quote.
#[tokio::test]
async fn errors_are_problem_json_with_the_request_id() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let response = gw
        .app
        .clone()
        .oneshot(Request::builder().uri("/v1/history").body(Body::empty())?)
        .await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["www-authenticate"], "Bearer");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body: Value = serde_json::from_slice(&bytes)?;
    let problem: sagaflow_problem::Problem = serde_json::from_value(body.clone())?;
    assert_eq!(problem.type_uri, "urn:sagaflow:problem:unauthenticated");
    assert_eq!(problem.title, "Unauthorized");
    assert_eq!(problem.status, 401);
    assert_eq!(problem.code, "unauthenticated");
    assert_eq!(problem.field.as_deref(), Some("Authorization"));
    assert!(!problem.detail.is_empty(), "{body}");
    let request_id = problem.request_id.expect("a request_id");
    if let Some(header) = headers.get("x-request-id") {
        assert_eq!(header.to_str()?, request_id, "{body}");
    }
    assert!(body.get("error").is_none(), "{body}");
    Ok(())
}

#[tokio::test]
async fn alg_none_is_refused() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = raw_token(&json!({"alg": alg, "typ": "JWT"}), &claims(), b"");
        assert_refused(&gw, &unsigned, &format!("alg {alg}, no signature")).await?;
        // Also with the trailing dot omitted, and with a stolen HS256 signature.
        let two_parts = unsigned.trim_end_matches('.').to_owned();
        assert_refused(&gw, &two_parts, "alg none, two parts").await?;
        let valid = common::token(TENANT, USER);
        let signature = valid.rsplit('.').next().unwrap_or_default();
        let stolen = format!("{two_parts}.{signature}");
        assert_refused(&gw, &stolen, "alg none, copied signature").await?;
    }
    Ok(())
}

#[tokio::test]
async fn algorithm_confusion_is_refused() -> anyhow::Result<()> {
    let public_pem = std::fs::read(fixture("rs256-public.pem"))?;
    // HS256 "signed" with the RS256 public key's bytes: the classic confusion.
    let forged = hs256(&claims(), &public_pem);
    let rs_only = rs_gateway().await?;
    assert_refused(&rs_only, &forged, "HS256 with the public key, RS256 only").await?;
    // Even when HS256 is configured too, HS256 is checked only against its secret.
    let both = Gateway::with_settings(Settings {
        jwt_rs256_public_key_file: Some(fixture("rs256-public.pem")),
        ..common::settings()
    })
    .await?;
    assert_refused(&both, &forged, "HS256 with the public key, both keys").await?;
    // Trimmed PEM / DER-ish variants of the public key as HMAC key.
    let text = String::from_utf8(public_pem.clone())?;
    let trimmed = hs256(&claims(), text.trim().as_bytes());
    assert_refused(&rs_only, &trimmed, "HS256 with the trimmed public key").await?;

    // An RS256 token (validly signed) when only HS256 is configured.
    let hs_only = hs_gateway().await?;
    let rs_token = rs256(&claims(), "rs256-private.pem");
    assert_refused(&hs_only, &rs_token, "RS256 with HS256 only").await?;
    // RS256 signed by someone else's key.
    let foreign = rs256(&claims(), "other-rs256-private.pem");
    assert_refused(&rs_only, &foreign, "RS256 from another key").await?;
    // Algorithms that are never accepted.
    for alg in ["HS384", "HS512", "RS512", "ES256", "PS256", "EdDSA"] {
        let token = raw_token(&json!({"alg": alg, "typ": "JWT"}), &claims(), b"sig");
        assert_refused(&both, &token, alg).await?;
    }
    Ok(())
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    assert_refused(
        &gw,
        &hs256(&claims(), b"another-secret-0123456789abcdef0123456"),
        "wrong secret",
    )
    .await?;
    // Swap the payload of a valid token for another tenant's.
    let valid = common::token(TENANT, USER);
    let parts: Vec<&str> = valid.split('.').collect();
    let mut other = claims();
    other["tenant_id"] = json!("tenant-b");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(other.to_string()),
        parts[2]
    );
    assert_refused(&gw, &tampered, "tampered payload").await?;
    // A flipped signature byte.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2])?;
    signature[0] ^= 1;
    let flipped = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&signature)
    );
    assert_refused(&gw, &flipped, "flipped signature").await?;
    Ok(())
}

#[tokio::test]
async fn expired_and_immature_tokens_are_refused() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let mut expired = claims();
    expired["exp"] = json!(now() - 3600);
    assert_refused(&gw, &hs256(&expired, SECRET.as_bytes()), "expired").await?;
    let mut not_yet = claims();
    not_yet["nbf"] = json!(now() + 3600);
    assert_refused(
        &gw,
        &hs256(&not_yet, SECRET.as_bytes()),
        "nbf in the future",
    )
    .await?;
    // A token minted with a zero TTL is expired once the leeway passes; one that
    // expires in a minute still works.
    let minute = sagaflow_gateway::mint_hs256(
        SECRET,
        "sagaflow",
        "sagaflow-api",
        TENANT,
        USER,
        Duration::from_secs(60),
    );
    assert_eq!(
        call(&gw, Some(&format!("Bearer {minute}"))).await?.0,
        StatusCode::OK
    );
    Ok(())
}

#[tokio::test]
async fn wrong_issuer_audience_and_missing_claims_are_refused() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    for (field, value) in [
        ("iss", json!("someone-else")),
        ("aud", json!("another-api")),
        ("aud", json!(["another-api"])),
        ("exp", json!("tomorrow")),
        ("exp", json!(format!("{}", now() + 600))),
        ("nbf", json!(format!("{}", now() + 3600))),
        ("nbf", json!(true)),
        ("exp", json!(null)),
        ("sub", json!(42)),
        ("tenant_id", json!(["a"])),
        ("tenant_id", json!("")),
        ("sub", json!("two words")),
        ("sub", json!("x".repeat(129))),
        ("tenant_id", json!("tab\there")),
    ] {
        let mut bad = claims();
        bad[field] = value.clone();
        assert_refused(
            &gw,
            &hs256(&bad, SECRET.as_bytes()),
            &format!("{field}={value}"),
        )
        .await?;
    }
    for missing in ["sub", "tenant_id", "exp", "iss", "aud"] {
        let mut bad = claims();
        bad.as_object_mut().map(|o| o.remove(missing));
        assert_refused(
            &gw,
            &hs256(&bad, SECRET.as_bytes()),
            &format!("without {missing}"),
        )
        .await?;
    }
    // A gateway configured for another issuer/audience refuses ours.
    let strict = Gateway::with_settings(Settings {
        jwt_issuer: "https://login.example".into(),
        jwt_audience: "other".into(),
        ..common::settings()
    })
    .await?;
    assert_refused(&strict, &common::token(TENANT, USER), "issuer/audience").await?;
    Ok(())
}

#[tokio::test]
async fn garbage_is_refused() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let long = "a".repeat(5000);
    for value in [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer a.b.c",
        "Bearer ...",
        "Bearer e30.e30.",
        "Bearer !!!.???.***",
        "Bearer eyJhbGciOiJIUzI1NiJ9",
        long.as_str(),
    ] {
        let (status, challenge, body) = call(&gw, Some(value)).await?;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value:.40}: {body}");
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")));
        assert_eq!(body["code"], "unauthenticated");
    }
    let huge = format!("Bearer {}", "x".repeat(5000));
    assert_eq!(call(&gw, Some(&huge)).await?.0, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn a_refused_token_writes_nothing() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    let mut expired = claims();
    expired["exp"] = json!(now() - 3600);
    let request = Request::builder()
        .method("POST")
        .uri("/v1/checkouts")
        .header("content-type", "application/json")
        .header("Idempotency-Key", "k")
        .header(
            "Authorization",
            format!("Bearer {}", hs256(&expired, SECRET.as_bytes())),
        )
        .body(Body::from(checkout_body().to_string()))?;
    let (status, body) = gw.send(request).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "checkouts").await?, 0);
    assert_eq!(count(gw.pool(), "idempotency_keys").await?, 0);
    Ok(())
}

#[tokio::test]
async fn public_routes_need_no_token() -> anyhow::Result<()> {
    let gw = hs_gateway().await?;
    for uri in ["/healthz", "/openapi.json", "/", "/app/app.js"] {
        let response = gw
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .uri(uri)
                    .header("Authorization", "Bearer garbage")
                    .body(Body::empty())?,
            )
            .await?;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
    Ok(())
}

#[tokio::test]
async fn run_refuses_to_start_without_a_key() -> anyhow::Result<()> {
    let db = sagaflow_test_support::TestDb::create("gw").await?;
    let settings = Settings {
        listen: "127.0.0.1:0".parse()?,
        ..Settings::default()
    };
    let err = sagaflow_gateway::run(
        db.pool.clone(),
        sagaflow_bus::KafkaConfig::new("127.0.0.1:1"),
        settings,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("no key configured");
    let text = format!("{err:#}");
    assert!(text.contains("GATEWAY_JWT_HS256_SECRET"), "{text}");
    assert!(text.contains("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE"), "{text}");

    // A key file that is not a PEM public key names its setting.
    let err = sagaflow_gateway::AppState::new(
        db.pool.clone(),
        Settings {
            jwt_hs256_secret: Some(Secret::new(SECRET)),
            jwt_rs256_public_key_file: Some(fixture("README.md")),
            ..Settings::default()
        },
    )
    .await
    .err()
    .expect("not a key");
    assert!(
        format!("{err:#}").contains("GATEWAY_JWT_RS256_PUBLIC_KEY_FILE"),
        "{err:#}"
    );
    Ok(())
}

/// A local JWKS endpoint serving whatever `keys` holds; counts its fetches.
struct JwksServer {
    url: String,
    keys: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    async fn start(kids: &[&str]) -> anyhow::Result<Self> {
        let keys = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let server = Self {
            url: String::new(),
            keys: keys.clone(),
            fetches: fetches.clone(),
        };
        server.serve(kids);
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let (keys, fetches) = (keys.clone(), fetches.clone());
                async move {
                    fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let keys = keys.lock().map(|k| k.clone()).unwrap_or_default();
                    axum::Json(serde_json::json!({ "keys": keys }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/jwks.json", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, ..server })
    }

    /// Serves the JWKs of `kids` from `fixtures/jwks-keys.json`.
    fn serve(&self, kids: &[&str]) {
        let all: Value =
            serde_json::from_slice(&std::fs::read(fixture("jwks-keys.json")).expect("fixture"))
                .expect("JSON");
        let keys = kids.iter().map(|kid| all[*kid].clone()).collect();
        if let Ok(mut served) = self.keys.lock() {
            *served = keys;
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A token signed with the private key in `pem` by `alg`, naming `kid`.
fn with_kid(alg: Algorithm, kid: &str, pem: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(pem)).expect("fixture");
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem),
        _ => panic!("no fixture for {alg:?}"),
    }
    .expect("private key");
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

async fn jwks_gateway(jwks: &JwksServer) -> anyhow::Result<Gateway> {
    Gateway::with_settings(Settings {
        jwt_jwks_url: Some(jwks.url.clone()),
        ..common::settings()
    })
    .await
}

#[tokio::test]
async fn an_external_issuers_tokens_verify_with_its_jwks_and_rotation_needs_no_restart()
-> anyhow::Result<()> {
    let jwks = JwksServer::start(&["rsa-1", "ed-1", "ec-1"]).await?;
    let gw = jwks_gateway(&jwks).await?;
    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-1", "rs256-private.pem"),
        (Algorithm::EdDSA, "ed-1", "ed25519-private.pem"),
        (Algorithm::ES256, "ec-1", "es256-private.pem"),
    ] {
        let token = with_kid(alg, kid, pem, &claims());
        let (status, _, body) = call(&gw, Some(&format!("Bearer {token}"))).await?;
        assert_eq!(status, StatusCode::OK, "{alg:?} {kid}: {body}");
    }
    assert_eq!(jwks.fetches(), 1, "fetched once, then cached");

    // A key the issuer does not publish: refused, after one look at the JWKS.
    let rotated = with_kid(
        Algorithm::RS256,
        "rsa-2",
        "other-rs256-private.pem",
        &claims(),
    );
    tokio::time::sleep(sagaflow_gateway::jwks::MIN_REFRESH).await;
    assert_refused(&gw, &rotated, "unknown kid").await?;
    assert_eq!(jwks.fetches(), 2);
    // Made-up key ids do not make the gateway fetch on every request.
    for n in 0..5 {
        let token = with_kid(
            Algorithm::RS256,
            &format!("nope-{n}"),
            "rs256-private.pem",
            &claims(),
        );
        assert_refused(&gw, &token, "made-up kid").await?;
    }
    assert_eq!(jwks.fetches(), 2, "at most one fetch per MIN_REFRESH");
    // The key is known under another kid: a signature that does not match it.
    let wrong = with_kid(
        Algorithm::RS256,
        "rsa-1",
        "other-rs256-private.pem",
        &claims(),
    );
    assert_refused(&gw, &wrong, "signed by a key the kid does not name").await?;

    // The issuer rotates rsa-2 in: the same token now passes, no restart.
    jwks.serve(&["rsa-2", "ed-1"]);
    tokio::time::sleep(sagaflow_gateway::jwks::MIN_REFRESH).await;
    let (status, _, body) = call(&gw, Some(&format!("Bearer {rotated}"))).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An RSA key id with an EdDSA token: the key's algorithm decides.
    let confused = with_kid(Algorithm::EdDSA, "rsa-2", "ed25519-private.pem", &claims());
    assert_refused(&gw, &confused, "EdDSA token naming an RSA key").await?;
    // HS256 never goes to the JWKS, whatever kid it names.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa-2".into());
    let hs = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(b"not the gateway's secret, 32 bytes!").expect("a secret"),
    )?;
    assert_refused(&gw, &hs, "HS256 with a JWKS kid").await?;
    Ok(())
}

#[tokio::test]
async fn a_jwks_url_that_is_not_a_url_stops_start_up_by_name() -> anyhow::Result<()> {
    let settings = Settings {
        jwt_jwks_url: Some("ftp://example".into()),
        ..common::settings()
    };
    let err = sagaflow_gateway::auth::Verifier::from_settings(&settings).expect_err("refused");
    assert!(err.to_string().contains("GATEWAY_JWT_JWKS_URL"), "{err}");
    Ok(())
}
