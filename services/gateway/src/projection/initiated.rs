//! Sagas started by another producer: an `InitiateCheckout` / `InitiateGeneration`
//! on `orchestrator.commands` whose saga has no row yet gets one in `checkouts` /
//! `generations` (owner = the envelope's tenant and the payload's `user_id`,
//! `status` `pending`, `source` [`ASSISTANT`]), and the progress stored before it
//! arrived is applied to it ([`super::replay`]). A saga that already has its row
//! (the gateway's own command coming back, a redelivery) is left as it is, and
//! so is a saga of a user who erased their data (`erased_sagas`).

use sagaflow_bus::Failure;
use sagaflow_events::messages::{DocumentKind, InitiateCheckout, InitiateGeneration};
use serde::Serialize;
use sqlx::PgConnection;
use tracing::{debug, info};
use uuid::Uuid;

use super::{Owner, lock_saga, replay};
use crate::routes::generation_request::Kind;

/// `source` of the rows inserted here (the gateway's own rows are `gateway`).
pub const ASSISTANT: &str = "assistant";

/// Inserts the `checkouts` row of `command` unless the saga has one; `Ok(true)`
/// when it did.
pub async fn checkout(
    tx: &mut PgConnection,
    tenant: &str,
    command: &InitiateCheckout,
) -> Result<bool, Failure> {
    let row = NewRow {
        owner: Owner::Checkout,
        saga_id: command.checkout_id,
        tenant,
        user_id: &command.user_id,
    };
    // `cart_id` is the checkouts' own column; `kind` is the generations'.
    let insert = "INSERT INTO checkouts (checkout_id, tenant_id, user_id, request, source, cart_id)
                  VALUES ($1, $2, $3, $4, $5, $6)
                  ON CONFLICT (checkout_id) DO NOTHING";
    row.insert(tx, insert, command, |q| q.bind(command.cart_id))
        .await
}

/// Inserts the `generations` row of `command` unless the saga has one; `Ok(true)`
/// when it did.
pub async fn generation(
    tx: &mut PgConnection,
    tenant: &str,
    command: &InitiateGeneration,
) -> Result<bool, Failure> {
    let row = NewRow {
        owner: Owner::Generation,
        saga_id: command.generation_id,
        tenant,
        user_id: &command.user_id,
    };
    let kind = match command.kind {
        DocumentKind::CoverLetter => Kind::CoverLetter,
        DocumentKind::Resume => Kind::Resume,
        DocumentKind::InterviewPrep => Kind::InterviewPrep,
    };
    let insert =
        "INSERT INTO generations (generation_id, tenant_id, user_id, request, source, kind)
                  VALUES ($1, $2, $3, $4, $5, $6)
                  ON CONFLICT (generation_id) DO NOTHING";
    row.insert(tx, insert, command, |q| q.bind(kind.as_str()))
        .await
}

/// What both tables' rows have in common.
struct NewRow<'a> {
    owner: Owner,
    saga_id: Uuid,
    tenant: &'a str,
    user_id: &'a str,
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl NewRow<'_> {
    /// Runs `insert` (binds: saga id, tenant, user, the command as JSON, source,
    /// then what `last` binds) under the saga's lock, and replays the stored
    /// progress onto the new row.
    async fn insert<'q>(
        &'q self,
        tx: &mut PgConnection,
        insert: &'q str,
        command: &impl Serialize,
        last: impl FnOnce(Query<'q>) -> Query<'q>,
    ) -> Result<bool, Failure> {
        let (saga_id, table) = (self.saga_id, self.owner.table());
        if self.tenant.is_empty() || self.user_id.is_empty() {
            return Err(Failure::Poison(format!(
                "start of saga {saga_id} without tenant-id or user_id"
            )));
        }
        let request = serde_json::to_value(command)
            .map_err(|err| Failure::Poison(format!("re-encoding the command: {err}")))?;
        lock_saga(tx, saga_id).await?;
        if super::erased(tx, saga_id).await? {
            debug!(%saga_id, table, "start of an erased user's saga; not projected");
            return Ok(false);
        }
        let query = sqlx::query(insert)
            .bind(saga_id)
            .bind(self.tenant)
            .bind(self.user_id)
            .bind(request)
            .bind(ASSISTANT);
        let inserted = last(query).execute(&mut *tx).await?.rows_affected();
        if inserted == 0 {
            debug!(%saga_id, table, "saga already has its row; start not projected");
            return Ok(false);
        }
        let replayed = replay(tx, self.owner, saga_id).await?;
        metrics::counter!("sagaflow_gateway_sagas_adopted_total", "table" => table).increment(1);
        info!(%saga_id, table, tenant_id = self.tenant, replayed, "saga started elsewhere projected");
        Ok(true)
    }
}
