//! What the orchestrator reports about its sagas on `orchestrator.events`:
//! [`SagaProgressed`] once per decision, with the decision's log entries typed
//! ([`ProgressEntry`]), and [`SagaFinished`] each time a saga reaches a final
//! status. Readers (the gateway's read model, the planner) follow these typed
//! fields; nothing needs the orchestrator's internal log format.
//!
//! v1 `SagaProgressed` (one message per entry, the entry as JSON in `detail`)
//! is still decoded into the same struct: [`SagaProgressed::typed_entries`] lifts it
//! into one typed entry ([`lift_v1`]), so a topic that still holds v1 messages
//! after an upgrade reads the same way.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::uuid_serde;

/// Where a saga is in its life (`io.sagaflow.orchestrator.SagaStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SagaStatus {
    Running,
    Compensating,
    Completed,
    Compensated,
    /// A step after the pivot failed for good: an operator decides.
    Failed,
    /// A compensation used up its retries: an operator decides.
    CompensationFailed,
    /// A status added after this reader was built.
    Unknown,
}

impl SagaStatus {
    /// The snake_case name the APIs show (`running`, `compensation_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            SagaStatus::Running => "running",
            SagaStatus::Compensating => "compensating",
            SagaStatus::Completed => "completed",
            SagaStatus::Compensated => "compensated",
            SagaStatus::Failed => "failed",
            SagaStatus::CompensationFailed => "compensation_failed",
            SagaStatus::Unknown => "unknown",
        }
    }

    /// The status named `text` (snake_case), `Unknown` for anything else.
    pub fn parse(text: &str) -> Self {
        [
            SagaStatus::Running,
            SagaStatus::Compensating,
            SagaStatus::Completed,
            SagaStatus::Compensated,
            SagaStatus::Failed,
            SagaStatus::CompensationFailed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(SagaStatus::Unknown)
    }

    /// No further progress without an operator (or ever, for the successes).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SagaStatus::Completed
                | SagaStatus::Compensated
                | SagaStatus::Failed
                | SagaStatus::CompensationFailed
        )
    }
}

/// What a log entry records (`io.sagaflow.orchestrator.ProgressKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProgressKind {
    Started,
    CommandSent,
    StepCompleted,
    StepFailed,
    StepTimedOut,
    StepAbandoned,
    StepCompensated,
    StepStuck,
    Reconciled,
    Paused,
    Resumed,
    RetryRequested,
    AbortRequested,
    Completed,
    Compensated,
    Failed,
    CompensationFailed,
    /// A kind added after this reader was built.
    Unknown,
}

impl ProgressKind {
    const ALL: [ProgressKind; 18] = [
        ProgressKind::Started,
        ProgressKind::CommandSent,
        ProgressKind::StepCompleted,
        ProgressKind::StepFailed,
        ProgressKind::StepTimedOut,
        ProgressKind::StepAbandoned,
        ProgressKind::StepCompensated,
        ProgressKind::StepStuck,
        ProgressKind::Reconciled,
        ProgressKind::Paused,
        ProgressKind::Resumed,
        ProgressKind::RetryRequested,
        ProgressKind::AbortRequested,
        ProgressKind::Completed,
        ProgressKind::Compensated,
        ProgressKind::Failed,
        ProgressKind::CompensationFailed,
        ProgressKind::Unknown,
    ];

    /// The snake_case name the APIs show (`step_completed`); the same names the
    /// orchestrator's log uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressKind::Started => "started",
            ProgressKind::CommandSent => "command_sent",
            ProgressKind::StepCompleted => "step_completed",
            ProgressKind::StepFailed => "step_failed",
            ProgressKind::StepTimedOut => "step_timed_out",
            ProgressKind::StepAbandoned => "step_abandoned",
            ProgressKind::StepCompensated => "step_compensated",
            ProgressKind::StepStuck => "step_stuck",
            ProgressKind::Reconciled => "reconciled",
            ProgressKind::Paused => "paused",
            ProgressKind::Resumed => "resumed",
            ProgressKind::RetryRequested => "retry_requested",
            ProgressKind::AbortRequested => "abort_requested",
            ProgressKind::Completed => "completed",
            ProgressKind::Compensated => "compensated",
            ProgressKind::Failed => "failed",
            ProgressKind::CompensationFailed => "compensation_failed",
            ProgressKind::Unknown => "unknown",
        }
    }

    /// The kind named `text` (snake_case), `Unknown` for anything else.
    pub fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .unwrap_or(ProgressKind::Unknown)
    }

    /// Whether the entry says why a saga did not complete (a failed step, a
    /// step that timed out, a saga that failed or could not compensate).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            ProgressKind::StepFailed
                | ProgressKind::StepTimedOut
                | ProgressKind::Failed
                | ProgressKind::CompensationFailed
        )
    }
}

/// Which command of a step (`io.sagaflow.orchestrator.StepPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepPhase {
    Forward,
    Compensation,
}

impl StepPhase {
    /// `forward` / `compensation`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepPhase::Forward => "forward",
            StepPhase::Compensation => "compensation",
        }
    }
}

/// One entry of a saga's log, typed (`io.sagaflow.orchestrator.ProgressEntry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressEntry {
    /// The entry's position in the saga's log (1 = started).
    pub seq: i64,
    pub kind: ProgressKind,
    /// The step's name from the definition, for step entries.
    #[serde(default)]
    pub step: Option<String>,
    /// Forward or compensation (`command_sent`, `step_timed_out`, `step_stuck`).
    #[serde(default)]
    pub phase: Option<StepPhase>,
    /// The attempt of a command sent or timed out; attempts made for
    /// `step_abandoned` and `step_stuck`.
    #[serde(default)]
    pub attempt: Option<i32>,
    /// The command sent, or the reply that settled the step.
    #[serde(default)]
    pub message_type: Option<String>,
    /// Why: of a failure, an abort or a pause.
    #[serde(default)]
    pub reason: Option<String>,
    /// The saga's status after this entry.
    pub status: SagaStatus,
    pub at_ms: i64,
}

