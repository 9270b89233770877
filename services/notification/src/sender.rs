//! The channels and the one send path shared by the command handler and the HTTP API.
//! Sending is simulated: a sender validates the recipient and records what it sent
//! in `sent_notifications`.

use sagaflow_events::messages::Channel;

use crate::erasure;
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
    /// Refused, with the reason.
    Refused(String),
}

/// Sends `notification` once per notification id, recording it on `conn` (the
/// caller's transaction, if any).
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
