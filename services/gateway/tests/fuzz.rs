//! Property tests: thousands of malformed, oversized and hostile requests (random
//! methods, paths and path parameters, queries, headers, tokens and bodies, on
//! every route and on none) go through the router with `oneshot`. The gateway
//! must answer every one with a status below 500 and a JSON error for every
//! error status, never panic and never hang. The forwarded routes' backends are
//! a stub that answers 200, so only the gateway itself is under test.
//!
//! Bounded: [`CASES`] cases per property, a few seconds each in debug builds.

// Prints what it measures, for `--nocapture`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::common;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sagaflow_gateway::Settings;
use sagaflow_gateway::auth::Verifier;
use sagaflow_gateway::routes::table;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{Gateway, SECRET, TENANT, USER};

/// Cases per property.
const CASES: u32 = 1500;

/// One generated request.
#[derive(Debug, Clone)]
struct Spec {
    method: Method,
    path: String,
    query: Option<String>,
    authorization: Option<Vec<u8>>,
    content_type: Option<&'static str>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(b) {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A path parameter: valid UUIDs, near-UUIDs, traversal, huge, unicode, empty.
fn param() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(uuid::Uuid::now_v7().to_string()),
        Just(uuid::Uuid::nil().to_string()),
        Just("00000000-0000-0000-0000-00000000000g".to_owned()),
        Just("..".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("%2F..%2F..%2Fetc%2Fpasswd".to_owned()),
        Just("%FF%FE".to_owned()),
        Just("pdf".to_owned()),
        Just("app.js".to_owned()),
        "[a-zA-Z0-9_.-]{1,40}",
        (1usize..3000).prop_map(|n| "x".repeat(n)),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| percent_encode(&b)),
        "\\PC{1,20}".prop_map(|s| percent_encode(s.as_bytes())),
    ]
}

