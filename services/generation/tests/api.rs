//! Export and the HTTP API: a PDF that parses, the endpoints, and user deletion.

use crate::common;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use common::*;
use sagaflow_events::messages::{
    DocumentExported, DocumentGenerated, ExportDocument, ExportFailed,
};
use sagaflow_generation::Generator;
use sagaflow_test_support::service_auth::{internal_bearer, internal_verifier};

/// The generation API as served: behind the internal token guard.
fn router(pool: sqlx::PgPool) -> axum::Router {
    sagaflow_service_auth::internal::guard(
        sagaflow_generation::router(pool),
        internal_verifier("generation"),
    )
}
use tower::ServiceExt;
use uuid::Uuid;

/// A request as `ada` of `tenant-a` (the tenant of [`incoming`]).
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
) -> anyhow::Result<(StatusCode, String, Vec<u8>)> {
    call_as(app, "ada", method, uri).await
}

async fn call_as(
    app: &axum::Router,
    user: &str,
    method: &str,
    uri: &str,
) -> anyhow::Result<(StatusCode, String, Vec<u8>)> {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(
                    "authorization",
                    internal_bearer("generation", "tenant-a", user),
                )
                .body(Body::empty())?,
        )
        .await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = to_bytes(response.into_body(), 10 * 1024 * 1024)
        .await?
        .to_vec();
    Ok((status, content_type, body))
}

#[tokio::test]
async fn exports_a_parsable_pdf_and_serves_it() -> anyhow::Result<()> {
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
    let id = generated.document_id;
    let export = ExportDocument {
        saga_id: saga,
        document_id: id,
        formats: ["markdown", "html", "pdf", "pdf-ats", "pdf-modern"]
            .map(String::from)
            .to_vec(),
    };
    let exported: DocumentExported = go(&db.pool, &handler, &export, saga).await?.expect();
    assert_eq!(
        exported.formats,
        vec!["md", "html", "pdf", "pdf-ats", "pdf-modern"]
    );
    let again: DocumentExported = go(&db.pool, &handler, &export, saga).await?.expect();
    assert_eq!(again, exported);

    let app = router(db.pool.clone());
    let (status, content_type, pdf) = call(&app, "GET", &format!("/documents/{id}/pdf")).await?;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/pdf")
    );
    assert!(pdf.len() < 2 * 1024 * 1024);
    let parsed = lopdf::Document::load_mem(&pdf)?;
    let pages: Vec<u32> = parsed.get_pages().keys().copied().collect();
    let text = parsed.extract_text(&pages)?;
    assert!(text.contains("Ada Lovelace"), "{text}");
    for layout in ["pdf-ats", "pdf-modern"] {
        let (status, _, other) = call(&app, "GET", &format!("/documents/{id}/{layout}")).await?;
        assert_eq!(status, StatusCode::OK, "{layout}");
        assert_ne!(other, pdf, "{layout} is a layout of its own");
        let parsed = lopdf::Document::load_mem(&other)?;
        let info = parsed
            .trailer
            .get(b"Info")
            .and_then(|i| parsed.dereference(i));
        assert!(info.is_ok(), "{layout} has document metadata");
    }

    let (status, content_type, html) = call(&app, "GET", &format!("/documents/{id}/html")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"));
    let html = String::from_utf8(html)?;
    assert!(html.contains("Ada Lovelace"), "{html}");
    // Rendered from Markdown: paragraphs, and the signature's line break kept.
    assert!(html.contains("<p>Dear Hiring Manager at "), "{html}");
    assert!(html.contains("<p>Kind regards,<br>\n"), "{html}");
    let (status, content_type, md) = call(&app, "GET", &format!("/documents/{id}/md")).await?;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/markdown"));
    assert_eq!(
        String::from_utf8(md)?.trim_end(),
        generated.content.trim_end()
    );
    let total: i64 = sqlx::query_scalar(
        "SELECT sum(length(bytes))::BIGINT FROM document_files WHERE document_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    assert_eq!(total, exported.size_bytes);

    let (status, _, meta) = call(&app, "GET", &format!("/documents/{id}")).await?;
    assert_eq!(status, StatusCode::OK);
    let meta: serde_json::Value = serde_json::from_slice(&meta)?;
    assert_eq!(meta["status"], "final");
    assert_eq!(
        meta["formats"],
        serde_json::json!(["html", "md", "pdf", "pdf-ats", "pdf-modern"])
    );
    let budget: String = sqlx::query_scalar("SELECT status FROM token_budgets WHERE saga_id = $1")
        .bind(saga)
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(budget, "settled");

    let (status, _, _) = call(&app, "GET", &format!("/documents/{id}/docx")).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&app, "GET", &format!("/documents/{}", Uuid::now_v7())).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let bad = ExportDocument {
        formats: vec!["docx".into()],
        ..export
    };
    let failed: ExportFailed = go(&db.pool, &handler, &bad, saga).await?.expect();
    assert!(failed.reason.contains("docx"));
    Ok(())
}

