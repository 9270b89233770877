//! Test fixture: a five-step saga and a tiny in-memory driver.
#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sagaflow_saga_engine::{
    Action, BuildError, CommandSpec, Compensation, Decision, Definition, Input, Phase, Rejected,
    RetryPolicy, SagaData, SagaEvent, SagaState, Step, command_id, decide, evolve, replay,
};
use serde_json::{Value, json};
use uuid::Uuid;

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

pub fn secs(n: i64) -> DateTime<Utc> {
    t0() + chrono::TimeDelta::seconds(n)
}

pub fn saga_id() -> Uuid {
    Uuid::from_u128(0x5A6A)
}

/// Builds `{"saga_id", "command"}`; fails when `input.fail_build` names the command.
fn payload(data: &SagaData, command: &str) -> Result<Value, BuildError> {
    if data.input.get("fail_build").and_then(Value::as_str) == Some(command) {
        return Err(BuildError::InvalidInput(format!("cannot build {command}")));
    }
    Ok(json!({ "saga_id": data.saga_id, "command": command }))
}

macro_rules! builder {
    ($name:ident, $cmd:literal) => {
        fn $name(data: &SagaData) -> Result<Value, BuildError> {
            payload(data, $cmd)
        }
    };
}
builder!(reserve, "Reserve");
builder!(release, "Release");
builder!(price, "Price");
builder!(charge, "Charge");
builder!(refund, "Refund");
builder!(create_order, "CreateOrder");
builder!(notify, "Notify");

fn spec(
    message_type: &'static str,
    build: fn(&SagaData) -> Result<Value, BuildError>,
) -> CommandSpec {
    CommandSpec {
        message_type,
        topic: "test.commands",
        build,
    }
}

pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_secs(1),
        multiplier: 2,
        max_backoff: Duration::from_secs(10),
    }
}

fn step(
    name: &'static str,
    command: CommandSpec,
    completes_on: &'static [&'static str],
    fails_on: &'static [&'static str],
    compensation: Compensation,
) -> Step {
    Step {
        name,
        command,
        completes_on,
        fails_on,
        compensation,
        timeout: TIMEOUT,
        retry: retry(),
    }
}

/// 0 reserve (undo: Release), 1 price (nothing to undo), 2 charge (undo:
/// Refund), 3 order (PIVOT), 4 notify (after the pivot).
pub fn fixture() -> Definition {
    Definition {
        name: "fixture",
        version: 1,
        steps: vec![
            step(
                "reserve",
                spec("Reserve", reserve),
                &["Reserved"],
                &["ReserveFailed"],
                Compensation::Command {
                    command: spec("Release", release),
                    completes_on: &["Released"],
                },
            ),
            step(
                "price",
                spec("Price", price),
                &["Priced"],
                &["PriceFailed"],
                Compensation::NotNeeded { reason: "pure" },
            ),
            step(
                "charge",
                spec("Charge", charge),
                &["Charged"],
                &["ChargeFailed"],
                Compensation::Command {
                    command: spec("Refund", refund),
                    completes_on: &["Refunded"],
                },
            ),
            step(
                "order",
                spec("CreateOrder", create_order),
                &["OrderCreated"],
                &["OrderFailed"],
                Compensation::Pivot,
            ),
            step(
                "notify",
                spec("Notify", notify),
                &["Notified"],
                &["NotifyFailed"],
                Compensation::NotNeeded {
                    reason: "best effort",
                },
            ),
        ],
        compensation_retry: retry(),
        result: None,
        user: None,
    }
}

/// The reply that completes each fixture step, in order.
pub const OK: [&str; 5] = ["Reserved", "Priced", "Charged", "OrderCreated", "Notified"];
/// The reply that fails each fixture step, in order.
pub const FAIL: [&str; 5] = [
    "ReserveFailed",
    "PriceFailed",
    "ChargeFailed",
    "OrderFailed",
    "NotifyFailed",
];

pub fn start() -> Input {
    start_with(json!({ "order": 42 }))
}

pub fn start_with(input: Value) -> Input {
    Input::Start {
        saga_id: saga_id(),
        input,
    }
}

pub fn reply(message_type: &str) -> Input {
    Input::Reply {
        message_type: message_type.to_owned(),
        payload: json!({ "reason": "nope", "of": message_type }),
        causation_id: None,
    }
}

