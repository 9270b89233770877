//! The planner's HTTP API (the gateway proxies these four routes here, with its
//! internal token naming the caller, `x-request-id` and `traceparent`; the router
//! is served behind `sagaflow_service_auth::internal::guard`, so a request without
//! a valid token is 401 and identity headers are ignored):
//!
//! - `POST /v1/assistant/intents` `{"text": "...", "dry_run": false}` with a
//!   required `Idempotency-Key` (400 `missing_header` without) → 201 with the
//!   plan (running, awaiting confirmation, or a dry run), or 422 `plan_rejected`
//!   with the plan and its reasons. Nothing but the audit log is written for a
//!   rejected plan or a dry run. The same key and body again: the saved answer
//!   (one plan, one checkout); another body: 422 `idempotency_key_reused`;
//!   while the first still runs: 409 `request_in_progress` (`crate::idempotency`).
//! - `POST /v1/assistant/plans/{id}/confirm` → 200: runs a plan that awaits
//!   confirmation (or a dry run, exactly as shown), after validating it again
//!   (budgets, today's spending); confirming a running or finished plan changes
//!   nothing; an unconfirmed plan older than `PLANNER_PLAN_TTL_SECS` is 410
//!   `plan_expired`.
//! - `GET /v1/assistant/plans/{id}` → 200 everything about the plan
//!   (`crate::view`).
//! - `GET /v1/assistant/plans?limit=50` → 200 the caller's plans, newest first.
//! - `GET /healthz` → 200.
//!
//! A plan is visible to its tenant and user only; anyone else gets 404.

pub mod error;
pub mod request;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use sagaflow_saga_store::Definitions;
use sagaflow_service_auth::InternalCaller;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, kind};
use crate::caller::{self, Caller};
use crate::config::Settings;
use crate::draft::{self, Context, Draft, Usage};
use crate::idempotency::{self, Claim, Scope};
use crate::intent::{Intent, Interpreter};
use crate::store::{self, Plan, status};
use crate::validate::{self, Validation};
use crate::{catalog, children, daily, execute, sweep, view};
pub use error::ApiError;
use request::IntentRequest;

/// The idempotency key header of `POST /v1/assistant/intents`.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Longest accepted idempotency key (as at the gateway).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub interpreter: Interpreter,
    pub definitions: Arc<Definitions>,
}

/// The routes above.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/assistant/intents", post(post_intent))
        .route("/v1/assistant/plans", get(list_plans))
        .route("/v1/assistant/plans/{id}", get(get_plan))
        .route("/v1/assistant/plans/{id}/confirm", post(confirm_plan))
        .with_state(state)
}

fn plan_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::bad_request("id", "must be a UUID"))
}

/// The view of a plan the caller owns, as JSON.
async fn owned_view(
    conn: &mut PgConnection,
    caller: &Caller,
    plan_id: Uuid,
) -> Result<Value, ApiError> {
    match view::load(conn, caller, plan_id).await? {
        Some((_, view)) => {
            serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))
        }
        None => Err(ApiError::NotFound),
    }
}

/// The `Idempotency-Key` header: required, 1 to 128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or(ApiError::MissingHeader(IDEMPOTENCY_KEY))?;
    let value = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|v| (1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&v.len()))
        .filter(|v| v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ApiError::InvalidHeader {
            header: IDEMPOTENCY_KEY,
            reason: format!(
                "must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters (a UUID)"
            ),
        })?;
    Ok(value.to_owned())
}

/// The caller's assistant cart if the intent puts something in a cart (the
/// nil id otherwise: no command of such a plan names a cart).
async fn cart_for(
    conn: &mut PgConnection,
    caller: &Caller,
    intent: &Intent,
) -> Result<Uuid, sqlx::Error> {
    match intent {
        Intent::Buy { .. } | Intent::AddToCart { .. } => caller::cart_id(conn, caller).await,
        _ => Ok(Uuid::nil()),
    }
}

