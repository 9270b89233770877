//! Tenant isolation with the SAME user id (`ada`) in two tenants: through every HTTP
//! route (documents, renderings, history, deletion) and every Kafka step (CV
//! versions, token budgets, a saga addressed from the wrong tenant), neither sees,
//! changes nor erases the other's data.

use crate::common;

use axum::body::to_bytes;
use axum::http::StatusCode;
use common::*;
use sagaflow_events::messages::{
    AnalyseJob, CompileProfile, DocumentExported, DocumentGenerated, ExportDocument,
    GenerateDocument, GenerationFailed, JobAnalysisFailed, ProfileCompiled,
};
use sagaflow_generation::Generator;
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

const ACME: &str = "acme";
const GLOBEX: &str = "globex";
const USER: &str = "ada";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    tenant: &str,
    user: &str,
) -> anyhow::Result<(StatusCode, Vec<u8>)> {
    let response = app
        .clone()
        .oneshot(request_as(method, uri, tenant, user)?)
        .await?;
    let status = response.status();
    let body = to_bytes(response.into_body(), 10 << 20).await?.to_vec();
    Ok((status, body))
}

/// A generated and exported (md, pdf) document for `ada` in `tenant`.
async fn exported(
    pool: &PgPool,
    handler: &Generator,
    tenant: &str,
    cv: &str,
) -> anyhow::Result<Uuid> {
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare_in(pool, handler, tenant, saga, USER, cv).await?;
    let command = generate_command(saga, &analysed, &profile);
    let generated: DocumentGenerated = go_in(pool, handler, tenant, &command, saga).await?.expect();
    let export = ExportDocument {
        saga_id: saga,
        document_id: generated.document_id,
        formats: vec!["md".into(), "pdf".into()],
    };
    let _: DocumentExported = go_in(pool, handler, tenant, &export, saga).await?.expect();
    Ok(generated.document_id)
}

#[tokio::test]
async fn the_same_user_in_two_tenants_sees_only_their_own_data_on_every_route() -> anyhow::Result<()>
{
    let db = db().await?;
    let handler = Generator::offline();
    let acme_doc = exported(&db.pool, &handler, ACME, CV).await?;
    let globex_cv = format!("{CV}- Led the Globex robotics guild\n");
    let globex_doc = exported(&db.pool, &handler, GLOBEX, &globex_cv).await?;
    let app = guarded_router(db.pool.clone());

    for (tenant, own, other) in [(ACME, acme_doc, globex_doc), (GLOBEX, globex_doc, acme_doc)] {
        let (status, body) = call(&app, "GET", &format!("/documents/{own}"), tenant, USER).await?;
        assert_eq!(status, StatusCode::OK, "{tenant}");
        let meta: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(meta["document_id"], own.to_string());
        for uri in [
            format!("/documents/{other}"),
            format!("/documents/{other}/pdf"),
            format!("/documents/{other}/md"),
        ] {
            let (status, _) = call(&app, "GET", &uri, tenant, USER).await?;
            assert_eq!(status, StatusCode::NOT_FOUND, "{tenant} {uri}");
        }
        let (status, pdf) =
            call(&app, "GET", &format!("/documents/{own}/pdf"), tenant, USER).await?;
        assert_eq!(status, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF"), "{tenant}");
        // Another user of the same tenant sees nothing either.
        let (status, _) = call(&app, "GET", &format!("/documents/{own}"), tenant, "bob").await?;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "GET", "/users/ada/history", tenant, "bob").await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "only one's own history");

        let (status, body) = call(&app, "GET", "/users/ada/history", tenant, USER).await?;
        assert_eq!(status, StatusCode::OK);
        let history: serde_json::Value = serde_json::from_slice(&body)?;
        let documents: Vec<&str> = history["documents"]
            .as_array()
            .map(|d| d.iter().filter_map(|d| d["document_id"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(documents, vec![own.to_string().as_str()], "{tenant}");
        assert_eq!(history["generations"].as_array().map(Vec::len), Some(1));
        assert_eq!(history["cv_versions"], 1, "{tenant}: its own CV only");
    }

    // Deleting ada in acme leaves ada in globex whole.
    let (status, _) = call(&app, "DELETE", "/users/ada", ACME, "bob").await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "no one deletes another user");
    let (status, _) = call(&app, "DELETE", "/users/ada", ACME, USER).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for table in USER_TABLES {
        assert_eq!(rows_in(&db.pool, table, ACME).await?, 0, "acme {table}");
    }
    for table in [
        "users",
        "cv_versions",
        "generations",
        "token_budgets",
        "documents",
    ] {
        assert!(
            rows_in(&db.pool, table, GLOBEX).await? > 0,
            "globex {table} kept"
        );
    }
    let (status, _) = call(&app, "GET", "/users/ada/history", ACME, USER).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        "GET",
        &format!("/documents/{acme_doc}/pdf"),
        ACME,
        USER,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, pdf) = call(
        &app,
        "GET",
        &format!("/documents/{globex_doc}/pdf"),
        GLOBEX,
        USER,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    let (status, _) = call(&app, "GET", "/users/ada/history", GLOBEX, USER).await?;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn cv_versions_and_token_budgets_are_per_tenant() -> anyhow::Result<()> {
    let db = db().await?;
    // 4000 of a 5000 limit: a second open reservation of the same user passes it.
    let handler = Generator::offline().with_user_token_limit(5000);
    let acme = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, acme, USER, CV).await?;
    let _: DocumentGenerated = go_in(
        &db.pool,
        &handler,
        ACME,
        &generate_command(acme, &analysed, &profile),
        acme,
    )
    .await?
    .expect();
    // The same user in globex has its own budget...
    let globex = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, GLOBEX, globex, USER, CV).await?;
    let generated: DocumentGenerated = go_in(
        &db.pool,
        &handler,
        GLOBEX,
        &generate_command(globex, &analysed, &profile),
        globex,
    )
    .await?
    .expect();
    assert!(generated.tokens_used > 0);
    // ...while a second saga in acme meets acme's.
    let again = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, again, USER, CV).await?;
    let refused: GenerationFailed = go_in(
        &db.pool,
        &handler,
        ACME,
        &generate_command(again, &analysed, &profile),
        again,
    )
    .await?
    .expect();
    assert!(
        refused.reason.contains("user token limit"),
        "{}",
        refused.reason
    );

    // CV versions count per tenant: a second CV is version 2 in acme, and a third
    // CV is version 1 in globex (version 3 if the tenants shared the user).
    let version = |tenant: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>(
                "SELECT max(version) FROM cv_versions WHERE tenant_id = $1 AND user_id = $2",
            )
            .bind(tenant)
            .bind(USER)
            .fetch_one(&pool)
            .await
        }
    };
    prepare_in(
        &db.pool,
        &handler,
        ACME,
        Uuid::now_v7(),
        USER,
        &format!("{CV}- Second CV\n"),
    )
    .await?;
    assert_eq!(version(ACME).await?, 2);
    assert_eq!(version(GLOBEX).await?, 1);
    prepare_in(
        &db.pool,
        &handler,
        GLOBEX,
        Uuid::now_v7(),
        USER,
        &format!("{CV}- Third CV\n"),
    )
    .await?;
    assert_eq!(version(GLOBEX).await?, 2);
    assert_eq!(version(ACME).await?, 2, "acme untouched");
    Ok(())
}

