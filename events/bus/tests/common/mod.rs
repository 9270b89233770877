//! Shared pieces of the messaging tests: a handler with an observable effect.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::messages::ReleaseInventory;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Creates the messaging tables and an `effects` table with no unique key, so a
/// second application of the same message would show as a second row.
pub async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    sagaflow_bus::migrate::run(pool, None).await?;
    sqlx::query("CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, message_id UUID NOT NULL, saga_id UUID NOT NULL)")
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn effects_for(pool: &PgPool, saga_id: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM effects WHERE saga_id = $1")
            .bind(saga_id)
            .fetch_one(pool)
            .await?,
    )
}

pub async fn total_effects(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM effects")
        .fetch_one(pool)
        .await?)
}

/// Records one row per handled `ReleaseInventory`; fails transiently for its first
/// `fail_first` calls.
#[derive(Clone, Default)]
pub struct EffectHandler {
    pub calls: Arc<AtomicUsize>,
    pub fail_first: usize,
}

impl Handler for EffectHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.fail_first {
            return Err(Failure::Transient(format!("induced failure {call}")));
        }
        let body: ReleaseInventory = message.decode()?;
        if body.reason == "poison-in-handler" {
            return Err(Failure::Poison("the handler cannot process this".into()));
        }
        sqlx::query("INSERT INTO effects (message_id, saga_id) VALUES ($1, $2)")
            .bind(message.envelope.message_id)
            .bind(body.saga_id)
            .execute(&mut *tx)
            .await?;
        Ok(Vec::new())
    }
}

/// A `ReleaseInventory` for `topic`, ready for the outbox.
pub fn message(topic: &str, saga_id: Uuid) -> Outgoing {
    let body = ReleaseInventory {
        saga_id,
        reason: "test".into(),
    };
    let mut out =
        Outgoing::new("tenant-a", Some(saga_id), saga_id.to_string(), &body).expect("encodes");
    out.topic = topic.to_owned();
    out
}
