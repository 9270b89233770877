//! The generation service killed with SIGKILL between the LLM provider's answer and
//! the record of it (failpoint `generation.after_completion`), then the command
//! redelivered: the call is repeated (its answer was lost with the process) under
//! the SAME `Idempotency-Key`, so the provider answers it without billing it again,
//! and our records count the completion's tokens and cost once.
//!
//! The killed process is this test binary run again as a child, running only
//! [`child_handles_one_command`] with the failpoint armed.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::fake_llm::{FakeLlm, TOKENS, generator_for};
use common::*;
use sagaflow_bus::inbox::process;
use sagaflow_bus::{Backoff, Incoming};
use sagaflow_events::Envelope;
use sagaflow_events::messages::DocumentGenerated;
use sagaflow_generation::NAME;
use sagaflow_generation::completions::{AFTER_COMPLETION, idempotency_key};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The child's orders, as JSON in this environment variable.
const CHILD: &str = "SAGAFLOW_GENERATION_CRASH_CHILD";

/// What the child handles, and where.
#[derive(Debug, Serialize, Deserialize)]
struct Orders {
    database_url: String,
    llm_base: String,
    headers: Vec<(String, String)>,
    topic: String,
    key: Option<String>,
    payload: Vec<u8>,
}

impl Orders {
    fn incoming(&self) -> anyhow::Result<Incoming> {
        let envelope = Envelope::from_headers(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), Some(value.as_bytes()))),
        )?;
        Ok(Incoming {
            envelope,
            topic: self.topic.clone(),
            partition: 0,
            offset: 0,
            key: self.key.clone(),
            payload: self.payload.clone(),
        })
    }
}

/// The child: handles the command through the inbox, and parks at the failpoint.
#[tokio::test]
#[ignore = "the child of the crash test below, which runs it"]
async fn child_handles_one_command() -> anyhow::Result<()> {
    let Ok(orders) = std::env::var(CHILD) else {
        return Ok(());
    };
    let orders: Orders = serde_json::from_str(&orders)?;
    let pool = sqlx::PgPool::connect(&orders.database_url).await?;
    let handler = generator_for(&orders.llm_base)?;
    let outcome = process(
        &pool,
        &handler,
        NAME,
        &orders.incoming()?,
        Backoff::default(),
    )
    .await;
    anyhow::bail!("the failpoint should have parked the child, got {outcome:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_the_llm_call_and_its_record_the_redelivery_counts_the_cost_once()
-> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::ZERO).await?;
    let handler = fake.generator()?;
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let message = incoming(Some(saga), &generate_command(saga, &analysed, &profile));
    let orders = Orders {
        database_url: db.url.clone(),
        llm_base: fake.base.clone(),
        headers: message
            .envelope
            .to_headers()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        topic: message.topic.clone(),
        key: message.key.clone(),
        payload: message.payload.clone(),
    };
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash::child_handles_one_command",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, serde_json::to_string(&orders)?)
        .env("SAGAFLOW_FAILPOINTS", AFTER_COMPLETION)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let wanted = format!("FAILPOINT {AFTER_COMPLETION}");
    let reached = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(&wanted) {
                    return Ok(());
                }
                seen.push(line);
            }
            Err(seen)
        }),
    )
    .await;
    child.kill()?; // SIGKILL
    child.wait()?;
    match reached {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(seen))) => anyhow::bail!("the child never reached the failpoint: {seen:#?}"),
        other => anyhow::bail!("the child never reached the failpoint: {other:?}"),
    }

    // What the crash left: the provider answered (and billed) once, we recorded
    // nothing but the claim.
    let key = idempotency_key(saga, "generate:cover_letter:1");
    assert_eq!(fake.seen().requests, vec![Some(key.clone())]);
    let status: String =
        sqlx::query_scalar("SELECT status FROM llm_completions WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(status, "pending");
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM llm_calls WHERE saga_id = $1",
            saga
        )
        .await?,
        0
    );

    // Kafka redelivers the same message.
    let generated: DocumentGenerated = send(&db.pool, &handler, NAME, &message).await?.expect();
    let seen = fake.seen();
    assert_eq!(
        seen.requests,
        vec![Some(key.clone()), Some(key)],
        "asked again, under the same key"
    );
    assert_eq!(seen.billed, 1, "the provider did the work once");
    let tokens = TOKENS.0 + TOKENS.1;
    assert_eq!(generated.tokens_used, tokens);
    let calls: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT input_tokens, output_tokens, cost_micros FROM llm_calls WHERE saga_id = $1",
    )
    .bind(saga)
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(calls.len(), 1, "the cost is recorded once: {calls:?}");
    assert_eq!((calls[0].0, calls[0].1), TOKENS);
    assert!(calls[0].2 > 0);
    let used: i64 = sqlx::query_scalar("SELECT used FROM token_budgets WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(used, tokens, "the budget is charged once");
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM documents WHERE saga_id = $1",
            saga
        )
        .await?,
        1
    );
    Ok(())
}
