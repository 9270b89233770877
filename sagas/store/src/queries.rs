//! Operator reads: find stuck sagas in one query, show a log, report versions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::Error;

/// One saga in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct SagaSummary {
    pub saga_id: Uuid,
    pub definition: String,
    pub version: i32,
    pub status: String,
    pub paused: bool,
    pub tenant_id: String,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Filter for [`list`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    /// Only sagas not updated for at least this many seconds (stuck ones).
    pub idle_secs: Option<i64>,
    pub definition: Option<String>,
    pub limit: i64,
}

/// Sagas by status and age, oldest update first.
pub async fn list(conn: &mut PgConnection, filter: &Filter) -> Result<Vec<SagaSummary>, Error> {
    let rows = sqlx::query(
        "SELECT saga_id, definition, version, status, paused, tenant_id, seq, created_at, updated_at
         FROM sagas
         WHERE ($1::text IS NULL OR status = $1)
           AND ($2::bigint IS NULL OR updated_at <= now() - make_interval(secs => $2))
           AND ($3::text IS NULL OR definition = $3)
         ORDER BY updated_at
         LIMIT $4",
    )
    .bind(&filter.status)
    .bind(filter.idle_secs)
    .bind(&filter.definition)
    .bind(filter.limit.clamp(1, 1000))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(SagaSummary {
                saga_id: row.try_get("saga_id")?,
                definition: row.try_get("definition")?,
                version: row.try_get("version")?,
                status: row.try_get("status")?,
                paused: row.try_get("paused")?,
                tenant_id: row.try_get("tenant_id")?,
                seq: row.try_get("seq")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

/// In-flight sagas per definition version (what still runs an old version).
#[derive(Debug, Clone, Serialize)]
pub struct VersionCount {
    pub definition: String,
    pub version: i32,
    pub in_flight: i64,
}

pub async fn version_report(conn: &mut PgConnection) -> Result<Vec<VersionCount>, Error> {
    let rows = sqlx::query(
        "SELECT definition, version, count(*) AS in_flight FROM sagas
         WHERE status IN ('running', 'compensating')
         GROUP BY definition, version ORDER BY definition, version",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(VersionCount {
                definition: row.try_get("definition")?,
                version: row.try_get("version")?,
                in_flight: row.try_get("in_flight")?,
            })
        })
        .collect()
}

/// Counts of sagas per status.
pub async fn status_counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, Error> {
    let rows =
        sqlx::query("SELECT status, count(*) AS n FROM sagas GROUP BY status ORDER BY status")
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
        .collect()
}
