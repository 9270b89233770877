//! The planner's consumer: it follows what its plans caused, through the inbox
//! (one transaction per message), on [`topics`]:
//!
//! - `orchestrator.events` — `SagaFinished` only (typed; `SagaProgressed` is
//!   skipped before any database work, [`Handler::wants`]): a finished checkout
//!   or generation records who owns it (tenant from the envelope, user from the
//!   message), which is all validation needs (a plan can only attach a
//!   generation that has finished); a child saga of a plan
//!   updates `plan_children`, and its final status (`completed`, `compensated`,
//!   or stopped for an operator) becomes an input of the plan saga. Plan sagas'
//!   own messages (the saga store publishes them there too) are skipped.
//! - `cart.events`, `applications.events`, `notification.events` — replies to plan
//!   commands (their `saga-id` header is the plan id) are applied to the plan saga;
//!   anything else there (e.g. a checkout's `CartCleared`) is ignored.
//!   `ApplicationStatusChanged` records who owns an application.
//! - `catalog.events` — `ProductChanged` updates the product read model
//!   (`crate::catalog`, highest version per SKU).
//! - `gateway.events` — `UserErasureRequested` erases the user of the envelope's
//!   tenant (`crate::erasure`). Ownership records of a user erased after the
//!   event happened are not written.

use std::sync::Arc;

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    ApplicationStatusChanged, ProductChanged, SagaFinished, SagaProgressed, UserErasureRequested,
};
use sagaflow_events::topics as t;
use sagaflow_saga_engine::Input;
use sagaflow_saga_store::Definitions;
use serde_json::json;
use sqlx::PgConnection;
use tracing::{debug, warn};

use crate::audit::{self, kind};
use crate::error::Error;
use crate::execute;
use crate::ownership;
use crate::store;
use crate::{catalog, children, erasure};

/// The topics the planner consumes.
pub fn topics() -> [&'static str; 6] {
    [
        t::ORCHESTRATOR_EVENTS,
        t::CART_EVENTS,
        t::APPLICATIONS_EVENTS,
        t::NOTIFICATION_EVENTS,
        t::CATALOG_EVENTS,
        t::GATEWAY_EVENTS,
    ]
}

/// Definitions whose sagas' owners are recorded.
const OWNED_DEFINITIONS: &[&str] = &[
    sagaflow_saga_checkout::steps::NAME,
    sagaflow_saga_generation::steps::NAME,
];

/// The planner's message handler.
#[derive(Clone)]
pub struct Follower {
    definitions: Arc<Definitions>,
}

impl Follower {
    pub fn new(definitions: Arc<Definitions>) -> Self {
        Self { definitions }
    }

    async fn finished(&self, tx: &mut PgConnection, message: &Incoming) -> Result<(), Failure> {
        let event: SagaFinished = message.decode()?;
        if event.definition.starts_with("plan.") {
            return Ok(());
        }
        if OWNED_DEFINITIONS.contains(&event.definition.as_str()) {
            match event.user_id.as_deref() {
                Some(user)
                    if erasure::erased_after(
                        tx,
                        &message.envelope.tenant_id,
                        user,
                        event.started_at_ms,
                    )
                    .await? =>
                {
                    debug!(saga_id = %event.saga_id, "owner erased since; not recorded");
                }
                Some(user) => {
                    ownership::record_saga(
                        tx,
                        event.saga_id,
                        &event.definition,
                        &message.envelope.tenant_id,
                        user,
                    )
                    .await?;
                }
                None => warn!(saga_id = %event.saga_id, "finished saga without a user id"),
            }
        }
        // Lock order everywhere: the plan's row, then its children and its saga.
        let Some(plan_id) = children::plan_of(tx, event.saga_id).await? else {
            return Ok(());
        };
        let Some(plan) = store::lock(tx, plan_id).await.map_err(classify)? else {
            return Ok(());
        };
        let Some((child, before)) = children::observe(tx, &event).await? else {
            return Ok(());
        };
        audit::record(
            tx,
            &plan,
            kind::CHILD_SAGA_PROGRESSED,
            json!({
                "saga_id": child.saga_id,
                "definition": child.definition,
                "from": before,
                "status": child.status,
                "failure": child.failure,
                "document_id": child.document_id,
                "path": child.path(),
            }),
        )
        .await
        .map_err(classify)?;
        if let Some(reply) = child.reply() {
            let input = Input::Reply {
                message_type: reply.to_owned(),
                payload: child.reply_payload(),
                causation_id: None,
            };
            execute::apply(tx, &self.definitions, child.plan_id, &input)
                .await
                .map_err(classify)?;
        }
        Ok(())
    }

