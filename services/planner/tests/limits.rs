//! What a plan may spend and until when: prices from the catalogue's events
//! (highest version wins, inactive or unpriced products refused), the plan budget
//! and the confirmation threshold counting tax, the per-user daily budget, the
//! expiry of unconfirmed plans, and the sweep that expires and prunes.

use crate::common;

use axum::http::StatusCode;
use common::{MUG_PRICE, Planner, TENANT, USER, product};
use sagaflow_events::messages::ProductPrice;
use serde_json::Value;

fn reasons(body: &Value) -> String {
    body["plan"]["validation"]["reasons"].to_string()
}

#[tokio::test]
async fn prices_come_from_the_latest_product_version() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    planner.product(&product("MUG", 2_000, 3, true)).await?;
    // A late, older version changes nothing.
    planner.product(&product("MUG", 100, 2, true)).await?;
    let (status, view) = planner.intent("Buy 1 of MUG", true).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["validation"]["budget"]["net_minor"], 2_000);
    assert_eq!(view["validation"]["budget"]["money_minor"], 2_500);

    // An inactive product cannot be planned.
    planner.product(&product("MUG", 2_000, 4, false)).await?;
    let (status, body) = planner.intent("Buy 1 of MUG", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    assert!(reasons(&body).contains("MUG is no longer sold"), "{body:#}");
    // Nor one without a price in the budget currency.
    let mut dollars = product("PEN", 300, 1, true);
    dollars.prices = vec![ProductPrice {
        currency: "USD".to_owned(),
        amount_minor: 300,
    }];
    planner.product(&dollars).await?;
    let (status, body) = planner.intent("Add 1 PEN to my cart", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reasons(&body).contains("PEN has no price in EUR"),
        "{body:#}"
    );
    let (status, body) = planner.intent("Buy 1 of CHAIR", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reasons(&body).contains("CHAIR is not in the catalogue"));
    assert!(planner.commands().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn the_budget_and_the_threshold_count_tax() -> anyhow::Result<()> {
    // 2 × 12.50 = 25.00 fits 30.00, but 31.25 with 25 % tax does not.
    let planner = Planner::start(|s| s.max_money_minor = 3_000).await?;
    let (status, body) = planner.intent("Buy 2 of MUG", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    assert!(
        reasons(&body)
            .contains("spending 31.25 EUR (tax included) exceeds the plan budget of 30.00"),
        "{body:#}"
    );
    // The same under a 26.00 threshold: 25.00 is below it, 31.25 is not.
    let planner = Planner::start(|s| s.confirm_above_minor = 2_600).await?;
    let (status, view) = planner.intent("Buy 2 of MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["status"], "awaiting_confirmation");
    assert_eq!(view["validation"]["budget"]["tax_rate_bps"], 2_500);
    // Another rate is another total.
    let planner = Planner::start(|s| s.tax_rate_bps = 1_000).await?;
    let (_, view) = planner.intent("Buy 2 of MUG", true).await?;
    assert_eq!(
        view["validation"]["budget"]["money_minor"],
        2 * MUG_PRICE + 250
    );
    Ok(())
}

#[tokio::test]
async fn a_user_has_a_daily_budget_across_plans() -> anyhow::Result<()> {
    // 50.00 a day: 3 mugs (46.88 with tax) fit, a fourth (15.63) does not.
    let planner = Planner::start(|s| s.daily_money_minor = 5_000).await?;
    // A dry run spends nothing.
    let (_, dry) = planner.intent("Buy 3 of MUG", true).await?;
    assert_eq!(dry["status"], "dry_run");
    let (status, view) = planner.intent("Buy 3 of MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    assert_eq!(view["status"], "running");
    let (status, body) = planner.intent("Buy 1 of MUG", false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    let why = reasons(&body);
    assert!(
        why.contains(
            "on top of the 46.88 EUR already spent today exceeds your daily budget of 50.00 EUR"
        ),
        "{why}"
    );
    // Confirming the dry run now is refused for the same reason.
    let id = dry["plan_id"].as_str().expect("id");
    let (status, body) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{id}/confirm"),
            Some((TENANT, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    assert!(reasons(&body).contains("daily budget"), "{body:#}");
    // The same user id in another tenant has its own budget.
    let (status, other) = planner
        .intent_as(("globex", USER), "Buy 1 of MUG", false)
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{other:#}");
    // Plans without money are not limited by it.
    let (status, _) = planner
        .intent("Notify me that lunch is ready", false)
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    let spent: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant_id, spent_minor FROM daily_spend ORDER BY tenant_id")
            .fetch_all(planner.pool())
            .await?;
    assert_eq!(
        spent,
        [(TENANT.to_owned(), 4_688), ("globex".to_owned(), 1_563)]
    );
    Ok(())
}

#[tokio::test]
async fn unconfirmed_plans_expire() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (_, waiting) = planner.intent("buy 10 MUG", false).await?;
    assert_eq!(waiting["status"], "awaiting_confirmation");
    let (_, swept) = planner.intent("buy 9 MUG", false).await?;
    sqlx::query("UPDATE plans SET expires_at = now() - interval '1 second'")
        .execute(planner.pool())
        .await?;

    // Confirming a plan past its time is refused, whether or not the sweep ran.
    let id = waiting["plan_id"].as_str().expect("id");
    let confirm = format!("/v1/assistant/plans/{id}/confirm");
    let (status, body) = planner
        .call("POST", &confirm, Some((TENANT, USER)), None)
        .await?;
    assert_eq!(status, StatusCode::GONE, "{body:#}");
    assert_eq!(body["code"], "plan_expired");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|m| m.contains("send the request again"))
    );
    let view = planner.plan(id).await?;
    assert_eq!(view["status"], "expired");
    assert!(view["log"].to_string().contains("plan_expired"));

    // The sweep expires the other one.
    assert_eq!(
        sagaflow_planner::sweep::expire_due(planner.pool(), 10).await?,
        1
    );
    let other = swept["plan_id"].as_str().expect("id");
    assert_eq!(planner.plan(other).await?["status"], "expired");
    let (status, _) = planner
        .call(
            "POST",
            &format!("/v1/assistant/plans/{other}/confirm"),
            Some((TENANT, USER)),
            None,
        )
        .await?;
    assert_eq!(status, StatusCode::GONE);
    assert!(planner.commands().await?.is_empty(), "nothing ran");
    Ok(())
}

#[tokio::test]
async fn the_sweep_prunes_what_outlived_its_retention() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (_, old) = planner.intent("Buy 1 of MUG", true).await?;
    let (_, kept) = planner.intent("Buy 2 of MUG", false).await?;
    let old_id = old["plan_id"].as_str().expect("id");
    sqlx::query("UPDATE plans SET status = 'expired', updated_at = now() - interval '100 days' WHERE plan_id = $1::uuid")
        .bind(old_id)
        .execute(planner.pool())
        .await?;
    // A running plan is never pruned, however old.
    sqlx::query(
        "UPDATE plans SET updated_at = now() - interval '100 days' WHERE plan_id = $1::uuid",
    )
    .bind(kept["plan_id"].as_str().expect("id"))
    .execute(planner.pool())
    .await?;
    sqlx::query("UPDATE intent_requests SET created_at = now() - interval '2 days', claimed_at = now() - interval '2 days'")
        .execute(planner.pool())
        .await?;
    sqlx::query("UPDATE daily_spend SET day = day - 3")
        .execute(planner.pool())
        .await?;
    let pruned = sagaflow_planner::sweep::prune(planner.pool(), &planner.state.settings).await?;
    assert_eq!(pruned.plans, 1);
    assert_eq!(pruned.intent_requests, 2);
    assert_eq!(pruned.daily_spend, 1);
    let plans: Vec<String> = sqlx::query_scalar("SELECT plan_id::text FROM plans")
        .fetch_all(planner.pool())
        .await?;
    assert_eq!(plans, [kept["plan_id"].as_str().expect("id")]);
    let log: i64 = sqlx::query_scalar("SELECT count(*) FROM plan_log WHERE plan_id = $1::uuid")
        .bind(old_id)
        .fetch_one(planner.pool())
        .await?;
    assert_eq!(log, 0);
    Ok(())
}
