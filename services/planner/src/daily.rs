//! The per-user daily money budget (`daily_spend`, keyed by tenant, user and UTC
//! day): what a user's plans committed today, tax included, in the budget
//! currency. A plan is counted when it starts running (at once, or when it is
//! confirmed), not when it is drafted: a dry run or a plan awaiting confirmation
//! spends nothing until then. A plan whose checkout fails later stays counted
//! (the budget errs on the side of spending less).
//!
//! Validation takes the day's row with [`lock_spent`] (`FOR UPDATE`), so two
//! plans of one user validated at once are counted one after the other; the
//! start adds to it with [`add`] in the same transaction. Rows older than two
//! days are pruned by the sweep (`crate::sweep`).

use chrono::{NaiveDate, Utc};
use sqlx::PgConnection;

use crate::caller::Caller;

/// Today, in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// What `caller`'s plans committed on `day`, with the row locked until the
/// transaction ends.
pub async fn lock_spent(
    conn: &mut PgConnection,
    caller: &Caller,
    day: NaiveDate,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO daily_spend (tenant_id, user_id, day) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(day)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "SELECT spent_minor FROM daily_spend
         WHERE tenant_id = $1 AND user_id = $2 AND day = $3 FOR UPDATE",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(day)
    .fetch_one(conn)
    .await
}

/// Counts `amount_minor` against `caller`'s budget of `day`.
pub async fn add(
    conn: &mut PgConnection,
    caller: &Caller,
    day: NaiveDate,
    amount_minor: i64,
) -> Result<(), sqlx::Error> {
    if amount_minor <= 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO daily_spend (tenant_id, user_id, day, spent_minor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, user_id, day)
         DO UPDATE SET spent_minor = daily_spend.spent_minor + EXCLUDED.spent_minor",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(day)
    .bind(amount_minor)
    .execute(conn)
    .await?;
    Ok(())
}
