//! The routes the gateway forwards to the service that owns them ([`PROXIED`]):
//! the order service (`/v1/orders...` → `/orders...`), the cart (`/v1/carts/...` →
//! `/carts/...`), the notification service (`/v1/notifications/preferences` →
//! `/preferences`, `/v1/notifications/test` → `/notifications/test`), the planner
//! (`/v1/assistant/...`), the generation service (`/v1/profile/...` → `/profile/...`)
//! and the applications tracker (`/v1/applications/...`, `/v1/tracker/...`), the
//! last two on the same path. Each is registered on its own (so the router and
//! the OpenAPI document list it) with [`handler`]; the forwarding itself is
//! [`crate::proxy`], which signs the backend's internal token for the caller. The
//! gateway checks the caller, the path parameters, the query
//! length, the body size and, for a JSON body, that it is JSON; everything else
//! about the request is the backend's to judge.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::{Caller, read_body};
use crate::AppState;
use crate::error::ApiError;
use crate::proxy::{self, Forward, Upstream};

/// One forwarded route.
#[derive(Debug)]
pub struct Proxied {
    pub method: Method,
    /// The gateway's path template.
    pub path: &'static str,
    pub upstream: Upstream,
    /// The backend's path template (same parameter names).
    pub upstream_path: &'static str,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// Whether the route takes a (JSON) body.
    pub body: bool,
    /// The OpenAPI tag.
    pub tag: &'static str,
}

const fn route(
    method: Method,
    path: &'static str,
    upstream: Upstream,
    upstream_path: &'static str,
    summary: &'static str,
    body: bool,
    tag: &'static str,
) -> Proxied {
    Proxied {
        method,
        path,
        upstream,
        upstream_path,
        summary,
        body,
        tag,
    }
}

use Upstream::{Applications, Cart, Generation, Notification, Order, Planner};

