//! The channels and the one send path shared by the command handler and the HTTP API.
//! Sending is simulated: a sender validates the recipient and records what it sent
//! in `sent_notifications`. A notification for a user who turned its channel off
//! ([`crate::preferences`]) is not sent but recorded in `skipped_notifications`
//! with the reason ([`Sent::Skipped`]).

use sagaflow_events::messages::Channel;

use crate::{erasure, preferences};
use sqlx::PgConnection;
use uuid::Uuid;

/// Longest subject accepted, in bytes.
pub const MAX_SUBJECT: usize = 1_000;
/// Longest body accepted, in bytes.
pub const MAX_BODY: usize = 100_000;

/// A notification channel's sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Email,
    Sms,
    Push,
}

impl From<Channel> for Sender {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Email => Sender::Email,
            Channel::Sms => Sender::Sms,
            Channel::Push => Sender::Push,
        }
    }
}

impl From<Sender> for Channel {
    fn from(sender: Sender) -> Self {
        match sender {
            Sender::Email => Channel::Email,
            Sender::Sms => Channel::Sms,
            Sender::Push => Channel::Push,
        }
    }
}

impl Sender {
    /// Every channel, in the order APIs list them.
    pub const ALL: [Sender; 3] = [Sender::Email, Sender::Sms, Sender::Push];

    /// Its position in [`Sender::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Sender::Email => 0,
            Sender::Sms => 1,
            Sender::Push => 2,
        }
    }

    /// The channel's name in the contracts and the preferences API (`EMAIL`,
    /// `SMS`, `PUSH`: how [`Channel`] serializes).
    pub fn name(self) -> &'static str {
        match self {
            Sender::Email => "EMAIL",
            Sender::Sms => "SMS",
            Sender::Push => "PUSH",
        }
    }

    /// The channel [`Sender::name`] names (exactly, no other spelling).
    pub fn from_name(name: &str) -> Option<Self> {
        Sender::ALL.into_iter().find(|sender| sender.name() == name)
    }

    /// The channel's name as stored (`email`, `sms`, `push`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Email => "email",
            Sender::Sms => "sms",
            Sender::Push => "push",
        }
    }

    /// Parses a channel name, case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "email" => Some(Sender::Email),
            "sms" => Some(Sender::Sms),
            "push" => Some(Sender::Push),
            _ => None,
        }
    }

    /// Why this channel cannot deliver to `recipient`, if it cannot.
    fn check_recipient(self, recipient: &str) -> Option<String> {
        let recipient = recipient.trim();
        if recipient.is_empty() {
            return Some("recipient is blank".to_owned());
        }
        match self {
            Sender::Email if !recipient.contains('@') => {
                Some(format!("`{recipient}` is not an email address"))
            }
            Sender::Sms
                if !recipient
                    .trim_start_matches('+')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ' ')
                    || !recipient.chars().any(|c| c.is_ascii_digit()) =>
            {
                Some(format!("`{recipient}` is not a phone number"))
            }
            _ => None,
        }
    }
}

/// One notification to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub notification_id: Uuid,
    pub saga_id: Option<Uuid>,
    pub sender: Sender,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Who it is for, if anyone: (tenant, user). Their erasure blanks it.
    pub owner: Option<(String, String)>,
}

impl Notification {
    /// Why it cannot be sent, if it cannot (a business failure, not an error).
    pub fn refusal(&self) -> Option<String> {
        if let Some(reason) = self.sender.check_recipient(&self.recipient) {
            return Some(reason);
        }
        if self.subject.len() > MAX_SUBJECT {
            return Some(format!("subject longer than {MAX_SUBJECT} bytes"));
        }
        if self.body.len() > MAX_BODY {
            return Some(format!("body longer than {MAX_BODY} bytes"));
        }
        None
    }
}

/// What happened to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Sent now.
    Sent,
    /// Sent before under the same id (nothing sent again).
    AlreadySent,
    /// Not sent and not stored: its user's data was erased after its saga started.
    Suppressed,
    /// Not sent: its user turned its channel off (the reason, e.g. "the user
    /// turned off EMAIL"). Recorded in `skipped_notifications`; decided once per
    /// notification id, so a redelivery is skipped again with the same reason.
    Skipped(String),
    /// Refused, with the reason.
    Refused(String),
}

