//! After-sale refunds (`RefundPayment`) through the real inbox transaction and
//! PostgreSQL: partial refunds of one payment by several sagas, never more than was
//! captured (even at once), refusals with their reason, and one provider refund per
//! saga whatever the redeliveries and crashes. Each test reads the provider's own
//! ledger (`sim_provider`), not only our tables.

use crate::common;

use common::{Reply, incoming, send};
use sagaflow_bus::inbox::{Outcome, process};
use sagaflow_bus::{Backoff, Handler, Incoming};
use sagaflow_events::messages::{
    CompensatePayment, PaymentProcessed, PaymentRefundFailed, PaymentRefundIssued, PaymentRefunded,
    ProcessPayment, RefundPayment,
};
use sagaflow_payment::aftersale::{aftersale_refund_key, aftersale_refunds_of};
use sagaflow_payment::provider::{
    LedgerRefund, Provider, RefundOutcome, RefundRequest, ledger_refunds,
};
use sagaflow_payment::{NAME, PaymentHandler, Settings};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("payrefund").await?;
    sagaflow_payment::migrate(&db.pool).await?;
    Ok(db)
}

async fn go(pool: &PgPool, handler: &PaymentHandler, message: &Incoming) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, message).await?)
}

/// A checkout saga charged `amount_minor` EUR: its captured payment.
async fn captured(
    pool: &PgPool,
    handler: &PaymentHandler,
    amount_minor: i64,
) -> anyhow::Result<PaymentProcessed> {
    let saga_id = Uuid::now_v7();
    let command = ProcessPayment {
        saga_id,
        customer_id: "cust-1".into(),
        amount_minor,
        currency: "EUR".into(),
        payment_method: "visa".into(),
    };
    Ok(go(pool, handler, &incoming(Some(saga_id), &command))
        .await?
        .expect())
}

fn refund_command(saga_id: Uuid, payment_id: Uuid, amount_minor: i64, currency: &str) -> Incoming {
    incoming(
        Some(saga_id),
        &RefundPayment {
            saga_id,
            payment_id,
            amount_minor,
            currency: currency.into(),
            reason: "customer returned two items".into(),
        },
    )
}

fn refund(saga_id: Uuid, payment_id: Uuid, amount_minor: i64) -> Incoming {
    refund_command(saga_id, payment_id, amount_minor, "EUR")
}

/// The provider's refunds of the checkout saga's charge, whatever their keys.
async fn provider_refunds(pool: &PgPool, checkout: Uuid) -> anyhow::Result<Vec<LedgerRefund>> {
    Ok(ledger_refunds(pool, &checkout.to_string()).await?)
}

