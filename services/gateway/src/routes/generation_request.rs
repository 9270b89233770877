//! The body of `POST /v1/generations`, checked field by field so that every
//! rejection names the field. Syntax errors and a body that is not a JSON object
//! are 400; a missing, mistyped or out-of-range field is 422. Unknown fields are
//! ignored.

use sagaflow_events::messages::DocumentKind;
use serde::Serialize;
use serde_json::{Map, Value};

use super::checkout_request::{integer, required};
use crate::error::ApiError;

/// Bounds of the request.
pub mod limits {
    pub const MAX_CV_CHARS: usize = 20_000;
    pub const MIN_JOB_DESCRIPTION_CHARS: usize = 50;
    pub const MAX_JOB_DESCRIPTION_CHARS: usize = 20_000;
    pub const MAX_TEMPLATE_CHARS: usize = 5_000;
    pub const MAX_TOKEN_BUDGET: i64 = 100_000;
    pub const DEFAULT_TOKEN_BUDGET: i64 = 4_000;
}

/// What to write, in the API's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CoverLetter,
    Resume,
    InterviewPrep,
}

impl Kind {
    /// The API spelling (`cover_letter`, `resume`, `interview_prep`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CoverLetter => "cover_letter",
            Kind::Resume => "resume",
            Kind::InterviewPrep => "interview_prep",
        }
    }

    /// The wire enum.
    pub fn document_kind(self) -> DocumentKind {
        match self {
            Kind::CoverLetter => DocumentKind::CoverLetter,
            Kind::Resume => DocumentKind::Resume,
            Kind::InterviewPrep => DocumentKind::InterviewPrep,
        }
    }
}

/// A valid generation request. Its JSON form (with the default token budget
/// filled in) is the normalised request the idempotency fingerprint is computed
/// over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GenerationRequest {
    pub kind: Kind,
    /// The CV; give this or `cv_version`, not both.
    #[schema(required = false)]
    pub cv_text: String,
    /// A stored CV version (`GET /v1/profile/cv`) instead of `cv_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub cv_version: Option<i64>,
    pub job_description: String,
    pub template: Option<String>,
    /// LLM tokens this generation may spend (1 to 100000, default 4000).
    #[schema(required = false, minimum = 1, maximum = 100_000, default = 4000)]
    pub token_budget: i64,
}

impl GenerationRequest {
    /// Parses and validates a raw body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|err| ApiError::MalformedJson(err.to_string()))?;
        let Value::Object(object) = value else {
            return Err(ApiError::MalformedJson("expected a JSON object".to_owned()));
        };
        Self::from_object(&object)
    }

    fn from_object(object: &Map<String, Value>) -> Result<Self, ApiError> {
        let kind = match required(object, "kind")?.as_str() {
            Some("cover_letter") => Kind::CoverLetter,
            Some("resume") => Kind::Resume,
            Some("interview_prep") => Kind::InterviewPrep,
            _ => {
                return Err(ApiError::validation(
                    "kind",
                    "must be \"cover_letter\", \"resume\" or \"interview_prep\"",
                ));
            }
        };
        let (cv_text, cv_version) = match (object.get("cv_text"), object.get("cv_version")) {
            (Some(text), None | Some(Value::Null)) => {
                (long_text(text, "cv_text", 1, limits::MAX_CV_CHARS)?, None)
            }
            (None | Some(Value::Null), Some(version)) => (
                String::new(),
                Some(integer(version, "cv_version", 1, i64::from(i32::MAX))?),
            ),
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(
                    "cv_version",
                    "give cv_text or cv_version, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::validation(
                    "cv_text",
                    "is required (or cv_version: a stored CV, see GET /v1/profile/cv)",
                ));
            }
        };
        let job_description = long_text(
            required(object, "job_description")?,
            "job_description",
            limits::MIN_JOB_DESCRIPTION_CHARS,
            limits::MAX_JOB_DESCRIPTION_CHARS,
        )?;
        let template = match object.get("template") {
            None | Some(Value::Null) => None,
            Some(value) => Some(long_text(value, "template", 1, limits::MAX_TEMPLATE_CHARS)?),
        };
        let token_budget = match object.get("token_budget") {
            None | Some(Value::Null) => limits::DEFAULT_TOKEN_BUDGET,
            Some(value) => integer(value, "token_budget", 1, limits::MAX_TOKEN_BUDGET)?,
        };
        Ok(Self {
            kind,
            cv_text,
            cv_version,
            job_description,
            template,
            token_budget,
        })
    }
}

