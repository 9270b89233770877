//! Generations through the gateway: `POST /v1/generations` (outbox, validation,
//! idempotency), the projection of generation progress, the SSE stream,
//! cancellation and `GET /v1/history`, against a real PostgreSQL.

use crate::common;

use axum::http::StatusCode;
use sagaflow_bus::{Backoff, Outcome, inbox};
use sagaflow_events::messages::{DocumentKind, InitiateGeneration, SagaProgressed};
use sagaflow_gateway::{NAME, Projection, Settings};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use common::{
    Gateway, SseReader, TENANT, USER, count, generation_body, generation_id, get_request, incoming,
    outbox, post_request_to,
};

const AT_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn progress(
    saga_id: Uuid,
    seq: i64,
    kind: &str,
    step: Option<&str>,
    status: &str,
    detail: Value,
) -> SagaProgressed {
    SagaProgressed {
        saga_id,
        definition: "generation".into(),
        definition_version: 1,
        seq,
        status: status.into(),
        step: step.map(str::to_owned),
        kind: kind.into(),
        detail: detail.to_string(),
        at_ms: AT_MS + seq * 1000,
        entries: Vec::new(),
        result: None,
    }
}

async fn feed(gw: &Gateway, event: &SagaProgressed) -> anyhow::Result<Outcome> {
    let message = incoming(TENANT, event.saga_id, event);
    Ok(inbox::process(gw.pool(), &Projection, NAME, &message, Backoff::default()).await)
}

