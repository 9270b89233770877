//! OpenAI-compatible Chat Completions adapter (`POST {base}/chat/completions`, non-streaming).
//!
//! Works with OpenAI and with compatible servers (Groq, vLLM, Ollama, llama.cpp) by base URL.

use serde_json::json;

use crate::provider::{CallError, Output, send_json, token_count, with_idempotency_key};
use crate::request::{CompletionRequest, estimate_tokens};
use crate::secret::Secret;

#[derive(Debug)]
pub(crate) struct OpenAi {
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
}

impl OpenAi {
    pub(crate) async fn call(
        &self,
        client: &reqwest::Client,
        request: &CompletionRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Output, CallError> {
        let mut messages = Vec::with_capacity(2);
        if !request.system.is_empty() {
            messages.push(json!({"role": "system", "content": request.system}));
        }
        messages.push(json!({"role": "user", "content": request.prompt}));
        let body = json!({
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        });
        let builder = client
            .post(format!("{}/chat/completions", self.base_url))
            .bearer_auth(self.api_key.expose())
            .json(&body);
        let builder = with_idempotency_key(builder, idempotency_key);
        let response = send_json(builder, &self.api_key).await?;
        let text = response
            .pointer("/choices/0/message/content")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                CallError::permanent("malformed response body: no choices[0].message.content")
            })?
            .to_owned();
        let model = response
            .get("model")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(&self.model)
            .to_owned();
        Ok(Output {
            input_tokens: token_count(&response, "/usage/prompt_tokens").unwrap_or_else(|| {
                estimate_tokens(&request.system).saturating_add(estimate_tokens(&request.prompt))
            }),
            output_tokens: token_count(&response, "/usage/completion_tokens")
                .unwrap_or_else(|| estimate_tokens(&text)),
            text,
            model,
        })
    }
}
