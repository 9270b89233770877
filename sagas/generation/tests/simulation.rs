//! Full runs of the real generation definition through decide/evolve, with
//! the participants simulated.

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use sagaflow_saga_engine::{
    Action, Decision, Definition, Input, Phase, SagaEvent, SagaState, Status, decide, evolve,
    replay,
};
use sagaflow_saga_generation::definition;
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).single().unwrap()
}

/// The simulated participant reply to a command.
type Participant = fn(&str, &Value) -> (&'static str, Value);

/// A saga driven one input at a time; every sent command is recorded.
struct Saga {
    def: Definition,
    state: Option<SagaState>,
    events: Vec<SagaEvent>,
    sent: Vec<(&'static str, &'static str, Phase, Value)>,
}

impl Saga {
    fn new() -> Self {
        Saga {
            def: definition(),
            state: None,
            events: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Applies one input; returns the decision.
    fn apply(&mut self, input: &Input) -> Decision {
        let d = decide(&self.def, self.state.as_ref(), input, now()).unwrap();
        for e in &d.events {
            self.state = Some(evolve(self.state.take(), e));
            self.events.push(e.clone());
        }
        for a in &d.actions {
            if let Action::Send {
                message_type,
                topic,
                key,
                payload,
                phase,
                ..
            } = a
            {
                assert_eq!(*key, SAGA, "partition key is the saga id");
                assert!(
                    sagaflow_events::encode_json(message_type, payload).is_ok(),
                    "{message_type} payload does not encode: {payload}"
                );
                self.sent
                    .push((message_type, topic, *phase, payload.clone()));
            }
        }
        d
    }

    /// Starts the saga and answers every command with `participant` until
    /// nothing is left to send.
    fn drive(participant: Participant) -> Saga {
        let mut saga = Saga::new();
        let mut pending = vec![Input::Start {
            saga_id: SAGA,
            input: sample_input(),
        }];
        while let Some(input) = pending.pop() {
            let d = saga.apply(&input);
            for a in d.actions {
                if let Action::Send {
                    command_id,
                    message_type,
                    payload,
                    ..
                } = a
                {
                    let (reply, body) = participant(message_type, &payload);
                    pending.push(Input::Reply {
                        message_type: reply.to_owned(),
                        payload: body,
                        causation_id: Some(command_id),
                    });
                }
            }
            assert!(saga.events.len() < 100, "saga does not terminate");
        }
        assert_eq!(replay(&saga.events), saga.state);
        saga
    }

    fn state(&self) -> &SagaState {
        self.state.as_ref().unwrap()
    }

    fn sent_types(&self) -> Vec<(&'static str, Phase)> {
        self.sent.iter().map(|s| (s.0, s.2)).collect()
    }
}

fn happy(message_type: &str, _payload: &Value) -> (&'static str, Value) {
    match message_type {
        "AnalyseJob" => ("JobAnalysed", job_analysed()),
        "CompileProfile" => ("ProfileCompiled", profile_compiled()),
        "GenerateDocument" => ("DocumentGenerated", document_generated()),
        "ValidateDocument" => ("DocumentValidated", document_validated()),
        "ExportDocument" => ("DocumentExported", document_exported()),
        "ReleaseTokenBudget" => (
            "TokenBudgetReleased",
            json!({ "saga_id": SAGA, "tokens_released": 3188 }),
        ),
        "VoidDraft" => (
            "DraftVoided",
            json!({ "saga_id": SAGA, "document_id": DRAFT }),
        ),
        other => panic!("unexpected command {other}"),
    }
}

#[test]
fn happy_path_exports_the_validated_document() {
    let saga = Saga::drive(happy);
    assert_eq!(
        saga.sent_types(),
        [
            ("AnalyseJob", Phase::Forward),
            ("CompileProfile", Phase::Forward),
            ("GenerateDocument", Phase::Forward),
            ("ValidateDocument", Phase::Forward),
            ("ExportDocument", Phase::Forward),
        ]
    );
    assert!(saga.sent.iter().all(|s| s.1 == "generation.commands"));
    // Data flows from reply to command.
    assert_eq!(saga.sent[1].3["skills"], json!(["rust", "kafka"]));
    assert_eq!(
        saga.sent[2].3["profile_summary"],
        "Mathematician who wrote the first program."
    );
    assert_eq!(saga.sent[2].3["keywords"], json!(["event-driven", "sagas"]));
    assert_eq!(saga.sent[3].3["document_id"], DRAFT);
    assert_eq!(saga.sent[4].3["document_id"], FINAL);
    let s = saga.state();
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.completed, [0, 1, 2, 3, 4]);
    assert!(matches!(
        saga.events.last(),
        Some(SagaEvent::Completed { .. })
    ));
}

#[test]
fn rejected_document_releases_the_token_budget() {
    fn rejected(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "ValidateDocument" => (
                "DocumentRejected",
                json!({
                    "saga_id": SAGA, "document_id": DRAFT,
                    "reasons": ["missing keywords"], "feedback": "mention sagas"
                }),
            ),
            other => happy(other, payload),
        }
    }
    let saga = Saga::drive(rejected);
    assert_eq!(
        saga.sent_types(),
        [
            ("AnalyseJob", Phase::Forward),
            ("CompileProfile", Phase::Forward),
            ("GenerateDocument", Phase::Forward),
            ("ValidateDocument", Phase::Forward),
            ("ReleaseTokenBudget", Phase::Compensation),
        ]
    );
    assert_eq!(saga.sent[4].3["tokens"], 4000);
    let s = saga.state();
    assert_eq!(s.status, Status::Compensated);
    assert_eq!(s.completed, [0, 1, 2]);
    assert_eq!(s.compensated, [2]);
    assert!(
        s.failure
            .as_deref()
            .is_some_and(|f| f.starts_with("DocumentRejected")),
        "{:?}",
        s.failure
    );
}

#[test]
fn generation_failure_compensates_nothing_it_did_not_do() {
    fn fails(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "GenerateDocument" => (
                "GenerationFailed",
                json!({ "saga_id": SAGA, "reason": "provider down", "tokens_used": 0 }),
            ),
            other => happy(other, payload),
        }
    }
    let saga = Saga::drive(fails);
    assert!(!saga.sent.iter().any(|s| s.2 == Phase::Compensation));
    assert_eq!(saga.state().status, Status::Compensated);
    assert_eq!(saga.state().compensated, Vec::<usize>::new());
}