/// Every forwarded route.
pub static PROXIED: [Proxied; 37] = [
    // The order service (services/order): the caller's orders with their refunds.
    route(
        Method::GET,
        "/v1/orders",
        Order,
        "/orders",
        "The caller's orders, newest first, with their refunds and cancellation",
        false,
        "orders",
    ),
    route(
        Method::GET,
        "/v1/orders/{id}",
        Order,
        "/orders/{id}",
        "One of the caller's orders",
        false,
        "orders",
    ),
    // The cart service (services/cart/src/http.rs).
    route(
        Method::GET,
        "/v1/carts/{id}",
        Cart,
        "/carts/{id}",
        "The caller's cart",
        false,
        "carts",
    ),
    route(
        Method::PUT,
        "/v1/carts/{id}/items/{sku}",
        Cart,
        "/carts/{id}/items/{sku}",
        "Set a line of the caller's cart: {\"quantity\", \"unit_price_minor\"}",
        true,
        "carts",
    ),
    route(
        Method::DELETE,
        "/v1/carts/{id}/items/{sku}",
        Cart,
        "/carts/{id}/items/{sku}",
        "Remove a line from the caller's cart",
        false,
        "carts",
    ),
    // The notification service (services/notification/src/api.rs).
    route(
        Method::GET,
        "/v1/notifications/preferences",
        Notification,
        "/preferences",
        "The channels (EMAIL, SMS, PUSH) the caller accepts notifications on",
        false,
        "notifications",
    ),
    route(
        Method::PUT,
        "/v1/notifications/preferences",
        Notification,
        "/preferences",
        "Turn channels on or off: {\"channels\": {\"EMAIL\": true, \"PUSH\": false}}",
        true,
        "notifications",
    ),
    route(
        Method::POST,
        "/v1/notifications/test",
        Notification,
        "/notifications/test",
        "Send the caller a test notification: {\"channel\"} (Idempotency-Key optional; 5 an hour)",
        true,
        "notifications",
    ),
    // The planner service.
    route(
        Method::POST,
        "/v1/assistant/intents",
        Planner,
        "/v1/assistant/intents",
        "Submit an intent; the planner answers with a plan to confirm",
        true,
        "assistant",
    ),
    route(
        Method::GET,
        "/v1/assistant/plans",
        Planner,
        "/v1/assistant/plans",
        "The caller's plans",
        false,
        "assistant",
    ),
    route(
        Method::GET,
        "/v1/assistant/plans/{id}",
        Planner,
        "/v1/assistant/plans/{id}",
        "One plan",
        false,
        "assistant",
    ),
    route(
        Method::POST,
        "/v1/assistant/plans/{id}/confirm",
        Planner,
        "/v1/assistant/plans/{id}/confirm",
        "Confirm a plan: its commands are carried out",
        true,
        "assistant",
    ),
    // The generation service (services/generation/src/profile_api.rs).
    route(
        Method::GET,
        "/v1/profile/cv",
        Generation,
        "/profile/cv",
        "The caller's CV versions, newest first",
        false,
        "profile",
    ),
    route(
        Method::POST,
        "/v1/profile/cv",
        Generation,
        "/profile/cv",
        "Store a CV: {\"text\"}; a new version when the text is new",
        true,
        "profile",
    ),
    route(
        Method::GET,
        "/v1/profile/cv/{version}",
        Generation,
        "/profile/cv/{version}",
        "One CV version with its text",
        false,
        "profile",
    ),
    route(
        Method::GET,
        "/v1/profile/templates",
        Generation,
        "/profile/templates",
        "The caller's prompt templates",
        false,
        "profile",
    ),
    route(
        Method::PUT,
        "/v1/profile/templates/{kind}",
        Generation,
        "/profile/templates/{kind}",
        "Set the prompt template for cover_letter or resume: {\"template\"}",
        true,
        "profile",
    ),
    route(
        Method::DELETE,
        "/v1/profile/templates/{kind}",
        Generation,
        "/profile/templates/{kind}",
        "Remove the prompt template of a kind",
        false,
        "profile",
    ),
    route(
        Method::GET,
        "/v1/profile/budgets",
        Generation,
        "/profile/budgets",
        "The caller's token budgets per stage (generation, regeneration)",
        false,
        "profile",
    ),
    route(
        Method::PUT,
        "/v1/profile/budgets",
        Generation,
        "/profile/budgets",
        "Set the token budgets per stage: {\"generate_tokens\", \"regenerate_tokens\"} (16 to 200000, or null)",
        true,
        "profile",
    ),
    // The applications service.
    route(
        Method::GET,
        "/v1/applications",
        Applications,
        "/v1/applications",
        "The caller's job applications",
        false,
        "applications",
    ),
    route(
        Method::POST,
        "/v1/applications",
        Applications,
        "/v1/applications",
        "Track a new job application",
        true,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/applications/{id}",
        Applications,
        "/v1/applications/{id}",
        "One application",
        false,
        "applications",
    ),
    route(
        Method::PATCH,
        "/v1/applications/{id}",
        Applications,
        "/v1/applications/{id}",
        "Change an application (status, notes, ...)",
        true,
        "applications",
    ),
    route(
        Method::DELETE,
        "/v1/applications/{id}",
        Applications,
        "/v1/applications/{id}",
        "Delete an application",
        false,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/applications/{id}/interviews",
        Applications,
        "/v1/applications/{id}/interviews",
        "An application's interviews",
        false,
        "applications",
    ),
    route(
        Method::POST,
        "/v1/applications/{id}/interviews",
        Applications,
        "/v1/applications/{id}/interviews",
        "Schedule an interview",
        true,
        "applications",
    ),
    route(
        Method::PATCH,
        "/v1/applications/{id}/interviews/{interview_id}",
        Applications,
        "/v1/applications/{id}/interviews/{interview_id}",
        "Change an interview",
        true,
        "applications",
    ),
    route(
        Method::DELETE,
        "/v1/applications/{id}/interviews/{interview_id}",
        Applications,
        "/v1/applications/{id}/interviews/{interview_id}",
        "Cancel an interview",
        false,
        "applications",
    ),
    route(
        Method::POST,
        "/v1/applications/{id}/documents",
        Applications,
        "/v1/applications/{id}/documents",
        "Attach a document to an application",
        true,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/applications/{id}/reminders",
        Applications,
        "/v1/applications/{id}/reminders",
        "An application's reminders (follow-ups and interview reminders)",
        false,
        "applications",
    ),
    route(
        Method::POST,
        "/v1/applications/{id}/reminders",
        Applications,
        "/v1/applications/{id}/reminders",
        "Set a follow-up reminder: {\"due_at\"} or {\"in_minutes\"}, optional \"note\"; \
         sent as a push notification when due",
        true,
        "applications",
    ),
    route(
        Method::DELETE,
        "/v1/applications/{id}/reminders/{reminder_id}",
        Applications,
        "/v1/applications/{id}/reminders/{reminder_id}",
        "Cancel a reminder that has not been sent",
        false,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/tracker/next-actions",
        Applications,
        "/v1/tracker/next-actions",
        "What to do next across the caller's applications, soonest first",
        false,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/tracker/analytics",
        Applications,
        "/v1/tracker/analytics",
        "Application statistics of the caller",
        false,
        "applications",
    ),
    route(
        Method::GET,
        "/v1/tracker/preferences",
        Applications,
        "/v1/tracker/preferences",
        "The caller's tracker preferences",
        false,
        "applications",
    ),
    route(
        Method::PUT,
        "/v1/tracker/preferences",
        Applications,
        "/v1/tracker/preferences",
        "Replace the caller's tracker preferences",
        true,
        "applications",
    ),
];

/// The axum method filter of `method` (only the methods [`PROXIED`] uses).
fn filter(method: &Method) -> MethodFilter {
    match *method {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        _ => MethodFilter::GET,
    }
}

/// The handler of `route`.
pub fn handler(route: &'static Proxied) -> MethodRouter<AppState> {
    on(
        filter(&route.method),
        move |State(state): State<AppState>,
              caller: Caller,
              params: Result<RawPathParams, RawPathParamsRejection>,
              RawQuery(query): RawQuery,
              headers: HeaderMap,
              body: Result<Bytes, BytesRejection>| async move {
            forward(route, state, caller, params, query, headers, body).await
        },
    )
}

async fn forward(
    route: &'static Proxied,
    state: AppState,
    caller: Caller,
    params: Result<RawPathParams, RawPathParamsRejection>,
    query: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let params: HashMap<String, String> = params
        .map_err(|_| ApiError::InvalidPath {
            field: "path",
            message: "is not valid UTF-8".into(),
        })?
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path = proxy::upstream_path(route.upstream_path, &params)?;
    let body = read_body(body, state.settings.max_body())?;
    if !body.is_empty() && is_json(&headers) {
        serde_json::from_slice::<serde::de::IgnoredAny>(&body)
            .map_err(|err| ApiError::MalformedJson(err.to_string()))?;
    }
    proxy::send(
        &state.http,
        &state.settings,
        state.signer.as_ref(),
        &caller,
        Forward {
            upstream: route.upstream,
            method: route.method.clone(),
            path,
            query: query.as_deref(),
            headers: &headers,
            body,
        },
    )
    .await
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v.starts_with("application/json") || v.contains("+json")
        })
}
