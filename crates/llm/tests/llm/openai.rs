//! OpenAI-compatible adapter against a fake `/v1/chat/completions`.

use std::time::{Duration, Instant};

use sagaflow_llm::{Chain, Error};

use crate::common::*;

const PATH: &str = "/v1/chat/completions";

#[tokio::test]
async fn success_sends_model_messages_and_bearer() {
    let fake = fake(PATH, |_| async { respond(200, &[], OPENAI_OK) }).await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    assert_eq!(chain.providers(), vec!["openai", "offline"]);

    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.text, "Hello from the fake OpenAI");
    assert_eq!(c.provider, "openai");
    assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    assert_eq!((c.input_tokens, c.output_tokens), (12, 5));
    assert!(!c.offline);
    // gpt-4o-mini: 0.15 / 0.60 USD per million tokens.
    assert_eq!(c.cost_micros, (12.0f64 * 0.15 + 5.0 * 0.60).round() as i64);
    assert_eq!(c.attempts.len(), 1);
    assert_eq!(c.attempts[0].provider, "openai");
    assert_eq!(c.attempts[0].outcome, "ok");

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    assert_eq!(
        headers.get("authorization").expect("auth header"),
        &format!("Bearer {OPENAI_KEY}")
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("json body");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_tokens"], 300);
    assert!((body["temperature"].as_f64().expect("temperature") - 0.2).abs() < 1e-6);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "You write cover letters.");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(
        body["messages"][1]["content"],
        "Write a cover letter for Ada."
    );
}

#[tokio::test]
async fn retries_after_500() {
    let fake = fake(PATH, |n| async move {
        if n == 1 {
            respond(500, &[], r#"{"error":{"message":"boom"}}"#)
        } else {
            respond(200, &[], OPENAI_OK)
        }
    })
    .await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "openai");
    assert_eq!(fake.hits(), 2);
    assert_eq!(c.attempts.len(), 1);
    assert_eq!(chain.health()[0].consecutive_failures, 0);
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let fake = fake(PATH, |n| async move {
        if n == 1 {
            respond(
                429,
                &[("retry-after", "1")],
                r#"{"error":{"message":"slow down"}}"#,
            )
        } else {
            respond(200, &[], OPENAI_OK)
        }
    })
    .await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let started = Instant::now();
    let c = chain.complete(&request()).await.expect("completion");
    let elapsed = started.elapsed();
    assert_eq!(c.provider, "openai");
    assert_eq!(fake.hits(), 2);
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn timeout_is_retried() {
    let fake = fake(PATH, |n| async move {
        if n == 1 {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }
        respond(200, &[], OPENAI_OK)
    })
    .await;
    let settings = sagaflow_llm::Settings {
        timeout_ms: 300,
        ..openai_settings(&fake)
    };
    let chain = Chain::from_settings(&settings).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "openai");
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn timeout_without_retries_falls_back_with_a_timeout_error() {
    let fake = fake(PATH, |_| async {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        respond(200, &[], OPENAI_OK)
    })
    .await;
    let settings = sagaflow_llm::Settings {
        timeout_ms: 200,
        max_retries: 0,
        ..openai_settings(&fake)
    };
    let chain = Chain::from_settings(&settings).expect("chain");
    let started = Instant::now();
    let c = chain.complete(&request()).await.expect("completion");
    assert!(started.elapsed() < Duration::from_millis(1_400));
    assert_eq!(c.provider, "offline");
    assert_eq!(fake.hits(), 1);
    assert!(
        c.attempts[0].outcome.contains("timed out"),
        "{:?}",
        c.attempts
    );
}

#[tokio::test]
async fn malformed_json_fails_at_once() {
    let fake = fake(PATH, |_| async { respond(200, &[], "{not json") }).await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(fake.hits(), 1, "no retry on a malformed body");
    assert_eq!(c.provider, "offline");
    assert!(c.offline);
    assert_eq!(c.attempts[0].provider, "openai");
    assert!(
        c.attempts[0].outcome.starts_with("error: malformed"),
        "{:?}",
        c.attempts
    );
    assert_eq!(c.attempts[1].provider, "offline");
    assert_eq!(c.attempts[1].outcome, "ok");
}

#[tokio::test]
async fn missing_content_is_malformed() {
    let fake = fake(PATH, |_| async { respond(200, &[], r#"{"choices":[]}"#) }).await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(fake.hits(), 1);
    assert!(c.attempts[0].outcome.starts_with("error: malformed"));
}

#[tokio::test]
async fn unauthorized_fails_at_once_and_never_shows_the_key() {
    let fake = fake(PATH, |_| async {
        respond(
            401,
            &[],
            &format!(r#"{{"error":{{"message":"Incorrect API key provided: {OPENAI_KEY}"}}}}"#),
        )
    })
    .await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(fake.hits(), 1, "no retry on 401");
    assert_eq!(c.provider, "offline");
    let outcome = &c.attempts[0].outcome;
    assert!(outcome.contains("HTTP 401"), "{outcome}");
    assert!(!outcome.contains(OPENAI_KEY), "{outcome}");
    let error = Error::AllFailed {
        attempts: c.attempts.clone(),
    };
    assert!(!error.to_string().contains(OPENAI_KEY));
    assert!(!format!("{error:?}").contains(OPENAI_KEY));
    assert!(!format!("{chain:?}").contains(OPENAI_KEY));
}

#[tokio::test]
async fn an_idempotency_key_goes_out_on_every_try_and_none_without_one() {
    let fake = fake(PATH, |n| async move {
        if n == 1 {
            respond(503, &[], r#"{"error":{"message":"busy"}}"#)
        } else {
            respond(200, &[], OPENAI_OK)
        }
    })
    .await;
    let chain = Chain::from_settings(&openai_settings(&fake)).expect("chain");
    let c = chain
        .complete_with_key(&request(), Some("sagaflow-llm-saga-1-generate"))
        .await
        .expect("completion");
    assert_eq!(c.provider, "openai");
    chain.complete(&request()).await.expect("completion");
    let keys: Vec<Option<String>> = fake
        .seen()
        .iter()
        .map(|(headers, _)| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    let key = Some("sagaflow-llm-saga-1-generate".to_owned());
    assert_eq!(
        keys,
        vec![key.clone(), key, None],
        "the retry carries the same key"
    );
}
