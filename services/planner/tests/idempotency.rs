//! `POST /v1/assistant/intents` takes an `Idempotency-Key` with the gateway's
//! semantics: the same intent sent twice with one key gives one plan and, once
//! the cart answers, one `InitiateCheckout`; another body under the key is 422;
//! a request still running is 409; no key is 400 naming the header. The checkout
//! names only the line the plan bought, in the caller's (random) assistant cart.

use crate::common;

use axum::http::StatusCode;
use common::{Planner, TENANT, USER, incoming_as};
use sagaflow_events::messages::CartItemAdded;
use serde_json::{Value, json};
use uuid::Uuid;

const INTENTS: &str = "/v1/assistant/intents";

async fn post(
    planner: &Planner,
    who: (&str, &str),
    key: Option<&str>,
    text: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    planner
        .call_keyed("POST", INTENTS, Some(who), Some(json!({"text": text})), key)
        .await
}

/// Answers the plan's `AddCartItem` as the cart service does.
async fn cart_answers(planner: &Planner, view: &Value) -> anyhow::Result<()> {
    let plan_id = Uuid::parse_str(view["plan_id"].as_str().expect("id"))?;
    let add = planner
        .commands()
        .await?
        .into_iter()
        .find(|c| c.message_type == "AddCartItem" && c.header("saga-id") == plan_id.to_string())
        .expect("the plan's AddCartItem");
    let added = CartItemAdded {
        saga_id: plan_id,
        cart_id: Uuid::parse_str(add.payload["cart_id"].as_str().expect("cart"))?,
        sku: add.payload["sku"].as_str().expect("sku").to_owned(),
        quantity_added: 1,
        line_quantity: 3,
    };
    let cause = Uuid::parse_str(add.header("message-id"))?;
    planner
        .consume(&incoming_as(TENANT, Some(plan_id), Some(cause), &added))
        .await
}

#[tokio::test]
async fn one_key_gives_one_plan_and_one_checkout() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let key = Uuid::new_v4().to_string();
    let (status, first) = post(&planner, (TENANT, USER), Some(&key), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::CREATED, "{first:#}");
    assert_eq!(first["status"], "running");
    cart_answers(&planner, &first).await?;

    // The client's retry (after a timeout, say) gets the saved answer: same plan.
    let (status, again) = post(&planner, (TENANT, USER), Some(&key), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "the saved answer, byte for byte");
    let plans: i64 = sqlx::query_scalar("SELECT count(*) FROM plans")
        .fetch_one(planner.pool())
        .await?;
    assert_eq!(plans, 1);
    let commands = planner.commands().await?;
    let types: Vec<&str> = commands.iter().map(|c| c.message_type.as_str()).collect();
    assert_eq!(types, ["AddCartItem", "InitiateCheckout"], "{commands:#?}");

    // The checkout buys exactly the line the plan added, in the same cart, with
    // no price: the saga's ClearCart then takes only that line out.
    let (add, checkout) = (&commands[0], &commands[1]);
    assert_eq!(
        checkout.payload["items"],
        json!([{"sku": "MUG", "quantity": 1}])
    );
    assert_eq!(checkout.payload["cart_id"], add.payload["cart_id"]);
    assert_eq!(checkout.payload["shipping_country"], "DE");
    assert_eq!(checkout.header("tenant-id"), TENANT);

    // Another body under the same key: 422, and nothing new.
    let (status, body) = post(&planner, (TENANT, USER), Some(&key), "Buy 2 of MUG").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "idempotency_key_reused");
    // The same key in another tenant, for the same user id, is another request.
    let (status, other) = post(&planner, ("globex", USER), Some(&key), "Buy 2 of MUG").await?;
    assert_eq!(status, StatusCode::CREATED, "{other:#}");
    assert_ne!(other["plan_id"], first["plan_id"]);
    let carts: Vec<Uuid> = sqlx::query_scalar("SELECT cart_id FROM assistant_carts")
        .fetch_all(planner.pool())
        .await?;
    assert_eq!(carts.len(), 2, "one random cart per tenant and user");
    assert_ne!(carts[0], carts[1]);

    // A new key is a new request; the caller's cart stays the same.
    let (status, second) = post(&planner, (TENANT, USER), Some("k-2"), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(second["plan_id"], first["plan_id"]);
    assert_eq!(
        second["steps"][0]["command"]["payload"]["cart_id"],
        add.payload["cart_id"]
    );
    Ok(())
}

#[tokio::test]
async fn a_rejected_answer_is_saved_too_and_keys_are_checked() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (status, first) = post(&planner, (TENANT, USER), Some("r-1"), "Buy 1 of NOPE").await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(first["code"], "plan_rejected");
    let (status, again) = post(&planner, (TENANT, USER), Some("r-1"), "Buy 1 of NOPE").await?;
    assert_eq!((status, &again), (StatusCode::UNPROCESSABLE_ENTITY, &first));
    let plans: i64 = sqlx::query_scalar("SELECT count(*) FROM plans")
        .fetch_one(planner.pool())
        .await?;
    assert_eq!(plans, 1);

    // No key: 400 naming the header; a bad key: 400.
    let (status, body) = post(&planner, (TENANT, USER), None, "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "missing_header");
    assert_eq!(body["field"], "Idempotency-Key");
    let long = "k".repeat(129);
    let (status, body) = post(&planner, (TENANT, USER), Some(&long), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "Idempotency-Key");
    assert!(planner.commands().await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_request_still_running_is_409_and_an_abandoned_one_is_taken_over() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    // A first request claimed the key and is still asking the LLM.
    let request = serde_json::to_vec(&json!({
        "operation": "POST /v1/assistant/intents", "text": "Buy 1 of MUG", "dry_run": false,
    }))?;
    let scope = sagaflow_planner::idempotency::Scope {
        tenant_id: TENANT,
        user_id: USER,
        key: "busy",
    };
    let claim = sagaflow_planner::idempotency::claim(
        planner.pool(),
        scope,
        &request,
        std::time::Duration::from_secs(3600),
        std::time::Duration::from_secs(3600),
    )
    .await?;
    assert!(matches!(
        claim,
        sagaflow_planner::idempotency::Claim::New(_)
    ));
    let (status, body) = post(&planner, (TENANT, USER), Some("busy"), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "request_in_progress");
    assert!(planner.commands().await?.is_empty());

    // A claim older than the LLM budget plus a minute was left by a crash: taken over.
    sqlx::query("UPDATE intent_requests SET claimed_at = now() - interval '10 minutes'")
        .execute(planner.pool())
        .await?;
    let (status, body) = post(&planner, (TENANT, USER), Some("busy"), "Buy 1 of MUG").await?;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(planner.commands().await?.len(), 1);
    Ok(())
}
