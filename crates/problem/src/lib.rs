//! The one error body of every Sagaflow HTTP service: an [RFC 9457] problem details
//! object, sent as `Content-Type: application/problem+json`.
//!
//! ```json
//! {"type":"urn:sagaflow:problem:validation_failed","title":"Unprocessable Content",
//!  "status":422,"detail":"items[0].quantity: must be between 1 and 100",
//!  "code":"validation_failed","field":"items[0].quantity","request_id":"…"}
//! ```
//!
//! - `type` is `urn:sagaflow:problem:<code>` ([`TYPE_PREFIX`]);
//! - `title` is the status's reason phrase as RFC 9110 names it ([`title`]);
//! - `status` repeats the HTTP status;
//! - `detail` says what went wrong and what to do about it. Internal errors hide
//!   their cause behind [`INTERNAL_DETAIL`] (the service logs it);
//! - the extension member `code` is the stable snake_case code clients branch on
//!   (`not_found`, `validation_failed`, `unauthenticated`, `internal`, ...);
//! - `field` names the header, path segment, query parameter or body field at fault,
//!   only when one is;
//! - `request_id` is the request's `X-Request-Id`, when the service knows one.
//!
//! # Using it
//!
//! A service keeps its own error enum (its variants and codes) and converts into a
//! [`Problem`] in its `IntoResponse`:
//!
//! ```
//! use axum::http::StatusCode;
//! use axum::response::{IntoResponse, Response};
//! use sagaflow_problem::Problem;
//!
//! enum MyError { NotFound, BadQuantity(String), Database(String) }
//!
//! impl IntoResponse for MyError {
//!     fn into_response(self) -> Response {
//!         match self {
//!             MyError::NotFound => Problem::not_found("no such order"),
//!             MyError::BadQuantity(why) => Problem::validation("quantity", why),
//!             MyError::Database(_cause) => Problem::internal(), // log the cause first
//!         }
//!         .into_response()
//!     }
//! }
//! # let _ = Problem::new(StatusCode::CONFLICT, "conflict", "already paid");
//! ```
//!
//! Headers a status needs travel with the problem: [`Problem::with_header`]
//! (`WWW-Authenticate` on a 401, `Retry-After` on a 429 or 503) are kept by
//! [`IntoResponse`]. Clients and tests read one back with `serde_json` (the headers
//! are not part of the body).
//!
//! [RFC 9457]: https://www.rfc-editor.org/rfc/rfc9457

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The media type of every error body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The prefix of `type`: `urn:sagaflow:problem:<code>`.
pub const TYPE_PREFIX: &str = "urn:sagaflow:problem:";

/// The `detail` of every internal error (its cause is logged, never sent).
pub const INTERNAL_DETAIL: &str = "internal error; quote the request_id when reporting it";

/// The `title` of `status`: its reason phrase as RFC 9110 names it ("Unprocessable
/// Content", "Content Too Large"), or "Unknown Status" for a code without one.
pub fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        _ => status.canonical_reason().unwrap_or("Unknown Status"),
    }
}

/// The `type` URI of `code`.
pub fn type_uri(code: &str) -> String {
    format!("{TYPE_PREFIX}{code}")
}

/// Whether a `Content-Type` is the problem media type (parameters allowed).
pub fn is_problem_content_type(value: &HeaderValue) -> bool {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

/// An RFC 9457 problem details object (see the [crate] guide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({
        "type": "urn:sagaflow:problem:validation_failed",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "items[0].quantity: must be between 1 and 100",
        "code": "validation_failed",
        "field": "items[0].quantity",
        "request_id": "0195c3a4-5f0e-7b1c-9d2e-3f4a5b6c7d8e"
    }))
)]
pub struct Problem {
    /// `urn:sagaflow:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to do about it, for people.
    pub detail: String,
    /// Stable machine-readable code (`validation_failed`, `unauthenticated`, ...).
    pub code: String,
    /// The header, path segment, query parameter or body field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request's `X-Request-Id`, to quote when reporting a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Headers sent with the response (not part of the body).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    headers: HeaderMap,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            type_uri: type_uri(&code),
            title: title(status).to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            request_id: None,
            headers: HeaderMap::new(),
        }
    }

    /// 500 `internal`, its cause hidden ([`INTERNAL_DETAIL`]). Log the cause first.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            INTERNAL_DETAIL,
        )
    }

    /// 400 with `code`.
    pub fn bad_request(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 422 `validation_failed` naming `field`; `detail` is `<field>: <message>`.
    pub fn validation(field: impl Into<String>, message: impl AsRef<str>) -> Self {
        let field = field.into();
        let detail = format!("{field}: {}", message.as_ref());
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            detail,
        )
        .with_field(field)
    }

    /// 401 `unauthenticated`, with `WWW-Authenticate: Bearer`.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 409 `conflict`.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    /// 503 `unavailable`.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// Names the header, path segment, query parameter or body field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets `request_id` (`None` leaves it out).
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<impl Into<String>>) -> Self {
        self.request_id = request_id.map(Into::into);
        self
    }

    /// Adds a header to the response (replacing one of the same name).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The HTTP status (500 if `status` is not a valid one).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The headers added with [`Problem::with_header`].
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // A struct of strings and an integer always serialises.
        let Ok(body) = serde_json::to_vec(&self) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let mut response = (self.status_code(), body).into_response();
        let headers = response.headers_mut();
        headers.extend(self.headers);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    #[test]
    fn the_json_shape_is_rfc_9457_with_the_sagaflow_extensions() {
        let problem = Problem::validation("items[0].quantity", "must be between 1 and 100")
            .with_request_id(Some("req-1"));
        assert_eq!(
            serde_json::to_value(&problem).unwrap(),
            json!({
                "type": "urn:sagaflow:problem:validation_failed",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "items[0].quantity: must be between 1 and 100",
                "code": "validation_failed",
                "field": "items[0].quantity",
                "request_id": "req-1",
            })
        );
    }

    #[test]
    fn absent_field_and_request_id_are_left_out_and_read_back() {
        let problem = Problem::not_found("no such order");
        let value = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "urn:sagaflow:problem:not_found",
                "title": "Not Found",
                "status": 404,
                "detail": "no such order",
                "code": "not_found",
            })
        );
        let back: Problem = serde_json::from_value(value).unwrap();
        assert_eq!(back, problem);
    }

    #[test]
    fn internal_hides_its_cause() {
        let problem = Problem::internal();
        assert_eq!(problem.status, 500);
        assert_eq!(problem.code, "internal");
        assert_eq!(problem.detail, INTERNAL_DETAIL);
        assert_eq!(problem.title, "Internal Server Error");
    }

    #[tokio::test]
    async fn the_response_has_the_problem_content_type_and_keeps_added_headers() {
        let response = Problem::unauthenticated("a bearer token is required").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert!(is_problem_content_type(
            &response.headers()[header::CONTENT_TYPE]
        ));

        let retry = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            .with_header(header::RETRY_AFTER, HeaderValue::from(5u64))
            .into_response();
        assert_eq!(retry.headers()[header::RETRY_AFTER], "5");

        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "unauthenticated");
        assert_eq!(body["type"], "urn:sagaflow:problem:unauthenticated");
        assert_eq!(body["title"], "Unauthorized");
        assert_eq!(body["detail"], "a bearer token is required");
    }

    #[test]
    fn the_content_type_check_allows_parameters() {
        assert!(is_problem_content_type(&HeaderValue::from_static(
            "application/problem+json; charset=utf-8"
        )));
        assert!(!is_problem_content_type(&HeaderValue::from_static(
            "application/json"
        )));
    }
}
