//! The request-latency histogram `sagaflow_http_request_seconds`, labelled by
//! `route` (the matched path template, e.g. `/v1/checkouts/{id}`, or `unmatched`,
//! so ids never become label values), `method` and `status`. For a server-sent
//! event stream it measures the time to the response head.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

/// The histogram's name.
pub const REQUEST_SECONDS: &str = "sagaflow_http_request_seconds";

/// Middleware recording one observation per request.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    metrics::histogram!(
        REQUEST_SECONDS,
        "route" => route,
        "method" => method,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// Known methods by name; anything else (a client may send any token) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
