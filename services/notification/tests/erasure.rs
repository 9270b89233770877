//! Erasing a user's notifications in one tenant: the same user id in another
//! tenant keeps theirs, and a late notification of a saga started before the
//! erasure is acknowledged but neither sent nor stored.

use crate::common;

use common::{in_tenant, send};
use sagaflow_events::messages::{
    Channel, NotificationSent, SendNotification, UserErasureRequested,
};
use sagaflow_notification::erasure::{self, ERASED};
use sagaflow_notification::{ErasureHandler, NotificationHandler, sent};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

const USER: &str = "ada";

fn notify(tenant: &str, saga_id: Uuid, recipient: &str) -> (Uuid, sagaflow_bus::Incoming) {
    let notification_id = Uuid::now_v7();
    let message = in_tenant(
        tenant,
        Some(saga_id),
        &SendNotification {
            notification_id,
            saga_id: Some(saga_id),
            channel: Channel::Email,
            recipient: recipient.into(),
            subject: "Your order".into(),
            body: "Thanks, Ada!".into(),
            user_id: Some(USER.into()),
        },
    );
    (notification_id, message)
}

fn erase_request(tenant: &str) -> sagaflow_bus::Incoming {
    in_tenant(
        tenant,
        None,
        &UserErasureRequested {
            erasure_id: Uuid::now_v7(),
            user_id: USER.into(),
            requested_at_ms: chrono::Utc::now().timestamp_millis(),
        },
    )
}

#[tokio::test]
async fn an_erasure_blanks_one_tenants_notifications_and_suppresses_late_ones() -> anyhow::Result<()>
{
    let db = TestDb::create("notify_erase").await?;
    sagaflow_notification::migrate(&db.pool).await?;
    let handler = NotificationHandler::default();
    let name = sagaflow_notification::NAME;

    let (in_a, message) = notify("tenant-a", Uuid::now_v7(), "ada@a.example");
    send(&db.pool, &handler, name, &message).await?;
    let (in_b, message) = notify("tenant-b", Uuid::now_v7(), "ada@b.example");
    send(&db.pool, &handler, name, &message).await?;
    // A saga of tenant A started before the erasure; its notification arrives late.
    let late_saga = Uuid::now_v7();

    let outcome = sagaflow_bus::inbox::process(
        &db.pool,
        &ErasureHandler,
        erasure::CONSUMER,
        &erase_request("tenant-a"),
        sagaflow_bus::Backoff::default(),
    )
    .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);

    let erased = sent(&db.pool, in_a).await?.expect("recorded");
    assert_eq!(
        (
            erased.recipient.as_str(),
            erased.subject.as_str(),
            erased.body.as_str()
        ),
        (ERASED, ERASED, ERASED)
    );
    let kept = sent(&db.pool, in_b).await?.expect("recorded");
    assert_eq!(
        kept.recipient, "ada@b.example",
        "the other tenant's user keeps theirs"
    );
    assert_eq!(kept.body, "Thanks, Ada!");

    let (late, message) = notify("tenant-a", late_saga, "ada@a.example");
    let reply: NotificationSent = send(&db.pool, &handler, name, &message).await?.expect();
    assert_eq!(
        reply.notification_id, late,
        "acknowledged, so the saga completes"
    );
    assert_eq!(
        sent(&db.pool, late).await?,
        None,
        "but neither sent nor stored"
    );

    // A saga the user starts after the erasure is served again.
    let (fresh, message) = notify("tenant-a", Uuid::now_v7(), "ada@a.example");
    send(&db.pool, &handler, name, &message).await?;
    assert_eq!(
        sent(&db.pool, fresh).await?.map(|n| n.recipient),
        Some("ada@a.example".to_owned())
    );
    Ok(())
}

#[tokio::test]
async fn an_erasure_drops_the_users_preferences_in_one_tenant() -> anyhow::Result<()> {
    use axum::http::StatusCode;
    use common::{A, B, TestClock, app, as_user, call, notify_user};
    use sagaflow_notification::skipped;

    let db = TestDb::create("notify_erase_prefs").await?;
    sagaflow_notification::migrate(&db.pool).await?;
    let app = app(db.pool.clone(), &TestClock::new());
    let handler = NotificationHandler::default();
    let name = sagaflow_notification::NAME;
    let off = Some(r#"{"channels": {"EMAIL": false, "PUSH": false}}"#);
    for tenant in [A, B] {
        let put = call(
            &app,
            "PUT",
            "/preferences",
            as_user(tenant, USER),
            off,
            None,
        )
        .await?;
        assert_eq!(put.status, StatusCode::OK);
    }
    let (skipped_id, _, message) = notify_user(A, Some(USER), Channel::Email, "ada@a.example");
    let _: NotificationSent = send(&db.pool, &handler, name, &message).await?.expect();
    let (_, _, message) = notify_user(A, Some(USER), Channel::Sms, "+44 7700 900123");
    let _: NotificationSent = send(&db.pool, &handler, name, &message).await?.expect();
    let test = call(
        &app,
        "POST",
        "/notifications/test",
        as_user(A, USER),
        Some(r#"{"channel": "SMS"}"#),
        None,
    )
    .await?;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.body);

    let outcome = sagaflow_bus::inbox::process(
        &db.pool,
        &ErasureHandler,
        erasure::CONSUMER,
        &erase_request(A),
        sagaflow_bus::Backoff::default(),
    )
    .await;
    assert_eq!(outcome, sagaflow_bus::Outcome::Handled);

    let rows = |tenant: &'static str, table: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND user_id = $2"
            ))
            .bind(tenant)
            .bind(USER)
            .fetch_one(&pool)
            .await
        }
    };
    assert_eq!(rows(A, "notification_preferences").await?, 0);
    assert_eq!(rows(A, "notification_tests").await?, 0);
    assert_eq!(rows(A, "skipped_notifications").await?, 0);
    let record = skipped(&db.pool, skipped_id)
        .await?
        .expect("kept, unlinked");
    assert_eq!(
        (record.user_id, record.reason.as_str()),
        (None, "the user turned off EMAIL")
    );
    let in_a = call(&app, "GET", "/preferences", as_user(A, USER), None, None).await?;
    assert_eq!(
        in_a.body,
        serde_json::json!({"channels": {"EMAIL": true, "SMS": true, "PUSH": true}}),
        "back to the defaults"
    );
    assert_eq!(rows(B, "notification_preferences").await?, 2);
    let in_b = call(&app, "GET", "/preferences", as_user(B, USER), None, None).await?;
    assert_eq!(
        in_b.body,
        serde_json::json!({"channels": {"EMAIL": false, "SMS": true, "PUSH": false}}),
        "the same user id in tenant B keeps theirs"
    );
    Ok(())
}
