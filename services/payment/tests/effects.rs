//! The provider is called exactly once per saga whatever the inbox does: batches
//! rolled back and replayed one by one (a real `InboxConsumer` on the mock cluster),
//! redeliveries, retry attempts, crashes between the provider's answer and its
//! record, and compensations racing a charge. Each test reads the provider's own
//! ledger (`sim_provider`), not only our `payments` table.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Reply, incoming, send};
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;
use sagaflow_bus::inbox::{Outcome, process};
use sagaflow_bus::testing::produce;
use sagaflow_bus::{Backoff, Failure, Handler, InboxConsumer, Incoming, KafkaConfig, Outgoing};
use sagaflow_events::messages::{
    CompensatePayment, PaymentFailed, PaymentProcessed, PaymentRefunded, ProcessPayment,
    ReleaseInventory,
};
use sagaflow_payment::handler::{CANCELLED, charge_key, refund_key};
use sagaflow_payment::provider::{
    ChargeOutcome, ChargeRequest, LedgerCharge, LedgerRefund, Provider, ledger_charges,
    ledger_refunds,
};
use sagaflow_payment::{NAME, PaymentHandler, Settings, payments_for, refunds_for};
use sagaflow_test_support::{Broker, TestDb, eventually, unique_topic};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("payfx").await?;
    sagaflow_payment::migrate(&db.pool).await?;
    Ok(db)
}

fn process_payment(saga_id: Uuid) -> ProcessPayment {
    ProcessPayment {
        saga_id,
        customer_id: "cust-1".into(),
        amount_minor: 4200,
        currency: "EUR".into(),
        payment_method: "visa".into(),
    }
}

fn charge(saga_id: Uuid) -> Incoming {
    incoming(Some(saga_id), &process_payment(saga_id))
}

fn compensate(saga_id: Uuid) -> Incoming {
    incoming(
        Some(saga_id),
        &CompensatePayment {
            saga_id,
            reason: "order failed".into(),
        },
    )
}

async fn go(pool: &PgPool, handler: &PaymentHandler, message: &Incoming) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, message).await?)
}

/// The provider's captured charges for the saga, whatever their keys.
async fn captured(pool: &PgPool, saga: Uuid) -> anyhow::Result<Vec<LedgerCharge>> {
    Ok(ledger_charges(pool, &saga.to_string())
        .await?
        .into_iter()
        .filter(|c| c.status == "captured")
        .collect())
}

async fn provider_refunds(pool: &PgPool, saga: Uuid) -> anyhow::Result<Vec<LedgerRefund>> {
    Ok(ledger_refunds(pool, &saga.to_string()).await?)
}

/// What a ProcessPayment killed between the provider's answer and its record leaves
/// behind: the claim (`pending`), and the provider's charge under the saga's key.
async fn crashed_after_charge(
    pool: &PgPool,
    saga: Uuid,
    charged: bool,
) -> anyhow::Result<Option<Uuid>> {
    let command = process_payment(saga);
    sqlx::query(
        "INSERT INTO payments (saga_id, customer_id, amount_minor, currency, status, charge_key)
         VALUES ($1, $2, $3, $4, 'pending', $5)",
    )
    .bind(saga)
    .bind(&command.customer_id)
    .bind(command.amount_minor)
    .bind(&command.currency)
    .bind(charge_key(saga))
    .execute(pool)
    .await?;
    if !charged {
        return Ok(None);
    }
    let key = charge_key(saga);
    let reference = saga.to_string();
    let outcome = Provider::new(&Settings::default())
        .charge(
            pool,
            &ChargeRequest {
                key: &key,
                reference: &reference,
                amount_minor: command.amount_minor,
                currency: &command.currency,
                payment_method: &command.payment_method,
            },
        )
        .await?;
    match outcome {
        ChargeOutcome::Captured(charge) => Ok(Some(charge.payment_id)),
        declined => anyhow::bail!("{declined:?}"),
    }
}

#[tokio::test]
async fn a_redelivered_or_retried_process_payment_never_calls_the_provider_again()
-> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let first = charge(saga);
    // `prepare` ran and the consumer died before its transaction committed: the
    // redelivery prepares again, and finds the recorded outcome.
    handler.prepare(&db.pool, &first).await?;
    let processed: PaymentProcessed = go(&db.pool, &handler, &first).await?.expect();
    // The same message again: the inbox skips it.
    let again = process(&db.pool, &handler, NAME, &first, Backoff::default()).await;
    assert_eq!(again, Outcome::Duplicate);
    // The orchestrator's next attempt (a new message id, the same saga).
    let retry: PaymentProcessed = go(&db.pool, &handler, &charge(saga)).await?.expect();
    assert_eq!(retry, processed);

    let ledger = captured(&db.pool, saga).await?;
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(ledger[0].payment_id, Some(processed.payment_id));
    assert_eq!(ledger[0].requests, 1, "the provider was asked once");
    assert_eq!(ledger[0].idempotency_key, charge_key(saga));
    Ok(())
}

