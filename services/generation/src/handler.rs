//! The `generation.commands` handler: [`Generator`] and the dispatch to each step.
//! Analysis, profile, export and the compensations live here; generation and
//! validation in [`crate::steps`].

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentExported, DraftVoided, EraseUserData, ExportDocument,
    ExportFailed, GenerateDocument, JobAnalysed, JobAnalysisFailed, ProfileCompiled,
    ReleaseTokenBudget, TokenBudgetReleased, ValidateDocument, VoidDraft,
};
use sagaflow_llm::Chain;
use sqlx::PgConnection;

use crate::config::Settings;
use crate::error::Error;
use crate::export::{self, Format};
use crate::{analysis, budget, documents, profile, store};

/// Handles every `generation.commands` message; holds the LLM chain.
#[derive(Clone)]
pub struct Generator {
    pub(crate) chain: Chain,
    pub(crate) user_token_limit: i64,
    pub(crate) max_tokens_per_call: u32,
}

impl Generator {
    /// A generator with `chain` and the limits of `settings`.
    pub fn new(settings: &Settings, chain: Chain) -> Self {
        Self {
            chain,
            user_token_limit: settings.user_token_limit,
            max_tokens_per_call: settings.max_tokens_per_call,
        }
    }

    /// Builds the chain from `settings.llm`.
    pub fn from_settings(settings: &Settings) -> Result<Self, Error> {
        Ok(Self::new(settings, Chain::from_settings(&settings.llm)?))
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
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let cause = &incoming.envelope;
        let reply = match incoming.message_type() {
            AnalyseJob::MESSAGE_TYPE => match analyse(tx, &incoming.decode()?).await? {
                Ok(done) => Outgoing::caused_by(cause, &done)?,
                Err(failed) => Outgoing::caused_by(cause, &failed)?,
            },
            CompileProfile::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &compile(tx, &incoming.decode()?).await?)?
            }
            GenerateDocument::MESSAGE_TYPE => {
                let command: GenerateDocument = incoming.decode()?;
                match self.generate(tx, &command).await? {
                    Ok(done) => Outgoing::caused_by(cause, &done)?,
                    Err(failed) => Outgoing::caused_by(cause, &failed)?,
                }
            }
            ValidateDocument::MESSAGE_TYPE => {
                let command: ValidateDocument = incoming.decode()?;
                match self.validate(tx, &command).await? {
                    Ok(done) => Outgoing::caused_by(cause, &done)?,
                    Err(rejected) => Outgoing::caused_by(cause, &rejected)?,
                }
            }
            ExportDocument::MESSAGE_TYPE => match export_document(tx, &incoming.decode()?).await? {
                Ok(done) => Outgoing::caused_by(cause, &done)?,
                Err(failed) => Outgoing::caused_by(cause, &failed)?,
            },
            ReleaseTokenBudget::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &release(tx, &incoming.decode()?).await?)?
            }
            VoidDraft::MESSAGE_TYPE => {
                Outgoing::caused_by(cause, &void(tx, &incoming.decode()?).await?)?
            }
            EraseUserData::MESSAGE_TYPE => {
                let command: EraseUserData = incoming.decode()?;
                crate::erase_user(tx, &command.user_id).await?;
                tracing::info!(user_id = %command.user_id, reason = %command.reason, "user data erased");
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

async fn analyse(
    tx: &mut PgConnection,
    command: &AnalyseJob,
) -> Result<Result<JobAnalysed, JobAnalysisFailed>, Failure> {
    let saga_id = command.saga_id;
    match analysis::analyse(&command.job_description) {
        Ok(found) => {
            store::save_analysis(tx, saga_id, &command.job_description, &found).await?;
            Ok(Ok(JobAnalysed {
                saga_id,
                skills: found.skills,
                keywords: found.keywords,
                seniority: found.seniority,
            }))
        }
        Err(reason) => {
            store::save_analysis_failure(tx, saga_id, &command.job_description, &reason).await?;
            Ok(Err(JobAnalysisFailed { saga_id, reason }))
        }
    }
}

async fn compile(
    tx: &mut PgConnection,
    command: &CompileProfile,
) -> Result<ProfileCompiled, Failure> {
    let compiled = profile::compile(&command.cv_text, &command.skills, &command.keywords);
    let version = store::save_cv(
        tx,
        &command.user_id,
        &compiled.candidate_name,
        &command.cv_text,
        &compiled.cv_skills,
    )
    .await?;
    store::save_profile(
        tx,
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
    command: &ExportDocument,
) -> Result<Result<DocumentExported, ExportFailed>, Failure> {
    let (saga_id, document_id) = (command.saga_id, command.document_id);
    let failed = |reason: String| ExportFailed {
        saga_id,
        document_id,
        reason,
    };
    let Some(document) = documents::lock(tx, document_id).await? else {
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
    let title = match document.kind.as_str() {
        "resume" => "Resume",
        _ => "Cover letter",
    };
    let mut size_bytes = 0_i64;
    for format in &formats {
        let bytes = match export::render(*format, title, &document.content) {
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
    budget::settle(tx, saga_id).await?;
    metrics::counter!("sagaflow_documents_exported_total").increment(1);
    Ok(Ok(DocumentExported {
        saga_id,
        document_id,
        formats: formats.iter().map(|f| f.name().to_owned()).collect(),
        size_bytes,
    }))
}

async fn release(
    tx: &mut PgConnection,
    command: &ReleaseTokenBudget,
) -> Result<TokenBudgetReleased, Failure> {
    let tokens_released =
        budget::release(tx, command.saga_id, &command.user_id, &command.reason).await?;
    documents::void(tx, command.saga_id, None, &command.reason).await?;
    Ok(TokenBudgetReleased {
        saga_id: command.saga_id,
        tokens_released,
    })
}

async fn void(tx: &mut PgConnection, command: &VoidDraft) -> Result<DraftVoided, Failure> {
    documents::void(tx, command.saga_id, command.document_id, &command.reason).await?;
    Ok(DraftVoided {
        saga_id: command.saga_id,
        document_id: command.document_id,
    })
}