#[tokio::test]
async fn post_writes_one_initiate_generation_to_the_outbox() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (status, body) = gw
        .post_generation(TENANT, USER, "key-1", &generation_body())
        .await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = generation_id(&body)?;
    assert_eq!(id.get_version_num(), 7, "generation ids are UUIDv7");
    assert_eq!(
        body,
        json!({
            "generation_id": id,
            "status": "pending",
            "links": {
                "self": format!("/v1/generations/{id}"),
                "events": format!("/v1/sagas/{id}/events"),
                "stream": format!("/v1/generations/{id}/stream"),
            }
        })
    );
    let rows = outbox(gw.pool()).await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.topic, "orchestrator.commands");
    assert_eq!(row.key, id.to_string());
    assert_eq!(row.message_type, "InitiateGeneration");
    assert_eq!(
        row.headers.get("tenant-id").map(String::as_str),
        Some(TENANT)
    );
    assert_eq!(row.headers.get("saga-id"), Some(&id.to_string()));
    let command: InitiateGeneration = sagaflow_events::decode(&row.payload)?;
    assert_eq!(
        command,
        InitiateGeneration {
            generation_id: id,
            user_id: USER.to_owned(),
            kind: DocumentKind::CoverLetter,
            cv_text: generation_body()["cv_text"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            job_description: generation_body()["job_description"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            template: Some("Dear {{company}},".into()),
            token_budget: 6000,
        }
    );

    let (status, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{id}"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(
        view,
        json!({
            "generation_id": id, "kind": "cover_letter", "status": "pending",
            "document_id": null, "steps": [], "failure": null
        })
    );

    // Defaults: resume, no template, budget 4000.
    let minimal = json!({
        "kind": "resume",
        "cv_text": "Ada",
        "job_description": "x".repeat(50),
    });
    let (status, body) = gw.post_generation(TENANT, USER, "key-2", &minimal).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let rows = outbox(gw.pool()).await?;
    let command: InitiateGeneration = sagaflow_events::decode(&rows[1].payload)?;
    assert_eq!(command.kind, DocumentKind::Resume);
    assert_eq!((command.template, command.token_budget), (None, 4000));
    Ok(())
}

#[tokio::test]
async fn invalid_requests_are_rejected_and_write_nothing() -> anyhow::Result<()> {
    let gw = Gateway::with_settings(Settings {
        max_body_bytes: 30_000,
        ..common::settings()
    })
    .await?;
    let with = |field: &str, value: Value| {
        let mut body = generation_body();
        body[field] = value;
        body.to_string()
    };
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            with("kind", json!("poem")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        (
            with("cv_text", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "cv_text",
        ),
        (
            with("job_description", json!("too short")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "job_description",
        ),
        (
            with("template", json!("x".repeat(5001))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "template",
        ),
        (
            with("token_budget", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "token_budget",
        ),
        (
            with("token_budget", json!(100_001)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "token_budget",
        ),
        ("{".to_owned(), StatusCode::BAD_REQUEST, ""),
        ("[1]".to_owned(), StatusCode::BAD_REQUEST, ""),
        (
            with("cv_text", json!("x".repeat(30_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
    ];
    for (i, (body, expected, field)) in cases.into_iter().enumerate() {
        let (status, error) = gw
            .send(post_request_to(
                "/v1/generations",
                Some(TENANT),
                Some(USER),
                Some(&format!("k-{i}")),
                body,
            ))
            .await?;
        assert_eq!(status, expected, "case {i}: {error}");
        if !field.is_empty() {
            assert_eq!(error["field"], field, "case {i}: {error}");
        }
    }
    let (status, error) = gw
        .send(post_request_to(
            "/v1/generations",
            Some(TENANT),
            Some(USER),
            None,
            generation_body().to_string(),
        ))
        .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["field"], "Idempotency-Key");
    let (status, _) = gw
        .send(post_request_to(
            "/v1/generations",
            None,
            Some(USER),
            Some("k"),
            generation_body().to_string(),
        ))
        .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(outbox(gw.pool()).await?.len(), 0);
    assert_eq!(count(gw.pool(), "generations").await?, 0);
    assert_eq!(count(gw.pool(), "idempotency_keys").await?, 0);
    Ok(())
}

#[tokio::test]
async fn same_key_replays_and_another_body_is_422() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let first = gw
        .post_generation(TENANT, USER, "retry-me", &generation_body())
        .await?;
    assert_eq!(first.0, StatusCode::ACCEPTED);
    let second = gw
        .post_generation(TENANT, USER, "retry-me", &generation_body())
        .await?;
    assert_eq!(second, first);
    let pretty = serde_json::to_string_pretty(&generation_body())?;
    let third = gw
        .send(post_request_to(
            "/v1/generations",
            Some(TENANT),
            Some(USER),
            Some("retry-me"),
            pretty,
        ))
        .await?;
    assert_eq!(third, first);
    let mut other = generation_body();
    other["token_budget"] = json!(7000);
    let (status, body) = gw.post_generation(TENANT, USER, "retry-me", &other).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "idempotency_key_reused");
    // A key used for a generation is not reused for a checkout.
    let (status, _) = gw
        .post(TENANT, USER, "retry-me", &common::checkout_body())
        .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outbox(gw.pool()).await?.len(), 1);
    assert_eq!(count(gw.pool(), "generations").await?, 1);
    Ok(())
}

#[tokio::test]
async fn progress_shows_status_steps_and_the_final_document() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    let checkout = gw.checkout(TENANT, USER).await?;
    let (draft, validated, exported) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let validate_done = progress(
        id,
        4,
        "step_completed",
        Some("validate"),
        "running",
        json!({ "reply": { "saga_id": id, "document_id": validated, "keyword_coverage": 90, "ats_score": 80 } }),
    );
    let events = [
        progress(id, 1, "started", None, "running", json!({})),
        progress(
            id,
            2,
            "step_completed",
            Some("generate"),
            "running",
            json!({ "reply": { "document_id": draft } }),
        ),
        progress(
            id,
            3,
            "command_sent",
            Some("validate"),
            "running",
            json!({}),
        ),
        validate_done.clone(),
    ];
    for event in &events {
        assert_eq!(feed(&gw, event).await?, Outcome::Handled);
    }
    let uri = format!("/v1/generations/{id}");
    let (status, view) = gw.get(TENANT, USER, &uri).await?;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "running");
    assert_eq!(view["document_id"], json!(validated), "validated stands in");
    assert_eq!(
        view["steps"][3],
        json!({ "seq": 4, "kind": "step_completed", "step": "validate", "status": "running", "at": "2026-01-01T00:00:04Z" })
    );

    feed(
        &gw,
        &progress(
            id,
            5,
            "step_completed",
            Some("export"),
            "running",
            json!({ "reply_type": "DocumentExported", "reply": { "document_id": exported } }),
        ),
    )
    .await?;
    feed(
        &gw,
        &progress(id, 6, "completed", None, "completed", json!({})),
    )
    .await?;
    // Delivered out of order, a validate completion never replaces the export's.
    let reordered = gw.generation(TENANT, USER).await?;
    let mut export_first = validate_done.clone();
    (export_first.saga_id, export_first.seq) = (reordered, 2);
    export_first.step = Some("export".into());
    export_first.detail = json!({ "reply": { "document_id": exported } }).to_string();
    let mut validate_late = validate_done;
    (validate_late.saga_id, validate_late.seq) = (reordered, 1);
    for event in [&export_first, &validate_late] {
        assert_eq!(feed(&gw, event).await?, Outcome::Handled);
    }
    let (_, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{reordered}"))
        .await?;
    assert_eq!(view["document_id"], json!(exported));
    let (_, view) = gw.get(TENANT, USER, &uri).await?;
    assert_eq!(view["status"], "completed");
    assert_eq!(view["document_id"], json!(exported));
    assert_eq!(view["failure"], Value::Null);
    assert_eq!(view["steps"].as_array().map(Vec::len), Some(6));

    // The saga log is served for generations too.
    let (status, log) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{id}/events"))
        .await?;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["events"].as_array().map(Vec::len), Some(6));

    // Checkouts still project next to generations.
    feed(
        &gw,
        &progress(checkout, 1, "started", None, "running", json!({})),
    )
    .await?;
    let (_, view) = gw
        .get(TENANT, USER, &format!("/v1/checkouts/{checkout}"))
        .await?;
    assert_eq!(view["status"], "running");
    assert_eq!(view["steps"].as_array().map(Vec::len), Some(1));
    // Progress of a saga without a row is kept (for its start, which may come
    // later) but shown to nobody.
    let stranger = Uuid::now_v7();
    feed(
        &gw,
        &progress(stranger, 1, "started", None, "running", json!({})),
    )
    .await?;
    assert_eq!(count(gw.pool(), "saga_progress").await?, 10);
    let (status, _) = gw
        .get(TENANT, USER, &format!("/v1/sagas/{stranger}/events"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn a_failed_generation_reports_its_failure() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    let rejected = json!({ "reason": "DocumentRejected: missing keywords" });
    for event in [
        progress(id, 1, "started", None, "running", json!({})),
        progress(
            id,
            2,
            "step_failed",
            Some("validate"),
            "compensating",
            rejected.clone(),
        ),
        progress(
            id,
            3,
            "step_compensated",
            Some("generate"),
            "compensating",
            json!({}),
        ),
        progress(id, 4, "compensated", None, "compensated", json!({})),
    ] {
        feed(&gw, &event).await?;
    }
    let (_, view) = gw
        .get(TENANT, USER, &format!("/v1/generations/{id}"))
        .await?;
    assert_eq!(view["status"], "compensated");
    assert_eq!(view["document_id"], Value::Null);
    assert_eq!(
        view["failure"],
        json!({ "kind": "step_failed", "step": "validate", "seq": 2, "detail": rejected })
    );
    Ok(())
}

#[tokio::test]
async fn stream_sends_progress_as_it_appears_then_end() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    let document = Uuid::now_v7();
    feed(&gw, &progress(id, 1, "started", None, "running", json!({}))).await?;
    feed(
        &gw,
        &progress(
            id,
            2,
            "command_sent",
            Some("analyse_job"),
            "running",
            json!({ "type": "command_sent", "message_type": "AnalyseJob" }),
        ),
    )
    .await?;

    let response = gw
        .app
        .clone()
        .oneshot(get_request(
            TENANT,
            USER,
            &format!("/v1/generations/{id}/stream"),
        ))
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut sse = SseReader {
        body: response.into_body(),
        buffer: String::new(),
    };
    let (name, data) = sse.next().await?.expect("first event");
    assert_eq!(name, "started");
    assert_eq!(data["seq"], 1);
    let (name, data) = sse.next().await?.expect("second event");
    assert_eq!(name, "command_sent");
    assert_eq!(
        (&data["step"], &data["detail"]),
        (
            &json!("analyse_job"),
            &json!({ "message_type": "AnalyseJob" })
        )
    );

    // Rows that appear while the client is connected follow.
    feed(
        &gw,
        &progress(
            id,
            3,
            "step_completed",
            Some("export"),
            "running",
            json!({ "reply": { "document_id": document } }),
        ),
    )
    .await?;
    let (name, data) = sse.next().await?.expect("third event");
    assert_eq!((name.as_str(), &data["seq"]), ("step_completed", &json!(3)));
    feed(
        &gw,
        &progress(id, 4, "completed", None, "completed", json!({})),
    )
    .await?;
    let (name, data) = sse.next().await?.expect("fourth event");
    assert_eq!(
        (name.as_str(), &data["status"]),
        ("completed", &json!("completed"))
    );
    let (name, data) = sse.next().await?.expect("end event");
    assert_eq!(name, "end");
    assert_eq!(
        data,
        json!({ "generation_id": id, "status": "completed", "document_id": document })
    );
    assert!(sse.next().await?.is_none(), "the stream closes after end");

    // Reconnecting after the end with Last-Event-ID: only the end.
    let mut request = get_request(TENANT, USER, &format!("/v1/generations/{id}/stream"));
    request.headers_mut().insert("last-event-id", "4".parse()?);
    let response = gw.app.clone().oneshot(request).await?;
    let mut sse = SseReader {
        body: response.into_body(),
        buffer: String::new(),
    };
    assert_eq!(sse.next().await?.map(|e| e.0).as_deref(), Some("end"));
    assert!(sse.next().await?.is_none());
    Ok(())
}

#[tokio::test]
async fn other_callers_get_404() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    feed(&gw, &progress(id, 1, "started", None, "running", json!({}))).await?;
    let view = format!("/v1/generations/{id}");
    let stream = format!("/v1/generations/{id}/stream");
    for (tenant, user) in [("tenant-b", USER), (TENANT, "user-2")] {
        for uri in [&view, &stream] {
            let (status, body) = gw.get(tenant, user, uri).await?;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{tenant}/{user} {uri}: {body}"
            );
            assert_eq!(body["code"], "not_found");
        }
        let (status, _) = gw.delete(tenant, user, &view).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{tenant}/{user} DELETE");
    }
    assert_eq!(
        gw.get("tenant-b", USER, &format!("/v1/sagas/{id}/events"))
            .await?
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(count(gw.pool(), "generation_cancellations").await?, 0);
    let unknown = format!("/v1/generations/{}", Uuid::now_v7());
    assert_eq!(
        gw.get(TENANT, USER, &unknown).await?.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        gw.delete(TENANT, USER, &unknown).await?.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = gw.get(TENANT, USER, "/v1/generations/nope").await?;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("id"))
    );
    Ok(())
}

#[tokio::test]
async fn delete_sends_one_cancel_to_the_orchestrator_unless_already_terminal() -> anyhow::Result<()>
{
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    let uri = format!("/v1/generations/{id}");
    let (status, body) = gw.delete(TENANT, USER, &uri).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["generation_id"], json!(id));
    assert_eq!(body["status"], "pending");
    assert!(body["cancellation"]["requested_at"].is_string(), "{body}");
    let stored: (Uuid, String, String, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT generation_id, tenant_id, user_id, forwarded_at FROM generation_cancellations",
    )
    .fetch_one(gw.pool())
    .await?;
    assert_eq!(
        (stored.0, stored.1.as_str(), stored.2.as_str()),
        (id, TENANT, USER)
    );
    assert!(stored.3.is_some(), "forwarded in the same transaction");
    // Asking again is accepted and changes nothing.
    let (status, again) = gw.delete(TENANT, USER, &uri).await?;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["cancellation"], body["cancellation"]);
    assert_eq!(count(gw.pool(), "generation_cancellations").await?, 1);
    // One CancelSaga for the orchestrator, keyed and tagged with the saga.
    let sent = outbox(gw.pool()).await?;
    assert_eq!(sent.len(), 2, "InitiateGeneration then one CancelSaga");
    let cancel = &sent[1];
    assert_eq!(cancel.message_type, "CancelSaga");
    assert_eq!(cancel.topic, "orchestrator.commands");
    assert_eq!(cancel.key, id.to_string());
    let body: sagaflow_events::messages::CancelSaga = sagaflow_events::decode(&cancel.payload)?;
    assert_eq!(body.saga_id, id);

    let done = gw.generation(TENANT, USER).await?;
    feed(
        &gw,
        &progress(done, 1, "completed", None, "completed", json!({})),
    )
    .await?;
    let (status, body) = gw
        .delete(TENANT, USER, &format!("/v1/generations/{done}"))
        .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "conflict");
    assert_eq!(count(gw.pool(), "generation_cancellations").await?, 1);
    Ok(())
}

