//! # sagaflow-generation — the AI cover-letter / resume participant
//!
//! Consumes `generation.commands` (and `UserErasureRequested` on `gateway.events`)
//! and replies on `generation.events`, one Postgres transaction per command (inbox +
//! state + outbox, see `sagaflow-bus`). Every row of user data is keyed by the tenant
//! (the command's envelope tenant; the caller's for HTTP) and the user:
//! - `AnalyseJob` → `JobAnalysed` | `JobAnalysisFailed`: rule-based (no LLM) skills,
//!   keywords, seniority, and the job title / company when the ad names them.
//! - `CompileProfile` → `ProfileCompiled`: candidate name, CV skills, match
//!   percentage and the CV lines to emphasise; stores the user, a new CV version when
//!   the text changed, and the saga's working data.
//! - `GenerateDocument` → `DocumentGenerated` | `GenerationFailed`: reserves the token
//!   budget (bounded per user), answers from the response cache (`llm_cache`) or calls
//!   the [`sagaflow_llm::Chain`], stores the draft and an `llm_calls` row. A saga whose
//!   budget was released (a tombstone) is refused with [`budget::CANCELLED`] without
//!   calling the LLM. The call is made exactly once per draft, in
//!   `Handler::prepare`, outside the inbox transaction, under an idempotency key
//!   derived from the saga and the draft, and recorded (see [`completions`]);
//!   failpoint [`completions::AFTER_COMPLETION`] sits between the call and the record.
//! - `ValidateDocument` → `DocumentValidated` | `DocumentRejected`: keyword coverage, an
//!   ATS-style score and factuality (no skill, employer or year the CV lacks); a failed
//!   draft gets one bounded regeneration with the reasons as feedback.
//! - `ExportDocument` → `DocumentExported` | `ExportFailed`: Markdown, HTML and PDF
//!   (`pdf` classic, `pdf-ats`, `pdf-modern`) in `document_files`; the document becomes final and the unused budget is settled.
//! - Compensations: `ReleaseTokenBudget` → `TokenBudgetReleased`, `VoidDraft` →
//!   `DraftVoided`; both idempotent.
//! - Erasure: `EraseUserData` (generation.commands) and `UserErasureRequested`
//!   (gateway.events) delete the envelope tenant's user and leave a tombstone: a late
//!   command for their saga gets its step's failure reply and stores nothing
//!   ([`erasure`]).
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
//! - [`export`]: the formats and their rendering; [`markdown`]: Markdown to
//!   sanitised HTML (pulldown-cmark, then an ammonia allow-list); [`pdf`]: PDF in
//!   three layouts with embedded Unicode fonts (krilla), wrapped by glyph width.
//! - [`store`]: users, CV versions and the saga's working data.
//! - [`budget`]: token reservations, release tombstones, settlement.
//! - [`documents`]: the `documents` table.
//! - [`completions`]: LLM calls exactly once (`llm_completions`).
//! - [`generate`]: one draft stored from its recorded completion.
//! - [`erasure`]: erasing a (tenant, user); tombstones and the guard of late commands.
//! - [`handler`]: [`Generator`] and the command dispatch; [`steps`]: the generation
//!   and validation steps.
//! - [`api`]: [`router`], the HTTP API, scoped to the caller's tenant and user;
//!   [`profile_api`]: the caller's CV versions, prompt templates ([`templates`]) and
//!   token budgets per stage ([`stage_budgets`]);
//!   [`caller`]: who the caller is.
//! - [`error`]: the crate's [`Error`] type.
//! - This file: [`NAME`], [`COMMAND_TOPIC`], [`TOPICS`], [`migrate`], [`run`],
//!   [`delete_user`].
//! - `migrations/`: `users`, `cv_versions`, `generations`, `token_budgets`, `llm_cache`,
//!   `documents`, `llm_calls`, `document_files`; then tenant keys, `llm_completions`,
//!   `erasures`, `erased_sagas`; then the PDF layouts among `document_files` formats;
//!   then `prompt_templates`; then `stage_budgets`.

pub mod analysis;
pub mod api;
pub mod budget;
pub mod caller;
pub mod completions;
pub mod config;
pub mod documents;
pub mod erasure;
pub mod error;
pub mod export;
pub mod generate;
pub mod handler;
pub mod markdown;
pub mod pdf;
pub mod profile;
pub mod profile_api;
pub mod prompt;
pub mod stage_budgets;
pub mod steps;
pub mod store;
pub mod templates;
pub mod validate;
pub mod vocabulary;

pub use api::router;
pub use config::Settings;
pub use error::Error;
pub use handler::Generator;

use std::future::IntoFuture as _;

use anyhow::Context as _;
use sagaflow_bus::{InboxConsumer, KafkaConfig, Supervisor};
use sagaflow_events::topics;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Consumer group and inbox consumer name.
pub const NAME: &str = "generation";
/// The topic of this service's commands.
pub const COMMAND_TOPIC: &str = topics::GENERATION_COMMANDS;
/// Every topic this service consumes: its commands and the gateway's events
/// (`UserErasureRequested`).
pub const TOPICS: [&str; 2] = [COMMAND_TOPIC, topics::GATEWAY_EVENTS];

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
    let api = match settings.listen {
        Some(addr) => {
            let app = sagaflow_service_auth::internal::guard(
                router(pool.clone()),
                settings.auth.internal_verifier(NAME)?,
            );
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding GENERATION_LISTEN={addr}"))?;
            Some((listener, app))
        }
        None => None,
    };
    let consumer = InboxConsumer::new(NAME, &TOPICS, pool, kafka, generator)
        .with_workers(usize::from(settings.workers));
    let mut supervisor = Supervisor::new(NAME, &shutdown);
    supervisor.participant(consumer)?;
    if let Some((listener, app)) = api {
        let stop = supervisor.token();
        supervisor.add(
            "HTTP API",
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .into_future(),
        );
    }
    Ok(supervisor.run().await?)
}

/// Erases `user_id` of `tenant_id` now (see [`erasure::erase`]): their data is
/// deleted, a tombstone refuses late commands of their sagas; false when nothing was
/// stored. The same user id in another tenant is untouched.
pub async fn delete_user(
    pool: &PgPool,
    tenant_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let deleted = erasure::erase(&mut tx, tenant_id, user_id, chrono::Utc::now(), None).await?;
    tx.commit().await?;
    Ok(deleted)
}