    async fn application(&self, tx: &mut PgConnection, message: &Incoming) -> Result<(), Failure> {
        let event: ApplicationStatusChanged = message.decode()?;
        if event.tenant_id != message.envelope.tenant_id {
            warn!(application_id = %event.application_id, "application event whose tenant disagrees with its envelope; ignored");
            return Ok(());
        }
        if erasure::erased_after(tx, &event.tenant_id, &event.user_id, event.changed_at_ms).await? {
            debug!(application_id = %event.application_id, "owner erased since; not recorded");
            return Ok(());
        }
        ownership::record_application(
            tx,
            event.application_id,
            &event.tenant_id,
            &event.user_id,
            &event.to_status,
        )
        .await?;
        Ok(())
    }

    async fn product(&self, tx: &mut PgConnection, message: &Incoming) -> Result<(), Failure> {
        let product: ProductChanged = message.decode()?;
        if !catalog::apply(tx, &product).await? {
            debug!(sku = %product.sku, version = product.version, "older product version ignored");
        }
        Ok(())
    }

    async fn erase(&self, tx: &mut PgConnection, message: &Incoming) -> Result<(), Failure> {
        let request: UserErasureRequested = message.decode()?;
        let tenant = &message.envelope.tenant_id;
        let erased = erasure::erase(
            tx,
            tenant,
            &request.user_id,
            request.erasure_id,
            request.requested_at_ms,
        )
        .await
        .map_err(classify)?;
        tracing::info!(erasure_id = %request.erasure_id, %tenant, plans = erased.plans,
                       rows = erased.other_rows, "user data erased");
        Ok(())
    }

    async fn reply(&self, tx: &mut PgConnection, message: &Incoming) -> Result<(), Failure> {
        let Some(plan_id) = message.envelope.saga_id else {
            return Ok(());
        };
        let (_, payload) = sagaflow_events::decode_json(&message.payload)?;
        let input = Input::Reply {
            message_type: message.message_type().to_owned(),
            payload,
            causation_id: message.envelope.causation_id,
        };
        let applied = execute::apply(tx, &self.definitions, plan_id, &input)
            .await
            .map_err(classify)?;
        if !applied {
            debug!(message_type = message.message_type(), saga_id = %plan_id, "not a reply to a plan step");
        }
        Ok(())
    }
}

/// How a planner error affects the message.
fn classify(err: Error) -> Failure {
    match err {
        Error::Database(err) => Failure::from(err),
        Error::Store(sagaflow_saga_store::Error::Database(err)) => Failure::from(err),
        Error::Store(
            err @ (sagaflow_saga_store::Error::Conflict(_)
            | sagaflow_saga_store::Error::UnknownDefinition { .. }),
        ) => Failure::Transient(err.to_string()),
        other => Failure::Poison(other.to_string()),
    }
}

impl Handler for Follower {
    /// Every step of every saga (`SagaProgressed`) is skipped before any database
    /// work: the planner needs only how sagas finish.
    fn wants(&self, message: &Incoming) -> bool {
        message.message_type() != SagaProgressed::MESSAGE_TYPE
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        match message.message_type() {
            SagaFinished::MESSAGE_TYPE => self.finished(tx, message).await?,
            // Not wanted (see `wants`); a direct call changes nothing either.
            SagaProgressed::MESSAGE_TYPE => {}
            ApplicationStatusChanged::MESSAGE_TYPE => self.application(tx, message).await?,
            ProductChanged::MESSAGE_TYPE => self.product(tx, message).await?,
            UserErasureRequested::MESSAGE_TYPE => self.erase(tx, message).await?,
            _ => self.reply(tx, message).await?,
        }
        // Everything the handler causes goes to the outbox through the saga store
        // and the audit log, in this transaction.
        Ok(Vec::new())
    }
}
