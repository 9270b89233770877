//! LLM completions exactly once, whatever the inbox does: a redelivery after
//! `prepare`, a duplicate, the orchestrator's retry (a new message id), the
//! regeneration of ValidateDocument, and a batch rolled back by a poison message and
//! replayed one by one (a real `InboxConsumer` on the mock cluster). Calls are
//! counted on a local OpenAI-compatible server, and cost and tokens in our tables.
//! The crash between the call and its record is `tests/crash.rs`.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fake_llm::{FakeLlm, TOKENS};
use common::*;
use sagaflow_bus::inbox::{Outcome, process};
use sagaflow_bus::{
    Backoff, Failure, Handler, InboxConsumer, Incoming, KafkaConfig, Outgoing, Relay,
};
use sagaflow_events::messages::{
    DocumentGenerated, DocumentRejected, DocumentValidated, ReleaseInventory, ValidateDocument,
};
use sagaflow_generation::completions::idempotency_key;
use sagaflow_generation::{Generator, NAME};
use sagaflow_test_support::{Broker, TestDb, eventually, unique_topic};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// (calls recorded, their cost, tokens the budget spent) for the saga.
async fn accounted(pool: &PgPool, saga: Uuid) -> anyhow::Result<(i64, i64, i64)> {
    let (calls, cost): (i64, i64) = sqlx::query_as(
        "SELECT count(*), COALESCE(sum(cost_micros), 0)::BIGINT FROM llm_calls WHERE saga_id = $1",
    )
    .bind(saga)
    .fetch_one(pool)
    .await?;
    let used: i64 = sqlx::query_scalar("SELECT used FROM token_budgets WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(pool)
        .await?;
    Ok((calls, cost, used))
}

#[tokio::test]
async fn a_redelivered_or_retried_generate_document_calls_the_llm_once() -> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::ZERO).await?;
    let handler = fake.generator()?;
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let command = generate_command(saga, &analysed, &profile);
    let first = incoming(Some(saga), &command);
    // `prepare` ran and the consumer died before its transaction committed: the
    // redelivery prepares again, and finds the recorded completion.
    handler.prepare(&db.pool, &first).await?;
    let generated: DocumentGenerated = send(&db.pool, &handler, NAME, &first).await?.expect();
    assert_eq!(
        process(&db.pool, &handler, NAME, &first, Backoff::default()).await,
        Outcome::Duplicate
    );
    // The orchestrator's retry: a new message id, the same saga and attempt.
    let retry: DocumentGenerated = go(&db.pool, &handler, &command, saga).await?.expect();
    assert_eq!(retry, generated);

    let key = idempotency_key(saga, "generate:cover_letter:1");
    let seen = fake.seen();
    assert_eq!(
        seen.requests,
        vec![Some(key)],
        "one call, with the saga's key"
    );
    assert_eq!(seen.billed, 1);
    assert_eq!(generated.provider, "openai");
    assert_eq!(generated.tokens_used, TOKENS.0 + TOKENS.1);
    let (calls, cost, used) = accounted(&db.pool, saga).await?;
    assert_eq!(calls, 1);
    assert!(cost > 0, "gpt-4o-mini has a price");
    assert_eq!(used, TOKENS.0 + TOKENS.1, "the budget is charged once");
    let linked: Option<Uuid> =
        sqlx::query_scalar("SELECT document_id FROM llm_calls WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(linked, Some(generated.document_id));
    Ok(())
}

#[tokio::test]
async fn the_regeneration_of_a_failed_draft_calls_the_llm_once() -> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::ZERO).await?;
    let handler = fake.generator()?;
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let generated: DocumentGenerated = go(
        &db.pool,
        &handler,
        &generate_command(saga, &analysed, &profile),
        saga,
    )
    .await?
    .expect();
    // A draft that claims Kubernetes fails validation: one regeneration.
    let command = ValidateDocument {
        saga_id: saga,
        document_id: generated.document_id,
        content: "Dear Hiring Manager, I ran Kubernetes at Initech in 2011. Ada Lovelace".into(),
        keywords: analysed.keywords.clone(),
    };
    let first = incoming(Some(saga), &command);
    handler.prepare(&db.pool, &first).await?;
    handler.prepare(&db.pool, &first).await?;
    let reply = send(&db.pool, &handler, NAME, &first).await?;
    let retried = go(&db.pool, &handler, &command, saga).await?;
    assert_eq!(reply.payload, retried.payload, "the same verdict");
    if reply.message_type == "DocumentRejected" {
        let rejected: DocumentRejected = reply.expect();
        assert!(
            rejected
                .reasons
                .iter()
                .any(|r| r.contains("after regeneration")),
            "{rejected:?}"
        );
    } else {
        let _: DocumentValidated = reply.expect();
    }
    let regenerate = idempotency_key(saga, &format!("regenerate:{}", generated.document_id));
    let seen = fake.seen();
    let calls = seen
        .requests
        .iter()
        .filter(|key| key.as_deref() == Some(regenerate.as_str()))
        .count();
    assert_eq!(calls, 1, "{seen:?}");
    assert_eq!(seen.billed, 2, "the draft and its one regeneration");
    let (calls, _, used) = accounted(&db.pool, saga).await?;
    assert_eq!((calls, used), (2, 2 * (TOKENS.0 + TOKENS.1)));
    Ok(())
}

/// Counts `prepare` calls per message id, to see the batch replayed one by one.
struct Counting {
    inner: Generator,
    prepares: Arc<Mutex<HashMap<Uuid, u32>>>,
}

impl Handler for Counting {
    const PREPARES: bool = true;

