//! The shared handler test kit, and the guarded API as `sagaflow serve
//! notification` composes it.
#![allow(unused_imports, dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
pub use sagaflow_bus::testing::*;
use sagaflow_events::messages::{Channel, SendNotification};
use sagaflow_notification::api::{self, ApiState};
use sagaflow_test_support::TestDb;
use sagaflow_test_support::service_auth::{internal_bearer, internal_verifier};
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// The user of these tests, in both tenants.
pub const USER: &str = "ada";
pub const A: &str = "tenant-a";
pub const B: &str = "tenant-b";

/// A migrated throwaway database.
pub async fn db(name: &str) -> anyhow::Result<TestDb> {
    let db = TestDb::create(name).await?;
    sagaflow_notification::migrate(&db.pool).await?;
    Ok(db)
}

/// `body` as a consumer sees it in `tenant`.
pub fn in_tenant<T: sagaflow_events::Contract>(
    tenant: &str,
    saga_id: Option<Uuid>,
    body: &T,
) -> sagaflow_bus::Incoming {
    let mut message = incoming(saga_id, body);
    message.envelope.tenant_id = tenant.to_owned();
    message
}

/// A saga's `SendNotification` to `user` in `tenant`.
pub fn notify_user(
    tenant: &str,
    user: Option<&str>,
    channel: Channel,
    recipient: &str,
) -> (Uuid, Uuid, sagaflow_bus::Incoming) {
    let (notification_id, saga_id) = (Uuid::now_v7(), Uuid::now_v7());
    let message = in_tenant(
        tenant,
        Some(saga_id),
        &SendNotification {
            notification_id,
            saga_id: Some(saga_id),
            channel,
            recipient: recipient.into(),
            subject: "Your order is confirmed".into(),
            body: "Thank you!".into(),
            user_id: user.map(str::to_owned),
        },
    );
    (notification_id, saga_id, message)
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Utc::now())))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

/// The users' API behind the internal-token guard (audience `notification`),
/// with `clock`.
pub fn app(pool: sqlx::PgPool, clock: &TestClock) -> axum::Router {
    let clock = clock.clone();
    let state = ApiState {
        clock: Arc::new(move || clock.now()),
        ..ApiState::new(pool)
    };
    sagaflow_service_auth::internal::guard(
        api::router_with(state),
        internal_verifier("notification"),
    )
}

/// The gateway's bearer for `user` in `tenant`.
pub fn as_user(tenant: &str, user: &str) -> Option<String> {
    Some(internal_bearer("notification", tenant, user))
}

/// An answer: status, `Retry-After`, JSON body (`Null` when empty).
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub body: Value,
}

/// `PUT /preferences` with `body` (`{"channels": {...}}`) as `bearer`.
pub async fn put_preferences(
    app: &axum::Router,
    bearer: Option<String>,
    body: &str,
) -> anyhow::Result<Answer> {
    call(app, "PUT", "/preferences", bearer, Some(body), None).await
}

/// Calls `app`.
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    bearer: Option<String>,
    body: Option<&str>,
    idempotency_key: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(bearer) = bearer {
        request = request.header("authorization", bearer);
    }
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))?,
        None => request.body(Body::empty())?,
    };
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}
