//! One bad timer blocks no other: against a real PostgreSQL, a timer whose saga
//! is corrupt, runs an undeployed definition version, or is gone is parked with
//! its reason while every healthy due timer fires in the same round; parked
//! timers stay parked until an operator unparks them; a transient database error
//! parks nothing; `fire_due_with` fires, defers and parks as its caller's step
//! answers.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Duration as Delta, Utc};
use common::{count_kind, start_at};
use sagaflow_saga_store::timeouts::{self, Round};
use sagaflow_saga_store::{Definitions, Error};
use sagaflow_test_support::TestDb;
use sqlx::Connection;
use uuid::Uuid;

#[tokio::test]
async fn bad_timers_are_parked_while_the_healthy_ones_fire() -> anyhow::Result<()> {
    let db = TestDb::create("parked").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition_with_timeout(
        Duration::from_millis(1),
    )]);
    let def = defs.latest("checkout").expect("checkout");
    let past = Utc::now() - Delta::seconds(5);

    let mut healthy = Vec::new();
    for _ in 0..10 {
        healthy.push(start_at(&db.pool, def, past).await?);
    }
    // A saga whose snapshot no longer decodes.
    let corrupt = start_at(&db.pool, def, past).await?;
    sqlx::query("UPDATE sagas SET state = '{\"broken\": true}'::jsonb WHERE saga_id = $1")
        .bind(corrupt)
        .execute(&db.pool)
        .await?;
    // A saga on a definition version this process does not run.
    let unknown = start_at(&db.pool, def, past).await?;
    sqlx::query(
        "UPDATE sagas SET version = 99, state = jsonb_set(state, '{version}', '99') WHERE saga_id = $1",
    )
    .bind(unknown)
    .execute(&db.pool)
    .await?;
    // A timer whose saga is gone (written past the foreign key, as a restore might).
    let orphan = Uuid::now_v7();
    let mut admin = sqlx::PgConnection::connect(&db.url).await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut admin)
        .await?;
    sqlx::query(
        "INSERT INTO saga_timeouts (saga_id, step, phase, attempt, fire_at)
         VALUES ($1, 0, 'forward', 1, now() - interval '2 hours')",
    )
    .bind(orphan)
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    // The bad timers are the oldest: the round meets them first.
    sqlx::query(
        "UPDATE saga_timeouts SET fire_at = now() - interval '1 hour' WHERE saga_id = ANY($1)",
    )
    .bind(vec![corrupt, unknown])
    .execute(&db.pool)
    .await?;

    let round = timeouts::fire_due(&db.pool, &defs, 100).await?;
    assert_eq!(
        round,
        Round {
            fired: 10,
            parked: 3
        },
        "the 10 healthy timers fire, the 3 bad ones are parked, in one round"
    );
    for saga in &healthy {
        assert_eq!(
            count_kind(&db.pool, *saga, "step_timed_out").await?,
            1,
            "saga {saga} timed out"
        );
    }

    let mut conn = db.pool.acquire().await?;
    let parked = timeouts::list_parked(&mut conn, None, 100).await?;
    let by_saga: BTreeMap<Uuid, (String, String)> = parked
        .iter()
        .map(|p| (p.saga_id, (p.reason_kind.clone(), p.reason.clone())))
        .collect();
    assert_eq!(parked.len(), 3, "{parked:?}");
    assert_eq!(by_saga[&corrupt].0, "corrupt");
    assert!(by_saga[&corrupt].1.contains("unreadable"), "{by_saga:?}");
    assert_eq!(by_saga[&unknown].0, "unknown_definition");
    assert!(by_saga[&unknown].1.contains("v99"), "{by_saga:?}");
    assert_eq!(by_saga[&orphan].0, "not_found");
    let orphan_row = parked.iter().find(|p| p.saga_id == orphan).expect("orphan");
    assert_eq!(orphan_row.definition, None, "no saga to describe");
    let unknown_row = parked.iter().find(|p| p.saga_id == unknown).expect("v99");
    assert_eq!(
        (unknown_row.definition.as_deref(), unknown_row.version),
        (Some("checkout"), Some(99))
    );
    assert!(
        timeouts::list_parked(&mut conn, Some("another-tenant"), 100)
            .await?
            .is_empty(),
        "a tenant sees its own parked timers only"
    );
    assert_eq!(timeouts::report_parked(&db.pool).await?, 3);

    // Parked timers are never picked again by themselves.
    let again = timeouts::fire_due(&db.pool, &defs, 100).await?;
    assert_eq!(again.parked, 0);
    assert_eq!(timeouts::list_parked(&mut conn, None, 100).await?.len(), 3);
    assert_eq!(count_kind(&db.pool, unknown, "step_timed_out").await?, 0);

    // The operator deploys what the saga needs (here: its version is v1 after
    // all) and unparks it: the timer fires on the next round.
    sqlx::query(
        "UPDATE sagas SET version = 1, state = jsonb_set(state, '{version}', '1') WHERE saga_id = $1",
    )
    .bind(unknown)
    .execute(&db.pool)
    .await?;
    let mut tx = db.pool.begin().await?;
    assert_eq!(timeouts::unpark(&mut tx, unknown).await?, 1);
    tx.commit().await?;
    let mut tx = db.pool.begin().await?;
    assert_eq!(timeouts::unpark(&mut tx, unknown).await?, 0, "nothing left");
    tx.commit().await?;
    let round = timeouts::fire_due(&db.pool, &defs, 100).await?;
    assert!(round.fired >= 1, "{round:?}");
    assert_eq!(count_kind(&db.pool, unknown, "step_timed_out").await?, 1);
    let left: Vec<Uuid> = timeouts::list_parked(&mut conn, None, 100)
        .await?
        .into_iter()
        .map(|p| p.saga_id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&corrupt) && left.contains(&orphan));
    assert_eq!(timeouts::report_parked(&db.pool).await?, 2);
    Ok(())
}

