//! Plans that fail validation are returned with every reason and emit nothing:
//! no command reaches the outbox (only the audit trail on `planner.events`).
//! Budget (money, generations, tokens), other tenants' and users' resources,
//! unknown resources, unpriced SKUs, missing information, unsupported requests.

use crate::common;

use axum::http::StatusCode;
use common::{CV, JOB, Planner, TENANT, USER};
use serde_json::Value;
use uuid::Uuid;

/// Posts `text`, expects a 422 rejection, and returns its reasons joined.
async fn rejected(planner: &Planner, text: &str) -> anyhow::Result<String> {
    let before = planner.outbox().await?.len();
    let (status, body) = planner.intent(text, false).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}: {body:#}");
    assert_eq!(body["code"], "plan_rejected");
    let plan = &body["plan"];
    assert_eq!(plan["status"], "rejected");
    assert_eq!(plan["validation"]["ok"], false);
    assert_eq!(plan["emitted"], Value::Array(vec![]));
    assert_eq!(plan["sagas"], Value::Array(vec![]), "no saga started");
    let kinds: Vec<&str> = plan["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.last(), Some(&"plan_rejected"), "{kinds:?}");
    // Nothing but the audit trail was written.
    let written = planner.outbox().await?;
    assert!(
        written[before..]
            .iter()
            .all(|r| r.topic == "planner.events"),
        "{:#?}",
        &written[before..]
    );
    assert!(planner.commands().await?.is_empty());
    let reasons: Vec<&str> = plan["validation"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!reasons.is_empty());
    assert_eq!(
        body["detail"],
        format!("the plan was rejected: {}", reasons.join("; "))
    );
    Ok(reasons.join(" | "))
}

#[tokio::test]
async fn plans_over_budget_are_rejected_with_reasons() -> anyhow::Result<()> {
    let planner = Planner::start(|s| {
        s.max_tokens = 3_000;
        s.generation_tokens = 4_000;
    })
    .await?;
    // 1250.00 with tax against a 500.00 budget.
    let why = rejected(&planner, "Buy 1 of GOLD").await?;
    assert!(
        why.contains("spending 1250.00 EUR (tax included) exceeds the plan budget of 500.00 EUR"),
        "{why}"
    );
    // A quantity the plan bounds refuse.
    let why = rejected(&planner, "Buy 5000 of MUG").await?;
    assert!(why.contains("out of bounds"), "{why}");
    // Tokens: a generation reserves 4000 against a 3000 budget.
    let why = rejected(
        &planner,
        &format!("Write a cover letter for this job: {JOB}\nMy CV: {CV}"),
    )
    .await?;
    assert!(
        why.contains("4000 LLM tokens exceed the plan budget of 3000"),
        "{why}"
    );

    let no_generations = Planner::start(|s| s.max_generations = 0).await?;
    let why = rejected(
        &no_generations,
        &format!("Write a resume for this job: {JOB}\nMy CV: {CV}"),
    )
    .await?;
    assert!(why.contains("exceed the plan limit of 0"), "{why}");
    Ok(())
}

#[tokio::test]
async fn other_tenants_and_users_resources_are_refused() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let (theirs, bobs, mine) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    planner.generation_finished("globex", USER, theirs).await?;
    planner.generation_finished(TENANT, "bob", bobs).await?;
    planner.generation_finished(TENANT, USER, mine).await?;
    let (my_app, their_app, unknown_app) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    planner.application_created(TENANT, USER, my_app).await?;
    planner
        .application_created("globex", USER, their_app)
        .await?;

    let why = rejected(
        &planner,
        &format!("Attach generation {theirs} to application {my_app}"),
    )
    .await?;
    assert!(
        why.contains(&format!("generation {theirs} is not yours")),
        "{why}"
    );
    let why = rejected(
        &planner,
        &format!("Attach generation {bobs} to application {my_app}"),
    )
    .await?;
    assert!(
        why.contains(&format!("generation {bobs} is not yours")),
        "{why}"
    );
    let why = rejected(
        &planner,
        &format!("Attach generation {mine} to application {their_app}"),
    )
    .await?;
    assert!(
        why.contains(&format!("application {their_app} is not yours")),
        "{why}"
    );
    let why = rejected(
        &planner,
        &format!("attach {} to application {unknown_app}", Uuid::now_v7()),
    )
    .await?;
    assert!(why.contains("is not known to be yours"), "{why}");

    // Someone else's cart, named in the text.
    let someone = Uuid::now_v7();
    let why = rejected(&planner, &format!("Add 2 MUG to cart {someone}")).await?;
    assert!(
        why.contains(&format!("cart {someone} is not yours")),
        "{why}"
    );

    // The caller's own resources pass: the attach command goes out.
    let (status, view) = planner
        .intent(
            &format!("Attach generation {mine} to application {my_app}"),
            false,
        )
        .await?;
    assert_eq!(status, StatusCode::CREATED, "{view:#}");
    let commands = planner.commands().await?;
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].message_type, "AttachDocumentToApplication");
    assert_eq!(commands[0].payload["tenant_id"], TENANT);
    assert_eq!(commands[0].header("tenant-id"), TENANT);
    Ok(())
}

#[tokio::test]
async fn incomplete_unpriced_unclear_and_unsupported_requests_are_refused() -> anyhow::Result<()> {
    let planner = Planner::start(|_| {}).await?;
    let why = rejected(&planner, "Buy 2 of NOPE-9").await?;
    assert!(why.contains("NOPE-9 is not in the catalogue"), "{why}");
    let why = rejected(&planner, "Write a cover letter please").await?;
    assert!(
        why.contains("missing information: job_description, cv_text"),
        "{why}"
    );
    let why = rejected(
        &planner,
        "refund my last order and transfer 100 EUR to account 7",
    )
    .await?;
    assert!(why.contains("unsupported request"), "{why}");

    let strict = Planner::start(|s| s.min_confidence_percent = 95).await?;
    let why = rejected(&strict, "Buy 2 of MUG").await?;
    assert!(why.contains("please rephrase"), "{why}");
    Ok(())
}