/// Free text of `min..=max` characters, not blank; line breaks and tabs are
/// allowed, other control characters are not.
fn long_text(value: &Value, field: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let Value::String(s) = value else {
        return Err(ApiError::validation(field, "must be a string"));
    };
    let chars = s.chars().count();
    if chars < min || chars > max {
        return Err(ApiError::validation(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if s.trim().is_empty() {
        return Err(ApiError::validation(field, "must not be blank"));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::validation(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(s.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "kind": "cover_letter",
            "cv_text": "Ada Lovelace\nMathematician",
            "job_description": "We are hiring a senior Rust engineer to build event-driven systems.",
        })
    }

    fn field_of(body: Value) -> String {
        match GenerationRequest::parse(body.to_string().as_bytes()) {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_request_parses_with_defaults() {
        let request = GenerationRequest::parse(valid().to_string().as_bytes()).expect("valid");
        assert_eq!(request.kind, Kind::CoverLetter);
        assert_eq!(request.token_budget, limits::DEFAULT_TOKEN_BUDGET);
        assert_eq!(request.template, None);
        assert_eq!(request.cv_text, "Ada Lovelace\nMathematician");
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, Value)> = vec![
            ("kind", json!({ "kind": "poem" })),
            ("kind", json!({ "kind": "COVER_LETTER" })),
            ("kind", json!({ "kind": null })),
            ("cv_text", json!({ "cv_text": "" })),
            ("cv_text", json!({ "cv_text": "   " })),
            ("cv_text", json!({ "cv_text": "x".repeat(20_001) })),
            ("cv_text", json!({ "cv_text": "bell\u{7}" })),
            ("cv_text", json!({ "cv_text": 5 })),
            (
                "job_description",
                json!({ "job_description": "x".repeat(49) }),
            ),
            (
                "job_description",
                json!({ "job_description": "x".repeat(20_001) }),
            ),
            ("template", json!({ "template": "" })),
            ("template", json!({ "template": "x".repeat(5_001) })),
            ("token_budget", json!({ "token_budget": 0 })),
            ("token_budget", json!({ "token_budget": 100_001 })),
            ("token_budget", json!({ "token_budget": 1.5 })),
            ("token_budget", json!({ "token_budget": "10" })),
        ];
        for (expected, patch) in cases {
            let mut body = valid();
            for (k, v) in patch.as_object().expect("object") {
                body[k] = v.clone();
            }
            assert_eq!(field_of(body.clone()), expected, "{patch}");
        }
        let mut body = valid();
        body.as_object_mut().map(|o| o.remove("job_description"));
        assert_eq!(field_of(body), "job_description");
    }

    #[test]
    fn a_stored_cv_version_replaces_the_text_but_not_both() {
        let mut body = valid();
        body.as_object_mut().map(|o| o.remove("cv_text"));
        body["cv_version"] = json!(3);
        let request = GenerationRequest::parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(
            (request.cv_version, request.cv_text.as_str()),
            (Some(3), "")
        );
        body["cv_version"] = json!(0);
        assert_eq!(field_of(body.clone()), "cv_version");
        body["cv_version"] = json!(2);
        body["cv_text"] = json!("Ada");
        assert_eq!(field_of(body.clone()), "cv_version");
        body.as_object_mut().map(|o| o.remove("cv_version"));
        body.as_object_mut().map(|o| o.remove("cv_text"));
        assert_eq!(field_of(body), "cv_text");
    }

    #[test]
    fn bounds_are_inclusive() {
        let mut body = valid();
        body["kind"] = json!("resume");
        body["cv_text"] = json!("é".repeat(20_000));
        body["job_description"] = json!("x".repeat(50));
        body["template"] = json!("t".repeat(5_000));
        body["token_budget"] = json!(100_000);
        let request = GenerationRequest::parse(body.to_string().as_bytes()).expect("valid");
        assert_eq!(request.kind, Kind::Resume);
        assert_eq!(request.token_budget, 100_000);
        body["token_budget"] = json!(1);
        assert!(GenerationRequest::parse(body.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn syntax_errors_and_non_objects_are_malformed() {
        for body in [&b"{"[..], b"[]", b"\"x\"", b""] {
            assert!(matches!(
                GenerationRequest::parse(body),
                Err(ApiError::MalformedJson(_))
            ));
        }
    }
}
