//! Fake provider servers and shared fixtures.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::response::Response;
use sagaflow_llm::{CompletionRequest, DocumentFacts, Secret, Settings};

pub const OPENAI_KEY: &str = "sk-test-openai-5ecret";
pub const ANTHROPIC_KEY: &str = "sk-ant-test-5ecret";

pub const OPENAI_OK: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",
 "choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fake OpenAI"},"finish_reason":"stop"}],
 "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#;

pub const ANTHROPIC_OK: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
 "content":[{"type":"text","text":"Hello from the fake Anthropic"}],"stop_reason":"end_turn",
 "usage":{"input_tokens":10,"output_tokens":4}}"#;

/// A running fake server: its base URL, hit counter and the requests it saw.
pub struct Fake {
    pub base: String,
    hits: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Fake {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<(HeaderMap, String)> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Serves `POST path`; `behave(n)` answers the n-th hit (1-based).
pub async fn fake<F, Fut>(path: &str, behave: F) -> Fake
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (h, s) = (hits.clone(), seen.clone());
    let handler = move |headers: HeaderMap, body: String| {
        let n = h.fetch_add(1, Ordering::SeqCst) + 1;
        s.lock().expect("lock").push((headers, body));
        let behave = behave.clone();
        async move { behave(n).await }
    };
    let app = axum::Router::new().route(path, axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    Fake {
        base: format!("http://{addr}"),
        hits,
        seen,
    }
}

pub fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
        .body(axum::body::Body::from(body.to_owned()))
        .expect("response")
}

pub fn openai_settings(fake: &Fake) -> Settings {
    Settings {
        providers: "openai".into(),
        openai_base_url: format!("{}/v1", fake.base),
        openai_api_key: Some(Secret::new(OPENAI_KEY)),
        timeout_ms: 2_000,
        max_retries: 2,
        ..Settings::default()
    }
}

pub fn anthropic_settings(fake: &Fake) -> Settings {
    Settings {
        providers: "anthropic".into(),
        anthropic_base_url: fake.base.clone(),
        anthropic_api_key: Some(Secret::new(ANTHROPIC_KEY)),
        timeout_ms: 2_000,
        max_retries: 2,
        ..Settings::default()
    }
}

pub fn facts() -> DocumentFacts {
    DocumentFacts {
        kind: "cover_letter".into(),
        candidate_name: "Ada Lovelace".into(),
        job_title: "Backend Engineer".into(),
        company: "Acme Robotics".into(),
        matched_skills: vec!["Rust".into(), "PostgreSQL".into(), "Kafka".into()],
        keywords: vec!["event sourcing".into(), "observability".into()],
        highlights: vec![
            "Cut checkout latency by 40% by moving payment calls off the request path".into(),
            "Ran the on-call rotation for a saga orchestrator handling 2M orders a day".into(),
        ],
        feedback: None,
    }
}

pub fn request() -> CompletionRequest {
    CompletionRequest {
        system: "You write cover letters.".into(),
        prompt: "Write a cover letter for Ada.".into(),
        max_tokens: 300,
        temperature: 0.2,
        facts: facts(),
    }
}
