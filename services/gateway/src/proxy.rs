//! Forwarding to the backends that own a resource: the cart, planner,
//! applications, order and notification services (see `routes::proxied` for the
//! routes).
//!
//! The upstream request is rebuilt, not copied: method; the upstream path from the
//! route's template with each path parameter checked ([`segment`]) and
//! percent-encoded, so no `..` or encoded slash can reach another upstream path;
//! the query as sent (at most [`MAX_QUERY_BYTES`]); the body (already limited to
//! `GATEWAY_MAX_BODY_BYTES`). Headers: `Authorization: Bearer <internal token>`
//! ([`internal_authorization`]: signed per request with
//! `SAGAFLOW_INTERNAL_TOKEN_SECRET` for that backend's audience, naming the
//! verified caller; the backend takes the caller's identity from it alone),
//! `x-tenant-id` and `x-user-id` from the verified token (informational; a
//! client's own `x-tenant-id` is never forwarded), `x-request-id`, and
//! `content-type`, `accept`, `idempotency-key` as sent; `traceparent`,
//! `tracestate` and `baggage` of the gateway's own request span (a child of the
//! caller's). Nothing else (never the client's `Authorization`, no cookies).
//!
//! A pooled keep-alive connection can be closed by the backend at the moment we
//! reuse it (a backend that recycles connections, or closes one after an answer
//! whose request body it did not read): the request then fails with "connection
//! closed before message completed" although the backend is up. [`send`] retries
//! such a failure once on a fresh connection when the method is idempotent (GET,
//! HEAD, PUT, DELETE, OPTIONS); any other method is retried only when the request
//! was never sent (the connection could not be made). Each such failure is counted
//! in `sagaflow_gateway_upstream_connection_errors_total`.
//!
//! The answer is passed back (status, `content-type`, `location`, `retry-after`,
//! `cache-control`, body) unless the backend failed: unreachable or too slow is
//! 503 `unavailable`, a 5xx or an unreadable answer is 502 `bad_gateway` with the
//! backend's body hidden (it may hold internals).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::{debug, warn};

use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_service_auth::{InternalCaller, InternalSigner};

use crate::auth::Caller;
use crate::config::Settings;
use crate::error::ApiError;
use crate::request_id;

/// Longest query string forwarded.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Longest path parameter.
pub const MAX_SEGMENT_CHARS: usize = 128;
/// Largest backend answer passed on.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Connect timeout to a backend.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request timeout to a backend.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Request headers passed through as sent. The trace context is not among them:
/// the backend gets the gateway's own span as its parent (see [`send`]).
const PASSED_REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "idempotency-key"];
/// Response headers passed back.
const PASSED_RESPONSE_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::RETRY_AFTER,
    header::CACHE_CONTROL,
];

/// A backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Cart,
    Planner,
    Applications,
    Order,
    Notification,
    Generation,
}

impl Upstream {
    /// Its name in errors.
    pub fn label(self) -> &'static str {
        match self {
            Upstream::Cart => "the cart service",
            Upstream::Planner => "the planner service",
            Upstream::Applications => "the applications service",
            Upstream::Order => "the order service",
            Upstream::Notification => "the notification service",
            Upstream::Generation => "the generation service",
        }
    }

    /// The audience of its internal tokens.
    pub fn audience(self) -> &'static str {
        match self {
            Upstream::Cart => "cart",
            Upstream::Planner => "planner",
            Upstream::Applications => "applications",
            Upstream::Order => "order",
            Upstream::Notification => "notification",
            Upstream::Generation => "generation",
        }
    }

    /// Its base URL.
    pub fn base_url(self, settings: &Settings) -> &str {
        match self {
            Upstream::Cart => &settings.cart_url,
            Upstream::Planner => &settings.planner_url,
            Upstream::Applications => &settings.applications_url,
            Upstream::Order => &settings.order_url,
            Upstream::Notification => &settings.notification_url,
            Upstream::Generation => &settings.generation_url,
        }
    }
}

/// The HTTP clients for backends: `pooled` for every first attempt, `fresh` (no
/// idle connections kept) for the one retry, so it never reuses a connection.
#[derive(Debug, Clone)]
pub struct Clients {
    pub pooled: reqwest::Client,
    pub fresh: reqwest::Client,
}

impl Clients {
    /// Sends `request`, retrying once on a fresh connection when the connection
    /// was lost in a way [`Lost::retryable`] allows for its method. `upstream`
    /// labels the metric.
    pub async fn execute(
        &self,
        upstream: &'static str,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let method = request.method().clone();
        let retry = request.try_clone();
        let first = self.pooled.execute(request).await;
        let lost = first.as_ref().err().map(Lost::of);
        let result = match (first, retry, lost) {
            (Err(err), Some(retry), Some(lost)) if lost.retryable(&method) => {
                debug!(upstream, error = %err, kind = lost.label(), "backend connection lost; retrying on a fresh connection");
                count_lost(upstream, lost, "true");
                self.fresh.execute(retry).await
            }
            (result, _, _) => result,
        };
        if let Err(err) = &result {
            count_lost(upstream, Lost::of(err), "false");
        }
        result
    }
}