/// A path: a route template of the router with random parameters, or random
/// segments.
fn path() -> impl Strategy<Value = String> {
    let templates: Vec<&'static str> = table().iter().map(|r| r.path).collect();
    let templated = (
        proptest::sample::select(templates),
        proptest::collection::vec(param(), 3),
    )
        .prop_map(|(template, params)| {
            let mut params = params.into_iter();
            template
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        params.next().unwrap_or_default()
                    } else {
                        part.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        });
    let random = proptest::collection::vec(param(), 0..6)
        .prop_map(|segments| format!("/{}", segments.join("/")));
    let prefixed = proptest::collection::vec(param(), 0..4)
        .prop_map(|segments| format!("/v1/{}", segments.join("/")));
    prop_oneof![4 => templated, 1 => random, 1 => prefixed]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::GET),
        4 => Just(Method::POST),
        2 => Just(Method::PUT),
        2 => Just(Method::PATCH),
        2 => Just(Method::DELETE),
        1 => Just(Method::HEAD),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::TRACE),
        1 => Just(Method::from_bytes(b"BREW").expect("a method token")),
    ]
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Authorization values: valid, expired, forged, `alg: none`, garbage, huge.
fn authorization() -> impl Strategy<Value = Option<Vec<u8>>> {
    let valid = common::bearer(TENANT, USER);
    let other_tenant = common::bearer("tenant-b", USER);
    let none = format!(
        "Bearer {}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(json!({"sub": USER, "tenant_id": TENANT, "exp": 4_000_000_000u64, "iss": "sagaflow", "aud": "sagaflow-api"}).to_string().as_bytes())
    );
    let forged = format!(
        "Bearer {}",
        sagaflow_gateway::mint_hs256(
            "not-the-secret-0123456789abcdef0123",
            "sagaflow",
            "sagaflow-api",
            TENANT,
            USER,
            Duration::from_secs(600),
        )
    );
    let expired_claims = json!({"sub": USER, "tenant_id": TENANT, "exp": 1, "iss": "sagaflow", "aud": "sagaflow-api"});
    let expired = format!(
        "Bearer {}",
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &expired_claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret"),
        )
        .expect("signs")
    );
    prop_oneof![
        4 => Just(Some(valid.into_bytes())),
        1 => Just(Some(other_tenant.into_bytes())),
        1 => Just(None),
        1 => Just(Some(none.into_bytes())),
        1 => Just(Some(forged.into_bytes())),
        1 => Just(Some(expired.into_bytes())),
        1 => "Bearer [A-Za-z0-9._-]{0,200}".prop_map(|s| Some(s.into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(Some),
        1 => (4000usize..9000).prop_map(|n| Some(format!("Bearer {}", "a".repeat(n)).into_bytes())),
    ]
}

/// Arbitrary JSON, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        (0usize..30_000).prop_map(|n| Value::from("é".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("items".to_owned()),
                    Just("cart_id".to_owned()),
                    Just("kind".to_owned()),
                    Just("cv_text".to_owned()),
                    Just("quantity".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body with one field replaced by something random.
fn mutated(base: Value) -> impl Strategy<Value = Vec<u8>> {
    let fields: Vec<String> = base
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    (proptest::sample::select(fields), json_value()).prop_map(move |(field, value)| {
        let mut body = base.clone();
        body[field.as_str()] = value;
        body.to_string().into_bytes()
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        2 => Just(common::checkout_body().to_string().into_bytes()),
        2 => Just(common::generation_body().to_string().into_bytes()),
        3 => mutated(common::checkout_body()),
        3 => mutated(common::generation_body()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        1 => "\\{[\"a-z:,\\[\\]{} 0-9]{0,80}".prop_map(String::into_bytes),
        1 => (60_000usize..70_000).prop_map(|n| format!("{{\"cv_text\":\"{}\"}}", "x".repeat(n)).into_bytes()),
    ]
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        Just("idempotency-key".to_owned()),
        Just("last-event-id".to_owned()),
        Just("x-request-id".to_owned()),
        Just("x-tenant-id".to_owned()),
        Just("x-user-id".to_owned()),
        Just("traceparent".to_owned()),
        Just("accept".to_owned()),
        Just("origin".to_owned()),
        Just("content-length".to_owned()),
        "x-[a-z]{1,10}",
    ];
    let value = prop_oneof![
        "[ -~]{0,40}".prop_map(String::into_bytes),
        (100usize..400).prop_map(|n| "k".repeat(n).into_bytes()),
        Just(b"-1".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    proptest::collection::vec((name, value), 0..4)
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        method(),
        path(),
        proptest::option::of(prop_oneof![
            "[a-z]{1,8}=[a-zA-Z0-9%]{0,20}(&[a-z]{1,8}=[a-zA-Z0-9%]{0,20}){0,4}",
            proptest::collection::vec(any::<u8>(), 0..100)
                .prop_map(|b| format!("q={}", percent_encode(&b))),
            (1000usize..5000).prop_map(|n| format!("q={}", "z".repeat(n))),
            Just("limit=-1&cursor=%00".to_owned()),
            Just("status=completed&definition=checkout&limit=100".to_owned()),
        ]),
        authorization(),
        proptest::option::of(prop_oneof![
            Just("application/json"),
            Just("text/plain"),
            Just("application/x-www-form-urlencoded"),
            Just("application/merge-patch+json"),
        ]),
        extra_headers(),
        body(),
    )
        .prop_map(
            |(method, path, query, authorization, content_type, headers, body)| Spec {
                method,
                path,
                query,
                authorization,
                content_type,
                headers,
                body,
            },
        )
}

/// The request of `spec`; `None` when it cannot be expressed in HTTP at all
/// (a header byte no client could send).
fn build(spec: &Spec) -> Option<Request<Body>> {
    let uri = match &spec.query {
        Some(q) => format!("{}?{q}", spec.path),
        None => spec.path.clone(),
    };
    let mut request = Request::builder()
        .method(spec.method.clone())
        .uri(uri)
        .body(Body::from(spec.body.clone()))
        .ok()?;
    let headers = request.headers_mut();
    if let Some(value) = &spec.authorization
        && let Ok(value) = HeaderValue::from_bytes(value)
    {
        headers.insert("authorization", value);
    }
    if let Some(content_type) = spec.content_type {
        headers.insert("content-type", HeaderValue::from_static(content_type));
    }
    for (name, value) in &spec.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            // A wrong content-length would be a framing error of the client, which
            // hyper refuses before the router; oneshot has no framing.
            if name != "content-length" {
                headers.append(name, value);
            }
        }
    }
    Some(request)
}

/// Sends `spec`; the status it got (0 when it could not be sent).
async fn check(app: &Router, verifier: &Verifier, spec: Spec) -> Result<u16, TestCaseError> {
    let Some(request) = build(&spec) else {
        return Ok(0);
    };
    let authenticated = request
        .headers()
        .get("authorization")
        .is_some_and(|v| verifier.verify_header(v.as_bytes()).is_ok());
    let response = tokio::time::timeout(Duration::from_secs(10), app.clone().oneshot(request))
        .await
        .map_err(|_| TestCaseError::fail(format!("no answer within 10 s: {spec:?}")))?
        .map_err(|e| TestCaseError::fail(format!("service error {e}: {spec:?}")))?;
    let status = response.status();
    prop_assert!(
        status.as_u16() < 500,
        "{status} for {} {} (query {:?})",
        spec.method,
        spec.path,
        spec.query
    );
    let is_stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if is_stream {
        return Ok(status.as_u16()); // an endless stream of a real saga; its head is enough
    }
    let body = tokio::time::timeout(
        Duration::from_secs(10),
        axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024),
    )
    .await
    .map_err(|_| TestCaseError::fail("the body never ended"))?
    .map_err(|e| TestCaseError::fail(format!("body error {e}")))?;
    if status.is_client_error() && spec.method != Method::HEAD && !body.is_empty() {
        let json: Value = serde_json::from_slice(&body)
            .map_err(|_| TestCaseError::fail(format!("{status} without JSON: {body:?}")))?;
        prop_assert!(json["code"].is_string(), "{status}: {json}");
        let text = json.to_string();
        prop_assert!(!text.contains("panicked") && !text.contains("backtrace"));
    }
    // The catalogue (GET /v1/products...) is public: browsing needs no token.
    let public = spec.path == "/v1/products" || spec.path.starts_with("/v1/products/");
    if status.is_success() && spec.path.starts_with("/v1/") && !public {
        prop_assert!(authenticated, "{status} without a valid token: {spec:?}");
    }
    Ok(status.as_u16())
}

/// A stub backend answering 200 `{}` to anything. It reads the whole body
/// first: a server that answers with the body unread closes the connection,
/// and the gateway's next POST on that pooled connection (not retried: POST is
/// not idempotent) would fail as a 503 that no real backend caused.
async fn stub() -> anyhow::Result<String> {
    let app = Router::new().fallback(|body: axum::body::Bytes| async move {
        drop(body);
        ([("content-type", "application/json")], "{}")
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

fn run(strategy: impl Strategy<Value = Spec>) -> anyhow::Result<Statuses> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (gw, verifier) = runtime.block_on(async {
        let backend = stub().await?;
        let settings = Settings {
            cart_url: backend.clone(),
            planner_url: backend.clone(),
            applications_url: backend.clone(),
            order_url: backend.clone(),
            notification_url: backend.clone(),
            generation_url: backend,
            ..common::settings()
        };
        let verifier = Verifier::from_settings(&settings)?;
        anyhow::Ok((Gateway::with_settings(settings).await?, verifier))
    })?;
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    });
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<u16, u32>::new());
    let result = runner.run(&strategy, |spec| {
        let status = runtime.block_on(check(&gw.app, &verifier, spec))?;
        if let Ok(mut statuses) = statuses.lock() {
            *statuses.entry(status).or_default() += 1;
        }
        Ok(())
    });
    if let Err(err) = result {
        anyhow::bail!("{err}");
    }
    let statuses = statuses.into_inner().unwrap_or_default();
    eprintln!("statuses: {statuses:?}");
    Ok(Statuses(statuses))
}