#[tokio::test]
async fn two_sagas_refund_one_payment_in_parts() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let paid = captured(&db.pool, &handler, 10_000).await?;

    let (first_saga, second_saga) = (Uuid::now_v7(), Uuid::now_v7());
    let first: PaymentRefundIssued = go(
        &db.pool,
        &handler,
        &refund(first_saga, paid.payment_id, 3_000),
    )
    .await?
    .expect();
    assert_eq!(
        (
            first.saga_id,
            first.payment_id,
            first.amount_minor,
            first.currency.as_str()
        ),
        (first_saga, paid.payment_id, 3_000, "EUR")
    );
    let second: PaymentRefundIssued = go(
        &db.pool,
        &handler,
        &refund(second_saga, paid.payment_id, 6_007),
    )
    .await?
    .expect();
    assert_eq!(second.amount_minor, 6_007);
    assert_ne!(second.refund_id, first.refund_id);

    let ledger = provider_refunds(&db.pool, paid.saga_id).await?;
    let mut seen: Vec<_> = ledger
        .iter()
        .map(|r| {
            (
                r.idempotency_key.clone(),
                r.refund_id,
                r.amount_minor,
                r.requests,
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (aftersale_refund_key(first_saga), first.refund_id, 3_000, 1),
        (
            aftersale_refund_key(second_saga),
            second.refund_id,
            6_007,
            1,
        ),
    ];
    expected.sort();
    assert_eq!(seen, expected, "two provider refunds, one per saga");
    let records = aftersale_refunds_of(&db.pool, paid.payment_id).await?;
    assert!(records.iter().all(|r| r.status == "issued"), "{records:?}");
    assert_eq!(records.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_refund_above_what_is_left_is_refused_with_the_amounts() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let paid = captured(&db.pool, &handler, 8_993).await?;
    let _: PaymentRefundIssued = go(
        &db.pool,
        &handler,
        &refund(Uuid::now_v7(), paid.payment_id, 5_000),
    )
    .await?
    .expect();

    let too_much = Uuid::now_v7();
    let failed: PaymentRefundFailed = go(
        &db.pool,
        &handler,
        &refund(too_much, paid.payment_id, 5_000),
    )
    .await?
    .expect();
    assert_eq!(failed.saga_id, too_much);
    assert_eq!(
        failed.reason,
        format!(
            "refund of 5000 EUR exceeds the 3993 EUR left on payment {}",
            paid.payment_id
        )
    );
    // Asked again (another attempt): the same refusal, recorded.
    let again: PaymentRefundFailed = go(
        &db.pool,
        &handler,
        &refund(too_much, paid.payment_id, 5_000),
    )
    .await?
    .expect();
    assert_eq!(again, failed);
    // The refusal holds nothing back: what is left can still be refunded.
    let rest: PaymentRefundIssued = go(
        &db.pool,
        &handler,
        &refund(Uuid::now_v7(), paid.payment_id, 3_993),
    )
    .await?
    .expect();
    assert_eq!(rest.amount_minor, 3_993);
    let ledger = provider_refunds(&db.pool, paid.saga_id).await?;
    assert_eq!(
        ledger.iter().map(|r| r.amount_minor).sum::<i64>(),
        8_993,
        "refunded exactly the capture: {ledger:?}"
    );
    assert!(
        ledger
            .iter()
            .all(|r| r.idempotency_key != aftersale_refund_key(too_much)),
        "the refused saga never reached the provider"
    );
    Ok(())
}

#[tokio::test]
async fn invalid_commands_fail_with_a_reason_and_never_reach_the_provider() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let paid = captured(&db.pool, &handler, 5_000).await?;
    // A payment refunded in full by its checkout's compensation.
    let compensated = captured(&db.pool, &handler, 2_000).await?;
    let saga = compensated.saga_id;
    let compensation = CompensatePayment {
        saga_id: saga,
        reason: "order failed".into(),
    };
    let _: PaymentRefunded = go(&db.pool, &handler, &incoming(Some(saga), &compensation))
        .await?
        .expect();
    let unknown = Uuid::now_v7();

    let cases = [
        (
            paid.payment_id,
            0,
            "EUR",
            "invalid refund amount 0: it must be positive".to_owned(),
        ),
        (
            paid.payment_id,
            -5,
            "EUR",
            "invalid refund amount -5: it must be positive".to_owned(),
        ),
        (
            paid.payment_id,
            100,
            "eur",
            "invalid currency `eur`: expected 3 upper-case letters".to_owned(),
        ),
        (
            paid.payment_id,
            100,
            "USD",
            format!("refund in USD of payment {}, made in EUR", paid.payment_id),
        ),
        (unknown, 100, "EUR", format!("no payment {unknown}")),
        (
            compensated.payment_id,
            100,
            "EUR",
            format!(
                "payment {} is refunded, not captured: nothing to refund",
                compensated.payment_id
            ),
        ),
    ];
    for (payment_id, amount, currency, reason) in cases {
        let saga = Uuid::now_v7();
        let failed: PaymentRefundFailed = go(
            &db.pool,
            &handler,
            &refund_command(saga, payment_id, amount, currency),
        )
        .await?
        .expect();
        assert_eq!((failed.saga_id, failed.reason), (saga, reason));
    }
    assert!(
        provider_refunds(&db.pool, paid.saga_id).await?.is_empty(),
        "nothing refunded"
    );
    let compensation_refunds = provider_refunds(&db.pool, compensated.saga_id).await?;
    assert_eq!(compensation_refunds.len(), 1, "only the compensation's");
    Ok(())
}

#[tokio::test]
async fn a_redelivered_refund_replies_the_same_and_the_provider_refunds_once() -> anyhow::Result<()>
{
    let db = db().await?;
    let handler = PaymentHandler::default();
    let paid = captured(&db.pool, &handler, 4_200).await?;
    let saga = Uuid::now_v7();
    let first = refund(saga, paid.payment_id, 1_200);
    // `prepare` ran and the consumer died before its transaction committed: the
    // redelivery prepares again and finds the recorded refund.
    handler.prepare(&db.pool, &first).await?;
    let issued: PaymentRefundIssued = go(&db.pool, &handler, &first).await?.expect();
    // The same message again: the inbox skips it.
    assert_eq!(
        process(&db.pool, &handler, NAME, &first, Backoff::default()).await,
        Outcome::Duplicate
    );
    // The saga's next attempt (a new message id, the same saga).
    let retry: PaymentRefundIssued = go(&db.pool, &handler, &refund(saga, paid.payment_id, 1_200))
        .await?
        .expect();
    assert_eq!(retry, issued);

    let ledger = provider_refunds(&db.pool, paid.saga_id).await?;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(
        (
            ledger[0].idempotency_key.as_str(),
            ledger[0].refund_id,
            ledger[0].amount_minor,
            ledger[0].requests
        ),
        (
            aftersale_refund_key(saga).as_str(),
            issued.refund_id,
            1_200,
            1
        ),
        "the provider was asked once"
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_between_the_refund_and_its_record_refunds_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let paid = captured(&db.pool, &handler, 4_200).await?;
    let saga = Uuid::now_v7();
    // What a delivery killed at `payment.after_refund` leaves behind: its claim
    // (`pending`), and the provider's refund under the saga's key.
    let key = aftersale_refund_key(saga);
    sqlx::query(
        "INSERT INTO aftersale_refunds
             (saga_id, payment_id, amount_minor, currency, status, reason, refund_key)
         VALUES ($1, $2, 1500, 'EUR', 'pending', 'customer returned an item', $3)",
    )
    .bind(saga)
    .bind(paid.payment_id)
    .bind(&key)
    .execute(&db.pool)
    .await?;
    let request = RefundRequest {
        key: &key,
        payment_id: paid.payment_id,
        amount_minor: 1_500,
        currency: "EUR",
    };
    let RefundOutcome::Refunded(earlier) = Provider::new(&Settings::default())
        .refund_part(&db.pool, &request)
        .await?
    else {
        panic!("the provider declined");
    };
    // While pending, the claim counts: a concurrent saga cannot take its part.
    let other: PaymentRefundFailed = go(
        &db.pool,
        &handler,
        &refund(Uuid::now_v7(), paid.payment_id, 3_000),
    )
    .await?
    .expect();
    assert!(
        other.reason.contains("exceeds the 2700 EUR left"),
        "{}",
        other.reason
    );

    // The redelivery asks the provider again, with the same key.
    let issued: PaymentRefundIssued = go(&db.pool, &handler, &refund(saga, paid.payment_id, 1_500))
        .await?
        .expect();
    assert_eq!(
        (issued.refund_id, issued.amount_minor),
        (earlier.refund_id, 1_500)
    );
    let ledger = provider_refunds(&db.pool, paid.saga_id).await?;
    assert_eq!(ledger.len(), 1, "refunded once: {ledger:?}");
    assert_eq!(
        ledger[0].requests, 2,
        "asked again, answered from the ledger"
    );
    let records = aftersale_refunds_of(&db.pool, paid.payment_id).await?;
    let record = records.iter().find(|r| r.saga_id == saga);
    assert_eq!(
        record.map(|r| (r.status.as_str(), r.refund_id)),
        Some(("issued", Some(earlier.refund_id)))
    );
    Ok(())
}

#[tokio::test]
async fn two_concurrent_refunds_above_the_capture_together_issue_exactly_one() -> anyhow::Result<()>
{
    let db = db().await?;
    let fast = PaymentHandler::default();
    // A slow provider keeps both sagas in flight at once.
    let slow = PaymentHandler::new(Settings {
        latency_ms: 150,
        ..Settings::default()
    });
    for round in 0..3 {
        let paid = captured(&db.pool, &fast, 10_000).await?;
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (a_command, b_command) = (
            refund(a, paid.payment_id, 6_000),
            refund(b, paid.payment_id, 6_000),
        );
        let (a_reply, b_reply) = tokio::join!(
            go(&db.pool, &slow, &a_command),
            go(&db.pool, &slow, &b_command),
        );
        let replies = [a_reply?, b_reply?];
        let issued: Vec<PaymentRefundIssued> = replies
            .iter()
            .filter(|r| r.message_type == "PaymentRefundIssued")
            .map(Reply::expect)
            .collect();
        let failed: Vec<PaymentRefundFailed> = replies
            .iter()
            .filter(|r| r.message_type == "PaymentRefundFailed")
            .map(Reply::expect)
            .collect();
        assert_eq!(
            (issued.len(), failed.len()),
            (1, 1),
            "round {round}: {replies:?}"
        );
        assert_eq!(
            failed[0].reason,
            format!(
                "refund of 6000 EUR exceeds the 4000 EUR left on payment {}",
                paid.payment_id
            )
        );
        let ledger = provider_refunds(&db.pool, paid.saga_id).await?;
        assert_eq!(ledger.len(), 1, "round {round}: {ledger:?}");
        assert_eq!(
            (ledger[0].refund_id, ledger[0].amount_minor),
            (issued[0].refund_id, 6_000)
        );
    }
    Ok(())
}
