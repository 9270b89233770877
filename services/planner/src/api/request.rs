//! Reading a request: the caller's identity (from the internal token), the trace
//! from headers, and the body
//! of `POST /v1/assistant/intents` (`{"text": string, "dry_run": bool?}`; unknown
//! fields ignored).

use axum::http::HeaderMap;
use sagaflow_bus::traceparent::TraceParent;
use sagaflow_service_auth::InternalCaller;
use serde_json::Value;

use super::error::ApiError;
use crate::caller::Caller;
use crate::intent::MAX_TEXT_CHARS;

/// Longest request id accepted.
const MAX_ID_CHARS: usize = 200;

/// The caller: the tenant and user of the gateway's internal token (verified by
/// `sagaflow_service_auth::internal::guard`); `x-tenant-id` / `x-user-id` headers
/// are not trusted.
pub fn caller(internal: &InternalCaller) -> Result<Caller, ApiError> {
    Ok(Caller {
        tenant_id: internal.tenant_id.clone(),
        user_id: internal.user_id.clone(),
    })
}

fn invalid(header: &'static str, reason: &str) -> ApiError {
    ApiError::InvalidHeader {
        header,
        reason: reason.to_owned(),
    }
}

/// The request id and trace context, when given (a malformed traceparent is
/// dropped: the plan then starts its own trace).
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
}

pub fn meta(headers: &HeaderMap) -> Result<Meta, ApiError> {
    let request_id = match headers.get("x-request-id") {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| invalid("x-request-id", "not visible ASCII"))?
                .trim();
            if value.is_empty() || value.len() > MAX_ID_CHARS {
                return Err(invalid("x-request-id", "must be 1 to 200 characters"));
            }
            Some(value.to_owned())
        }
    };
    let traceparent = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
        .map(|t| t.to_string());
    Ok(Meta {
        request_id,
        traceparent,
    })
}

/// The body of `POST /v1/assistant/intents`.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentRequest {
    pub text: String,
    pub dry_run: bool,
}

impl IntentRequest {
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(ApiError::MalformedJson("expected a JSON object".to_owned()));
        };
        let text = match object.get("text") {
            None | Some(Value::Null) => return Err(ApiError::field("text", "is required")),
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(_) => return Err(ApiError::field("text", "must be a string")),
        };
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_TEXT_CHARS {
            return Err(ApiError::field(
                "text",
                format!("must be 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
        let dry_run = match object.get("dry_run") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(ApiError::field("dry_run", "must be a boolean")),
        };
        Ok(Self { text, dry_run })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_checked_field_by_field() {
        let ok = IntentRequest::parse(br#"{"text":" Buy 2 of SKU-1 ","dry_run":true,"x":1}"#)
            .expect("valid");
        assert_eq!((ok.text.as_str(), ok.dry_run), ("Buy 2 of SKU-1", true));
        for (body, field) in [
            (&br#"{}"#[..], Some("text")),
            (br#"{"text":"  "}"#, Some("text")),
            (br#"{"text":7}"#, Some("text")),
            (br#"{"text":"hi","dry_run":"yes"}"#, Some("dry_run")),
            (br#"[1]"#, None),
            (b"{", None),
        ] {
            match IntentRequest::parse(body) {
                Err(ApiError::Validation { field: got, .. }) => {
                    assert_eq!(Some(got.as_str()), field);
                }
                Err(ApiError::MalformedJson(_)) => assert_eq!(field, None),
                other => panic!("{other:?}"),
            }
        }
    }
}