#[test]
fn export_failure_voids_the_draft_then_releases_the_budget() {
    fn fails(message_type: &str, payload: &Value) -> (&'static str, Value) {
        match message_type {
            "ExportDocument" => (
                "ExportFailed",
                json!({ "saga_id": SAGA, "document_id": FINAL, "reason": "renderer crashed" }),
            ),
            other => happy(other, payload),
        }
    }
    let saga = Saga::drive(fails);
    let compensations: Vec<_> = saga
        .sent
        .iter()
        .filter(|s| s.2 == Phase::Compensation)
        .map(|s| s.0)
        .collect();
    assert_eq!(compensations, ["VoidDraft", "ReleaseTokenBudget"]);
    assert_eq!(saga.state().status, Status::Compensated);
    assert_eq!(saga.state().compensated, [3, 2]);
}

#[test]
fn abort_while_generating_releases_the_budget() {
    let mut saga = Saga::new();
    let reply = |message_type: &str, payload: Value| Input::Reply {
        message_type: message_type.to_owned(),
        payload,
        causation_id: None,
    };
    saga.apply(&Input::Start {
        saga_id: SAGA,
        input: sample_input(),
    });
    saga.apply(&reply("JobAnalysed", job_analysed()));
    saga.apply(&reply("ProfileCompiled", profile_compiled()));
    let c = saga.state().current.clone().expect("generate in flight");
    assert_eq!((c.step, c.phase), (2, Phase::Forward));

    saga.apply(&Input::Abort {
        reason: "user cancelled".into(),
    });
    assert_eq!(saga.state().status, Status::Compensating);
    assert_eq!(saga.state().abandoned, [2]);
    assert_eq!(
        saga.sent.last().map(|s| (s.0, s.2)),
        Some(("ReleaseTokenBudget", Phase::Compensation))
    );
    // The late draft is ignored; the release covers whatever it spent.
    assert!(
        saga.apply(&reply("DocumentGenerated", document_generated()))
            .is_empty()
    );
    let d = saga.apply(&reply(
        "TokenBudgetReleased",
        json!({ "saga_id": SAGA, "tokens_released": 4000 }),
    ));
    assert_eq!(
        d.actions.last(),
        Some(&Action::Finished {
            status: Status::Compensated
        })
    );
    assert_eq!(
        saga.sent_types(),
        [
            ("AnalyseJob", Phase::Forward),
            ("CompileProfile", Phase::Forward),
            ("GenerateDocument", Phase::Forward),
            ("ReleaseTokenBudget", Phase::Compensation),
        ]
    );
    let s = saga.state();
    assert_eq!(s.completed, [0, 1]);
    assert_eq!(s.compensated, [2]);
    assert_eq!(replay(&saga.events).as_ref(), Some(s));
}

#[test]
fn generate_times_out_twice_then_releases_the_budget() {
    let mut saga = Saga::new();
    let reply = |message_type: &str, payload: Value| Input::Reply {
        message_type: message_type.to_owned(),
        payload,
        causation_id: None,
    };
    saga.apply(&Input::Start {
        saga_id: SAGA,
        input: sample_input(),
    });
    saga.apply(&reply("JobAnalysed", job_analysed()));
    saga.apply(&reply("ProfileCompiled", profile_compiled()));
    while saga.state().status == Status::Running {
        let c = saga.state().current.clone().expect("generate in flight");
        assert_eq!((c.step, c.phase), (2, Phase::Forward));
        saga.apply(&Input::Timeout {
            step: c.step,
            phase: c.phase,
            attempt: c.attempt,
        });
    }
    let generates = saga
        .sent
        .iter()
        .filter(|s| s.0 == "GenerateDocument")
        .count();
    assert_eq!(generates, 2, "two attempts");
    assert_eq!(saga.state().abandoned, [2]);
    assert_eq!(
        saga.sent.last().map(|s| (s.0, s.2)),
        Some(("ReleaseTokenBudget", Phase::Compensation))
    );
}
