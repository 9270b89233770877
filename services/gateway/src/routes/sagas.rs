//! Sagas as the gateway sees them (checkouts and generations it started, or saw
//! another producer start, and after-sale changes of orders, see
//! [`crate::projection`]):
//!
//! - `GET /v1/sagas` ([`list`]): the caller's sagas, newest first, filtered by
//!   `status` and `definition` (`checkout` | `generation` | `order_cancellation` |
//!   `order_refund`), `limit` per page
//!   (1..=100, default 20) and `cursor` (the `next_cursor` of the previous page).
//!   Saga ids are UUIDv7, so id order is creation order and the cursor is the last
//!   id shown.
//! - `GET /v1/sagas/{id}/events` ([`events`]): the projected saga log (it may
//!   hold e-mail addresses, payment methods, CV text). Readable by the saga's
//!   owner (same tenant **and** user, from the `checkouts`, `generations` and
//!   `order_changes` tables, which also hold the sagas started elsewhere) and by a caller with the
//!   `operator` role in the saga's tenant; anyone else gets 404, as for a saga that
//!   does not exist.
//! - `GET /v1/sagas/{id}/stream` ([`stream`]): that log as server-sent events
//!   while it grows, for the saga's owner (tenant and user), ending with an `end`
//!   event `{saga_id, definition, status, order_id | document_id | refund_id}`.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ApiPath, Caller, path_id, progress};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::projection::Owner;

/// Default and largest page of `GET /v1/sagas`.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// Longest `status` filter.
const MAX_STATUS_CHARS: usize = 32;

/// One projected saga log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    pub seq: i64,
    pub kind: String,
    pub step: Option<String>,
    pub status: String,
    pub detail: Value,
    pub at: DateTime<Utc>,
}

/// The body of `GET /v1/sagas/{id}/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SagaEvents {
    pub saga_id: Uuid,
    pub events: Vec<Event>,
}

