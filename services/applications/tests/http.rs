//! The HTTP API through the router and real PostgreSQL: CRUD, isolation by tenant
//! and user on every route, status transitions (and their outbox events), bad
//! input, list filters, interviews and document attachments.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{ALICE, Api, BOB, EVE, assert_error};
use sagaflow_events::messages::ApplicationStatusChanged;
use serde_json::{Value, json};

fn full_body() -> Value {
    json!({
        "company": "Ferrous Systems",
        "role": "Rust engineer",
        "job_description": "Build things\nin Rust.",
        "location": "Berlin",
        "remote": true,
        "salary_min": 80000,
        "salary_max": 95000,
        "salary_currency": "eur",
        "stack": ["Rust", "Postgres", "rust"],
        "source_url": "https://jobs.example.com/42",
        "notes": "referred by Ana"
    })
}

#[tokio::test]
async fn create_read_update_delete() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, created) = api.post("/v1/applications", ALICE, full_body()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["status"], "saved");
    assert_eq!(
        created["allowed_transitions"],
        json!(["applied", "withdrawn"])
    );
    assert_eq!(created["salary_currency"], "EUR");
    assert_eq!(created["stack"], json!(["rust", "postgres"]));
    assert_eq!(created["job_description"], "Build things\nin Rust.");
    assert_eq!(created["applied_at"], Value::Null);
    assert_eq!(created["documents"], json!([]));
    assert_eq!(created["priority"]["score"], 50, "no preferences: the base");
    assert_eq!(created["priority"]["reasons"][0]["rule"], "preferences");

    let (status, read) = api.get(&format!("/v1/applications/{id}"), ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);

    let (status, page) = api.get("/v1/applications", ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            page["total"].as_i64(),
            page["limit"].as_i64(),
            page["offset"].as_i64()
        ),
        (Some(1), Some(20), Some(0))
    );
    let item = &page["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert!(
        item.get("job_description").is_none() && item.get("documents").is_none(),
        "{item}"
    );

    let (status, updated) = api
        .patch(
            &format!("/v1/applications/{id}"),
            ALICE,
            json!({"location": null, "notes": "call back Monday", "salary_max": 99000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["location"], Value::Null);
    assert_eq!(updated["notes"], "call back Monday");
    assert_eq!(updated["salary_max"], 99000);
    assert_eq!(updated["company"], "Ferrous Systems", "absent: unchanged");

    let (status, body) = api.delete(&format!("/v1/applications/{id}"), ALICE).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let gone = api.get(&format!("/v1/applications/{id}"), ALICE).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found", None);
    let again = api.delete(&format!("/v1/applications/{id}"), ALICE).await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found", None);
    Ok(())
}

#[tokio::test]
async fn every_route_is_scoped_by_tenant_and_user() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api.create(ALICE, full_body()).await;
    let (status, interview) = api
        .post(
            &format!("/v1/applications/{id}/interviews"),
            ALICE,
            json!({"scheduled_at": "2025-03-01T10:00:00Z", "kind": "technical"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{interview}");
    let iv = interview["id"].as_str().expect("id").to_owned();
    let (status, _) = api
        .put("/v1/tracker/preferences", ALICE, json!({"remote_ok": true}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let app = format!("/v1/applications/{id}");
    let interviews = format!("{app}/interviews");
    let one_interview = format!("{interviews}/{iv}");
    let documents = format!("{app}/documents");
    for who in [BOB, EVE] {
        let hidden: Vec<(Method, &str, Option<Value>)> = vec![
            (Method::GET, &app, None),
            (Method::PATCH, &app, Some(json!({"status": "applied"}))),
            (Method::DELETE, &app, None),
            (Method::GET, &interviews, None),
            (
                Method::POST,
                &interviews,
                Some(json!({"scheduled_at": "2025-03-02T10:00:00Z"})),
            ),
            (
                Method::PATCH,
                &one_interview,
                Some(json!({"outcome": "passed"})),
            ),
            (Method::DELETE, &one_interview, None),
            (
                Method::POST,
                &documents,
                Some(json!({"generation_id": uuid::Uuid::now_v7()})),
            ),
        ];
        for (method, path, body) in hidden {
            let response = api.call(method.clone(), path, Some(who), body).await;
            assert_error(&response, StatusCode::NOT_FOUND, "not_found", None);
        }
        let (_, page) = api.get("/v1/applications", who).await;
        assert_eq!(page["total"], 0, "{who:?}");
        let (_, analytics) = api.get("/v1/tracker/analytics", who).await;
        assert_eq!(analytics["total"], 0);
        assert_eq!(analytics["interviews"]["total"], 0);
        let (_, prefs) = api.get("/v1/tracker/preferences", who).await;
        assert_eq!(
            (prefs["remote_ok"].clone(), prefs["updated_at"].clone()),
            (json!(false), Value::Null)
        );
    }

    // Nothing of Alice's changed.
    let (status, mine) = api.get(&app, ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["status"], "saved");
    assert_eq!(mine["documents"], json!([]));
    let (_, list) = api.get(&interviews, ALICE).await;
    assert_eq!(list["items"][0]["outcome"], "pending");

    // No internal token from the gateway: 401 on every route.
    let routes: Vec<(Method, &str)> = vec![
        (Method::GET, "/v1/applications"),
        (Method::POST, "/v1/applications"),
        (Method::GET, &app),
        (Method::PATCH, &app),
        (Method::DELETE, &app),
        (Method::GET, &interviews),
        (Method::POST, &interviews),
        (Method::PATCH, &one_interview),
        (Method::DELETE, &one_interview),
        (Method::POST, &documents),
        (Method::GET, "/v1/tracker/analytics"),
        (Method::GET, "/v1/tracker/preferences"),
        (Method::PUT, "/v1/tracker/preferences"),
    ];
    for (method, path) in routes {
        let (status, body) = api.call(method, path, None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "unauthenticated", "{body}");
    }
    // Identity headers are not an identity: a direct call with them is refused.
    let (status, body) = api
        .call_with_headers(
            Method::GET,
            "/v1/applications",
            &[("x-tenant-id", "acme"), ("x-user-id", "alice")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // A token for another service neither.
    let planner = sagaflow_test_support::service_auth::internal_bearer("planner", "acme", "alice");
    let (status, _) = api
        .call_with_headers(
            Method::GET,
            "/v1/applications",
            &[("authorization", &planner)],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

/// The `ApplicationStatusChanged` rows in the outbox, oldest first, with headers.
async fn status_events(api: &Api) -> anyhow::Result<Vec<(ApplicationStatusChanged, Value)>> {
    let rows: Vec<(Vec<u8>, Value, String, String)> = sqlx::query_as(
        "SELECT payload, headers, topic, partition_key FROM sagaflow_outbox
         WHERE message_type = 'ApplicationStatusChanged' ORDER BY id",
    )
    .fetch_all(&api.db.pool)
    .await?;
    rows.into_iter()
        .map(|(payload, headers, topic, key)| {
            assert_eq!(topic, sagaflow_events::topics::APPLICATIONS_EVENTS);
            let event: ApplicationStatusChanged = sagaflow_events::decode(&payload)?;
            assert_eq!(key, event.application_id.to_string());
            Ok((event, headers))
        })
        .collect()
}

#[tokio::test]
async fn status_changes_follow_the_transitions_and_write_events() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(ALICE, json!({"company": "Acme", "role": "Dev"}))
        .await;
    let path = format!("/v1/applications/{id}");

    let skip = api
        .patch(&path, ALICE, json!({"status": "offer", "notes": "lost"}))
        .await;
    assert_error(
        &skip,
        StatusCode::CONFLICT,
        "invalid_transition",
        Some("status"),
    );
    assert_eq!(
        skip.1["detail"],
        "cannot move an application from saved to offer; allowed from saved: applied, withdrawn"
    );
    let (_, unchanged) = api.get(&path, ALICE).await;
    assert_eq!(
        unchanged["notes"],
        Value::Null,
        "a refused PATCH changes nothing"
    );

    let (status, applied) = api.patch(&path, ALICE, json!({"status": "applied"})).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert!(
        applied["applied_at"].is_string(),
        "applied_at filled in: {applied}"
    );
    let (status, same) = api.patch(&path, ALICE, json!({"status": "applied"})).await;
    assert_eq!(status, StatusCode::OK, "same status: no transition");
    assert_eq!(same["status_changed_at"], applied["status_changed_at"]);
    for next in ["interviewing", "offer", "accepted"] {
        let (status, body) = api.patch(&path, ALICE, json!({"status": next})).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some(next)),
            "{body}"
        );
    }
    let closed = api.patch(&path, ALICE, json!({"status": "applied"})).await;
    assert_error(
        &closed,
        StatusCode::CONFLICT,
        "invalid_transition",
        Some("status"),
    );
    let unknown = api.patch(&path, ALICE, json!({"status": "hired"})).await;
    assert_error(
        &unknown,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("status"),
    );
    let (_, done) = api.get(&path, ALICE).await;
    assert_eq!(done["allowed_transitions"], json!([]));
    assert_eq!(done["priority"]["score"], 0);

    let events = status_events(&api).await?;
    let steps: Vec<(Option<&str>, &str)> = events
        .iter()
        .map(|(e, _)| (e.from_status.as_deref(), e.to_status.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, "saved"),
            (Some("saved"), "applied"),
            (Some("applied"), "interviewing"),
            (Some("interviewing"), "offer"),
            (Some("offer"), "accepted"),
        ]
    );
    let (first, headers) = &events[0];
    assert_eq!(first.application_id.to_string(), id);
    assert_eq!((first.tenant_id.as_str(), first.user_id.as_str()), ALICE);
    assert_eq!(
        (first.company.as_str(), first.role.as_str()),
        ("Acme", "Dev")
    );
    assert_eq!(headers["tenant-id"], "acme");
    assert!(
        headers["traceparent"]
            .as_str()
            .is_some_and(|t| t.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")),
        "a child of the request's trace: {headers}"
    );
    let last = &events[4].0;
    let changed_at =
        chrono::DateTime::parse_from_rfc3339(done["status_changed_at"].as_str().unwrap())?;
    assert_eq!(last.changed_at_ms, changed_at.timestamp_millis());
    Ok(())
}

#[tokio::test]
async fn creating_in_a_later_status_fills_applied_at() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, body) = api
        .post(
            "/v1/applications",
            ALICE,
            json!({"company": "Acme", "role": "Dev", "status": "interviewing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["applied_at"].is_string());
    let (_, given) = api
        .post(
            "/v1/applications",
            ALICE,
            json!({"company": "Acme", "role": "Dev", "status": "applied", "applied_at": "2025-01-02T03:04:05+01:00"}),
        )
        .await;
    assert_eq!(given["applied_at"], "2025-01-02T02:04:05Z");
    Ok(())
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(ALICE, json!({"company": "Acme", "role": "Dev"}))
        .await;
    let app = format!("/v1/applications/{id}");

    let malformed = api
        .call_raw(
            Method::POST,
            "/v1/applications",
            Some(ALICE),
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "malformed_json", None);
    let typo = api
        .post(
            "/v1/applications",
            ALICE,
            json!({"company": "A", "role": "B", "compny": "C"}),
        )
        .await;
    assert_error(&typo, StatusCode::BAD_REQUEST, "malformed_json", None);
    assert!(
        typo.1["detail"].as_str().unwrap().contains("compny"),
        "{}",
        typo.1
    );
    let missing = api
        .post("/v1/applications", ALICE, json!({"role": "Dev"}))
        .await;
    assert_error(
        &missing,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("company"),
    );
    let salary = api
        .post("/v1/applications", ALICE, json!({"company": "A", "role": "B", "salary_min": 9, "salary_max": 5, "salary_currency": "EUR"}))
        .await;
    assert_error(
        &salary,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("salary_min"),
    );
    let tag = api.patch(&app, ALICE, json!({"stack": ["rust", ""]})).await;
    assert_error(
        &tag,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("stack[1]"),
    );
    let url = api
        .patch(&app, ALICE, json!({"source_url": "javascript:alert(1)"}))
        .await;
    assert_error(
        &url,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("source_url"),
    );

    let limit = sagaflow_applications::application::JOB_DESCRIPTION_MAX;
    let (status, _) = api
        .patch(&app, ALICE, json!({"job_description": "é".repeat(limit)}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "exactly the limit (in characters) is fine"
    );
    let long = api
        .patch(
            &app,
            ALICE,
            json!({"job_description": "x".repeat(limit + 1)}),
        )
        .await;
    assert_error(
        &long,
        StatusCode::PAYLOAD_TOO_LARGE,
        "field_too_long",
        Some("job_description"),
    );
    let huge = api
        .patch(
            &app,
            ALICE,
            json!({"notes": "x".repeat(sagaflow_applications::http::MAX_BODY_BYTES)}),
        )
        .await;
    assert_error(
        &huge,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    );

    let bad_id = api.get("/v1/applications/not-a-uuid", ALICE).await;
    assert_error(&bad_id, StatusCode::BAD_REQUEST, "invalid_path", Some("id"));
    let bad_interview = api.delete(&format!("{app}/interviews/42"), ALICE).await;
    assert_error(
        &bad_interview,
        StatusCode::BAD_REQUEST,
        "invalid_path",
        Some("interview_id"),
    );
    for (query, field) in [
        ("status=hired", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
        ("sort=salary", "sort"),
        ("colour=red", "query"),
    ] {
        let response = api.get(&format!("/v1/applications?{query}"), ALICE).await;
        assert_error(
            &response,
            StatusCode::BAD_REQUEST,
            "invalid_query",
            Some(field),
        );
    }
    let kind = api
        .post(
            &format!("{app}/interviews"),
            ALICE,
            json!({"scheduled_at": "2025-01-01T10:00:00Z", "kind": "coffee"}),
        )
        .await;
    assert_error(
        &kind,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("kind"),
    );
    let when = api
        .post(
            &format!("{app}/interviews"),
            ALICE,
            json!({"scheduled_at": "tomorrow"}),
        )
        .await;
    assert_error(
        &when,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("scheduled_at"),
    );
    let doc = api
        .post(
            &format!("{app}/documents"),
            ALICE,
            json!({"generation_id": "nope"}),
        )
        .await;
    assert_error(&doc, StatusCode::BAD_REQUEST, "malformed_json", None);
    let prefs = api
        .put(
            "/v1/tracker/preferences",
            ALICE,
            json!({"salary_target": 90000}),
        )
        .await;
    assert_error(
        &prefs,
        StatusCode::BAD_REQUEST,
        "validation_failed",
        Some("salary_currency"),
    );

    let nowhere = api.get("/v1/nowhere", ALICE).await;
    assert_error(&nowhere, StatusCode::NOT_FOUND, "not_found", None);
    let method = api
        .call(Method::PUT, "/v1/applications", Some(ALICE), None)
        .await;
    assert_error(
        &method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        None,
    );
    Ok(())
}

#[tokio::test]
async fn list_filters_sorts_and_paginates() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let mut ids = Vec::new();
    for (company, status) in [
        ("Acme", "saved"),
        ("ACME Labs", "applied"),
        ("Globex", "applied"),
        ("Initech", "interviewing"),
        ("100% Remote_Co", "saved"),
    ] {
        ids.push(
            api.create(
                ALICE,
                json!({"company": company, "role": "Dev", "status": status}),
            )
            .await,
        );
    }
    let _ = api
        .create(BOB, json!({"company": "Acme", "role": "Dev"}))
        .await;

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["company"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page) = api.get("/v1/applications?company=acme", ALICE).await;
    assert_eq!(names(&page), ["ACME Labs", "Acme"], "newest first");
    let (_, page) = api.get("/v1/applications?company=%25", ALICE).await;
    assert_eq!(names(&page), ["100% Remote_Co"], "% is literal");
    let (_, page) = api
        .get("/v1/applications?status=applied,interviewing", ALICE)
        .await;
    assert_eq!(names(&page), ["Initech", "Globex", "ACME Labs"]);
    assert_eq!(page["total"], 3);
    let (_, page) = api
        .get("/v1/applications?limit=2&offset=1&sort=created", ALICE)
        .await;
    assert_eq!(names(&page), ["Initech", "Globex"]);
    assert_eq!(
        (
            page["total"].as_i64(),
            page["limit"].as_i64(),
            page["offset"].as_i64()
        ),
        (Some(5), Some(2), Some(1))
    );

    // Touching the oldest makes it the most recently updated.
    let (status, _) = api
        .patch(
            &format!("/v1/applications/{}", ids[0]),
            ALICE,
            json!({"notes": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = api.get("/v1/applications?limit=1", ALICE).await;
    assert_eq!(names(&page), ["Acme"]);

    // Priority: interviewing (+15) first, then the rest by recency.
    let (_, page) = api
        .get("/v1/applications?sort=priority&limit=2", ALICE)
        .await;
    assert_eq!(names(&page), ["Initech", "Acme"]);
    assert_eq!(page["items"][0]["priority"]["score"], 65);
    assert_eq!(page["total"], 5);
    Ok(())
}

#[tokio::test]
async fn interviews_crud() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(ALICE, json!({"company": "Acme", "role": "Dev"}))
        .await;
    let base = format!("/v1/applications/{id}/interviews");
    let (status, late) = api
        .post(&base, ALICE, json!({"scheduled_at": "2025-03-10T14:00:00Z", "kind": "onsite", "duration_minutes": 240, "interviewer": "Dana", "location": "HQ", "notes": "bring laptop"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{late}");
    assert_eq!(late["application_id"], id.as_str());
    assert_eq!(late["kind"], "onsite");
    assert_eq!(late["outcome"], "pending");
    let (_, early) = api
        .post(
            &base,
            ALICE,
            json!({"scheduled_at": "2025-03-01T09:00:00Z"}),
        )
        .await;
    assert_eq!(early["kind"], "other");

    let (status, list) = api.get(&base, ALICE).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [early["id"].as_str().unwrap(), late["id"].as_str().unwrap()],
        "earliest first"
    );

    let one = format!("{base}/{}", late["id"].as_str().unwrap());
    let (status, patched) = api
        .patch(&one, ALICE, json!({"outcome": "passed", "notes": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        (patched["outcome"].as_str(), patched["notes"].clone()),
        (Some("passed"), Value::Null)
    );
    assert_eq!(patched["interviewer"], "Dana");

    let (status, _) = api.delete(&one, ALICE).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = api.patch(&one, ALICE, json!({"outcome": "failed"})).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(gone.1["detail"], "interview not found");

    // An interview id under another of Alice's applications is not found here.
    let other = api
        .create(ALICE, json!({"company": "Globex", "role": "Dev"}))
        .await;
    let crossed = api
        .patch(
            &format!(
                "/v1/applications/{other}/interviews/{}",
                early["id"].as_str().unwrap()
            ),
            ALICE,
            json!({"outcome": "passed"}),
        )
        .await;
    assert_error(&crossed, StatusCode::NOT_FOUND, "not_found", None);

    // Deleting the application deletes its interviews.
    let (status, _) = api.delete(&format!("/v1/applications/{id}"), ALICE).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM interviews")
        .fetch_one(&api.db.pool)
        .await?;
    assert_eq!(left, 0);
    Ok(())
}

#[tokio::test]
async fn attaching_a_document_through_the_api_is_idempotent() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(ALICE, json!({"company": "Acme", "role": "Dev"}))
        .await;
    let generation = uuid::Uuid::now_v7();
    let path = format!("/v1/applications/{id}/documents");
    let (status, first) = api
        .post(&path, ALICE, json!({"generation_id": generation}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["application_id"], id.as_str());
    assert_eq!(first["generation_id"], generation.to_string());
    assert_eq!(first["saga_id"], Value::Null);
    let (status, again) = api
        .post(&path, ALICE, json!({"generation_id": generation}))
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let (_, app) = api.get(&format!("/v1/applications/{id}"), ALICE).await;
    assert_eq!(
        app["documents"],
        json!([{"generation_id": generation, "attached_at": first["attached_at"], "saga_id": null}])
    );
    Ok(())
}
