//! What readers are told: a checkout driven through every step with replies built
//! from the contract structs publishes one `SagaProgressed` per decision, whose
//! typed entries number the log without a gap and name the definition's steps, and
//! whose `result` is the order the `OrderCreated` reply named; a `SagaFinished`
//! says how it ended, with its user. Renaming the reply's field, the definition's
//! result or a step in one place only fails here.

use crate::common;

use chrono::Utc;
use common::{context, input};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    Channel, CheckoutItem, InventoryReserved, NotificationSent, OrderCreated, OrderPriced,
    PaymentFailed, PaymentProcessed, ProgressKind, SagaFinished, SagaProgressed, SagaResult,
    SagaStatus, StepPhase,
};
use sagaflow_saga_checkout::steps as checkout;
use sagaflow_saga_engine::Input;
use sagaflow_saga_store::{Definitions, apply, start};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

fn reply<T: Contract>(body: &T) -> Input {
    Input::Reply {
        message_type: T::MESSAGE_TYPE.to_owned(),
        payload: serde_json::to_value(body).expect("a contract serialises"),
        causation_id: None,
    }
}

fn reserved(saga: Uuid) -> Input {
    reply(&InventoryReserved {
        saga_id: saga,
        reservation_id: Uuid::now_v7(),
    })
}

/// Two mugs at 15.00 EUR.
fn priced(saga: Uuid) -> Input {
    reply(&OrderPriced {
        saga_id: saga,
        subtotal_minor: 3000,
        discount_minor: 0,
        tax_minor: 0,
        total_minor: 3000,
        currency: "EUR".into(),
        lines: vec![CheckoutItem {
            sku: "MUG".into(),
            quantity: 2,
            unit_price_minor: 1500,
        }],
    })
}

/// The `orchestrator.events` messages of `saga` in the outbox, in order.
async fn published(
    pool: &PgPool,
    saga: Uuid,
) -> anyhow::Result<(Vec<SagaProgressed>, Vec<SagaFinished>)> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT message_type, payload FROM sagaflow_outbox
         WHERE topic = $1 AND partition_key = $2 ORDER BY id",
    )
    .bind(SagaProgressed::TOPIC)
    .bind(saga.to_string())
    .fetch_all(pool)
    .await?;
    let (mut progressed, mut finished) = (Vec::new(), Vec::new());
    for (message_type, payload) in rows {
        match message_type.as_str() {
            SagaProgressed::MESSAGE_TYPE => progressed.push(sagaflow_events::decode(&payload)?),
            SagaFinished::MESSAGE_TYPE => finished.push(sagaflow_events::decode(&payload)?),
            other => anyhow::bail!("unexpected {other} on {}", SagaProgressed::TOPIC),
        }
    }
    Ok((progressed, finished))
}

