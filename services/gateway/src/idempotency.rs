//! Idempotency keys of `POST /v1/checkouts` and `POST /v1/generations`, scoped per (tenant, user, key) and
//! bound to a fingerprint (sha256) of the normalised request:
//!
//! - same key, same request: the saved response (same status and body);
//! - same key, another request: 422 ([`ApiError::IdempotencyKeyReused`]);
//! - same key while the first request is still running: 409
//!   ([`ApiError::RequestInProgress`]);
//! - a key older than the TTL counts as new.
//!
//! The row is written in the caller's transaction together with the effect
//! (checkout + outbox) and completed with the response before commit, so a crash
//! leaves either nothing or the complete response. While that transaction runs it
//! holds a transaction-scoped advisory lock on the key: a concurrent retry gets 409
//! at once instead of waiting. A row whose response is NULL (left by a future
//! two-phase flow, or written by hand) is also "still running".

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};

use crate::error::ApiError;

/// First key of the two-key advisory lock space used for idempotency keys
/// (distinct from the relay's single-key lock).
const LOCK_CLASS: i32 = 0x6777; // "gw"

/// Whose key it is.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub key: &'a str,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Begin {
    /// First use (or expired): handle it, then [`complete`].
    New,
    /// Seen before: send this response again.
    Replay { status: StatusCode, body: Value },
}

/// A request whose key was checked: go ahead in `tx`, or answer with the saved response.
pub enum Started {
    New(sqlx::Transaction<'static, sqlx::Postgres>),
    Replay { status: StatusCode, body: Value },
}

/// Opens the request's transaction and [`begin`]s its key. On a replay or an error
/// the transaction is rolled back at once: a dropped transaction is only rolled
/// back when its connection is next used, and until then the key's advisory lock
/// would make an immediate retry get 409.
pub async fn start(
    pool: &sqlx::PgPool,
    scope: Scope<'_>,
    hash: &[u8],
    ttl: Duration,
) -> Result<Started, ApiError> {
    let mut tx = pool.begin().await?;
    match begin(&mut tx, scope, hash, ttl).await {
        Ok(Begin::New) => Ok(Started::New(tx)),
        Ok(Begin::Replay { status, body }) => {
            tx.rollback().await?;
            Ok(Started::Replay { status, body })
        }
        Err(err) => {
            let _ = tx.rollback().await;
            Err(err)
        }
    }
}

/// The fingerprint of a request: sha256 over the operation name and the
/// normalised request (so formatting and key order of the body do not matter).
pub fn fingerprint(
    operation: &str,
    normalised: &impl serde::Serialize,
) -> Result<Vec<u8>, ApiError> {
    let json = serde_json::to_vec(normalised)
        .map_err(|err| ApiError::Internal(format!("serialising the request: {err}")))?;
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update(b"\n");
    hasher.update(&json);
    Ok(hasher.finalize().to_vec())
}

/// Claims `scope` for a request with `hash` inside the caller's transaction `tx`.
pub async fn begin(
    tx: &mut PgConnection,
    scope: Scope<'_>,
    hash: &[u8],
    ttl: Duration,
) -> Result<Begin, ApiError> {
    let lock_key = format!("{}\n{}\n{}", scope.tenant_id, scope.user_id, scope.key);
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(&lock_key)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Err(ApiError::RequestInProgress);
    }
    let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let existing = sqlx::query(
        "SELECT request_hash, response_status, response_body,
                created_at < now() - ($4::bigint * interval '1 second') AS expired
         FROM idempotency_keys
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3
         FOR UPDATE",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .bind(ttl_secs)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = existing else {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, user_id, idempotency_key, request_hash)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(scope.tenant_id)
        .bind(scope.user_id)
        .bind(scope.key)
        .bind(hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Zero only if someone inserted the key between our SELECT and INSERT,
        // which the advisory lock prevents short of a hash collision.
        return if inserted == 1 {
            Ok(Begin::New)
        } else {
            Err(ApiError::RequestInProgress)
        };
    };
    let expired: bool = row.try_get("expired")?;
    if expired {
        sqlx::query(
            "UPDATE idempotency_keys
             SET request_hash = $4, response_status = NULL, response_body = NULL,
                 created_at = now(), completed_at = NULL
             WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3",
        )
        .bind(scope.tenant_id)
        .bind(scope.user_id)
        .bind(scope.key)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        return Ok(Begin::New);
    }
    let saved_hash: Vec<u8> = row.try_get("request_hash")?;
    if saved_hash != hash {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let status: Option<i16> = row.try_get("response_status")?;
    let body: Option<Value> = row.try_get("response_body")?;
    match (status, body) {
        (Some(status), Some(body)) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .ok_or_else(|| {
                    ApiError::Internal(format!("saved response status {status} is invalid"))
                })?;
            Ok(Begin::Replay { status, body })
        }
        _ => Err(ApiError::RequestInProgress),
    }
}

/// Saves the response for `scope` in the same transaction as [`begin`].
pub async fn complete(
    tx: &mut PgConnection,
    scope: Scope<'_>,
    status: StatusCode,
    body: &Value,
) -> Result<(), ApiError> {
    let status = i16::try_from(status.as_u16())
        .map_err(|_| ApiError::Internal(format!("status {status} does not fit")))?;
    sqlx::query(
        "UPDATE idempotency_keys
         SET response_status = $4, response_body = $5, completed_at = now()
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .bind(status)
    .bind(body)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
