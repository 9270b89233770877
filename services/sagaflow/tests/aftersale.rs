//! After the sale, end to end through the gateway: a partial refund, then the
//! cancellation of the rest, on every service with its own database; and a
//! cancellation whose payment service is killed between the provider's refund and
//! the record of it (failpoint `payment.after_refund`), then restarted.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use common::*;
use sagaflow::platform::Service;
use sagaflow_test_support::{Broker, eventually};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);

/// A completed checkout of `quantity` MUG (12.50 EUR each, 19 % German tax);
/// returns (checkout id, order id).
async fn bought(platform: &Platform, quantity: i32) -> anyhow::Result<(Uuid, Uuid)> {
    let body = checkout_body("MUG", quantity, "card", Uuid::now_v7());
    let id = start_checkout(&platform.http, &platform.gateway, &body).await?;
    let view = wait_terminal(&platform.http, &platform.gateway, id, WAIT).await?;
    anyhow::ensure!(view["status"] == "completed", "checkout: {view}");
    let order = view["order_id"].as_str().context("order_id")?.parse()?;
    Ok((id, order))
}

/// POST an order change with an idempotency key; returns (status, body).
async fn change(
    platform: &Platform,
    path: &str,
    key: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let response = platform
        .http
        .post(format!("{}{path}", platform.gateway))
        .header("Idempotency-Key", key)
        .header("Authorization", bearer())
        .json(body)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// Starts a change and returns its saga id.
async fn started(platform: &Platform, path: &str, body: &Value) -> anyhow::Result<Uuid> {
    let (status, answer) = change(platform, path, &Uuid::new_v4().to_string(), body).await?;
    anyhow::ensure!(status == 202, "{path} answered {status}: {answer}");
    Ok(answer["saga_id"].as_str().context("saga_id")?.parse()?)
}

/// The change's row of `GET /v1/sagas` once it is terminal.
async fn finished(platform: &Platform, saga: Uuid) -> anyhow::Result<Value> {
    let found = std::sync::Mutex::new(None);
    eventually(&format!("saga {saga} terminal"), WAIT, || async {
        let page: Value = platform
            .http
            .get(format!("{}/v1/sagas?limit=100", platform.gateway))
            .header("Authorization", bearer())
            .send()
            .await?
            .json()
            .await?;
        let row = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|item| item["saga_id"] == json!(saga))
            .filter(|row| TERMINAL.contains(&row["status"].as_str().unwrap_or("")))
            .cloned();
        let terminal = row.is_some();
        *found.lock().expect("not poisoned") = row;
        Ok(terminal)
    })
    .await?;
    Ok(found
        .into_inner()
        .expect("not poisoned")
        .expect("eventually returned once a row was found"))
}