/// `POST /v1/assistant/intents`: the key is claimed (or its saved answer sent
/// again) before anything else; the LLM is asked outside any transaction; the
/// plan and the key's answer commit together.
async fn post_intent(
    State(state): State<AppState>,
    internal: InternalCaller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = request::caller(&internal)?;
    let meta = request::meta(&headers)?;
    let key = idempotency_key(&headers)?;
    let request = IntentRequest::parse(&body)?;
    let scope = Scope {
        tenant_id: &caller.tenant_id,
        user_id: &caller.user_id,
        key: &key,
    };
    let fingerprint = serde_json::to_vec(&json!({
        "operation": "POST /v1/assistant/intents",
        "text": request.text,
        "dry_run": request.dry_run,
    }))
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let settings = &state.settings;
    // A claim is abandoned (a crashed planner) once older than the LLM budget
    // plus a generous minute for the database work.
    let stale_after = Duration::from_millis(settings.llm.budget_ms) + Duration::from_secs(60);
    let claim = match idempotency::claim(
        &state.pool,
        scope,
        &fingerprint,
        settings.idempotency_ttl(),
        stale_after,
    )
    .await?
    {
        Claim::Replay { status, body } => return Ok(error::json_response(status, body)),
        Claim::New(claim) => claim,
    };
    match make_plan(&state, &caller, meta, request, scope, claim).await {
        Ok((status, body)) => Ok(error::json_response(status, body)),
        Err(err) => {
            if let Err(release) = idempotency::release(&state.pool, scope, claim).await {
                tracing::warn!(error = %release, "releasing an intent's Idempotency-Key");
            }
            Err(err)
        }
    }
}

