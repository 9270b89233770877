//! The customer's e-mail at the end of an after-sale saga.

use sagaflow_events::messages::{Channel, SendNotification};
use uuid::Uuid;

/// Deterministic notification id: UUIDv5 of the saga id and `"notify"`, so a
/// re-sent command is deduplicated by the notification service.
pub fn notification_id(saga_id: Uuid) -> Uuid {
    Uuid::new_v5(&saga_id, b"notify")
}

/// `SendNotification` by e-mail to the customer of the saga.
pub fn email(
    saga_id: Uuid,
    user_id: &str,
    recipient: &str,
    subject: &str,
    body: String,
) -> SendNotification {
    SendNotification {
        notification_id: notification_id(saga_id),
        saga_id: Some(saga_id),
        channel: Channel::Email,
        recipient: recipient.to_owned(),
        subject: subject.to_owned(),
        body,
        user_id: Some(user_id.to_owned()),
    }
}

/// `1999` minor units of `EUR` as `19.99 EUR` (two decimals, the platform's
/// currencies all have two).
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", minor / 100, minor % 100)
}
