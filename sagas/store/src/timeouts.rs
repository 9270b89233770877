//! Durable timers: a saga's deadlines and retry backoffs are rows of
//! `saga_timeouts`, so they survive restarts and any replica may fire a due one
//! ([`fire_due`] in the orchestrator, [`fire_due_with`] in the planner).
//!
//! # Lock order
//! Every path that touches a saga and its timers locks the saga's `sagas` row
//! first and only then writes its timers, so no two of them can wait on each
//! other in opposite orders (PostgreSQL would abort one as a deadlock):
//! - replies, operator inputs and starts ([`crate::driver`]):
//!   [`crate::log::load_for_update`] (`FOR UPDATE`), then [`clear_stale`] and
//!   [`schedule`];
//! - [`fire_due`] (and [`fire_due_with`], the same claim step with the caller's
//!   own way of applying the timer): reads due timers *without* locking them,
//!   locks the saga row (`FOR UPDATE SKIP LOCKED`: a saga busy with a reply is
//!   simply left for the next round), then deletes the timer (if a reply has not
//!   moved it meanwhile) and applies it. A row of the caller's own that
//!   [`fire_due_with`]'s step locks comes after the saga row, so where other
//!   paths lock it first the step must only try it (`SKIP LOCKED`) and leave
//!   the timer for later when it is busy (the planner's plan rows);
//! - [`unpark`]: the saga row, then its parked timers.
//!
//! # One bad timer blocks nothing
//! A timer whose firing fails with anything but a rejection (the saga's state is
//! unreadable, its definition version is not deployed, a command does not
//! encode, the saga is gone, a permanent database error) is *parked* in the same
//! transaction: the row stays with `parked_at`, `reason_kind` and `reason`, is
//! counted in `sagaflow_timers_parked_total{reason_kind}` and logged with the
//! saga id, and the round goes on with the next timer. Parked timers are never
//! picked again by themselves ([`list_parked`], [`unpark`]). A transient error
//! ([`Error::is_transient`]: connection lost, deadlock, ...) parks nothing: it
//! ends the round, and the loop retries later. A timer the saga no longer
//! accepts (stale, rejected) is simply consumed.
//!
//! # Layout
//! - this file: store, clear and fire timers;
//! - [`parked`]: park, list, unpark, and the `sagaflow_timers_parked` gauge.

pub mod parked;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_saga_engine::{InFlight, Input, Phase};
use sqlx::{Connection, PgConnection, PgPool, Row};
use tracing::Instrument;
use uuid::Uuid;

use crate::definitions::Definitions;
use crate::driver::apply;
use crate::error::Error;

pub use parked::{ParkedTimer, list_parked, report_parked, unpark};

/// How many due timers one query reads.
const BATCH: usize = 100;

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

/// Stores (or moves) a timer. Scheduling a parked timer's key again makes it a
/// live timer: the saga has moved on and decided it anew.
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
         ON CONFLICT (saga_id, step, phase, attempt) DO UPDATE
             SET fire_at = EXCLUDED.fire_at, parked_at = NULL, reason_kind = NULL, reason = NULL",
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
/// attempt's (a completed step's deadline would otherwise fire later for nothing),
/// parked ones included. The caller holds the saga's row lock.
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

/// One timer, by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerKey {
    pub saga_id: Uuid,
    pub step: i32,
    /// `forward` or `compensation`.
    pub phase: String,
    pub attempt: i32,
}

/// What one [`fire_due`] round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Timers applied to their saga (a stale one, which decides nothing, too).
    pub fired: usize,
    /// Timers parked with their reason.
    pub parked: usize,
}

impl Round {
    /// Timers this round took off the due list.
    pub fn handled(&self) -> usize {
        self.fired + self.parked
    }
}

/// What became of one due timer.
enum Fate {
    Fired,
    Parked,
    /// Its saga is locked by another transaction, or a reply moved the timer.
    Skipped,
}

/// Fires up to `limit` due timers, oldest first, each in its own transaction:
/// [`apply`] with the saga's [`Definitions`]. A timer that cannot fire is parked
/// and the round goes on; a transient error ends the round with `Err` (what
/// fired before it stays fired).
pub async fn fire_due(
    pool: &PgPool,
    definitions: &Definitions,
    limit: usize,
) -> Result<Round, Error> {
    fire_due_with(
        pool,
        limit,
        definitions,
        |conn, definitions, saga_id, input| {
            Box::pin(async move {
                apply(conn, definitions, saga_id, input, None, Utc::now()).await?;
                Ok(true)
            })
        },
    )
    .await
}

/// The future of [`fire_due_with`]'s step: boxed and `Send`, so a timer loop
/// can run in a spawned task.
pub type Firing<'c> = Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'c>>;

/// [`fire_due`] for a service whose sagas carry rows of its own that every input
/// must update in the same transaction (the planner's plans): `fire` applies the
/// timer's input to its saga instead of [`apply`], given `context` (what it
/// needs besides the connection: definitions, say). It runs in the timer's
/// transaction, after the saga row is locked and the timer taken, so whatever
/// else it locks comes after the saga row; it returns `Ok(false)` to leave the
/// timer due for a later round (a row it must lock is busy elsewhere). Its
/// errors count as [`apply`]'s: a rejection consumes the timer, a transient
/// error ends the round, and any other parks the timer with its reason.
pub async fn fire_due_with<C, F>(
    pool: &PgPool,
    limit: usize,
    context: &C,
    fire: F,
) -> Result<Round, Error>
where
    C: Sync + ?Sized,
    F: for<'c> Fn(&'c mut PgConnection, &'c C, Uuid, &'c Input) -> Firing<'c>,
{
    let mut round = Round::default();
    while round.handled() < limit {
        let due = due_timers(pool, (limit - round.handled()).min(BATCH)).await?;
        if due.is_empty() {
            break;
        }
        let before = round.handled();
        for timer in &due {
            match fire_one(pool, context, &fire, timer).await? {
                Fate::Fired => round.fired += 1,
                Fate::Parked => round.parked += 1,
                Fate::Skipped => {}
            }
        }
        // Everything still due belongs to sagas busy elsewhere: next round.
        if round.handled() == before {
            break;
        }
    }
    if round.parked > 0 {
        report_parked(pool).await?;
    }
    Ok(round)
}

