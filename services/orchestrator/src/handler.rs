//! Turns consumed messages into saga inputs: `Initiate*` commands start sagas,
//! participants' replies advance them. The driver writes the resulting commands to
//! the outbox in the inbox transaction, so the handler itself returns nothing.

use std::sync::Arc;

use chrono::Utc;
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    CancelSaga, InitiateCheckout, InitiateGeneration, InitiateOrderCancellation, InitiateRefund,
};
use sagaflow_saga_engine::Input;
use sagaflow_saga_store::{Definitions, Error, SagaContext, apply, start};
use sqlx::PgConnection;
use tracing::{debug, warn};

/// The orchestrator's message handler.
#[derive(Clone)]
pub struct SagaHandler {
    definitions: Arc<Definitions>,
}

impl SagaHandler {
    pub fn new(definitions: Arc<Definitions>) -> Self {
        Self { definitions }
    }
}

fn context(message: &Incoming) -> SagaContext {
    SagaContext {
        tenant_id: message.envelope.tenant_id.clone(),
        correlation_id: message.envelope.correlation_id,
        traceparent: message.envelope.traceparent.clone(),
    }
}

/// How a store error affects the message.
fn classify(err: Error) -> Result<(), Failure> {
    match err {
        // Late or duplicate replies and replies for sagas this store never saw are
        // normal in an at-least-once world: consume them.
        Error::Rejected(reason) => {
            debug!(%reason, "input ignored");
            Ok(())
        }
        Error::NotFound(saga_id) => {
            warn!(%saga_id, "reply for an unknown saga ignored");
            Ok(())
        }
        Error::Database(err) => Err(Failure::from(err)),
        Error::Conflict(saga_id) => Err(Failure::Transient(format!(
            "saga {saga_id} changed concurrently"
        ))),
        // A newer replica may run a definition this one lacks: retry, then dead-letter.
        err @ Error::UnknownDefinition { .. } => Err(Failure::Transient(err.to_string())),
        err @ (Error::Encode { .. } | Error::Corrupt { .. }) => {
            Err(Failure::Poison(err.to_string()))
        }
    }
}

impl SagaHandler {
    /// Starts a saga on the newest deployed version of `definition`.
    async fn start<T: serde::Serialize>(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
        definition: &str,
        saga_id: uuid::Uuid,
        body: &T,
    ) -> Result<(), Failure> {
        let def = self
            .definitions
            .latest(definition)
            .ok_or_else(|| Failure::Poison(format!("no {definition} definition is deployed")))?;
        let input = serde_json::to_value(body).map_err(|e| Failure::Poison(e.to_string()))?;
        let cause = Some(message.envelope.message_id);
        match start(
            tx,
            def,
            saga_id,
            input,
            &context(message),
            cause,
            Utc::now(),
        )
        .await
        {
            Ok(_) => Ok(()),
            Err(err) => classify(err),
        }
    }
}