    async fn prepare(&self, pool: &PgPool, message: &Incoming) -> Result<(), Failure> {
        if let Ok(mut prepares) = self.prepares.lock() {
            *prepares.entry(message.envelope.message_id).or_default() += 1;
        }
        self.inner.prepare(pool, message).await
    }

    async fn handle(
        &self,
        tx: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        self.inner.handle(tx, message).await
    }
}

/// Replies in the outbox caused by `message_id`: (message type, payload).
async fn replies_to(pool: &PgPool, message_id: Uuid) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT message_type, payload FROM sagaflow_outbox WHERE headers->>'causation-id' = $1",
    )
    .bind(message_id.to_string())
    .fetch_all(pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_rolled_back_by_a_poison_message_and_replayed_calls_the_llm_once_per_draft()
-> anyhow::Result<()> {
    let db = db().await?;
    // A slow provider: while the first command is handled the rest queue up and are
    // handled as one batch, which the poison message rolls back.
    let fake = FakeLlm::start(Duration::from_millis(300)).await?;
    let handler = fake.generator()?;
    let broker = Broker::mock()?;
    let topic = unique_topic("generation-commands");
    broker
        .create_topics(&[&topic, &sagaflow_events::topics::dead_letter(&topic)], 1)
        .await?;

    let key = "same-partition".to_owned();
    let sagas = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    let mut commands = Vec::new();
    for saga in sagas {
        let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
        let command = generate_command(saga, &analysed, &profile);
        let mut out = Outgoing::new("tenant-a", Some(saga), key.clone(), &command)?;
        out.topic = topic.clone();
        commands.push(out);
    }
    let poison_saga = Uuid::now_v7();
    let mut poison = Outgoing::new(
        "tenant-a",
        Some(poison_saga),
        key.clone(),
        &ReleaseInventory {
            saga_id: poison_saga,
            reason: "not a generation command".into(),
        },
    )?;
    poison.topic = topic.clone();
    // Published in this order by a relay, as a service would.
    let source = TestDb::create("genrelay").await?;
    sagaflow_bus::migrate::run(&source.pool, None).await?;
    let ordered = [
        commands[0].clone(),
        commands[1].clone(),
        poison.clone(),
        commands[2].clone(),
    ];
    let mut tx = source.pool.begin().await?;
    sagaflow_bus::outbox::enqueue(&mut tx, &ordered).await?;
    tx.commit().await?;
    let relay = Relay::new(source.pool.clone(), &KafkaConfig::new(broker.bootstrap()))?;
    let mut published = 0;
    while published < ordered.len() {
        published += relay.publish_batch().await?;
    }

    let prepares = Arc::new(Mutex::new(HashMap::new()));
    let counting = Counting {
        inner: handler,
        prepares: prepares.clone(),
    };
    let shutdown = CancellationToken::new();
    let consumer = InboxConsumer::new(
        &format!("generation-{}", Uuid::new_v4()),
        &[&topic],
        db.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        counting,
    )
    .with_workers(1);
    let task = tokio::spawn(consumer.run(shutdown.clone()));
    let last = commands[2].envelope.message_id;
    eventually(
        "the last generation handled",
        Duration::from_secs(60),
        || async { Ok(!replies_to(&db.pool, last).await?.is_empty()) },
    )
    .await?;
    shutdown.cancel();
    task.await??;

    let prepares = prepares.lock().map(|p| p.clone()).unwrap_or_default();
    assert!(
        commands
            .iter()
            .any(|c| prepares.get(&c.envelope.message_id).copied().unwrap_or(0) >= 2),
        "a batch with the poison message was rolled back and replayed: {prepares:?}"
    );
    let seen = fake.seen();
    assert_eq!(seen.billed, 3, "{seen:?}");
    assert_eq!(
        seen.requests.len(),
        3,
        "no draft was asked for twice: {seen:?}"
    );
    for (saga, command) in sagas.iter().zip(&commands) {
        let key = idempotency_key(*saga, "generate:cover_letter:1");
        assert!(seen.requests.contains(&Some(key)), "saga {saga}");
        let (calls, _, used) = accounted(&db.pool, *saga).await?;
        assert_eq!((calls, used), (1, TOKENS.0 + TOKENS.1), "saga {saga}");
        let replies = replies_to(&db.pool, command.envelope.message_id).await?;
        assert_eq!(replies.len(), 1, "one reply for saga {saga}");
        assert_eq!(replies[0].0, "DocumentGenerated");
    }
    let inboxed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_inbox WHERE message_id = $1")
            .bind(poison.envelope.message_id)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        inboxed, 0,
        "the poison message was dead-lettered, not handled"
    );
    Ok(())
}

#[tokio::test]
async fn the_users_stage_budgets_cap_each_stages_llm_call() -> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::ZERO).await?;
    let handler = fake.generator()?;
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let budgets = sagaflow_generation::stage_budgets::StageBudgets {
        generate_tokens: Some(300),
        regenerate_tokens: Some(200),
    };
    sagaflow_generation::stage_budgets::put(&db.pool, "tenant-a", "ada", &budgets).await?;
    let generated: DocumentGenerated = go(
        &db.pool,
        &handler,
        &generate_command(saga, &analysed, &profile),
        saga,
    )
    .await?
    .expect();
    let command = ValidateDocument {
        saga_id: saga,
        document_id: generated.document_id,
        content: "Dear Hiring Manager, I ran Kubernetes at Initech in 2011. Ada Lovelace".into(),
        keywords: analysed.keywords.clone(),
    };
    let first = incoming(Some(saga), &command);
    handler.prepare(&db.pool, &first).await?;
    send(&db.pool, &handler, NAME, &first).await?;
    assert_eq!(
        fake.seen().max_tokens,
        vec![300, 200],
        "the generation stage, then the regeneration"
    );
    Ok(())
}
