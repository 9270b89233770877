//! The `generation.commands` (and `gateway.events`) handler: [`Generator`] and the
//! dispatch to each step. Analysis, profile, export, the compensations and erasure
//! live here; generation and validation in [`crate::steps`].
//!
//! The tenant of every row is the command's envelope tenant. Every command first
//! passes [`erasure::guard`]: a late command for an erased user's saga gets its
//! step's failure reply and stores nothing. The LLM is called only in
//! [`Handler::prepare`] (GenerateDocument, and ValidateDocument's regeneration),
//! outside the inbox transaction; see [`crate::completions`].

use std::sync::Arc;

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentExported, DraftVoided, EraseUserData, ExportDocument,
    ExportFailed, GenerateDocument, JobAnalysed, JobAnalysisFailed, ProfileCompiled,
    ReleaseTokenBudget, TokenBudgetReleased, UserErasureRequested, ValidateDocument, VoidDraft,
};
use sagaflow_llm::Chain;
use sqlx::{PgConnection, PgPool};

use crate::config::Settings;
use crate::erasure::{self, ERASED};
use crate::error::Error;
use crate::export::{self, Format};
use crate::pdf::Meta;
use crate::pdf::fonts::FontBook;
use crate::{analysis, budget, documents, profile, store};

/// Handles every `generation.commands` message; holds the LLM chain.
#[derive(Clone)]
pub struct Generator {
    pub(crate) chain: Chain,
    pub(crate) user_token_limit: i64,
    pub(crate) max_tokens_per_call: u32,
    /// The fonts PDFs are set in.
    pub(crate) fonts: Arc<FontBook>,
}

impl Generator {
    /// A generator with `chain` and the limits of `settings`.
    pub fn new(settings: &Settings, chain: Chain) -> Self {
        Self {
            chain,
            user_token_limit: settings.user_token_limit,
            max_tokens_per_call: settings.max_tokens_per_call,
            fonts: FontBook::shared(),
        }
    }

    /// Builds the chain from `settings.llm` and loads the PDF fonts of
    /// `settings.pdf_fonts`; a font that cannot be loaded is an error naming
    /// `GENERATION_PDF_FONTS` and the file.
    pub fn from_settings(settings: &Settings) -> Result<Self, Error> {
        let mut generator = Self::new(settings, Chain::from_settings(&settings.llm)?);
        if !settings.pdf_fonts.is_empty() {
            let fonts = FontBook::with_fallbacks(&settings.pdf_fonts)
                .map_err(|e| Error::Pdf(format!("GENERATION_PDF_FONTS: {e}")))?;
            generator.fonts = Arc::new(fonts);
        }
        Ok(generator)
    }

    /// Default limits and the offline-only chain (tests, demos).
    pub fn offline() -> Self {
        Self::new(&Settings::default(), Chain::offline())
    }

    /// The same generator with another per-user token limit.
    pub fn with_user_token_limit(mut self, limit: i64) -> Self {
        self.user_token_limit = limit;
        self
    }
}

impl Handler for Generator {
    const PREPARES: bool = true;

