//! Charges, declines and refunds through the real inbox transaction and PostgreSQL.

use crate::common;

use common::{Reply, incoming, send};
use sagaflow_events::messages::{
    CompensatePayment, PaymentFailed, PaymentProcessed, PaymentRefunded, ProcessPayment,
};
use sagaflow_payment::{NAME, PaymentHandler, Settings, captured_count, payments_for, refunds_for};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("pay").await?;
    sagaflow_payment::migrate(&db.pool).await?;
    Ok(db)
}

fn charge(saga_id: Uuid, amount_minor: i64, method: &str) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga_id),
        &ProcessPayment {
            saga_id,
            customer_id: "cust-1".into(),
            amount_minor,
            currency: "EUR".into(),
            payment_method: method.into(),
        },
    )
}

fn compensate(saga_id: Uuid) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga_id),
        &CompensatePayment {
            saga_id,
            reason: "order failed".into(),
        },
    )
}

async fn go(
    pool: &PgPool,
    handler: &PaymentHandler,
    message: &sagaflow_bus::Incoming,
) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, message).await?)
}

#[tokio::test]
async fn captures_once_per_saga() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let processed: PaymentProcessed = go(&db.pool, &handler, &charge(saga, 1999, "visa"))
        .await?
        .expect();
    assert_eq!(
        (
            processed.saga_id,
            processed.amount_minor,
            processed.currency.as_str()
        ),
        (saga, 1999, "EUR")
    );

    let again: PaymentProcessed = go(&db.pool, &handler, &charge(saga, 1999, "visa"))
        .await?
        .expect();
    assert_eq!(again, processed, "same payment id on repeat");
    let payments = payments_for(&db.pool, saga).await?;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].status, "captured");
    assert_eq!(payments[0].payment_id, Some(processed.payment_id));
    assert_eq!(captured_count(&db.pool).await?, 1, "no double charge");
    Ok(())
}

#[tokio::test]
async fn declined_method_fails_and_repeats_the_failure() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let failed: PaymentFailed = go(&db.pool, &handler, &charge(saga, 500, "card_declined"))
        .await?
        .expect();
    assert_eq!(failed.reason, "card declined");
    // Even with a good method now, the saga's answer stays the same.
    let again: PaymentFailed = go(&db.pool, &handler, &charge(saga, 500, "visa"))
        .await?
        .expect();
    assert_eq!(again, failed);
    assert_eq!(captured_count(&db.pool).await?, 0);
    assert_eq!(payments_for(&db.pool, saga).await?[0].status, "declined");

    let invalid: PaymentFailed = go(&db.pool, &handler, &charge(Uuid::now_v7(), 0, "visa"))
        .await?
        .expect();
    assert!(
        invalid.reason.contains("invalid amount"),
        "{}",
        invalid.reason
    );
    Ok(())
}

#[tokio::test]
async fn double_compensation_refunds_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let processed: PaymentProcessed = go(&db.pool, &handler, &charge(saga, 2500, "visa"))
        .await?
        .expect();

    let refunded: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!(refunded.payment_id, Some(processed.payment_id));
    assert_eq!(refunded.amount_minor, 2500);
    let again: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!(again, refunded);

    let refunds = refunds_for(&db.pool, saga).await?;
    assert_eq!(refunds.len(), 1, "one refund row");
    assert_eq!(
        (refunds[0].payment_id, refunds[0].amount_minor),
        (processed.payment_id, 2500)
    );
    assert_eq!(payments_for(&db.pool, saga).await?[0].status, "refunded");
    assert_eq!(captured_count(&db.pool).await?, 0);

    // A late duplicate charge after the refund does not charge again.
    let late: PaymentFailed = go(&db.pool, &handler, &charge(saga, 2500, "visa"))
        .await?
        .expect();
    assert_eq!(late.reason, sagaflow_payment::handler::CANCELLED);
    assert_eq!(refunds_for(&db.pool, saga).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn void_before_charge_refuses_the_late_charge() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let voided: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!((voided.payment_id, voided.amount_minor), (None, 0));

    let late: PaymentFailed = go(&db.pool, &handler, &charge(saga, 1000, "visa"))
        .await?
        .expect();
    assert_eq!(late.reason, sagaflow_payment::handler::CANCELLED);
    let payments = payments_for(&db.pool, saga).await?;
    assert_eq!(payments.len(), 1);
    assert_eq!(
        (payments[0].status.as_str(), payments[0].payment_id),
        ("voided", None)
    );
    assert_eq!(captured_count(&db.pool).await?, 0, "never charged");
    assert!(refunds_for(&db.pool, saga).await?.is_empty());
    let _: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    Ok(())
}

#[tokio::test]
async fn decline_rate_one_declines_everything_and_zero_nothing() -> anyhow::Result<()> {
    let db = db().await?;
    let always = PaymentHandler::new(Settings {
        decline_rate: 1.0,
        seed: Some(7),
        ..Settings::default()
    });
    for _ in 0..10 {
        let failed: PaymentFailed = go(&db.pool, &always, &charge(Uuid::now_v7(), 100, "visa"))
            .await?
            .expect();
        assert_eq!(failed.reason, "declined by the issuer");
    }
    let never = PaymentHandler::new(Settings {
        decline_rate: 0.0,
        latency_ms: 5,
        ..Settings::default()
    });
    for _ in 0..10 {
        let _: PaymentProcessed = go(&db.pool, &never, &charge(Uuid::now_v7(), 100, "visa"))
            .await?
            .expect();
    }
    assert_eq!(captured_count(&db.pool).await?, 10);
    Ok(())
}
