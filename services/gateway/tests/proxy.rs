//! The forwarded routes against a stub backend (axum on 127.0.0.1:0) that echoes
//! what it received: method, path, query, body, the identity from the verified
//! token (a caller's own `x-tenant-id` never gets through), `x-request-id`,
//! `traceparent`; path parameters that could reach another path are refused; a
//! backend that is down is 503, one that fails is 502 without its body.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sagaflow_gateway::Settings;
use sagaflow_gateway::routes::proxied::PROXIED;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{Gateway, TENANT, USER, bearer};

/// What the stub saw, newest last.
type Seen = Arc<Mutex<Vec<Value>>>;

/// Starts the stub; returns its base URL and what it sees.
async fn stub() -> anyhow::Result<(String, Seen)> {
    let seen: Seen = Arc::default();
    let recorder = seen.clone();
    let app = Router::new().fallback(move |request: Request| {
        let seen = recorder.clone();
        async move { echo(request, seen).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((format!("http://{addr}"), seen))
}

async fn echo(request: Request, seen: Seen) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| Value::from(v.to_str().unwrap_or("?")))
            .collect();
        headers.insert(name.as_str().to_owned(), Value::Array(values));
    }
    let record = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    if let Ok(mut seen) = seen.lock() {
        seen.push(record.clone());
    }
    match parts.uri.path() {
        p if p.ends_with("/boom") => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "panicked at src/secret.rs:42: stack backtrace: ...",
        )
            .into_response(),
        p if p.ends_with("/busy") => {
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded").into_response()
        }
        p if p.ends_with("/missing") => (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            json!({"error": {"code": "not_found", "message": "no such plan"}}).to_string(),
        )
            .into_response(),
        _ => {
            let status = if parts.method == Method::POST {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (
                status,
                [
                    ("content-type", "application/json"),
                    ("location", "/v1/somewhere/1"),
                    ("x-internal-secret", "do-not-forward"),
                    ("set-cookie", "session=backend"),
                ],
                record.to_string(),
            )
                .into_response()
        }
    }
}

/// A gateway whose three backends are the stub at `url`.
async fn gateway(url: &str) -> anyhow::Result<Gateway> {
    Gateway::with_settings(Settings {
        cart_url: url.to_owned(),
        planner_url: url.to_owned(),
        applications_url: url.to_owned(),
        max_body_bytes: 4096,
        ..common::settings()
    })
    .await
}

async fn send(
    gw: &Gateway,
    request: Request<Body>,
) -> anyhow::Result<(StatusCode, HeaderMap, Value)> {
    let response = gw.app.clone().oneshot(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, headers, body))
}

