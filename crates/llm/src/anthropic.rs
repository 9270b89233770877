//! Anthropic Messages adapter (`POST {base}/v1/messages`, non-streaming).

use serde_json::json;

use crate::provider::{CallError, Output, send_json, token_count, with_idempotency_key};
use crate::request::{CompletionRequest, estimate_tokens};
use crate::secret::Secret;

/// Value of the `anthropic-version` header.
pub(crate) const API_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub(crate) struct Anthropic {
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
}

impl Anthropic {
    pub(crate) async fn call(
        &self,
        client: &reqwest::Client,
        request: &CompletionRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Output, CallError> {
        let mut body = json!({
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "messages": [{"role": "user", "content": request.prompt}],
        });
        if !request.system.is_empty() {
            body["system"] = json!(request.system);
        }
        let builder = client
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", self.api_key.expose())
            .header("anthropic-version", API_VERSION)
            .json(&body);
        let builder = with_idempotency_key(builder, idempotency_key);
        let response = send_json(builder, &self.api_key).await?;
        let text = response
            .get("content")
            .and_then(serde_json::Value::as_array)
            .and_then(|blocks| {
                blocks
                    .iter()
                    .find(|b| b.get("type").and_then(serde_json::Value::as_str) == Some("text"))
            })
            .and_then(|b| b.get("text"))
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| CallError::permanent("malformed response body: no text content block"))?
            .to_owned();
        let model = response
            .get("model")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(&self.model)
            .to_owned();
        Ok(Output {
            input_tokens: token_count(&response, "/usage/input_tokens").unwrap_or_else(|| {
                estimate_tokens(&request.system).saturating_add(estimate_tokens(&request.prompt))
            }),
            output_tokens: token_count(&response, "/usage/output_tokens")
                .unwrap_or_else(|| estimate_tokens(&text)),
            text,
            model,
        })
    }
}
