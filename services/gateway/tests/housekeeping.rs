//! The gateway's housekeeping (`sagaflow_gateway::housekeeping::prune_once`)
//! against real PostgreSQL: expired idempotency keys, progress of sagas the
//! gateway has no row for and old `erased_sagas` go, in bounded batches; live
//! keys, the progress of known sagas (also one adopted late) and recent rows
//! stay; `sagaflow_gateway_pruned_total{table}` counts what went (read from the
//! binary's shared recorder, `common::metrics_recorder`).

use crate::common;

use std::time::Duration;

use axum::http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::{InitiateCheckout, OrderLine};
use sagaflow_gateway::housekeeping::{self, Policy, Pruned};
use sagaflow_gateway::{NAME, Projection};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use common::{Gateway, TENANT, USER, checkout_body, feed_event, incoming, progress_of};

fn recorder() -> &'static PrometheusHandle {
    common::metrics_recorder()
}

/// The tests of this module take turns, so each sees only its own counts (no
/// other module prunes).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn pruned_total(table: &str) -> u64 {
    let text = recorder().render();
    text.lines()
        .find(|line| {
            line.starts_with("sagaflow_gateway_pruned_total{")
                && line.contains(&format!(r#"table="{table}""#))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A one-day key lifetime, a one-hour orphan window, batches of `batch`.
fn policy(batch: u32) -> Policy {
    Policy {
        idempotency_ttl: Duration::from_secs(86_400),
        orphan_progress_retention: Duration::from_secs(3_600),
        erased_sagas_retention: housekeeping::ERASED_SAGAS_RETENTION,
        batch,
        interval: Duration::from_secs(60),
    }
}

/// Moves the creation of every idempotency key of `user` back by `age`.
async fn age_keys(pool: &PgPool, user: &str, age: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE user_id = $1")
        .bind(user)
        .bind(age)
        .execute(pool)
        .await?;
    Ok(())
}

/// Moves the projection time of `saga_id`'s progress back by `age`.
async fn age_progress(pool: &PgPool, saga_id: Uuid, age: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE saga_progress SET projected_at = now() - $2::interval WHERE saga_id = $1")
        .bind(saga_id)
        .bind(age)
        .execute(pool)
        .await?;
    Ok(())
}

async fn progress_rows(pool: &PgPool, saga_id: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM saga_progress WHERE saga_id = $1")
            .bind(saga_id)
            .fetch_one(pool)
            .await?,
    )
}

async fn keys_of(pool: &PgPool, user: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE user_id = $1")
            .bind(user)
            .fetch_one(pool)
            .await?,
    )
}

/// Feeds three progress entries of `saga_id` through the projection.
async fn three_entries(gw: &Gateway, saga_id: Uuid) -> anyhow::Result<()> {
    for seq in 1..=3 {
        let event = progress_of(
            "checkout",
            saga_id,
            seq,
            "started",
            None,
            "running",
            json!({}),
        );
        feed_event(gw, TENANT, &event).await?;
    }
    Ok(())
}

#[tokio::test]
async fn expired_keys_and_orphan_progress_go_live_ones_stay() -> anyhow::Result<()> {
    let _turn = SERIAL.lock().await;
    recorder();
    let before = (
        pruned_total("idempotency_keys"),
        pruned_total("saga_progress"),
        pruned_total("erased_sagas"),
    );
    let gw = Gateway::start().await?;
    let pool = gw.pool();

    // Keys: two of "old" are two days old (expired), one of "fresh" is new.
    gw.checkout(TENANT, "old").await?;
    gw.checkout(TENANT, "old").await?;
    let (status, first) = gw
        .post(TENANT, "fresh", "fresh-key", &checkout_body())
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let fresh = common::checkout_id(&first)?;
    age_keys(pool, "old", "2 days").await?;

    // Progress: of a known checkout (old), of a saga never seen started (old:
    // pruned; recent: kept, its start may still come), and of a saga whose start
    // came after its progress (old, adopted: kept).
    three_entries(&gw, fresh).await?;
    age_progress(pool, fresh, "2 days").await?;
    let (orphan, young_orphan, adopted) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    for saga in [orphan, young_orphan, adopted] {
        three_entries(&gw, saga).await?;
    }
    age_progress(pool, orphan, "2 hours").await?;
    age_progress(pool, young_orphan, "10 minutes").await?;
    let start = InitiateCheckout {
        checkout_id: adopted,
        user_id: USER.into(),
        cart_id: Uuid::now_v7(),
        items: vec![OrderLine {
            sku: "SKU-RED-M".into(),
            quantity: 1,
        }],
        currency: "EUR".into(),
        payment_method: "card_visa_4242".into(),
        customer_email: "ada@example.com".into(),
        discount_code: None,
        shipping_country: Some("DE".into()),
    };
    let message = incoming(TENANT, adopted, &start);
    let outcome = inbox::process(pool, &Projection, NAME, &message, Backoff::default()).await;
    assert!(matches!(outcome, Outcome::Handled), "{outcome:?}");
    age_progress(pool, adopted, "2 days").await?;

    // erased_sagas: one 31 days old, one from today.
    let (long_erased, just_erased) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO erased_sagas (saga_id, erased_at)
         VALUES ($1, now() - interval '31 days'), ($2, now())",
    )
    .bind(long_erased)
    .bind(just_erased)
    .execute(pool)
    .await?;

    let pruned = housekeeping::prune_once(pool, &policy(5_000)).await?;
    assert_eq!(
        pruned,
        Pruned {
            idempotency_keys: 2,
            saga_progress: 3,
            erased_sagas: 1,
        }
    );
    assert_eq!(
        (keys_of(pool, "old").await?, keys_of(pool, "fresh").await?),
        (0, 1)
    );
    assert_eq!(progress_rows(pool, orphan).await?, 0);
    for saga in [fresh, young_orphan, adopted] {
        assert_eq!(progress_rows(pool, saga).await?, 3, "{saga}");
    }
    let erased: Vec<Uuid> = sqlx::query_scalar("SELECT saga_id FROM erased_sagas")
        .fetch_all(pool)
        .await?;
    assert_eq!(erased, vec![just_erased]);

    // The live key still answers its retry with the saved response.
    let (status, again) = gw
        .post(TENANT, "fresh", "fresh-key", &checkout_body())
        .await?;
    assert_eq!(
        (status, common::checkout_id(&again)?),
        (StatusCode::ACCEPTED, fresh)
    );

    // A second round finds nothing more.
    assert_eq!(
        housekeeping::prune_once(pool, &policy(5_000)).await?,
        Pruned::default()
    );
    let after = (
        pruned_total("idempotency_keys"),
        pruned_total("saga_progress"),
        pruned_total("erased_sagas"),
    );
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (2, 3, 1)
    );
    Ok(())
}

