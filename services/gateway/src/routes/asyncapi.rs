//! `GET /asyncapi.json`: the AsyncAPI 3.0.0 document of the Kafka contracts
//! (every topic, message, header and key; [`sagaflow_events::asyncapi`], also
//! committed as `docs/asyncapi.json`), for whoever produces to or consumes from
//! the platform's topics. Public, like `/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document as JSON, built once.
fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| sagaflow_events::asyncapi::document().to_string())
}

/// `GET /asyncapi.json`.
#[utoipa::path(
    get,
    path = "/asyncapi.json",
    operation_id = "get_asyncapi",
    tag = "web",
    responses((status = 200, description = "The AsyncAPI 3.0.0 document of every Kafka topic, message, header and key", content_type = "application/json", body = Object))
)]
pub async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}
