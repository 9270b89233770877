//! Fallback between providers and the circuit breaker.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sagaflow_llm::{Chain, Secret, Settings};

use crate::common::*;

fn chain_settings(a: &Fake, b: &Fake, max_retries: u32, breaker_failures: u32) -> Settings {
    Settings {
        providers: "openai,anthropic".into(),
        openai_base_url: a.base.clone(),
        openai_api_key: Some(Secret::new(OPENAI_KEY)),
        anthropic_base_url: b.base.clone(),
        anthropic_api_key: Some(Secret::new(ANTHROPIC_KEY)),
        timeout_ms: 2_000,
        max_retries,
        breaker_failures,
        breaker_cooldown_ms: 200,
        ..Settings::default()
    }
}

#[tokio::test]
async fn falls_back_opens_breaker_then_probes_and_closes() {
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let a = fake("/chat/completions", move |_| {
        let ok = flag.load(Ordering::SeqCst);
        async move {
            if ok {
                respond(200, &[], OPENAI_OK)
            } else {
                respond(500, &[], r#"{"error":{"message":"down"}}"#)
            }
        }
    })
    .await;
    let b = fake("/v1/messages", |_| async {
        respond(200, &[], ANTHROPIC_OK)
    })
    .await;
    let chain = Chain::from_settings(&chain_settings(&a, &b, 0, 3)).expect("chain");
    assert_eq!(chain.providers(), vec!["openai", "anthropic", "offline"]);

    for call in 1..=3 {
        let c = chain.complete(&request()).await.expect("completion");
        assert_eq!(c.provider, "anthropic");
        assert_eq!(c.attempts.len(), 2);
        assert_eq!(c.attempts[0].provider, "openai");
        assert!(c.attempts[0].outcome.starts_with("error: HTTP 500"));
        assert_eq!(c.attempts[1].provider, "anthropic");
        assert_eq!(c.attempts[1].outcome, "ok");
        assert_eq!(a.hits(), call);
        assert_eq!(chain.health()[0].consecutive_failures, call as u32);
    }
    let health = chain.health();
    assert_eq!(health[0].provider, "openai");
    assert_eq!(health[0].breaker, "open");
    assert_eq!(health[1].breaker, "closed");

    // Open: A is skipped, its hit counter stops growing.
    for _ in 0..2 {
        let c = chain.complete(&request()).await.expect("completion");
        assert_eq!(c.provider, "anthropic");
        assert_eq!(c.attempts[0].outcome, "skipped: breaker open");
        assert_eq!(c.attempts[0].millis, 0);
    }
    assert_eq!(a.hits(), 3);

    // After the cooldown: half-open, one probe goes to A; A has recovered so it closes.
    wait_half_open(&chain).await;
    healthy.store(true, Ordering::SeqCst);
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "openai");
    assert_eq!(c.attempts.len(), 1);
    assert_eq!(a.hits(), 4);
    assert_eq!(chain.health()[0].breaker, "closed");
    assert_eq!(chain.health()[0].consecutive_failures, 0);
}

#[tokio::test]
async fn failed_probe_reopens_and_is_a_single_try() {
    let a = fake("/chat/completions", |_| async {
        respond(503, &[], r#"{"error":{"message":"down"}}"#)
    })
    .await;
    let b = fake("/v1/messages", |_| async {
        respond(200, &[], ANTHROPIC_OK)
    })
    .await;
    let chain = Chain::from_settings(&chain_settings(&a, &b, 2, 1)).expect("chain");

    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "anthropic");
    assert_eq!(a.hits(), 3, "a closed breaker allows retries");
    assert!(c.attempts[0].outcome.contains("after 3 tries"));
    assert_eq!(chain.health()[0].breaker, "open");

    chain.complete(&request()).await.expect("completion");
    assert_eq!(a.hits(), 3, "skipped while open");

    wait_half_open(&chain).await;
    let c = chain.complete(&request()).await.expect("completion");
    assert_eq!(c.provider, "anthropic");
    assert_eq!(a.hits(), 4, "exactly one probe");
    assert_eq!(chain.health()[0].breaker, "open", "failed probe re-opens");
}

#[tokio::test]
async fn clones_share_breakers() {
    let a = fake("/chat/completions", |_| async { respond(500, &[], "{}") }).await;
    let b = fake("/v1/messages", |_| async {
        respond(200, &[], ANTHROPIC_OK)
    })
    .await;
    let chain = Chain::from_settings(&chain_settings(&a, &b, 0, 1)).expect("chain");
    let clone = chain.clone();
    chain.complete(&request()).await.expect("completion");
    assert_eq!(clone.health()[0].breaker, "open");
}

/// Polls until the first provider's cooldown is over (its breaker reads half-open).
async fn wait_half_open(chain: &Chain) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while chain.health()[0].breaker != "half_open" {
        assert!(
            std::time::Instant::now() < deadline,
            "the breaker never half-opened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
