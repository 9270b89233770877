//! Erasure with the SAME user id (`ada`) in two tenants: `UserErasureRequested`
//! (gateway.events) and `EraseUserData` (generation.commands) erase the envelope
//! tenant's user only; a late command of an erased user's saga gets its step's
//! failure reply and stores nothing, even when it was mid-flight at the LLM; a saga
//! started after the erasure works again.

use crate::common;

use std::time::Duration;

use common::fake_llm::FakeLlm;
use common::*;
use sagaflow_bus::Handler;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentExported, DocumentGenerated, DocumentRejected,
    EraseUserData, ExportDocument, ExportFailed, GenerationFailed, JobAnalysed, ProfileCompiled,
    ReleaseTokenBudget, TokenBudgetReleased, UserErasureRequested, ValidateDocument,
};
use sagaflow_generation::erasure::ERASED;
use sagaflow_generation::{Generator, NAME};
use sagaflow_test_support::eventually;
use sqlx::PgPool;
use uuid::Uuid;

const ACME: &str = "acme";
const GLOBEX: &str = "globex";
const USER: &str = "ada";

/// `UserErasureRequested` for `ada` from `tenant`, as the gateway publishes it.
async fn erasure_requested(pool: &PgPool, handler: &Generator, tenant: &str) -> anyhow::Result<()> {
    let request = UserErasureRequested {
        erasure_id: Uuid::now_v7(),
        user_id: USER.into(),
        requested_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let message = incoming_in(tenant, None, &request);
    assert_eq!(message.topic, sagaflow_events::topics::GATEWAY_EVENTS);
    let outcome =
        sagaflow_bus::inbox::process(pool, handler, NAME, &message, Default::default()).await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);
    Ok(())
}

/// A generated, exported document for `ada` in `tenant`; returns (saga, document).
async fn exported(
    pool: &PgPool,
    handler: &Generator,
    tenant: &str,
) -> anyhow::Result<(Uuid, Uuid)> {
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare_in(pool, handler, tenant, saga, USER, CV).await?;
    let command = generate_command(saga, &analysed, &profile);
    let generated: DocumentGenerated = go_in(pool, handler, tenant, &command, saga).await?.expect();
    let export = ExportDocument {
        saga_id: saga,
        document_id: generated.document_id,
        formats: vec!["pdf".into()],
    };
    let _: DocumentExported = go_in(pool, handler, tenant, &export, saga).await?.expect();
    Ok((saga, generated.document_id))
}

async fn files_of(pool: &PgPool, document: Uuid) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM document_files WHERE document_id = $1")
            .bind(document)
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test]
async fn erasing_ada_in_one_tenant_leaves_ada_in_the_other_intact() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let (_, acme_doc) = exported(&db.pool, &handler, ACME).await?;
    let (_, globex_doc) = exported(&db.pool, &handler, GLOBEX).await?;
    let mut globex_before = Vec::new();
    for table in USER_TABLES {
        let rows = rows_in(&db.pool, table, GLOBEX).await?;
        assert!(rows > 0, "globex {table} has data to keep");
        globex_before.push(rows);
    }

    erasure_requested(&db.pool, &handler, ACME).await?;
    for table in USER_TABLES {
        assert_eq!(rows_in(&db.pool, table, ACME).await?, 0, "acme {table}");
    }
    assert_eq!(files_of(&db.pool, acme_doc).await?, 0);
    for (table, before) in USER_TABLES.iter().zip(&globex_before) {
        assert_eq!(
            rows_in(&db.pool, table, GLOBEX).await?,
            *before,
            "globex {table} intact"
        );
    }
    assert_eq!(files_of(&db.pool, globex_doc).await?, 1);
    // The tombstone does not name the user.
    let tombstones: Vec<String> = sqlx::query_scalar("SELECT row_to_json(e)::text FROM erasures e")
        .fetch_all(&db.pool)
        .await?;
    assert_eq!(tombstones.len(), 1);
    // (As a whole value: the hex of the hash may contain the letters by chance.)
    assert!(
        !tombstones[0].contains(&format!("\"{USER}\"")),
        "{tombstones:?}"
    );

    // The other command, and the other tenant (from its envelope).
    let erase = incoming_in(
        GLOBEX,
        None,
        &EraseUserData {
            user_id: USER.into(),
            reason: "account closed".into(),
        },
    );
    let outcome =
        sagaflow_bus::inbox::process(&db.pool, &handler, NAME, &erase, Default::default()).await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);
    for table in USER_TABLES {
        assert_eq!(rows_in(&db.pool, table, GLOBEX).await?, 0, "globex {table}");
    }
    assert_eq!(files_of(&db.pool, globex_doc).await?, 0);
    Ok(())
}

