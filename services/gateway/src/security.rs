//! Browser-facing safety of every response:
//!
//! - [`headers`]: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: no-referrer` and a Content-Security-Policy ([`CSP`]: the
//!   page may run its own script and style and call its own origin, nothing else;
//!   `/docs` sets its own). It also refuses a URI longer than [`MAX_URI_BYTES`]
//!   (414).
//! - [`cors`]: the CORS layer for `GATEWAY_CORS_ORIGINS` (the web page's origin
//!   when it is served elsewhere, a `chrome-extension://<id>`); no origin listed,
//!   no cross-origin access.
//! - [`panic_response`]: a handler that panics answers 500 `internal` with the
//!   request id, never the panic message or a backtrace.

use std::any::Any;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::error;

use crate::error::ApiError;

/// Longest accepted request URI (path and query).
pub const MAX_URI_BYTES: usize = 4096;

/// The Content-Security-Policy of every response that sets none itself.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Middleware adding the headers above.
pub async fn headers(request: Request, next: Next) -> Response {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    let mut response = if uri_len > MAX_URI_BYTES {
        ApiError::UriTooLong {
            limit: MAX_URI_BYTES,
        }
        .into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    response
}

/// The CORS layer for `origins` (already validated by the settings); `None` when
/// there are none.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                header::LOCATION,
                header::WWW_AUTHENTICATE,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// The answer to a panicking handler (`CatchPanicLayer::custom`).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned());
    error!(panic = %message, "a handler panicked");
    metrics::counter!("sagaflow_gateway_panics_total").increment(1);
    ApiError::Internal("a handler panicked".into()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn a_panic_answers_500_without_its_message() {
        let response = panic_response(Box::new("secret detail at src/db.rs:12".to_owned()));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("\"internal\""), "{text}");
        assert!(!text.contains("secret") && !text.contains("src/"), "{text}");
    }

    #[test]
    fn cors_needs_an_origin() {
        assert!(cors(&[]).is_none());
        assert!(cors(&["http://localhost:8080".to_owned()]).is_some());
    }
}
