//! Requests the gateway publishes for every service (`gateway.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// A user asked for their personal data to be erased; the tenant is in the
/// envelope. Every service holding the user's data deletes or redacts it and
/// refuses to write it back. Topic: `gateway.events`, key: the user id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserErasureRequested {
    /// Identifies the request.
    #[serde(with = "uuid_serde::id")]
    pub erasure_id: Uuid,
    pub user_id: String,
    pub requested_at_ms: i64,
}