#[tokio::test]
async fn late_commands_after_the_erasure_store_nothing_and_call_no_llm() -> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::ZERO).await?;
    let handler = fake.generator()?;
    // A saga compiled before the erasure, and one started before it whose commands
    // all arrive after it.
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, saga, USER, CV).await?;
    let unseen = Uuid::now_v7();
    // The same user in globex, untouched throughout.
    let (_, globex_doc) = exported(&db.pool, &handler, GLOBEX).await?;
    let calls_before = fake.seen().requests.len();
    erasure_requested(&db.pool, &handler, ACME).await?;

    let generate = generate_command(saga, &analysed, &profile);
    let failed: GenerationFailed = go_in(&db.pool, &handler, ACME, &generate, saga)
        .await?
        .expect();
    assert_eq!(failed.reason, ERASED);
    let compile = CompileProfile {
        saga_id: saga,
        user_id: USER.into(),
        cv_text: CV.into(),
        skills: analysed.skills.clone(),
        keywords: analysed.keywords.clone(),
    };
    let compiled: ProfileCompiled = go_in(&db.pool, &handler, ACME, &compile, saga)
        .await?
        .expect();
    assert_eq!(
        (
            compiled.match_percent,
            compiled.emphasis.len(),
            compiled.profile_summary.as_str()
        ),
        (0, 0, ERASED),
        "no CV line goes out"
    );
    let validate = ValidateDocument {
        saga_id: saga,
        document_id: Uuid::now_v7(),
        content: "Dear Hiring Manager".into(),
        keywords: vec![],
    };
    let rejected: DocumentRejected = go_in(&db.pool, &handler, ACME, &validate, saga)
        .await?
        .expect();
    assert_eq!(rejected.reasons, vec![ERASED.to_owned()]);
    let export = ExportDocument {
        saga_id: saga,
        document_id: validate.document_id,
        formats: vec!["pdf".into()],
    };
    let failed: ExportFailed = go_in(&db.pool, &handler, ACME, &export, saga)
        .await?
        .expect();
    assert_eq!(failed.reason, ERASED);
    let release = ReleaseTokenBudget {
        saga_id: saga,
        user_id: USER.into(),
        tokens: 4000,
        reason: "compensating".into(),
    };
    let released: TokenBudgetReleased = go_in(&db.pool, &handler, ACME, &release, saga)
        .await?
        .expect();
    assert_eq!(released.tokens_released, 0);
    // The saga nobody had seen: its AnalyseJob names no user and is stored, its
    // CompileProfile names ada and is refused, taking the analysis with it.
    let analyse = AnalyseJob {
        saga_id: unseen,
        job_description: JOB_AD.into(),
    };
    let _: JobAnalysed = go_in(&db.pool, &handler, ACME, &analyse, unseen)
        .await?
        .expect();
    let compile = CompileProfile {
        saga_id: unseen,
        ..compile
    };
    let compiled: ProfileCompiled = go_in(&db.pool, &handler, ACME, &compile, unseen)
        .await?
        .expect();
    assert_eq!(compiled.profile_summary, ERASED);
    let generate = generate_command(unseen, &analysed, &profile);
    let failed: GenerationFailed = go_in(&db.pool, &handler, ACME, &generate, unseen)
        .await?
        .expect();
    assert_eq!(failed.reason, ERASED);

    for table in USER_TABLES {
        assert_eq!(
            rows_in(&db.pool, table, ACME).await?,
            0,
            "acme {table} stays empty"
        );
    }
    assert_eq!(
        fake.seen().requests.len(),
        calls_before,
        "no LLM call for the erased user"
    );
    assert_eq!(files_of(&db.pool, globex_doc).await?, 1, "globex untouched");

    // The user comes back later: a new saga is a new start.
    // It starts after the tombstone's time (the erasure's millisecond has passed).
    let erased_at: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(erased_at) FROM erasures")
            .fetch_one(&db.pool)
            .await?;
    let again = loop {
        let id = Uuid::now_v7();
        if sagaflow_bus::erasure::saga_started(id).is_some_and(|started| started > erased_at) {
            break id;
        }
        tokio::task::yield_now().await;
    };
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, again, USER, CV).await?;
    let _: DocumentGenerated = go_in(
        &db.pool,
        &handler,
        ACME,
        &generate_command(again, &analysed, &profile),
        again,
    )
    .await?
    .expect();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_while_the_llm_is_answering_leaves_no_personal_data() -> anyhow::Result<()> {
    let db = db().await?;
    let fake = FakeLlm::start(Duration::from_millis(800)).await?;
    let handler = fake.generator()?;
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, saga, USER, CV).await?;
    let message = incoming_in(
        ACME,
        Some(saga),
        &generate_command(saga, &analysed, &profile),
    );
    // The generation's `prepare` claims its completion and waits for the provider...
    let in_flight = {
        let (pool, handler, message) = (db.pool.clone(), handler.clone(), message.clone());
        tokio::spawn(async move { handler.prepare(&pool, &message).await })
    };
    eventually("the call in flight", Duration::from_secs(10), || async {
        Ok(rows_in(&db.pool, "llm_completions", ACME).await? == 1)
    })
    .await?;
    // ...when the erasure arrives; then the answer, then the late command.
    erasure_requested(&db.pool, &handler, ACME).await?;
    in_flight.await??;
    let failed: GenerationFailed = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(failed.reason, ERASED);

    for table in USER_TABLES.iter().filter(|t| **t != "llm_calls") {
        assert_eq!(rows_in(&db.pool, table, ACME).await?, 0, "acme {table}");
    }
    // The call's cost is still recorded, once, without the user.
    let calls: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT user_id, cost_micros FROM llm_calls WHERE tenant_id = $1")
            .bind(ACME)
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, None);
    assert!(calls[0].1 > 0);
    assert_eq!(fake.seen().requests.len(), 1);
    Ok(())
}