#[tokio::test]
async fn history_and_user_deletion() -> anyhow::Result<()> {
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
    let export = ExportDocument {
        saga_id: saga,
        document_id: generated.document_id,
        formats: vec!["pdf".into()],
    };
    let _: DocumentExported = go(&db.pool, &handler, &export, saga).await?.expect();
    let keep = Uuid::now_v7();
    prepare(&db.pool, &handler, keep, "bob").await?;

    let app = router(db.pool.clone());
    let (status, _, body) = call(&app, "GET", "/users/ada/history").await?;
    assert_eq!(status, StatusCode::OK);
    let history: serde_json::Value = serde_json::from_slice(&body)?;
    assert_eq!(history["candidate_name"], "Ada Lovelace");
    assert_eq!(history["generations"][0]["company"], "Acme Robotics");
    assert_eq!(
        history["documents"][0]["document_id"],
        generated.document_id.to_string()
    );

    let (status, _, _) = call(&app, "DELETE", "/users/ada").await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for table in [
        "users",
        "cv_versions",
        "generations",
        "token_budgets",
        "llm_cache",
        "documents",
        "llm_calls",
    ] {
        let left: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE user_id = 'ada'"
        ))
        .fetch_one(&db.pool)
        .await?;
        assert_eq!(left, 0, "{table}");
    }
    let files: i64 = sqlx::query_scalar("SELECT count(*) FROM document_files")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(files, 0);
    let (status, _, _) = call(&app, "GET", "/users/ada/history").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(&app, "DELETE", "/users/ada").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call_as(&app, "bob", "GET", "/users/bob/history").await?;
    assert_eq!(status, StatusCode::OK, "other users stay");
    Ok(())
}

#[tokio::test]
async fn the_erase_user_data_command_deletes_a_users_data_through_the_inbox() -> anyhow::Result<()>
{
    let db = db().await?;
    let handler = Generator::offline();
    let saga = Uuid::now_v7();
    prepare(&db.pool, &handler, saga, "ada").await?;
    prepare(&db.pool, &handler, Uuid::now_v7(), "bob").await?;
    let erase = incoming(
        None,
        &sagaflow_events::messages::EraseUserData {
            user_id: "ada".into(),
            reason: "account closed".into(),
        },
    );
    let outcome = sagaflow_bus::inbox::process(
        &db.pool,
        &handler,
        sagaflow_generation::NAME,
        &erase,
        Default::default(),
    )
    .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);
    for (user, expected) in [("ada", 0i64), ("bob", 1)] {
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE user_id = $1")
            .bind(user)
            .fetch_one(&db.pool)
            .await?;
        assert_eq!(users, expected, "{user}");
    }
    let generations: i64 =
        sqlx::query_scalar("SELECT count(*) FROM generations WHERE user_id = 'ada'")
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(generations, 0);
    Ok(())
}

#[tokio::test]
async fn a_direct_call_without_the_gateways_token_is_refused() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    // With the gateway's token the request gets through (to "no such user" here).
    let (status, _, _) = call(&app, "GET", "/users/ada/history").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for authorization in [None, Some(internal_bearer("cart", "tenant-a", "ada"))] {
        let mut request = Request::builder()
            .uri("/users/ada/history")
            .header("x-tenant-id", "tenant-a")
            .header("x-user-id", "ada");
        if let Some(value) = &authorization {
            request = request.header("authorization", value);
        }
        let response = app.clone().oneshot(request.body(Body::empty())?).await?;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await?)?;
        assert_eq!(body["code"], "unauthenticated", "{body}");
    }
    Ok(())
}

/// A JSON request as `user` of `tenant`; returns the status and the JSON body.
async fn json_as(
    app: &axum::Router,
    (tenant, user): (&str, &str),
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<(StatusCode, serde_json::Value)> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", internal_bearer("generation", tenant, user));
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(request.body(body)?).await?;
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1024 * 1024).await?;
    let value = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, value))
}

