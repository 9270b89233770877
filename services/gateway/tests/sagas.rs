//! `GET /v1/sagas` (the caller's sagas, filtered and paginated) and `GET
//! /v1/sagas/{id}/stream` (server-sent events of any saga the caller owns),
//! against a real PostgreSQL.

use crate::common;

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

use common::{Gateway, SseReader, TENANT, USER, feed_event, get_request, progress_of};

async fn complete_checkout(gw: &Gateway, id: Uuid, order: Uuid) -> anyhow::Result<()> {
    feed_event(
        gw,
        TENANT,
        &progress_of("checkout", id, 1, "started", None, "running", json!({})),
    )
    .await?;
    feed_event(
        gw,
        TENANT,
        &progress_of(
            "checkout",
            id,
            2,
            "step_completed",
            Some("create_order"),
            "running",
            json!({ "reply": { "order_id": order } }),
        ),
    )
    .await?;
    feed_event(
        gw,
        TENANT,
        &progress_of("checkout", id, 3, "completed", None, "completed", json!({})),
    )
    .await
}

#[tokio::test]
async fn the_list_pages_through_the_callers_sagas_newest_first() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(if i % 2 == 0 {
            gw.checkout(TENANT, USER).await?
        } else {
            gw.generation(TENANT, USER).await?
        });
    }
    gw.checkout(TENANT, "user-2").await?;
    gw.checkout("tenant-b", USER).await?;
    let order = Uuid::now_v7();
    complete_checkout(&gw, mine[0], order).await?;

    // Pages of two, following next_cursor.
    let mut seen = Vec::new();
    let mut uri = "/v1/sagas?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, body) = gw.get(TENANT, USER, &uri).await?;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 2);
        seen.extend(items);
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/sagas?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let ids: Vec<Uuid> = seen
        .iter()
        .filter_map(|i| i["saga_id"].as_str()?.parse().ok())
        .collect();
    let mut newest_first = mine.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first, "all mine, newest first, each once");

    let first_checkout = seen
        .iter()
        .find(|i| i["saga_id"] == json!(mine[0]))
        .expect("listed");
    assert_eq!(first_checkout["definition"], "checkout");
    assert_eq!(first_checkout["status"], "completed");
    assert_eq!(first_checkout["result_id"], json!(order));
    assert_eq!(
        first_checkout["links"]["stream"],
        json!(format!("/v1/sagas/{}/stream", mine[0]))
    );

    // Filters.
    let (_, generations) = gw
        .get(TENANT, USER, "/v1/sagas?definition=generation")
        .await?;
    let kinds: HashSet<&str> = generations["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["definition"].as_str())
        .collect();
    assert_eq!(generations["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(kinds, HashSet::from(["generation"]));
    let (_, completed) = gw.get(TENANT, USER, "/v1/sagas?status=completed").await?;
    assert_eq!(
        completed["items"].as_array().map(Vec::len),
        Some(1),
        "{completed}"
    );
    let (_, pending) = gw
        .get(TENANT, USER, "/v1/sagas?status=pending&definition=checkout")
        .await?;
    assert_eq!(
        pending["items"].as_array().map(Vec::len),
        Some(2),
        "{pending}"
    );
    assert_eq!(pending["next_cursor"], Value::Null);

    // Bad filters name the parameter.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("cursor=yesterday", "cursor"),
        ("definition=orders", "definition"),
        ("status=Robert');DROP", "status"),
    ] {
        let (status, body) = gw.get(TENANT, USER, &format!("/v1/sagas?{query}")).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], "invalid_query");
        assert_eq!(body["field"], field);
    }
    Ok(())
}

#[tokio::test]
async fn a_saga_stream_follows_a_checkout_to_its_end() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.checkout(TENANT, USER).await?;
    feed_event(
        &gw,
        TENANT,
        &progress_of("checkout", id, 1, "started", None, "running", json!({})),
    )
    .await?;
    let response = gw
        .app
        .clone()
        .oneshot(get_request(TENANT, USER, &format!("/v1/sagas/{id}/stream")))
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut sse = SseReader::new(response.into_body());
    let (name, data) = sse.next().await?.expect("first event");
    assert_eq!((name.as_str(), &data["seq"]), ("started", &json!(1)));
    // Steps that happen while connected follow, then the end.
    let order = Uuid::now_v7();
    feed_event(
        &gw,
        TENANT,
        &progress_of(
            "checkout",
            id,
            2,
            "step_completed",
            Some("create_order"),
            "running",
            json!({ "reply": { "order_id": order } }),
        ),
    )
    .await?;
    let (name, data) = sse.next().await?.expect("second event");
    assert_eq!(
        (name.as_str(), &data["step"]),
        ("step_completed", &json!("create_order"))
    );
    feed_event(
        &gw,
        TENANT,
        &progress_of("checkout", id, 3, "completed", None, "completed", json!({})),
    )
    .await?;
    assert_eq!(sse.next().await?.map(|e| e.0).as_deref(), Some("completed"));
    let (name, data) = sse.next().await?.expect("end");
    assert_eq!(name, "end");
    assert_eq!(
        data,
        json!({ "saga_id": id, "definition": "checkout", "status": "completed", "order_id": order })
    );
    assert!(sse.next().await?.is_none());
    Ok(())
}

#[tokio::test]
async fn a_saga_stream_serves_generations_and_only_their_owner() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let id = gw.generation(TENANT, USER).await?;
    let document = Uuid::now_v7();
    for (seq, kind, step, status, detail) in [
        (1, "started", None, "running", json!({})),
        (
            2,
            "step_completed",
            Some("export"),
            "running",
            json!({ "reply": { "document_id": document } }),
        ),
        (3, "completed", None, "completed", json!({})),
    ] {
        feed_event(
            &gw,
            TENANT,
            &progress_of("generation", id, seq, kind, step, status, detail),
        )
        .await?;
    }
    let uri = format!("/v1/sagas/{id}/stream");
    let mut request = get_request(TENANT, USER, &uri);
    request.headers_mut().insert("last-event-id", "2".parse()?);
    let response = gw.app.clone().oneshot(request).await?;
    let mut sse = SseReader::new(response.into_body());
    assert_eq!(sse.next().await?.map(|e| e.0).as_deref(), Some("completed"));
    let (name, data) = sse.next().await?.expect("end");
    assert_eq!(name, "end");
    assert_eq!(data["document_id"], json!(document));
    assert_eq!(data["definition"], "generation");
    // Another user of the same tenant does not own it.
    let (status, body) = gw.get(TENANT, "user-2", &uri).await?;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = gw.get(TENANT, USER, "/v1/sagas/nope/stream").await?;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("id"))
    );
    Ok(())
}
