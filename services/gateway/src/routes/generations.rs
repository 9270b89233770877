//! Document generations: `POST /v1/generations` (start one), `GET
//! /v1/generations/{id}` (its state from the read model), `GET
//! /v1/generations/{id}/stream` (its progress as server-sent events) and `DELETE
//! /v1/generations/{id}` (ask for its cancellation).
//!
//! Starting a generation is one transaction, like a checkout: the idempotency row,
//! the `generations` row and an outbox row with `InitiateGeneration` (topic
//! `orchestrator.commands`, key and saga id = generation id, tenant = the caller's
//! tenant). The orchestrator starts the `generation` saga with saga id =
//! generation id. Every route is limited to the caller's own generations (another
//! tenant's or user's is 404).

use std::convert::Infallible;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sagaflow_bus::{Outgoing, outbox};
use sagaflow_events::messages::{CancelSaga, InitiateGeneration};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use tracing::info;
use utoipa::ToSchema;
use uuid::Uuid;

use super::checkouts::Step;
use super::generation_request::GenerationRequest;
use super::{ApiPath, Caller, IDEMPOTENCY_KEY, header, path_id, progress, read_body};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::idempotency::{self, Scope, Started};
use crate::projection::Owner;

/// The operation name in the idempotency fingerprint.
pub const OPERATION: &str = "POST /v1/generations";

/// Status of a generation before the first saga progress event.
pub const PENDING: &str = "pending";

pub use super::progress::{TERMINAL, is_terminal};

/// The links of generation `id`.
pub fn links(id: Uuid) -> Value {
    json!({
        "self": format!("/v1/generations/{id}"),
        "events": format!("/v1/sagas/{id}/events"),
        "stream": format!("/v1/generations/{id}/stream"),
    })
}

/// The text of the caller's CV `version`, from the generation service (which keeps
/// the versions); an unknown version is 422 on `cv_version`.
async fn stored_cv(state: &AppState, caller: &Caller, version: i64) -> Result<String, ApiError> {
    const LABEL: &str = "the generation service";
    let upstream = crate::proxy::get_as(
        state.signer.as_ref(),
        &state.http,
        &state.settings,
        crate::proxy::Upstream::Generation,
        caller,
        &format!("/profile/cv/{version}"),
    )
    .await?;
    if upstream.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::validation(
            "cv_version",
            format!("you have no CV version {version}: GET /v1/profile/cv lists yours"),
        ));
    }
    if !upstream.status().is_success() {
        tracing::warn!(status = %upstream.status(), "generation service failed a CV read");
        return Err(ApiError::BadGateway(LABEL));
    }
    let body: Value = upstream
        .json()
        .await
        .map_err(|_| ApiError::BadGateway(LABEL))?;
    body["text"]
        .as_str()
        .map(str::to_owned)
        .ok_or(ApiError::BadGateway(LABEL))
}