#[tokio::test]
async fn cv_versions_and_templates_belong_to_their_tenant_and_user() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let ada = ("tenant-a", "ada");
    // The same user id in another tenant is another person.
    let other = ("tenant-b", "ada");
    let cv = serde_json::json!({"text": "Ada Lovelace\nBuilt Kafka consumers in Rust."});
    let (status, first) = json_as(&app, ada, "POST", "/profile/cv", Some(cv.clone())).await?;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(first["skills"], serde_json::json!(["Rust", "Kafka"]));
    let (status, again) = json_as(&app, ada, "POST", "/profile/cv", Some(cv)).await?;
    assert_eq!(
        (status, again["version"].clone()),
        (StatusCode::OK, 1.into())
    );
    let newer = serde_json::json!({"text": "Ada Lovelace\nRan PostgreSQL on Kubernetes."});
    let (status, second) = json_as(&app, ada, "POST", "/profile/cv", Some(newer)).await?;
    assert_eq!(
        (status, second["version"].clone()),
        (StatusCode::CREATED, 2.into())
    );
    let (_, listed) = json_as(&app, ada, "GET", "/profile/cv", None).await?;
    let versions: Vec<i64> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["version"].as_i64())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(listed["items"][1]["first_line"], "Ada Lovelace");
    let (status, v1) = json_as(&app, ada, "GET", "/profile/cv/1", None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["text"], "Ada Lovelace\nBuilt Kafka consumers in Rust.");
    let (_, theirs) = json_as(&app, other, "GET", "/profile/cv", None).await?;
    assert_eq!(theirs["items"], serde_json::json!([]));
    let (status, _) = json_as(&app, other, "GET", "/profile/cv/1", None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (body, needle) in [
        (serde_json::json!({}), "text: is required"),
        (serde_json::json!({"text": "   "}), "text: must be"),
        (serde_json::json!({"text": 7}), "text: must be a string"),
    ] {
        let (status, error) = json_as(&app, ada, "POST", "/profile/cv", Some(body)).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert!(
            error["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(needle),
            "{error}"
        );
    }

    // Templates: only known placeholders; a generation without one uses the user's.
    let bad = serde_json::json!({"template": "Dear {hiring_manager}"});
    let (status, error) = json_as(
        &app,
        ada,
        "PUT",
        "/profile/templates/cover_letter",
        Some(bad),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("{hiring_manager}")
    );
    let (status, _) = json_as(&app, ada, "PUT", "/profile/templates/poem", None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mine = "Three short paragraphs from {candidate_name} to {company} about {skills}.";
    let (status, stored) = json_as(
        &app,
        ada,
        "PUT",
        "/profile/templates/cover_letter",
        Some(serde_json::json!({ "template": mine })),
    )
    .await?;
    assert_eq!(
        (status, stored["template"].as_str()),
        (StatusCode::OK, Some(mine))
    );
    let (_, theirs) = json_as(&app, other, "GET", "/profile/templates", None).await?;
    assert_eq!(theirs["items"], serde_json::json!([]));

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
    let used: Option<String> =
        sqlx::query_scalar("SELECT template FROM documents WHERE document_id = $1")
            .bind(generated.document_id)
            .fetch_one(&db.pool)
            .await?;
    assert_eq!(used.as_deref(), Some(mine));

    // Token budgets per stage.
    let (status, error) = json_as(
        &app,
        ada,
        "PUT",
        "/profile/budgets",
        Some(serde_json::json!({"generate_tokens": 5})),
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("generate_tokens")
    );
    let budgets = serde_json::json!({"generate_tokens": 800, "regenerate_tokens": null});
    let (status, _) = json_as(&app, ada, "PUT", "/profile/budgets", Some(budgets.clone())).await?;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = json_as(&app, ada, "GET", "/profile/budgets", None).await?;
    assert_eq!(mine, budgets);
    let (_, theirs) = json_as(&app, other, "GET", "/profile/budgets", None).await?;
    assert_eq!(theirs["generate_tokens"], serde_json::Value::Null);

    let (status, _) = json_as(&app, ada, "DELETE", "/profile/templates/cover_letter", None).await?;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = json_as(&app, ada, "DELETE", "/profile/templates/cover_letter", None).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}
