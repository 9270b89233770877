//! SendNotification through the inbox, and POST /send through the router.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{incoming, send};
use sagaflow_events::messages::{Channel, NotificationFailed, NotificationSent, SendNotification};
use sagaflow_notification::{NAME, NotificationHandler, router, sent};
use sagaflow_test_support::TestDb;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

async fn db() -> anyhow::Result<TestDb> {
    let db = TestDb::create("notify").await?;
    sagaflow_notification::migrate(&db.pool).await?;
    Ok(db)
}

async fn count(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM sent_notifications")
            .fetch_one(pool)
            .await?,
    )
}

fn notify(notification_id: Uuid, saga_id: Uuid, recipient: &str) -> sagaflow_bus::Incoming {
    incoming(
        Some(saga_id),
        &SendNotification {
            notification_id,
            saga_id: Some(saga_id),
            channel: Channel::Email,
            recipient: recipient.into(),
            subject: "Your order".into(),
            body: "Thanks!".into(),
            user_id: None,
        },
    )
}

#[tokio::test]
async fn duplicate_send_is_recorded_once() -> anyhow::Result<()> {
    let db = db().await?;
    let handler = NotificationHandler::default();
    let (id, saga) = (Uuid::now_v7(), Uuid::now_v7());
    // Two distinct messages (so the inbox does not dedup them) with one notification id.
    for _ in 0..2 {
        let reply: NotificationSent =
            send(&db.pool, &handler, NAME, &notify(id, saga, "a@example.com"))
                .await?
                .expect();
        assert_eq!(
            (reply.notification_id, reply.saga_id, reply.channel),
            (id, Some(saga), Channel::Email)
        );
    }
    assert_eq!(count(&db.pool).await?, 1);
    let record = sent(&db.pool, id).await?.expect("recorded");
    assert_eq!(
        (
            record.channel.as_str(),
            record.recipient.as_str(),
            record.saga_id
        ),
        ("email", "a@example.com", Some(saga))
    );

    let blank = Uuid::now_v7();
    let failed: NotificationFailed = send(&db.pool, &handler, NAME, &notify(blank, saga, "  "))
        .await?
        .expect();
    assert_eq!(failed.reason, "recipient is blank");
    assert!(sent(&db.pool, blank).await?.is_none());
    assert_eq!(count(&db.pool).await?, 1);
    Ok(())
}

async fn post(app: &axum::Router, body: &str) -> anyhow::Result<(StatusCode, Value)> {
    let request = Request::builder()
        .method("POST")
        .uri("/send")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, serde_json::from_slice(&bytes)?))
}

#[tokio::test]
async fn post_send_records_and_rejects_bad_input() -> anyhow::Result<()> {
    let db = db().await?;
    let app = router(db.pool.clone());
    let (status, body) = post(&app, &json!({"channel": "sms", "recipient": "+44 7700 900123", "subject": "Hi", "body": "Shipped"}).to_string()).await?;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id: Uuid = body["notification_id"].as_str().expect("an id").parse()?;
    let record = sent(&db.pool, id).await?.expect("recorded");
    assert_eq!(
        (
            record.channel.as_str(),
            record.body.as_str(),
            record.saga_id
        ),
        ("sms", "Shipped", None)
    );

    // A client-chosen id makes retries idempotent.
    let chosen = Uuid::now_v7();
    for _ in 0..2 {
        let (status, body) = post(&app, &json!({"channel": "PUSH", "recipient": "device-1", "subject": "s", "body": "b", "notification_id": chosen}).to_string()).await?;
        assert_eq!(
            (status, body["notification_id"].as_str()),
            (StatusCode::ACCEPTED, Some(chosen.to_string().as_str()))
        );
    }
    assert_eq!(count(&db.pool).await?, 2);

    let bad = [
        json!({"channel": "email", "recipient": "", "subject": "s", "body": "b"}).to_string(),
        json!({"channel": "email", "recipient": "not-an-address", "subject": "s", "body": "b"})
            .to_string(),
        json!({"channel": "fax", "recipient": "x@y", "subject": "s", "body": "b"}).to_string(),
        json!({"channel": "email", "recipient": "x@y"}).to_string(),
        "{not json".to_owned(),
    ];
    for body in bad {
        let (status, json) = post(&app, &body).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert_eq!(json["code"], "invalid_input", "{json}");
        assert!(json["detail"].is_string());
    }
    assert_eq!(count(&db.pool).await?, 2, "nothing recorded for bad input");
    Ok(())
}
