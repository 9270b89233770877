//! `POST /notifications/test` with `{"channel": "EMAIL"|"SMS"|"PUSH"}`: sends the
//! caller a test notification through the one send path ([`sender::send`]), so
//! they can see a channel work.
//!
//! - **Recipient**: what the service knows of the caller: the recipient of the
//!   latest notification sent to them (this tenant, this user) on that channel.
//!   None is 422 `validation_failed` ("no recipient known for this user on
//!   EMAIL"); an address is never taken from the request.
//! - **Preferences**: a channel the caller turned off is 409 `channel_turned_off`
//!   (nothing sent or recorded).
//! - **Idempotency**: per (tenant, user, `Idempotency-Key`) when the header is
//!   given, else per (tenant, user, channel, minute): a repeat answers the first
//!   202 again (same `notification_id`) and sends nothing; the same key for another
//!   channel is 422 `idempotency_key_reused`. The key (1 to 128 visible ASCII
//!   characters, else 400) is recorded in `notification_tests`.
//! - **Rate limit**: at most [`TestLimit::per_window`] sends per user per
//!   [`TestLimit::window`] (5 an hour), counted from `notification_tests`; past it
//!   429 `rate_limited` with `Retry-After` (seconds until the oldest one leaves the
//!   window). Repeats, 409 and 422 do not count.
//!
//! Answer: 202 `{"notification_id", "channel"}`. One transaction holds the key's
//! row and the sent notification, under a per-user advisory lock so concurrent
//! requests count and deduplicate correctly.
//!
//! [`TestLimit::per_window`]: crate::api::TestLimit
//! [`TestLimit::window`]: crate::api::TestLimit

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use sagaflow_service_auth::InternalCaller;
use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::{ApiState, shown};
use crate::error::ApiError;
use crate::preferences;
use crate::sender::{self, Notification, Sender, Sent};

/// Subject of a test notification.
pub const SUBJECT: &str = "Test notification";
/// Body of a test notification.
pub const BODY: &str = "This is a test notification: this channel reaches you.";
/// Longest `Idempotency-Key`.
pub const MAX_KEY_CHARS: usize = 128;