/// Counts a request that lost its connection (`retried`: whether it was sent again).
fn count_lost(upstream: &'static str, lost: Lost, retried: &'static str) {
    metrics::counter!(
        "sagaflow_gateway_upstream_connection_errors_total",
        "upstream" => upstream,
        "kind" => lost.label(),
        "retried" => retried,
    )
    .increment(1);
}

/// The HTTP clients for backends.
pub fn clients() -> Clients {
    let builder = || {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
    };
    Clients {
        pooled: builder().build().unwrap_or_default(),
        fresh: builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default(),
    }
}

/// Why a request failed before any answer came back, as far as a retry cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// No connection could be made: the request was never sent.
    NotSent,
    /// The connection closed under the request (a pooled connection the backend
    /// had just closed): the backend may or may not have seen it.
    Closed,
    /// Anything else (a timeout, a protocol error).
    Other,
}

impl Lost {
    fn of(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            return Lost::Other;
        }
        if err.is_connect() {
            return Lost::NotSent;
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = source {
            if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
                if hyper.is_canceled() {
                    return Lost::NotSent;
                }
                if hyper.is_incomplete_message() {
                    return Lost::Closed;
                }
            }
            if let Some(io) = cause.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            {
                return Lost::Closed;
            }
            source = cause.source();
        }
        Lost::Other
    }

    fn label(self) -> &'static str {
        match self {
            Lost::NotSent => "not_sent",
            Lost::Closed => "closed",
            Lost::Other => "other",
        }
    }

    /// Whether a request of `method` that failed so may be sent again.
    fn retryable(self, method: &Method) -> bool {
        let idempotent = matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        match self {
            Lost::NotSent => true,
            Lost::Closed => idempotent,
            Lost::Other => false,
        }
    }
}

/// A path parameter that may be forwarded: 1..=128 of `A-Z a-z 0-9 - _ .`, not
/// only dots.
pub fn segment(field: &'static str, raw: &str) -> Result<String, ApiError> {
    let ok = (1..=MAX_SEGMENT_CHARS).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !raw.bytes().all(|b| b == b'.');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::InvalidPath {
            field,
            message: format!("must be 1 to {MAX_SEGMENT_CHARS} letters, digits, '-', '_' or '.'"),
        })
    }
}

/// `template` (`/carts/{id}/items/{sku}`) with its `{name}`s replaced by the
/// checked `params`.
pub fn upstream_path(
    template: &'static str,
    params: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let mut path = String::with_capacity(template.len() + 64);
    for part in template.split('/').skip(1) {
        path.push('/');
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                let field = param_field(name);
                let value = params.get(name).ok_or_else(|| ApiError::InvalidPath {
                    field,
                    message: "is required".into(),
                })?;
                path.push_str(&segment(field, value)?);
            }
            None => path.push_str(part),
        }
    }
    Ok(path)
}

/// The `'static` field name of a template parameter.
fn param_field(name: &str) -> &'static str {
    match name {
        "id" => "id",
        "sku" => "sku",
        "interview_id" => "interview_id",
        _ => "path",
    }
}

/// One request to forward.
pub struct Forward<'a> {
    pub upstream: Upstream,
    pub method: Method,
    pub path: String,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

/// `GET <upstream><path>` as `caller` (its internal token), for a route that reads a
/// backend itself rather than forwarding; 503 when the backend is unreachable, 502
/// when the request cannot be built. The caller judges the status.
pub async fn get_as(
    signer: Option<&InternalSigner>,
    clients: &Clients,
    settings: &Settings,
    upstream: Upstream,
    caller: &Caller,
    path: &str,
) -> Result<reqwest::Response, ApiError> {
    let label = upstream.label();
    let url = format!(
        "{}{path}",
        upstream.base_url(settings).trim_end_matches('/')
    );
    let authorization = internal_authorization(signer, upstream.audience(), label, caller)?;
    let request = clients
        .pooled
        .get(&url)
        .header(header::AUTHORIZATION, authorization)
        .build()
        .map_err(|_| ApiError::BadGateway(label))?;
    clients.execute(label, request).await.map_err(|err| {
        warn!(error = %err, upstream = label, "backend unreachable");
        ApiError::Unavailable(label)
    })
}

/// `Bearer <token>` for the backend `audience` (`cart`, `planner`,
/// `applications`, `generation`, `catalog`) naming `caller`; 503 naming `label`
/// when the gateway has no signing secret (which [`crate::run`] refuses).
pub fn internal_authorization(
    signer: Option<&InternalSigner>,
    audience: &str,
    label: &'static str,
    caller: &Caller,
) -> Result<String, ApiError> {
    let signer = signer.ok_or_else(|| {
        tracing::error!("SAGAFLOW_INTERNAL_TOKEN_SECRET is not set: cannot call {label}");
        ApiError::Unavailable(label)
    })?;
    let token = signer.sign(
        audience,
        &InternalCaller {
            tenant_id: caller.tenant_id.clone(),
            user_id: caller.user_id.clone(),
            roles: caller.roles.clone(),
        },
    );
    Ok(format!("Bearer {token}"))
}

