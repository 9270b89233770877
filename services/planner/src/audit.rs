//! The audit log: every intent, plan, validation result, confirmation, emitted
//! command and step outcome is a row of `plan_log` and, in the same transaction, a
//! `PlanEventRecorded` on `planner.events` (through the outbox). Callers hold the
//! plan's row lock (`crate::store::lock`, or a row they just inserted), which
//! orders the log.
//!
//! Long texts (a CV, a job description) are abbreviated in the log; the full text
//! stays in the plan row and in the emitted command.

use chrono::Utc;
use sagaflow_bus::Outgoing;
use sagaflow_bus::traceparent::MessageTrace;
use sagaflow_events::messages::PlanEventRecorded;
use sagaflow_events::{Contract, Envelope};
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::error::Error;
use crate::store::Plan;

/// Longest text kept whole in a log entry.
const MAX_LOGGED_CHARS: usize = 240;

/// Entry kinds written by the planner itself (saga events add their own kinds:
/// `step_completed`, `compensated`, ...).
pub mod kind {
    pub const INTENT_PARSED: &str = "intent_parsed";
    pub const PLAN_DRAFTED: &str = "plan_drafted";
    pub const PLAN_NOT_DRAFTED: &str = "plan_not_drafted";
    pub const PLAN_VALIDATED: &str = "plan_validated";
    pub const PLAN_REJECTED: &str = "plan_rejected";
    pub const DRY_RUN: &str = "dry_run";
    pub const AWAITING_CONFIRMATION: &str = "awaiting_confirmation";
    pub const PLAN_CONFIRMED: &str = "plan_confirmed";
    pub const PLAN_EXPIRED: &str = "plan_expired";
    pub const PLAN_STARTED: &str = "plan_started";
    pub const COMMAND_EMITTED: &str = "command_emitted";
    pub const CHILD_SAGA_PROGRESSED: &str = "child_saga_progressed";
}

/// Appends `kind` with `detail` to the plan's log and publishes it.
pub async fn record(
    conn: &mut PgConnection,
    plan: &Plan,
    kind: &str,
    detail: Value,
) -> Result<i64, Error> {
    let detail = abbreviate(detail);
    let seq: i64 = sqlx::query_scalar(
        "UPDATE plans SET audit_seq = audit_seq + 1, updated_at = now() WHERE plan_id = $1
         RETURNING audit_seq",
    )
    .bind(plan.plan_id)
    .fetch_one(&mut *conn)
    .await?;
    let at = Utc::now();
    sqlx::query(
        "INSERT INTO plan_log (plan_id, seq, kind, detail, at, tenant_id, user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(plan.plan_id)
    .bind(seq)
    .bind(kind)
    .bind(Json(&detail))
    .bind(at)
    .bind(&plan.caller.tenant_id)
    .bind(&plan.caller.user_id)
    .execute(&mut *conn)
    .await?;
    let body = PlanEventRecorded {
        plan_id: plan.plan_id,
        tenant_id: plan.caller.tenant_id.clone(),
        user_id: plan.caller.user_id.clone(),
        seq,
        kind: kind.to_owned(),
        detail: detail.to_string(),
        at_ms: at.timestamp_millis(),
    };
    let mut envelope = Envelope::new(PlanEventRecorded::MESSAGE_TYPE, &plan.caller.tenant_id);
    envelope.saga_id = Some(plan.plan_id);
    envelope.correlation_id = plan.plan_id;
    envelope.causation_id = Some(plan.plan_id);
    MessageTrace::from_traceparent(plan.traceparent.as_deref())
        .child()
        .write_to(&mut envelope);
    let message = Outgoing {
        envelope,
        topic: PlanEventRecorded::TOPIC.to_owned(),
        key: plan.plan_id.to_string(),
        payload: sagaflow_events::encode(&body)?,
    };
    sagaflow_bus::outbox::enqueue(conn, &[message]).await?;
    metrics::counter!("sagaflow_planner_log_entries_total", "kind" => kind.to_owned()).increment(1);
    Ok(seq)
}

/// Strings longer than [`MAX_LOGGED_CHARS`] cut short, with their length.
pub fn abbreviate(value: Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > MAX_LOGGED_CHARS => {
            let head: String = s.chars().take(MAX_LOGGED_CHARS).collect();
            Value::String(format!("{head}… ({} characters)", s.chars().count()))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(abbreviate).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, abbreviate(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_texts_are_abbreviated_everywhere() {
        let long = "x".repeat(1000);
        let out = abbreviate(json!({"a": [long.clone(), "short"], "b": {"c": long}}));
        let a = out["a"][0].as_str().expect("text");
        assert!(a.ends_with("(1000 characters)"), "{a}");
        assert_eq!(out["a"][1], "short");
        assert!(out["b"]["c"].as_str().expect("text").len() < 300);
    }
}