/// The handler.
pub async fn post(
    State(state): State<ApiState>,
    caller: InternalCaller,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::Invalid(rejection.body_text()))?;
    let sender = channel(&body)?;
    let now = (state.clock)();
    let key = match idempotency_key(&headers)? {
        Some(key) => key,
        None => format!("minute:{}:{}", sender.name(), now.format("%Y-%m-%dT%H:%MZ")),
    };
    let (tenant_id, user_id) = (caller.tenant_id.as_str(), caller.user_id.as_str());

    let mut tx = state.pool.begin().await?;
    // One request of the user's at a time (the count and the key), and none
    // while their erasure runs.
    sagaflow_bus::erasure::lock(&mut tx, "notification-test", tenant_id, user_id, true).await?;
    sagaflow_bus::erasure::lock(&mut tx, "notification", tenant_id, user_id, false).await?;
    if let Some((channel, notification_id)) = earlier(&mut tx, tenant_id, user_id, &key).await? {
        if channel != sender.as_str() {
            return Err(ApiError::IdempotencyKeyReused(format!(
                "this Idempotency-Key was used for a test on another channel than {}",
                sender.name()
            )));
        }
        return Ok(accepted(notification_id, sender));
    }
    if let Some(reason) = preferences::refusal(&mut tx, tenant_id, user_id, sender).await? {
        return Err(ApiError::ChannelOff(format!(
            "{reason}: turn it on in the notification preferences to test it"
        )));
    }
    let no_recipient = || {
        ApiError::Unprocessable(format!(
            "no recipient known for this user on {}",
            sender.name()
        ))
    };
    let recipient = recipient(&mut tx, tenant_id, user_id, sender)
        .await?
        .ok_or_else(no_recipient)?;
    limit(&mut tx, &state, tenant_id, user_id, now).await?;

    let notification_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO notification_tests
             (tenant_id, user_id, idempotency_key, channel, notification_id, requested_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(&key)
    .bind(sender.as_str())
    .bind(notification_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let notification = Notification {
        notification_id,
        saga_id: None,
        sender,
        recipient,
        subject: SUBJECT.to_owned(),
        body: BODY.to_owned(),
        owner: Some((tenant_id.to_owned(), user_id.to_owned())),
    };
    // Dropping `tx` on an error rolls the key's row back: nothing was sent.
    match sender::send(&mut tx, &notification).await? {
        Sent::Sent | Sent::AlreadySent => {}
        Sent::Skipped(reason) => return Err(ApiError::ChannelOff(reason)),
        Sent::Suppressed => return Err(no_recipient()),
        Sent::Refused(reason) => return Err(ApiError::Unprocessable(reason)),
    }
    tx.commit().await?;
    Ok(accepted(notification_id, sender))
}

fn accepted(notification_id: Uuid, sender: Sender) -> (StatusCode, Json<Value>) {
    (
        StatusCode::ACCEPTED,
        Json(json!({ "notification_id": notification_id, "channel": sender.name() })),
    )
}

/// The channel of a `{"channel": ...}` body.
fn channel(body: &Value) -> Result<Sender, ApiError> {
    let fields = body.as_object().ok_or_else(|| {
        ApiError::Unprocessable("the body must be {\"channel\": \"EMAIL\"|\"SMS\"|\"PUSH\"}".into())
    })?;
    if let Some(other) = fields.keys().find(|name| *name != "channel") {
        return Err(ApiError::Unprocessable(format!(
            "unknown field `{}`: expected `channel`",
            shown(other)
        )));
    }
    match fields.get("channel") {
        None => Err(ApiError::Unprocessable(
            "`channel` is required: EMAIL, SMS or PUSH".into(),
        )),
        Some(Value::String(name)) => Sender::from_name(name).ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "unknown channel `{}`: expected EMAIL, SMS or PUSH",
                shown(name)
            ))
        }),
        Some(_) => Err(ApiError::Unprocessable(
            "`channel` must be a string: EMAIL, SMS or PUSH".into(),
        )),
    }
}

/// The `Idempotency-Key` header, if given (400 when malformed).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::Invalid(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
        ))
    };
    let key = value.to_str().map_err(|_| bad())?.trim();
    let ok = (1..=MAX_KEY_CHARS).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| Some(format!("key:{key}"))).ok_or_else(bad)
}

/// The channel and notification of an earlier request under `key`.
async fn earlier(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    key: &str,
) -> Result<Option<(String, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT channel, notification_id FROM notification_tests
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await
}

/// The recipient of the latest notification sent to the user on `sender`.
async fn recipient(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    sender: Sender,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT recipient FROM sent_notifications
         WHERE tenant_id = $1 AND user_id = $2 AND channel = $3
         ORDER BY sent_at DESC, notification_id DESC LIMIT 1",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(sender.as_str())
    .fetch_optional(&mut *conn)
    .await
}

/// 429 when the user sent their allowance of tests in the window before `now`.
async fn limit(
    conn: &mut PgConnection,
    state: &ApiState,
    tenant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let limit = state.test_limit;
    let window = chrono::Duration::from_std(limit.window).unwrap_or(chrono::Duration::hours(1));
    let since = now - window;
    let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(requested_at) FROM notification_tests
         WHERE tenant_id = $1 AND user_id = $2 AND requested_at > $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    if count < i64::from(limit.per_window) {
        return Ok(());
    }
    let free_at = oldest.unwrap_or(now) + window;
    let wait_ms = (free_at - now).num_milliseconds().max(0);
    let retry_after_secs = u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1);
    Err(ApiError::RateLimited {
        message: format!(
            "at most {} test notifications per {} minutes: try again in {retry_after_secs} s",
            limit.per_window,
            limit.window.as_secs() / 60
        ),
        retry_after_secs,
    })
}
