//! [`Rejection`]: a refused caller, as an RFC 9457 problem
//! ([`sagaflow_problem::Problem`], `application/problem+json`) with 401 (code
//! `unauthenticated`: no or a bad token, and `WWW-Authenticate: Bearer`) or 403
//! (code `forbidden`: a valid token lacking a role).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sagaflow_problem::Problem;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub message: String,
}

impl Rejection {
    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Rejection {
    /// The problem sent: `unauthenticated` (401, with `WWW-Authenticate: Bearer`)
    /// or `forbidden` (403).
    pub fn problem(&self) -> Problem {
        if self.status == StatusCode::UNAUTHORIZED {
            Problem::unauthenticated(self.message.clone())
        } else if self.status == StatusCode::FORBIDDEN {
            Problem::forbidden(self.message.clone())
        } else {
            Problem::new(self.status, "rejected", self.message.clone())
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    async fn parts(rejection: Rejection) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = rejection.into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_401_is_an_unauthenticated_problem_with_a_challenge() {
        let (status, headers, body) =
            parts(Rejection::unauthorized("a bearer token is required")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            sagaflow_problem::CONTENT_TYPE
        );
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(
            body,
            json!({
                "type": "urn:sagaflow:problem:unauthenticated",
                "title": "Unauthorized",
                "status": 401,
                "detail": "a bearer token is required",
                "code": "unauthenticated",
            })
        );
    }

    #[tokio::test]
    async fn a_403_is_a_forbidden_problem() {
        let (status, headers, body) =
            parts(Rejection::forbidden("the operator role is required")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            headers[header::CONTENT_TYPE],
            sagaflow_problem::CONTENT_TYPE
        );
        assert!(headers.get(header::WWW_AUTHENTICATE).is_none());
        assert_eq!(body["code"], "forbidden");
        assert_eq!(body["type"], "urn:sagaflow:problem:forbidden");
        assert_eq!(body["detail"], "the operator role is required");
    }
}
