//! The simulated provider on its own: its ledger answers the same key the same way,
//! charges once per key, and refunds a charge in parts, never more than the charge
//! (real PostgreSQL).

use sagaflow_payment::Settings;
use sagaflow_payment::provider::{
    self, CANCELLED_KEY, Cancelled, ChargeOutcome, ChargeRequest, Error, Provider, RefundOutcome,
    RefundRequest, ledger_charges, ledger_refunds,
};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("payprov").await?;
    sagaflow_payment::migrate(&db.pool).await?;
    Ok(db)
}

fn request<'a>(key: &'a str, reference: &'a str, method: &'a str) -> ChargeRequest<'a> {
    ChargeRequest {
        key,
        reference,
        amount_minor: 1250,
        currency: "EUR",
        payment_method: method,
    }
}

#[tokio::test]
async fn the_same_key_gets_the_same_charge_and_charges_once() -> anyhow::Result<()> {
    let db = db().await?;
    let provider = Provider::new(&Settings::default());
    let reference = Uuid::now_v7().to_string();
    let first = provider
        .charge(&db.pool, &request("k-1", &reference, "visa"))
        .await?;
    let ChargeOutcome::Captured(charge) = &first else {
        panic!("declined: {first:?}");
    };
    assert_eq!(
        (charge.amount_minor, charge.currency.as_str()),
        (1250, "EUR")
    );
    // Concurrent and sequential replays: the same payment id every time.
    let replays = futures_join(&provider, &db.pool, &reference, 8).await?;
    assert!(replays.iter().all(|r| *r == first), "{replays:?}");
    let ledger = ledger_charges(&db.pool, &reference).await?;
    assert_eq!(ledger.len(), 1, "one charge for the key: {ledger:?}");
    assert_eq!(ledger[0].payment_id, Some(charge.payment_id));
    assert_eq!(ledger[0].requests, 9, "every request counted as a replay");

    // Another key is another charge (what a key per message would do to a saga).
    let other = provider
        .charge(&db.pool, &request("k-2", &reference, "visa"))
        .await?;
    assert_ne!(other, first);
    assert_eq!(ledger_charges(&db.pool, &reference).await?.len(), 2);

    // The same key for another amount is refused, as a real provider does.
    let reused = provider
        .charge(
            &db.pool,
            &ChargeRequest {
                amount_minor: 999,
                ..request("k-1", &reference, "visa")
            },
        )
        .await;
    assert!(matches!(reused, Err(Error::KeyReused { .. })), "{reused:?}");
    Ok(())
}

async fn futures_join(
    provider: &Provider,
    pool: &sqlx::PgPool,
    reference: &str,
    n: usize,
) -> anyhow::Result<Vec<ChargeOutcome>> {
    let requests: Vec<_> = (0..n).map(|_| request("k-1", reference, "visa")).collect();
    let calls = requests.iter().map(|r| provider.charge(pool, r));
    let mut out = Vec::new();
    for result in futures::future::join_all(calls).await {
        out.push(result?);
    }
    Ok(out)
}

#[tokio::test]
async fn a_decline_is_remembered_for_its_key() -> anyhow::Result<()> {
    let db = db().await?;
    let reference = Uuid::now_v7().to_string();
    let always = Provider::new(&Settings {
        decline_rate: 1.0,
        seed: Some(1),
        ..Settings::default()
    });
    let never = Provider::new(&Settings::default());
    let declined = always
        .charge(&db.pool, &request("d-1", &reference, "visa"))
        .await?;
    assert_eq!(
        declined,
        ChargeOutcome::Declined {
            reason: "declined by the issuer".into()
        }
    );
    // Asked again (even of a provider that would now accept): the same decline.
    assert_eq!(
        never
            .charge(&db.pool, &request("d-1", &reference, "visa"))
            .await?,
        declined
    );
    let card = never
        .charge(&db.pool, &request("d-2", &reference, "card_declined"))
        .await?;
    assert_eq!(
        card,
        ChargeOutcome::Declined {
            reason: "card declined".into()
        }
    );
    let ledger = ledger_charges(&db.pool, &reference).await?;
    assert!(
        ledger
            .iter()
            .all(|c| c.status == "declined" && c.payment_id.is_none()),
        "{ledger:?}"
    );
    Ok(())
}

#[tokio::test]
async fn refunds_once_per_charge_and_the_same_key_gets_the_same_refund() -> anyhow::Result<()> {
    let db = db().await?;
    let provider = Provider::new(&Settings::default());
    let reference = Uuid::now_v7().to_string();
    let ChargeOutcome::Captured(charge) = provider
        .charge(&db.pool, &request("c-1", &reference, "visa"))
        .await?
    else {
        panic!("declined");
    };
    let refund = provider.refund(&db.pool, "r-1", charge.payment_id).await?;
    assert_eq!(
        (refund.payment_id, refund.amount_minor),
        (charge.payment_id, 1250)
    );
    assert_eq!(
        provider.refund(&db.pool, "r-1", charge.payment_id).await?,
        refund
    );
    let again = provider.refund(&db.pool, "r-2", charge.payment_id).await;
    assert!(
        matches!(again, Err(Error::AlreadyRefunded { .. })),
        "{again:?}"
    );
    let unknown = provider.refund(&db.pool, "r-3", Uuid::now_v7()).await;
    assert!(
        matches!(unknown, Err(Error::UnknownPayment { .. })),
        "{unknown:?}"
    );
    let refunds = ledger_refunds(&db.pool, &reference).await?;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (refunds[0].refund_id, refunds[0].requests),
        (refund.refund_id, 2)
    );
    Ok(())
}

