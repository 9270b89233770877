//! The web page's files, the security headers on every kind of response, CORS for
//! the configured origins only, the URI limit, and JSON for unknown routes and
//! methods.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use sagaflow_gateway::Settings;
use tower::ServiceExt;

use common::{Gateway, TENANT, USER};

async fn raw(
    gw: &Gateway,
    request: Request<Body>,
) -> anyhow::Result<(StatusCode, HeaderMap, Vec<u8>)> {
    let response = gw.app.clone().oneshot(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, headers, body.to_vec()))
}

fn get(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .body(Body::empty())
        .expect("request")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_page_and_its_files_are_served_with_their_types() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    for (uri, file, content_type) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app/index.html", "index.html", "text/html; charset=utf-8"),
        ("/app/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/app/style.css", "style.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, body) = raw(&gw, get(uri)).await?;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(
            header(&headers, "content-type"),
            Some(content_type),
            "{uri}"
        );
        let on_disk = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("web")
                .join(file),
        )?;
        assert_eq!(body, on_disk, "{uri} is web/{file}");
    }
    for uri in [
        "/app/secret.txt",
        "/app/..%2FCargo.toml",
        "/app/",
        "/app/app.js/x",
    ] {
        let (status, headers, _) = raw(&gw, get(uri)).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/problem+json"),
            "{uri}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn every_response_carries_the_security_headers() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let long = format!("/v1/history?{}", "a".repeat(5000));
    let requests = vec![
        get("/"),
        get("/app/app.js"),
        get("/healthz"),
        get("/nowhere"),
        get("/v1/history"),
        common::get_request(TENANT, USER, "/v1/history"),
        get(&long),
        Request::builder()
            .method("PATCH")
            .uri("/v1/history")
            .body(Body::empty())?,
    ];
    for request in requests {
        let uri = request.uri().to_string();
        let (status, headers, body) = raw(&gw, request).await?;
        assert_eq!(
            header(&headers, "x-content-type-options"),
            Some("nosniff"),
            "{uri:.60}"
        );
        assert_eq!(
            header(&headers, "x-frame-options"),
            Some("DENY"),
            "{uri:.60}"
        );
        assert_eq!(
            header(&headers, "referrer-policy"),
            Some("no-referrer"),
            "{uri:.60}"
        );
        let csp = header(&headers, "content-security-policy").unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{uri:.60}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri:.60}: {csp}");
        assert!(!csp.contains("unsafe"), "{uri:.60}: {csp}");
        assert!(header(&headers, "x-request-id").is_some(), "{uri:.60}");
        if !status.is_success() {
            let json: serde_json::Value = serde_json::from_slice(&body)?;
            assert!(json["code"].is_string(), "{uri:.60}: {json}");
        }
    }
    let (status, _, body) = raw(&gw, get(&long)).await?;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert!(String::from_utf8(body)?.contains("uri_too_long"));
    let (status, _, body) = raw(
        &gw,
        Request::builder()
            .method("PATCH")
            .uri("/v1/history")
            .body(Body::empty())?,
    )
    .await?;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(String::from_utf8(body)?.contains("method_not_allowed"));
    Ok(())
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri("/v1/checkouts")
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,idempotency-key",
        )
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() -> anyhow::Result<()> {
    let page = "http://localhost:8080";
    let extension = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    let gw = Gateway::with_settings(Settings {
        cors_origins: vec![page.into(), extension.into()],
        ..common::settings()
    })
    .await?;
    for origin in [page, extension] {
        let (status, headers, _) = raw(&gw, preflight(origin)).await?;
        assert!(status.is_success(), "{origin}: {status}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some(origin)
        );
        let methods = header(&headers, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains("POST"), "{methods}");
        let allowed = header(&headers, "access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(allowed.contains("authorization") && allowed.contains("idempotency-key"));
    }
    // An actual request from an allowed origin can read the answer and its id.
    let mut request = common::get_request(TENANT, USER, "/v1/history");
    request.headers_mut().insert("origin", page.parse()?);
    let (status, headers, _) = raw(&gw, request).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(page));
    assert!(
        header(&headers, "access-control-expose-headers")
            .unwrap_or_default()
            .contains("x-request-id")
    );
    // Anyone else gets no CORS grant.
    for origin in ["https://evil.example", "http://localhost:8081", "null"] {
        let (_, headers, _) = raw(&gw, preflight(origin)).await?;
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            None,
            "{origin}"
        );
    }
    // Without GATEWAY_CORS_ORIGINS nobody does.
    let closed = Gateway::start().await?;
    let (_, headers, _) = raw(&closed, preflight(page)).await?;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    Ok(())
}

#[tokio::test]
async fn the_page_asks_for_no_price_and_lists_the_catalogue() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (_, _, html) = raw(&gw, get("/")).await?;
    let html = String::from_utf8(html)?;
    let (_, _, js) = raw(&gw, get("/app/app.js")).await?;
    let js = String::from_utf8(js)?;
    for text in [&html, &js] {
        assert!(!text.contains("unit_price_minor"), "a price field is back");
    }
    assert!(!html.contains("id=\"co-price\""), "a price input is back");
    assert!(html.contains("id=\"co-country\"") && html.contains("name=\"shipping_country\""));
    assert!(html.contains("id=\"products\""), "the catalogue list");
    assert!(js.contains("/v1/products"), "the page reads the catalogue");
    assert!(js.contains("shipping_country: f.shipping_country.value"));
    Ok(())
}