#[tokio::test]
async fn a_crash_between_the_charge_and_its_record_gets_the_providers_answer_again()
-> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let charged = crashed_after_charge(&db.pool, saga, true).await?;
    assert_eq!(payments_for(&db.pool, saga).await?[0].status, "pending");

    let processed: PaymentProcessed = go(&db.pool, &handler, &charge(saga)).await?.expect();
    assert_eq!(Some(processed.payment_id), charged, "the same payment");
    let ledger = captured(&db.pool, saga).await?;
    assert_eq!(ledger.len(), 1, "charged once: {ledger:?}");
    assert_eq!(
        ledger[0].requests, 2,
        "asked again, answered from the ledger"
    );
    let payments = payments_for(&db.pool, saga).await?;
    assert_eq!(
        (payments[0].status.as_str(), payments[0].payment_id),
        ("captured", charged)
    );
    Ok(())
}

#[tokio::test]
async fn compensation_after_capture_refunds_once_even_delivered_twice() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let processed: PaymentProcessed = go(&db.pool, &handler, &charge(saga)).await?.expect();

    let first = compensate(saga);
    let refunded: PaymentRefunded = go(&db.pool, &handler, &first).await?.expect();
    assert_eq!(
        (refunded.payment_id, refunded.amount_minor),
        (Some(processed.payment_id), 4200)
    );
    assert_eq!(
        process(&db.pool, &handler, NAME, &first, Backoff::default()).await,
        Outcome::Duplicate
    );
    // A second CompensatePayment (another attempt: another message id).
    let again: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!(again, refunded);

    let refunds = provider_refunds(&db.pool, saga).await?;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (
            refunds[0].payment_id,
            refunds[0].amount_minor,
            refunds[0].requests
        ),
        (processed.payment_id, 4200, 1)
    );
    assert_eq!(refunds[0].idempotency_key, refund_key(saga));
    assert_eq!(refunds_for(&db.pool, saga).await?.len(), 1);
    // And a late ProcessPayment neither charges nor refunds again.
    let late: PaymentFailed = go(&db.pool, &handler, &charge(saga)).await?.expect();
    assert_eq!(late.reason, CANCELLED);
    assert_eq!(captured(&db.pool, saga).await?.len(), 1);
    assert_eq!(provider_refunds(&db.pool, saga).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_crash_between_the_refund_and_its_record_refunds_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let processed: PaymentProcessed = go(&db.pool, &handler, &charge(saga)).await?.expect();
    // The compensation reached the provider, then died before recording.
    let earlier = Provider::new(&Settings::default())
        .refund(&db.pool, &refund_key(saga), processed.payment_id)
        .await?;
    let refunded: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!(refunded.payment_id, Some(processed.payment_id));
    let refunds = provider_refunds(&db.pool, saga).await?;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (refunds[0].refund_id, refunds[0].requests),
        (earlier.refund_id, 2)
    );
    Ok(())
}

#[tokio::test]
async fn compensation_before_the_charge_voids_it_and_the_late_charge_charges_nothing()
-> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();
    let saga = Uuid::now_v7();
    let voided: PaymentRefunded = go(&db.pool, &handler, &compensate(saga)).await?.expect();
    assert_eq!((voided.payment_id, voided.amount_minor), (None, 0));
    let late: PaymentFailed = go(&db.pool, &handler, &charge(saga)).await?.expect();
    assert_eq!(late.reason, CANCELLED);
    assert!(
        ledger_charges(&db.pool, &saga.to_string())
            .await?
            .is_empty(),
        "the provider never heard of the saga"
    );
    assert_eq!(payments_for(&db.pool, saga).await?[0].status, "voided");
    Ok(())
}