#[tokio::test]
async fn identity_comes_from_the_token_and_cannot_be_overridden() -> anyhow::Result<()> {
    let (url, seen) = stub().await?;
    let gw = gateway(&url).await?;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/assistant/intents?dry_run=1&lang=en")
        .header("Authorization", bearer(TENANT, USER))
        .header("Content-Type", "application/json")
        .header("X-Tenant-Id", "tenant-evil")
        .header("X-User-Id", "admin")
        .header("x-tenant-id", "tenant-evil-2")
        .header("X-Request-Id", "req-abc-123")
        .header("traceparent", traceparent)
        .header("Idempotency-Key", "intent-1")
        .header("Cookie", "session=stolen")
        .header("X-Forwarded-For", "1.2.3.4")
        .body(Body::from(r#"{"text":"apply to Acme"}"#))?;
    let (status, headers, body) = send(&gw, request).await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/v1/somewhere/1")
    );
    assert!(!headers.contains_key("x-internal-secret"));
    assert!(!headers.contains_key("set-cookie"));

    let received = seen.lock().map(|s| s.last().cloned()).ok().flatten();
    let received = received.expect("the stub got the request");
    assert_eq!(received["method"], "POST");
    assert_eq!(received["path"], "/v1/assistant/intents");
    assert_eq!(received["query"], "dry_run=1&lang=en");
    assert_eq!(received["body"], r#"{"text":"apply to Acme"}"#);
    let h = &received["headers"];
    assert_eq!(h["x-tenant-id"], json!([TENANT]), "{h}");
    assert_eq!(h["x-user-id"], json!([USER]), "{h}");
    assert_eq!(h["x-request-id"], json!(["req-abc-123"]), "{h}");
    assert_eq!(h["traceparent"], json!([traceparent]), "{h}");
    assert_eq!(h["idempotency-key"], json!(["intent-1"]), "{h}");
    assert_eq!(h["content-type"], json!(["application/json"]), "{h}");
    for forbidden in ["authorization", "cookie", "x-forwarded-for"] {
        assert!(h.get(forbidden).is_none(), "{forbidden} was forwarded: {h}");
    }
    Ok(())
}

#[tokio::test]
async fn every_forwarded_route_reaches_its_backend_path() -> anyhow::Result<()> {
    let (url, seen) = stub().await?;
    let gw = gateway(&url).await?;
    for route in &PROXIED {
        let fill = |template: &str| {
            template
                .replace("{id}", "id-1")
                .replace("{sku}", "SKU-RED.M")
                .replace("{interview_id}", "iv_2")
        };
        let mut builder = axum::http::Request::builder()
            .method(route.method.clone())
            .uri(fill(route.path))
            .header("Authorization", bearer(TENANT, USER));
        let body = if route.body {
            builder = builder.header("Content-Type", "application/json");
            Body::from(r#"{"quantity":1,"unit_price_minor":100}"#)
        } else {
            Body::empty()
        };
        let (status, _, answer) = send(&gw, builder.body(body)?).await?;
        assert!(
            status.is_success(),
            "{} {}: {status} {answer}",
            route.method,
            route.path
        );
        let received = seen.lock().map(|s| s.last().cloned()).ok().flatten();
        let received = received.expect("forwarded");
        assert_eq!(received["method"], route.method.as_str(), "{}", route.path);
        assert_eq!(
            received["path"],
            fill(route.upstream_path),
            "{}",
            route.path
        );
        assert_eq!(received["headers"]["x-user-id"], json!([USER]));
    }
    assert_eq!(seen.lock().map(|s| s.len()).unwrap_or(0), PROXIED.len());
    Ok(())
}

#[tokio::test]
async fn unsafe_requests_never_reach_the_backend() -> anyhow::Result<()> {
    let (url, seen) = stub().await?;
    let gw = gateway(&url).await?;
    let request = |method: &str, uri: &str, body: Body, json: bool| {
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", bearer(TENANT, USER));
        if json {
            builder = builder.header("Content-Type", "application/json");
        }
        builder.body(body).expect("request")
    };
    let long_query = format!("/v1/applications?q={}", "x".repeat(3000));
    let cases = vec![
        (
            request("GET", "/v1/applications/..", Body::empty(), false),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request("GET", "/v1/applications/.", Body::empty(), false),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request(
                "GET",
                "/v1/applications/a%2F..%2Fadmin",
                Body::empty(),
                false,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request(
                "GET",
                "/v1/applications/%2e%2e/interviews",
                Body::empty(),
                false,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request("GET", "/v1/carts/a%20b", Body::empty(), false),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request("GET", "/v1/applications/%FF", Body::empty(), false),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            request("GET", &long_query, Body::empty(), false),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            request("POST", "/v1/applications", Body::from("{not json"), true),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            request(
                "POST",
                "/v1/applications",
                Body::from(format!("{{\"a\":\"{}\"}}", "x".repeat(5000))),
                true,
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let uri = request.uri().to_string();
        let (got, _, body) = send(&gw, request).await?;
        assert_eq!(got, status, "{uri:.80}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri:.80}: {body}");
    }
    // Without a token: 401, and the backend hears nothing either.
    let anonymous = axum::http::Request::builder()
        .uri("/v1/tracker/analytics")
        .header("X-Tenant-Id", TENANT)
        .header("X-User-Id", USER)
        .body(Body::empty())?;
    assert_eq!(send(&gw, anonymous).await?.0, StatusCode::UNAUTHORIZED);
    assert_eq!(seen.lock().map(|s| s.len()).unwrap_or(99), 0);
    Ok(())
}

#[tokio::test]
async fn backend_failures_map_to_json_errors() -> anyhow::Result<()> {
    let (url, _) = stub().await?;
    let gw = gateway(&url).await?;
    let get = |uri: &str| {
        axum::http::Request::builder()
            .uri(uri)
            .header("Authorization", bearer(TENANT, USER))
            .body(Body::empty())
            .expect("request")
    };
    // A 5xx: 502, the backend's body (a stack trace here) hidden.
    let (status, _, body) = send(&gw, get("/v1/assistant/plans/boom")).await?;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "bad_gateway");
    assert!(!body.to_string().contains("secret.rs"), "{body}");
    assert!(body["error"]["request_id"].is_string());
    let (status, _, body) = send(&gw, get("/v1/applications/busy")).await?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable"))
    );
    // A 4xx passes through as the backend wrote it.
    let (status, headers, body) = send(&gw, get("/v1/assistant/plans/missing")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "no such plan");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );

    // A backend that is down: 503 JSON naming it.
    let port = sagaflow_test_support::tansu::free_port()?;
    let down = gateway(&format!("http://127.0.0.1:{port}")).await?;
    for uri in [
        "/v1/carts/c1",
        "/v1/assistant/plans",
        "/v1/tracker/preferences",
    ] {
        let (status, _, body) = send(&down, get(uri)).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("service")),
            "{body}"
        );
    }
    Ok(())
}