    async fn prepare(&self, pool: &PgPool, incoming: &Incoming) -> Result<(), Failure> {
        let tenant = incoming.envelope.tenant_id.as_str();
        match incoming.message_type() {
            GenerateDocument::MESSAGE_TYPE => {
                self.prepare_generate(pool, tenant, &incoming.decode()?)
                    .await
            }
            ValidateDocument::MESSAGE_TYPE => {
                self.prepare_validate(pool, tenant, &incoming.decode()?)
                    .await
            }
            // No call outside the database.
            _ => Ok(()),
        }
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let cause = &incoming.envelope;
        let tenant = cause.tenant_id.as_str();
        let reply = match incoming.message_type() {
            AnalyseJob::MESSAGE_TYPE => match analyse(tx, tenant, &incoming.decode()?).await? {
                Ok(done) => Outgoing::caused_by(cause, &done)?,
                Err(failed) => Outgoing::caused_by(cause, &failed)?,
            },
            CompileProfile::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &compile(tx, tenant, &incoming.decode()?).await?)?
            }
            GenerateDocument::MESSAGE_TYPE => {
                let command: GenerateDocument = incoming.decode()?;
                match self.generate(tx, tenant, &command).await? {
                    Ok(done) => Outgoing::caused_by(cause, &done)?,
                    Err(failed) => Outgoing::caused_by(cause, &failed)?,
                }
            }
            ValidateDocument::MESSAGE_TYPE => {
                let command: ValidateDocument = incoming.decode()?;
                match self.validate(tx, tenant, &command).await? {
                    Ok(done) => Outgoing::caused_by(cause, &done)?,
                    Err(rejected) => Outgoing::caused_by(cause, &rejected)?,
                }
            }
            ExportDocument::MESSAGE_TYPE => {
                match export_document(tx, tenant, &self.fonts, &incoming.decode()?).await? {
                    Ok(done) => Outgoing::caused_by(cause, &done)?,
                    Err(failed) => Outgoing::caused_by(cause, &failed)?,
                }
            }
            ReleaseTokenBudget::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &release(tx, tenant, &incoming.decode()?).await?)?
            }
            VoidDraft::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &void(tx, tenant, &incoming.decode()?).await?)?
            }
            EraseUserData::MESSAGE_TYPE => {
                let command: EraseUserData = incoming.decode()?;
                erasure::erase(tx, tenant, &command.user_id, chrono::Utc::now(), None).await?;
                tracing::info!(tenant_id = %tenant, user_id = %command.user_id, reason = %command.reason, "user data erased");
                return Ok(Vec::new());
            }
            UserErasureRequested::MESSAGE_TYPE => {
                let request: UserErasureRequested = incoming.decode()?;
                let erased_at = erasure::requested_at(request.requested_at_ms);
                erasure::erase(
                    tx,
                    tenant,
                    &request.user_id,
                    erased_at,
                    Some(request.erasure_id),
                )
                .await?;
                tracing::info!(tenant_id = %tenant, erasure_id = %request.erasure_id, "user data erased");
                return Ok(Vec::new());
            }
            // Events are broadcast: those not meant for us are skipped.
            _ if incoming.topic == sagaflow_events::topics::GATEWAY_EVENTS => {
                return Ok(Vec::new());
            }
            other => {
                return Err(Failure::Poison(format!(
                    "generation does not handle {other}"
                )));
            }
        };
        Ok(vec![reply])
    }
}

/// The reply to a command for a saga of another tenant.
const OTHER_TENANT: &str = "the saga belongs to another tenant";

async fn analyse(
    tx: &mut PgConnection,
    tenant: &str,
    command: &AnalyseJob,
) -> Result<Result<JobAnalysed, JobAnalysisFailed>, Failure> {
    let saga_id = command.saga_id;
    let failed = |reason: &str| {
        Ok(Err(JobAnalysisFailed {
            saga_id,
            reason: reason.to_owned(),
        }))
    };
    if erasure::guard(tx, tenant, saga_id, None).await? {
        return failed(ERASED);
    }
    match analysis::analyse(&command.job_description) {
        Ok(found) => {
            if !store::save_analysis(tx, tenant, saga_id, &command.job_description, &found).await? {
                return failed(OTHER_TENANT);
            }
            Ok(Ok(JobAnalysed {
                saga_id,
                skills: found.skills,
                keywords: found.keywords,
                seniority: found.seniority,
            }))
        }
        Err(reason) => {
            store::save_analysis_failure(tx, tenant, saga_id, &command.job_description, &reason)
                .await?;
            Ok(Err(JobAnalysisFailed { saga_id, reason }))
        }
    }
}

/// CompileProfile has no failure reply: a refused one (an erased user, a saga of
/// another tenant) gets an empty profile naming the reason, carries none of the CV
/// and stores nothing; the saga then fails at GenerateDocument.
async fn compile(
    tx: &mut PgConnection,
    tenant: &str,
    command: &CompileProfile,
) -> Result<ProfileCompiled, Failure> {
    let refused = |reason: &str| ProfileCompiled {
        saga_id: command.saga_id,
        match_percent: 0,
        emphasis: Vec::new(),
        profile_summary: reason.to_owned(),
    };
    if erasure::guard(tx, tenant, command.saga_id, Some(&command.user_id)).await? {
        // Working data an early AnalyseJob left goes too.
        sqlx::query("DELETE FROM generations WHERE saga_id = $1 AND tenant_id = $2")
            .bind(command.saga_id)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        return Ok(refused(ERASED));
    }
    if store::saga_tenant(tx, command.saga_id)
        .await?
        .is_some_and(|owner| owner != tenant)
    {
        return Ok(refused(OTHER_TENANT));
    }
    let compiled = profile::compile(&command.cv_text, &command.skills, &command.keywords);
    let version = store::save_cv(
        tx,
        tenant,
        &command.user_id,
        &compiled.candidate_name,
        &command.cv_text,
        &compiled.cv_skills,
    )
    .await?;
    store::save_profile(
        tx,
        tenant,
        command.saga_id,
        &command.user_id,
        version,
        (&command.skills, &command.keywords),
        &compiled,
    )
    .await?;
    Ok(ProfileCompiled {
        saga_id: command.saga_id,
        match_percent: compiled.match_percent,
        emphasis: compiled.emphasis,
        profile_summary: compiled.summary,
    })
}

