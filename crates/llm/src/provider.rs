//! [`Provider`]: the closed set of backends, and the HTTP plumbing they share.

use std::time::Duration;

use crate::anthropic::Anthropic;
use crate::openai::OpenAi;
use crate::request::{CompletionRequest, estimate_tokens};
use crate::secret::Secret;

/// Longest `Retry-After` honoured; larger values are capped to this.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// One backend of the chain.
#[derive(Debug)]
pub(crate) enum Provider {
    OpenAi(OpenAi),
    Anthropic(Anthropic),
    Offline,
}

/// What one successful HTTP call (or offline composition) produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Output {
    pub text: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// Why one try failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallError {
    pub transient: bool,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl CallError {
    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn transient(message: impl Into<String>) -> Self {
        Self {
            transient: true,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl Provider {
    /// Name used in attempts, metrics and health.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Provider::OpenAi(_) => "openai",
            Provider::Anthropic(_) => "anthropic",
            Provider::Offline => "offline",
        }
    }

    pub(crate) fn is_offline(&self) -> bool {
        matches!(self, Provider::Offline)
    }

    /// One try, no retries; online providers send `idempotency_key` as the
    /// `Idempotency-Key` header when given.
    pub(crate) async fn call(
        &self,
        client: &reqwest::Client,
        request: &CompletionRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Output, CallError> {
        match self {
            Provider::OpenAi(p) => p.call(client, request, idempotency_key).await,
            Provider::Anthropic(p) => p.call(client, request, idempotency_key).await,
            Provider::Offline => {
                let text = crate::offline::compose(&request.facts);
                Ok(Output {
                    input_tokens: estimate_tokens(&request.system)
                        .saturating_add(estimate_tokens(&request.prompt)),
                    output_tokens: estimate_tokens(&text),
                    text,
                    model: crate::offline::MODEL.to_owned(),
                })
            }
        }
    }
}

/// The header a provider deduplicates retried requests by.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// `builder` with the `Idempotency-Key` header when a key is given.
pub(crate) fn with_idempotency_key(
    builder: reqwest::RequestBuilder,
    key: Option<&str>,
) -> reqwest::RequestBuilder {
    match key {
        Some(key) => builder.header(IDEMPOTENCY_KEY, key),
        None => builder,
    }
}

/// Sends a prepared JSON POST and returns the parsed JSON body of a 2xx answer.
///
/// Classifies failures: timeouts, connection errors, 408, 429 and 5xx are transient (with
/// `Retry-After` seconds when given); other statuses and unparsable bodies are permanent.
/// `key` is redacted from anything echoed back by the server.
pub(crate) async fn send_json(
    builder: reqwest::RequestBuilder,
    key: &Secret,
) -> Result<serde_json::Value, CallError> {
    let response = builder.send().await.map_err(transport_error)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.text().await.map_err(transport_error)?;
    if status.is_success() {
        return serde_json::from_str(&body).map_err(|e| {
            CallError::permanent(format!("malformed response body: {}", e.classify_name()))
        });
    }
    let detail = error_detail(&body, key);
    let message = if detail.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {detail}", status.as_u16())
    };
    let transient = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
    Err(CallError {
        transient,
        message,
        retry_after: if transient { retry_after } else { None },
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "i/o error",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "unexpected JSON shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

fn transport_error(error: reqwest::Error) -> CallError {
    if error.is_timeout() {
        CallError::transient("timed out")
    } else if error.is_connect() {
        CallError::transient("connection failed")
    } else if error.is_builder() {
        CallError::permanent("could not build the request")
    } else {
        CallError::transient("request failed")
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

/// A short, key-free description of an error body: `error.message` when present, else a snippet.
fn error_detail(body: &str, key: &Secret) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.pointer("/message"))
        })
        .and_then(|m| m.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| body.trim().to_owned());
    let redacted = key.redact(&message);
    let mut snippet: String = redacted.chars().take(200).collect();
    if redacted.chars().count() > 200 {
        snippet.push('…');
    }
    snippet
}

/// Reads a `u32` token count at `pointer`, if present.
pub(crate) fn token_count(body: &serde_json::Value, pointer: &str) -> Option<u32> {
    body.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail_redacts_the_key() {
        let key = Secret::new("sk-abc");
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-abc"}}"#;
        assert_eq!(error_detail(body, &key), "Incorrect API key provided: ***");
    }

    #[test]
    fn retry_after_is_capped() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::RETRY_AFTER,
            "3600".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(reqwest::header::RETRY_AFTER, "2".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
    }
}
