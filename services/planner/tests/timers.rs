//! Plan timers go through the saga store's claim step: a timer the planner
//! cannot fire (its plan saga runs a shape version that is not deployed, or its
//! plan row is gone) is parked with its reason while the healthy ones fire in
//! the same round, and is not picked again; a plan busy in another transaction
//! leaves its timer due, not parked, until it is free.

use crate::common;

use axum::http::StatusCode;
use common::Planner;
use sagaflow_planner::timers;
use sagaflow_saga_store::timeouts::{self, Round};
use serde_json::Value;
use uuid::Uuid;

/// Starts a one-step plan (a notification, sent at once, with a step deadline).
async fn running_plan(planner: &Planner) -> anyhow::Result<Uuid> {
    let (status, view) = planner
        .intent("Notify me that the build is green", false)
        .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status}: {view:#}");
    Ok(Uuid::parse_str(
        view["plan_id"].as_str().unwrap_or_default(),
    )?)
}

/// Makes every live timer due now (the default deadlines are far away).
async fn all_due(planner: &Planner) -> anyhow::Result<()> {
    sqlx::query("UPDATE saga_timeouts SET fire_at = now() - interval '1 minute'")
        .execute(planner.pool())
        .await?;
    Ok(())
}

async fn log_kinds(planner: &Planner, plan_id: Uuid) -> anyhow::Result<Vec<String>> {
    let view = planner.plan(&plan_id.to_string()).await?;
    Ok(view["log"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry["kind"].as_str().map(str::to_owned))
        .collect::<Vec<_>>())
}

async fn live_due(planner: &Planner, plan_id: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM saga_timeouts
         WHERE saga_id = $1 AND parked_at IS NULL AND fire_at <= now()",
    )
    .bind(plan_id)
    .fetch_one(planner.pool())
    .await?)
}

#[tokio::test]
async fn a_plan_timer_that_cannot_fire_is_parked_while_the_others_fire() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let healthy = running_plan(&planner).await?;
    let undeployed = running_plan(&planner).await?;
    let orphaned = running_plan(&planner).await?;
    // A plan saga on a shape version this planner does not run.
    sqlx::query(
        "UPDATE sagas SET version = 99, state = jsonb_set(state, '{version}', '99')
         WHERE saga_id = $1",
    )
    .bind(undeployed)
    .execute(planner.pool())
    .await?;
    // A plan saga whose plan row is gone (a partial restore, say).
    for statement in [
        "DELETE FROM plan_log WHERE plan_id = $1",
        "DELETE FROM plan_children WHERE plan_id = $1",
        "DELETE FROM plans WHERE plan_id = $1",
    ] {
        sqlx::query(statement)
            .bind(orphaned)
            .execute(planner.pool())
            .await?;
    }
    all_due(&planner).await?;

    let definitions = &planner.state.definitions;
    let round = timers::fire_due(planner.pool(), definitions, 100).await?;
    assert_eq!(
        round,
        Round {
            fired: 1,
            parked: 2
        }
    );
    let kinds = log_kinds(&planner, healthy).await?;
    assert!(
        kinds.iter().any(|k| k == "step_timed_out"),
        "the healthy plan's step timed out: {kinds:?}"
    );

    let mut conn = planner.pool().acquire().await?;
    let parked = timeouts::list_parked(&mut conn, None, 10).await?;
    let reason = |saga: Uuid| {
        parked
            .iter()
            .find(|p| p.saga_id == saga)
            .map(|p| (p.reason_kind.as_str(), p.reason.as_str()))
    };
    assert_eq!(parked.len(), 2, "{parked:?}");
    assert!(
        matches!(reason(undeployed), Some(("unknown_definition", r)) if r.contains("v99")),
        "{parked:?}"
    );
    assert!(
        matches!(reason(orphaned), Some(("corrupt", r)) if r.contains("has no plan")),
        "{parked:?}"
    );

    // Parked timers are not picked again by themselves.
    all_due(&planner).await?;
    let again = timers::fire_due(planner.pool(), definitions, 100).await?;
    assert_eq!(again.parked, 0, "{again:?}");
    assert_eq!(timeouts::list_parked(&mut conn, None, 10).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_busy_plan_leaves_its_timer_due_until_it_is_free() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let plan_id = running_plan(&planner).await?;
    all_due(&planner).await?;

    // Another transaction holds the plan (a reply being handled, say).
    let mut busy = planner.pool().begin().await?;
    sqlx::query("SELECT 1 FROM plans WHERE plan_id = $1 FOR UPDATE")
        .bind(plan_id)
        .execute(&mut *busy)
        .await?;
    let definitions = &planner.state.definitions;
    let round = timers::fire_due(planner.pool(), definitions, 100).await?;
    assert_eq!(round, Round::default(), "neither fired nor parked");
    assert_eq!(live_due(&planner, plan_id).await?, 1, "still due and live");
    busy.rollback().await?;

    let round = timers::fire_due(planner.pool(), definitions, 100).await?;
    assert_eq!(round.fired, 1, "{round:?}");
    let kinds = log_kinds(&planner, plan_id).await?;
    assert!(kinds.iter().any(|k| k == "step_timed_out"), "{kinds:?}");
    let emitted: Value = planner.plan(&plan_id.to_string()).await?["emitted"].clone();
    assert_eq!(emitted.as_array().map(Vec::len), Some(1), "{emitted:#}");
    Ok(())
}