pub fn timeout(step: usize, phase: Phase, attempt: u32) -> Input {
    Input::Timeout {
        step,
        phase,
        attempt,
    }
}

/// An event log plus the state folded from it, driven by `decide`.
pub struct Saga {
    pub def: Definition,
    pub events: Vec<SagaEvent>,
    pub state: Option<SagaState>,
}

impl Saga {
    pub fn new(def: Definition) -> Self {
        Self {
            def,
            events: Vec::new(),
            state: None,
        }
    }

    /// "Given": a saga whose log is what these inputs produced.
    pub fn given(def: Definition, inputs: &[Input]) -> Self {
        let mut saga = Self::new(def);
        for input in inputs {
            saga.when(input.clone(), t0())
                .expect("given input accepted");
        }
        // The state the "when" runs on is rebuilt from the log alone.
        let replayed = replay(&saga.events);
        assert_eq!(
            replayed, saga.state,
            "replay differs from incremental state"
        );
        saga
    }

    /// "When": decide, check decide did not touch the state, fold the events.
    pub fn when(&mut self, input: Input, now: DateTime<Utc>) -> Result<Decision, Rejected> {
        let before = self.state.clone();
        let decision = decide(&self.def, self.state.as_ref(), &input, now)?;
        assert_eq!(before, self.state, "decide mutated the state");
        for event in &decision.events {
            self.state = Some(evolve(self.state.take(), event));
            self.events.push(event.clone());
        }
        Ok(decision)
    }

    pub fn state(&self) -> &SagaState {
        self.state.as_ref().expect("saga started")
    }
}

// ---- expected events and actions ----

pub fn step_name(step: usize) -> String {
    fixture().steps[step].name.to_owned()
}

fn message_type(step: usize, phase: Phase) -> &'static str {
    let def = fixture();
    match phase {
        Phase::Forward => def.steps[step].command.message_type,
        Phase::Compensation => {
            def.compensation_of(step)
                .expect("compensable")
                .0
                .message_type
        }
    }
}

pub fn sent(step: usize, phase: Phase, attempt: u32, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::CommandSent {
        step,
        step_name: step_name(step),
        phase,
        attempt,
        command_id: command_id(saga_id(), step, phase, attempt),
        message_type: message_type(step, phase).to_owned(),
        deadline: at + chrono::TimeDelta::seconds(10),
        at,
    }
}

/// The two actions of a send: the command and its deadline timer.
pub fn send(step: usize, phase: Phase, attempt: u32, at: DateTime<Utc>) -> [Action; 2] {
    [
        Action::Send {
            command_id: command_id(saga_id(), step, phase, attempt),
            step,
            phase,
            message_type: message_type(step, phase),
            topic: "test.commands",
            key: saga_id(),
            payload: json!({ "saga_id": saga_id(), "command": message_type(step, phase) }),
        },
        Action::ScheduleTimeout {
            step,
            phase,
            attempt,
            at: at + chrono::TimeDelta::seconds(10),
        },
    ]
}

pub fn completed(step: usize, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::StepCompleted {
        step,
        step_name: step_name(step),
        reply_type: OK[step].to_owned(),
        reply: json!({ "reason": "nope", "of": OK[step] }),
        at,
    }
}

pub fn failed(step: usize, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::StepFailed {
        step,
        step_name: step_name(step),
        reason: format!("{}: nope", FAIL[step]),
        at,
    }
}

pub fn compensated(step: usize, reply_type: &str, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::StepCompensated {
        step,
        step_name: step_name(step),
        reply_type: reply_type.to_owned(),
        at,
    }
}

pub fn timed_out(step: usize, phase: Phase, attempt: u32, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::StepTimedOut {
        step,
        step_name: step_name(step),
        phase,
        attempt,
        at,
    }
}

pub fn abandoned(step: usize, attempts: u32, at: DateTime<Utc>) -> SagaEvent {
    SagaEvent::StepAbandoned {
        step,
        step_name: step_name(step),
        attempts,
        at,
    }
}

/// The reply that completes each fixture step's compensation, if it has one.
pub fn undone(step: usize) -> Option<&'static str> {
    fixture().compensation_of(step).map(|(_, done)| done[0])
}

/// Inputs that complete the first `n` steps from a fresh start.
pub fn through(n: usize) -> Vec<Input> {
    let mut inputs = vec![start()];
    inputs.extend(OK[..n].iter().map(|t| reply(t)));
    inputs
}
