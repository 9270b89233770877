//! Token budgets: one reservation per saga (`token_budgets`), bounded per user of a
//! tenant, released by compensation (a tombstone when nothing was reserved yet) and
//! settled on export. Every function is scoped by the tenant of the command: a saga
//! of another tenant has no budget here.

use sqlx::PgConnection;
use uuid::Uuid;

/// Reason given to a GenerateDocument whose saga's budget was released.
pub const CANCELLED: &str = "generation cancelled";

/// A saga's reservation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Budget {
    pub saga_id: Uuid,
    pub user_id: Option<String>,
    pub reserved: i64,
    pub used: i64,
    pub released: i64,
    /// `reserved`, `released` or `settled`.
    pub status: String,
}

impl Budget {
    /// Tokens still available to the saga.
    pub fn remaining(&self) -> i64 {
        (self.reserved - self.used).max(0)
    }
}

/// The saga's budget row, locked for the rest of the transaction: a concurrent
/// release waits for an in-flight generation (and the other way round).
pub async fn lock(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
) -> Result<Option<Budget>, sqlx::Error> {
    sqlx::query_as(
        "SELECT saga_id, user_id, reserved, used, released, status FROM token_budgets
         WHERE saga_id = $1 AND tenant_id = $2 FOR UPDATE",
    )
    .bind(saga_id)
    .bind(tenant_id)
    .fetch_optional(tx)
    .await
}

/// Reserves `tokens` more for the saga (on top of what it used), refusing when the
/// request alone or the (tenant, user)'s open reservations would pass `limit`. `Ok(Err(reason))`
/// is a refusal. The caller holds the lock ([`lock`]) or the saga has no row yet.
pub async fn reserve(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    user_id: &str,
    tokens: i64,
    limit: i64,
) -> Result<Result<Budget, String>, sqlx::Error> {
    if let Err(reason) = check(tx, tenant_id, saga_id, user_id, tokens, limit).await? {
        return Ok(Err(reason));
    }
    let budget = sqlx::query_as(
        "INSERT INTO token_budgets (saga_id, user_id, reserved, status, tenant_id)
         VALUES ($1, $2, $3, 'reserved', $4)
         ON CONFLICT (saga_id) DO UPDATE SET reserved = token_budgets.used + $3, updated_at = now()
         WHERE token_budgets.tenant_id = $4
         RETURNING saga_id, user_id, reserved, used, released, status",
    )
    .bind(saga_id)
    .bind(user_id)
    .bind(tokens)
    .bind(tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(budget.ok_or_else(|| "the saga belongs to another tenant".to_owned()))
}

/// Why [`reserve`] would refuse `tokens` for the saga now, if it would (`Ok(Err)`);
/// reads only.
pub async fn check(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    user_id: &str,
    tokens: i64,
    limit: i64,
) -> Result<Result<(), String>, sqlx::Error> {
    if tokens <= 0 {
        return Ok(Err(format!("no token budget left ({tokens})")));
    }
    if tokens > limit {
        return Ok(Err(format!(
            "token budget {tokens} exceeds the per-user limit of {limit}"
        )));
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(GREATEST(reserved - used, 0)), 0)::BIGINT FROM token_budgets
         WHERE tenant_id = $3 AND user_id = $1 AND status = 'reserved' AND saga_id <> $2",
    )
    .bind(user_id)
    .bind(saga_id)
    .bind(tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    if open + tokens > limit {
        return Ok(Err(format!(
            "user token limit reached: {open} tokens already reserved, {tokens} more would pass {limit}"
        )));
    }
    Ok(Ok(()))
}

/// Adds `tokens` to the saga's usage (once per recorded completion: see
/// `crate::completions::record`). A budget released or settled while the call was
/// in flight gives back only what is left.
pub async fn spend(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    tokens: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE token_budgets SET used = used + $3,
             released = CASE WHEN status = 'reserved' THEN released
                             ELSE GREATEST(reserved - used - $3, 0) END,
             updated_at = now()
         WHERE saga_id = $1 AND tenant_id = $2",
    )
    .bind(saga_id)
    .bind(tenant_id)
    .bind(tokens.max(0))
    .execute(tx)
    .await?;
    Ok(())
}

/// Gives back the unused reservation; a saga with no row gets a `released` tombstone.
/// Returns the tokens released (the same on every repeat).
pub async fn release(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    user_id: &str,
    reason: &str,
) -> Result<i64, sqlx::Error> {
    let tombstone: Option<i64> = sqlx::query_scalar(
        "INSERT INTO token_budgets (saga_id, user_id, status, reason, tenant_id)
         VALUES ($1, NULLIF($2, ''), 'released', $3, $4)
         ON CONFLICT (saga_id) DO NOTHING RETURNING released",
    )
    .bind(saga_id)
    .bind(user_id)
    .bind(reason)
    .bind(tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(released) = tombstone {
        return Ok(released);
    }
    let released: Option<i64> = sqlx::query_scalar(
        "UPDATE token_budgets SET
             released = CASE WHEN status = 'reserved' THEN GREATEST(reserved - used, 0) ELSE released END,
             reason = CASE WHEN status = 'reserved' THEN $2 ELSE reason END,
             status = CASE WHEN status = 'settled' THEN 'settled' ELSE 'released' END,
             updated_at = now()
         WHERE saga_id = $1 AND tenant_id = $3 RETURNING released",
    )
    .bind(saga_id)
    .bind(reason)
    .bind(tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    // None: the saga is another tenant's; nothing of ours to release.
    Ok(released.unwrap_or(0))
}

/// The document was exported: give back what the saga did not use.
pub async fn settle(
    tx: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE token_budgets SET status = 'settled', released = GREATEST(reserved - used, 0),
             updated_at = now()
         WHERE saga_id = $1 AND tenant_id = $2 AND status = 'reserved'",
    )
    .bind(saga_id)
    .bind(tenant_id)
    .execute(tx)
    .await?;
    Ok(())
}
