//! Shared by the timer tests: a checkout saga's context and input, starting one,
//! a reply, and reading a saga's log kinds.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use sagaflow_saga_engine::{Definition, Input};
use sagaflow_saga_store::{SagaContext, start};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub fn context() -> SagaContext {
    SagaContext {
        tenant_id: "acme".into(),
        correlation_id: Uuid::now_v7(),
        traceparent: None,
    }
}

pub fn input(saga_id: Uuid) -> serde_json::Value {
    json!({
        "checkout_id": saga_id, "user_id": "u1", "cart_id": Uuid::now_v7(),
        "items": [{"sku": "MUG", "quantity": 2, "unit_price_minor": 1500}],
        "currency": "EUR", "payment_method": "card", "customer_email": "a@b.c", "discount_code": null
    })
}

/// Starts a checkout saga on `def` as of `at` (its first deadline is `at` plus
/// the step timeout) and returns its id.
pub async fn start_at(pool: &PgPool, def: &Definition, at: DateTime<Utc>) -> anyhow::Result<Uuid> {
    let saga = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    let started = start(&mut tx, def, saga, input(saga), &context(), None, at).await?;
    anyhow::ensure!(started.is_some(), "saga {saga} started");
    tx.commit().await?;
    Ok(saga)
}

/// The inventory step's success reply.
pub fn reserved(saga: Uuid) -> Input {
    Input::Reply {
        message_type: "InventoryReserved".into(),
        payload: json!({"saga_id": saga, "reservation_id": Uuid::now_v7()}),
        causation_id: None,
    }
}

/// How many entries of `kind` the saga's log has.
pub async fn count_kind(pool: &PgPool, saga: Uuid, kind: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM saga_events WHERE saga_id = $1 AND kind = $2")
            .bind(saga)
            .bind(kind)
            .fetch_one(pool)
            .await?,
    )
}
