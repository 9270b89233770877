//! The generation steps through the real inbox transaction and PostgreSQL, with the
//! offline LLM chain.

use crate::common;

use common::*;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentGenerated, DocumentRejected, DocumentValidated,
    DraftVoided, GenerateDocument, GenerationFailed, JobAnalysisFailed, ReleaseTokenBudget,
    TokenBudgetReleased, ValidateDocument, VoidDraft,
};
use sagaflow_generation::budget::CANCELLED;
use sagaflow_generation::validate::{Evidence, factuality, validate};
use sagaflow_generation::{Generator, analysis};
use uuid::Uuid;

#[tokio::test]
async fn analyses_a_realistic_job_ad() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    let (analysed, _) = prepare(&db.pool, &handler, saga, "ada").await?;
    for skill in [
        "Rust",
        "Kafka",
        "PostgreSQL",
        "Kubernetes",
        "Prometheus",
        "Distributed Systems",
    ] {
        assert!(
            analysed.skills.iter().any(|s| s == skill),
            "{skill} in {:?}",
            analysed.skills
        );
    }
    assert_eq!(analysed.seniority, "senior");
    assert!(
        analysed.keywords.iter().any(|k| k == "telemetry"),
        "{:?}",
        analysed.keywords
    );
    assert!(!analysed.keywords.iter().any(|k| k == "the" || k == "you"));
    let (title, company): (String, String) =
        sqlx::query_as("SELECT job_title, company FROM generations WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(
        (title.as_str(), company.as_str()),
        ("Senior Rust Engineer", "Acme Robotics")
    );
    assert_eq!(
        analysis::analyse(JOB_AD).map(|a| a.company).ok(),
        Some("Acme Robotics".into())
    );

    let short = Uuid::now_v7();
    let failed: JobAnalysisFailed = go(
        &db.pool,
        &handler,
        &AnalyseJob {
            saga_id: short,
            job_description: "Rust dev".into(),
        },
        short,
    )
    .await?
    .expect();
    assert!(failed.reason.contains("too short"), "{}", failed.reason);
    Ok(())
}

#[tokio::test]
async fn profile_matches_and_versions_the_cv() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    // Rust, Kafka, PostgreSQL, Distributed Systems of the six required.
    let expected = 4 * 100 / i32::try_from(analysed.skills.len())?;
    assert_eq!(profile.match_percent, expected, "{:?}", analysed.skills);
    assert!(
        profile.profile_summary.starts_with("Ada Lovelace"),
        "{}",
        profile.profile_summary
    );
    assert_eq!(
        profile.emphasis[0],
        "Built Kafka telemetry pipelines in Rust at Globex (2019-2024)"
    );
    assert!(profile.emphasis.len() <= 5);
    assert!(!profile.emphasis.iter().any(|e| e.contains("Gardening")));

    // The same CV again: no new version; a changed CV: version 2.
    prepare(&db.pool, &handler, Uuid::now_v7(), "ada").await?;
    let other = Uuid::now_v7();
    let _: sagaflow_events::messages::ProfileCompiled = go(
        &db.pool,
        &handler,
        &CompileProfile {
            saga_id: other,
            user_id: "ada".into(),
            cv_text: format!("{CV}- Learned Kubernetes\n"),
            skills: analysed.skills.clone(),
            keywords: analysed.keywords.clone(),
        },
        other,
    )
    .await?
    .expect();
    let versions: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM cv_versions WHERE user_id = 'ada' ORDER BY version",
    )
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(versions, vec![1, 2]);
    Ok(())
}

#[tokio::test]
async fn offline_generation_uses_name_and_keywords_then_the_cache() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let command = generate_command(saga, &analysed, &profile);
    let generated: DocumentGenerated = go(&db.pool, &handler, &command, saga).await?.expect();
    assert!(generated.offline);
    assert!(generated.tokens_used > 0);
    assert!(
        generated.content.contains("Ada Lovelace"),
        "{}",
        generated.content
    );
    let lower = generated.content.to_lowercase();
    for keyword in analysed.keywords.iter().take(2) {
        assert!(
            lower.contains(keyword.as_str()),
            "{keyword} in {}",
            generated.content
        );
    }
    let calls = "SELECT count(*) FROM llm_calls WHERE saga_id = $1";
    assert_eq!(count(&db.pool, calls, saga).await?, 1);
    let (status, used): (String, i64) =
        sqlx::query_as("SELECT status, used FROM token_budgets WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!((status.as_str(), used), ("reserved", generated.tokens_used));

    // A repeat of the same command: the same document.
    let again: DocumentGenerated = go(&db.pool, &handler, &command, saga).await?.expect();
    assert_eq!(again, generated);

    // Another saga with the same inputs: a cache hit, no LLM call.
    let second = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, second, "ada").await?;
    let cached: DocumentGenerated = go(
        &db.pool,
        &handler,
        &generate_command(second, &analysed, &profile),
        second,
    )
    .await?
    .expect();
    assert_eq!(cached.content, generated.content);
    assert_ne!(cached.document_id, generated.document_id);
    assert_eq!(cached.tokens_used, 0);
    assert_eq!(
        count(&db.pool, calls, second).await?,
        0,
        "no new llm_calls row"
    );
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_calls")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(all, 1);
    Ok(())
}

