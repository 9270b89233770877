//! The notification API for users, through the gateway ([`router`]; whoever serves
//! it wraps it in `sagaflow_service_auth::internal::guard` with audience
//! `notification`, so a request without the gateway's internal token is 401).
//! The caller's tenant and user are the token's ([`InternalCaller`]), never a
//! header, a parameter or the body:
//!
//! - `GET /preferences` → 200 `{"channels": {"EMAIL": true, "SMS": true, "PUSH":
//!   false}}`: every channel, accepted unless the caller turned it off.
//! - `PUT /preferences` with `{"channels": {"PUSH": false, ...}}` → 200 with the
//!   stored state (same shape). The channels named are set, the others keep their
//!   state (so a client that knows fewer channels never turns one back on).
//!   An unknown channel, a value that is not `true`/`false`, or another field is
//!   422 `validation_failed` naming it.
//! - `POST /notifications/test` with `{"channel": "EMAIL"}` → 202: see
//!   [`crate::test_notification`].
//!
//! Channel names are the contracts' (`EMAIL`, `SMS`, `PUSH`). A body that is not
//! JSON is 400 `invalid_input`. Errors: [`ApiError`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use sagaflow_service_auth::InternalCaller;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::error::ApiError;
use crate::preferences::{self, Preferences};
use crate::sender::Sender;
use crate::test_notification;

/// The time, injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How many test notifications a user may send per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestLimit {
    pub per_window: u32,
    pub window: Duration,
}

impl Default for TestLimit {
    /// Five an hour.
    fn default() -> Self {
        Self {
            per_window: 5,
            window: Duration::from_secs(3600),
        }
    }
}

/// What the routes share.
#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub clock: Clock,
    pub test_limit: TestLimit,
}

impl ApiState {
    /// On `pool`, with the system clock and the default [`TestLimit`].
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            clock: Arc::new(Utc::now),
            test_limit: TestLimit::default(),
        }
    }
}

/// The routes above, on `pool` (wrap them in `internal::guard`).
pub fn router(pool: PgPool) -> Router {
    router_with(ApiState::new(pool))
}

/// The routes above with `state` (a test's clock or limit).
pub fn router_with(state: ApiState) -> Router {
    Router::new()
        .route("/preferences", get(get_preferences).put(put_preferences))
        .route("/notifications/test", post(test_notification::post))
        .with_state(state)
}

/// `{"channels": {...}}`.
fn answer(preferences: &Preferences) -> Json<Value> {
    Json(json!({ "channels": preferences.to_json() }))
}

async fn get_preferences(
    State(state): State<ApiState>,
    caller: InternalCaller,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let preferences = preferences::load(&mut conn, &caller.tenant_id, &caller.user_id).await?;
    Ok(answer(&preferences))
}

async fn put_preferences(
    State(state): State<ApiState>,
    caller: InternalCaller,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::Invalid(rejection.body_text()))?;
    let changes = changes(&body)?;
    let mut tx = state.pool.begin().await?;
    // Shared with other writes of the user's data, exclusive with their erasure.
    sagaflow_bus::erasure::lock(
        &mut tx,
        "notification",
        &caller.tenant_id,
        &caller.user_id,
        false,
    )
    .await?;
    let stored = preferences::store(&mut tx, &caller.tenant_id, &caller.user_id, &changes).await?;
    tx.commit().await?;
    Ok(answer(&stored))
}

/// The channels a `PUT /preferences` body sets.
fn changes(body: &Value) -> Result<Vec<(Sender, bool)>, ApiError> {
    let shape = || {
        ApiError::Unprocessable(
            "the body must be {\"channels\": {\"EMAIL\"|\"SMS\"|\"PUSH\": true|false}}".to_owned(),
        )
    };
    let fields = body.as_object().ok_or_else(shape)?;
    if let Some(other) = fields.keys().find(|name| *name != "channels") {
        return Err(ApiError::Unprocessable(format!(
            "unknown field `{}`: expected `channels`",
            shown(other)
        )));
    }
    let channels = fields
        .get("channels")
        .and_then(Value::as_object)
        .ok_or_else(shape)?;
    channels
        .iter()
        .map(|(name, value)| {
            let sender = Sender::from_name(name).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "unknown channel `{}`: expected EMAIL, SMS or PUSH",
                    shown(name)
                ))
            })?;
            let accepted = value.as_bool().ok_or_else(|| {
                ApiError::Unprocessable(format!("`channels.{name}` must be true or false"))
            })?;
            Ok((sender, accepted))
        })
        .collect()
}

/// A client's string in a message: at most 64 characters.
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 64;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_known_channels_with_booleans() {
        let ok = changes(&json!({"channels": {"EMAIL": false, "PUSH": true}}));
        assert_eq!(
            ok.ok(),
            Some(vec![(Sender::Email, false), (Sender::Push, true)])
        );
        for (body, expected) in [
            (json!({"channels": {"FAX": true}}), "unknown channel `FAX`"),
            (
                json!({"channels": {"SMS": "no"}}),
                "`channels.SMS` must be true or false",
            ),
            (
                json!({"channels": {"SMS": true}, "x": 1}),
                "unknown field `x`",
            ),
            (json!({"channels": []}), "the body must be"),
            (json!([]), "the body must be"),
        ] {
            let err = changes(&body).expect_err("refused");
            assert!(err.to_string().contains(expected), "{body}: {err}");
        }
        assert_eq!(shown(&"x".repeat(70)).len(), 67);
    }
}