/// Sends `forward` to its backend as `caller`, with an internal token signed by
/// `signer`; the backend's answer or a JSON error.
pub async fn send(
    http: &Clients,
    settings: &Settings,
    signer: Option<&InternalSigner>,
    caller: &Caller,
    forward: Forward<'_>,
) -> Result<Response, ApiError> {
    let upstream = forward.upstream;
    let mut url = format!("{}{}", upstream.base_url(settings), forward.path);
    if let Some(query) = forward.query.filter(|q| !q.is_empty()) {
        if query.len() > MAX_QUERY_BYTES {
            return Err(ApiError::InvalidQuery {
                field: "query",
                message: format!("must be at most {MAX_QUERY_BYTES} bytes"),
            });
        }
        url.push('?');
        url.push_str(query);
    }
    let method = Method::from_bytes(forward.method.as_str().as_bytes())
        .map_err(|_| ApiError::MethodNotAllowed)?;
    let authorization =
        internal_authorization(signer, upstream.audience(), upstream.label(), caller)?;
    let mut request = http
        .pooled
        .request(method, &url)
        .header(header::AUTHORIZATION.as_str(), authorization)
        .header("x-tenant-id", &caller.tenant_id)
        .header("x-user-id", &caller.user_id);
    if let Some(id) = request_id::current() {
        request = request.header(request_id::HEADER, id);
    }
    for name in PASSED_REQUEST_HEADERS {
        if let Some(value) = forward.headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    // The backend's work is a child of this request's span (a made-up child of
    // the caller's traceparent without OpenTelemetry), with the caller's
    // tracestate and baggage passed on.
    let trace =
        MessageTrace::from_headers(|name| forward.headers.get(name).and_then(|v| v.to_str().ok()))
            .child();
    for (name, value) in trace.headers() {
        request = request.header(name, value);
    }
    if !forward.body.is_empty() {
        request = request.body(forward.body);
    }
    let request = request
        .build()
        .map_err(|_| ApiError::BadGateway(upstream.label()))?;
    let sent = http.execute(upstream.label(), request).await;
    let upstream_response = match sent {
        Ok(response) => response,
        Err(err) => {
            warn!(upstream = upstream.label(), error = %err, "backend unreachable");
            metrics::counter!("sagaflow_gateway_upstream_failures_total", "upstream" => upstream.label(), "kind" => "unreachable").increment(1);
            return Err(ApiError::Unavailable(upstream.label()));
        }
    };
    let status = StatusCode::from_u16(upstream_response.status().as_u16())
        .map_err(|_| ApiError::BadGateway(upstream.label()))?;
    if status.is_server_error() {
        warn!(upstream = upstream.label(), %status, "backend failed");
        metrics::counter!("sagaflow_gateway_upstream_failures_total", "upstream" => upstream.label(), "kind" => "5xx").increment(1);
        return Err(if status == StatusCode::SERVICE_UNAVAILABLE {
            ApiError::Unavailable(upstream.label())
        } else {
            ApiError::BadGateway(upstream.label())
        });
    }
    let mut passed = HeaderMap::new();
    for name in PASSED_RESPONSE_HEADERS {
        if let Some(value) = upstream_response.headers().get(name.as_str())
            && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
        {
            passed.insert(name, value);
        }
    }
    let body = read_limited(upstream_response, upstream).await?;
    let mut response = (status, Body::from(body)).into_response();
    response.headers_mut().extend(passed);
    Ok(response)
}

/// The body, up to [`MAX_RESPONSE_BYTES`].
async fn read_limited(
    mut response: reqwest::Response,
    upstream: Upstream,
) -> Result<Bytes, ApiError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    warn!(upstream = upstream.label(), "backend answer too large");
                    return Err(ApiError::BadGateway(upstream.label()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(err) => {
                warn!(upstream = upstream.label(), error = %err, "backend answer unreadable");
                return Err(if err.is_timeout() {
                    ApiError::Unavailable(upstream.label())
                } else {
                    ApiError::BadGateway(upstream.label())
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_from_checked_segments() {
        let params: HashMap<String, String> = [("id", "c0ffee-01"), ("sku", "SKU.RED_M")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            upstream_path("/carts/{id}/items/{sku}", &params).expect("ok"),
            "/carts/c0ffee-01/items/SKU.RED_M"
        );
        for bad in ["..", ".", "a/b", "a%2Fb", "", "a b", "é", &"x".repeat(129)] {
            let params: HashMap<String, String> =
                [("id".to_owned(), bad.to_owned())].into_iter().collect();
            assert!(
                upstream_path("/v1/applications/{id}", &params).is_err(),
                "{bad:?}"
            );
        }
    }
}
