//! The forwarded routes against a stub backend (axum on 127.0.0.1:0) that echoes
//! what it received: method, path, query, body, the identity from the verified
//! token (a caller's own `x-tenant-id` never gets through), an internal token for
//! that backend signed by the gateway in place of the client's own
//! `Authorization`, `x-request-id`,
//! a `traceparent` of the gateway's span in the caller's trace with the caller's
//! `tracestate` and `baggage`; path parameters that could reach another path are refused; a
//! backend that is down is 503, one that fails is 502 without its body.

use crate::common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sagaflow_bus::traceparent::TraceParent;
use sagaflow_gateway::Settings;
use sagaflow_gateway::routes::proxied::PROXIED;
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{Gateway, TENANT, USER, bearer};
use sagaflow_test_support::service_auth::internal_verifier;

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
        p if p.ends_with("/missing") => {
            sagaflow_problem::Problem::not_found("no such plan").into_response()
        }
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

/// A gateway whose backends are all the stub at `url`.
async fn gateway(url: &str) -> anyhow::Result<Gateway> {
    Gateway::with_settings(Settings {
        cart_url: url.to_owned(),
        planner_url: url.to_owned(),
        applications_url: url.to_owned(),
        order_url: url.to_owned(),
        notification_url: url.to_owned(),
        generation_url: url.to_owned(),
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
        .header("tracestate", "vendor=abc")
        .header("baggage", "tier=gold")
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
    // The backend's parent is the gateway's span, in the caller's trace: not the
    // caller's own span id.
    let forwarded = h["traceparent"][0].as_str().expect("a traceparent");
    let (sent, got) = (
        TraceParent::parse(traceparent).expect("valid"),
        TraceParent::parse(forwarded).expect("a valid traceparent"),
    );
    assert_eq!(got.trace_id, sent.trace_id, "{h}");
    assert_ne!(
        got.span_id, sent.span_id,
        "the caller's span was passed on: {h}"
    );
    assert_eq!(h["tracestate"], json!(["vendor=abc"]), "{h}");
    assert_eq!(h["baggage"], json!(["tier=gold"]), "{h}");
    assert_eq!(h["idempotency-key"], json!(["intent-1"]), "{h}");
    assert_eq!(h["content-type"], json!(["application/json"]), "{h}");
    for forbidden in ["cookie", "x-forwarded-for"] {
        assert!(h.get(forbidden).is_none(), "{forbidden} was forwarded: {h}");
    }
    // Authorization: the gateway's internal token for the planner, naming the
    // verified caller; never the client's own token.
    let authorization = h["authorization"][0].as_str().expect("an internal token");
    assert_ne!(authorization, bearer(TENANT, USER));
    let token = authorization.strip_prefix("Bearer ").expect("bearer");
    let caller = internal_verifier("planner")
        .verify(token)
        .expect("valid for the planner");
    assert_eq!(
        (caller.tenant_id.as_str(), caller.user_id.as_str()),
        (TENANT, USER)
    );
    assert!(
        internal_verifier("cart").verify(token).is_err(),
        "not for another service"
    );
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
                .replace("{reminder_id}", "rm_3")
                .replace("{version}", "4")
                .replace("{kind}", "resume")
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
        let token = received["headers"]["authorization"][0]
            .as_str()
            .and_then(|v| v.strip_prefix("Bearer "))
            .expect("an internal token");
        let audience = match route.upstream {
            sagaflow_gateway::proxy::Upstream::Cart => "cart",
            sagaflow_gateway::proxy::Upstream::Planner => "planner",
            sagaflow_gateway::proxy::Upstream::Applications => "applications",
            sagaflow_gateway::proxy::Upstream::Order => "order",
            sagaflow_gateway::proxy::Upstream::Notification => "notification",
            sagaflow_gateway::proxy::Upstream::Generation => "generation",
        };
        let caller = internal_verifier(audience).verify(token);
        assert_eq!(
            caller.map(|c| c.user_id).ok().as_deref(),
            Some(USER),
            "{}",
            route.path
        );
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
        assert_eq!(body["code"], code, "{uri:.80}: {body}");
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
    let (status, headers, body) = send(&gw, get("/v1/assistant/plans/boom")).await?;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["code"], "bad_gateway");
    assert!(!body.to_string().contains("secret.rs"), "{body}");
    assert!(body["request_id"].is_string());
    let (status, _, body) = send(&gw, get("/v1/applications/busy")).await?;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("unavailable"))
    );
    // A 4xx passes through as the backend wrote it.
    let (status, headers, body) = send(&gw, get("/v1/assistant/plans/missing")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({
            "type": "urn:sagaflow:problem:not_found",
            "title": "Not Found",
            "status": 404,
            "detail": "no such plan",
            "code": "not_found",
        })
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );

    // A backend that is down: 503 JSON naming it.
    let port = sagaflow_test_support::free_port()?;
    let down = gateway(&format!("http://127.0.0.1:{port}")).await?;
    for uri in [
        "/v1/carts/c1",
        "/v1/assistant/plans",
        "/v1/tracker/preferences",
    ] {
        let (status, _, body) = send(&down, get(uri)).await?;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        assert_eq!(body["code"], "unavailable");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|m| m.contains("service")),
            "{body}"
        );
    }
    Ok(())
}