#[tokio::test]
async fn a_cancelled_key_never_charges_and_a_charged_one_is_handed_back() -> anyhow::Result<()> {
    let db = db().await?;
    let provider = Provider::new(&Settings::default());
    let reference = Uuid::now_v7().to_string();
    assert_eq!(
        provider.cancel(&db.pool, "x-1", &reference).await?,
        Cancelled::NothingCharged
    );
    assert_eq!(
        provider
            .charge(&db.pool, &request("x-1", &reference, "visa"))
            .await?,
        ChargeOutcome::Declined {
            reason: CANCELLED_KEY.into()
        }
    );
    assert_eq!(
        provider.cancel(&db.pool, "x-1", &reference).await?,
        Cancelled::NothingCharged
    );
    let ChargeOutcome::Captured(charge) = provider
        .charge(&db.pool, &request("x-2", &reference, "visa"))
        .await?
    else {
        panic!("declined");
    };
    assert_eq!(
        provider.cancel(&db.pool, "x-2", &reference).await?,
        Cancelled::Charged(charge)
    );
    let captured: Vec<_> = ledger_charges(&db.pool, &reference)
        .await?
        .into_iter()
        .filter(|c| c.status == "captured")
        .collect();
    assert_eq!(captured.len(), 1, "{captured:?}");
    assert!(
        provider::ledger_charge(&db.pool, "x-1")
            .await?
            .is_some_and(|c| c.status == "cancelled" && c.payment_id.is_none())
    );
    Ok(())
}

fn part<'a>(
    key: &'a str,
    payment_id: Uuid,
    amount_minor: i64,
    currency: &'a str,
) -> RefundRequest<'a> {
    RefundRequest {
        key,
        payment_id,
        amount_minor,
        currency,
    }
}

#[tokio::test]
async fn refunds_a_charge_in_parts_never_more_than_the_charge() -> anyhow::Result<()> {
    let db = db().await?;
    let provider = Provider::new(&Settings::default());
    let reference = Uuid::now_v7().to_string();
    let ChargeOutcome::Captured(charge) = provider
        .charge(&db.pool, &request("c-1", &reference, "visa"))
        .await?
    else {
        panic!("declined");
    };
    let id = charge.payment_id;
    let RefundOutcome::Refunded(first) = provider
        .refund_part(&db.pool, &part("p-1", id, 500, "EUR"))
        .await?
    else {
        panic!("declined");
    };
    assert_eq!((first.payment_id, first.amount_minor), (id, 500));
    // The same key: the same refund; the same key for another amount: refused.
    assert_eq!(
        provider
            .refund_part(&db.pool, &part("p-1", id, 500, "EUR"))
            .await?,
        RefundOutcome::Refunded(first.clone())
    );
    let reused = provider
        .refund_part(&db.pool, &part("p-1", id, 600, "EUR"))
        .await;
    assert!(matches!(reused, Err(Error::KeyReused { .. })), "{reused:?}");
    // More than is left, or another currency: declined, with the amounts.
    assert_eq!(
        provider
            .refund_part(&db.pool, &part("p-2", id, 800, "EUR"))
            .await?,
        RefundOutcome::Declined {
            reason: format!("refund of 800 EUR exceeds the 750 EUR left unrefunded on charge {id}")
        }
    );
    assert_eq!(
        provider
            .refund_part(&db.pool, &part("p-3", id, 100, "USD"))
            .await?,
        RefundOutcome::Declined {
            reason: format!("refund in USD of charge {id}, made in EUR")
        }
    );
    // A whole refund (the checkout's compensation) takes what is left, then nothing
    // is left.
    let rest = provider.refund(&db.pool, "r-all", id).await?;
    assert_eq!(rest.amount_minor, 750);
    let again = provider.refund(&db.pool, "r-again", id).await;
    assert!(
        matches!(again, Err(Error::AlreadyRefunded { .. })),
        "{again:?}"
    );
    assert!(matches!(
        provider
            .refund_part(&db.pool, &part("p-4", id, 1, "EUR"))
            .await?,
        RefundOutcome::Declined { .. }
    ));

    let refunds = ledger_refunds(&db.pool, &reference).await?;
    let summary: Vec<_> = refunds
        .iter()
        .map(|r| (r.idempotency_key.as_str(), r.amount_minor, r.requests))
        .collect();
    assert_eq!(summary, [("p-1", 500, 2), ("r-all", 750, 1)]);
    Ok(())
}

#[tokio::test]
async fn concurrent_part_refunds_never_exceed_the_charge() -> anyhow::Result<()> {
    let db = db().await?;
    let provider = Provider::new(&Settings::default());
    let reference = Uuid::now_v7().to_string();
    let ChargeOutcome::Captured(charge) = provider
        .charge(&db.pool, &request("c-1", &reference, "visa"))
        .await?
    else {
        panic!("declined");
    };
    let keys: Vec<String> = (0..5).map(|i| format!("cp-{i}")).collect();
    let requests: Vec<_> = keys
        .iter()
        .map(|key| part(key, charge.payment_id, 500, "EUR"))
        .collect();
    let calls = requests.iter().map(|r| provider.refund_part(&db.pool, r));
    let mut refunded = 0;
    for outcome in futures::future::join_all(calls).await {
        if let RefundOutcome::Refunded(_) = outcome? {
            refunded += 1;
        }
    }
    assert_eq!(refunded, 2, "1250 holds two refunds of 500");
    let total: i64 = ledger_refunds(&db.pool, &reference)
        .await?
        .iter()
        .map(|r| r.amount_minor)
        .sum();
    assert_eq!(total, 1000);
    Ok(())
}
