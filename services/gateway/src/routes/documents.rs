//! `GET /v1/documents/{id}/{format}`: a generated document (`md`, `html`, or a PDF:
//! `pdf` classic, `pdf-ats` plain for applicant tracking systems, `pdf-modern`)
//! for its owner. The gateway checks ownership in its read model (the document of
//! one of the caller's generations), then streams the file from the generation
//! service, which owns the documents.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiPath, Caller, path_id};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};

const FORMATS: [&str; 5] = ["md", "html", "pdf", "pdf-ats", "pdf-modern"];

/// `GET /v1/documents/{id}/{format}`.
#[utoipa::path(
    get,
    path = "/v1/documents/{id}/{format}",
    operation_id = "download_document",
    tag = "generations",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "The document id (a generation's document_id)"),
        ("format" = String, Path, description = "md, html, pdf (classic layout), pdf-ats or pdf-modern"),
    ),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, format)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let document_id = path_id("id", &id)?;
    if !FORMATS.contains(&format.as_str()) {
        return Err(ApiError::validation(
            "format",
            format!(
                "unknown format `{format}`: use one of {}",
                FORMATS.join(", ")
            ),
        ));
    }
    let owned: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM generations
                        WHERE document_id = $1 AND tenant_id = $2 AND user_id = $3)",
    )
    .bind(document_id)
    .bind(&caller.tenant_id)
    .bind(&caller.user_id)
    .fetch_one(&state.pool)
    .await?;
    if !owned {
        return Err(ApiError::NotFound);
    }
    let upstream = crate::proxy::get_as(
        state.signer.as_ref(),
        &state.http,
        &state.settings,
        crate::proxy::Upstream::Generation,
        &caller,
        &format!("/documents/{document_id}/{format}"),
    )
    .await?;
    if upstream.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::NotFound);
    }
    if !upstream.status().is_success() {
        tracing::warn!(status = %upstream.status(), "generation service failed a download");
        return Err(ApiError::BadGateway("the generation service"));
    }
    let content_type = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let bytes = upstream.bytes().await.map_err(|err| {
        tracing::warn!(error = %err, "generation service download unreadable");
        ApiError::BadGateway("the generation service")
    })?;
    let disposition = format!("attachment; filename=\"{document_id}.{format}\"");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from(bytes),
    )
        .into_response())
}