#[tokio::test]
async fn released_budget_refuses_generation_without_a_call() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let release = ReleaseTokenBudget {
        saga_id: saga,
        user_id: "ada".into(),
        tokens: 4000,
        reason: "cancelled".into(),
    };
    let released: TokenBudgetReleased = go(&db.pool, &handler, &release, saga).await?.expect();
    assert_eq!(released.tokens_released, 0);
    let refused: GenerationFailed = go(
        &db.pool,
        &handler,
        &generate_command(saga, &analysed, &profile),
        saga,
    )
    .await?
    .expect();
    assert_eq!(
        (refused.reason.as_str(), refused.tokens_used),
        (CANCELLED, 0)
    );
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM llm_calls WHERE saga_id = $1",
            saga
        )
        .await?,
        0
    );
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM documents WHERE saga_id = $1",
            saga
        )
        .await?,
        0
    );
    Ok(())
}

#[tokio::test]
async fn per_user_limit_refuses_large_budgets() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline().with_user_token_limit(5000);
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, saga, "ada").await?;
    let mut command = generate_command(saga, &analysed, &profile);
    command.token_budget = 6000;
    let refused: GenerationFailed = go(&db.pool, &handler, &command, saga).await?.expect();
    assert!(
        refused.reason.contains("per-user limit"),
        "{}",
        refused.reason
    );
    // 4000 reserved by one saga leaves too little for another of 4000.
    let _: DocumentGenerated = go(
        &db.pool,
        &handler,
        &generate_command(saga, &analysed, &profile),
        saga,
    )
    .await?
    .expect();
    let other = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, other, "ada").await?;
    let refused: GenerationFailed = go(
        &db.pool,
        &handler,
        &generate_command(other, &analysed, &profile),
        other,
    )
    .await?
    .expect();
    assert!(
        refused.reason.contains("user token limit"),
        "{}",
        refused.reason
    );
    Ok(())
}

const INVENTED: &str = "Dear Hiring Manager,\n\nI am Ada Lovelace. I built Kafka telemetry pipelines in \
Rust at Globex, and I ran Kubernetes clusters at Initech in 2011. Telemetry pipelines and robots are \
what I know best, and distributed systems too.\n\nKind regards,\nAda Lovelace";

#[test]
fn the_validator_catches_an_invented_skill_employer_and_year() {
    let evidence = Evidence {
        cv_text: CV.into(),
        company: "Acme Robotics".into(),
        ..Evidence::default()
    };
    let reasons = factuality(INVENTED, &evidence);
    assert!(
        reasons.iter().any(|r| r.contains("Kubernetes")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("Initech")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("2011")), "{reasons:?}");
    assert_eq!(
        reasons.len(),
        3,
        "Rust, Kafka, Globex and 2019 are backed: {reasons:?}"
    );
    let evidence = Evidence {
        requirements: vec!["Rust".into(), "Kafka".into()],
        ..evidence
    };
    let verdict = validate(INVENTED, &evidence);
    assert!(!verdict.passed());
    assert_eq!(verdict.keyword_coverage, 100);
}