#[tokio::test]
async fn a_saga_addressed_from_another_tenant_is_neither_seen_nor_changed() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    let (analysed, profile) = prepare_in(&db.pool, &handler, ACME, saga, USER, CV).await?;
    let before: (String, String) =
        sqlx::query_as("SELECT job_title, tenant_id FROM generations WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;

    let analyse = AnalyseJob {
        saga_id: saga,
        job_description:
            "Junior Gardener at Initech. We need someone to water plants, trim hedges \
                          and mow lawns every single day of the week."
                .into(),
    };
    let failed: JobAnalysisFailed = go_in(&db.pool, &handler, GLOBEX, &analyse, saga)
        .await?
        .expect();
    assert!(
        failed.reason.contains("another tenant"),
        "{}",
        failed.reason
    );
    let compile = CompileProfile {
        saga_id: saga,
        user_id: USER.into(),
        cv_text: "Mallory\nnothing".into(),
        skills: vec![],
        keywords: vec![],
    };
    let refused: ProfileCompiled = go_in(&db.pool, &handler, GLOBEX, &compile, saga)
        .await?
        .expect();
    assert!(refused.emphasis.is_empty());
    let generate: GenerateDocument = generate_command(saga, &analysed, &profile);
    let failed: GenerationFailed = go_in(&db.pool, &handler, GLOBEX, &generate, saga)
        .await?
        .expect();
    assert!(failed.reason.contains("no profile"), "{}", failed.reason);

    let after: (String, String) =
        sqlx::query_as("SELECT job_title, tenant_id FROM generations WHERE saga_id = $1")
            .bind(saga)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(after, before, "acme's saga unchanged");
    for table in USER_TABLES {
        assert_eq!(rows_in(&db.pool, table, GLOBEX).await?, 0, "globex {table}");
    }
    // And acme's own command still works.
    let _: DocumentGenerated = go_in(&db.pool, &handler, ACME, &generate, saga)
        .await?
        .expect();
    Ok(())
}