/// Sends `notification` once per notification id, recording it on `conn` (the
/// caller's transaction, if any). For a notification to a user: suppressed after
/// their erasure, skipped when they turned its channel off (a notification sent
/// before they did stays [`Sent::AlreadySent`]).
pub async fn send(
    conn: &mut PgConnection,
    notification: &Notification,
) -> Result<Sent, sqlx::Error> {
    if let Some(reason) = notification.refusal() {
        metrics::counter!("sagaflow_notifications_total", "channel" => notification.sender.as_str(), "outcome" => "refused")
            .increment(1);
        return Ok(Sent::Refused(reason));
    }
    if let Some((tenant_id, user_id)) = &notification.owner
        && erasure::suppressed(conn, tenant_id, user_id, notification.saga_id).await?
    {
        metrics::counter!("sagaflow_notifications_total", "channel" => notification.sender.as_str(), "outcome" => "suppressed")
            .increment(1);
        return Ok(Sent::Suppressed);
    }
    if let Some((tenant_id, user_id)) = &notification.owner
        && let Some(skipped) = skip(conn, notification, tenant_id, user_id).await?
    {
        return Ok(skipped);
    }
    let (tenant_id, user_id) = notification
        .owner
        .clone()
        .map_or((None, None), |(tenant, user)| (Some(tenant), Some(user)));
    let inserted = sqlx::query(
        "INSERT INTO sent_notifications
             (notification_id, channel, recipient, subject, body, saga_id, tenant_id, user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(notification.notification_id)
    .bind(notification.sender.as_str())
    .bind(notification.recipient.trim())
    .bind(&notification.subject)
    .bind(&notification.body)
    .bind(notification.saga_id)
    .bind(tenant_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Sent::AlreadySent);
    }
    tracing::info!(
        notification_id = %notification.notification_id,
        channel = notification.sender.as_str(),
        "notification sent"
    );
    metrics::counter!("sagaflow_notifications_total", "channel" => notification.sender.as_str(), "outcome" => "sent")
        .increment(1);
    Ok(Sent::Sent)
}

/// What becomes of a notification to (tenant, user) their preferences stop:
/// skipped before (the same reason again), sent before they turned the channel
/// off ([`Sent::AlreadySent`]) or skipped now (recorded); `None` to send it.
async fn skip(
    conn: &mut PgConnection,
    notification: &Notification,
    tenant_id: &str,
    user_id: &str,
) -> Result<Option<Sent>, sqlx::Error> {
    let id = notification.notification_id;
    let before: Option<String> =
        sqlx::query_scalar("SELECT reason FROM skipped_notifications WHERE notification_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(reason) = before {
        return Ok(Some(Sent::Skipped(reason)));
    }
    let Some(reason) = preferences::refusal(conn, tenant_id, user_id, notification.sender).await?
    else {
        return Ok(None);
    };
    let sent: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sent_notifications WHERE notification_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if sent {
        return Ok(Some(Sent::AlreadySent));
    }
    sqlx::query(
        "INSERT INTO skipped_notifications
             (notification_id, channel, reason, saga_id, tenant_id, user_id)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (notification_id) DO NOTHING",
    )
    .bind(id)
    .bind(notification.sender.as_str())
    .bind(&reason)
    .bind(notification.saga_id)
    .bind(tenant_id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    tracing::info!(notification_id = %id, channel = notification.sender.as_str(), %reason, "notification skipped");
    metrics::counter!("sagaflow_notifications_total", "channel" => notification.sender.as_str(), "outcome" => "skipped")
        .increment(1);
    Ok(Some(Sent::Skipped(reason)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_the_contracts() -> Result<(), serde_json::Error> {
        for sender in Sender::ALL {
            let name = serde_json::to_value(Channel::from(sender))?;
            assert_eq!(name, sender.name());
            assert_eq!(Sender::from_name(sender.name()), Some(sender));
            assert_eq!(Sender::ALL[sender.index()], sender);
        }
        assert_eq!(Sender::from_name("email"), None);
        Ok(())
    }
}
