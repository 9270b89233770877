//! A local OpenAI-compatible server that deduplicates by `Idempotency-Key` the way a
//! provider that supports it does: a repeated key gets the first answer again and is
//! not billed twice. It counts every request and every billed completion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use sagaflow_generation::{Generator, Settings};
use sagaflow_llm::{Chain, Secret};

/// What the server saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The `Idempotency-Key` of every request, in order (`None` when absent).
    pub requests: Vec<Option<String>>,
    /// Completions billed (a new key, or no key).
    pub billed: usize,
    /// The `max_tokens` of every request, in order.
    pub max_tokens: Vec<u64>,
}

/// A running fake provider.
pub struct FakeLlm {
    pub base: String,
    seen: Arc<Mutex<Seen>>,
}

/// Prompt and completion tokens of every answer.
pub const TOKENS: (i64, i64) = (120, 80);

impl FakeLlm {
    /// Serves `POST /v1/chat/completions`, answering after `latency`.
    pub async fn start(latency: Duration) -> anyhow::Result<Self> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let answers: Arc<Mutex<HashMap<String, serde_json::Value>>> = Arc::default();
        let state = (seen.clone(), answers);
        let handler = move |headers: HeaderMap, body: String| {
            let (seen, answers) = state.clone();
            async move {
                tokio::time::sleep(latency).await;
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let mut seen = seen.lock().expect("lock");
                seen.requests.push(key.clone());
                let mut answers = answers.lock().expect("lock");
                if let Some(answer) = key.as_ref().and_then(|k| answers.get(k)) {
                    return axum::Json(answer.clone());
                }
                seen.billed += 1;
                let prompt: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(max) = prompt["max_tokens"].as_u64() {
                    seen.max_tokens.push(max);
                }
                let content = format!(
                    "Dear Hiring Manager,\n\nAnswer {} to: {}\n\nKind regards,\nAda Lovelace",
                    seen.billed,
                    prompt["messages"][1]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .len()
                );
                let answer = serde_json::json!({
                    "model": "gpt-4o-mini",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": TOKENS.0, "completion_tokens": TOKENS.1},
                });
                if let Some(key) = key {
                    answers.insert(key, answer.clone());
                }
                axum::Json(answer)
            }
        };
        let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { base, seen })
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The LLM settings of a chain whose only online provider is this server.
    pub fn settings(base: &str) -> sagaflow_llm::Settings {
        sagaflow_llm::Settings {
            providers: "openai".into(),
            openai_base_url: format!("{base}/v1"),
            openai_api_key: Some(Secret::new("sk-test-fake")),
            timeout_ms: 10_000,
            max_retries: 0,
            ..sagaflow_llm::Settings::default()
        }
    }

    /// A generator whose chain calls this server first.
    pub fn generator(&self) -> anyhow::Result<Generator> {
        generator_for(&self.base)
    }
}

/// A generator whose chain calls the fake at `base` first.
pub fn generator_for(base: &str) -> anyhow::Result<Generator> {
    let settings = Settings {
        llm: FakeLlm::settings(base),
        ..Settings::default()
    };
    Ok(Generator::new(
        &settings,
        Chain::from_settings(&settings.llm)?,
    ))
}