async fn export_document(
    tx: &mut PgConnection,
    tenant: &str,
    fonts: &FontBook,
    command: &ExportDocument,
) -> Result<Result<DocumentExported, ExportFailed>, Failure> {
    let (saga_id, document_id) = (command.saga_id, command.document_id);
    let failed = |reason: String| ExportFailed {
        saga_id,
        document_id,
        reason,
    };
    if erasure::guard(tx, tenant, saga_id, None).await? {
        return Ok(Err(failed(ERASED.to_owned())));
    }
    let Some(document) = documents::lock(tx, tenant, document_id).await? else {
        return Ok(Err(failed(format!("unknown document {document_id}"))));
    };
    if document.saga_id != saga_id {
        return Ok(Err(failed(
            "the document belongs to another saga".to_owned(),
        )));
    }
    if document.status == "void" {
        return Ok(Err(failed("the document was voided".to_owned())));
    }
    let mut formats: Vec<Format> = Vec::new();
    for name in &command.formats {
        match Format::parse(name) {
            Some(format) if !formats.contains(&format) => formats.push(format),
            Some(_) => {}
            None => return Ok(Err(failed(format!("unsupported format `{name}`")))),
        }
    }
    if formats.is_empty() {
        return Ok(Err(failed("no format requested".to_owned())));
    }
    let meta = export_meta(&document.kind, store::saga_data(tx, tenant, saga_id).await?);
    let mut size_bytes = 0_i64;
    for format in &formats {
        let bytes = match export::render(*format, fonts, &meta, &document.content) {
            Ok(bytes) => bytes,
            Err(err) => return Ok(Err(failed(err.to_string()))),
        };
        size_bytes += i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO document_files (document_id, format, content_type, bytes) VALUES ($1, $2, $3, $4)
             ON CONFLICT (document_id, format) DO UPDATE SET content_type = $3, bytes = $4, created_at = now()",
        )
        .bind(document_id)
        .bind(format.name())
        .bind(format.content_type())
        .bind(&bytes)
        .execute(&mut *tx)
        .await?;
    }
    documents::set_status(tx, document_id, "final", None).await?;
    budget::settle(tx, tenant, saga_id).await?;
    metrics::counter!("sagaflow_documents_exported_total").increment(1);
    Ok(Ok(DocumentExported {
        saga_id,
        document_id,
        formats: formats.iter().map(|f| f.name().to_owned()).collect(),
        size_bytes,
    }))
}

/// The printed heading and the PDF metadata of a document of `kind`: the candidate
/// as author, the role and company in the title, the ad's skills as keywords.
fn export_meta(kind: &str, data: Option<store::SagaData>) -> Meta {
    let heading = match kind {
        "resume" => "Resume",
        "interview_prep" => "Interview preparation",
        _ => "Cover letter",
    };
    let data = data.unwrap_or_default();
    let mut title = heading.to_owned();
    if !data.job_title.is_empty() {
        title.push_str(" for ");
        title.push_str(&data.job_title);
    }
    if !data.company.is_empty() {
        title.push_str(" at ");
        title.push_str(&data.company);
    }
    if !data.candidate_name.is_empty() {
        title = format!("{title} \u{2014} {}", data.candidate_name);
    }
    Meta {
        heading: heading.to_owned(),
        title,
        author: Some(data.candidate_name).filter(|name| !name.is_empty()),
        keywords: data.skills.0,
    }
}

async fn release(
    tx: &mut PgConnection,
    tenant: &str,
    command: &ReleaseTokenBudget,
) -> Result<TokenBudgetReleased, Failure> {
    let user = Some(command.user_id.as_str()).filter(|user| !user.is_empty());
    if erasure::guard(tx, tenant, command.saga_id, user).await? {
        // Nothing left to release, and no tombstone naming the user.
        return Ok(TokenBudgetReleased {
            saga_id: command.saga_id,
            tokens_released: 0,
        });
    }
    let tokens_released = budget::release(
        tx,
        tenant,
        command.saga_id,
        &command.user_id,
        &command.reason,
    )
    .await?;
    documents::void(tx, tenant, command.saga_id, None, &command.reason).await?;
    Ok(TokenBudgetReleased {
        saga_id: command.saga_id,
        tokens_released,
    })
}

async fn void(
    tx: &mut PgConnection,
    tenant: &str,
    command: &VoidDraft,
) -> Result<DraftVoided, Failure> {
    // An erased saga has no draft left to void.
    if !erasure::guard(tx, tenant, command.saga_id, None).await? {
        documents::void(
            tx,
            tenant,
            command.saga_id,
            command.document_id,
            &command.reason,
        )
        .await?;
    }
    Ok(DraftVoided {
        saga_id: command.saga_id,
        document_id: command.document_id,
    })
}
