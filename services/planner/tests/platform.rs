//! Plans end to end on a Kafka-protocol broker (librdkafka's mock cluster) with
//! the real checkout participants and orchestrator, each on its own database.
//! The planner reaches them only through commands on Kafka (it has no address of
//! any other service), and learns the outcome from their events.

use crate::common;

use axum::http::StatusCode;
use common::{MUG_PRICE, Platform};
use serde_json::Value;
use uuid::Uuid;

fn kinds(view: &Value) -> Vec<String> {
    view["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect()
}

fn emitted_types(view: &Value) -> Vec<String> {
    view["emitted"]
        .as_array()
        .expect("emitted")
        .iter()
        .filter_map(|e| e["message_type"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn buy_two_runs_as_a_checkout_saga_and_the_plan_links_to_it() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    sagaflow_inventory::set_stock(&platform.inventory.pool, "MUG", 10).await?;

    let (status, view) = platform.planner.intent("Buy 2 of MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    let plan_id = view["plan_id"].as_str().expect("id").to_owned();
    let checkout_id: Uuid = view["steps"][1]["command"]["payload"]["checkout_id"]
        .as_str()
        .expect("checkout id")
        .parse()?;

    let view = platform
        .wait_plan(&plan_id, &["completed", "compensated", "failed"])
        .await?;
    assert_eq!(view["status"], "completed", "{view:#}");
    assert_eq!(view["steps"][0]["status"], "completed");
    assert_eq!(view["steps"][1]["status"], "completed");
    assert_eq!(emitted_types(&view), ["AddCartItem", "InitiateCheckout"]);

    // The plan's log links to the checkout saga it started.
    let checkout = view["sagas"]
        .as_array()
        .expect("sagas")
        .iter()
        .find(|s| s["definition"] == "checkout")
        .expect("the checkout is linked")
        .clone();
    assert_eq!(checkout["saga_id"], checkout_id.to_string());
    assert_eq!(checkout["path"], format!("/v1/sagas/{checkout_id}"));
    assert_eq!(checkout["status"], "completed");
    let emitted = &view["emitted"][1];
    assert_eq!(emitted["starts_saga"]["saga_id"], checkout_id.to_string());
    assert!(kinds(&view).contains(&"child_saga_progressed".to_owned()));

    // The orchestrator ran it as a checkout saga, for the plan's caller.
    let (definition, status, tenant): (String, String, String) =
        sqlx::query_as("SELECT definition, status, tenant_id FROM sagas WHERE saga_id = $1")
            .bind(checkout_id)
            .fetch_one(&platform.orchestrator.pool)
            .await?;
    assert_eq!(
        (definition.as_str(), status.as_str(), tenant.as_str()),
        ("checkout", "completed", common::TENANT)
    );
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM orders WHERE saga_id = $1")
        .bind(checkout_id)
        .fetch_one(&platform.order.pool)
        .await?;
    assert!(total >= 2 * MUG_PRICE, "{total}");
    assert_eq!(
        sagaflow_inventory::stock(&platform.inventory.pool, "MUG").await?,
        Some(8)
    );
    platform.stop().await
}

#[tokio::test]
async fn a_failed_checkout_takes_the_cart_line_back() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    // One mug in stock: the checkout of two fails and compensates.
    sagaflow_inventory::set_stock(&platform.inventory.pool, "MUG", 1).await?;

    let (status, view) = platform.planner.intent("Buy 2 of MUG", false).await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    let plan_id = view["plan_id"].as_str().expect("id").to_owned();
    let cart_id: Uuid = view["steps"][0]["command"]["payload"]["cart_id"]
        .as_str()
        .expect("cart")
        .parse()?;

    let view = platform
        .wait_plan(&plan_id, &["completed", "compensated", "failed"])
        .await?;
    assert_eq!(view["status"], "compensated", "{view:#}");
    assert_eq!(view["steps"][0]["status"], "compensated");
    assert_eq!(view["steps"][1]["status"], "failed");
    assert_eq!(
        emitted_types(&view),
        ["AddCartItem", "InitiateCheckout", "RemoveCartItem"]
    );
    let log = kinds(&view);
    for kind in ["step_failed", "step_compensated", "compensated"] {
        assert!(
            log.contains(&kind.to_owned()),
            "{kind} missing from {log:?}"
        );
    }
    let checkout = view["sagas"]
        .as_array()
        .expect("sagas")
        .iter()
        .find(|s| s["definition"] == "checkout")
        .expect("linked")
        .clone();
    assert_eq!(checkout["status"], "compensated");

    // The line the plan added is gone from the caller's cart.
    let owner = sagaflow_cart::Owner::new(common::TENANT, common::USER);
    let cart = sagaflow_cart::store::get_cart(&platform.cart.pool, &owner, cart_id)
        .await?
        .expect("the cart exists");
    assert!(cart.items.is_empty(), "{cart:?}");
    let state: String =
        sqlx::query_scalar("SELECT state FROM cart_saga_items WHERE saga_id = $1::uuid")
            .bind(&plan_id)
            .fetch_one(&platform.cart.pool)
            .await?;
    assert_eq!(state, "removed");
    assert_eq!(
        sagaflow_inventory::stock(&platform.inventory.pool, "MUG").await?,
        Some(1)
    );
    platform.stop().await
}

#[tokio::test]
async fn buying_one_mug_twice_with_one_key_leaves_the_other_lines_in_the_cart() -> anyhow::Result<()>
{
    let platform = Platform::start().await?;
    sagaflow_inventory::set_stock(&platform.inventory.pool, "MUG", 10).await?;
    // The caller's cart already holds 2 of SKU-1 and 1 MUG.
    for text in ["Add 2 of SKU-1 to my cart", "Add 1 of MUG to my cart"] {
        let (status, view) = platform.planner.intent(text, false).await?;
        assert_eq!(status, StatusCode::CREATED, "{view:#}");
        let id = view["plan_id"].as_str().expect("id").to_owned();
        let view = platform
            .wait_plan(&id, &["completed", "compensated", "failed"])
            .await?;
        assert_eq!(view["status"], "completed", "{view:#}");
    }

    // "Buy 1 of MUG", sent twice with one Idempotency-Key (a client retrying).
    let body = serde_json::json!({"text": "Buy 1 of MUG"});
    let who = Some((common::TENANT, common::USER));
    let (status, first) = platform
        .planner
        .call_keyed(
            "POST",
            "/v1/assistant/intents",
            who,
            Some(body.clone()),
            Some("buy-1"),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{first:#}");
    let plan_id = first["plan_id"].as_str().expect("id").to_owned();
    let (status, again) = platform
        .planner
        .call_keyed(
            "POST",
            "/v1/assistant/intents",
            who,
            Some(body),
            Some("buy-1"),
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["plan_id"], plan_id.as_str(), "one plan");
    let view = platform
        .wait_plan(&plan_id, &["completed", "compensated", "failed"])
        .await?;
    assert_eq!(view["status"], "completed", "{view:#}");
    let cart_id: Uuid = view["steps"][0]["command"]["payload"]["cart_id"]
        .as_str()
        .expect("cart")
        .parse()?;

    // One checkout, one order.
    let checkouts = platform
        .planner
        .commands()
        .await?
        .into_iter()
        .filter(|c| c.message_type == "InitiateCheckout")
        .count();
    assert_eq!(checkouts, 1);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&platform.order.pool)
        .await?;
    assert_eq!(orders, 1);

    // Only the unit bought left the cart: SKU-1 × 2 and the earlier MUG stay.
    let owner = sagaflow_cart::Owner::new(common::TENANT, common::USER);
    let cart = common::eventually(
        "the bought unit to leave the cart",
        std::time::Duration::from_secs(30),
        || async {
            let cart = sagaflow_cart::store::get_cart(&platform.cart.pool, &owner, cart_id)
                .await?
                .expect("the cart exists");
            let mut items: Vec<(String, i32)> = cart
                .items
                .iter()
                .map(|i| (i.sku.clone(), i.quantity))
                .collect();
            items.sort();
            Ok((items == [("MUG".to_owned(), 1), ("SKU-1".to_owned(), 2)]).then_some(items))
        },
    )
    .await?;
    assert_eq!(cart.len(), 2);
    platform.stop().await
}