/// `GET /v1/sagas/{id}/events`.
#[utoipa::path(
    get,
    path = "/v1/sagas/{id}/events",
    operation_id = "get_saga_events",
    tag = "sagas",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The saga id (= checkout or generation id)")),
    responses(
        (status = 200, body = SagaEvents),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SagaEvents>, ApiError> {
    let saga_id = path_id("id", &id)?;
    // $4: an operator reads every saga of the tenant; anyone else only their own.
    let visible: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM checkouts WHERE checkout_id = $1 AND tenant_id = $2
                          AND ($4 OR user_id = $3))
             OR EXISTS (SELECT 1 FROM generations WHERE generation_id = $1 AND tenant_id = $2
                          AND ($4 OR user_id = $3))
             OR EXISTS (SELECT 1 FROM order_changes WHERE saga_id = $1 AND tenant_id = $2
                          AND ($4 OR user_id = $3))",
    )
    .bind(saga_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(caller.is_operator())
    .fetch_one(&state.pool)
    .await?;
    if !visible {
        return Err(ApiError::NotFound);
    }
    if caller.is_operator() {
        tracing::info!(%saga_id, operator = %caller.user_id, tenant = %caller.tenant_id, "saga log read");
    }
    let events = sqlx::query(
        "SELECT seq, kind, step, status, detail, at FROM saga_progress
         WHERE saga_id = $1 ORDER BY seq",
    )
    .bind(saga_id)
    .fetch_all(&state.pool)
    .await?
    .iter()
    .map(|row| {
        Ok(Event {
            seq: row.try_get("seq")?,
            kind: row.try_get("kind")?,
            step: row.try_get("step")?,
            status: row.try_get("status")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(SagaEvents { saga_id, events }))
}

/// The saga `saga_id` if the caller owns it: its table and the data of its
/// stream's `end` event.
async fn owned(
    state: &AppState,
    caller: &Caller,
    saga_id: Uuid,
) -> Result<(Owner, progress::EndEvent), ApiError> {
    let definition: Option<String> = sqlx::query_scalar(
        "SELECT 'checkout' FROM checkouts WHERE checkout_id = $1 AND tenant_id = $2 AND user_id = $3
         UNION ALL
         SELECT 'generation' FROM generations
         WHERE generation_id = $1 AND tenant_id = $2 AND user_id = $3
         UNION ALL
         SELECT 'order_' || kind FROM order_changes
         WHERE saga_id = $1 AND tenant_id = $2 AND user_id = $3
         LIMIT 1",
    )
    .bind(saga_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_optional(&state.pool)
    .await?;
    let found: (Owner, progress::EndEvent) = match definition.as_deref() {
        Some("checkout") => (
            Owner::Checkout,
            |saga_id, status, order_id| json!({ "saga_id": saga_id, "definition": "checkout", "status": status, "order_id": order_id }),
        ),
        Some("generation") => (
            Owner::Generation,
            |saga_id, status, document_id| json!({ "saga_id": saga_id, "definition": "generation", "status": status, "document_id": document_id }),
        ),
        Some("order_cancellation") => (
            Owner::OrderChange,
            |saga_id, status, refund_id| json!({ "saga_id": saga_id, "definition": "order_cancellation", "status": status, "refund_id": refund_id }),
        ),
        Some("order_refund") => (
            Owner::OrderChange,
            |saga_id, status, refund_id| json!({ "saga_id": saga_id, "definition": "order_refund", "status": status, "refund_id": refund_id }),
        ),
        _ => return Err(ApiError::NotFound),
    };
    Ok(found)
}

/// `GET /v1/sagas/{id}/stream`.
#[utoipa::path(
    get,
    path = "/v1/sagas/{id}/stream",
    operation_id = "stream_saga",
    tag = "sagas",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The saga id (= checkout or generation id)"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq"),
    ),
    responses(
        (status = 200, description = "Server-sent events: one per progress row, then `end` (or `reconnect` at the stream's lifetime or the gateway's shutdown)", content_type = "text/event-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
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
    let saga_id = path_id("id", &id)?;
    let (owner, end) = owned(&state, &caller, saga_id).await?;
    let subscription = state
        .streams
        .open(&caller.tenant_id, &caller.user_id, saga_id)?;
    Ok(progress::stream(
        state.pool.clone(),
        subscription,
        owner,
        progress::last_event_id(&headers),
        end,
    ))
}

/// One saga of `GET /v1/sagas`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SagaSummary {
    pub saga_id: Uuid,
    /// `checkout`, `generation`, `order_cancellation` or `order_refund`.
    pub definition: String,
    pub status: String,
    /// The order (checkouts), document (generations) or payment refund (order
    /// changes), once there is one.
    pub result_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Value,
}

/// The body of `GET /v1/sagas`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SagaPage {
    pub items: Vec<SagaSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// The filters of `GET /v1/sagas`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<String>,
    pub definition: Option<String>,
    pub limit: i64,
    pub cursor: Option<Uuid>,
}

impl ListQuery {
    /// Checks the raw query parameters (unknown ones are ignored).
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, ApiError> {
        let invalid = |field: &'static str, message: &str| ApiError::InvalidQuery {
            field,
            message: message.to_owned(),
        };
        let status = match params.get("status") {
            None => None,
            Some(s)
                if (1..=MAX_STATUS_CHARS).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(invalid(
                    "status",
                    "must be a saga status (1 to 32 of a-z and _), e.g. running",
                ));
            }
        };
        let definition = match params.get("definition").map(String::as_str) {
            None => None,
            Some(d @ ("checkout" | "generation" | "order_cancellation" | "order_refund")) => {
                Some(d.to_owned())
            }
            Some(_) => {
                return Err(invalid(
                    "definition",
                    "must be checkout, generation, order_cancellation or order_refund",
                ));
            }
        };
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| invalid("limit", "must be a whole number from 1 to 100"))?,
        };
        let cursor = match params.get("cursor") {
            None => None,
            Some(c) => Some(
                Uuid::parse_str(c)
                    .map_err(|_| invalid("cursor", "must be the next_cursor of a page"))?,
            ),
        };
        Ok(Self {
            status,
            definition,
            limit,
            cursor,
        })
    }
}

