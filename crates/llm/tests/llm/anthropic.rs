//! Anthropic Messages adapter against a fake `/v1/messages`.

use sagaflow_llm::Chain;

use crate::common::*;

const PATH: &str = "/v1/messages";

#[tokio::test]
async fn success_sends_headers_and_body() {
    let fake = fake(PATH, |_| async { respond(200, &[], ANTHROPIC_OK) }).await;
    let chain = Chain::from_settings(&anthropic_settings(&fake)).expect("chain");
    assert_eq!(chain.providers(), vec!["anthropic", "offline"]);

    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.text, "Hello from the fake Anthropic");
    assert_eq!(c.provider, "anthropic");
    assert_eq!(c.model, "claude-3-5-haiku-20241022");
    assert_eq!((c.input_tokens, c.output_tokens), (10, 4));
    assert!(!c.offline);
    assert_eq!(c.cost_micros, (10.0f64 * 0.80 + 4.0 * 4.00).round() as i64);

    let seen = fake.seen();
    let (headers, body) = &seen[0];
    assert_eq!(headers.get("x-api-key").expect("x-api-key"), ANTHROPIC_KEY);
    assert_eq!(
        headers.get("anthropic-version").expect("version"),
        "2023-06-01"
    );
    assert!(headers.get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_str(body).expect("json body");
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    assert_eq!(body["system"], "You write cover letters.");
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(
        body["messages"][0]["content"],
        "Write a cover letter for Ada."
    );
    assert_eq!(body["messages"].as_array().expect("messages").len(), 1);
}

#[tokio::test]
async fn retries_overloaded_and_server_errors() {
    let fake = fake(PATH, |n| async move {
        match n {
            1 => respond(
                529,
                &[],
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ),
            2 => respond(
                500,
                &[],
                r#"{"type":"error","error":{"type":"api_error","message":"oops"}}"#,
            ),
            _ => respond(200, &[], ANTHROPIC_OK),
        }
    })
    .await;
    let chain = Chain::from_settings(&anthropic_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "anthropic");
    assert_eq!(fake.hits(), 3);
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let fake = fake(PATH, |_| async { respond(529, &[], "{}") }).await;
    let chain = Chain::from_settings(&anthropic_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(fake.hits(), 3, "one try + LLM_MAX_RETRIES=2");
    assert_eq!(c.provider, "offline");
    assert!(
        c.attempts[0].outcome.contains("HTTP 529"),
        "{:?}",
        c.attempts
    );
}

#[tokio::test]
async fn malformed_body_fails_at_once() {
    let fake = fake(PATH, |_| async {
        respond(200, &[], r#"{"content":[{"type":"tool_use","id":"x"}]}"#)
    })
    .await;
    let chain = Chain::from_settings(&anthropic_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(fake.hits(), 1);
    assert_eq!(c.provider, "offline");
    assert!(c.attempts[0].outcome.starts_with("error: malformed"));
}
