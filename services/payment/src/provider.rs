//! The simulated payment provider, behaving like a real (Stripe-like) one: authorize
//! and capture in one call, refunds, a configurable latency and decline rate, and its
//! OWN ledger keyed by idempotency key (schema `sim_provider`, see the migration).
//!
//! - The same charge key gets the same answer: the same payment id, or the same
//!   decline, and never a second charge. Reusing a key with another amount or
//!   currency is an error, as with a real provider.
//! - Refunds (`provider/refund.rs`): a charge can be refunded in parts, each under its own key,
//!   never above the charge in total: a refund above what is left unrefunded is
//!   declined, with the amounts in the reason. The same key gets the same refund
//!   (counted in `requests`), and is never a second refund. [`Provider::refund`]
//!   refunds what is left (the checkout's compensation: all of it);
//!   [`Provider::refund_part`] an amount (after-sale refunds).
//! - [`Provider::cancel`] cancels a charge key: if nothing was charged under it, a
//!   later charge with that key is refused; if something was, the charge is returned
//!   so the caller refunds it.
//!
//! Every call takes a `&PgPool`, not a connection: it runs in its own autocommit
//! statements, and can never be part of the caller's transaction (it stands in for an
//! external system). Each call counts in `sagaflow_payment_provider_calls_total`
//! by `kind` (`charge`, `refund`, `cancel`) and `outcome`.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Settings;

mod refund;

pub use refund::{Refund, RefundOutcome, RefundRequest};

/// The payment method that is always declined (deterministic tests and demos).
pub const DECLINED_METHOD: &str = "card_declined";

/// The decline of a charge whose key was cancelled before it was made.
pub const CANCELLED_KEY: &str = "cancelled before the charge";

/// What the provider refuses to do (not a decline: declines are answers).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The provider could not be reached (its ledger's database); worth a retry.
    #[error("payment provider unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// The key was used before for another request.
    #[error("idempotency key `{key}` was used for another request")]
    KeyReused { key: String },
    /// A refund of a payment the provider never captured.
    #[error("no captured payment {payment_id}")]
    UnknownPayment { payment_id: Uuid },
    /// A whole refund of a payment with nothing left to refund (refunded already,
    /// under other keys).
    #[error("payment {payment_id} was already refunded")]
    AlreadyRefunded { payment_id: Uuid },
}

/// A charge request.
#[derive(Debug, Clone, Copy)]
pub struct ChargeRequest<'a> {
    /// The idempotency key: the same key gets the same answer.
    pub key: &'a str,
    /// The merchant's reference, kept as metadata (the saga id).
    pub reference: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub payment_method: &'a str,
}

/// A captured charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub payment_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
}

/// The provider's answer to a charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Captured(Charge),
    Declined { reason: String },
}

/// The provider's answer to [`Provider::cancel`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Nothing was charged under the key, and nothing ever will be.
    NothingCharged,
    /// The key had charged already: refund it.
    Charged(Charge),
}

/// A row of the provider's charge ledger (for tests and operators).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerCharge {
    pub idempotency_key: String,
    /// The merchant's reference (the saga id).
    pub reference: String,
    pub payment_id: Option<Uuid>,
    /// `captured`, `declined` or `cancelled`.
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub decline_reason: Option<String>,
    /// Charge requests made under the key, replays included.
    pub requests: i32,
}

/// A row of the provider's refund ledger.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerRefund {
    pub idempotency_key: String,
    pub refund_id: Uuid,
    pub payment_id: Uuid,
    pub amount_minor: i64,
    /// Refund requests made under the key, replays included.
    pub requests: i32,
}

/// A fake card processor with its own ledger.
#[derive(Debug)]
pub struct Provider {
    decline_rate: f64,
    latency: Duration,
    rng: Mutex<StdRng>,
}