/// How many cases got which status.
struct Statuses(std::collections::BTreeMap<u16, u32>);

impl Statuses {
    /// The percentage of cases whose status is in `statuses`.
    fn share(&self, statuses: &[u16]) -> u32 {
        let total: u32 = self.0.values().sum();
        let hits: u32 = statuses.iter().filter_map(|s| self.0.get(s)).sum();
        hits * 100 / total.max(1)
    }

    /// Fails unless at least `percent` of the cases got one of `statuses`: the
    /// cases must reach the handlers, not only the front door.
    fn at_least(&self, percent: u32, statuses: &[u16]) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.share(statuses) >= percent,
            "fewer than {percent}% got {statuses:?}: {:?}",
            self.0
        );
        Ok(())
    }
}

#[test]
fn no_request_makes_the_gateway_fail_or_panic() -> anyhow::Result<()> {
    let statuses = run(spec())?;
    statuses.at_least(3, &[200, 202])?;
    statuses.at_least(5, &[401])?;
    statuses.at_least(20, &[400, 404, 405, 413, 414])
}

#[test]
fn hostile_tokens_and_headers_on_every_route_are_4xx_or_answered() -> anyhow::Result<()> {
    // Every routed method and template, always with a hostile or valid token.
    let routes: Vec<(Method, &'static str)> =
        table().iter().map(|r| (r.method.clone(), r.path)).collect();
    let strategy =
        (proptest::sample::select(routes), spec()).prop_map(|((method, template), mut spec)| {
            spec.method = method;
            spec.path = template
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
                .replace("{format}", "pdf")
                .replace("{file}", "app.js")
                .replace("{sku}", "SKU-1")
                .replace("{interview_id}", "iv-1");
            spec
        });
    let statuses = run(strategy)?;
    statuses.at_least(20, &[200, 202])?;
    statuses.at_least(20, &[401])?;
    statuses.at_least(3, &[400, 404, 413, 414, 422])
}

#[test]
fn random_bodies_reach_the_validators_and_never_fail_them() -> anyhow::Result<()> {
    // Authenticated POSTs with an idempotency key: the body decides.
    let strategy = (
        proptest::sample::select(vec!["/v1/checkouts", "/v1/generations"]),
        "[A-Za-z0-9-]{1,40}",
        spec(),
    )
        .prop_map(|(path, key, mut spec)| {
            spec.method = Method::POST;
            spec.path = path.to_owned();
            spec.query = None;
            spec.authorization = Some(common::bearer(TENANT, USER).into_bytes());
            spec.headers = vec![("idempotency-key".to_owned(), key.into_bytes())];
            spec
        });
    let statuses = run(strategy)?;
    statuses.at_least(5, &[202])?;
    statuses.at_least(20, &[422])?;
    statuses.at_least(10, &[400])?;
    statuses.at_least(1, &[413])
}
