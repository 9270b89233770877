//! Erasing a user (in one tenant) and refusing late commands for them.
//!
//! [`erase`] deletes every row of the (tenant, user), records the user's sagas in
//! `erased_sagas` and a tombstone in `erasures` that names the user only by a hash
//! ([`subject`]). [`guard`] runs first in every command's transaction: a command for
//! an erased saga, or for a saga of an erased user started before the erasure (saga
//! ids are UUIDv7, so their time is known), is refused and stores nothing.
//!
//! Erasure and commands are serialised per (tenant, user) by a transaction-scoped
//! advisory lock (shared for commands, exclusive for the erasure), so a command that
//! passed the guard commits before the erasure deletes, or sees its tombstone.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

/// The reason given to a refused command.
pub const ERASED: &str = "the user's data was erased";

/// How a user is named in `erasures`: sha256 of `<tenant>\0<user>`, hex.
pub fn subject(tenant_id: &str, user_id: &str) -> String {
    Sha256::digest(format!("{tenant_id}\u{0}{user_id}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub use sagaflow_bus::erasure::{requested_at, saga_started};

/// The (tenant, user)'s advisory lock until the transaction ends: shared for a
/// write of their data, exclusive for their erasure.
async fn lock(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    exclusive: bool,
) -> Result<(), sqlx::Error> {
    sagaflow_bus::erasure::lock(conn, "generation", tenant_id, user_id, exclusive).await
}

/// Whether a command of `tenant_id` for `saga_id` (of `user_id` when the command
/// names one, else the saga's stored user) must be refused because of an erasure.
/// A refused saga is added to `erased_sagas`, so its later commands that name no
/// user are refused too. Takes the (tenant, user)'s shared lock for the rest of the
/// transaction.
pub async fn guard(
    conn: &mut PgConnection,
    tenant_id: &str,
    saga_id: Uuid,
    user_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let user_id = match user_id {
        Some(user) => Some(user.to_owned()),
        None => sqlx::query_scalar::<_, Option<String>>(
            "SELECT user_id FROM generations WHERE saga_id = $1 AND tenant_id = $2",
        )
        .bind(saga_id)
        .bind(tenant_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten(),
    };
    if let Some(user_id) = &user_id {
        lock(conn, tenant_id, user_id, false).await?;
        let erased_at: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT erased_at FROM erasures WHERE tenant_id = $1 AND subject = $2",
        )
        .bind(tenant_id)
        .bind(subject(tenant_id, user_id))
        .fetch_optional(&mut *conn)
        .await?;
        // A saga whose start is unknown counts as started before the erasure.
        let late = erased_at
            .is_some_and(|erased_at| sagaflow_bus::erasure::started_before(saga_id, erased_at));
        if late {
            sqlx::query(
                "INSERT INTO erased_sagas (saga_id, tenant_id) VALUES ($1, $2)
                 ON CONFLICT (saga_id) DO NOTHING",
            )
            .bind(saga_id)
            .bind(tenant_id)
            .execute(&mut *conn)
            .await?;
            return Ok(true);
        }
    }
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erased_sagas WHERE saga_id = $1)")
        .bind(saga_id)
        .fetch_one(conn)
        .await
}

/// Deletes everything stored about `user_id` in `tenant_id` (documents and their
/// files, LLM completions, calls and cache entries, budgets, sagas' working data, CV
/// versions, the user), records the user's sagas in `erased_sagas` and the
/// tombstone (`erased_at`, kept at the latest of repeated erasures). True when
/// something was deleted. Nothing of another tenant is touched.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    erased_at: DateTime<Utc>,
    erasure_id: Option<Uuid>,
) -> Result<bool, sqlx::Error> {
    lock(conn, tenant_id, user_id, true).await?;
    sqlx::query(
        "INSERT INTO erasures (tenant_id, subject, erased_at, erasure_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, subject) DO UPDATE SET
             erased_at = GREATEST(erasures.erased_at, $3),
             erasure_id = COALESCE($4, erasures.erasure_id)",
    )
    .bind(tenant_id)
    .bind(subject(tenant_id, user_id))
    .bind(erased_at)
    .bind(erasure_id)
    .execute(&mut *conn)
    .await?;
    let sagas: Vec<Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM generations WHERE tenant_id = $1 AND user_id = $2
         UNION SELECT saga_id FROM token_budgets WHERE tenant_id = $1 AND user_id = $2
         UNION SELECT saga_id FROM llm_completions WHERE tenant_id = $1 AND user_id = $2
         UNION SELECT saga_id FROM documents WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO erased_sagas (saga_id, tenant_id) SELECT unnest($1::UUID[]), $2
         ON CONFLICT (saga_id) DO NOTHING",
    )
    .bind(&sagas)
    .bind(tenant_id)
    .execute(&mut *conn)
    .await?;
    // What was published for those sagas (replies with document text) goes too.
    let mut deleted = sagaflow_bus::outbox::forget_sent(conn, tenant_id, &sagas).await?;
    for statement in [
        "DELETE FROM documents WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM documents WHERE tenant_id = $1 AND saga_id IN
             (SELECT saga_id FROM generations WHERE tenant_id = $1 AND user_id = $2)",
        "DELETE FROM llm_completions WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM llm_calls WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM llm_cache WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM token_budgets WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM generations WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM cv_versions WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM prompt_templates WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM stage_budgets WHERE tenant_id = $1 AND user_id = $2",
        "DELETE FROM users WHERE tenant_id = $1 AND user_id = $2",
    ] {
        deleted += sqlx::query(statement)
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    metrics::counter!("sagaflow_generation_erasures_total").increment(1);
    Ok(deleted > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_differ_per_tenant_and_hide_the_user() {
        let acme = subject("acme", "ada");
        assert_eq!(acme, subject("acme", "ada"));
        assert_ne!(acme, subject("globex", "ada"));
        assert_ne!(acme, subject("acm", "eada"));
        assert_eq!(acme.len(), 64, "a sha256 in hex");
        assert!(acme.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