impl Provider {
    pub fn new(settings: &Settings) -> Self {
        let rng = match settings.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            decline_rate: settings.decline_rate.clamp(0.0, 1.0),
            latency: Duration::from_millis(settings.latency_ms),
            rng: Mutex::new(rng),
        }
    }

    async fn latency(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// Authorizes and captures under the request's key; the first call with a key
    /// decides (a random decline per the decline rate; `card_declined` always), every
    /// later call with it gets the same answer.
    pub async fn charge(
        &self,
        ledger: &PgPool,
        request: &ChargeRequest<'_>,
    ) -> Result<ChargeOutcome, Error> {
        let result = self.try_charge(ledger, request).await;
        let outcome = match &result {
            Ok(ChargeOutcome::Captured(_)) => "captured",
            Ok(ChargeOutcome::Declined { .. }) => "declined",
            Err(_) => "error",
        };
        count("charge", outcome);
        result
    }

    async fn try_charge(
        &self,
        ledger: &PgPool,
        request: &ChargeRequest<'_>,
    ) -> Result<ChargeOutcome, Error> {
        self.latency().await;
        let decline = if request.payment_method == DECLINED_METHOD {
            Some("card declined".to_owned())
        } else {
            // `random` is in [0, 1): a rate of 1.0 declines everything, 0.0 nothing.
            let roll: f64 = match self.rng.lock() {
                Ok(mut rng) => rng.random(),
                Err(poisoned) => poisoned.into_inner().random(),
            };
            (roll < self.decline_rate).then(|| "declined by the issuer".to_owned())
        };
        // The first request with this key decides; a concurrent one waits on the key
        // and then reads the winner's answer.
        sqlx::query(
            "INSERT INTO sim_provider.charges
                 (idempotency_key, reference, payment_id, status, amount_minor, currency, decline_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (idempotency_key)
             DO UPDATE SET requests = sim_provider.charges.requests + 1",
        )
        .bind(request.key)
        .bind(request.reference)
        .bind(decline.is_none().then(Uuid::now_v7))
        .bind(if decline.is_none() {
            "captured"
        } else {
            "declined"
        })
        .bind(request.amount_minor)
        .bind(request.currency)
        .bind(&decline)
        .execute(ledger)
        .await?;
        let stored = ledger_charge(ledger, request.key)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        if stored.status == "cancelled" {
            return Ok(ChargeOutcome::Declined {
                reason: CANCELLED_KEY.to_owned(),
            });
        }
        if (
            stored.reference.as_str(),
            stored.amount_minor,
            stored.currency.as_str(),
        ) != (request.reference, request.amount_minor, request.currency)
        {
            return Err(Error::KeyReused {
                key: request.key.to_owned(),
            });
        }
        Ok(match stored.payment_id {
            Some(payment_id) => ChargeOutcome::Captured(Charge {
                payment_id,
                amount_minor: stored.amount_minor,
                currency: stored.currency,
            }),
            None => ChargeOutcome::Declined {
                reason: stored
                    .decline_reason
                    .unwrap_or_else(|| "declined".to_owned()),
            },
        })
    }

    /// Cancels the charge key: a charge not made yet never will be (the key answers
    /// every later charge with a decline, [`CANCELLED_KEY`]); a charge already made
    /// is returned for the caller to refund.
    pub async fn cancel(
        &self,
        ledger: &PgPool,
        key: &str,
        reference: &str,
    ) -> Result<Cancelled, Error> {
        let result = self.try_cancel(ledger, key, reference).await;
        let outcome = match &result {
            Ok(Cancelled::NothingCharged) => "cancelled",
            Ok(Cancelled::Charged(_)) => "charged",
            Err(_) => "error",
        };
        count("cancel", outcome);
        result
    }

    async fn try_cancel(
        &self,
        ledger: &PgPool,
        key: &str,
        reference: &str,
    ) -> Result<Cancelled, Error> {
        self.latency().await;
        sqlx::query(
            "INSERT INTO sim_provider.charges
                 (idempotency_key, reference, status, amount_minor, currency, requests)
             VALUES ($1, $2, 'cancelled', 0, '', 0)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(reference)
        .execute(ledger)
        .await?;
        let stored = ledger_charge(ledger, key)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(match stored.payment_id {
            Some(payment_id) => Cancelled::Charged(Charge {
                payment_id,
                amount_minor: stored.amount_minor,
                currency: stored.currency,
            }),
            None => Cancelled::NothingCharged,
        })
    }
}

fn count(kind: &'static str, outcome: &'static str) {
    metrics::counter!("sagaflow_payment_provider_calls_total", "kind" => kind, "outcome" => outcome)
        .increment(1);
}

/// The provider's ledger row for a charge key, if any.
pub async fn ledger_charge(
    ledger: &PgPool,
    key: &str,
) -> Result<Option<LedgerCharge>, sqlx::Error> {
    sqlx::query_as(
        "SELECT idempotency_key, reference, payment_id, status, amount_minor, currency, decline_reason, requests
         FROM sim_provider.charges WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_optional(ledger)
    .await
}

/// Every charge ledger row with this merchant reference (a saga id), whatever its
/// key, oldest first.
pub async fn ledger_charges(
    ledger: &PgPool,
    reference: &str,
) -> Result<Vec<LedgerCharge>, sqlx::Error> {
    sqlx::query_as(
        "SELECT idempotency_key, reference, payment_id, status, amount_minor, currency, decline_reason, requests
         FROM sim_provider.charges WHERE reference = $1 ORDER BY created_at, idempotency_key",
    )
    .bind(reference)
    .fetch_all(ledger)
    .await
}

/// Every refund the provider made of a charge with this merchant reference (a saga
/// id), whatever the keys.
pub async fn ledger_refunds(
    ledger: &PgPool,
    reference: &str,
) -> Result<Vec<LedgerRefund>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.idempotency_key, r.refund_id, r.payment_id, r.amount_minor, r.requests
         FROM sim_provider.refunds r JOIN sim_provider.charges c USING (payment_id)
         WHERE c.reference = $1 ORDER BY r.created_at, r.idempotency_key",
    )
    .bind(reference)
    .fetch_all(ledger)
    .await
}
