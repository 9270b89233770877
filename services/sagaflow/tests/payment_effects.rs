//! The payment service as its own `sagaflow serve payment` process, killed with
//! SIGKILL between the provider's charge and the record of it (failpoint
//! `payment.after_charge`), then restarted: the provider's ledger holds one charge
//! for the saga, and the one reply carries that charge.
//!
//! Broker: the local broker (Nisshi) when its binary is built (`.tools/bin/nisshi`),
//! else librdkafka's mock cluster (over TCP, so the child process reaches it);
//! `SAGAFLOW_TEST_BROKER=mock|local|external` chooses.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use sagaflow::platform::{self, Service};
use sagaflow_bus::Outgoing;
use sagaflow_bus::testing::produce;
use sagaflow_events::messages::{
    CompensatePayment, PaymentProcessed, PaymentRefunded, ProcessPayment,
};
use sagaflow_payment::handler::{AFTER_CHARGE, charge_key};
use sagaflow_payment::provider::{ledger_charges, ledger_refunds};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually};
use uuid::Uuid;

fn broker() -> anyhow::Result<Broker> {
    let default = if sagaflow_test_support::local_broker::binary().exists() {
        "local"
    } else {
        "mock"
    };
    Broker::from_env_or(default)
}

fn caused_by(message: &OwnedMessage, cause: &Outgoing) -> bool {
    header(message, "causation-id").as_deref()
        == Some(cause.envelope.message_id.to_string().as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_killed_between_the_charge_and_its_record_charges_once() -> anyhow::Result<()> {
    sagaflow_test_support::init_tracing();
    let broker = broker()?;
    create_platform_topics(&broker).await?;
    let payment_db = TestDb::create("payment").await?;
    platform::migrate(Service::Payment, &payment_db.pool).await?;
    let pool = payment_db.pool.clone();
    let dbs = Databases(BTreeMap::from([(Service::Payment.name(), payment_db)]));
    let env = vec![
        ("SAGAFLOW_FAILPOINTS".to_owned(), AFTER_CHARGE.to_owned()),
        // The restarted member takes the partitions over once the killed one's
        // session ends.
        ("KAFKA_SESSION_TIMEOUT_MS".to_owned(), "6000".to_owned()),
    ];
    let mut processes = Processes::new(broker.bootstrap(), env)?;
    processes.start(Service::Payment, &dbs)?;

    let saga = Uuid::now_v7();
    let command = Outgoing::new(
        TENANT,
        Some(saga),
        saga.to_string(),
        &ProcessPayment {
            saga_id: saga,
            customer_id: "cust-1".into(),
            amount_minor: 3750,
            currency: "EUR".into(),
            payment_method: "card".into(),
        },
    )?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "1")
        .create()?;
    produce(&producer, &command).await?;

    // The provider charged; the process parks before recording it, and dies.
    let log = processes.log_dir.join("payment.log");
    let failpoint = format!("FAILPOINT {AFTER_CHARGE}");
    eventually("the failpoint", Duration::from_secs(60), || async {
        Ok(std::fs::read_to_string(&log).is_ok_and(|text| text.contains(&failpoint)))
    })
    .await?;
    processes.kill(Service::Payment);
    let charged = ledger_charges(&pool, &saga.to_string()).await?;
    assert_eq!(charged.len(), 1, "the provider charged before the kill");
    assert_eq!(charged[0].status, "captured");
    let payments = sagaflow_payment::payments_for(&pool, saga).await?;
    assert_eq!(
        (payments[0].status.as_str(), payments[0].payment_id),
        ("pending", None),
        "killed before recording the charge"
    );

    // Restarted without the failpoint: the redelivered command charges again with
    // the same key, the provider answers from its ledger.
    processes
        .extra
        .retain(|(key, _)| key != "SAGAFLOW_FAILPOINTS");
    processes.start(Service::Payment, &dbs)?;
    let mut replies = TopicReader::new(&broker.bootstrap(), "payment.events")?;
    let reply = replies
        .wait_for(Duration::from_secs(120), |m| caused_by(m, &command))
        .ok_or_else(|| anyhow::anyhow!("no reply to ProcessPayment after the restart"))?;
    assert_eq!(
        header(&reply, "message-type").as_deref(),
        Some("PaymentProcessed")
    );
    let processed: PaymentProcessed = sagaflow_events::decode(reply.payload().unwrap_or_default())?;

    let ledger = ledger_charges(&pool, &saga.to_string()).await?;
    assert_eq!(ledger.len(), 1, "one charge for the saga: {ledger:?}");
    assert_eq!(
        (
            ledger[0].idempotency_key.as_str(),
            ledger[0].payment_id,
            ledger[0].amount_minor
        ),
        (charge_key(saga).as_str(), Some(processed.payment_id), 3750)
    );
    assert_eq!(ledger[0].requests, 2, "asked twice, charged once");
    let payments = sagaflow_payment::payments_for(&pool, saga).await?;
    assert_eq!(
        (payments[0].status.as_str(), payments[0].payment_id),
        ("captured", Some(processed.payment_id))
    );

    // The saga compensates, and the orchestrator's compensation arrives twice (two
    // attempts): one refund at the provider, the same answer twice.
    let mut compensations = Vec::new();
    for _ in 0..2 {
        let out = Outgoing::new(
            TENANT,
            Some(saga),
            saga.to_string(),
            &CompensatePayment {
                saga_id: saga,
                reason: "order failed".into(),
            },
        )?;
        produce(&producer, &out).await?;
        compensations.push(out);
    }
    for compensation in &compensations {
        let reply = replies
            .wait_for(Duration::from_secs(60), |m| caused_by(m, compensation))
            .ok_or_else(|| anyhow::anyhow!("no reply to CompensatePayment"))?;
        let refunded: PaymentRefunded =
            sagaflow_events::decode(reply.payload().unwrap_or_default())?;
        assert_eq!(
            (refunded.payment_id, refunded.amount_minor),
            (Some(processed.payment_id), 3750)
        );
    }
    // Nothing more arrives: one reply per command.
    replies.read_for(Duration::from_secs(2));
    let answered = replies
        .seen()
        .iter()
        .filter(|m| caused_by(m, &command))
        .count();
    assert_eq!(answered, 1, "one reply to the charge");
    let refunds = ledger_refunds(&pool, &saga.to_string()).await?;
    assert_eq!(refunds.len(), 1, "one refund: {refunds:?}");
    assert_eq!(
        refunds[0].requests, 1,
        "the second compensation read the record"
    );
    processes.kill(Service::Payment);
    Ok(())
}