#[tokio::test]
async fn a_round_deletes_at_most_a_batch_per_table() -> anyhow::Result<()> {
    let _turn = SERIAL.lock().await;
    recorder();
    let gw = Gateway::start().await?;
    let pool = gw.pool();
    for _ in 0..5 {
        let (status, body) = gw
            .post(TENANT, "old", &Uuid::new_v4().to_string(), &checkout_body())
            .await?;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    age_keys(pool, "old", "2 days").await?;
    let orphan = Uuid::now_v7();
    three_entries(&gw, orphan).await?;
    age_progress(pool, orphan, "2 hours").await?;

    let first = housekeeping::prune_once(pool, &policy(2)).await?;
    assert_eq!((first.idempotency_keys, first.saga_progress), (2, 2));
    assert!(first.full(2), "a full batch: more may be waiting");
    let second = housekeeping::prune_once(pool, &policy(2)).await?;
    assert_eq!((second.idempotency_keys, second.saga_progress), (2, 1));
    let third = housekeeping::prune_once(pool, &policy(2)).await?;
    assert_eq!((third.idempotency_keys, third.saga_progress), (1, 0));
    assert!(!third.full(2));
    assert_eq!(keys_of(pool, "old").await?, 0);
    assert_eq!(progress_rows(pool, orphan).await?, 0);
    Ok(())
}
