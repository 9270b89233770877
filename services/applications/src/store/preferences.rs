//! The `preferences` table: one row per owner.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Error, Owner};
use crate::preferences::Preferences;

#[derive(sqlx::FromRow)]
struct Row {
    locations: Vec<String>,
    remote_ok: bool,
    salary_target: Option<i64>,
    salary_currency: Option<String>,
    preferred_stack: Vec<String>,
    avoided_stack: Vec<String>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn split(self) -> (Preferences, Option<DateTime<Utc>>) {
        (
            Preferences {
                locations: self.locations,
                remote_ok: self.remote_ok,
                salary_target: self.salary_target,
                salary_currency: self.salary_currency,
                preferred_stack: self.preferred_stack,
                avoided_stack: self.avoided_stack,
            },
            Some(self.updated_at),
        )
    }
}

const COLUMNS: &str = "locations, remote_ok, salary_target, salary_currency, preferred_stack, avoided_stack, updated_at";

/// The owner's preferences and when they were saved (nothing set: the default and
/// `None`).
pub async fn get(
    pool: &PgPool,
    owner: &Owner,
) -> Result<(Preferences, Option<DateTime<Utc>>), Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM preferences WHERE tenant_id = $1 AND user_id = $2"
    ))
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or((Preferences::default(), None), Row::split))
}

/// Replaces the owner's preferences.
pub async fn put(
    pool: &PgPool,
    owner: &Owner,
    prefs: &Preferences,
) -> Result<(Preferences, Option<DateTime<Utc>>), Error> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO preferences (tenant_id, user_id, locations, remote_ok, salary_target,
             salary_currency, preferred_stack, avoided_stack, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET locations = EXCLUDED.locations,
             remote_ok = EXCLUDED.remote_ok, salary_target = EXCLUDED.salary_target,
             salary_currency = EXCLUDED.salary_currency,
             preferred_stack = EXCLUDED.preferred_stack, avoided_stack = EXCLUDED.avoided_stack,
             updated_at = now()
         RETURNING {COLUMNS}"
    ))
    .bind(&owner.tenant_id)
    .bind(&owner.user_id)
    .bind(&prefs.locations)
    .bind(prefs.remote_ok)
    .bind(prefs.salary_target)
    .bind(&prefs.salary_currency)
    .bind(&prefs.preferred_stack)
    .bind(&prefs.avoided_stack)
    .fetch_one(pool)
    .await?;
    Ok(row.split())
}
