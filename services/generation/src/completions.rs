//! LLM completions exactly once: the `llm_completions` table.
//!
//! A draft's completion is made in `Handler::prepare`, outside the inbox
//! transaction, in three steps:
//! 1. [`claim`] (one short transaction, the budget row locked by the caller): reserve
//!    the budget, or answer from the response cache, or record the request as
//!    `pending` under the draft's [`idempotency_key`] (saga id + request key, the same
//!    for every delivery, batch replay and retry of the command);
//! 2. the provider call, with that key as its `Idempotency-Key` header
//!    ([`sagaflow_llm::Chain::complete_with_key`]); then the failpoint
//!    [`AFTER_COMPLETION`];
//! 3. [`record`] (one transaction): the answer, once: only a `pending` row is
//!    completed, and only then are its `llm_calls` row written (unique by key) and its
//!    tokens spent from the budget.
//!
//! `handle` reads the record ([`recorded`]) and never calls. A redelivery or a batch
//! replay finds the record and does not call again; a crash between steps 2 and 3
//! leaves `pending`, and the next delivery calls again with the same key, so a
//! provider that deduplicates does the work once, and the cost is recorded once.

use sagaflow_bus::Failure;
use sagaflow_llm::{Chain, Completion, CompletionRequest};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::budget::{self, Budget};
use crate::generate::DraftRequest;
use crate::prompt;

/// The failpoint between the provider's answer and its record.
pub const AFTER_COMPLETION: &str = "generation.after_completion";

/// The provider idempotency key of a saga's draft (`request_key` names the draft
/// within the saga: `generate:<kind>:<attempt>` or `regenerate:<document id>`).
pub fn idempotency_key(saga_id: Uuid, request_key: &str) -> String {
    format!("sagaflow-llm-{saga_id}-{request_key}")
}

/// A recorded completion.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Recorded {
    /// `pending`, `completed`, `failed` or `cached` (recorded), or `refused` (made
    /// up by [`settled`], never stored).
    pub status: String,
    pub content: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub offline: bool,
    pub reason: Option<String>,
}

/// The saga's recorded completion for `request_key`, if any.
pub async fn recorded(
    conn: &mut PgConnection,
    saga_id: Uuid,
    request_key: &str,
) -> Result<Option<Recorded>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, content, provider, model, input_tokens, output_tokens, cost_micros,
                offline, reason
         FROM llm_completions WHERE saga_id = $1 AND request_key = $2",
    )
    .bind(saga_id)
    .bind(request_key)
    .fetch_optional(conn)
    .await
}

/// The completion `handle` needs: the record; or, when `prepare` claimed nothing
/// because the budget refuses the draft, a `refused` outcome naming why (refusals
/// are not recorded: a retry looks again); else a retry while `prepare` has not
/// recorded it.
pub async fn settled(
    conn: &mut PgConnection,
    draft: &DraftRequest,
    budget: Option<&Budget>,
) -> Result<Recorded, Failure> {
    let not_yet = || {
        Failure::Transient(format!(
            "the completion {} of saga {} is not recorded yet",
            draft.request_key, draft.saga_id
        ))
    };
    match recorded(conn, draft.saga_id, &draft.request_key).await? {
        Some(recorded) if recorded.status != "pending" => Ok(recorded),
        Some(_) => Err(not_yet()),
        None => match refusal(conn, draft, budget).await? {
            Some(reason) => Ok(Recorded {
                status: "refused".to_owned(),
                content: None,
                provider: None,
                model: None,
                input_tokens: 0,
                output_tokens: 0,
                cost_micros: 0,
                offline: false,
                reason: Some(reason),
            }),
            None => Err(not_yet()),
        },
    }
}

/// Why the budget refuses `draft` now, if it does.
async fn refusal(
    conn: &mut PgConnection,
    draft: &DraftRequest,
    budget: Option<&Budget>,
) -> Result<Option<String>, sqlx::Error> {
    Ok(match draft.reserve {
        Some((tokens, limit)) => budget::check(
            conn,
            &draft.tenant_id,
            draft.saga_id,
            &draft.user_id,
            tokens,
            limit,
        )
        .await?
        .err(),
        None => (budget.map_or(0, Budget::remaining) <= 0).then(|| EXHAUSTED.to_owned()),
    })
}