/// `POST /v1/generations`: 202 with the generation id and its links.
#[utoipa::path(
    post,
    path = "/v1/generations",
    operation_id = "create_generation",
    tag = "generations",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 128 printable ASCII characters; a retry with the same key and body gets the same answer")),
    request_body(content = GenerationRequest, description = "What to write"),
    responses(
        (status = 202, description = "Started", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let key = header(&headers, IDEMPOTENCY_KEY)?.ok_or(ApiError::MissingHeader(IDEMPOTENCY_KEY))?;
    let body = read_body(body, state.settings.max_body())?;
    let request = GenerationRequest::parse(&body)?;
    let hash = idempotency::fingerprint(OPERATION, &request)?;
    // A stored CV version is read from the generation service before any transaction.
    let cv_text = match request.cv_version {
        Some(version) => stored_cv(&state, &caller, version).await?,
        None => request.cv_text.clone(),
    };
    let scope = Scope {
        tenant_id: &caller.tenant_id,
        user_id: &caller.user_id,
        key,
    };

    let started =
        idempotency::start(&state.pool, scope, &hash, state.settings.idempotency_ttl()).await?;
    let mut tx = match started {
        Started::New(tx) => tx,
        Started::Replay { status, body } => {
            metrics::counter!("sagaflow_gateway_generations_total", "result" => "replayed")
                .increment(1);
            return Ok((status, Json(body)).into_response());
        }
    };

    let generation_id = Uuid::now_v7();
    let command = InitiateGeneration {
        generation_id,
        user_id: caller.user_id.clone(),
        kind: request.kind.document_kind(),
        cv_text,
        job_description: request.job_description.clone(),
        template: request.template.clone(),
        token_budget: request.token_budget,
    };
    let message = Outgoing::start(&caller.tenant_id, &command)?;
    let stored_request = serde_json::to_value(&request)
        .map_err(|err| ApiError::Internal(format!("serialising the request: {err}")))?;
    sqlx::query(
        "INSERT INTO generations (generation_id, tenant_id, user_id, kind, request, status)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(generation_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(request.kind.as_str())
    .bind(&stored_request)
    .bind(PENDING)
    .execute(&mut *tx)
    .await?;
    outbox::enqueue(&mut tx, std::slice::from_ref(&message)).await?;
    let status = StatusCode::ACCEPTED;
    let response = json!({
        "generation_id": generation_id,
        "status": PENDING,
        "links": links(generation_id),
    });
    idempotency::complete(&mut tx, scope, status, &response).await?;
    tx.commit().await?;
    metrics::counter!("sagaflow_gateway_generations_total", "result" => "created").increment(1);
    info!(%generation_id, tenant_id = %caller.tenant_id, "generation started");
    Ok((status, Json(response)).into_response())
}

/// The body of `GET /v1/generations/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerationView {
    pub generation_id: Uuid,
    pub kind: String,
    pub status: String,
    pub document_id: Option<Uuid>,
    pub steps: Vec<Step>,
    pub failure: Option<Value>,
}

/// `GET /v1/generations/{id}`.
#[utoipa::path(
    get,
    path = "/v1/generations/{id}",
    operation_id = "get_generation",
    tag = "generations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The generation id")),
    responses(
        (status = 200, body = GenerationView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<GenerationView>, ApiError> {
    let generation_id = path_id("id", &id)?;
    let row = sqlx::query(
        "SELECT kind, status, document_id, failure FROM generations
         WHERE generation_id = $1 AND tenant_id = $2 AND user_id = $3",
    )
    .bind(generation_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let steps = sqlx::query(
        "SELECT seq, kind, step, status, at FROM saga_progress WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(generation_id)
    .fetch_all(&state.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Step {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            step: row.try_get("step")?,
            status: row.try_get("status")?,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(GenerationView {
        generation_id,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        document_id: row.try_get("document_id")?,
        steps,
        failure: row.try_get("failure")?,
    }))
}

/// `DELETE /v1/generations/{id}`: records a cancellation request (202). 409 when
/// the generation has already ended; asking again is another 202.
#[utoipa::path(
    delete,
    path = "/v1/generations/{id}",
    operation_id = "cancel_generation",
    tag = "generations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The generation id")),
    responses(
        (status = 202, description = "Cancellation requested", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let generation_id = path_id("id", &id)?;
    let mut tx = state.pool.begin().await?;
    let status: String = sqlx::query_scalar(
        "SELECT status FROM generations
         WHERE generation_id = $1 AND tenant_id = $2 AND user_id = $3
         FOR UPDATE",
    )
    .bind(generation_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    if is_terminal(&status) {
        return Err(ApiError::Conflict(format!(
            "the generation is already {status}; there is nothing to cancel"
        )));
    }
    // A repeated DELETE keeps the first request and sends nothing new.
    let first: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "INSERT INTO generation_cancellations (generation_id, tenant_id, user_id, forwarded_at)
         VALUES ($1, $2, $3, now())
         ON CONFLICT (generation_id) DO NOTHING
         RETURNING requested_at",
    )
    .bind(generation_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let requested_at: chrono::DateTime<chrono::Utc> = match first {
        Some(at) => {
            // The orchestrator aborts the saga (compensating what it did) when it
            // consumes this; same transaction as the request row.
            let command = CancelSaga {
                saga_id: generation_id,
                reason: format!("cancelled by user {}", caller.user_id),
            };
            let out = Outgoing::new(
                &caller.tenant_id,
                Some(generation_id),
                generation_id.to_string(),
                &command,
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            outbox::enqueue(&mut tx, &[out]).await?;
            at
        }
        None => {
            sqlx::query_scalar(
                "SELECT requested_at FROM generation_cancellations WHERE generation_id = $1",
            )
            .bind(generation_id)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    tx.commit().await?;
    metrics::counter!("sagaflow_gateway_generation_cancellations_total").increment(1);
    info!(%generation_id, tenant_id = %caller.tenant_id, "generation cancellation requested");
    let body = json!({
        "generation_id": generation_id,
        "status": status,
        "cancellation": { "requested_at": requested_at },
        "links": links(generation_id),
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `GET /v1/generations/{id}/stream`: the generation's progress as server-sent
/// events (see [`super::progress`]); the `end` event is
/// `{generation_id, status, document_id}`.
#[utoipa::path(
    get,
    path = "/v1/generations/{id}/stream",
    operation_id = "stream_generation",
    tag = "generations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The generation id"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq"),
    ),
    responses(
        (status = 200, description = "Server-sent events: one per progress row, then `end` (or `reconnect` at the stream's lifetime or the gateway's shutdown)", content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, description = "Too many open streams (per user or in all)", body = ErrorBody),
        (status = 503, description = "The gateway is shutting down", body = ErrorBody),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let generation_id = path_id("id", &id)?;
    let owned: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM generations
                        WHERE generation_id = $1 AND tenant_id = $2 AND user_id = $3)",
    )
    .bind(generation_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_one(&state.pool)
    .await?;
    if !owned {
        return Err(ApiError::NotFound);
    }
    let subscription = state
        .streams
        .open(&caller.tenant_id, &caller.user_id, generation_id)?;
    Ok(progress::stream(
        state.pool.clone(),
        subscription,
        Owner::Generation,
        progress::last_event_id(&headers),
        |generation_id, status, document_id| json!({ "generation_id": generation_id, "status": status, "document_id": document_id }),
    ))
}