#[tokio::test]
async fn a_transient_error_ends_the_round_and_parks_nothing() -> anyhow::Result<()> {
    let db = TestDb::create("parked_transient").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition_with_timeout(
        Duration::from_millis(1),
    )]);
    let def = defs.latest("checkout").expect("checkout");
    let saga = start_at(&db.pool, def, Utc::now() - Delta::seconds(5)).await?;

    // A replica whose database went away: the round fails as transient.
    let gone = sqlx::PgPool::connect(&db.url).await?;
    gone.close().await;
    let err = timeouts::fire_due(&gone, &defs, 100)
        .await
        .expect_err("no database");
    assert!(err.is_transient(), "{err}");
    assert!(matches!(err, Error::Database(_)), "{err}");

    // Nothing was parked: with the database back, the timer fires.
    let mut conn = db.pool.acquire().await?;
    assert!(timeouts::list_parked(&mut conn, None, 10).await?.is_empty());
    let round = timeouts::fire_due(&db.pool, &defs, 100).await?;
    assert_eq!(round.fired, 1);
    assert_eq!(count_kind(&db.pool, saga, "step_timed_out").await?, 1);
    Ok(())
}

#[tokio::test]
async fn a_rescheduled_parked_timer_is_live_again() -> anyhow::Result<()> {
    let db = TestDb::create("parked_resched").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition_with_timeout(
        Duration::from_millis(1),
    )]);
    let def = defs.latest("checkout").expect("checkout");
    let saga = start_at(&db.pool, def, Utc::now() - Delta::seconds(5)).await?;
    // Parked for want of a definition...
    let none = Definitions::new(Vec::new());
    assert_eq!(timeouts::fire_due(&db.pool, &none, 10).await?.parked, 1);
    // ...then the saga decides the same timer anew (an operator's retry, say).
    let mut tx = db.pool.begin().await?;
    timeouts::schedule(
        &mut tx,
        saga,
        0,
        sagaflow_saga_engine::Phase::Forward,
        1,
        Utc::now() - Delta::seconds(1),
    )
    .await?;
    tx.commit().await?;
    let mut conn = db.pool.acquire().await?;
    assert!(timeouts::list_parked(&mut conn, None, 10).await?.is_empty());
    assert_eq!(timeouts::fire_due(&db.pool, &defs, 10).await?.fired, 1);
    Ok(())
}

#[tokio::test]
async fn fire_due_with_fires_with_the_callers_step_defers_and_parks_as_it_answers()
-> anyhow::Result<()> {
    let db = TestDb::create("parked_with").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition_with_timeout(
        Duration::from_millis(1),
    )]);
    let def = defs.latest("checkout").expect("checkout");
    let past = Utc::now() - Delta::seconds(5);
    let fires = start_at(&db.pool, def, past).await?;
    let deferred = start_at(&db.pool, def, past).await?;
    let fails = start_at(&db.pool, def, past).await?;

    // The caller's step: applies one saga's timer (with the saga's row locked:
    // another connection cannot take it), leaves one for later, and fails for
    // good on the third.
    let context = (db.pool.clone(), defs, deferred, fails);
    let round =
        timeouts::fire_due_with(&db.pool, 100, &context, |conn, context, saga_id, input| {
            Box::pin(async move {
                let (pool, defs, deferred, fails) = context;
                let free: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM sagas WHERE saga_id = $1 FOR UPDATE SKIP LOCKED",
                )
                .bind(saga_id)
                .fetch_optional(pool)
                .await?;
                assert_eq!(free, None, "the claim step holds the saga's row");
                if saga_id == *deferred {
                    return Ok(false);
                }
                if saga_id == *fails {
                    return Err(Error::Corrupt {
                        saga_id,
                        reason: "the caller's own rows are missing".into(),
                    });
                }
                sagaflow_saga_store::apply(conn, defs, saga_id, input, None, Utc::now()).await?;
                Ok(true)
            })
        })
        .await?;
    assert_eq!(
        round,
        Round {
            fired: 1,
            parked: 1
        }
    );
    assert_eq!(count_kind(&db.pool, fires, "step_timed_out").await?, 1);

    // The deferred timer is still due and live; the failed one parked with the
    // caller's reason.
    let live: Vec<Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM saga_timeouts WHERE parked_at IS NULL AND fire_at <= now()",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(live, [deferred]);
    let mut conn = db.pool.acquire().await?;
    let parked = timeouts::list_parked(&mut conn, None, 10).await?;
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].saga_id, fails);
    assert_eq!(parked[0].reason_kind, "corrupt");
    assert!(
        parked[0].reason.contains("own rows are missing"),
        "{parked:?}"
    );

    // Once the caller takes it, the deferred timer fires like any other.
    let defs = &context.1;
    assert_eq!(timeouts::fire_due(&db.pool, defs, 10).await?.fired, 1);
    assert_eq!(count_kind(&db.pool, deferred, "step_timed_out").await?, 1);
    Ok(())
}
