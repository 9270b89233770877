//! # sagaflow-generation — the AI cover-letter / resume participant
//!
//! Consumes `generation.commands` and replies on `generation.events`, one Postgres
//! transaction per command (inbox + state + outbox, see `sagaflow-bus`):
//! - `AnalyseJob` → `JobAnalysed` | `JobAnalysisFailed`: rule-based (no LLM) skills,
//!   keywords, seniority, and the job title / company when the ad names them.
//! - `CompileProfile` → `ProfileCompiled`: candidate name, CV skills, match
//!   percentage and the CV lines to emphasise; stores the user, a new CV version when
//!   the text changed, and the saga's working data.
//! - `GenerateDocument` → `DocumentGenerated` | `GenerationFailed`: reserves the token
//!   budget (bounded per user), answers from the response cache (`llm_cache`) or calls
//!   the [`sagaflow_llm::Chain`], stores the draft and an `llm_calls` row. A saga whose
//!   budget was released (a tombstone) is refused with [`budget::CANCELLED`] without
//!   calling the LLM.
//! - `ValidateDocument` → `DocumentValidated` | `DocumentRejected`: keyword coverage, an
//!   ATS-style score and factuality (no skill, employer or year the CV lacks); a failed
//!   draft gets one bounded regeneration with the reasons as feedback.
//! - `ExportDocument` → `DocumentExported` | `ExportFailed`: Markdown, HTML and PDF in
//!   `document_files`; the document becomes final and the unused budget is settled.
//! - Compensations: `ReleaseTokenBudget` → `TokenBudgetReleased`, `VoidDraft` →
//!   `DraftVoided`; both idempotent.
//!
//! Every step is idempotent by saga id: a repeated command gets the same reply.
//!
//! ## Layout
//! - [`config`]: [`Settings`] (`GENERATION_*` plus the LLM chain's settings).
//! - [`vocabulary`]: the skill vocabulary and word-level matching.
//! - [`analysis`]: job-ad analysis.
//! - [`profile`]: CV-to-job matching.
//! - [`prompt`]: templates, the completion request and the cache key.
//! - [`validate`]: coverage, ATS score and factuality.
//! - [`export`]: Markdown, HTML and PDF rendering.
//! - [`store`]: users, CV versions and the saga's working data.
//! - [`budget`]: token reservations, release tombstones, settlement.
//! - [`documents`]: the `documents` table.
//! - [`generate`]: one draft from the cache or the chain.
//! - [`handler`]: [`Generator`] and the command dispatch; [`steps`]: the generation
//!   and validation steps.
//! - [`api`]: [`router`], the HTTP API.
//! - [`error`]: the crate's [`Error`] type.
//! - This file: [`NAME`], [`COMMAND_TOPIC`], [`migrate`], [`run`], [`delete_user`].
//! - `migrations/`: `users`, `cv_versions`, `generations`, `token_budgets`, `llm_cache`,
//!   `documents`, `llm_calls`, `document_files`.

pub mod analysis;
pub mod api;
pub mod budget;
pub mod config;
pub mod documents;
pub mod error;
pub mod export;
pub mod generate;
pub mod handler;
pub mod profile;
pub mod prompt;
pub mod steps;
pub mod store;
pub mod validate;
pub mod vocabulary;

pub use api::router;
pub use config::Settings;
pub use error::Error;
pub use handler::Generator;

use sagaflow_bus::{InboxConsumer, KafkaConfig, Relay};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "generation";
/// The topic this service consumes.
pub const COMMAND_TOPIC: &str = topics::GENERATION_COMMANDS;

/// Applies the messaging tables and this service's own migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sagaflow_bus::migrate::run(pool, Some(sqlx::migrate!("./migrations"))).await
}

/// Runs the outbox relay and the command consumer until `shutdown`; the LLM chain is
/// built from `settings` once. The database must be migrated ([`migrate`]) first.
pub async fn run(
    pool: PgPool,
    kafka: KafkaConfig,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let generator = Generator::from_settings(&settings)?;
    let relay = Relay::new(pool.clone(), &kafka)?;
    let consumer = InboxConsumer::new(NAME, &[COMMAND_TOPIC], pool, kafka, generator)
        .with_workers(usize::from(settings.workers));
    tokio::try_join!(relay.run(shutdown.clone()), consumer.run(shutdown))?;
    Ok(())
}

/// Deletes everything stored about `user_id` (documents and their files, LLM calls
/// and cache entries, budgets, sagas' working data, CV versions, the user); false
/// when nothing was stored.
pub async fn delete_user(pool: &PgPool, user_id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted = erase_user(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// [`delete_user`] inside the caller's transaction (the `EraseUserData` command).
pub async fn erase_user(conn: &mut sqlx::PgConnection, user_id: &str) -> Result<bool, sqlx::Error> {
    let mut deleted = 0;
    for statement in [
        "DELETE FROM documents WHERE user_id = $1",
        "DELETE FROM documents WHERE saga_id IN (SELECT saga_id FROM generations WHERE user_id = $1)",
        "DELETE FROM llm_calls WHERE user_id = $1",
        "DELETE FROM llm_cache WHERE user_id = $1",
        "DELETE FROM token_budgets WHERE user_id = $1",
        "DELETE FROM generations WHERE user_id = $1",
        "DELETE FROM cv_versions WHERE user_id = $1",
        "DELETE FROM users WHERE user_id = $1",
    ] {
        deleted += sqlx::query(statement)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(deleted > 0)
}
