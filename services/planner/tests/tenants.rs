//! The same `sub` in two tenants is two people, on every planner route and for
//! erasure: `ada` of `acme` and `ada` of `globex` never see, confirm or erase
//! each other's plans. Erasure (`UserErasureRequested` on `gateway.events`)
//! removes the tenant's user's plans, logs, keys, cart id and ownership records,
//! leaves a tombstone that keeps late messages from writing them back, and
//! leaves the other tenant's `ada` untouched.

use crate::common;

use axum::http::StatusCode;
use common::{Planner, TENANT, USER, incoming_as};
use sagaflow_events::messages::{CartItemAdded, UserErasureRequested};
use serde_json::Value;
use uuid::Uuid;

const OTHER: &str = "globex";

fn id(view: &Value) -> String {
    view["plan_id"].as_str().expect("plan id").to_owned()
}

async fn list(planner: &Planner, who: (&str, &str)) -> anyhow::Result<Vec<String>> {
    let (status, body) = planner
        .call("GET", "/v1/assistant/plans", Some(who), None)
        .await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(body["plans"]
        .as_array()
        .expect("plans")
        .iter()
        .filter_map(|p| p["plan_id"].as_str().map(str::to_owned))
        .collect())
}

async fn count(planner: &Planner, table: &str, tenant: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND user_id = $2"
    ))
    .bind(tenant)
    .bind(USER)
    .fetch_one(planner.pool())
    .await?)
}

/// Outbox rows of sagas (plan commands and audit entries) in `tenant`.
async fn published(planner: &Planner, tenant: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox
         WHERE headers->>'tenant-id' = $1 AND headers->>'saga-id' IS NOT NULL",
    )
    .bind(tenant)
    .fetch_one(planner.pool())
    .await?)
}

#[tokio::test]
async fn the_same_user_id_in_two_tenants_is_two_people_on_every_route() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    // POST /v1/assistant/intents: each gets their own plan (awaiting confirmation).
    let (status, mine) = planner.intent("buy 10 MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{mine:#}");
    let (status, theirs) = planner
        .intent_as((OTHER, USER), "buy 10 MUG", false)
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{theirs:#}");
    let (mine, theirs) = (id(&mine), id(&theirs));

    // GET /v1/assistant/plans: each lists their own.
    assert_eq!(list(&planner, (TENANT, USER)).await?, [mine.as_str()]);
    assert_eq!(list(&planner, (OTHER, USER)).await?, [theirs.as_str()]);

    // GET /v1/assistant/plans/{id}: the other tenant's ada gets 404.
    for (who, plan) in [((TENANT, USER), &theirs), ((OTHER, USER), &mine)] {
        let (status, _) = planner
            .call(
                "GET",
                &format!("/v1/assistant/plans/{plan}"),
                Some(who),
                None,
            )
            .await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who:?} read {plan}");
    }

    // POST /v1/assistant/plans/{id}/confirm: 404, and the plan still waits.
    let (status, _) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{theirs}/confirm"),
            Some((TENANT, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, view) = planner
        .call(
            "GET",
            &format!("/v1/assistant/plans/{theirs}"),
            Some((OTHER, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "awaiting_confirmation");
    assert!(planner.commands().await?.is_empty());
    let (status, view) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{theirs}/confirm"),
            Some((OTHER, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::OK, "{view:#}");
    let commands = planner.commands().await?;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].header("tenant-id"), OTHER);
    Ok(())
}

#[tokio::test]
async fn erasure_removes_one_tenants_user_and_keeps_them_erased() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let generation = Uuid::now_v7();
    let application = Uuid::now_v7();
    for tenant in [TENANT, OTHER] {
        planner
            .generation_finished(tenant, USER, Uuid::now_v7())
            .await?;
        planner
            .application_created(tenant, USER, Uuid::now_v7())
            .await?;
    }
    let (_, running) = planner.intent("Buy 1 of MUG", false).await?;
    planner.intent("buy 10 MUG", false).await?;
    let (_, theirs) = planner
        .intent_as(
            (OTHER, USER),
            "Notify me that my secret plan is ready",
            false,
        )
        .await?;
    let tables = [
        "plans",
        "plan_log",
        "plan_children",
        "intent_requests",
        "assistant_carts",
        "known_sagas",
        "known_applications",
    ];
    for table in tables {
        if table != "plan_children" && table != "assistant_carts" {
            assert!(count(&planner, table, OTHER).await? > 0, "{table}");
        }
        assert!(count(&planner, table, TENANT).await? > 0, "{table}");
    }

    // What the plans published so far (commands, audit entries) was sent.
    sqlx::query("UPDATE sagaflow_outbox SET sent_at = now()")
        .execute(planner.pool())
        .await?;
    assert!(published(&planner, TENANT).await? > 0);
    assert!(published(&planner, OTHER).await? > 0);

    let requested_at_ms = chrono::Utc::now().timestamp_millis();
    let erase = UserErasureRequested {
        erasure_id: Uuid::now_v7(),
        user_id: USER.to_owned(),
        requested_at_ms,
    };
    planner
        .consume(&incoming_as(TENANT, None, None, &erase))
        .await?;

    for table in tables {
        assert_eq!(count(&planner, table, TENANT).await?, 0, "{table}");
    }
    // Nothing of acme's ada is left in the saga store either (plan sagas' input).
    let sagas: i64 = sqlx::query_scalar("SELECT count(*) FROM sagas WHERE tenant_id = $1")
        .bind(TENANT)
        .fetch_one(planner.pool())
        .await?;
    assert_eq!(sagas, 0);
    assert_eq!(
        published(&planner, TENANT).await?,
        0,
        "sent payloads are forgotten"
    );
    assert!(published(&planner, OTHER).await? > 0);
    assert!(list(&planner, (TENANT, USER)).await?.is_empty());
    // globex's ada keeps everything.
    assert_eq!(list(&planner, (OTHER, USER)).await?, [id(&theirs)]);
    for table in ["plans", "plan_log", "known_sagas", "known_applications"] {
        assert!(count(&planner, table, OTHER).await? > 0, "{table}");
    }
    let tombstone: (String, i64) =
        sqlx::query_as("SELECT user_id, plans_erased FROM erasures WHERE tenant_id = $1")
            .bind(TENANT)
            .fetch_one(planner.pool())
            .await?;
    assert_eq!(tombstone, (USER.to_owned(), 2));

    // Late messages about acme's ada (from before the request) write nothing back.
    planner
        .generation_finished(TENANT, USER, generation)
        .await?;
    planner
        .application_created(TENANT, USER, application)
        .await?;
    assert_eq!(count(&planner, "known_sagas", TENANT).await?, 0);
    assert_eq!(count(&planner, "known_applications", TENANT).await?, 0);
    // The cart's late answer to the erased plan is consumed and changes nothing.
    let plan_id = Uuid::parse_str(&id(&running))?;
    let added = CartItemAdded {
        saga_id: plan_id,
        cart_id: Uuid::now_v7(),
        sku: "MUG".to_owned(),
        quantity_added: 1,
        line_quantity: 1,
    };
    planner
        .consume(&incoming_as(TENANT, Some(plan_id), None, &added))
        .await?;
    assert_eq!(count(&planner, "plans", TENANT).await?, 0);
    // The same request again (redelivered) is harmless.
    planner
        .consume(&incoming_as(TENANT, None, None, &erase))
        .await?;

    // The user can come back: a new plan is a new record.
    let (status, view) = planner.intent("Add 1 MUG to my cart", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(list(&planner, (TENANT, USER)).await?, [id(&view)]);
    Ok(())
}