/// Parses, drafts, validates and stores the plan (and runs it when it may), and
/// saves the answer under the claimed key, in one transaction.
async fn make_plan(
    state: &AppState,
    caller: &Caller,
    meta: request::Meta,
    request: IntentRequest,
    scope: Scope<'_>,
    claim: Uuid,
) -> Result<(StatusCode, Value), ApiError> {
    // The model (if any) is asked outside any transaction, within its budget.
    let parsed = state
        .interpreter
        .interpret(&request.text, Some(&scope.provider_key()))
        .await;

    let plan_id = Uuid::now_v7();
    let settings = &state.settings;
    let mut tx = state.pool.begin().await?;
    idempotency::hold(&mut tx, scope, claim).await?;
    let cart_id = cart_for(&mut tx, caller, &parsed.intent).await?;
    let price = match &parsed.intent {
        Intent::Buy { sku: Some(sku), .. } | Intent::AddToCart { sku: Some(sku), .. } => {
            Some(catalog::lookup(&mut tx, sku, &settings.currency).await?)
        }
        _ => None,
    };
    let cx = Context {
        caller,
        cart_id,
        price,
        tax_rate_bps: settings.tax_rate_bps,
        shipping_country: &settings.shipping_country,
        generation_tokens: settings.generation_tokens,
        payment_method: &settings.payment_method,
        email_domain: &settings.email_domain,
    };
    let drafted = draft::draft(plan_id, &parsed.intent, &cx);
    let validation = validate::validate(
        &mut tx,
        caller,
        cart_id,
        &parsed,
        drafted.as_ref().map_err(Vec::as_slice),
        settings,
    )
    .await?;
    let plan_status = if !validation.ok {
        status::REJECTED
    } else if request.dry_run {
        status::DRY_RUN
    } else if validation.needs_confirmation {
        status::AWAITING_CONFIRMATION
    } else {
        status::RUNNING
    };
    let (shape, steps) = match &drafted {
        Ok(draft) => (Some(draft.shape), draft.steps.clone()),
        Err(_) => (None, Vec::new()),
    };
    let now = Utc::now();
    let expires_at = status::UNCONFIRMED
        .contains(&plan_status)
        .then(|| now + chrono::Duration::seconds(settings.plan_ttl_secs as i64));
    let plan = Plan {
        plan_id,
        caller: caller.clone(),
        request_id: meta.request_id,
        traceparent: meta.traceparent,
        text: request.text,
        dry_run: request.dry_run,
        intent: parsed,
        shape,
        steps,
        validation,
        status: plan_status.to_owned(),
        confirmed_at: None,
        expires_at,
        created_at: now,
        updated_at: now,
    };
    store::insert(&mut tx, &plan).await?;
    audit::record(
        &mut tx,
        &plan,
        kind::INTENT_PARSED,
        json!({"text_chars": plan.text.chars().count(), "dry_run": plan.dry_run,
               "request_id": plan.request_id, "parsed": plan.intent}),
    )
    .await?;
    match &drafted {
        Ok(draft) => {
            audit::record(
                &mut tx,
                &plan,
                kind::PLAN_DRAFTED,
                json!({"shape": draft.shape, "steps": draft.steps, "usage": draft.usage}),
            )
            .await?
        }
        Err(reasons) => {
            audit::record(
                &mut tx,
                &plan,
                kind::PLAN_NOT_DRAFTED,
                json!({"reasons": reasons}),
            )
            .await?
        }
    };
    audit::record(&mut tx, &plan, kind::PLAN_VALIDATED, json!(plan.validation)).await?;
    match plan_status {
        status::REJECTED => {
            audit::record(
                &mut tx,
                &plan,
                kind::PLAN_REJECTED,
                json!({"reasons": plan.validation.reasons, "emitted": []}),
            )
            .await?;
        }
        status::DRY_RUN => {
            children::register(&mut tx, caller, plan_id, &plan.steps).await?;
            audit::record(
                &mut tx,
                &plan,
                kind::DRY_RUN,
                json!({"would_emit": plan.steps.iter().map(|s| &s.command).collect::<Vec<_>>(),
                       "expires_at": plan.expires_at}),
            )
            .await?;
        }
        status::AWAITING_CONFIRMATION => {
            children::register(&mut tx, caller, plan_id, &plan.steps).await?;
            audit::record(
                &mut tx,
                &plan,
                kind::AWAITING_CONFIRMATION,
                json!({"reason": plan.validation.confirmation_reason,
                       "expires_at": plan.expires_at}),
            )
            .await?;
        }
        _ => {
            children::register(&mut tx, caller, plan_id, &plan.steps).await?;
            daily::add(
                &mut tx,
                caller,
                daily::today(),
                plan.validation.budget.money_minor,
            )
            .await?;
            execute::start(&mut tx, &state.definitions, &plan).await?;
        }
    }
    let view = owned_view(&mut tx, caller, plan_id).await?;
    let (status, body) = if plan_status == status::REJECTED {
        ApiError::Rejected {
            message: plan.validation.reasons.join("; "),
            plan: view,
        }
        .status_and_body()
    } else {
        (StatusCode::CREATED, view)
    };
    idempotency::complete(&mut tx, scope, plan_id, status, &body).await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_planner_plans_total", "outcome" => plan_status).increment(1);
    Ok((status, body))
}