#[tokio::test]
async fn validation_regenerates_a_draft_that_invents_a_skill() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
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
    // The saga validates a tampered text that claims Kubernetes: caught, regenerated once.
    let command = ValidateDocument {
        saga_id: saga,
        document_id: generated.document_id,
        content: INVENTED.into(),
        keywords: analysed.keywords.clone(),
    };
    let validated: DocumentValidated = go(&db.pool, &handler, &command, saga).await?.expect();
    assert_ne!(
        validated.document_id, generated.document_id,
        "a new document replaces the draft"
    );
    assert!(validated.ats_score >= 50);
    let statuses: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT document_id, status FROM documents WHERE saga_id = $1 ORDER BY created_at",
    )
    .bind(saga)
    .fetch_all(&db.pool)
    .await?;
    assert_eq!(
        statuses,
        vec![
            (generated.document_id, "void".to_owned()),
            (validated.document_id, "validated".to_owned()),
        ]
    );
    let repeat: DocumentValidated = go(&db.pool, &handler, &command, saga).await?.expect();
    assert_eq!(repeat, validated);

    // With the token budget spent there is no regeneration: a clear rejection.
    let other = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, other, "bob").await?;
    // (A user template: the regeneration cannot come from the first saga's cache.)
    let tiny = GenerateDocument {
        token_budget: 10,
        template: Some("A letter from {candidate_name} to {company}.".into()),
        ..generate_command(other, &analysed, &profile)
    };
    let generated: DocumentGenerated = go(&db.pool, &handler, &tiny, other).await?.expect();
    let command = ValidateDocument {
        saga_id: other,
        document_id: generated.document_id,
        ..command
    };
    let rejected: DocumentRejected = go(&db.pool, &handler, &command, other).await?.expect();
    assert_eq!(rejected.document_id, generated.document_id);
    assert!(
        rejected.reasons.iter().any(|r| r.contains("Kubernetes")),
        "{:?}",
        rejected.reasons
    );
    assert!(
        rejected
            .reasons
            .iter()
            .any(|r| r.contains("budget exhausted")),
        "{:?}",
        rejected.reasons
    );
    assert!(rejected.feedback.contains("Kubernetes"));
    let repeat: DocumentRejected = go(&db.pool, &handler, &command, other).await?.expect();
    assert_eq!(repeat, rejected);

    // The offline draft itself passes as is.
    let third = Uuid::now_v7();
    let (analysed, profile) = prepare(&db.pool, &handler, third, "cy").await?;
    let generated: DocumentGenerated = go(
        &db.pool,
        &handler,
        &generate_command(third, &analysed, &profile),
        third,
    )
    .await?
    .expect();
    let command = ValidateDocument {
        saga_id: third,
        document_id: generated.document_id,
        content: generated.content.clone(),
        keywords: analysed.keywords.clone(),
    };
    let validated: DocumentValidated = go(&db.pool, &handler, &command, third).await?.expect();
    assert_eq!(validated.document_id, generated.document_id);
    Ok(())
}

#[tokio::test]
async fn compensations_are_idempotent() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
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
    let release = ReleaseTokenBudget {
        saga_id: saga,
        user_id: "ada".into(),
        tokens: 4000,
        reason: "failed".into(),
    };
    let first: TokenBudgetReleased = go(&db.pool, &handler, &release, saga).await?.expect();
    assert_eq!(first.tokens_released, 4000 - generated.tokens_used);
    let second: TokenBudgetReleased = go(&db.pool, &handler, &release, saga).await?.expect();
    assert_eq!(second, first);
    let status: String = sqlx::query_scalar("SELECT status FROM documents WHERE document_id = $1")
        .bind(generated.document_id)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(status, "void");
    // The repeated GenerateDocument after the release is refused.
    let late: GenerationFailed = go(
        &db.pool,
        &handler,
        &generate_command(saga, &analysed, &profile),
        saga,
    )
    .await?
    .expect();
    assert_eq!(late.reason, CANCELLED);

    let void = VoidDraft {
        saga_id: saga,
        document_id: Some(generated.document_id),
        reason: "x".into(),
    };
    for _ in 0..2 {
        let voided: DraftVoided = go(&db.pool, &handler, &void, saga).await?.expect();
        assert_eq!(voided.document_id, Some(generated.document_id));
    }
    let unknown = Uuid::now_v7();
    let void = VoidDraft {
        saga_id: unknown,
        document_id: None,
        reason: "x".into(),
    };
    let _: DraftVoided = go(&db.pool, &handler, &void, unknown).await?.expect();
    let _: DraftVoided = go(&db.pool, &handler, &void, unknown).await?.expect();
    let command = GenerateDocument {
        saga_id: saga,
        attempt: 2,
        ..generate_command(saga, &analysed, &profile)
    };
    let refused: GenerationFailed = go(&db.pool, &handler, &command, saga).await?.expect();
    assert_eq!(refused.reason, CANCELLED);
    Ok(())
}
