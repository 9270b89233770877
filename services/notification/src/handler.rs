//! The `notifications` handler.

use sagaflow_bus::{Failure, Handler, Incoming, Outgoing};
use sagaflow_events::Contract;
use sagaflow_events::messages::{NotificationFailed, NotificationSent, SendNotification};
use sqlx::PgConnection;

use crate::config::Settings;
use crate::sender::{self, Notification, Sent};

/// Handles `SendNotification`.
#[derive(Debug, Clone, Default)]
pub struct NotificationHandler {
    pub settings: Settings,
}

impl NotificationHandler {
    pub fn new(settings: Settings) -> Self {
        Self { settings }
    }
}

impl Handler for NotificationHandler {
    async fn handle(
        &self,
        tx: &mut PgConnection,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        match incoming.message_type() {
            SendNotification::MESSAGE_TYPE => {
                let command: SendNotification = incoming.decode()?;
                let notification = Notification {
                    notification_id: command.notification_id,
                    saga_id: command.saga_id,
                    sender: command.channel.into(),
                    recipient: command.recipient,
                    subject: command.subject,
                    body: command.body,
                    owner: command
                        .user_id
                        .map(|user| (incoming.envelope.tenant_id.clone(), user)),
                };
                let reply = match sender::send(tx, &notification).await? {
                    // A suppressed notification is acknowledged: there is nobody left
                    // to send it to, and the saga that asked for it must complete.
                    Sent::Sent | Sent::AlreadySent | Sent::Suppressed => Outgoing::caused_by(
                        &incoming.envelope,
                        &NotificationSent {
                            notification_id: notification.notification_id,
                            saga_id: notification.saga_id,
                            channel: command.channel,
                        },
                    )?,
                    Sent::Refused(reason) => Outgoing::caused_by(
                        &incoming.envelope,
                        &NotificationFailed {
                            notification_id: notification.notification_id,
                            saga_id: notification.saga_id,
                            reason,
                        },
                    )?,
                };
                Ok(vec![reply])
            }
            other => Err(Failure::Poison(format!(
                "notification does not handle {other}"
            ))),
        }
    }
}