/// `POST /v1/assistant/plans/{id}/confirm`.
async fn confirm_plan(
    State(state): State<AppState>,
    internal: InternalCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&internal)?;
    let meta = request::meta(&headers)?;
    let plan_id = plan_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let Some(plan) = store::lock_owned(&mut tx, &caller, plan_id).await? else {
        return Err(ApiError::NotFound);
    };
    let expired = |expires_at: Option<chrono::DateTime<Utc>>| ApiError::Gone {
        code: "plan_expired",
        message: format!(
            "plan {plan_id} expired{} without being confirmed (a plan can be confirmed for \
             {} s); send the request again",
            expires_at
                .map(|t| format!(" at {}", t.to_rfc3339()))
                .unwrap_or_default(),
            state.settings.plan_ttl_secs
        ),
    };
    match plan.status.as_str() {
        status::AWAITING_CONFIRMATION | status::DRY_RUN => {
            if plan.expires_at.is_some_and(|at| at <= Utc::now()) {
                sweep::expire(&mut tx, &plan).await?;
                tx.commit().await?;
                return Err(expired(plan.expires_at));
            }
        }
        status::EXPIRED => return Err(expired(plan.expires_at)),
        status::REJECTED => {
            return Err(ApiError::Conflict {
                code: "plan_rejected",
                message: format!(
                    "a rejected plan cannot run: {}",
                    plan.validation.reasons.join("; ")
                ),
            });
        }
        // Already confirmed (or never needed it): nothing more to do.
        _ => return Ok(Json(owned_view(&mut tx, &caller, plan_id).await?)),
    }
    let shape = plan
        .shape
        .ok_or_else(|| ApiError::Internal(format!("plan {plan_id} has no shape")))?;
    let draft = Draft {
        shape,
        steps: plan.steps.clone(),
        usage: usage_of(&plan.validation),
    };
    // What may have changed since (ownership, settings, today's spending) is
    // checked again.
    let cart_id = cart_for(&mut tx, &caller, &plan.intent.intent).await?;
    let validation = validate::validate(
        &mut tx,
        &caller,
        cart_id,
        &plan.intent,
        Ok(&draft),
        &state.settings,
    )
    .await?;
    if !validation.ok {
        store::revalidated(&mut tx, plan_id, &validation, status::REJECTED, false).await?;
        audit::record(&mut tx, &plan, kind::PLAN_VALIDATED, json!(validation)).await?;
        audit::record(
            &mut tx,
            &plan,
            kind::PLAN_REJECTED,
            json!({"reasons": validation.reasons, "at": "confirmation", "emitted": []}),
        )
        .await?;
        let plan_view = owned_view(&mut tx, &caller, plan_id).await?;
        tx.commit().await?;
        return Err(ApiError::Rejected {
            message: validation.reasons.join("; "),
            plan: plan_view,
        });
    }
    store::revalidated(&mut tx, plan_id, &validation, status::RUNNING, true).await?;
    audit::record(
        &mut tx,
        &plan,
        kind::PLAN_CONFIRMED,
        json!({"by": caller.user_id, "request_id": meta.request_id,
               "was": plan.status, "validation": validation}),
    )
    .await?;
    daily::add(
        &mut tx,
        &caller,
        daily::today(),
        validation.budget.money_minor,
    )
    .await?;
    execute::start(&mut tx, &state.definitions, &plan).await?;
    let view = owned_view(&mut tx, &caller, plan_id).await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_planner_plans_total", "outcome" => "confirmed").increment(1);
    Ok(Json(view))
}

/// The usage recorded by a validation, to validate the same draft again.
fn usage_of(validation: &Validation) -> Usage {
    let budget = &validation.budget;
    Usage {
        money_minor: budget.money_minor,
        net_minor: budget.net_minor,
        tax_minor: budget.tax_minor,
        currency: (budget.money_minor > 0).then(|| budget.currency.clone()),
        generations: budget.generations,
        tokens: budget.tokens,
    }
}

/// `GET /v1/assistant/plans/{id}`.
async fn get_plan(
    State(state): State<AppState>,
    internal: InternalCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&internal)?;
    let plan_id = plan_id(&id)?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(owned_view(&mut conn, &caller, plan_id).await?))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

/// `GET /v1/assistant/plans`.
async fn list_plans(
    State(state): State<AppState>,
    internal: InternalCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&internal)?;
    let limit = match query.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::bad_request("limit", "must be an integer from 1 to 200"))?,
    };
    let mut conn = state.pool.acquire().await?;
    let plans = store::list(&mut conn, &caller, limit).await?;
    Ok(Json(json!({"plans": plans})))
}