/// What the recycling backend saw: `METHOD path`, and whether it answered.
type Log = Arc<Mutex<Vec<(String, bool)>>>;

/// A backend that recycles keep-alive connections the way a busy or restarting
/// server does: it answers the first request on each connection (200 `{}`, kept
/// alive as far as the client can tell) and closes the connection when the next
/// request arrives on it, without answering. A pooled connection reused for a
/// second request is therefore always found closed.
async fn recycling_backend() -> anyhow::Result<(String, Log)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                for answered in [true, false] {
                    // One request: headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            break end + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                    let length: usize = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buffer.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..head_end + length);
                    let request_line = head.lines().next().unwrap_or_default();
                    let what: Vec<&str> = request_line.split(' ').take(2).collect();
                    if let Ok(mut seen) = seen.lock() {
                        seen.push((what.join(" "), answered));
                    }
                    if !answered {
                        return; // closes the connection under the request
                    }
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((format!("http://{addr}"), log))
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_backend_is_retried_when_safe() -> anyhow::Result<()> {
    let (url, log) = recycling_backend().await?;
    let gw = gateway(&url).await?;
    let request = |method: Method, uri: &str, body: &str| {
        axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("Authorization", bearer(TENANT, USER))
            .header("content-type", "application/json")
            .header("idempotency-key", "k-1")
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let count = |what: &str| {
        log.lock()
            .map(|l| l.iter().filter(|(w, _)| w == what).count())
            .unwrap_or_default()
    };
    // Each idempotent request goes out on the connection the previous answer left
    // in the pool, which the backend then closes under it: retried on a fresh one.
    let idempotent = [
        (Method::GET, "/v1/carts/c1", "", "GET /carts/c1"),
        (
            Method::PUT,
            "/v1/carts/c1/items/SKU-1",
            r#"{"quantity":1}"#,
            "PUT /carts/c1/items/SKU-1",
        ),
        (
            Method::DELETE,
            "/v1/carts/c1/items/SKU-1",
            "",
            "DELETE /carts/c1/items/SKU-1",
        ),
        (
            Method::GET,
            "/v1/assistant/plans/p1",
            "",
            "GET /v1/assistant/plans/p1",
        ),
    ];
    for (round, (method, uri, body, upstream)) in idempotent.into_iter().enumerate() {
        let (status, _, answer) = send(&gw, request(Method::GET, "/v1/carts/warm", "")).await?;
        assert_eq!(status, StatusCode::OK, "warm-up {round}: {answer}");
        let (status, _, answer) = send(&gw, request(method.clone(), uri, body)).await?;
        assert_eq!(status, StatusCode::OK, "{method} {uri}: {answer}");
        assert_eq!(
            count(upstream),
            2,
            "{upstream}: sent on the closed connection, then once more on a fresh one"
        );
    }

    // A POST the backend may have seen is not sent again: 503, and it arrived once.
    let (status, _, _) = send(&gw, request(Method::GET, "/v1/carts/warm", "")).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _, answer) = send(
        &gw,
        request(Method::POST, "/v1/assistant/intents", r#"{"text":"hi"}"#),
    )
    .await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["code"], "unavailable");
    assert_eq!(count("POST /v1/assistant/intents"), 1, "never sent twice");
    // The next POST finds no pooled connection and is answered.
    let (status, _, answer) = send(
        &gw,
        request(Method::POST, "/v1/assistant/intents", r#"{"text":"hi"}"#),
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Ok(())
}
