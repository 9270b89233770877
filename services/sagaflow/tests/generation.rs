//! The generation saga end to end through the gateway, on the mock cluster with
//! every service and its own database: offline generation to a PDF, fallback from a
//! failing provider with its circuit breaker, cancellation mid-flow, idempotency and
//! the response cache.

use crate::common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::*;
use sagaflow::platform::Service;
use sagaflow_test_support::Broker;
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);

const CV: &str = "Ada Lovelace\nada@example.com\n\
Senior software engineer, 2019-2025 at Analytical Engines Ltd.\n\
Built event-driven services in Rust with Kafka and PostgreSQL.\n\
Led a team of five; introduced Docker and Kubernetes deployments.\n\
Wrote Python tooling for data pipelines.";

/// A job ad; each `n` names another company, so the response cache cannot answer it.
fn job(n: usize) -> String {
    const COMPANIES: [&str; 4] = ["Acme", "Globex", "Initech", "Umbrella"];
    let company = format!("{}{n}", COMPANIES[n % COMPANIES.len()]);
    format!(
        "Senior Rust Engineer at {company}. We build payment systems with Rust, Kafka and \
         PostgreSQL. You will design event-driven services, mentor engineers and own Kubernetes \
         deployments. Experience with Rust and Kafka is required; PostgreSQL is a plus."
    )
}

fn body(n: usize) -> Value {
    json!({"kind": "cover_letter", "cv_text": CV, "job_description": job(n), "token_budget": 4000})
}

async fn post_generation(
    http: &reqwest::Client,
    gateway: &str,
    key: &str,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let response = http
        .post(format!("{gateway}/v1/generations"))
        .header("Idempotency-Key", key)
        .header("Authorization", bearer())
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, json_of(response).await?))
}

/// The body as JSON, or an error naming the status and what came instead.
async fn json_of(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let headers = format!("{:?}", response.headers());
    let text = response.text().await?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{status} {headers}: not JSON ({e}): {text:?}"))
}

async fn generation(http: &reqwest::Client, gateway: &str, id: &str) -> anyhow::Result<Value> {
    let response = http
        .get(format!("{gateway}/v1/generations/{id}"))
        .header("Authorization", bearer())
        .send()
        .await?;
    json_of(response).await
}

