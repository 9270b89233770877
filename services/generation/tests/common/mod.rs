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