async fn order_view(platform: &Platform, order: Uuid) -> anyhow::Result<Value> {
    let response = platform
        .http
        .get(format!("{}/v1/orders/{order}", platform.gateway))
        .header("Authorization", bearer())
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET order: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// (amount, requests) of every provider refund of the payment of checkout `checkout`.
async fn provider_refunds(payment: &PgPool, checkout: Uuid) -> anyhow::Result<Vec<(i64, i32)>> {
    Ok(sqlx::query_as(
        "SELECT r.amount_minor, r.requests FROM sim_provider.refunds r
         JOIN payments p ON p.payment_id = r.payment_id
         WHERE p.saga_id = $1 ORDER BY r.created_at",
    )
    .bind(checkout)
    .fetch_all(payment)
    .await?)
}

async fn notifications(platform: &Platform, sagas: &[Uuid]) -> anyhow::Result<usize> {
    let mut found = 0;
    for saga in sagas {
        let id = sagaflow_saga_aftersale::notify::notification_id(*saga);
        if sagaflow_notification::sent(platform.pool(Service::Notification), id)
            .await?
            .is_some()
        {
            found += 1;
        }
    }
    Ok(found)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_refund_then_a_cancellation_refund_the_total_once_and_restock_once()
-> anyhow::Result<()> {
    let platform = Platform::start(Broker::mock()?, |_| {}).await?;
    let inventory = platform.pool(Service::Inventory).clone();
    sagaflow_inventory::set_stock(&inventory, "MUG", 10).await?;
    let (checkout, order) = bought(&platform, 3).await?;
    assert_eq!(sagaflow_inventory::stock(&inventory, "MUG").await?, Some(7));
    let total = order_view(&platform, order).await?["total_minor"]
        .as_i64()
        .context("total_minor")?;

    // One of three mugs: a third of the total, tax included.
    let refund = started(
        &platform,
        &format!("/v1/orders/{order}/refunds"),
        &json!({"lines": [{"sku": "MUG", "quantity": 1}], "reason": "chipped"}),
    )
    .await?;
    let row = finished(&platform, refund).await?;
    assert_eq!(row["status"], "completed", "{row}");
    let view = order_view(&platform, order).await?;
    let third = view["refunded_minor"].as_i64().context("refunded_minor")?;
    assert!((total / 3 - 1..=total / 3 + 1).contains(&third), "{view}");

    // More than is left of a line: the order service refuses, nothing moves.
    let too_many = started(
        &platform,
        &format!("/v1/orders/{order}/refunds"),
        &json!({"lines": [{"sku": "MUG", "quantity": 3}]}),
    )
    .await;
    // The gateway already knows only 3 were bought, not how many are left.
    let too_many = too_many?;
    let row = finished(&platform, too_many).await?;
    assert_eq!(row["status"], "compensated", "{row}");

    // Cancel the rest: refunds what is left, returns the reservation.
    let key = Uuid::new_v4().to_string();
    let (status, first) = change(
        &platform,
        &format!("/v1/orders/{order}/cancel"),
        &key,
        &json!({}),
    )
    .await?;
    assert_eq!(status, 202, "{first}");
    let cancellation: Uuid = first["saga_id"].as_str().context("saga_id")?.parse()?;
    let row = finished(&platform, cancellation).await?;
    assert_eq!(row["status"], "completed", "{row}");
    // The same key again: the first answer, nothing new.
    let (status, again) = change(
        &platform,
        &format!("/v1/orders/{order}/cancel"),
        &key,
        &json!({}),
    )
    .await?;
    assert_eq!((status, &again), (202, &first));

    let refunds = provider_refunds(platform.pool(Service::Payment), checkout).await?;
    let refunded: i64 = refunds.iter().map(|(amount, _)| amount).sum();
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    assert_eq!(refunded, total, "the two refunds add up to the total");
    assert_eq!(
        sagaflow_inventory::stock(&inventory, "MUG").await?,
        Some(10)
    );
    let view = order_view(&platform, order).await?;
    assert_eq!(view["status"], "cancelled", "{view}");
    assert_eq!(
        notifications(&platform, &[refund, cancellation, too_many]).await?,
        2,
        "one notice per completed change, none for the refused one"
    );

    // The operator's view: `sagaflow orders` against the order service.
    let order_api = platform.settings.order.listen.context("order listen")?;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .args(["orders", "--tenant", TENANT, "--output", "json"])
        .args(["--api", &format!("http://{order_api}")])
        .env(
            "SAGAFLOW_OPERATOR_JWT_SECRET",
            sagaflow_test_support::service_auth::OPERATOR_JWT_SECRET,
        )
        .env_remove("SAGAFLOW_OPERATOR_TOKEN")
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "sagaflow orders: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: Value = serde_json::from_slice(&output.stdout)?;
    let seen = listed["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["order_id"] == json!(order))
        .cloned()
        .context("the order is listed")?;
    assert_eq!(seen["status"], "cancelled", "{seen}");
    assert_eq!(seen["user_id"], USER);
    assert_eq!(
        seen["refunded_minor"],
        json!(third),
        "the partial refund; the cancellation refunds the rest"
    );
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_survives_a_payment_kill_between_the_refund_and_its_record()
-> anyhow::Result<()> {
    let default = if sagaflow_test_support::local_broker::binary().exists() {
        "local"
    } else {
        "mock"
    };
    let platform =
        Platform::start_except(Broker::from_env_or(default)?, &[Service::Payment]).await?;
    let env = vec![
        (
            "SAGAFLOW_FAILPOINTS".to_owned(),
            "payment.after_refund".to_owned(),
        ),
        ("KAFKA_SESSION_TIMEOUT_MS".to_owned(), "6000".to_owned()),
    ];
    let mut processes = Processes::new(platform.broker.bootstrap(), env)?;
    processes.start(Service::Payment, &platform.dbs)?;
    let inventory = platform.pool(Service::Inventory).clone();
    sagaflow_inventory::set_stock(&inventory, "MUG", 10).await?;
    let (checkout, order) = bought(&platform, 2).await?;

    let cancellation =
        started(&platform, &format!("/v1/orders/{order}/cancel"), &json!({})).await?;
    let log = processes.log_dir.join("payment.log");
    eventually("the failpoint", WAIT, || async {
        Ok(std::fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("FAILPOINT payment.after_refund")))
    })
    .await?;
    processes.kill(Service::Payment);
    let payment = platform.pool(Service::Payment).clone();
    assert_eq!(
        provider_refunds(&payment, checkout).await?.len(),
        1,
        "the provider refunded before the kill"
    );

    processes
        .extra
        .retain(|(key, _)| key != "SAGAFLOW_FAILPOINTS");
    processes.start(Service::Payment, &platform.dbs)?;
    let row = finished(&platform, cancellation).await?;
    assert_eq!(row["status"], "completed", "{row}");

    let refunds = provider_refunds(&payment, checkout).await?;
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    assert_eq!(refunds[0].1, 2, "asked twice, refunded once");
    let total = order_view(&platform, order).await?["total_minor"].as_i64();
    assert_eq!(Some(refunds[0].0), total);
    assert_eq!(
        sagaflow_inventory::stock(&inventory, "MUG").await?,
        Some(10)
    );
    assert_eq!(notifications(&platform, &[cancellation]).await?, 1);
    let statuses: BTreeMap<String, i64> =
        saga_statuses(platform.pool(Service::Orchestrator)).await?;
    assert_eq!(statuses.get("completed"), Some(&2), "{statuses:?}");
    processes.kill(Service::Payment);
    platform.stop().await
}
