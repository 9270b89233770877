//! Which channels a user accepts: one switch per (tenant, user, channel) in
//! `notification_preferences`; a channel without a row is accepted (the default).
//!
//! [`load`] reads a user's [`Preferences`], [`store`] sets the channels a change
//! names (the others keep their state), [`refusal`] is what [`crate::sender::send`]
//! asks before sending to a user, and [`erase`] drops a user's rows with their
//! other data ([`crate::erasure`]). Every query is keyed by tenant AND user.

use sqlx::PgConnection;

use crate::sender::Sender;

/// Whether each channel is accepted, in [`Sender::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    accepted: [bool; 3],
}

impl Default for Preferences {
    /// Every channel accepted.
    fn default() -> Self {
        Self {
            accepted: [true; 3],
        }
    }
}

impl Preferences {
    /// Whether `sender`'s channel is accepted.
    pub fn accepts(&self, sender: Sender) -> bool {
        self.accepted[sender.index()]
    }

    /// Sets whether `sender`'s channel is accepted.
    pub fn set(&mut self, sender: Sender, accepted: bool) {
        self.accepted[sender.index()] = accepted;
    }

    /// `{"EMAIL": true, "SMS": true, "PUSH": false}`.
    pub fn to_json(&self) -> serde_json::Value {
        Sender::ALL
            .iter()
            .map(|sender| (sender.name().to_owned(), self.accepts(*sender).into()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

/// Why a notification to (tenant, user) on `sender` must not be sent, if the
/// user turned that channel off.
pub fn turned_off(sender: Sender) -> String {
    format!("the user turned off {}", sender.name())
}

/// The preferences of `user_id` in `tenant_id` (defaults where nothing is stored).
pub async fn load(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
) -> Result<Preferences, sqlx::Error> {
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT channel, accepted FROM notification_preferences
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut preferences = Preferences::default();
    for (channel, accepted) in rows {
        if let Some(sender) = Sender::parse(&channel) {
            preferences.set(sender, accepted);
        }
    }
    Ok(preferences)
}

/// Sets each named channel of `user_id` in `tenant_id`; returns the stored state.
pub async fn store(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    changes: &[(Sender, bool)],
) -> Result<Preferences, sqlx::Error> {
    for (sender, accepted) in changes {
        sqlx::query(
            "INSERT INTO notification_preferences (tenant_id, user_id, channel, accepted)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, user_id, channel)
             DO UPDATE SET accepted = $4, updated_at = now()",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(sender.as_str())
        .bind(accepted)
        .execute(&mut *conn)
        .await?;
    }
    load(conn, tenant_id, user_id).await
}

/// Why `user_id` in `tenant_id` does not take notifications on `sender`, if they
/// turned it off.
pub async fn refusal(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    sender: Sender,
) -> Result<Option<String>, sqlx::Error> {
    let accepted: Option<bool> = sqlx::query_scalar(
        "SELECT accepted FROM notification_preferences
         WHERE tenant_id = $1 AND user_id = $2 AND channel = $3",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(sender.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok((accepted == Some(false)).then(|| turned_off(sender)))
}

/// Drops every preference of `user_id` in `tenant_id` (their erasure). Returns
/// the rows removed.
pub async fn erase(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM notification_preferences WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_is_accepted_by_default_and_named_as_the_contract_names_it() {
        let mut preferences = Preferences::default();
        assert!(Sender::ALL.iter().all(|s| preferences.accepts(*s)));
        preferences.set(Sender::Push, false);
        assert_eq!(
            preferences.to_json(),
            serde_json::json!({"EMAIL": true, "SMS": true, "PUSH": false})
        );
        assert_eq!(turned_off(Sender::Email), "the user turned off EMAIL");
    }
}