#[tokio::test]
async fn history_lists_checkouts_and_generations_newest_first() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let checkout = gw.checkout(TENANT, USER).await?;
    let generation = gw.generation(TENANT, USER).await?;
    let _others = (
        gw.generation(TENANT, "user-2").await?,
        gw.checkout("tenant-b", USER).await?,
    );
    feed(
        &gw,
        &progress(generation, 1, "started", None, "running", json!({})),
    )
    .await?;
    let (status, body) = gw.get(TENANT, USER, "/v1/history").await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{body}");
    assert_eq!(items[0]["type"], "generation");
    assert_eq!(items[0]["id"], json!(generation));
    assert_eq!(items[0]["kind"], "cover_letter");
    assert_eq!(items[0]["status"], "running");
    assert_eq!(items[0]["document_id"], Value::Null);
    assert_eq!(
        items[0]["links"]["stream"],
        json!(format!("/v1/generations/{generation}/stream"))
    );
    assert_eq!(items[1]["type"], "checkout");
    assert_eq!(items[1]["id"], json!(checkout));
    assert_eq!(items[1]["status"], "pending");
    assert_eq!(
        items[1]["links"]["self"],
        json!(format!("/v1/checkouts/{checkout}"))
    );
    let (_, empty) = gw.get("tenant-c", USER, "/v1/history").await?;
    assert_eq!(empty, json!({ "items": [] }));
    Ok(())
}

