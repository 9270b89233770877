//! The operator API: find sagas by status and age, read a saga's log with its state
//! after every entry, and act on a saga (pause, resume, retry the current step,
//! abort = compensate), and list and unpark parked timers (`GET /timers/parked`,
//! `POST /sagas/{id}/timers/unpark`: a timer that could not fire, e.g. for a
//! definition version this orchestrator lacks, waits there with its reason).
//!
//! `/readyz` answers 503 while the process's broker probe last failed
//! ([`ApiState::broker_health`]) or the database does not answer.
//!
//! Every route but `/healthz` and `/readyz` needs an operator token
//! (`Authorization: Bearer`, HS256 with `SAGAFLOW_OPERATOR_JWT_SECRET`, `roles`
//! containing `operator`; see `sagaflow-service-auth`): none or an invalid one is
//! 401, a valid one without the role 403. A token limited to a tenant
//! (`tenant_id`) sees and acts on that tenant's sagas only (others are 404).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{FromRef, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use sagaflow_bus::probe::BrokerHealth;
use sagaflow_saga_engine::{Input, evolve};
use sagaflow_saga_store::{Definitions, Error, apply, log, queries, timeouts};
use sagaflow_service_auth::{Operator, OperatorVerifier};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub definitions: Arc<Definitions>,
    /// Checks operator tokens.
    pub operators: OperatorVerifier,
    /// The broker probe's last outcome: `/readyz` is 503 while it failed.
    pub broker_health: BrokerHealth,
}

impl ApiState {
    /// The state with a broker that counts as serving until told otherwise
    /// ([`ApiState::with_broker_health`]).
    pub fn new(pool: PgPool, definitions: Arc<Definitions>, operators: OperatorVerifier) -> Self {
        Self {
            pool,
            definitions,
            operators,
            broker_health: BrokerHealth::default(),
        }
    }

    /// Readiness follows `health` (the process's broker probe).
    pub fn with_broker_health(mut self, health: BrokerHealth) -> Self {
        self.broker_health = health;
        self
    }
}

impl FromRef<ApiState> for OperatorVerifier {
    fn from_ref(state: &ApiState) -> Self {
        state.operators.clone()
    }
}

pub fn router(state: ApiState) -> Router {
    let operator_routes = Router::new()
        .route("/sagas", get(list))
        .route("/sagas/versions", get(versions))
        .route("/sagas/{id}", get(show))
        .route("/sagas/{id}/{action}", post(act))
        .route("/timers/parked", get(parked))
        .route("/sagas/{id}/timers/unpark", post(unpark))
        .route_layer(from_fn_with_state(state.clone(), require_operator));
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .merge(operator_routes)
        .with_state(state)
}

/// Refuses a request without an operator token (401 / 403, see the module docs);
/// the [`Operator`] is left in the request's extensions.
async fn require_operator(
    State(_state): State<ApiState>,
    operator: Operator,
    mut request: Request,
    next: Next,
) -> Response {
    request.extensions_mut().insert(operator);
    next.run(request).await
}

/// 404 unless `operator` may see saga `id` (a tenant-limited token sees its
/// tenant only).
async fn in_scope(pool: &PgPool, operator: &Operator, id: Uuid) -> Result<(), ApiError> {
    let Some(limit) = &operator.tenant_id else {
        return Ok(());
    };
    let tenant: Option<String> =
        sqlx::query_scalar("SELECT tenant_id FROM sagas WHERE saga_id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    if tenant.as_ref() == Some(limit) {
        Ok(())
    } else {
        Err(Error::NotFound(id).into())
    }
}

/// An operator-facing error (status, code, detail), sent as an RFC 9457 problem
/// ([`sagaflow_problem::Problem`], `application/problem+json`).
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        sagaflow_problem::Problem::new(self.0, self.1, self.2).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound(id) => ApiError(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("saga {id} not found"),
            ),
            Error::Rejected(reason) => {
                ApiError(StatusCode::CONFLICT, "rejected", reason.to_string())
            }
            Error::Conflict(_) => ApiError(
                StatusCode::CONFLICT,
                "conflict",
                "the saga changed meanwhile; try again".into(),
            ),
            other => {
                tracing::error!(error = %other, "operator API");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the orchestrator log".into(),
                )
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Error::Database(err).into()
    }
}