async fn drive(pool: &PgPool, saga: Uuid, inputs: &[Input]) -> anyhow::Result<()> {
    let defs = Definitions::new(vec![sagaflow_saga_checkout::definition()]);
    let def = defs.latest(checkout::NAME).expect("checkout");
    let mut tx = pool.begin().await?;
    start(
        &mut tx,
        def,
        saga,
        input(saga),
        &context(),
        None,
        Utc::now(),
    )
    .await?;
    tx.commit().await?;
    for input in inputs {
        let mut tx = pool.begin().await?;
        apply(&mut tx, &defs, saga, input, None, Utc::now()).await?;
        tx.commit().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_completed_checkout_reports_typed_entries_its_order_and_its_end() -> anyhow::Result<()> {
    let db = TestDb::create("progress_completed").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let (saga, order_id) = (Uuid::now_v7(), Uuid::now_v7());
    let replies = [
        reserved(saga),
        priced(saga),
        reply(&PaymentProcessed {
            saga_id: saga,
            payment_id: Uuid::now_v7(),
            amount_minor: 3000,
            currency: "EUR".into(),
        }),
        reply(&OrderCreated {
            saga_id: saga,
            order_id,
        }),
        reply(&sagaflow_events::messages::CartCleared {
            saga_id: saga,
            cart_id: Uuid::now_v7(),
        }),
        reply(&NotificationSent {
            notification_id: Uuid::now_v7(),
            saga_id: Some(saga),
            channel: Channel::Email,
        }),
    ];
    drive(&db.pool, saga, &replies).await?;
    let (progressed, finished) = published(&db.pool, saga).await?;

    // One message per decision: the start and each reply.
    assert_eq!(progressed.len(), 1 + replies.len());
    let entries: Vec<_> = progressed.iter().flat_map(|p| p.entries.clone()).collect();
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=entries.len() as i64).collect::<Vec<_>>());
    // The entries are the log, kind for kind.
    let logged: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM saga_events WHERE saga_id = $1 ORDER BY seq")
            .bind(saga)
            .fetch_all(&db.pool)
            .await?;
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, logged);
    for message in &progressed {
        let last = message.entries.last().expect("a decision has entries");
        assert_eq!(message.seq, last.seq);
        assert_eq!(message.status, last.status.as_str());
    }
    let completed: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind == ProgressKind::StepCompleted)
        .filter_map(|e| e.step.as_deref())
        .collect();
    assert_eq!(
        completed,
        [
            checkout::RESERVE_INVENTORY,
            checkout::PRICE_ORDER,
            checkout::TAKE_PAYMENT,
            checkout::CREATE_ORDER,
            checkout::CLEAR_CART,
            checkout::NOTIFY
        ]
    );
    let sent = entries
        .iter()
        .find(|e| e.kind == ProgressKind::CommandSent)
        .expect("a command was sent");
    assert_eq!(sent.phase, Some(StepPhase::Forward));
    assert_eq!(sent.attempt, Some(1));
    assert_eq!(sent.message_type.as_deref(), Some("ReserveInventory"));

    let expected = Some(SagaResult {
        name: checkout::RESULT_ORDER_ID.to_owned(),
        id: order_id,
    });
    // No result until the order exists, then on every later message.
    let create_order = progressed
        .iter()
        .position(|p| {
            p.entries
                .iter()
                .any(|e| e.message_type.as_deref() == Some("OrderCreated"))
        })
        .expect("the OrderCreated decision");
    assert!(
        progressed[..create_order]
            .iter()
            .all(|p| p.result.is_none())
    );
    assert!(
        progressed[create_order..]
            .iter()
            .all(|p| p.result == expected)
    );

    assert_eq!(finished.len(), 1);
    let end = &finished[0];
    assert_eq!(end.status, SagaStatus::Completed);
    assert_eq!(end.result, expected);
    assert_eq!(end.user_id.as_deref(), Some("u1"));
    assert_eq!(end.reason, None);
    assert_eq!(end.seq, entries.last().map(|e| e.seq).unwrap_or_default());
    Ok(())
}

#[tokio::test]
async fn a_declined_payment_reports_why_and_finishes_compensated() -> anyhow::Result<()> {
    let db = TestDb::create("progress_compensated").await?;
    sagaflow_saga_store::migrate(&db.pool).await?;
    let saga = Uuid::now_v7();
    let replies = [
        reserved(saga),
        priced(saga),
        reply(&PaymentFailed {
            saga_id: saga,
            reason: "card declined".into(),
        }),
        reply(&sagaflow_events::messages::InventoryReleased { saga_id: saga }),
    ];
    drive(&db.pool, saga, &replies).await?;
    let (progressed, finished) = published(&db.pool, saga).await?;

    let entries: Vec<_> = progressed.iter().flat_map(|p| p.entries.clone()).collect();
    let failed = entries
        .iter()
        .find(|e| e.kind == ProgressKind::StepFailed)
        .expect("the payment step failed");
    assert_eq!(failed.step.as_deref(), Some(checkout::TAKE_PAYMENT));
    assert!(
        failed
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("card declined")),
        "{failed:?}"
    );
    assert_eq!(failed.status, SagaStatus::Compensating);
    let release = entries
        .iter()
        .find(|e| e.kind == ProgressKind::CommandSent && e.phase == Some(StepPhase::Compensation))
        .expect("a compensation was sent");
    assert_eq!(release.step.as_deref(), Some(checkout::RESERVE_INVENTORY));
    assert!(progressed.iter().all(|p| p.result.is_none()));

    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].status, SagaStatus::Compensated);
    assert!(
        finished[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("card declined"))
    );
    assert_eq!(finished[0].result, None);
    Ok(())
}