async fn wait_generation(http: &reqwest::Client, gateway: &str, id: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let view = generation(http, gateway, id).await?;
        if TERMINAL.contains(&view["status"].as_str().unwrap_or("")) {
            return Ok(view);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "generation {id} not done: {view}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn generate(platform: &Platform, n: usize) -> anyhow::Result<Value> {
    let (status, accepted) = post_generation(
        &platform.http,
        &platform.gateway,
        &Uuid::new_v4().to_string(),
        &body(n),
    )
    .await?;
    anyhow::ensure!(status == 202, "{status}: {accepted}");
    let id = accepted["generation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    wait_generation(&platform.http, &platform.gateway, &id).await
}

/// The reply that completed `step`, from the orchestrator's log.
async fn step_reply(platform: &Platform, saga: &str, step: &str) -> anyhow::Result<Value> {
    let saga: Uuid = saga.parse()?;
    let reply: Option<Value> = sqlx::query_scalar(
        "SELECT event->'reply' FROM saga_events WHERE saga_id = $1 AND kind = 'step_completed' AND event->>'step_name' = $2",
    )
    .bind(saga)
    .bind(step)
    .fetch_optional(platform.pool(Service::Orchestrator))
    .await?;
    reply.ok_or_else(|| anyhow::anyhow!("no {step} reply"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cover_letter_is_generated_to_a_pdf_with_the_offline_provider() -> anyhow::Result<()> {
    let generation_api = local_addr()?;
    let platform = Platform::start(Broker::mock()?, |s| {
        s.generation.listen = Some(generation_api);
        s.gateway.generation_url = format!("http://{generation_api}");
    })
    .await?;
    let view = generate(&platform, 1).await?;
    assert_eq!(view["status"], "completed", "{view}");
    let document = view["document_id"]
        .as_str()
        .expect("document id")
        .to_owned();
    let generated = step_reply(
        &platform,
        view["generation_id"].as_str().unwrap_or_default(),
        "generate",
    )
    .await?;
    assert_eq!(generated["offline"], true, "labelled offline: {generated}");

    // Downloaded through the gateway, which checks the caller owns it.
    let download = |user: &'static str| {
        platform
            .http
            .get(format!("{}/v1/documents/{document}/pdf", platform.gateway))
            .header("Authorization", bearer_for(user))
            .send()
    };
    assert_eq!(
        download("mallory").await?.status().as_u16(),
        404,
        "not another user's"
    );
    let pdf = download(USER).await?;
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await?;
    assert!(bytes.len() < 2 * 1024 * 1024);
    let parsed = lopdf::Document::load_mem(&bytes)?;
    let pages: Vec<u32> = parsed.get_pages().keys().copied().collect();
    let text = parsed.extract_text(&pages)?;
    assert!(text.contains("Ada Lovelace"), "{text}");
    for keyword in ["Rust", "Kafka"] {
        assert!(text.contains(keyword), "{keyword} missing from {text}");
    }

    // A stored CV version instead of the text: through the gateway, per tenant.
    let stored = platform
        .http
        .post(format!("{}/v1/profile/cv", platform.gateway))
        .header("Authorization", bearer())
        .json(&json!({ "text": CV }))
        .send()
        .await?;
    let status = stored.status().as_u16();
    let stored = json_of(stored).await?;
    assert!(status == 200 || status == 201, "{status}: {stored}");
    let version = stored["version"].clone();
    // An interview preparation, from a stored CV version.
    let by_version =
        json!({"kind": "interview_prep", "cv_version": version, "job_description": job(2)});
    let (status, accepted) = post_generation(
        &platform.http,
        &platform.gateway,
        &Uuid::new_v4().to_string(),
        &by_version,
    )
    .await?;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["generation_id"].as_str().unwrap_or_default();
    let view = wait_generation(&platform.http, &platform.gateway, id).await?;
    let failure: Option<Value> = sqlx::query_scalar(
        "SELECT event FROM saga_events WHERE saga_id = $1::uuid AND kind = 'step_failed'",
    )
    .bind(id)
    .fetch_optional(platform.pool(Service::Orchestrator))
    .await?;
    assert_eq!(view["status"], "completed", "{view} {failure:?}");
    let prep = platform
        .http
        .get(format!(
            "{}/v1/documents/{}/md",
            platform.gateway,
            view["document_id"].as_str().unwrap_or_default()
        ))
        .header("Authorization", bearer())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        prep.starts_with("# Interview preparation: Senior Rust Engineer at Initech2"),
        "{prep}"
    );
    assert!(prep.contains("## Likely questions\n- **Rust**"), "{prep}");
    // The same user id in another tenant has no such version.
    let elsewhere = platform
        .http
        .post(format!("{}/v1/generations", platform.gateway))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .header("Authorization", bearer_in("other-tenant", USER))
        .json(&by_version)
        .send()
        .await?;
    assert_eq!(elsewhere.status().as_u16(), 422);
    let error = json_of(elsewhere).await?;
    assert!(error.to_string().contains("cv_version"), "{error}");
    platform.stop().await
}

/// A fake OpenAI-compatible server: fails with 500, or answers after a delay.
#[derive(Clone)]
struct FakeLlm {
    hits: Arc<AtomicUsize>,
    fail: bool,
    delay: Duration,
}

async fn completions(
    State(fake): State<FakeLlm>,
    Json(_request): Json<Value>,
) -> (StatusCode, Json<Value>) {
    fake.hits.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(fake.delay).await;
    if fake.fail {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "overloaded"}})),
        );
    }
    let text = "Dear hiring team,\n\nI am applying for the Senior Rust Engineer role at Acme. I built \
                event-driven services in Rust with Kafka and PostgreSQL.\n\nKind regards,\nAda Lovelace";
    (
        StatusCode::OK,
        Json(
            json!({"choices": [{"message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 60}}),
        ),
    )
}

async fn fake_llm(fail: bool, delay: Duration) -> anyhow::Result<(SocketAddr, Arc<AtomicUsize>)> {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(FakeLlm {
            hits: hits.clone(),
            fail,
            delay,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, hits))
}

fn online(settings: &mut sagaflow::platform::Settings, addr: SocketAddr) {
    let llm = &mut settings.generation.llm;
    llm.providers = "openai,offline".into();
    llm.openai_base_url = format!("http://{addr}/v1");
    llm.openai_api_key = Some(sagaflow_llm::Secret::new("sk-test-not-a-real-key"));
    llm.max_retries = 0;
    llm.breaker_failures = 2;
    llm.breaker_cooldown_ms = 3000;
    llm.timeout_ms = 20_000;
}

/// This process's Prometheus recorder (one per process).
fn prometheus() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .expect("the only recorder of this test binary")
    })
}