#[tokio::test]
async fn erasing_me_removes_my_generations_and_tells_the_generation_service() -> anyhow::Result<()>
{
    let gw = Gateway::start().await?;
    let mine = gw.generation(TENANT, USER).await?;
    let theirs = gw.generation(TENANT, "user-2").await?;
    let checkout = gw.checkout(TENANT, USER).await?;
    let (status, body) = gw.delete(TENANT, USER, "/v1/me").await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["erased_generations"], 1);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT generation_id FROM generations")
        .fetch_all(gw.pool())
        .await?;
    assert_eq!(
        left,
        vec![theirs],
        "only the caller's generations go; {mine} is gone"
    );
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM checkouts WHERE checkout_id = $1")
        .bind(checkout)
        .fetch_one(gw.pool())
        .await?;
    assert_eq!(kept, 1, "orders are financial records and stay");
    let email: String = sqlx::query_scalar(
        "SELECT request->>'customer_email' FROM checkouts WHERE checkout_id = $1",
    )
    .bind(checkout)
    .fetch_one(gw.pool())
    .await?;
    assert_eq!(email, "[erased]", "the checkout keeps no e-mail address");
    let sent = outbox(gw.pool()).await?;
    let cancels: Vec<_> = sent
        .iter()
        .filter(|row| row.message_type == "CancelSaga")
        .map(|row| sagaflow_events::decode::<sagaflow_events::messages::CancelSaga>(&row.payload))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        cancels.iter().map(|c| c.saga_id).collect::<Vec<_>>(),
        vec![mine],
        "the caller's running generation is cancelled, nobody else's"
    );
    let erase = sent.last().expect("an outbox row");
    assert_eq!(erase.message_type, "UserErasureRequested");
    assert_eq!(erase.topic, "gateway.events");
    let request: sagaflow_events::messages::UserErasureRequested =
        sagaflow_events::decode(&erase.payload)?;
    assert_eq!(request.user_id, USER);
    let (status, _) = gw
        .get(TENANT, USER, &format!("/v1/generations/{mine}"))
        .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}
