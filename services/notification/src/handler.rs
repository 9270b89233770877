//! The `notifications` handler: `SendNotification` → `NotificationSent` |
//! `NotificationFailed`.
//!
//! **Preferences.** A notification for a user (`user_id` set; the tenant is the
//! envelope's) on a channel that user turned off ([`crate::preferences`]) is not
//! sent: it is recorded in `skipped_notifications` with the reason ("the user
//! turned off EMAIL") and answered **`NotificationSent`**. The sagas that send
//! notifications (checkout, the after-sale ones) do so after their pivot, where
//! `NotificationFailed` stops the saga as failed: a user's opt-out is an outcome
//! they chose, not a failure, so the saga must complete. `NotificationSent` has no
//! field for "skipped" and adding one would change the contract; the skip and its
//! reason are ours to keep (`skipped_notifications`, [`crate::skipped`]). The same
//! holds for a notification suppressed after its user's erasure.
//!
//! Transactional messages that must reach the user whatever their preferences
//! (none exist today) are out of scope: every notification to a user honours them.

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
                    // to send it to, and the saga that asked for it must complete. A
                    // skipped one likewise: the user turned its channel off (see the
                    // module docs).
                    Sent::Sent | Sent::AlreadySent | Sent::Suppressed | Sent::Skipped(_) => {
                        Outgoing::caused_by(
                            &incoming.envelope,
                            &NotificationSent {
                                notification_id: notification.notification_id,
                                saga_id: notification.saga_id,
                                channel: command.channel,
                            },
                        )?
                    }
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