/// The value of a metric line starting with `prefix`, if rendered.
fn metric(prefix: &str) -> Option<f64> {
    prometheus()
        .render()
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_falls_back_and_its_breaker_opens_then_half_opens() -> anyhow::Result<()>
{
    prometheus();
    let (addr, hits) = fake_llm(true, Duration::ZERO).await?;
    let platform = Platform::start(Broker::mock()?, |s| online(s, addr)).await?;

    // Two failures: each generation still completes through the offline provider.
    for n in 0..2 {
        let view = generate(&platform, 10 + n).await?;
        assert_eq!(view["status"], "completed", "{view}");
        let generated = step_reply(
            &platform,
            view["generation_id"].as_str().unwrap_or_default(),
            "generate",
        )
        .await?;
        assert_eq!(
            generated["provider"], "offline",
            "the saga's log shows the fallback: {generated}"
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let calls: Vec<Value> =
        sqlx::query_scalar("SELECT attempts FROM llm_calls ORDER BY created_at")
            .fetch_all(platform.pool(Service::Generation))
            .await?;
    assert!(
        calls[0].to_string().contains("openai") && calls[0].to_string().contains("error"),
        "{}",
        calls[0]
    );

    // The breaker is open: the provider is skipped.
    let view = generate(&platform, 12).await?;
    assert_eq!(view["status"], "completed");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "skipped while open");
    let last: Value =
        sqlx::query_scalar("SELECT attempts FROM llm_calls ORDER BY created_at DESC LIMIT 1")
            .fetch_one(platform.pool(Service::Generation))
            .await?;
    assert!(last.to_string().contains("breaker"), "{last}");
    assert_eq!(
        metric("sagaflow_llm_breaker_state{provider=\"openai\"}"),
        Some(2.0),
        "open, in metrics"
    );
    assert!(metric("sagaflow_llm_fallbacks_total").is_some_and(|n| n >= 3.0));

    // Once the cooldown is over one probe goes through (half-open), fails, and
    // re-opens: generations keep completing, and the provider sees exactly one call.
    let deadline = Instant::now() + WAIT;
    let mut n = 13;
    while hits.load(Ordering::SeqCst) == 2 {
        anyhow::ensure!(Instant::now() < deadline, "the breaker never half-opened");
        let view = generate(&platform, n).await?;
        assert_eq!(view["status"], "completed");
        n += 1;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 3, "one half-open probe");
    let view = generate(&platform, n).await?;
    assert_eq!(view["status"], "completed");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "re-opened after the failed probe"
    );
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_mid_flow_stops_llm_calls_and_releases_the_budget() -> anyhow::Result<()> {
    let (addr, hits) = fake_llm(false, Duration::from_secs(3)).await?;
    let platform = Platform::start(Broker::mock()?, |s| online(s, addr)).await?;
    let (status, accepted) =
        post_generation(&platform.http, &platform.gateway, "cancel-1", &body(20)).await?;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["generation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Wait for the LLM call to be under way, then cancel.
    let deadline = Instant::now() + WAIT;
    while hits.load(Ordering::SeqCst) == 0 {
        anyhow::ensure!(Instant::now() < deadline, "the LLM was never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancelled = platform
        .http
        .delete(format!("{}/v1/generations/{id}", platform.gateway))
        .header("Authorization", bearer())
        .send()
        .await?;
    assert_eq!(cancelled.status().as_u16(), 202);
    let view = wait_generation(&platform.http, &platform.gateway, &id).await?;
    assert_eq!(view["status"], "compensated", "{view}");
    // `compensated` means the budget release was handled, which the generation
    // service does after the in-flight GenerateDocument (same partition): every
    // command that could call the LLM has been handled by now.
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no LLM call after the cancel"
    );
    let saga: Uuid = id.parse()?;
    let budget: String = sqlx::query_scalar("SELECT status FROM token_budgets WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(platform.pool(Service::Generation))
        .await?;
    assert_eq!(budget, "released");
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM documents WHERE saga_id = $1 AND status <> 'void'",
    )
    .bind(saga)
    .fetch_one(platform.pool(Service::Generation))
    .await?;
    assert_eq!(live, 0, "drafts are void");
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_one_document_and_same_inputs_hit_the_cache() -> anyhow::Result<()> {
    let platform = Platform::start(Broker::mock()?, |_| {}).await?;
    let request = body(30);
    let (first_status, first) =
        post_generation(&platform.http, &platform.gateway, "same-key", &request).await?;
    let (second_status, second) =
        post_generation(&platform.http, &platform.gateway, "same-key", &request).await?;
    assert_eq!((first_status, second_status), (202, 202));
    assert_eq!(
        first["generation_id"], second["generation_id"],
        "replayed, not started twice"
    );
    let id = first["generation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        wait_generation(&platform.http, &platform.gateway, &id).await?["status"],
        "completed"
    );
    let documents: i64 = sqlx::query_scalar("SELECT count(DISTINCT saga_id) FROM documents")
        .fetch_one(platform.pool(Service::Generation))
        .await?;
    assert_eq!(documents, 1);
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls")
        .fetch_one(platform.pool(Service::Generation))
        .await?;

    // The same inputs under a new key: a new generation served from the cache.
    let (status, third) =
        post_generation(&platform.http, &platform.gateway, "other-key", &request).await?;
    assert_eq!(status, 202);
    assert_ne!(third["generation_id"], first["generation_id"]);
    let id = third["generation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        wait_generation(&platform.http, &platform.gateway, &id).await?["status"],
        "completed"
    );
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls")
        .fetch_one(platform.pool(Service::Generation))
        .await?;
    assert_eq!(after, calls, "no new LLM call");
    let cached: bool =
        sqlx::query_scalar("SELECT bool_or(cached) FROM documents WHERE saga_id = $1")
            .bind(id.parse::<Uuid>()?)
            .fetch_one(platform.pool(Service::Generation))
            .await?;
    assert!(cached);
    platform.stop().await
}
