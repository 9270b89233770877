//! `Idempotency-Key` of `POST /v1/assistant/intents`, with the gateway's semantics
//! (`services/gateway/src/idempotency.rs`), scoped per (tenant, user, key) and
//! bound to the sha256 of the normalised request (`intent_requests`):
//!
//! - same key, same request: the saved answer (same status and body), so a
//!   client's retry never makes a second plan, nor a second checkout;
//! - same key, another request: 422 ([`Error::Reused`]);
//! - same key while the first request is still running: 409 ([`Error::InProgress`]);
//! - a key older than `PLANNER_IDEMPOTENCY_TTL_SECS` counts as new.
//!
//! Unlike the gateway, the work includes a slow side effect outside our database
//! (the LLM), which must not run inside a transaction. So the key is taken in two
//! steps: [`claim`] commits a row without an answer and with a random claim id
//! (under a transaction-scoped advisory lock, so two concurrent first requests
//! cannot both claim it); the LLM is asked; then the plan's transaction checks
//! that the claim is still its own ([`hold`]) and saves the answer with the plan
//! ([`complete`]), so a plan and its saved answer commit together. A request
//! that fails before that gives the key back ([`release`]). A claim left by a
//! crashed planner is taken over once older than `stale_after` (longer than the
//! LLM budget plus the database work), so a key is never stuck.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

/// First key of the two-key advisory lock space used for intent keys.
const LOCK_CLASS: i32 = 0x706c; // "pl"

/// Whose key it is.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub key: &'a str,
}

impl Scope<'_> {
    /// A stable key for the LLM provider, derived from the scope (not the
    /// client's key itself, which another tenant may use too).
    pub fn provider_key(&self) -> String {
        let namespace = Uuid::from_u128(0x1d3a_5c7e_9f20_4b6d_8a1c_3e5f_7091_b2d4);
        let name = format!("{}\u{0}{}\u{0}{}", self.tenant_id, self.user_id, self.key);
        format!(
            "planner-intent-{}",
            Uuid::new_v5(&namespace, name.as_bytes())
        )
    }
}

/// Why a key cannot be used now.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("this Idempotency-Key was already used with a different request body")]
    Reused,
    #[error("a request with this Idempotency-Key is still being processed; retry later")]
    InProgress,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First use (or expired, or abandoned): do the work under this claim id.
    New(Uuid),
    /// Seen before: send this answer again.
    Replay { status: StatusCode, body: Value },
}

/// Claims `scope` for `request` (the normalised request's bytes) and commits.
pub async fn claim(
    pool: &PgPool,
    scope: Scope<'_>,
    request: &[u8],
    ttl: Duration,
    stale_after: Duration,
) -> Result<Claim, Error> {
    let mut tx = pool.begin().await?;
    let outcome = claim_in(&mut tx, scope, request, ttl, stale_after).await;
    match outcome {
        Ok(Claim::New(id)) => {
            tx.commit().await?;
            Ok(Claim::New(id))
        }
        other => {
            // Roll back at once: the advisory lock must not outlive the answer.
            let _ = tx.rollback().await;
            other
        }
    }
}

async fn claim_in(
    tx: &mut PgConnection,
    scope: Scope<'_>,
    request: &[u8],
    ttl: Duration,
    stale_after: Duration,
) -> Result<Claim, Error> {
    let lock_key = format!("{}\n{}\n{}", scope.tenant_id, scope.user_id, scope.key);
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(&lock_key)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Err(Error::InProgress);
    }
    let claim = Uuid::new_v4();
    let existing = sqlx::query(
        "SELECT request_hash = sha256($4) AS same, response_status, response_body,
                created_at < now() - make_interval(secs => $5) AS expired,
                claimed_at < now() - make_interval(secs => $6) AS stale
         FROM intent_requests
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3
         FOR UPDATE",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .bind(request)
    .bind(ttl.as_secs_f64())
    .bind(stale_after.as_secs_f64())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = existing else {
        sqlx::query(
            "INSERT INTO intent_requests (tenant_id, user_id, idempotency_key, request_hash, claim)
             VALUES ($1, $2, $3, sha256($4), $5)",
        )
        .bind(scope.tenant_id)
        .bind(scope.user_id)
        .bind(scope.key)
        .bind(request)
        .bind(claim)
        .execute(&mut *tx)
        .await?;
        return Ok(Claim::New(claim));
    };
    let status: Option<i16> = row.try_get("response_status")?;
    let body: Option<Value> = row.try_get("response_body")?;
    let expired: bool = row.try_get("expired")?;
    let abandoned = status.is_none() && row.try_get::<bool, _>("stale")?;
    if !expired && !row.try_get::<bool, _>("same")? {
        return Err(Error::Reused);
    }
    if expired || abandoned {
        sqlx::query(
            "UPDATE intent_requests
             SET request_hash = sha256($4), claim = $5, claimed_at = now(), plan_id = NULL,
                 response_status = NULL, response_body = NULL, completed_at = NULL,
                 created_at = CASE WHEN $6 THEN now() ELSE created_at END
             WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3",
        )
        .bind(scope.tenant_id)
        .bind(scope.user_id)
        .bind(scope.key)
        .bind(request)
        .bind(claim)
        .bind(expired)
        .execute(&mut *tx)
        .await?;
        return Ok(Claim::New(claim));
    }
    match (status, body) {
        (Some(status), Some(body)) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Ok(Claim::Replay { status, body })
        }
        _ => Err(Error::InProgress),
    }
}

/// In the plan's transaction: locks the key's row and checks the claim is still
/// ours (not taken over as abandoned).
pub async fn hold(tx: &mut PgConnection, scope: Scope<'_>, claim: Uuid) -> Result<(), Error> {
    let current: Option<(Uuid, Option<i16>)> = sqlx::query_as(
        "SELECT claim, response_status FROM intent_requests
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3 FOR UPDATE",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .fetch_optional(&mut *tx)
    .await?;
    match current {
        Some((held, None)) if held == claim => Ok(()),
        _ => Err(Error::InProgress),
    }
}

/// Saves the answer, in the transaction that made the plan (after [`hold`]).
pub async fn complete(
    tx: &mut PgConnection,
    scope: Scope<'_>,
    plan_id: Uuid,
    status: StatusCode,
    body: &Value,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE intent_requests
         SET response_status = $4, response_body = $5, plan_id = $6, completed_at = now()
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .bind(i16::try_from(status.as_u16()).unwrap_or(500))
    .bind(body)
    .bind(plan_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Gives an unanswered key back after a failure, so a retry runs again.
pub async fn release(pool: &PgPool, scope: Scope<'_>, claim: Uuid) -> Result<(), Error> {
    sqlx::query(
        "DELETE FROM intent_requests
         WHERE tenant_id = $1 AND user_id = $2 AND idempotency_key = $3 AND claim = $4
           AND response_status IS NULL",
    )
    .bind(scope.tenant_id)
    .bind(scope.user_id)
    .bind(scope.key)
    .bind(claim)
    .execute(pool)
    .await?;
    Ok(())
}