#[tokio::test]
async fn compensation_settles_a_charge_left_pending_by_a_crash() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = PaymentHandler::default();

    // The provider charged, nothing recorded it (the ProcessPayment then went to the
    // dead letters, say): the compensation finds the charge and refunds it.
    let charged_saga = Uuid::now_v7();
    let charged = crashed_after_charge(&db.pool, charged_saga, true).await?;
    let refunded: PaymentRefunded = go(&db.pool, &handler, &compensate(charged_saga))
        .await?
        .expect();
    assert_eq!(
        (refunded.payment_id, refunded.amount_minor),
        (charged, 4200)
    );
    let late: PaymentFailed = go(&db.pool, &handler, &charge(charged_saga))
        .await?
        .expect();
    assert_eq!(late.reason, CANCELLED);
    assert_eq!(captured(&db.pool, charged_saga).await?.len(), 1);
    assert_eq!(provider_refunds(&db.pool, charged_saga).await?.len(), 1);
    assert_eq!(
        payments_for(&db.pool, charged_saga).await?[0].status,
        "refunded"
    );

    // The claim was made, the provider never charged: the compensation cancels the
    // key at the provider, and the late ProcessPayment is refused by both.
    let unpaid_saga = Uuid::now_v7();
    crashed_after_charge(&db.pool, unpaid_saga, false).await?;
    let voided: PaymentRefunded = go(&db.pool, &handler, &compensate(unpaid_saga))
        .await?
        .expect();
    assert_eq!((voided.payment_id, voided.amount_minor), (None, 0));
    let late: PaymentFailed = go(&db.pool, &handler, &charge(unpaid_saga)).await?.expect();
    assert_eq!(late.reason, CANCELLED);
    assert!(captured(&db.pool, unpaid_saga).await?.is_empty());
    let ledger = ledger_charges(&db.pool, &unpaid_saga.to_string()).await?;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].status, "cancelled", "the key is refused for good");
    Ok(())
}

/// When a compensation starts, relative to the charge it races.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Before the charge claimed the saga.
    BeforeTheClaim,
    /// While the saga is claimed (`pending`) and the slow provider is charging.
    WhileCharging,
    /// After the charge was recorded.
    AfterTheRecord,
}

/// A compensation delivered before, during and after a charge (the provider takes
/// 200 ms a call): whatever the interleaving, money taken is money refunded, once,
/// and the replies say so. Each moment is reached by waiting for the payment's
/// status, not by sleeping.
#[tokio::test]
async fn a_compensation_racing_a_charge_in_flight_refunds_exactly_what_was_taken()
-> anyhow::Result<()> {
    let db = db().await?;
    let with_latency = |latency_ms| {
        PaymentHandler::new(Settings {
            latency_ms,
            ..Settings::default()
        })
    };
    let charging = with_latency(200);
    // A fast compensation voids and cancels the key before the slow charge reaches
    // the provider (nothing is ever charged); a slow one cancels after the charge
    // landed (both sides then refund, under one key).
    let (slow, fast) = (with_latency(200), with_latency(0));
    let cases = [
        (Moment::BeforeTheClaim, &fast),
        (Moment::WhileCharging, &fast),
        (Moment::WhileCharging, &slow),
        (Moment::AfterTheRecord, &slow),
    ];
    let mut seen = Vec::new();
    for (moment, compensating) in cases {
        let saga = Uuid::now_v7();
        let command = charge(saga);
        let status = || async {
            Ok::<_, anyhow::Error>(
                payments_for(&db.pool, saga)
                    .await?
                    .first()
                    .map(|p| p.status.clone()),
            )
        };
        let (processed, refunded) = if moment == Moment::BeforeTheClaim {
            let refunded = go(&db.pool, compensating, &compensate(saga)).await?;
            (go(&db.pool, &charging, &command).await?, refunded)
        } else {
            let wanted = if moment == Moment::WhileCharging {
                "pending"
            } else {
                "captured"
            };
            let (processed, refunded) = tokio::join!(go(&db.pool, &charging, &command), async {
                eventually(wanted, Duration::from_secs(10), || async {
                    Ok(status().await?.as_deref() == Some(wanted))
                })
                .await?;
                go(&db.pool, compensating, &compensate(saga)).await
            });
            (processed?, refunded?)
        };
        let refunded: PaymentRefunded = refunded.expect();
        let taken = captured(&db.pool, saga).await?;
        let given_back = provider_refunds(&db.pool, saga).await?;
        assert!(taken.len() <= 1, "{moment:?}: {taken:?}");
        assert_eq!(
            given_back.len(),
            taken.len(),
            "{moment:?}: what was taken is refunded, once: {taken:?} {given_back:?}"
        );
        assert_eq!(
            refunded.payment_id,
            taken.first().and_then(|c| c.payment_id),
            "{moment:?}: the compensation's reply tells the truth"
        );
        if processed.message_type == "PaymentProcessed" {
            let processed: PaymentProcessed = processed.expect();
            assert_eq!(Some(processed.payment_id), refunded.payment_id);
        } else {
            let failed: PaymentFailed = processed.expect();
            assert_eq!(failed.reason, CANCELLED, "{moment:?}");
        }
        let expected = if taken.is_empty() {
            "voided"
        } else {
            "refunded"
        };
        assert_eq!(status().await?.as_deref(), Some(expected), "{moment:?}");
        let refund_requests = given_back.first().map_or(0, |r| r.requests);
        seen.push((moment, taken.len(), refund_requests, processed.message_type));
    }
    // The cases cover the race's sides: cancelled before the charge, and a charge
    // found after the void by both sides (two refund requests, one refund).
    assert!(seen.iter().any(|s| s.1 == 0), "{seen:?}");
    assert!(seen.iter().any(|s| s.1 == 1 && s.2 == 2), "{seen:?}");
    Ok(())
}

