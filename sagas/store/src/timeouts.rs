//! Durable timers: a saga's deadlines and retry backoffs are rows, so they
//! survive restarts; any orchestrator replica may fire a due one (claimed with
//! `FOR UPDATE SKIP LOCKED`, deleted in the transaction that applies it).

use chrono::{DateTime, Utc};
use sagaflow_bus::traceparent::TraceParent;
use sagaflow_saga_engine::{InFlight, Input, Phase};
use sqlx::{PgConnection, PgPool, Row};
use tracing::Instrument;
use uuid::Uuid;

use crate::definitions::Definitions;
use crate::driver::apply;
use crate::error::Error;

fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::Forward => "forward",
        Phase::Compensation => "compensation",
    }
}

fn parse_phase(text: &str) -> Option<Phase> {
    match text {
        "forward" => Some(Phase::Forward),
        "compensation" => Some(Phase::Compensation),
        _ => None,
    }
}

/// Stores (or moves) a timer.
pub async fn schedule(
    conn: &mut PgConnection,
    saga_id: Uuid,
    step: usize,
    phase: Phase,
    attempt: u32,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO saga_timeouts (saga_id, step, phase, attempt, fire_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (saga_id, step, phase, attempt) DO UPDATE SET fire_at = EXCLUDED.fire_at",
    )
    .bind(saga_id)
    .bind(step as i32)
    .bind(phase_text(phase))
    .bind(attempt as i32)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the saga's timers that no longer matter: all but the in-flight
/// attempt's (a completed step's deadline would otherwise fire later for nothing).
pub async fn clear_stale(
    conn: &mut PgConnection,
    saga_id: Uuid,
    in_flight: Option<&InFlight>,
) -> Result<(), Error> {
    match in_flight {
        Some(current) => {
            sqlx::query(
                "DELETE FROM saga_timeouts WHERE saga_id = $1 AND NOT (step = $2 AND phase = $3 AND attempt = $4)",
            )
            .bind(saga_id)
            .bind(current.step as i32)
            .bind(phase_text(current.phase))
            .bind(current.attempt as i32)
            .execute(conn)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM saga_timeouts WHERE saga_id = $1")
                .bind(saga_id)
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// Fires up to `limit` due timers, each in its own transaction, and returns how
/// many fired. A timer for a step that has moved on is stale and decides nothing.
pub async fn fire_due(
    pool: &PgPool,
    definitions: &Definitions,
    limit: usize,
) -> Result<usize, Error> {
    let mut fired = 0;
    while fired < limit {
        let mut tx = pool.begin().await?;
        let row = sqlx::query(
            "DELETE FROM saga_timeouts WHERE (saga_id, step, phase, attempt) = (
                 SELECT saga_id, step, phase, attempt FROM saga_timeouts
                 WHERE fire_at <= now() ORDER BY fire_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING saga_id, step, phase, attempt,
                       (SELECT traceparent FROM sagas s WHERE s.saga_id = saga_timeouts.saga_id)
                         AS traceparent",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { break };
        let saga_id: Uuid = row.try_get("saga_id")?;
        let step: i32 = row.try_get("step")?;
        let phase: String = row.try_get("phase")?;
        let attempt: i32 = row.try_get("attempt")?;
        let phase = parse_phase(&phase).ok_or_else(|| Error::Corrupt {
            saga_id,
            reason: format!("timer with phase {phase}"),
        })?;
        let input = Input::Timeout {
            step: step as usize,
            phase,
            attempt: attempt as u32,
        };
        // The timeout belongs to the saga's trace: its span is a child of the
        // saga's start, and the commands it sends are children of the span.
        let traceparent: Option<String> = row.try_get("traceparent")?;
        let span = tracing::info_span!(
            "timeout",
            otel.name = "orchestrator timeout",
            saga_id = %saga_id,
            step,
            attempt,
        );
        if let Some(parent) = traceparent.as_deref().and_then(TraceParent::parse) {
            parent.adopt(&span);
        }
        let applied = apply(&mut tx, definitions, saga_id, &input, None, Utc::now())
            .instrument(span)
            .await;
        match applied {
            Ok(_) => {}
            // A timer the saga no longer accepts is simply consumed.
            Err(Error::Rejected(reason)) => tracing::debug!(%saga_id, %reason, "stale timer"),
            Err(err) => return Err(err),
        }
        tx.commit().await?;
        fired += 1;
    }
    Ok(fired)
}

/// The earliest pending timer, to sleep until it.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(sqlx::query_scalar("SELECT min(fire_at) FROM saga_timeouts")
        .fetch_one(pool)
        .await?)
}
