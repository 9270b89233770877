//! Notification preferences: the API behind the gateway's token (defaults, put and
//! get, the same user id in two tenants, bad bodies, 401), and the handler
//! skipping a turned-off channel with its reason while the saga still gets its
//! reply.

use crate::common;

use axum::http::StatusCode;
use common::{A, B, TestClock, USER, app, as_user, call, db, notify_user, put_preferences, send};
use sagaflow_events::messages::{Channel, NotificationSent};
use sagaflow_notification::{NAME, NotificationHandler, sent, skipped};
use sagaflow_test_support::service_auth::internal_bearer;
use serde_json::json;

#[tokio::test]
async fn preferences_default_to_accepted_and_are_kept_per_tenant_and_user() -> anyhow::Result<()> {
    let db = db("notify_prefs").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    let all_on = json!({"channels": {"EMAIL": true, "SMS": true, "PUSH": true}});

    let got = call(&app, "GET", "/preferences", as_user(A, USER), None, None).await?;
    assert_eq!((got.status, &got.body), (StatusCode::OK, &all_on));

    let put = put_preferences(
        &app,
        as_user(A, USER),
        r#"{"channels": {"PUSH": false, "EMAIL": false}}"#,
    )
    .await?;
    let stored = json!({"channels": {"EMAIL": false, "SMS": true, "PUSH": false}});
    assert_eq!((put.status, &put.body), (StatusCode::OK, &stored));
    let got = call(&app, "GET", "/preferences", as_user(A, USER), None, None).await?;
    assert_eq!(got.body, stored);

    // A channel the body does not name keeps its state.
    let put = put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": true}}"#).await?;
    assert_eq!(
        put.body,
        json!({"channels": {"EMAIL": true, "SMS": true, "PUSH": false}})
    );

    // The same user id in tenant B, and another user in tenant A, are untouched.
    let other_tenant = call(&app, "GET", "/preferences", as_user(B, USER), None, None).await?;
    assert_eq!(other_tenant.body, all_on);
    let other_user = call(&app, "GET", "/preferences", as_user(A, "bob"), None, None).await?;
    assert_eq!(other_user.body, all_on);
    put_preferences(&app, as_user(B, USER), r#"{"channels": {"SMS": false}}"#).await?;
    let in_a = call(&app, "GET", "/preferences", as_user(A, USER), None, None).await?;
    assert_eq!(
        in_a.body,
        json!({"channels": {"EMAIL": true, "SMS": true, "PUSH": false}})
    );
    let in_b = call(&app, "GET", "/preferences", as_user(B, USER), None, None).await?;
    assert_eq!(
        in_b.body,
        json!({"channels": {"EMAIL": true, "SMS": false, "PUSH": true}})
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_body_is_refused_naming_what_is_wrong() -> anyhow::Result<()> {
    let db = db("notify_prefs_bad").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    for (body, status, names) in [
        (
            r#"{"channels": {"FAX": false}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "FAX",
        ),
        (
            r#"{"channels": {"EMAIL": "off"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "channels.EMAIL",
        ),
        (
            r#"{"channels": {"SMS": 0}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "channels.SMS",
        ),
        (
            r#"{"channels": {"SMS": false}, "user_id": "bob"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "user_id",
        ),
        (
            r#"{"PUSH": false}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "PUSH",
        ),
        ("{not json", StatusCode::BAD_REQUEST, ""),
    ] {
        let put = call(
            &app,
            "PUT",
            "/preferences",
            as_user(A, USER),
            Some(body),
            None,
        )
        .await?;
        assert_eq!(put.status, status, "{body}: {}", put.body);
        let message = put.body["detail"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {message}");
    }
    // Nothing was stored: a refused body changes nothing, even its valid part.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_preferences")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(stored, 0);
    Ok(())
}

#[tokio::test]
async fn without_the_gateways_token_every_route_is_401() -> anyhow::Result<()> {
    let db = db("notify_prefs_401").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    let off = r#"{"channels": {"EMAIL": false}}"#;
    let for_another_service = Some(internal_bearer("order", A, USER));
    for bearer in [
        None,
        Some("Bearer nonsense".to_owned()),
        for_another_service,
    ] {
        for (method, uri, body) in [
            ("GET", "/preferences", None),
            ("PUT", "/preferences", Some(off)),
            (
                "POST",
                "/notifications/test",
                Some(r#"{"channel": "EMAIL"}"#),
            ),
        ] {
            let answer = call(&app, method, uri, bearer.clone(), body, None).await?;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {bearer:?}"
            );
            assert_eq!(answer.body["code"], "unauthenticated", "{}", answer.body);
        }
    }
    // A client's identity headers are no token either.
    let request = axum::http::Request::builder()
        .method("PUT")
        .uri("/preferences")
        .header("x-tenant-id", A)
        .header("x-user-id", USER)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(off))?;
    let response = tower::ServiceExt::oneshot(app.clone(), request).await?;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_preferences")
        .fetch_one(&db.pool)
        .await?;
    assert_eq!(stored, 0);
    Ok(())
}

#[tokio::test]
async fn a_turned_off_channel_is_skipped_with_its_reason_and_the_saga_gets_its_reply()
-> anyhow::Result<()> {
    let db = db("notify_prefs_skip").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    let handler = NotificationHandler::default();
    put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": false}}"#).await?;

    // The checkout's e-mail to the user in tenant A: skipped, but answered sent.
    let (skipped_id, saga, message) = notify_user(A, Some(USER), Channel::Email, "ada@a.example");
    let reply: NotificationSent = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(
        (reply.notification_id, reply.saga_id, reply.channel),
        (skipped_id, Some(saga), Channel::Email),
        "the saga gets its reply and completes"
    );
    assert_eq!(sent(&db.pool, skipped_id).await?, None, "nothing sent");
    let record = skipped(&db.pool, skipped_id)
        .await?
        .expect("recorded as skipped");
    assert_eq!(
        (
            record.reason.as_str(),
            record.channel.as_str(),
            record.saga_id,
            record.tenant_id.as_str(),
            record.user_id.as_deref()
        ),
        (
            "the user turned off EMAIL",
            "email",
            Some(saga),
            A,
            Some(USER)
        )
    );

    // A redelivery (another message, same notification id) after the user turned
    // e-mail back on is the same decision: skipped, answered sent, still not sent.
    put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": true}}"#).await?;
    let mut again = message.clone();
    again.envelope.message_id = uuid::Uuid::now_v7();
    let reply: NotificationSent = send(&db.pool, &handler, NAME, &again).await?.expect();
    assert_eq!(reply.notification_id, skipped_id);
    assert_eq!(sent(&db.pool, skipped_id).await?, None);
    put_preferences(&app, as_user(A, USER), r#"{"channels": {"EMAIL": false}}"#).await?;

    // The same user id in tenant B turned nothing off: sent.
    let (in_b, _, message) = notify_user(B, Some(USER), Channel::Email, "ada@b.example");
    let _: NotificationSent = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert_eq!(
        sent(&db.pool, in_b).await?.map(|n| n.recipient),
        Some("ada@b.example".to_owned())
    );
    assert_eq!(skipped(&db.pool, in_b).await?, None);
    // Another channel of the same user in tenant A: sent.
    let (sms, _, message) = notify_user(A, Some(USER), Channel::Sms, "+44 7700 900123");
    let _: NotificationSent = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert!(sent(&db.pool, sms).await?.is_some());
    // A notification for no user has no preferences to honour: sent.
    let (nobodys, _, message) = notify_user(A, None, Channel::Email, "ops@a.example");
    let _: NotificationSent = send(&db.pool, &handler, NAME, &message).await?.expect();
    assert!(sent(&db.pool, nobodys).await?.is_some());
    Ok(())
}

#[tokio::test]
async fn a_notification_sent_before_the_user_turned_its_channel_off_stays_sent()
-> anyhow::Result<()> {
    let db = db("notify_prefs_before").await?;
    let app = app(db.pool.clone(), &TestClock::new());
    let handler = NotificationHandler::default();
    let (id, _, message) = notify_user(A, Some(USER), Channel::Push, "device-1");
    let _: NotificationSent = send(&db.pool, &handler, NAME, &message).await?.expect();
    put_preferences(&app, as_user(A, USER), r#"{"channels": {"PUSH": false}}"#).await?;
    let mut again = message.clone();
    again.envelope.message_id = uuid::Uuid::now_v7();
    let _: NotificationSent = send(&db.pool, &handler, NAME, &again).await?.expect();
    assert!(sent(&db.pool, id).await?.is_some());
    assert_eq!(
        skipped(&db.pool, id).await?,
        None,
        "not also recorded as skipped"
    );
    Ok(())
}