/// 503 while the broker's last probe failed or the database does not answer.
async fn ready(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    if !state.broker_health.is_serving() {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "broker: the last probe could not produce and consume a record".into(),
        ));
    }
    sqlx::query("SELECT 1")
        .execute(&state.pool)
        .await
        .map_err(|e| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("database: {e}"),
            )
        })?;
    Ok(Json(json!({"status": "ready"})))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    /// Only sagas with no progress for at least this many seconds.
    idle_secs: Option<i64>,
    definition: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<ApiState>,
    Extension(operator): Extension<Operator>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let filter = queries::Filter {
        status: q.status,
        idle_secs: q.idle_secs,
        definition: q.definition,
        limit: q.limit.unwrap_or(100),
    };
    let mut sagas = queries::list(&mut conn, &filter).await?;
    if let Some(limit) = &operator.tenant_id {
        sagas.retain(|saga| &saga.tenant_id == limit);
    }
    let counts: serde_json::Map<String, Value> = queries::status_counts(&mut conn)
        .await?
        .into_iter()
        .map(|(s, n)| (s, json!(n)))
        .collect();
    Ok(Json(json!({"sagas": sagas, "counts": counts})))
}

async fn versions(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let report = queries::version_report(&mut conn).await?;
    let deployed: Vec<Value> = state
        .definitions
        .iter()
        .map(|d| json!({"definition": d.name, "version": d.version}))
        .collect();
    Ok(Json(json!({"in_flight": report, "deployed": deployed})))
}

#[derive(Serialize)]
struct Entry {
    seq: i64,
    event: sagaflow_saga_engine::SagaEvent,
    /// The saga's state right after this entry.
    status: sagaflow_saga_engine::Status,
    completed: Vec<usize>,
    compensated: Vec<usize>,
}

async fn show(
    State(state): State<ApiState>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    in_scope(&state.pool, &operator, id).await?;
    let mut conn = state.pool.acquire().await?;
    let events = log::events(&mut conn, id).await?;
    if events.is_empty() {
        return Err(Error::NotFound(id).into());
    }
    let mut folded = None;
    let mut history = Vec::with_capacity(events.len());
    for (seq, event) in events {
        let next = evolve(folded.take(), &event);
        history.push(Entry {
            seq,
            status: next.status,
            completed: next.completed.clone(),
            compensated: next.compensated.clone(),
            event,
        });
        folded = Some(next);
    }
    Ok(Json(json!({"state": folded, "history": history})))
}

#[derive(Debug, Default, Deserialize)]
pub struct ActBody {
    reason: Option<String>,
}

async fn act(
    State(state): State<ApiState>,
    Extension(operator): Extension<Operator>,
    Path((id, action)): Path<(Uuid, String)>,
    body: Option<Json<ActBody>>,
) -> Result<Json<Value>, ApiError> {
    in_scope(&state.pool, &operator, id).await?;
    let reason = body
        .and_then(|Json(b)| b.reason)
        .unwrap_or_else(|| format!("operator {action}"));
    let input = match action.as_str() {
        "pause" => Input::Pause { reason },
        "resume" => Input::Resume,
        "retry" => Input::Retry,
        "abort" => Input::Abort { reason },
        other => {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                "unknown_action",
                format!("unknown action `{other}`: use pause, resume, retry or abort"),
            ));
        }
    };
    tracing::info!(operator = %operator.subject, saga_id = %id, %action, "operator action");
    let mut tx = state.pool.begin().await?;
    let applied = apply(&mut tx, &state.definitions, id, &input, None, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(
        json!({"saga_id": id, "status": applied.state.status, "paused": applied.state.paused, "appended": applied.appended}),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ParkedQuery {
    limit: Option<i64>,
}

/// Parked timers with their reasons, oldest first (a tenant-limited token sees
/// its tenant's only).
async fn parked(
    State(state): State<ApiState>,
    Extension(operator): Extension<Operator>,
    Query(q): Query<ParkedQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let parked = timeouts::list_parked(
        &mut conn,
        operator.tenant_id.as_deref(),
        q.limit.unwrap_or(100),
    )
    .await?;
    Ok(Json(json!({"parked": parked})))
}

/// Puts saga `id`'s parked timers back on the due list; the timer loop fires
/// them on its next round.
async fn unpark(
    State(state): State<ApiState>,
    Extension(operator): Extension<Operator>,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    in_scope(&state.pool, &operator, id).await?;
    let mut tx = state.pool.begin().await?;
    let unparked = timeouts::unpark(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(operator = %operator.subject, saga_id = %id, unparked, "operator unparked timers");
    timeouts::report_parked(&state.pool).await?;
    Ok(Json(json!({"saga_id": id, "unparked": unparked})))
}
