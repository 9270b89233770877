//! One lock order: 1,000 sagas whose step deadlines are due while their replies
//! arrive. Many tasks deliver replies through `apply` while others run
//! `fire_due` on the same sagas; PostgreSQL must report no deadlock for the test
//! database, no task may fail, and every saga ends consistent: its snapshot is
//! the replay of its log and its only timer is its in-flight attempt's.

// Prints what it measures, for `--nocapture`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{Duration as Delta, Utc};
use common::{reserved, start_at};
use sagaflow_saga_engine::{Phase, SagaState};
use sagaflow_saga_store::{Definitions, Error, apply, log, timeouts};
use sagaflow_test_support::{TestDb, eventually};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::types::Json;
use tokio::task::JoinSet;
use uuid::Uuid;

const SAGAS: usize = 1_000;
const REPLY_TASKS: usize = 8;
const TIMER_TASKS: usize = 4;

async fn deadlocks(url: &str, name: &str) -> anyhow::Result<i64> {
    // A fresh connection: a session caches its statistics snapshot.
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    let n = sqlx::query_scalar("SELECT deadlocks FROM pg_stat_database WHERE datname = $1")
        .bind(name)
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_racing_due_timers_never_deadlock() -> anyhow::Result<()> {
    let db = TestDb::create("lock_order").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let defs = Arc::new(Definitions::new(vec![
        sagaflow_saga_checkout::definition_with_timeout(Duration::from_millis(1)),
    ]));
    let def = defs.latest("checkout").expect("checkout");

    // Every saga's first deadline is long due when the race starts.
    let past = Utc::now() - Delta::seconds(5);
    let mut starts = JoinSet::new();
    for chunk in 0..REPLY_TASKS {
        let pool = db.pool.clone();
        let def = def.clone();
        starts.spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..SAGAS / REPLY_TASKS {
                ids.push(start_at(&pool, &def, past).await?);
            }
            anyhow::Ok((chunk, ids))
        });
    }
    let mut slices = vec![Vec::new(); REPLY_TASKS];
    while let Some(done) = starts.join_next().await {
        let (chunk, ids) = done??;
        slices[chunk] = ids;
    }
    let all: Vec<Uuid> = slices.iter().flatten().copied().collect();
    assert_eq!(all.len(), SAGAS);
    let due: i64 = sqlx::query_scalar("SELECT count(*) FROM saga_timeouts WHERE fire_at <= now()")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(due, SAGAS as i64, "every saga has a due deadline");

    let before = deadlocks(&db.url, &db.name).await?;
    // Named, so that the test can see when the race's backends have gone.
    let race_name = format!("lock_order_race_{}", Uuid::new_v4().simple());
    let race = PgPoolOptions::new()
        .max_connections((REPLY_TASKS + TIMER_TASKS + 2) as u32)
        .connect_with(
            db.url
                .parse::<PgConnectOptions>()?
                .application_name(&race_name),
        )
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut timers = JoinSet::new();
    for _ in 0..TIMER_TASKS {
        let (pool, defs, stop) = (race.clone(), defs.clone(), stop.clone());
        timers.spawn(async move {
            let mut fired = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let round = timeouts::fire_due(&pool, &defs, 50)
                    .await
                    .map_err(|err| anyhow::anyhow!("fire_due: {err}"))?;
                anyhow::ensure!(round.parked == 0, "a healthy timer was parked");
                fired += round.fired;
                if round.fired == 0 {
                    tokio::task::yield_now().await;
                }
            }
            anyhow::Ok(fired)
        });
    }
    let mut replies = JoinSet::new();
    for slice in slices {
        let (pool, defs) = (race.clone(), defs.clone());
        replies.spawn(async move {
            let mut applied = 0usize;
            // Each reply twice: the duplicate decides nothing, but still locks.
            for saga in slice.iter().chain(slice.iter()) {
                let mut tx = pool.begin().await?;
                match apply(&mut tx, &defs, *saga, &reserved(*saga), None, Utc::now()).await {
                    Ok(done) => applied += usize::from(done.appended > 0),
                    Err(Error::Rejected(_)) => {}
                    Err(err) => anyhow::bail!("reply to {saga}: {err}"),
                }
                tx.commit().await?;
            }
            anyhow::Ok(applied)
        });
    }
    let mut applied = 0;
    while let Some(done) = replies.join_next().await {
        applied += done??;
    }
    // Let the timers run on a moment past the replies, then stop them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut fired = 0;
    while let Some(done) = timers.join_next().await {
        fired += done??;
    }
    // A backend reports its pending statistics (its deadlocks among them) as it
    // exits, before it leaves pg_stat_activity (PostgreSQL 15: the stats flush is a
    // before_shmem_exit hook, the activity slot is cleared on_shmem_exit). So once
    // none of the race's backends is listed, the deadlock count is complete.
    // (`pg_stat_force_next_flush()` flushes only the calling session's.)
    race.close().await;
    eventually(
        "the race's backends to exit",
        Duration::from_secs(30),
        || async {
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&race_name)
            .fetch_one(&db.pool)
            .await?;
            Ok(left == 0)
        },
    )
    .await?;
    let after = deadlocks(&db.url, &db.name).await?;
    assert_eq!(after, before, "PostgreSQL detected deadlocks");
    assert_eq!(applied, SAGAS, "every saga took its reply once ({applied})");
    // The race happened: timers fired on sagas that also took their reply.
    let raced: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT saga_id) FROM saga_events WHERE kind = 'step_timed_out'",
    )
    .fetch_one(&db.pool)
    .await?;
    assert!(
        fired > 0 && raced > 0,
        "timers fired ({fired}) on sagas that took replies ({raced})"
    );
    eprintln!("{fired} timers fired, {raced} sagas timed out and took their reply");

    // Every saga is consistent: snapshot = replay, one timer for its in-flight attempt.
    let mut conn = db.pool.acquire().await?;
    for saga in &all {
        let Json(snapshot): Json<SagaState> =
            sqlx::query_scalar("SELECT state FROM sagas WHERE saga_id = $1")
                .bind(saga)
                .fetch_one(&mut *conn)
                .await?;
        let replayed = log::replayed(&mut conn, *saga).await?.expect("a log");
        assert_eq!(replayed, snapshot, "saga {saga}: the snapshot is its log");
        assert!(snapshot.completed.contains(&0), "saga {saga}: reserved");
        let timers: Vec<(i32, String, i32)> = sqlx::query_as(
            "SELECT step, phase, attempt FROM saga_timeouts WHERE saga_id = $1 AND parked_at IS NULL",
        )
        .bind(saga)
        .fetch_all(&mut *conn)
        .await?;
        let expected: Vec<(i32, String, i32)> = snapshot
            .current
            .as_ref()
            .map(|c| {
                let phase = match c.phase {
                    Phase::Forward => "forward",
                    Phase::Compensation => "compensation",
                };
                (c.step as i32, phase.to_owned(), c.attempt as i32)
            })
            .into_iter()
            .collect();
        assert_eq!(
            timers, expected,
            "saga {saga}: timers match the attempt in flight"
        );
    }
    Ok(())
}
