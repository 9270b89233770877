//! The shared test kit: a migrated database and the commands of one saga.
#![allow(dead_code, unused_imports)]

pub use sagaflow_bus::testing::*;

use sagaflow_bus::Incoming;
use sagaflow_events::Contract;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentKind, GenerateDocument, JobAnalysed, ProfileCompiled,
};
use sagaflow_generation::{Generator, NAME};
use sagaflow_test_support::TestDb;
use sqlx::PgPool;
use uuid::Uuid;

pub const JOB_AD: &str = "Senior Rust Engineer at Acme Robotics\n\n\
Acme Robotics builds warehouse robots. As a Senior Rust Engineer you will design \
distributed systems in Rust, stream telemetry through Kafka and store it in PostgreSQL. \
You will run services on Kubernetes, own observability with Prometheus, and mentor \
engineers. Telemetry pipelines, robots and reliability are at the heart of the role: \
our telemetry pipelines move millions of robot events a day.";

pub const CV: &str = "Ada Lovelace\nada@example.com | +44 20 7946 0000\n\n\
Experience\n\
- Built Kafka telemetry pipelines in Rust at Globex (2019-2024)\n\
- Ran PostgreSQL clusters for robot fleets at Globex\n\
- Mentored four engineers on distributed systems\n\
- Gardening and chess\n";

pub async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("gen").await?;
    sagaflow_generation::migrate(&db.pool).await?;
    Ok(db)
}

pub async fn go(
    pool: &PgPool,
    handler: &Generator,
    body: &impl Contract,
    saga: Uuid,
) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, &incoming(Some(saga), body)).await?)
}

/// AnalyseJob + CompileProfile for `saga`; returns the analysis and the profile.
pub async fn prepare(
    pool: &PgPool,
    handler: &Generator,
    saga: Uuid,
    user: &str,
) -> anyhow::Result<(JobAnalysed, ProfileCompiled)> {
    let analysed: JobAnalysed = go(
        pool,
        handler,
        &AnalyseJob {
            saga_id: saga,
            job_description: JOB_AD.into(),
        },
        saga,
    )
    .await?
    .expect();
    let profile: ProfileCompiled = go(
        pool,
        handler,
        &CompileProfile {
            saga_id: saga,
            user_id: user.into(),
            cv_text: CV.into(),
            skills: analysed.skills.clone(),
            keywords: analysed.keywords.clone(),
        },
        saga,
    )
    .await?
    .expect();
    Ok((analysed, profile))
}

pub fn generate_command(
    saga: Uuid,
    analysed: &JobAnalysed,
    profile: &ProfileCompiled,
) -> GenerateDocument {
    GenerateDocument {
        saga_id: saga,
        kind: DocumentKind::CoverLetter,
        profile_summary: profile.profile_summary.clone(),
        emphasis: profile.emphasis.clone(),
        keywords: analysed.keywords.clone(),
        template: None,
        token_budget: 4000,
        attempt: 1,
        feedback: None,
    }
}

pub async fn count(pool: &PgPool, sql: &str, saga: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).bind(saga).fetch_one(pool).await?)
}

pub mod fake_llm;

/// A command of `tenant` as a consumer sees it after Kafka, keyed by the saga.
pub fn incoming_in(tenant: &str, saga: Option<Uuid>, body: &impl Contract) -> Incoming {
    let key = saga.map(|s| s.to_string()).unwrap_or_default();
    let out = sagaflow_bus::Outgoing::new(tenant, saga, key, body).expect("the body encodes");
    Incoming {
        envelope: out.envelope,
        topic: out.topic,
        partition: 0,
        offset: 0,
        key: Some(out.key),
        payload: out.payload,
    }
}

/// [`go`] with the command in `tenant`.
pub async fn go_in(
    pool: &PgPool,
    handler: &Generator,
    tenant: &str,
    body: &impl Contract,
    saga: Uuid,
) -> anyhow::Result<Reply> {
    Ok(send(pool, handler, NAME, &incoming_in(tenant, Some(saga), body)).await?)
}

/// [`prepare`] in `tenant`, with `cv` as the CV.
pub async fn prepare_in(
    pool: &PgPool,
    handler: &Generator,
    tenant: &str,
    saga: Uuid,
    user: &str,
    cv: &str,
) -> anyhow::Result<(JobAnalysed, ProfileCompiled)> {
    let analyse = AnalyseJob {
        saga_id: saga,
        job_description: JOB_AD.into(),
    };
    let analysed: JobAnalysed = go_in(pool, handler, tenant, &analyse, saga).await?.expect();
    let compile = CompileProfile {
        saga_id: saga,
        user_id: user.into(),
        cv_text: cv.into(),
        skills: analysed.skills.clone(),
        keywords: analysed.keywords.clone(),
    };
    let profile: ProfileCompiled = go_in(pool, handler, tenant, &compile, saga).await?.expect();
    Ok((analysed, profile))
}

/// Rows of `table` in `tenant` (every user-data table has a `tenant_id`).
pub async fn rows_in(pool: &PgPool, table: &str, tenant: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1"
    ))
    .bind(tenant)
    .fetch_one(pool)
    .await?)
}

/// Every table of user data, each with `tenant_id` and `user_id`.
pub const USER_TABLES: [&str; 8] = [
    "users",
    "cv_versions",
    "generations",
    "token_budgets",
    "llm_cache",
    "documents",
    "llm_calls",
    "llm_completions",
];

/// The generation API as served: behind the gateway's internal token guard.
pub fn guarded_router(pool: PgPool) -> axum::Router {
    sagaflow_service_auth::internal::guard(
        sagaflow_generation::router(pool),
        sagaflow_test_support::service_auth::internal_verifier("generation"),
    )
}

/// An HTTP request to the generation API as `user` of `tenant`: the internal token
/// the gateway signs for them (see `sagaflow_generation::caller`).
pub fn request_as(
    method: &str,
    uri: &str,
    tenant: &str,
    user: &str,
) -> anyhow::Result<axum::http::Request<axum::body::Body>> {
    let bearer = sagaflow_test_support::service_auth::internal_bearer("generation", tenant, user);
    Ok(axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", bearer)
        .body(axum::body::Body::empty())?)
}
