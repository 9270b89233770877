//! Erasing a user's notifications in one tenant: the same user id in another
//! tenant keeps theirs, and a late notification of a saga started before the
//! erasure is acknowledged but neither sent nor stored.

mod common;

use common::{incoming, send};
use sagaflow_events::messages::{
    Channel, NotificationSent, SendNotification, UserErasureRequested,
};
use sagaflow_notification::erasure::{self, ERASED};
use sagaflow_notification::{ErasureHandler, NotificationHandler, sent};
use sagaflow_test_support::TestDb;
use uuid::Uuid;

const USER: &str = "ada";

fn in_tenant<T: sagaflow_events::Contract>(
    tenant: &str,
    saga_id: Option<Uuid>,
    body: &T,
) -> sagaflow_bus::Incoming {
    let mut message = incoming(saga_id, body);
    message.envelope.tenant_id = tenant.to_owned();
    message
}

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
