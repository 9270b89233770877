//! The operator API: find sagas by status and age, read a saga's log with its state
//! after every entry, and act on a saga (pause, resume, retry the current step,
//! abort = compensate).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use sagaflow_saga_engine::{Input, evolve};
use sagaflow_saga_store::{Definitions, Error, apply, log, queries};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone)]
pub struct ApiState {
    pub pool: PgPool,
    pub definitions: Arc<Definitions>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/sagas", get(list))
        .route("/sagas/versions", get(versions))
        .route("/sagas/{id}", get(show))
        .route("/sagas/{id}/{action}", post(act))
        .with_state(state)
}

/// An operator-facing error: `{"error": {"code", "message"}}`.
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(json!({"error": {"code": self.1, "message": self.2}})),
        )
            .into_response()
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

async fn ready(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
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
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let filter = queries::Filter {
        status: q.status,
        idle_secs: q.idle_secs,
        definition: q.definition,
        limit: q.limit.unwrap_or(100),
    };
    let sagas = queries::list(&mut conn, &filter).await?;
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
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
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
    Path((id, action)): Path<(Uuid, String)>,
    body: Option<Json<ActBody>>,
) -> Result<Json<Value>, ApiError> {
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
    let mut tx = state.pool.begin().await?;
    let applied = apply(&mut tx, &state.definitions, id, &input, None, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(
        json!({"saga_id": id, "status": applied.state.status, "paused": applied.state.paused, "appended": applied.appended}),
    ))
}
