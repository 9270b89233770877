//! Making one draft: facts from the saga's working data, and the draft stored from
//! the completion that `Handler::prepare` recorded (see [`crate::completions`]): the
//! `documents` row, the `llm_cache` entry, and the `llm_calls` row linked to it.
//! Nothing here calls the LLM.

use sagaflow_llm::DocumentFacts;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::completions::{Recorded, idempotency_key};
use crate::documents::{self, NewDraft};
use crate::prompt;
use crate::store::SagaData;
use crate::validate::claimable_keywords;
use crate::vocabulary::has_skill;

/// The facts for a document of `kind` (`cover_letter` / `resume`): matched skills =
/// CV skills ∩ required, keywords the CV can back, highlights = `emphasis`.
pub fn facts(
    kind: &str,
    data: &SagaData,
    keywords: &[String],
    emphasis: &[String],
    feedback: Option<String>,
) -> DocumentFacts {
    let matched_skills = data
        .skills
        .iter()
        .filter(|skill| has_skill(&data.cv_skills, skill))
        .cloned()
        .collect();
    let highlights = if emphasis.is_empty() {
        data.highlights.0.clone()
    } else {
        emphasis.to_vec()
    };
    DocumentFacts {
        kind: kind.to_owned(),
        candidate_name: data.candidate_name.clone(),
        job_title: data.job_title.clone(),
        company: data.company.clone(),
        matched_skills,
        keywords: claimable_keywords(keywords, &data.cv_text)
            .into_iter()
            .filter(|k| !is_generic(k))
            .collect(),
        highlights,
        feedback: feedback.filter(|f| !f.trim().is_empty()),
    }
}

/// Words every ad and CV share ("senior", "engineer"): not worth saying as keywords.
fn is_generic(keyword: &str) -> bool {
    let word = keyword.to_lowercase();
    crate::analysis::seniority(&word).is_some()
        || crate::analysis::is_role_word(&word)
        || [
            "team",
            "teams",
            "experience",
            "years",
            "work",
            "role",
            "company",
        ]
        .contains(&word.as_str())
}

/// One draft to make.
#[derive(Debug, Clone)]
pub struct DraftRequest {
    pub saga_id: Uuid,
    /// The tenant of the command (its envelope's).
    pub tenant_id: String,
    pub user_id: String,
    pub facts: DocumentFacts,
    pub template: Option<String>,
    /// Idempotency key within the saga (see the `documents` table).
    pub request_key: String,
    pub max_tokens_per_call: u32,
    /// `(tokens, per-user limit)` to reserve before the call (GenerateDocument); `None`
    /// spends what the saga has left (the regeneration in ValidateDocument).
    pub reserve: Option<(i64, i64)>,
}

impl DraftRequest {
    /// The response cache's key: the normalised inputs, scoped to the tenant and user,
    /// so an answer is never served to another user.
    pub fn cache_key(&self) -> String {
        let inputs = prompt::cache_key(&self.facts, self.template.as_deref());
        Sha256::digest(format!("{}\u{0}{}\u{0}{inputs}", self.tenant_id, self.user_id).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A stored draft.
#[derive(Debug, Clone)]
pub struct Draft {
    pub document_id: Uuid,
    pub content: String,
    pub provider: String,
    pub tokens_used: i64,
    pub offline: bool,
}

/// Stores the draft made from `recorded` (settled: not `pending`): a `completed` or
/// `cached` completion becomes a `documents` row (a completed one also enters the
/// cache and its `llm_calls` row is linked to the document); `failed` and `refused`
/// are a business failure `Ok(Err((reason, tokens used)))`.
pub async fn from_record(
    tx: &mut PgConnection,
    request: &DraftRequest,
    recorded: Recorded,
) -> Result<Result<Draft, (String, i64)>, sqlx::Error> {
    let kind = request.facts.kind.as_str();
    let (cached, tokens_used) = match recorded.status.as_str() {
        "completed" => (false, recorded.input_tokens + recorded.output_tokens),
        "cached" => (true, 0),
        _ => {
            let reason = recorded
                .reason
                .unwrap_or_else(|| "the LLM call failed".to_owned());
            return Ok(Err((reason, 0)));
        }
    };
    let content = recorded.content.unwrap_or_default();
    let provider = recorded.provider.unwrap_or_default();
    let document_id = documents::insert(
        tx,
        &NewDraft {
            saga_id: request.saga_id,
            tenant_id: &request.tenant_id,
            user_id: &request.user_id,
            kind,
            request_key: &request.request_key,
            template: request.template.as_deref(),
            content: &content,
            provider: &provider,
            tokens: tokens_used,
            offline: recorded.offline,
            cached,
        },
    )
    .await?;
    if !cached {
        sqlx::query(
            "INSERT INTO llm_cache (cache_key, tenant_id, user_id, kind, content, provider, model, offline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (cache_key) DO NOTHING",
        )
        .bind(request.cache_key())
        .bind(&request.tenant_id)
        .bind(&request.user_id)
        .bind(kind)
        .bind(&content)
        .bind(&provider)
        .bind(recorded.model.as_deref().unwrap_or_default())
        .bind(recorded.offline)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE llm_calls SET document_id = $2 WHERE idempotency_key = $1")
            .bind(idempotency_key(request.saga_id, &request.request_key))
            .bind(document_id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(Ok(Draft {
        document_id,
        content,
        provider,
        tokens_used,
        offline: recorded.offline,
    }))
}
