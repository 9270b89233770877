//! The checkout saga end to end through the gateway: every service, its own
//! database, a real broker (the mock cluster, and the local Nisshi broker for the happy path).

use crate::common;

use std::time::Duration;

use common::*;
use sagaflow::platform::Service;
use sagaflow_test_support::Broker;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(60);

/// `PUT /v1/carts/{cart}/items/{sku}` through the gateway (no price: the cart
/// keeps SKUs and quantities only).
async fn put_line(platform: &Platform, cart: Uuid, sku: &str, quantity: i32) -> anyhow::Result<()> {
    let response = platform
        .http
        .put(format!("{}/v1/carts/{cart}/items/{sku}", platform.gateway))
        .header("Authorization", bearer())
        .json(&serde_json::json!({ "quantity": quantity }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "cart PUT answered {}: {}",
        response.status(),
        response.text().await?
    );
    Ok(())
}

/// A checkout of a cart by its id only: the lines come from the cart service, the
/// prices from the catalogue (12.50 EUR each), the tax from the shipping country
/// (France, 20 %); the cart keeps what was added after the checkout started.
async fn happy_path(broker: Broker) -> anyhow::Result<()> {
    let platform = Platform::start(broker, |_| {}).await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "MUG", 10).await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "LIMITED", 10).await?;
    let cart = Uuid::now_v7();
    put_line(&platform, cart, "MUG", 2).await?;
    put_line(&platform, cart, "LIMITED", 1).await?;

    let id = start_checkout(
        &platform.http,
        &platform.gateway,
        &serde_json::json!({
            "cart_id": cart,
            "currency": "EUR",
            "shipping_country": "FR",
            "payment_method": "card",
            "customer_email": "ada@example.com",
        }),
    )
    .await?;
    // Added while the checkout runs: not bought, so it stays in the cart.
    put_line(&platform, cart, "TOTE", 1).await?;
    let view = wait_terminal(&platform.http, &platform.gateway, id, WAIT).await?;
    assert_eq!(view["status"], "completed", "{view}");

    assert_eq!(
        sagaflow_inventory::stock(platform.pool(Service::Inventory), "MUG").await?,
        Some(8)
    );
    assert_eq!(
        sagaflow_inventory::stock(platform.pool(Service::Inventory), "LIMITED").await?,
        Some(9)
    );
    let payments = sagaflow_payment::payments_for(platform.pool(Service::Payment), id).await?;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].status, "captured");
    // 3 × 12.50 from the catalogue + 20 % French tax.
    assert_eq!(payments[0].amount_minor, 4500);
    let order = sagaflow_order::order_for(platform.pool(Service::Order), id)
        .await?
        .expect("order");
    assert_eq!(order.status, "created");
    assert_eq!(
        view["order_id"],
        serde_json::json!(order.order_id),
        "the gateway shows the order id"
    );
    let owner = sagaflow_cart::Owner::new(TENANT, USER);
    let left = sagaflow_cart::store::get_cart(platform.pool(Service::Cart), &owner, cart)
        .await?
        .expect("the cart is still there");
    let skus: Vec<(&str, i32)> = left
        .items
        .iter()
        .map(|line| (line.sku.as_str(), line.quantity))
        .collect();
    assert_eq!(skus, [("TOTE", 1)], "only the bought lines left the cart");
    let notification = sagaflow_saga_checkout::build::notification_id(id);
    let sent =
        sagaflow_notification::sent(platform.pool(Service::Notification), notification).await?;
    assert!(sent.is_some_and(|n| {
        n.recipient == "ada@example.com"
            && n.body
                .contains(&order.order_id.map(|o| o.to_string()).unwrap_or_default())
    }));

    let steps: Vec<&str> = view["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["kind"] == "step_completed")
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "reserve_inventory",
            "price_order",
            "take_payment",
            "create_order",
            "clear_cart",
            "notify"
        ]
    );
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_completes_on_mock_cluster() -> anyhow::Result<()> {
    happy_path(Broker::mock()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_completes_on_nisshi() -> anyhow::Result<()> {
    happy_path(Broker::local()?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_payment_releases_stock_and_creates_no_order() -> anyhow::Result<()> {
    let platform = Platform::start(Broker::mock()?, |_| {}).await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "MUG", 10).await?;
    let id = start_checkout(
        &platform.http,
        &platform.gateway,
        &checkout_body("MUG", 3, "card_declined", Uuid::now_v7()),
    )
    .await?;
    let view = wait_terminal(&platform.http, &platform.gateway, id, WAIT).await?;
    assert_eq!(view["status"], "compensated", "{view}");
    assert_eq!(
        sagaflow_inventory::stock(platform.pool(Service::Inventory), "MUG").await?,
        Some(10)
    );
    assert!(
        sagaflow_order::order_for(platform.pool(Service::Order), id)
            .await?
            .is_none()
    );
    let log = saga_log(platform.pool(Service::Orchestrator), id).await?;
    let kinds: Vec<(&str, Option<&str>)> = log
        .iter()
        .map(|(k, s)| (k.as_str(), s.as_deref()))
        .collect();
    assert!(
        kinds.contains(&("step_failed", Some("take_payment"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("step_compensated", Some("reserve_inventory"))),
        "{kinds:?}"
    );
    assert_eq!(kinds.last(), Some(&("compensated", None)));
    // The gateway's event view shows the same log.
    let events: serde_json::Value = platform
        .http
        .get(format!("{}/v1/sagas/{id}/events", platform.gateway))
        .header("Authorization", bearer())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(events["events"].as_array().map(Vec::len), Some(log.len()));
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_failure_after_payment_refunds_then_releases() -> anyhow::Result<()> {
    let platform =
        Platform::start(Broker::mock()?, |s| s.order.max_order_total_minor = 1000).await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "MUG", 10).await?;
    let id = start_checkout(
        &platform.http,
        &platform.gateway,
        &checkout_body("MUG", 2, "card", Uuid::now_v7()),
    )
    .await?;
    let view = wait_terminal(&platform.http, &platform.gateway, id, WAIT).await?;
    assert_eq!(view["status"], "compensated", "{view}");

    let refunds = sagaflow_payment::refunds_for(platform.pool(Service::Payment), id).await?;
    assert_eq!(refunds.len(), 1, "refunded once");
    assert_eq!(refunds[0].amount_minor, 2975);
    assert_eq!(
        sagaflow_inventory::stock(platform.pool(Service::Inventory), "MUG").await?,
        Some(10)
    );
    let log = saga_log(platform.pool(Service::Orchestrator), id).await?;
    let position = |kind: &str, step: &str| {
        log.iter()
            .position(|(k, s)| k == kind && s.as_deref() == Some(step))
    };
    let failed = position("step_failed", "create_order").expect("order failed");
    let refunded = position("step_compensated", "take_payment").expect("refund");
    let released = position("step_compensated", "reserve_inventory").expect("release");
    assert!(
        failed < refunded && refunded < released,
        "reverse order: {log:?}"
    );
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_checkouts_on_one_hundred_units_never_oversell() -> anyhow::Result<()> {
    let platform = Platform::start(Broker::mock()?, |_| {}).await?;
    sagaflow_inventory::set_stock(platform.pool(Service::Inventory), "LIMITED", 100).await?;
    let mut requests = tokio::task::JoinSet::new();
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
    for _ in 0..500 {
        let (http, gateway, gate) = (
            platform.http.clone(),
            platform.gateway.clone(),
            gate.clone(),
        );
        requests.spawn(async move {
            let _permit = gate.acquire().await?;
            start_checkout(
                &http,
                &gateway,
                &checkout_body("LIMITED", 1, "card", Uuid::now_v7()),
            )
            .await
        });
    }
    while let Some(result) = requests.join_next().await {
        result??;
    }
    let statuses = wait_all_terminal(
        platform.pool(Service::Orchestrator),
        500,
        Duration::from_secs(240),
    )
    .await?;
    assert_eq!(statuses.get("completed"), Some(&100), "{statuses:?}");
    assert_eq!(statuses.get("compensated"), Some(&400), "{statuses:?}");
    assert_eq!(
        sagaflow_inventory::stock(platform.pool(Service::Inventory), "LIMITED").await?,
        Some(0)
    );
    assert_eq!(
        sagaflow_payment::captured_count(platform.pool(Service::Payment)).await?,
        100
    );
    platform.stop().await
}