/// Why a regeneration is refused when the saga's budget is spent.
pub const EXHAUSTED: &str = "token budget exhausted";

/// A provider call to make.
#[derive(Debug, Clone)]
pub struct Call {
    pub request: CompletionRequest,
    pub key: String,
}

/// A settled outcome to insert with its claim.
struct Outcome<'a> {
    status: &'a str,
    content: Option<&'a str>,
    provider: Option<&'a str>,
    offline: bool,
    request: Option<&'a CompletionRequest>,
}

async fn insert(
    tx: &mut PgConnection,
    draft: &DraftRequest,
    outcome: Outcome<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO llm_completions (saga_id, request_key, tenant_id, user_id, idempotency_key,
                                      status, request, content, provider, offline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(draft.saga_id)
    .bind(&draft.request_key)
    .bind(&draft.tenant_id)
    .bind(&draft.user_id)
    .bind(idempotency_key(draft.saga_id, &draft.request_key))
    .bind(outcome.status)
    .bind(outcome.request.map(Json))
    .bind(outcome.content)
    .bind(outcome.provider)
    .bind(outcome.offline)
    .execute(tx)
    .await?;
    Ok(())
}

/// Step 1, in the caller's transaction (the saga's budget row locked, `budget` its
/// state): the call to make, or `None` when there is none: recorded before,
/// answered from the cache (recorded `cached`), or refused by the budget (nothing
/// recorded; `handle` replies with the refusal, see [`settled`]). A `pending` claim found
/// again (a crash or a concurrent delivery) is called again with its stored request.
pub async fn claim(
    tx: &mut PgConnection,
    draft: &DraftRequest,
    budget: Option<&Budget>,
) -> Result<Option<Call>, sqlx::Error> {
    let key = idempotency_key(draft.saga_id, &draft.request_key);
    let existing: Option<(String, Option<Json<CompletionRequest>>)> = sqlx::query_as(
        "SELECT status, request FROM llm_completions
         WHERE saga_id = $1 AND request_key = $2 FOR UPDATE",
    )
    .bind(draft.saga_id)
    .bind(&draft.request_key)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((status, request)) = existing {
        return Ok(match (status.as_str(), request) {
            ("pending", Some(Json(request))) => Some(Call { request, key }),
            _ => None,
        });
    }
    let kind = draft.facts.kind.clone();
    let remaining = match draft.reserve {
        Some((tokens, limit)) => {
            match budget::reserve(
                tx,
                &draft.tenant_id,
                draft.saga_id,
                &draft.user_id,
                tokens,
                limit,
            )
            .await?
            {
                Ok(reserved) => reserved.remaining(),
                // `handle` finds no claim and replies with the refusal.
                Err(_) => return Ok(None),
            }
        }
        None => budget.map_or(0, Budget::remaining),
    };
    let cached: Option<(String, String, bool)> = sqlx::query_as(
        "UPDATE llm_cache SET hits = hits + 1 WHERE cache_key = $1 RETURNING content, provider, offline",
    )
    .bind(draft.cache_key())
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((content, provider, offline)) = cached {
        metrics::counter!("sagaflow_llm_cache_hits_total", "kind" => kind).increment(1);
        let hit = Outcome {
            status: "cached",
            content: Some(&content),
            provider: Some(&provider),
            offline,
            request: None,
        };
        insert(tx, draft, hit).await?;
        return Ok(None);
    }
    metrics::counter!("sagaflow_llm_cache_misses_total", "kind" => kind).increment(1);
    if remaining <= 0 {
        return Ok(None);
    }
    let max_tokens = u32::try_from(remaining)
        .unwrap_or(u32::MAX)
        .min(draft.max_tokens_per_call);
    let request = prompt::request(&draft.facts, draft.template.as_deref(), max_tokens);
    let pending = Outcome {
        status: "pending",
        content: None,
        provider: None,
        offline: false,
        request: Some(&request),
    };
    insert(tx, draft, pending).await?;
    Ok(Some(Call { request, key }))
}

/// Steps 2 and 3: calls the chain under the call's key, then records the answer.
pub async fn call_and_record(
    pool: &PgPool,
    chain: &Chain,
    tenant_id: &str,
    saga_id: Uuid,
    request_key: &str,
    call: &Call,
) -> Result<(), sqlx::Error> {
    let answer = chain
        .complete_with_key(&call.request, Some(&call.key))
        .await;
    sagaflow_bus::failpoint::hit(AFTER_COMPLETION).await;
    record(pool, tenant_id, saga_id, request_key, &answer).await
}

/// Step 3: records `answer` if the claim is still `pending`, and then only: its
/// `llm_calls` row (unique by key) and the tokens spent. When the claim is gone (the
/// user was erased while the call was in flight) the cost is still recorded, once,
/// without the user.
pub async fn record(
    pool: &PgPool,
    tenant_id: &str,
    saga_id: Uuid,
    request_key: &str,
    answer: &Result<Completion, sagaflow_llm::Error>,
) -> Result<(), sqlx::Error> {
    let failed;
    let (completion, reason) = match answer {
        Ok(completion) => (completion, None),
        Err(err) => {
            let attempts = match err {
                sagaflow_llm::Error::AllFailed { attempts } => attempts.clone(),
                _ => Vec::new(),
            };
            failed = Completion {
                text: String::new(),
                provider: "none".to_owned(),
                model: "none".to_owned(),
                input_tokens: 0,
                output_tokens: 0,
                offline: false,
                cost_micros: 0,
                attempts,
            };
            (&failed, Some(err.to_string()))
        }
    };
    let key = idempotency_key(saga_id, request_key);
    let mut tx = pool.begin().await?;
    let updated: Option<String> = sqlx::query_scalar(
        "UPDATE llm_completions SET status = $3, content = $4, provider = $5, model = $6,
             input_tokens = $7, output_tokens = $8, cost_micros = $9, offline = $10, reason = $11,
             updated_at = now()
         WHERE saga_id = $1 AND request_key = $2 AND status = 'pending' RETURNING user_id",
    )
    .bind(saga_id)
    .bind(request_key)
    .bind(if reason.is_some() {
        "failed"
    } else {
        "completed"
    })
    .bind(reason.is_none().then_some(&completion.text))
    .bind(&completion.provider)
    .bind(&completion.model)
    .bind(i64::from(completion.input_tokens))
    .bind(i64::from(completion.output_tokens))
    .bind(completion.cost_micros)
    .bind(completion.offline)
    .bind(&reason)
    .fetch_optional(&mut *tx)
    .await?;
    if updated.is_none() {
        let claimed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM llm_completions WHERE saga_id = $1 AND request_key = $2)",
        )
        .bind(saga_id)
        .bind(request_key)
        .fetch_one(&mut *tx)
        .await?;
        if claimed {
            // Recorded by another delivery: nothing more to count.
            tx.commit().await?;
            return Ok(());
        }
    }
    let inserted = sqlx::query(
        "INSERT INTO llm_calls (saga_id, user_id, tenant_id, provider, model, input_tokens,
                                output_tokens, cost_micros, offline, attempts, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(saga_id)
    .bind(&updated)
    .bind(tenant_id)
    .bind(&completion.provider)
    .bind(&completion.model)
    .bind(i64::from(completion.input_tokens))
    .bind(i64::from(completion.output_tokens))
    .bind(completion.cost_micros)
    .bind(completion.offline)
    .bind(Json(&completion.attempts))
    .bind(&key)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 && updated.is_some() {
        let tokens = i64::from(completion.input_tokens) + i64::from(completion.output_tokens);
        budget::spend(&mut tx, tenant_id, saga_id, tokens).await?;
    }
    tx.commit().await
}