/// Due live timers, oldest first, read without locking anything.
async fn due_timers(pool: &PgPool, limit: usize) -> Result<Vec<TimerKey>, Error> {
    let rows = sqlx::query(
        "SELECT saga_id, step, phase, attempt FROM saga_timeouts
         WHERE fire_at <= now() AND parked_at IS NULL
         ORDER BY fire_at LIMIT $1",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(TimerKey {
                saga_id: row.try_get("saga_id")?,
                step: row.try_get("step")?,
                phase: row.try_get("phase")?,
                attempt: row.try_get("attempt")?,
            })
        })
        .collect()
}

/// Locks the timer's saga, then takes the timer and applies it; parks it if that
/// fails for good. See the module docs for the lock order.
async fn fire_one<C, F>(
    pool: &PgPool,
    context: &C,
    fire: &F,
    timer: &TimerKey,
) -> Result<Fate, Error>
where
    C: Sync + ?Sized,
    F: for<'c> Fn(&'c mut PgConnection, &'c C, Uuid, &'c Input) -> Firing<'c>,
{
    let mut tx = pool.begin().await?;
    let locked: Option<Option<String>> = sqlx::query_scalar(
        "SELECT traceparent FROM sagas WHERE saga_id = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(timer.saga_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(traceparent) = locked else {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sagas WHERE saga_id = $1)")
                .bind(timer.saga_id)
                .fetch_one(&mut *tx)
                .await?;
        if exists {
            return Ok(Fate::Skipped);
        }
        // No saga to lock: nothing else writes this timer but another parker.
        let parked = parked::park(&mut tx, timer, &Error::NotFound(timer.saga_id)).await?;
        tx.commit().await?;
        return Ok(if parked { Fate::Parked } else { Fate::Skipped });
    };

    // Everything the timer does happens in a savepoint, so a failure can be
    // undone and the timer parked in the same transaction, under the same lock.
    let mut attempt = Connection::begin(&mut *tx).await?;
    match take_and_fire(&mut attempt, context, fire, timer, traceparent).await {
        // Dropping the savepoint and the transaction puts the timer back.
        Ok(false) => Ok(Fate::Skipped),
        Ok(true) => {
            attempt.commit().await?;
            tx.commit().await?;
            Ok(Fate::Fired)
        }
        // A timer the saga no longer accepts is simply consumed.
        Err(Error::Rejected(reason)) => {
            tracing::debug!(saga_id = %timer.saga_id, %reason, "stale timer");
            attempt.commit().await?;
            tx.commit().await?;
            Ok(Fate::Fired)
        }
        Err(err) if err.is_transient() => Err(err),
        Err(err) => {
            attempt.rollback().await?;
            let parked = parked::park(&mut tx, timer, &err).await?;
            tx.commit().await?;
            Ok(if parked { Fate::Parked } else { Fate::Skipped })
        }
    }
}

/// Deletes the timer and fires it at its saga, whose row the caller has locked;
/// false if a reply moved or cleared the timer since it was read, or `fire` left
/// it for later.
async fn take_and_fire<C, F>(
    conn: &mut PgConnection,
    context: &C,
    fire: &F,
    timer: &TimerKey,
    traceparent: Option<String>,
) -> Result<bool, Error>
where
    C: Sync + ?Sized,
    F: for<'c> Fn(&'c mut PgConnection, &'c C, Uuid, &'c Input) -> Firing<'c>,
{
    let taken = sqlx::query(
        "DELETE FROM saga_timeouts
         WHERE saga_id = $1 AND step = $2 AND phase = $3 AND attempt = $4
           AND parked_at IS NULL AND fire_at <= now()",
    )
    .bind(timer.saga_id)
    .bind(timer.step)
    .bind(&timer.phase)
    .bind(timer.attempt)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(false);
    }
    let saga_id = timer.saga_id;
    let phase = parse_phase(&timer.phase).ok_or_else(|| Error::Corrupt {
        saga_id,
        reason: format!("timer with phase {}", timer.phase),
    })?;
    let (Ok(step), Ok(attempt)) = (usize::try_from(timer.step), u32::try_from(timer.attempt))
    else {
        return Err(Error::Corrupt {
            saga_id,
            reason: format!("timer for step {} attempt {}", timer.step, timer.attempt),
        });
    };
    let input = Input::Timeout {
        step,
        phase,
        attempt,
    };
    // The timeout belongs to the saga's trace: its span is a child of the
    // saga's start, and the commands it sends are children of the span.
    let span = tracing::info_span!(
        "timeout",
        otel.name = "saga timeout",
        saga_id = %saga_id,
        step,
        attempt,
    );
    MessageTrace::from_traceparent(traceparent.as_deref()).adopt(&span);
    fire(conn, context, saga_id, &input).instrument(span).await
}

/// The earliest live (not parked) timer, to sleep until it.
pub async fn next_due(pool: &PgPool) -> Result<Option<DateTime<Utc>>, Error> {
    Ok(
        sqlx::query_scalar("SELECT min(fire_at) FROM saga_timeouts WHERE parked_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}