/// What a saga produced, as its definition declares it
/// (`io.sagaflow.orchestrator.SagaResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaResult {
    /// The result's name from the definition (`order_id`, `document_id`).
    pub name: String,
    #[serde(with = "uuid_serde::id")]
    pub id: Uuid,
}

/// A saga instance changed state: one per decision of the orchestrator, with the
/// decision's entries in `seq` order. Topic: `orchestrator.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaProgressed {
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub definition: String,
    pub definition_version: i32,
    /// The seq of the decision's last entry.
    pub seq: i64,
    /// The status after the decision, snake_case (see [`SagaProgressed::status`]).
    pub status: String,
    /// v1: the entry's step. v2 writes the last entry's.
    #[serde(default)]
    pub step: Option<String>,
    /// v1: the entry's kind, snake_case. v2 writes the last entry's.
    #[serde(default)]
    pub kind: String,
    /// v1 only: the entry as JSON text; v2 writes "" (read [`Self::typed_entries`]).
    #[serde(default)]
    pub detail: String,
    /// When the decision's last entry happened.
    pub at_ms: i64,
    /// The decision's entries (empty in a v1 message: use [`Self::typed_entries`]).
    #[serde(default)]
    pub entries: Vec<ProgressEntry>,
    /// The saga's result as far as it is known after the decision.
    #[serde(default)]
    pub result: Option<SagaResult>,
}

impl SagaProgressed {
    /// The entries of the message: the decision's, or for a v1 message its one
    /// entry lifted from the v1 fields.
    pub fn typed_entries(&self) -> Vec<ProgressEntry> {
        if self.entries.is_empty() {
            vec![lift_v1(self)]
        } else {
            self.entries.clone()
        }
    }

    /// The saga's status after the decision.
    pub fn status(&self) -> SagaStatus {
        SagaStatus::parse(&self.status)
    }

    /// The result, or for a v1 message the one its `detail` names (see [`lift_v1`]).
    pub fn result(&self) -> Option<SagaResult> {
        self.result.clone().or_else(|| v1::result(self))
    }
}

/// A saga reached a final status: `COMPLETED`, `COMPENSATED`, `FAILED` or
/// `COMPENSATION_FAILED`. One per time it does: a saga an operator retries after
/// `FAILED` may finish again later, with a higher `seq`. Topic: `orchestrator.events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SagaFinished {
    #[serde(with = "uuid_serde::id")]
    pub saga_id: Uuid,
    pub definition: String,
    pub definition_version: i32,
    /// The seq of the entry that finished it.
    pub seq: i64,
    pub status: SagaStatus,
    /// The failure or abort that made it compensate or stop.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub result: Option<SagaResult>,
    /// The user the saga acts for (its tenant is the envelope's), when its
    /// definition says.
    #[serde(default)]
    pub user_id: Option<String>,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
}

/// The one entry of a v1 message, from its v1 fields: kind, step and status as
/// they were, the phase, attempt, message type and reason from the fields of the
/// entry's JSON `detail` that carried them (`phase`, `attempt`/`attempts`,
/// `message_type`/`reply_type`, `reason`).
pub fn lift_v1(event: &SagaProgressed) -> ProgressEntry {
    let detail = v1::detail(event);
    let text = |field: &str| {
        detail
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let number = |field: &str| detail.get(field).and_then(|v| v.as_i64()).map(|n| n as i32);
    ProgressEntry {
        seq: event.seq,
        kind: ProgressKind::parse(&event.kind),
        step: event.step.clone(),
        phase: match text("phase").as_deref() {
            Some("forward") => Some(StepPhase::Forward),
            Some("compensation") => Some(StepPhase::Compensation),
            _ => None,
        },
        attempt: number("attempt").or_else(|| number("attempts")),
        message_type: text("message_type").or_else(|| text("reply_type")),
        reason: text("reason"),
        status: event.status(),
        at_ms: event.at_ms,
    }
}

/// Reading v1 messages: the entry's JSON (the orchestrator's log entry as it was
/// written while v1 was current). Only [`lift_v1`] and [`SagaProgressed::result`]
/// use it; drop it once no v1 message can be left on the topic.
mod v1 {
    use serde_json::{Map, Value};
    use uuid::Uuid;

    use super::{SagaProgressed, SagaResult};

    /// The result fields v1 readers took from `step_completed` replies, by the
    /// step that carried them (the definitions now declare these).
    const RESULTS: [(&str, &str); 3] = [
        ("create_order", "order_id"),
        ("export", "document_id"),
        ("validate", "document_id"),
    ];

    pub(super) fn detail(event: &SagaProgressed) -> Map<String, Value> {
        match serde_json::from_str(&event.detail) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// In v1 a `step_completed` detail held the reply as `reply`.
    pub(super) fn result(event: &SagaProgressed) -> Option<SagaResult> {
        if !event.entries.is_empty() || event.kind != "step_completed" {
            return None;
        }
        let step = event.step.as_deref()?;
        let (_, name) = RESULTS.iter().find(|(s, _)| *s == step)?;
        let id = detail(event)
            .get("reply")?
            .get(*name)?
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())?;
        Some(SagaResult {
            name: (*name).to_owned(),
            id,
        })
    }
}
