//! `/v1/tracker/*` and the priority score through the API and real PostgreSQL:
//! analytics on a known data set, preferences, and the score's reasons.

mod common;

use axum::http::StatusCode;
use common::{ALICE, Api, BOB};
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
