//! Turns consumed messages into saga inputs: `Initiate*` commands start sagas,
//! participants' replies advance them. The driver writes the resulting commands to
//! the outbox in the inbox transaction, so the handler itself returns nothing.

use std::sync::Arc;

use chrono::Utc;
use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::messages::InitiateCheckout;
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
        Error::Database(err) => Err(Failure::Transient(err.to_string())),
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

impl Handler for SagaHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let now = Utc::now();
        let cause = Some(message.envelope.message_id);
        match message.message_type() {
            "InitiateCheckout" => {
                let body: InitiateCheckout = message.decode()?;
                let def = self
                    .definitions
                    .latest("checkout")
                    .ok_or_else(|| Failure::Poison("no checkout definition is deployed".into()))?;
                let input =
                    serde_json::to_value(&body).map_err(|e| Failure::Poison(e.to_string()))?;
                if let Err(err) = start(
                    tx,
                    def,
                    body.checkout_id,
                    input,
                    &context(message),
                    cause,
                    now,
                )
                .await
                {
                    classify(err)?;
                }
            }
            "InitiateGeneration" => {
                return Err(Failure::Poison(
                    "the generation saga is not deployed on this orchestrator".into(),
                ));
            }
            message_type => {
                let (_, payload) = sagaflow_events::decode_json(&message.payload)?;
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
