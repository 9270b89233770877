//! The planner's audit trail (`planner.events`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// One entry of the planner's audit log: an intent, a plan, a validation, a
/// confirmation, an emitted command, a step outcome. Topic: `planner.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEventRecorded {
    #[serde(with = "uuid_serde::id")]
    pub plan_id: Uuid,
    pub tenant_id: String,
    pub user_id: String,
    /// Position in the plan's log, from 1.
    pub seq: i64,
    /// e.g. `intent_parsed`, `plan_validated`, `plan_confirmed`, `command_emitted`.
    pub kind: String,
    /// JSON text.
    pub detail: String,
    /// When it was recorded, ms since the Unix epoch.
    pub at_ms: i64,
}
