//! The orchestrator's part of a user's erasure: consumes `UserErasureRequested`
//! from `gateway.events` (its own consumer group, [`CONSUMER`]; the tenant is the
//! envelope's) and redacts that tenant's user's saga log with
//! [`sagaflow_saga_store::erase::erase`], whose tombstone keeps late replies from
//! writing the personal data back. Other messages on the topic are skipped.

use sagaflow_bus::{Failure, Handler, InboxConsumer, Incoming, KafkaConfig, Outgoing};
use sagaflow_events::messages::UserErasureRequested;
use sagaflow_events::{Contract, topics};
use sqlx::{PgConnection, PgPool};

/// Consumer group and inbox name of the erasure consumer.
pub const CONSUMER: &str = "orchestrator-erasure";

/// Handles `gateway.events` for the orchestrator.
#[derive(Debug, Clone, Default)]
pub struct ErasureHandler;

impl Handler for ErasureHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        if incoming.message_type() != UserErasureRequested::MESSAGE_TYPE {
            return Ok(Vec::new());
        }
        let request: UserErasureRequested = incoming.decode()?;
        let tenant_id = &incoming.envelope.tenant_id;
        // A request dated in the future counts from now: it must not cover sagas
        // the user starts later.
        let now = chrono::Utc::now();
        let erased_at = chrono::DateTime::from_timestamp_millis(request.requested_at_ms)
            .map_or(now, |at| at.min(now));
        let erased = sagaflow_saga_store::erase::erase(
            tx,
            tenant_id,
            &request.user_id,
            erased_at,
            Some(request.erasure_id),
        )
        .await
        .map_err(failure)?;
        tracing::info!(%tenant_id, erasure_id = %request.erasure_id, sagas = erased.sagas.len(),
            events = erased.events, "saga log redacted");
        Ok(Vec::new())
    }
}

/// A store error as the inbox's failure: a database error by its SQLSTATE (a lock
/// timeout or a lost connection is waited out, a constraint violation is
/// dead-lettered; see [`Failure::from`]), anything else retried.
fn failure(err: sagaflow_saga_store::Error) -> Failure {
    match err {
        sagaflow_saga_store::Error::Database(err) => Failure::from(err),
        other => Failure::Transient(other.to_string()),
    }
}

/// The erasure consumer on `pool`.
pub fn consumer(pool: PgPool, kafka: KafkaConfig) -> InboxConsumer<ErasureHandler> {
    InboxConsumer::new(
        CONSUMER,
        &[topics::GATEWAY_EVENTS],
        pool,
        kafka,
        ErasureHandler,
    )
    .with_workers(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sagaflow_bus::{Backoff, Outcome, inbox, testing};
    use sagaflow_test_support::TestDb;
    use uuid::Uuid;

    /// Through the inbox: tenant A's erasure redacts A's saga of the user, not
    /// tenant B's saga of the same user id.
    #[tokio::test]
    async fn the_request_redacts_its_tenants_user_only() -> anyhow::Result<()> {
        let db = TestDb::create("orch_erase").await?;
        sagaflow_saga_store::migrate(&db.pool).await?;
        let defs =
            sagaflow_saga_store::Definitions::new(vec![sagaflow_saga_checkout::definition()]);
        let def = defs.latest("checkout").expect("checkout");
        let mut sagas = Vec::new();
        for tenant in ["tenant-a", "tenant-b"] {
            let saga = Uuid::now_v7();
            let input = serde_json::json!({
                "checkout_id": saga, "user_id": "ada", "cart_id": Uuid::now_v7(),
                "items": [{"sku": "MUG", "quantity": 1}], "currency": "EUR",
                "payment_method": "card", "customer_email": "ada@example.com"
            });
            let context = sagaflow_saga_store::SagaContext {
                tenant_id: tenant.into(),
                correlation_id: Uuid::now_v7(),
                traceparent: None,
            };
            let mut tx = db.pool.begin().await?;
            sagaflow_saga_store::start(
                &mut tx,
                def,
                saga,
                input,
                &context,
                None,
                chrono::Utc::now(),
            )
            .await?;
            tx.commit().await?;
            sagas.push(saga);
        }
        let request = UserErasureRequested {
            erasure_id: Uuid::now_v7(),
            user_id: "ada".into(),
            requested_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        let mut message = testing::incoming(None, &request);
        message.envelope.tenant_id = "tenant-a".into();
        let outcome = inbox::process(
            &db.pool,
            &ErasureHandler,
            CONSUMER,
            &message,
            Backoff::default(),
        )
        .await;
        assert_eq!(outcome, Outcome::Handled);
        let email = |saga: Uuid| {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT state->'data'->'input'->>'customer_email' FROM sagas WHERE saga_id = $1",
            )
            .bind(saga)
            .fetch_one(&db.pool)
        };
        assert_eq!(email(sagas[0]).await?.as_deref(), Some("[erased]"));
        assert_eq!(email(sagas[1]).await?.as_deref(), Some("ada@example.com"));
        Ok(())
    }

    /// A database error keeps its SQLSTATE's class: an erasure that cannot take
    /// the user's lock in time (55P03, another transaction holds it) is waited out
    /// as unavailable, not counted against the transient retry budget.
    #[tokio::test]
    async fn a_lock_timeout_is_waited_out_not_retried_as_transient() -> anyhow::Result<()> {
        let db = TestDb::create("orch_erase_lock").await?;
        sagaflow_saga_store::migrate(&db.pool).await?;
        let mut holder = db.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(sagaflow_erasure_lock_key($1, $2))")
            .bind("tenant-a")
            .bind("ada")
            .execute(&mut *holder)
            .await?;
        let request = UserErasureRequested {
            erasure_id: Uuid::now_v7(),
            user_id: "ada".into(),
            requested_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        let mut message = testing::incoming(None, &request);
        message.envelope.tenant_id = "tenant-a".into();
        let mut tx = db.pool.begin().await?;
        sqlx::query("SET LOCAL lock_timeout = '50ms'")
            .execute(&mut *tx)
            .await?;
        let result = ErasureHandler.handle(&mut tx, &message).await;
        match result {
            Err(Failure::Unavailable(reason)) => {
                assert!(reason.contains("55P03"), "{reason}");
            }
            other => panic!("expected an unavailable failure, got {other:?}"),
        }
        drop(tx);
        holder.rollback().await?;
        Ok(())
    }
}
