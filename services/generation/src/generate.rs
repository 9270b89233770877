//! Making one draft: facts from the saga's working data, the response cache, the
//! LLM chain, and the `documents` / `llm_calls` / `llm_cache` rows.

use sagaflow_llm::{Chain, Completion, DocumentFacts};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::budget::Budget;
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
        keywords: claimable_keywords(keywords, &data.cv_text),
        highlights,
        feedback: feedback.filter(|f| !f.trim().is_empty()),
    }
}

/// One draft to make.
pub struct DraftRequest<'a> {
    pub saga_id: Uuid,
    pub user_id: &'a str,
    pub facts: DocumentFacts,
    pub template: Option<&'a str>,
    /// Idempotency key within the saga (see the `documents` table).
    pub request_key: &'a str,
    pub max_tokens_per_call: u32,
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

/// Makes and stores a draft within `budget` (locked by the caller): from the cache
/// when the same inputs were answered before, else from the chain. `Ok(Err)` is a
/// business failure (reason, tokens used).
pub async fn draft(
    tx: &mut PgConnection,
    chain: &Chain,
    budget: &Budget,
    request: &DraftRequest<'_>,
) -> Result<Result<Draft, (String, i64)>, sqlx::Error> {
    let kind = request.facts.kind.as_str();
    let key = prompt::cache_key(&request.facts, request.template);
    let cached: Option<(String, String, bool)> = sqlx::query_as(
        "UPDATE llm_cache SET hits = hits + 1 WHERE cache_key = $1 RETURNING content, provider, offline",
    )
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((content, provider, offline)) = cached {
        metrics::counter!("sagaflow_llm_cache_hits_total", "kind" => kind.to_owned()).increment(1);
        let document_id = documents::insert(
            tx,
            &NewDraft {
                saga_id: request.saga_id,
                user_id: request.user_id,
                kind,
                request_key: request.request_key,
                template: request.template,
                content: &content,
                provider: &provider,
                tokens: 0,
                offline,
                cached: true,
            },
        )
        .await?;
        return Ok(Ok(Draft {
            document_id,
            content,
            provider,
            tokens_used: 0,
            offline,
        }));
    }
    metrics::counter!("sagaflow_llm_cache_misses_total", "kind" => kind.to_owned()).increment(1);

    let remaining = budget.remaining();
    if remaining <= 0 {
        return Ok(Err(("token budget exhausted".to_owned(), 0)));
    }
    let max_tokens = u32::try_from(remaining)
        .unwrap_or(u32::MAX)
        .min(request.max_tokens_per_call);
    let completion_request = prompt::request(&request.facts, request.template, max_tokens);
    let completion = match chain.complete(&completion_request).await {
        Ok(completion) => completion,
        Err(err) => {
            let attempts = match &err {
                sagaflow_llm::Error::AllFailed { attempts } => attempts.clone(),
                _ => Vec::new(),
            };
            record_call(tx, request, None, &failed_call(attempts)).await?;
            return Ok(Err((err.to_string(), 0)));
        }
    };
    let tokens_used = i64::from(completion.input_tokens) + i64::from(completion.output_tokens);
    let document_id = documents::insert(
        tx,
        &NewDraft {
            saga_id: request.saga_id,
            user_id: request.user_id,
            kind,
            request_key: request.request_key,
            template: request.template,
            content: &completion.text,
            provider: &completion.provider,
            tokens: tokens_used,
            offline: completion.offline,
            cached: false,
        },
    )
    .await?;
    record_call(tx, request, Some(document_id), &completion).await?;
    crate::budget::spend(tx, request.saga_id, tokens_used).await?;
    sqlx::query(
        "INSERT INTO llm_cache (cache_key, user_id, kind, content, provider, model, offline)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (cache_key) DO NOTHING",
    )
    .bind(&key)
    .bind(request.user_id)
    .bind(kind)
    .bind(&completion.text)
    .bind(&completion.provider)
    .bind(&completion.model)
    .bind(completion.offline)
    .execute(&mut *tx)
    .await?;
    Ok(Ok(Draft {
        document_id,
        content: completion.text,
        provider: completion.provider,
        tokens_used,
        offline: completion.offline,
    }))
}

/// A completion-shaped record of a call where every provider failed.
fn failed_call(attempts: Vec<sagaflow_llm::Attempt>) -> Completion {
    Completion {
        text: String::new(),
        provider: "none".to_owned(),
        model: "none".to_owned(),
        input_tokens: 0,
        output_tokens: 0,
        offline: false,
        cost_micros: 0,
        attempts,
    }
}

async fn record_call(
    tx: &mut PgConnection,
    request: &DraftRequest<'_>,
    document_id: Option<Uuid>,
    completion: &Completion,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO llm_calls (saga_id, document_id, user_id, provider, model, input_tokens,
                                output_tokens, cost_micros, offline, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(request.saga_id)
    .bind(document_id)
    .bind(request.user_id)
    .bind(&completion.provider)
    .bind(&completion.model)
    .bind(i64::from(completion.input_tokens))
    .bind(i64::from(completion.output_tokens))
    .bind(completion.cost_micros)
    .bind(completion.offline)
    .bind(Json(&completion.attempts))
    .execute(tx)
    .await?;
    Ok(())
}