/// Counts `prepare` calls per message id, to see the batch replayed one by one.
struct Counting {
    inner: PaymentHandler,
    prepares: Arc<Mutex<HashMap<Uuid, u32>>>,
}

impl Handler for Counting {
    const PREPARES: bool = true;

    async fn prepare(&self, pool: &PgPool, message: &Incoming) -> Result<(), Failure> {
        if let Ok(mut prepares) = self.prepares.lock() {
            *prepares.entry(message.envelope.message_id).or_default() += 1;
        }
        self.inner.prepare(pool, message).await
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        self.inner.handle(tx, message).await
    }
}

/// Replies in the outbox caused by `message_id`: (message type, payload).
async fn replies_to(pool: &PgPool, message_id: Uuid) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT message_type, payload FROM sagaflow_outbox WHERE headers->>'causation-id' = $1",
    )
    .bind(message_id.to_string())
    .fetch_all(pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_rolled_back_by_a_poison_message_and_replayed_charges_once() -> anyhow::Result<()> {
    let db = db().await?;
    let broker = Broker::mock()?;
    let topic = unique_topic("payment-commands");
    let dlq = sagaflow_events::topics::dead_letter(&topic);
    broker.create_topics(&[&topic, &dlq], 1).await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "1")
        .create()?;

    // One partition, one worker: while the first (slow) charge is handled, the rest
    // queue up and are handled as one batch, which the poison message rolls back.
    let key = "same-partition".to_owned();
    let sagas = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    let mut commands = Vec::new();
    for saga in sagas {
        let mut out = Outgoing::new("tenant-a", Some(saga), key.clone(), &process_payment(saga))?;
        out.topic = topic.clone();
        commands.push(out);
    }
    let poison_saga = Uuid::now_v7();
    let mut poison = Outgoing::new(
        "tenant-a",
        Some(poison_saga),
        key.clone(),
        &ReleaseInventory {
            saga_id: poison_saga,
            reason: "not a payment command".into(),
        },
    )?;
    poison.topic = topic.clone();
    produce(&producer, &commands[0]).await?;
    produce(&producer, &commands[1]).await?;
    produce(&producer, &poison).await?;
    produce(&producer, &commands[2]).await?;

    let prepares = Arc::new(Mutex::new(HashMap::new()));
    let handler = Counting {
        inner: PaymentHandler::new(Settings {
            latency_ms: 300,
            ..Settings::default()
        }),
        prepares: prepares.clone(),
    };
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("payment-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        handler,
    )
    .with_workers(1);
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    let last = commands[2].envelope.message_id;
    eventually(
        "the last charge handled",
        Duration::from_secs(30),
        || async { Ok(!replies_to(&db.pool, last).await?.is_empty()) },
    )
    .await?;
    shutdown.cancel();
    task.await??;

    let prepares = prepares.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(
        commands
            .iter()
            .any(|c| prepares.get(&c.envelope.message_id).copied().unwrap_or(0) >= 2),
        "a batch with the poison message was rolled back and replayed: {prepares:?}"
    );
    for (saga, command) in sagas.iter().zip(&commands) {
        let ledger = captured(&db.pool, *saga).await?;
        assert_eq!(ledger.len(), 1, "saga {saga} charged once: {ledger:?}");
        assert_eq!(ledger[0].requests, 1, "the replay did not ask the provider");
        let replies = replies_to(&db.pool, command.envelope.message_id).await?;
        assert_eq!(replies.len(), 1, "one reply for saga {saga}");
        assert_eq!(replies[0].0, "PaymentProcessed");
        let processed: PaymentProcessed = sagaflow_events::decode(&replies[0].1)?;
        assert_eq!(Some(processed.payment_id), ledger[0].payment_id);
    }
    assert!(
        replies_to(&db.pool, poison.envelope.message_id)
            .await?
            .is_empty()
    );
    let inboxed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_inbox WHERE message_id = $1")
            .bind(poison.envelope.message_id)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        inboxed, 0,
        "the poison message was dead-lettered, not handled"
    );
    Ok(())
}
