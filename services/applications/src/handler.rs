//! The `applications.commands` handler: one SQL path per command, in the inbox
//! transaction, idempotent by `saga_id` (the `document_commands` row).
//!
//! - `AttachDocumentToApplication` → `DocumentAttached` when the application exists
//!   for (tenant, user) (tenant: the command's, else the envelope's); otherwise
//!   `DocumentAttachFailed` with the reason. A repeat gets the same reply.
//! - `DetachDocumentFromApplication` → `DocumentDetached`: removes the link the
//!   saga's attach created (a link that existed before it stays). With no attach
//!   yet it leaves a tombstone, so a late attach fails with [`DETACHED`].

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AttachDocumentToApplication, DetachDocumentFromApplication, DocumentAttachFailed,
    DocumentAttached, DocumentDetached,
};
use sqlx::PgConnection;
use tracing::info;
use uuid::Uuid;

/// Reason given to an attach that arrives after its saga detached.
pub const DETACHED: &str = "detached before it was attached";

/// Handles the `applications.commands` topic.
#[derive(Debug, Clone, Default)]
pub struct ApplicationsHandler;

impl Handler for ApplicationsHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let reply = match incoming.message_type() {
            AttachDocumentToApplication::MESSAGE_TYPE => {
                let command: AttachDocumentToApplication = incoming.decode()?;
                let tenant = command
                    .tenant_id
                    .as_deref()
                    .unwrap_or(&incoming.envelope.tenant_id);
                match attach(tx, tenant, &command).await? {
                    Ok(done) => Outgoing::caused_by(&incoming.envelope, &done)?,
                    Err(failed) => Outgoing::caused_by(&incoming.envelope, &failed)?,
                }
            }
            DetachDocumentFromApplication::MESSAGE_TYPE => {
                let command: DetachDocumentFromApplication = incoming.decode()?;
                Outgoing::caused_by(&incoming.envelope, &detach(tx, &command).await?)?
            }
            other => {
                return Err(Failure::Poison(format!(
                    "applications does not handle {other}"
                )));
            }
        };
        Ok(vec![reply])
    }
}

async fn attach(
    tx: &mut PgConnection,
    tenant: &str,
    command: &AttachDocumentToApplication,
) -> Result<Result<DocumentAttached, DocumentAttachFailed>, Failure> {
    let saga_id = command.saga_id;
    // A saga of a user erased since it started stores nothing.
    if crate::erasure::erased(tx, tenant, &command.user_id, saga_id).await? {
        return Ok(Err(DocumentAttachFailed {
            saga_id,
            application_id: command.application_id,
            generation_id: command.generation_id,
            reason: crate::erasure::ERASED.to_owned(),
        }));
    }
    // Lock the application against a concurrent delete until the link is in.
    let exists: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM applications
         WHERE application_id = $1 AND tenant_id = $2 AND user_id = $3 FOR KEY SHARE",
    )
    .bind(command.application_id)
    .bind(tenant)
    .bind(&command.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let refusal = exists.is_none().then(|| {
        format!(
            "application {} not found for user {} in tenant {tenant}",
            command.application_id, command.user_id
        )
    });
    // Claim the saga with the outcome; a concurrent attach for the same saga waits
    // on the primary key, then finds this row.
    let claimed: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO document_commands (saga_id, application_id, generation_id, status, reason)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id",
    )
    .bind(saga_id)
    .bind(command.application_id)
    .bind(command.generation_id)
    .bind(if refusal.is_none() {
        "attached"
    } else {
        "failed"
    })
    .bind(&refusal)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_some() {
        let outcome = if refusal.is_none() {
            "attached"
        } else {
            "failed"
        };
        metrics::counter!("sagaflow_applications_attachments_total", "outcome" => outcome)
            .increment(1);
        info!(%saga_id, application_id = %command.application_id, outcome, "attach");
        return Ok(match refusal {
            None => {
                sqlx::query(
                    "INSERT INTO application_documents (application_id, generation_id, saga_id)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(command.application_id)
                .bind(command.generation_id)
                .bind(saga_id)
                .execute(&mut *tx)
                .await?;
                Ok(DocumentAttached {
                    saga_id,
                    application_id: command.application_id,
                    generation_id: command.generation_id,
                })
            }
            Some(reason) => Err(DocumentAttachFailed {
                saga_id,
                application_id: command.application_id,
                generation_id: command.generation_id,
                reason,
            }),
        });
    }
    let (status, application_id, generation_id, reason): (String, Uuid, Uuid, Option<String>) =
        sqlx::query_as(
            "SELECT status, application_id, generation_id, reason FROM document_commands
             WHERE saga_id = $1",
        )
        .bind(saga_id)
        .fetch_one(&mut *tx)
        .await?;
    let failed = |reason: String| DocumentAttachFailed {
        saga_id,
        application_id,
        generation_id,
        reason,
    };
    Ok(match status.as_str() {
        "attached" => Ok(DocumentAttached {
            saga_id,
            application_id,
            generation_id,
        }),
        "failed" => Err(failed(reason.unwrap_or_else(|| "attach failed".to_owned()))),
        _ => Err(failed(DETACHED.to_owned())),
    })
}

async fn detach(
    tx: &mut PgConnection,
    command: &DetachDocumentFromApplication,
) -> Result<DocumentDetached, Failure> {
    // Unknown saga: a detached tombstone, so a late attach is refused. An attached
    // saga becomes detached; a refused attach stays as it was.
    sqlx::query(
        "INSERT INTO document_commands (saga_id, application_id, generation_id, status, reason)
         VALUES ($1, $2, $3, 'detached', $4)
         ON CONFLICT (saga_id) DO UPDATE SET status = 'detached', reason = EXCLUDED.reason,
             updated_at = now()
         WHERE document_commands.status = 'attached'",
    )
    .bind(command.saga_id)
    .bind(command.application_id)
    .bind(command.generation_id)
    .bind(&command.reason)
    .execute(&mut *tx)
    .await?;
    let removed = sqlx::query("DELETE FROM application_documents WHERE saga_id = $1")
        .bind(command.saga_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    info!(saga_id = %command.saga_id, removed, "detach");
    Ok(DocumentDetached {
        saga_id: command.saga_id,
        application_id: command.application_id,
        generation_id: command.generation_id,
    })
}