/// `GET /v1/sagas`.
#[utoipa::path(
    get,
    path = "/v1/sagas",
    operation_id = "list_sagas",
    tag = "sagas",
    security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "Only sagas in this status (pending, running, completed, compensated, ...)"),
        ("definition" = Option<String>, Query, description = "checkout, generation, order_cancellation or order_refund"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<Uuid>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, body = SagaPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SagaPage>, ApiError> {
    let Query(params) = query.map_err(|_| ApiError::InvalidQuery {
        field: "query",
        message: "is not a valid query string".into(),
    })?;
    let query = ListQuery::parse(&params)?;
    let rows = sqlx::query(
        "SELECT * FROM (
             SELECT 'checkout' AS definition, checkout_id AS id, status, order_id AS result_id,
                    NULL::uuid AS order_id, created_at, updated_at
             FROM checkouts WHERE tenant_id = $1 AND user_id = $2
             UNION ALL
             SELECT 'generation', generation_id, status, document_id, NULL, created_at, updated_at
             FROM generations WHERE tenant_id = $1 AND user_id = $2
             UNION ALL
             SELECT 'order_' || kind, saga_id, status, refund_id, order_id, created_at, updated_at
             FROM order_changes WHERE tenant_id = $1 AND user_id = $2
         ) sagas
         WHERE ($3::text IS NULL OR status = $3)
           AND ($4::text IS NULL OR definition = $4)
           AND ($5::uuid IS NULL OR id < $5)
         ORDER BY id DESC
         LIMIT $6",
    )
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .bind(&query.status)
    .bind(&query.definition)
    .bind(query.cursor)
    .bind(query.limit + 1)
    .fetch_all(&state.pool)
    .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            let saga_id: Uuid = row.try_get("id")?;
            let definition: String = row.try_get("definition")?;
            let order_id: Option<Uuid> = row.try_get("order_id")?;
            let links = match (definition.as_str(), order_id) {
                ("generation", _) => super::generations::links(saga_id),
                (_, Some(order_id)) => super::orders::change_links(order_id, saga_id),
                _ => json!({
                    "self": format!("/v1/checkouts/{saga_id}"),
                    "events": format!("/v1/sagas/{saga_id}/events"),
                    "stream": format!("/v1/sagas/{saga_id}/stream"),
                }),
            };
            Ok(SagaSummary {
                saga_id,
                definition,
                status: row.try_get("status")?,
                result_id: row.try_get("result_id")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
                links,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|item| item.saga_id)
    } else {
        None
    };
    Ok(Json(SagaPage { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_filters_are_checked() {
        assert_eq!(
            ListQuery::parse(&params(&[])).expect("defaults"),
            ListQuery {
                status: None,
                definition: None,
                limit: DEFAULT_LIMIT,
                cursor: None
            }
        );
        let id = Uuid::now_v7();
        let full = ListQuery::parse(&params(&[
            ("status", "completed"),
            ("definition", "generation"),
            ("limit", "100"),
            ("cursor", &id.to_string()),
            ("ignored", "x"),
        ]))
        .expect("valid");
        assert_eq!(full.cursor, Some(id));
        assert_eq!(full.limit, 100);
        for (field, value) in [
            ("status", "DROP TABLE"),
            ("status", ""),
            ("definition", "order"),
            ("limit", "0"),
            ("limit", "101"),
            ("limit", "ten"),
            ("cursor", "nope"),
        ] {
            match ListQuery::parse(&params(&[(field, value)])) {
                Err(ApiError::InvalidQuery { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}={value}: {other:?}"),
            }
        }
    }
}
