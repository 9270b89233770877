//! One OpenTelemetry span per routed HTTP request, named `<METHOD> <route>` (e.g.
//! `POST /v1/checkouts`, never a path with ids in it).
//!
//! A `traceparent` header from the caller makes the span its child (with the
//! caller's `tracestate`, and its `baggage` in the span's context); otherwise the
//! request starts a new trace. Messages a handler writes to the outbox
//! (`sagaflow_bus::Outgoing::new`) and requests forwarded to a backend
//! (`crate::proxy`) carry this span's trace context, tracestate and baggage
//! included, so the saga a request starts is one trace from here through every
//! service. The request-id
//! span around it ([`crate::request_id`]) is for logs only.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use sagaflow_bus::traceparent::MessageTrace;
use tracing::Instrument;

/// Axum middleware, installed as a `route_layer` so the route template is known.
pub async fn span(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let headers = request.headers();
    MessageTrace::from_headers(|name| headers.get(name).and_then(|v| v.to_str().ok())).adopt(&span);
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}
