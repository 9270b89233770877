//! The planner's HTTP API (the gateway proxies these four routes here, forwarding
//! `x-tenant-id`, `x-user-id`, `x-request-id` and `traceparent`):
//!
//! - `POST /v1/assistant/intents` `{"text": "...", "dry_run": false}` → 201 with the
//!   plan (running, awaiting confirmation, or a dry run), or 422 `plan_rejected`
//!   with the plan and its reasons. Nothing but the audit log is written for a
//!   rejected plan or a dry run.
//! - `POST /v1/assistant/plans/{id}/confirm` → 200: runs a plan that awaits
//!   confirmation (or a dry run, exactly as shown), after validating it again;
//!   confirming a running or finished plan changes nothing.
//! - `GET /v1/assistant/plans/{id}` → 200 everything about the plan
//!   (`crate::view`).
//! - `GET /v1/assistant/plans?limit=50` → 200 the caller's plans, newest first.
//! - `GET /healthz` → 200.
//!
//! A plan is visible to its tenant and user only; anyone else gets 404.

pub mod error;
pub mod request;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use sagaflow_saga_store::Definitions;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, kind};
use crate::caller::Caller;
use crate::config::Settings;
use crate::draft::{self, Context, Draft, Usage};
use crate::intent::{Intent, Interpreter};
use crate::store::{self, Plan, status};
use crate::validate::{self, Validation};
use crate::{catalog, children, execute, view};
pub use error::ApiError;
use request::IntentRequest;

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
    match view::load(conn, plan_id).await? {
        Some((plan, view)) if plan.caller == *caller => {
            serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))
        }
        _ => Err(ApiError::NotFound),
    }
}

/// `POST /v1/assistant/intents`.
async fn post_intent(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let caller = request::caller(&headers)?;
    let meta = request::meta(&headers)?;
    let request = IntentRequest::parse(&body)?;
    // The model (if any) is asked outside any transaction.
    let parsed = state.interpreter.interpret(&request.text).await;

    let plan_id = Uuid::now_v7();
    let mut tx = state.pool.begin().await?;
    let price = match &parsed.intent {
        Intent::Buy { sku: Some(sku), .. } | Intent::AddToCart { sku: Some(sku), .. } => {
            catalog::price(&mut tx, sku).await?
        }
        _ => None,
    };
    let settings = &state.settings;
    let cx = Context {
        caller: &caller,
        price,
        generation_tokens: settings.generation_tokens,
        payment_method: &settings.payment_method,
        email_domain: &settings.email_domain,
    };
    let drafted = draft::draft(plan_id, &parsed.intent, &cx);
    let validation = validate::validate(
        &mut tx,
        &caller,
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
        created_at: Utc::now(),
        updated_at: Utc::now(),
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
            children::register(&mut tx, plan_id, &plan.steps).await?;
            audit::record(
                &mut tx,
                &plan,
                kind::DRY_RUN,
                json!({"would_emit": plan.steps.iter().map(|s| &s.command).collect::<Vec<_>>()}),
            )
            .await?;
        }
        status::AWAITING_CONFIRMATION => {
            children::register(&mut tx, plan_id, &plan.steps).await?;
            audit::record(
                &mut tx,
                &plan,
                kind::AWAITING_CONFIRMATION,
                json!({"reason": plan.validation.confirmation_reason}),
            )
            .await?;
        }
        _ => {
            children::register(&mut tx, plan_id, &plan.steps).await?;
            execute::start(&mut tx, &state.definitions, &plan).await?;
        }
    }
    tx.commit().await?;
    metrics::counter!("sagaflow_planner_plans_total", "outcome" => plan_status).increment(1);

    let mut conn = state.pool.acquire().await?;
    let view = owned_view(&mut conn, &caller, plan_id).await?;
    if plan_status == status::REJECTED {
        return Err(ApiError::Rejected {
            message: plan.validation.reasons.join("; "),
            plan: view,
        });
    }
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /v1/assistant/plans/{id}/confirm`.
async fn confirm_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&headers)?;
    let meta = request::meta(&headers)?;
    let plan_id = plan_id(&id)?;
    let mut tx = state.pool.begin().await?;
    let plan = match store::lock(&mut tx, plan_id).await? {
        Some(plan) if plan.caller == caller => plan,
        _ => return Err(ApiError::NotFound),
    };
    match plan.status.as_str() {
        status::AWAITING_CONFIRMATION | status::DRY_RUN => {}
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
        _ => {
            drop(tx);
            let mut conn = state.pool.acquire().await?;
            return Ok(Json(owned_view(&mut conn, &caller, plan_id).await?));
        }
    }
    let shape = plan
        .shape
        .ok_or_else(|| ApiError::Internal(format!("plan {plan_id} has no shape")))?;
    let draft = Draft {
        shape,
        steps: plan.steps.clone(),
        usage: usage_of(&plan.validation),
    };
    // What may have changed since (ownership, settings) is checked again.
    let validation =
        validate::validate(&mut tx, &caller, &plan.intent, Ok(&draft), &state.settings).await?;
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
        tx.commit().await?;
        let mut conn = state.pool.acquire().await?;
        return Err(ApiError::Rejected {
            message: validation.reasons.join("; "),
            plan: owned_view(&mut conn, &caller, plan_id).await?,
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
    execute::start(&mut tx, &state.definitions, &plan).await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_planner_plans_total", "outcome" => "confirmed").increment(1);
    let mut conn = state.pool.acquire().await?;
    Ok(Json(owned_view(&mut conn, &caller, plan_id).await?))
}

/// The usage recorded by a validation, to validate the same draft again.
fn usage_of(validation: &Validation) -> Usage {
    let budget = &validation.budget;
    Usage {
        money_minor: budget.money_minor,
        currency: (budget.money_minor > 0).then(|| budget.currency.clone()),
        generations: budget.generations,
        tokens: budget.tokens,
    }
}

/// `GET /v1/assistant/plans/{id}`.
async fn get_plan(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&headers)?;
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
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let caller = request::caller(&headers)?;
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
