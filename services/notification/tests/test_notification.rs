//! `POST /notifications/test`: sent once per idempotency key (or per channel and
//! minute) to the recipient the service knows, 422 without one, 409 on a
//! turned-off channel, 429 with `Retry-After` past five an hour.

use crate::common;

use axum::http::StatusCode;
use common::{
    A, Answer, B, TestClock, USER, app, as_user, call, db, notify_user, put_preferences, send,
};
use sagaflow_events::messages::{Channel, NotificationSent};
use sagaflow_notification::test_notification::{BODY, SUBJECT};
use sagaflow_notification::{NAME, NotificationHandler, sent};
use uuid::Uuid;

const EMAIL: &str = r#"{"channel": "EMAIL"}"#;

/// Test notifications recorded as sent to (tenant, user).
async fn tests_sent(pool: &sqlx::PgPool, tenant: &str, user: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM sent_notifications
         WHERE tenant_id = $1 AND user_id = $2 AND subject = $3",
    )
    .bind(tenant)
    .bind(user)
    .bind(SUBJECT)
    .fetch_one(pool)
    .await?)
}

/// A checkout's e-mail to the user in `tenant`: the recipient the service learns.
async fn known_email(pool: &sqlx::PgPool, tenant: &str, address: &str) -> anyhow::Result<()> {
    let (_, _, message) = notify_user(tenant, Some(USER), Channel::Email, address);
    let _: NotificationSent = send(pool, &NotificationHandler::default(), NAME, &message)
        .await?
        .expect();
    Ok(())
}

fn id(answer: &Answer) -> anyhow::Result<Uuid> {
    Ok(answer.body["notification_id"]
        .as_str()
        .unwrap_or_default()
        .parse()?)
}

fn message(answer: &Answer) -> &str {
    answer.body["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_test_notification_is_sent_once_per_idempotency_key() -> anyhow::Result<()> {
    let db = db("notify_test_once").await?;
    let clock = TestClock::new();
    let app = app(db.pool.clone(), &clock);
    known_email(&db.pool, A, "old@a.example").await?;
    known_email(&db.pool, A, "ada@a.example").await?;

    let first = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k-1"),
    )
    .await?;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(first.body["channel"], "EMAIL");
    let first_id = id(&first)?;
    let again = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k-1"),
    )
    .await?;
    assert_eq!(
        (again.status, id(&again)?),
        (StatusCode::ACCEPTED, first_id)
    );
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 1, "sent once");
    let record = sent(&db.pool, first_id).await?.expect("sent");
    assert_eq!(
        (
            record.channel.as_str(),
            record.recipient.as_str(),
            record.body.as_str(),
            record.saga_id
        ),
        ("email", "ada@a.example", BODY, None),
        "to the latest recipient known for the user"
    );

    // The same key for another channel is a different request.
    let reused = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(r#"{"channel": "PUSH"}"#),
        Some("k-1"),
    )
    .await?;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.body
    );
    assert_eq!(reused.body["code"], "idempotency_key_reused");

    // Without a key: once per channel and minute.
    let unkeyed = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        None,
    )
    .await?;
    assert_eq!(unkeyed.status, StatusCode::ACCEPTED, "{}", unkeyed.body);
    let same_minute = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        None,
    )
    .await?;
    assert_eq!(id(&same_minute)?, id(&unkeyed)?);
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 2);
    clock.advance(chrono::Duration::seconds(61));
    let next_minute = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        None,
    )
    .await?;
    assert_eq!(next_minute.status, StatusCode::ACCEPTED);
    assert_ne!(id(&next_minute)?, id(&unkeyed)?);
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 3);

    // The same user id in tenant B: the service knows no address of theirs there,
    // and tenant A's key is not theirs.
    let in_b = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(B, USER),
        Some(EMAIL),
        Some("k-1"),
    )
    .await?;
    assert_eq!(
        in_b.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        in_b.body
    );
    assert_eq!(message(&in_b), "no recipient known for this user on EMAIL");
    // Nor on a channel it never sent them anything on.
    let sms = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(r#"{"channel": "SMS"}"#),
        None,
    )
    .await?;
    assert_eq!(sms.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message(&sms), "no recipient known for this user on SMS");
    assert_eq!(tests_sent(&db.pool, B, USER).await?, 0);

    // A bad channel or key.
    for (body, key, status) in [
        (
            r#"{"channel": "FAX"}"#,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"channel": "EMAIL", "recipient": "evil@x.example"}"#,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("{}", None, StatusCode::UNPROCESSABLE_ENTITY),
        (EMAIL, Some("has space"), StatusCode::BAD_REQUEST),
    ] {
        let answer = call(
            &app,
            "POST",
            "/notifications/test",
            as_user(A, USER),
            Some(body),
            key,
        )
        .await?;
        assert_eq!(answer.status, status, "{body} {key:?}: {}", answer.body);
    }
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 3);
    Ok(())
}

#[tokio::test]
async fn a_turned_off_channel_is_409_and_nothing_is_sent() -> anyhow::Result<()> {
    let db = db("notify_test_off").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    known_email(&db.pool, A, "ada@a.example").await?;
    let put = put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": false}}"#).await?;
    assert_eq!(put.status, StatusCode::OK);

    let answer = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k"),
    )
    .await?;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert_eq!(answer.body["code"], "channel_turned_off");
    assert!(
        message(&answer).contains("the user turned off EMAIL"),
        "{}",
        answer.body
    );
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 0);
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_tests")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(keys, 0, "the key is free for a later try");

    // Turned back on, the same key sends.
    put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": true}}"#).await?;
    let answer = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k"),
    )
    .await?;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 1);
    Ok(())
}

#[tokio::test]
async fn past_five_an_hour_is_429_with_retry_after() -> anyhow::Result<()> {
    let db = db("notify_test_limit").await?;
    let clock = TestClock::new();
    let app = app(db.pool.clone(), &clock);
    known_email(&db.pool, A, "ada@a.example").await?;
    known_email(&db.pool, B, "ada@b.example").await?;

    for n in 0..5 {
        let key = format!("k-{n}");
        let answer = call(
            &app,
            "POST",
            "/notifications/test",
            as_user(A, USER),
            Some(EMAIL),
            Some(&key),
        )
        .await?;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{n}: {}", answer.body);
        clock.advance(chrono::Duration::minutes(10));
    }
    // 50 minutes after the first: it leaves the window in 10 minutes.
    let limited = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k-5"),
    )
    .await?;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert_eq!(limited.body["code"], "rate_limited");
    assert_eq!(limited.retry_after, Some(600));
    // A repeat of an earlier request is no new send: still answered.
    let repeat = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k-0"),
    )
    .await?;
    assert_eq!(repeat.status, StatusCode::ACCEPTED);
    // The same user id in tenant B has their own allowance.
    let in_b = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(B, USER),
        Some(EMAIL),
        Some("k-5"),
    )
    .await?;
    assert_eq!(in_b.status, StatusCode::ACCEPTED, "{}", in_b.body);
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 5);

    clock.advance(chrono::Duration::minutes(10));
    let later = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(EMAIL),
        Some("k-5"),
    )
    .await?;
    assert_eq!(later.status, StatusCode::ACCEPTED, "{}", later.body);
    assert_eq!(tests_sent(&db.pool, A, USER).await?, 6);
    Ok(())
}
