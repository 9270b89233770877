//! The web page, compiled into the binary from `services/gateway/web/`:
//! `GET /` is `index.html`, `GET /app/{file}` is `index.html`, `app.js` or
//! `style.css` (anything else 404). The page signs in with a bearer token of its
//! own and calls the `/v1` API on the same origin; the gateway's CSP
//! ([`crate::security`]) lets it run its own script and nothing else.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::ApiPath;
use crate::error::ApiError;

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const STYLE_CSS: &str = include_str!("../../web/style.css");

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files under `/app/`: name, content type, content.
pub const FILES: [(&str, &str, &str); 3] = [
    ("index.html", HTML, INDEX_HTML),
    ("app.js", JAVASCRIPT, APP_JS),
    ("style.css", CSS, STYLE_CSS),
];

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Small and built in: revalidate rather than serve a stale page
            // after an upgrade.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "get_web_page",
    tag = "web",
    responses((status = 200, description = "The web page", content_type = "text/html", body = String))
)]
pub async fn index() -> Response {
    file(HTML, INDEX_HTML)
}

/// `GET /app/{file}`.
#[utoipa::path(
    get,
    path = "/app/{file}",
    operation_id = "get_web_asset",
    tag = "web",
    params(("file" = String, Path, description = "index.html, app.js or style.css")),
    responses(
        (status = 200, description = "The file, with its content type", body = String),
        (status = 404, body = crate::error::ErrorBody),
    )
)]
pub async fn asset(ApiPath(name): ApiPath<String>) -> Result<Response, ApiError> {
    FILES
        .iter()
        .find(|(file_name, _, _)| *file_name == name)
        .map(|(_, content_type, body)| file(content_type, body))
        .ok_or(ApiError::NotFound)
}
