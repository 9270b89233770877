//! A saga's log: the `sagas` row (context and folded state) and its events.

use sagaflow_saga_engine::{SagaEvent, SagaState, replay};
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::driver::SagaContext;
use crate::error::Error;

/// A saga as loaded for a decision.
pub struct Loaded {
    pub state: SagaState,
    pub context: SagaContext,
}

/// Loads a saga and locks its row until the transaction ends, so inputs for one
/// saga are decided one at a time. This is the first lock any path takes on a
/// saga: its timers are written only after it (see [`crate::timeouts`]).
pub async fn load_for_update(
    conn: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Option<Loaded>, Error> {
    let row = sqlx::query(
        "SELECT tenant_id, correlation_id, traceparent, state FROM sagas WHERE saga_id = $1 FOR UPDATE",
    )
    .bind(saga_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let Json(state): Json<SagaState> = row.try_get("state").map_err(|err| Error::Corrupt {
        saga_id,
        reason: err.to_string(),
    })?;
    Ok(Some(Loaded {
        state,
        context: SagaContext {
            tenant_id: row.try_get("tenant_id")?,
            correlation_id: row.try_get("correlation_id")?,
            traceparent: row.try_get("traceparent")?,
        },
    }))
}

/// Appends `events` after `before` (none for a new saga) and stores `after` as the
/// snapshot. A concurrent append of the same seq fails with [`Error::Conflict`].
pub async fn append(
    conn: &mut PgConnection,
    context: &SagaContext,
    before: Option<&SagaState>,
    events: &[SagaEvent],
    after: &SagaState,
) -> Result<(), Error> {
    let first_seq = before.map_or(0, |s| s.seq) as i64 + 1;
    let mut seqs = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut bodies = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        seqs.push(first_seq + i as i64);
        kinds.push(kind(event));
        bodies.push(Json(event));
    }
    if before.is_none() {
        sqlx::query(
            "INSERT INTO sagas (saga_id, definition, version, tenant_id, correlation_id, traceparent,
                                status, paused, seq, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(after.saga_id)
        .bind(&after.definition)
        .bind(after.version as i32)
        .bind(&context.tenant_id)
        .bind(context.correlation_id)
        .bind(&context.traceparent)
        .bind(status_text(after))
        .bind(after.paused)
        .bind(after.seq as i64)
        .bind(Json(after))
        .bind(after.started_at)
        .bind(after.updated_at)
        .execute(&mut *conn)
        .await
        .map_err(|err| conflict_or(err, after.saga_id))?;
    } else {
        sqlx::query(
            "UPDATE sagas SET status = $2, paused = $3, seq = $4, state = $5, updated_at = $6
             WHERE saga_id = $1",
        )
        .bind(after.saga_id)
        .bind(status_text(after))
        .bind(after.paused)
        .bind(after.seq as i64)
        .bind(Json(after))
        .bind(after.updated_at)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "INSERT INTO saga_events (saga_id, seq, kind, event)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::jsonb[])",
    )
    .bind(after.saga_id)
    .bind(&seqs)
    .bind(&kinds)
    .bind(&bodies)
    .execute(&mut *conn)
    .await
    .map_err(|err| conflict_or(err, after.saga_id))?;
    Ok(())
}

fn conflict_or(err: sqlx::Error, saga_id: Uuid) -> Error {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::Conflict(saga_id),
        _ => Error::Database(err),
    }
}

/// The saga's whole log, in order.
pub async fn events(
    conn: &mut PgConnection,
    saga_id: Uuid,
) -> Result<Vec<(i64, SagaEvent)>, Error> {
    let rows = sqlx::query("SELECT seq, event FROM saga_events WHERE saga_id = $1 ORDER BY seq")
        .bind(saga_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let Json(event): Json<SagaEvent> =
                row.try_get("event").map_err(|err| Error::Corrupt {
                    saga_id,
                    reason: format!("event {seq}: {err}"),
                })?;
            Ok((seq, event))
        })
        .collect()
}

/// Rebuilds the state from the log alone (the snapshot is only a cache).
pub async fn replayed(conn: &mut PgConnection, saga_id: Uuid) -> Result<Option<SagaState>, Error> {
    let events = events(conn, saga_id).await?;
    Ok(replay(events.iter().map(|(_, e)| e)))
}

/// The event's type tag (`started`, `command_sent`, ...).
pub fn kind(event: &SagaEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The status as stored and shown (`running`, `compensated`, ...).
pub fn status_text(state: &SagaState) -> String {
    serde_json::to_value(state.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}
