//! `/v1/tracker/*` and the priority score through the API and real PostgreSQL:
//! analytics on a known data set, preferences, and the score's reasons; reminders
//! (follow-ups and interviews) fired by the scheduler's step into the outbox, and
//! the next-actions list.

use crate::common;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use common::{ALICE, Api, BOB, EVE};
use sagaflow_applications::store::reminders;
use sagaflow_events::messages::{Channel, SendNotification};
use serde_json::{Value, json};

/// Creates an application in `status` applied at `applied_at`, walks it through
/// `then`, and adds interviews `(scheduled_at, outcome)`.
async fn seed(
    api: &Api,
    status: &str,
    applied_at: Option<&str>,
    then: &[&str],
    interviews: &[(&str, &str)],
) -> String {
    let mut body = json!({"company": "Acme", "role": "Dev", "status": status});
    if let Some(at) = applied_at {
        body["applied_at"] = json!(at);
    }
    let id = api.create(ALICE, body).await;
    for next in then {
        let (status, body) = api
            .patch(
                &format!("/v1/applications/{id}"),
                ALICE,
                json!({"status": next}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for (at, outcome) in interviews {
        let (status, body) = api
            .post(
                &format!("/v1/applications/{id}/interviews"),
                ALICE,
                json!({"scheduled_at": at, "outcome": outcome}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    id
}

#[tokio::test]
async fn analytics_on_a_known_data_set() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, empty) = api.get("/v1/tracker/analytics", ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (empty["total"].clone(), empty["response_rate"].clone()),
        (json!(0), Value::Null)
    );

    // A: saved, never sent.
    seed(&api, "saved", None, &[], &[]).await;
    // B: sent, no answer.
    seed(&api, "applied", Some("2025-01-01T00:00:00Z"), &[], &[]).await;
    // C: interviews after 4 days (the cancelled day-2 one does not count), one upcoming.
    seed(
        &api,
        "applied",
        Some("2025-01-01T00:00:00Z"),
        &["interviewing"],
        &[
            ("2025-01-05T00:00:00Z", "passed"),
            ("2025-01-03T00:00:00Z", "cancelled"),
            ("2099-01-01T00:00:00Z", "pending"),
        ],
    )
    .await;
    // D: interviewed after 10 days, then rejected.
    seed(
        &api,
        "applied",
        Some("2025-01-10T00:00:00Z"),
        &["interviewing", "rejected"],
        &[("2025-01-20T00:00:00Z", "failed")],
    )
    .await;
    // E: interviewed after 6 days, then withdrew (still an answer).
    seed(
        &api,
        "applied",
        Some("2025-01-01T00:00:00Z"),
        &["withdrawn"],
        &[("2025-01-07T00:00:00Z", "passed")],
    )
    .await;
    // F: straight to an offer, no interviews recorded.
    seed(
        &api,
        "applied",
        Some("2025-02-01T00:00:00Z"),
        &["offer"],
        &[],
    )
    .await;
    // Bob's application does not count for Alice.
    api.create(
        BOB,
        json!({"company": "Acme", "role": "Dev", "status": "applied"}),
    )
    .await;

    let (status, a) = api.get("/v1/tracker/analytics", ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        a,
        json!({
            "total": 6,
            "by_status": {
                "saved": 1, "applied": 1, "interviewing": 1, "offer": 1,
                "accepted": 0, "rejected": 1, "withdrawn": 1
            },
            "applied": 5,
            "responded": 4,
            "response_rate": 0.8,
            "time_to_first_interview": {"applications": 3, "average_days": 6.7, "median_days": 6.0},
            "interviews": {"total": 5, "upcoming": 1}
        })
    );
    Ok(())
}

#[tokio::test]
async fn preferences_round_trip_and_replace() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, none) = api.get("/v1/tracker/preferences", ALICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        none,
        json!({"locations": [], "remote_ok": false, "salary_target": null, "salary_currency": null,
               "preferred_stack": [], "avoided_stack": [], "updated_at": null})
    );
    let (status, saved) = api
        .put(
            "/v1/tracker/preferences",
            ALICE,
            json!({"locations": ["Berlin", "berlin", "Lisbon"], "remote_ok": true,
                   "salary_target": 90000, "salary_currency": "eur",
                   "preferred_stack": ["Rust", "Kafka"], "avoided_stack": ["PHP"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["locations"], json!(["Berlin", "Lisbon"]));
    assert_eq!(saved["salary_currency"], "EUR");
    assert_eq!(saved["preferred_stack"], json!(["rust", "kafka"]));
    assert!(saved["updated_at"].is_string());
    let (_, read) = api.get("/v1/tracker/preferences", ALICE).await;
    assert_eq!(read, saved);

    // PUT replaces: absent fields are emptied.
    let (_, replaced) = api
        .put(
            "/v1/tracker/preferences",
            ALICE,
            json!({"locations": ["Porto"]}),
        )
        .await;
    assert_eq!(replaced["locations"], json!(["Porto"]));
    assert_eq!(replaced["remote_ok"], false);
    assert_eq!(replaced["salary_target"], Value::Null);
    assert_eq!(replaced["preferred_stack"], json!([]));
    Ok(())
}

fn rules(priority: &Value) -> Vec<(String, i64)> {
    priority["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_priority_score_explains_itself_from_the_preferences() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let (status, _) = api
        .put(
            "/v1/tracker/preferences",
            ALICE,
            json!({"locations": ["Berlin"], "salary_target": 90000, "salary_currency": "EUR",
                   "preferred_stack": ["rust", "postgres"], "avoided_stack": ["php"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let good = api
        .create(
            ALICE,
            json!({"company": "Good", "role": "Dev", "location": "Berlin Mitte", "salary_min": 90000,
                   "salary_currency": "EUR", "stack": ["rust", "postgres"]}),
        )
        .await;
    let bad = api
        .create(
            ALICE,
            json!({"company": "Bad", "role": "Dev", "location": "Paris", "salary_max": 50000,
                   "salary_currency": "EUR", "stack": ["php"]}),
        )
        .await;
    let unknown = api
        .create(ALICE, json!({"company": "Unknown", "role": "Dev"}))
        .await;

    let (_, g) = api.get(&format!("/v1/applications/{good}"), ALICE).await;
    assert_eq!(
        rules(&g["priority"]),
        [
            ("location".into(), 20),
            ("salary".into(), 25),
            ("stack".into(), 20)
        ]
    );
    assert_eq!(g["priority"]["score"], 100);
    assert_eq!(
        g["priority"]["reasons"][0]["message"],
        "Berlin Mitte matches your preferred location Berlin"
    );

    let (_, b) = api.get(&format!("/v1/applications/{bad}"), ALICE).await;
    assert_eq!(
        rules(&b["priority"]),
        [
            ("location".into(), -15),
            ("salary".into(), -20),
            ("stack".into(), -10),
            ("avoided_stack".into(), -10)
        ]
    );
    assert_eq!(b["priority"]["score"], 0);
    assert_eq!(
        b["priority"]["reasons"][3]["message"],
        "Uses php, which you would rather avoid"
    );

    let (_, u) = api.get(&format!("/v1/applications/{unknown}"), ALICE).await;
    assert_eq!(
        rules(&u["priority"]),
        [
            ("location".into(), 0),
            ("salary".into(), 0),
            ("stack".into(), 0)
        ]
    );
    assert_eq!(u["priority"]["score"], 50);

    // Ranked: good, unknown, bad. Bob has no preferences: his own base scores.
    let (_, page) = api.get("/v1/applications?sort=priority", ALICE).await;
    let order: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["company"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["Good", "Unknown", "Bad"]);
    let bobs = api
        .create(
            BOB,
            json!({"company": "Bobco", "role": "Dev", "location": "Paris"}),
        )
        .await;
    let (_, bob) = api.get(&format!("/v1/applications/{bobs}"), BOB).await;
    assert_eq!(rules(&bob["priority"]), [("preferences".into(), 0)]);
    Ok(())
}

/// The `SendNotification` rows in the outbox, oldest first, with their tenant.
async fn notifications(api: &Api) -> anyhow::Result<Vec<(SendNotification, String)>> {
    let rows: Vec<(Vec<u8>, Value, String)> = sqlx::query_as(
        "SELECT payload, headers, topic FROM sagaflow_outbox
         WHERE message_type = 'SendNotification' ORDER BY id",
    )
    .fetch_all(&api.db.pool)
    .await?;
    rows.into_iter()
        .map(|(payload, headers, topic)| {
            assert_eq!(topic, sagaflow_events::topics::NOTIFICATIONS);
            let tenant = headers["tenant-id"].as_str().unwrap_or_default().to_owned();
            Ok((sagaflow_events::decode(&payload)?, tenant))
        })
        .collect()
}

#[tokio::test]
async fn follow_up_reminders_fire_once_and_belong_to_their_owner() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(
            ALICE,
            json!({"company": "Żabka", "role": "Platform Engineer"}),
        )
        .await;
    let path = format!("/v1/applications/{id}/reminders");
    let (status, reminder) = api
        .post(
            &path,
            ALICE,
            json!({"in_minutes": 1, "note": "Ask about the team"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reminder}");
    assert_eq!(
        (reminder["kind"].as_str(), reminder["status"].as_str()),
        (Some("follow_up"), Some("scheduled"))
    );
    // Bad bodies name the field; other owners do not see the application.
    for (body, field) in [
        (json!({}), "due_at"),
        (
            json!({"in_minutes": 5, "due_at": "2099-01-01T00:00:00Z"}),
            "due_at",
        ),
        (json!({"due_at": "2001-01-01T00:00:00Z"}), "due_at"),
        (json!({"in_minutes": 0}), "in_minutes"),
    ] {
        let (status, error) = api.post(&path, ALICE, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        assert_eq!(error["field"], field, "{body}: {error}");
    }
    for who in [BOB, EVE] {
        let (status, _) = api.get(&path, who).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api.post(&path, who, json!({"in_minutes": 1})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, cancelled) = api.post(&path, ALICE, json!({"in_minutes": 2})).await;
    let cancel = format!("{path}/{}", cancelled["id"].as_str().unwrap_or_default());
    let (status, _) = api.delete(&cancel, EVE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api.delete(&cancel, ALICE).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );

    // Not due yet: nothing fires.
    let pool = &api.db.pool;
    let now = Utc::now();
    assert_eq!(reminders::fire_due(pool, now, 100).await?.sent, 0);
    // Due: it fires once, however often the scheduler looks.
    let later = now + Duration::minutes(5);
    assert_eq!(reminders::fire_due(pool, later, 100).await?.sent, 1);
    assert_eq!(reminders::fire_due(pool, later, 100).await?.sent, 0);
    let sent = notifications(&api).await?;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (notification, tenant) = &sent[0];
    assert_eq!(tenant, "acme");
    assert_eq!(notification.notification_id.to_string(), reminder["id"]);
    assert_eq!(
        (
            notification.recipient.as_str(),
            notification.user_id.as_deref()
        ),
        ("alice", Some("alice"))
    );
    assert_eq!(notification.channel, Channel::Push);
    assert_eq!(
        notification.subject,
        "Follow up: Platform Engineer at Żabka"
    );
    assert!(
        notification.body.ends_with("Ask about the team"),
        "{notification:?}"
    );
    let (_, listed) = api.get(&path, ALICE).await;
    let statuses: Vec<&str> = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(statuses, ["sent", "cancelled"]);
    // A sent reminder stays sent.
    let sent_path = format!("{path}/{}", reminder["id"].as_str().unwrap_or_default());
    let (_, body) = api.delete(&sent_path, ALICE).await;
    assert_eq!(body["status"], "sent");

    // Done reminders are pruned after the retention, scheduled ones never.
    api.post(&path, ALICE, json!({"in_minutes": 600})).await;
    assert_eq!(reminders::prune(pool, later - Duration::days(1)).await?, 0);
    assert_eq!(reminders::prune(pool, later + Duration::days(1)).await?, 2);
    let (_, listed) = api.get(&path, ALICE).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    Ok(())
}

/// The first reminder of application `id`.
async fn reminder(api: &Api, id: &str) -> Value {
    let (_, listed) = api
        .get(&format!("/v1/applications/{id}/reminders"), ALICE)
        .await;
    listed["items"][0].clone()
}

#[tokio::test]
async fn interview_reminders_follow_their_interview() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let id = api
        .create(ALICE, json!({"company": "Acme", "role": "SRE"}))
        .await;
    let at = |days: i64| (Utc::now() + Duration::days(days)).to_rfc3339();
    let (_, interview) = api
        .post(
            &format!("/v1/applications/{id}/interviews"),
            ALICE,
            json!({"scheduled_at": at(3), "kind": "phone_screen"}),
        )
        .await;
    let interview_path = format!(
        "/v1/applications/{id}/interviews/{}",
        interview["id"].as_str().unwrap_or_default()
    );
    let first = reminder(&api, &id).await;
    assert_eq!(first["kind"], "interview");
    assert_eq!(first["interview_id"], interview["id"]);
    let due: DateTime<Utc> = first["due_at"].as_str().unwrap_or_default().parse()?;
    let expected = Utc::now() + Duration::days(2);
    assert!(
        (due - expected).num_seconds().abs() < 60,
        "{due} vs {expected}"
    );

    // Moved: a new reminder (a new id) at the new time.
    api.patch(&interview_path, ALICE, json!({"scheduled_at": at(5)}))
        .await;
    let moved = reminder(&api, &id).await;
    assert_ne!(moved["id"], first["id"]);
    assert_ne!(moved["due_at"], first["due_at"]);
    assert_eq!(moved["status"], "scheduled");

    // Cancelled: so is its reminder, and nothing fires.
    api.patch(&interview_path, ALICE, json!({"outcome": "cancelled"}))
        .await;
    assert_eq!(reminder(&api, &id).await["status"], "cancelled");
    let far = Utc::now() + Duration::days(30);
    assert_eq!(reminders::fire_due(&api.db.pool, far, 100).await?.sent, 0);

    // Back on for tomorrow morning: due now, sent with the interview's time.
    api.patch(
        &interview_path,
        ALICE,
        json!({"outcome": "pending", "scheduled_at": at(1)}),
    )
    .await;
    assert_eq!(reminders::fire_due(&api.db.pool, far, 100).await?.sent, 1);
    let sent = notifications(&api).await?;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0.subject, "Interview coming up: SRE at Acme");
    assert!(
        sent[0].0.body.starts_with("Your phone screen interview"),
        "{sent:?}"
    );
    Ok(())
}

#[tokio::test]
async fn next_actions_list_what_to_do_soonest_first() -> anyhow::Result<()> {
    let api = Api::new().await?;
    let applied = (Utc::now() - Duration::days(20)).to_rfc3339();
    let quiet = api
        .create(
            ALICE,
            json!({"company": "Quiet", "role": "Dev", "status": "applied", "applied_at": applied}),
        )
        .await;
    let busy = api
        .create(ALICE, json!({"company": "Busy", "role": "SRE"}))
        .await;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    api.post(
        &format!("/v1/applications/{busy}/interviews"),
        ALICE,
        json!({"scheduled_at": tomorrow, "kind": "technical"}),
    )
    .await;
    api.post(
        &format!("/v1/applications/{busy}/reminders"),
        ALICE,
        json!({"in_minutes": 3 * 24 * 60, "note": "Send the portfolio"}),
    )
    .await;
    let (status, body) = api.get("/v1/tracker/next-actions", ALICE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let summary: Vec<(String, String)> = body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_owned(),
                a["company"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = summary
        .iter()
        .map(|(a, c)| (a.as_str(), c.as_str()))
        .collect();
    // The interview's own reminder is due now (a day before tomorrow's interview).
    assert_eq!(
        pairs,
        [
            ("follow_up", "Quiet"),
            ("reminder", "Busy"),
            ("prepare_interview", "Busy"),
            ("reminder", "Busy"),
        ],
        "{body}"
    );
    assert_eq!(body["items"][0]["application_id"], quiet);
    assert_eq!(body["items"][3]["detail"], "Send the portfolio");
    // Another tenant's user of the same name has nothing to do.
    let (_, theirs) = api.get("/v1/tracker/next-actions", EVE).await;
    assert_eq!(theirs["items"], json!([]));
    Ok(())
}