/// Whether a `CancelSaga` comes from the tenant of the saga it names (or the saga
/// is unknown, which `apply` then ignores). A cancel from another tenant is
/// refused: logged, counted in `sagaflow_orchestrator_cancel_refused_total`, and
/// consumed (it does not block the partition).
async fn same_tenant(
    tx: &mut PgConnection,
    message: &Incoming,
    saga_id: uuid::Uuid,
) -> Result<bool, Failure> {
    let tenant: Option<String> =
        sqlx::query_scalar("SELECT tenant_id FROM sagas WHERE saga_id = $1")
            .bind(saga_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(Failure::from)?;
    match tenant {
        Some(tenant) if tenant != message.envelope.tenant_id => {
            warn!(
                %saga_id,
                saga_tenant = %tenant,
                sender_tenant = %message.envelope.tenant_id,
                message_id = %message.envelope.message_id,
                "CancelSaga from another tenant refused"
            );
            metrics::counter!(
                "sagaflow_orchestrator_cancel_refused_total",
                "reason" => "tenant_mismatch"
            )
            .increment(1);
            Ok(false)
        }
        _ => Ok(true),
    }
}

/// A reply's payload as JSON, checked against the contracts: its `message-type`
/// header must name a message type of the catalogue, and the frame's schema must
/// be of that type. Anything else is poison (dead-lettered with the reason), never
/// fed to the engine.
fn reply_payload(message_type: &str, bytes: &[u8]) -> Result<serde_json::Value, Failure> {
    if sagaflow_events::topic_of(message_type).is_none() {
        return Err(Failure::Poison(format!(
            "unknown message type {message_type}: not in the contracts catalogue"
        )));
    }
    let (decoded, payload) = sagaflow_events::decode_json(bytes)?;
    if decoded != message_type {
        return Err(Failure::Poison(format!(
            "the message-type header says {message_type} but the payload is a {decoded}"
        )));
    }
    Ok(payload)
}

impl Handler for SagaHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let now = Utc::now();
        let cause = Some(message.envelope.message_id);
        match message.message_type() {
            t if t == InitiateCheckout::MESSAGE_TYPE => {
                let body: InitiateCheckout = message.decode()?;
                self.start(tx, message, "checkout", body.checkout_id, &body)
                    .await?;
            }
            t if t == InitiateGeneration::MESSAGE_TYPE => {
                let body: InitiateGeneration = message.decode()?;
                self.start(tx, message, "generation", body.generation_id, &body)
                    .await?;
            }
            t if t == InitiateOrderCancellation::MESSAGE_TYPE => {
                let body: InitiateOrderCancellation = message.decode()?;
                self.start(
                    tx,
                    message,
                    sagaflow_saga_aftersale::names::CANCELLATION,
                    body.cancellation_id,
                    &body,
                )
                .await?;
            }
            t if t == InitiateRefund::MESSAGE_TYPE => {
                let body: InitiateRefund = message.decode()?;
                self.start(
                    tx,
                    message,
                    sagaflow_saga_aftersale::names::REFUND,
                    body.refund_id,
                    &body,
                )
                .await?;
            }
            t if t == CancelSaga::MESSAGE_TYPE => {
                let body: CancelSaga = message.decode()?;
                if !same_tenant(tx, message, body.saga_id).await? {
                    return Ok(Vec::new());
                }
                let input = Input::Abort {
                    reason: body.reason,
                };
                if let Err(err) =
                    apply(tx, &self.definitions, body.saga_id, &input, cause, now).await
                {
                    classify(err)?;
                }
            }
            message_type => {
                let payload = reply_payload(message_type, &message.payload)?;
                let saga_id = message.envelope.saga_id.ok_or_else(|| {
                    Failure::Poison(format!("{message_type} without a saga-id header"))
                })?;
                let input = Input::Reply {
                    message_type: message_type.to_owned(),
                    payload,
                    causation_id: message.envelope.causation_id,
                };
                if let Err(err) = apply(tx, &self.definitions, saga_id, &input, cause, now).await {
                    classify(err)?;
                }
            }
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use sagaflow_events::messages::{InventoryReleased, InventoryReserved};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn replies_are_checked_against_the_contracts() {
        let saga_id = Uuid::now_v7();
        let bytes = sagaflow_events::encode(&InventoryReleased { saga_id }).unwrap();
        let payload = reply_payload(InventoryReleased::MESSAGE_TYPE, &bytes).unwrap();
        assert_eq!(payload, serde_json::json!({ "saga_id": saga_id }));
        let unknown = reply_payload("InventoryTeleported", &bytes);
        assert!(
            matches!(&unknown, Err(Failure::Poison(r)) if r.contains("InventoryTeleported")),
            "{unknown:?}"
        );
        let mislabelled = reply_payload(InventoryReserved::MESSAGE_TYPE, &bytes);
        assert!(
            matches!(&mislabelled, Err(Failure::Poison(r)) if r.contains("InventoryReleased")),
            "{mislabelled:?}"
        );
    }
}
