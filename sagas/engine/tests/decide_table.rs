//! Given events (produced by earlier inputs, then replayed), when an input,
//! then exactly these events and actions.

use crate::common;

use common::*;
use sagaflow_saga_engine::{
    Action, Decision, Input, Phase, Rejected, SagaEvent, Status, command_id,
};
use serde_json::json;

use Phase::{Compensation as C, Forward as F};

fn expect(decision: Decision, events: Vec<SagaEvent>, actions: Vec<Action>) {
    assert_eq!(decision.events, events, "events");
    assert_eq!(decision.actions, actions, "actions");
}

fn cat<const N: usize>(parts: &[[Action; N]]) -> Vec<Action> {
    parts.iter().flatten().cloned().collect()
}

fn finished(status: Status) -> Vec<Action> {
    vec![Action::Finished { status }]
}

#[test]
fn happy_path_runs_every_step_in_order() {
    let mut saga = Saga::new(fixture());
    let d = saga.when(start(), t0()).unwrap();
    expect(
        d,
        vec![
            SagaEvent::Started {
                saga_id: saga_id(),
                definition: "fixture".into(),
                version: 1,
                input: json!({ "order": 42 }),
                at: t0(),
            },
            sent(0, F, 1, t0()),
        ],
        cat(&[send(0, F, 1, t0())]),
    );
    for (step, ok) in OK.iter().enumerate().take(4) {
        let at = secs(step as i64 + 1);
        let d = saga.when(reply(ok), at).unwrap();
        expect(
            d,
            vec![completed(step, at), sent(step + 1, F, 1, at)],
            cat(&[send(step + 1, F, 1, at)]),
        );
    }
    let d = saga.when(reply("Notified"), secs(9)).unwrap();
    expect(
        d,
        vec![completed(4, secs(9)), SagaEvent::Completed { at: secs(9) }],
        finished(Status::Completed),
    );
    let s = saga.state();
    assert_eq!(s.status, Status::Completed);
    assert_eq!(s.completed, vec![0, 1, 2, 3, 4]);
    assert!(s.compensated.is_empty());
    assert_eq!(s.data.results.len(), 5);
    assert_eq!(s.data.results["charge"]["of"], "Charged");
    assert_eq!(s.seq, saga.events.len() as u64);
    assert_eq!(s.current, None);
}

#[test]
fn failure_at_each_step_up_to_the_pivot_compensates_in_reverse_order() {
    // (failing step, steps whose compensation must be sent, in order)
    let table: [(usize, &[usize]); 4] = [(0, &[]), (1, &[0]), (2, &[0]), (3, &[2, 0])];
    for (failing, expected) in table {
        let mut saga = Saga::given(fixture(), &through(failing));
        let d = saga.when(reply(FAIL[failing]), t0()).unwrap();
        let mut got = Vec::new();
        let mut d = d;
        let mut first = true;
        loop {
            let sends: Vec<usize> = d
                .actions
                .iter()
                .filter_map(|a| match a {
                    Action::Send { step, phase, .. } => {
                        assert_eq!(*phase, C, "failing {failing}");
                        Some(*step)
                    }
                    _ => None,
                })
                .collect();
            if first {
                assert_eq!(d.events[0], failed(failing, t0()), "failing {failing}");
                first = false;
            }
            match sends.as_slice() {
                [] => {
                    assert_eq!(
                        d.actions,
                        finished(Status::Compensated),
                        "failing {failing}"
                    );
                    break;
                }
                [step] => {
                    assert!(d.events.contains(&sent(*step, C, 1, t0())));
                    got.push(*step);
                    let undo = if *step == 0 { "Released" } else { "Refunded" };
                    d = saga.when(reply(undo), t0()).unwrap();
                    assert_eq!(d.events[0], compensated(*step, undo, t0()));
                }
                more => panic!("one compensation at a time, got {more:?}"),
            }
        }
        assert_eq!(got, expected, "failing step {failing}");
        let s = saga.state();
        assert_eq!(s.status, Status::Compensated);
        assert_eq!(s.compensated, expected);
        assert_eq!(
            s.failure.as_deref(),
            Some(format!("{}: nope", FAIL[failing]).as_str())
        );
    }
}

#[test]
fn failure_at_first_step_is_compensated_at_once() {
    let mut saga = Saga::given(fixture(), &through(0));
    let d = saga.when(reply("ReserveFailed"), secs(1)).unwrap();
    expect(
        d,
        vec![failed(0, secs(1)), SagaEvent::Compensated { at: secs(1) }],
        finished(Status::Compensated),
    );
}

#[test]
fn forward_timeout_waits_backoff_resends_then_compensates() {
    let mut saga = Saga::given(fixture(), &through(2));
    // Attempt 1 times out: record it and wait the backoff (1 s).
    let d = saga.when(timeout(2, F, 1), secs(10)).unwrap();
    expect(
        d,
        vec![timed_out(2, F, 1, secs(10))],
        vec![Action::ScheduleTimeout {
            step: 2,
            phase: F,
            attempt: 1,
            at: secs(11),
        }],
    );
    // Backoff elapsed: attempt 2.
    let d = saga.when(timeout(2, F, 1), secs(11)).unwrap();
    expect(
        d,
        vec![sent(2, F, 2, secs(11))],
        cat(&[send(2, F, 2, secs(11))]),
    );
    // The old timer again is stale.
    assert!(saga.when(timeout(2, F, 1), secs(12)).unwrap().is_empty());
    // Attempt 2 (the last) times out: permanent failure. The charge is
    // abandoned, not known to have failed: refund it first, then release.
    let d = saga.when(timeout(2, F, 2), secs(21)).unwrap();
    expect(
        d,
        vec![
            timed_out(2, F, 2, secs(21)),
            SagaEvent::StepFailed {
                step: 2,
                step_name: "charge".into(),
                reason: "Charge timed out after 2 attempt(s)".into(),
                at: secs(21),
            },
            abandoned(2, 2, secs(21)),
            sent(2, C, 1, secs(21)),
        ],
        cat(&[send(2, C, 1, secs(21))]),
    );
    assert_eq!(saga.state().abandoned, vec![2]);
    // The charge's late reply (even naming its command) is stale.
    assert!(saga.when(reply("Charged"), secs(22)).unwrap().is_empty());
    let late = Input::Reply {
        message_type: "Charged".into(),
        payload: json!({}),
        causation_id: Some(command_id(saga_id(), 2, F, 2)),
    };
    assert!(saga.when(late.clone(), secs(22)).unwrap().is_empty());
    let d = saga.when(reply("Refunded"), secs(23)).unwrap();
    expect(
        d,
        vec![
            compensated(2, "Refunded", secs(23)),
            sent(0, C, 1, secs(23)),
        ],
        cat(&[send(0, C, 1, secs(23))]),
    );
    // Still stale once the abandoned step is compensated.
    assert!(saga.when(late, secs(24)).unwrap().is_empty());
    let d = saga.when(reply("Released"), secs(25)).unwrap();
    expect(
        d,
        vec![
            compensated(0, "Released", secs(25)),
            SagaEvent::Compensated { at: secs(25) },
        ],
        finished(Status::Compensated),
    );
    let s = saga.state();
    assert_eq!(s.completed, vec![0, 1]);
    assert_eq!(s.abandoned, vec![2]);
    assert_eq!(s.compensated, vec![2, 0]);
    assert!(saga.when(reply("Charged"), secs(26)).unwrap().is_empty());
}

#[test]
fn timeout_exhausted_at_each_step_up_to_the_pivot_compensates_it_first() {
    // (timing-out step, steps whose compensation must be sent, in order):
    // the abandoned step first if it has a compensation command (price has
    // none), then the completed ones. (A timed-out pivot stops instead: see
    // `a_pivot_with_an_unknown_outcome_stops_for_an_operator`.)
    let table: [(usize, &[usize]); 3] = [(0, &[0]), (1, &[0]), (2, &[2, 0])];
    for (failing, expected) in table {
        let mut saga = Saga::given(fixture(), &through(failing));
        saga.when(timeout(failing, F, 1), secs(10)).unwrap();
        saga.when(timeout(failing, F, 1), secs(11)).unwrap();
        let mut d = saga.when(timeout(failing, F, 2), secs(21)).unwrap();
        assert_eq!(
            d.events[..3],
            [
                timed_out(failing, F, 2, secs(21)),
                d.events[1].clone(),
                abandoned(failing, 2, secs(21)),
            ],
            "failing {failing}"
        );
        assert!(
            matches!(d.events[1], SagaEvent::StepFailed { step, .. } if step == failing),
            "failing {failing}"
        );
        let mut got = Vec::new();
        loop {
            let sends: Vec<(usize, Phase)> = d
                .actions
                .iter()
                .filter_map(|a| match a {
                    Action::Send { step, phase, .. } => Some((*step, *phase)),
                    _ => None,
                })
                .collect();
            match sends.as_slice() {
                [] => {
                    assert_eq!(
                        d.actions,
                        finished(Status::Compensated),
                        "failing {failing}"
                    );
                    break;
                }
                [(step, C)] => {
                    got.push(*step);
                    let done = undone(*step).expect("compensable");
                    d = saga.when(reply(done), secs(30)).unwrap();
                    assert_eq!(d.events[0], compensated(*step, done, secs(30)));
                    // The abandoned step's late reply changes nothing.
                    assert!(saga.when(reply(OK[failing]), secs(30)).unwrap().is_empty());
                }
                more => panic!("one compensation at a time, got {more:?}"),
            }
        }
        assert_eq!(got, expected, "failing step {failing}");
        let s = saga.state();
        assert_eq!(s.status, Status::Compensated);
        assert_eq!(s.abandoned, vec![failing]);
        assert_eq!(s.compensated, expected);
        assert_eq!(s.completed, (0..failing).collect::<Vec<_>>());
    }
}

#[test]
fn failure_reply_after_a_timeout_is_not_abandoned() {
    // Attempt 1 timed out, then the participant answers with a failure: it
    // did nothing, so only the completed steps are compensated.
    let mut saga = Saga::given(fixture(), &[through(2), vec![timeout(2, F, 1)]].concat());
    let d = saga.when(reply("ChargeFailed"), secs(1)).unwrap();
    expect(
        d,
        vec![failed(2, secs(1)), sent(0, C, 1, secs(1))],
        cat(&[send(0, C, 1, secs(1))]),
    );
    assert!(saga.state().abandoned.is_empty());
}

#[test]
fn abandoned_step_compensation_that_times_out_for_good_is_stuck_not_terminal() {
    let mut saga = Saga::given(
        fixture(),
        &[
            through(2),
            vec![Input::Abort { reason: "r".into() }],
            vec![timeout(2, C, 1), timeout(2, C, 1)],
        ]
        .concat(),
    );
    let d = saga.when(timeout(2, C, 2), secs(21)).unwrap();
    assert!(
        d.actions
            .iter()
            .all(|a| !matches!(a, Action::Finished { .. })),
        "{:?}",
        d.actions
    );
    assert!(matches!(
        d.events.last(),
        Some(SagaEvent::StepStuck {
            step: 2,
            phase: C,
            attempts: 2,
            ..
        })
    ));
    assert_eq!(saga.state().status, Status::Compensating);
    let d = saga.when(Input::Retry, secs(30)).unwrap();
    expect(
        d,
        vec![
            SagaEvent::RetryRequested { at: secs(30) },
            sent(2, C, 3, secs(30)),
        ],
        cat(&[send(2, C, 3, secs(30))]),
    );
}

#[test]
fn late_reply_during_backoff_completes_the_step() {
    let mut saga = Saga::given(fixture(), &[through(2), vec![timeout(2, F, 1)]].concat());
    let d = saga.when(reply("Charged"), secs(1)).unwrap();
    expect(
        d,
        vec![completed(2, secs(1)), sent(3, F, 1, secs(1))],
        cat(&[send(3, F, 1, secs(1))]),
    );
    // The backoff timer then fires for a step that is done: ignored.
    assert!(saga.when(timeout(2, F, 1), secs(2)).unwrap().is_empty());
}

#[test]
fn compensation_timeout_exhausted_is_stuck_and_keeps_retrying_until_it_succeeds() {
    let mut saga = Saga::given(
        fixture(),
        &[through(2), vec![reply("ChargeFailed")]].concat(),
    );
    let d = saga.when(timeout(0, C, 1), secs(10)).unwrap();
    expect(
        d,
        vec![timed_out(0, C, 1, secs(10))],
        vec![Action::ScheduleTimeout {
            step: 0,
            phase: C,
            attempt: 1,
            at: secs(11),
        }],
    );
    let d = saga.when(timeout(0, C, 1), secs(11)).unwrap();
    expect(
        d,
        vec![sent(0, C, 2, secs(11))],
        cat(&[send(0, C, 2, secs(11))]),
    );
    // The policy is used up: the saga is stuck, not terminal, and waits the
    // policy's maximum backoff (10 s) before the next attempt.
    let d = saga.when(timeout(0, C, 2), secs(21)).unwrap();
    expect(
        d,
        vec![
            timed_out(0, C, 2, secs(21)),
            SagaEvent::StepStuck {
                step: 0,
                step_name: "reserve".into(),
                phase: C,
                attempts: 2,
                at: secs(21),
            },
        ],
        vec![Action::ScheduleTimeout {
            step: 0,
            phase: C,
            attempt: 2,
            at: secs(31),
        }],
    );
    assert_eq!(saga.state().status, Status::Compensating);
    let stuck = saga.state().stuck.clone().expect("stuck");
    assert_eq!((stuck.step, stuck.phase, stuck.since), (0, C, secs(21)));
    let d = saga.when(timeout(0, C, 2), secs(31)).unwrap();
    expect(
        d,
        vec![sent(0, C, 3, secs(31))],
        cat(&[send(0, C, 3, secs(31))]),
    );
    // Another timeout: no second `StepStuck`, and the backoff doubles (20 s).
    let d = saga.when(timeout(0, C, 3), secs(41)).unwrap();
    expect(
        d,
        vec![timed_out(0, C, 3, secs(41))],
        vec![Action::ScheduleTimeout {
            step: 0,
            phase: C,
            attempt: 3,
            at: secs(61),
        }],
    );
    // The operator does not wait for the backoff: `Retry` sends attempt 4 now.
    let d = saga.when(Input::Retry, secs(45)).unwrap();
    expect(
        d,
        vec![
            SagaEvent::RetryRequested { at: secs(45) },
            sent(0, C, 4, secs(45)),
        ],
        cat(&[send(0, C, 4, secs(45))]),
    );
    // The backoff timer of attempt 3 is stale now.
    assert!(saga.when(timeout(0, C, 3), secs(61)).unwrap().is_empty());
    let d = saga.when(reply("Released"), secs(62)).unwrap();
    expect(
        d,
        vec![
            compensated(0, "Released", secs(62)),
            SagaEvent::Compensated { at: secs(62) },
        ],
        finished(Status::Compensated),
    );
    assert_eq!(saga.state().stuck, None);
}

#[test]
fn paused_saga_records_replies_but_sends_nothing_until_resumed() {
    let mut saga = Saga::given(fixture(), &through(1));
    let d = saga
        .when(
            Input::Pause {
                reason: "incident 7".into(),
            },
            secs(1),
        )
        .unwrap();
    expect(
        d,
        vec![SagaEvent::Paused {
            reason: "incident 7".into(),
            at: secs(1),
        }],
        vec![],
    );
    // The reply is recorded, the next command is not sent.
    let d = saga.when(reply("Priced"), secs(2)).unwrap();
    expect(d, vec![completed(1, secs(2))], vec![]);
    assert!(saga.state().paused);
    assert_eq!(saga.state().current, None);
    let d = saga.when(Input::Resume, secs(3)).unwrap();
    expect(
        d,
        vec![SagaEvent::Resumed { at: secs(3) }, sent(2, F, 1, secs(3))],
        cat(&[send(2, F, 1, secs(3))]),
    );
}

#[test]
fn timeouts_while_paused_are_ignored_and_rearmed_on_resume() {
    let mut saga = Saga::given(
        fixture(),
        &[through(1), vec![Input::Pause { reason: "x".into() }]].concat(),
    );
    assert!(saga.when(timeout(1, F, 1), secs(10)).unwrap().is_empty());
    let d = saga.when(Input::Resume, secs(20)).unwrap();
    expect(
        d,
        vec![SagaEvent::Resumed { at: secs(20) }],
        vec![Action::ScheduleTimeout {
            step: 1,
            phase: F,
            attempt: 1,
            at: secs(20),
        }],
    );
    let d = saga.when(timeout(1, F, 1), secs(20)).unwrap();
    assert_eq!(d.events, vec![timed_out(1, F, 1, secs(20))]);
}

#[test]
fn resume_before_the_deadline_rearms_the_original_deadline() {
    let mut saga = Saga::given(
        fixture(),
        &[through(1), vec![Input::Pause { reason: "x".into() }]].concat(),
    );
    let d = saga.when(Input::Resume, secs(5)).unwrap();
    assert_eq!(
        d.actions,
        vec![Action::ScheduleTimeout {
            step: 1,
            phase: F,
            attempt: 1,
            at: secs(10),
        }]
    );
}

#[test]
fn failure_while_paused_compensates_only_after_resume() {
    let mut saga = Saga::given(
        fixture(),
        &[through(2), vec![Input::Pause { reason: "x".into() }]].concat(),
    );
    let d = saga.when(reply("ChargeFailed"), secs(1)).unwrap();
    expect(d, vec![failed(2, secs(1))], vec![]);
    assert_eq!(saga.state().status, Status::Compensating);
    let d = saga.when(Input::Resume, secs(2)).unwrap();
    expect(
        d,
        vec![SagaEvent::Resumed { at: secs(2) }, sent(0, C, 1, secs(2))],
        cat(&[send(0, C, 1, secs(2))]),
    );
}

#[test]
fn abort_compensates_the_in_flight_step_then_the_completed_ones() {
    let mut saga = Saga::given(fixture(), &through(2));
    let abort = Input::Abort {
        reason: "customer cancelled".into(),
    };
    let d = saga.when(abort.clone(), secs(1)).unwrap();
    expect(
        d,
        vec![
            SagaEvent::AbortRequested {
                reason: "customer cancelled".into(),
                at: secs(1),
            },
            abandoned(2, 1, secs(1)),
            sent(2, C, 1, secs(1)),
        ],
        cat(&[send(2, C, 1, secs(1))]),
    );
    assert_eq!(
        saga.when(abort, secs(2)),
        Err(Rejected::AlreadyCompensating)
    );
    // The abandoned forward command's reply is stale now.
    assert!(saga.when(reply("Charged"), secs(3)).unwrap().is_empty());
    let d = saga.when(reply("Refunded"), secs(4)).unwrap();
    expect(
        d,
        vec![compensated(2, "Refunded", secs(4)), sent(0, C, 1, secs(4))],
        cat(&[send(0, C, 1, secs(4))]),
    );
    assert!(saga.when(reply("Charged"), secs(5)).unwrap().is_empty());
    let d = saga.when(reply("Released"), secs(6)).unwrap();
    assert_eq!(d.actions, finished(Status::Compensated));
    let s = saga.state();
    assert_eq!(s.failure.as_deref(), Some("customer cancelled"));
    assert_eq!(s.abandoned, vec![2]);
    assert_eq!(s.compensated, vec![2, 0]);
}

#[test]
fn abort_during_the_first_step_compensates_it() {
    let mut saga = Saga::given(fixture(), &through(0));
    let d = saga
        .when(Input::Abort { reason: "r".into() }, secs(1))
        .unwrap();
    expect(
        d,
        vec![
            SagaEvent::AbortRequested {
                reason: "r".into(),
                at: secs(1),
            },
            abandoned(0, 1, secs(1)),
            sent(0, C, 1, secs(1)),
        ],
        cat(&[send(0, C, 1, secs(1))]),
    );
    let d = saga.when(reply("Released"), secs(2)).unwrap();
    expect(
        d,
        vec![
            compensated(0, "Released", secs(2)),
            SagaEvent::Compensated { at: secs(2) },
        ],
        finished(Status::Compensated),
    );
}

#[test]
fn abort_of_a_step_without_compensation_compensates_only_the_completed_ones() {
    let mut saga = Saga::given(fixture(), &through(1));
    let d = saga
        .when(Input::Abort { reason: "r".into() }, secs(1))
        .unwrap();
    expect(
        d,
        vec![
            SagaEvent::AbortRequested {
                reason: "r".into(),
                at: secs(1),
            },
            abandoned(1, 1, secs(1)),
            sent(0, C, 1, secs(1)),
        ],
        cat(&[send(0, C, 1, secs(1))]),
    );
}

#[test]
fn abort_during_backoff_abandons_the_timed_out_attempt() {
    // Attempt 1 timed out and attempt 2 waits for its backoff: attempt 1 may
    // still have run.
    let mut saga = Saga::given(fixture(), &[through(2), vec![timeout(2, F, 1)]].concat());
    assert!(saga.state().current.as_ref().is_some_and(|c| c.timed_out));
    let d = saga
        .when(Input::Abort { reason: "r".into() }, secs(1))
        .unwrap();
    assert_eq!(d.events[1], abandoned(2, 1, secs(1)));
    assert_eq!(d.events[2], sent(2, C, 1, secs(1)));
}

#[test]
fn abort_while_paused_between_steps_abandons_nothing() {
    let mut saga = Saga::given(
        fixture(),
        &[
            through(1),
            vec![Input::Pause { reason: "x".into() }, reply("Priced")],
        ]
        .concat(),
    );
    assert_eq!(saga.state().current, None);
    let d = saga
        .when(Input::Abort { reason: "r".into() }, secs(1))
        .unwrap();
    expect(
        d,
        vec![SagaEvent::AbortRequested {
            reason: "r".into(),
            at: secs(1),
        }],
        vec![],
    );
    let d = saga.when(Input::Resume, secs(2)).unwrap();
    expect(
        d,
        vec![SagaEvent::Resumed { at: secs(2) }, sent(0, C, 1, secs(2))],
        cat(&[send(0, C, 1, secs(2))]),
    );
    assert!(saga.state().abandoned.is_empty());
}

#[test]
fn abort_is_rejected_once_the_pivot_is_sent_or_done_and_on_terminal_sagas() {
    for n in [3, 4] {
        let mut saga = Saga::given(fixture(), &through(n));
        let err = saga
            .when(Input::Abort { reason: "r".into() }, t0())
            .unwrap_err();
        assert_eq!(
            err,
            Rejected::PastPivot {
                pivot: "order".into()
            }
        );
        assert!(err.to_string().contains("pivot step `order`"), "{err}");
    }
    let mut done = Saga::given(fixture(), &through(5));
    assert_eq!(
        done.when(Input::Abort { reason: "r".into() }, t0()),
        Err(Rejected::Terminal {
            status: Status::Completed
        })
    );
}

#[test]
fn failure_after_the_pivot_fails_for_an_operator_then_retry_goes_forward() {
    let mut saga = Saga::given(fixture(), &through(4));
    let d = saga.when(reply("NotifyFailed"), secs(1)).unwrap();
    expect(
        d,
        vec![
            failed(4, secs(1)),
            SagaEvent::Failed {
                reason: "step `notify` failed after the pivot: NotifyFailed: nope".into(),
                at: secs(1),
            },
        ],
        finished(Status::Failed),
    );
    assert_eq!(saga.state().status, Status::Failed);
    assert!(saga.state().compensated.is_empty());
    let d = saga.when(Input::Retry, secs(2)).unwrap();
    expect(
        d,
        vec![
            SagaEvent::RetryRequested { at: secs(2) },
            sent(4, F, 2, secs(2)),
        ],
        cat(&[send(4, F, 2, secs(2))]),
    );
    let d = saga.when(reply("Notified"), secs(3)).unwrap();
    expect(
        d,
        vec![completed(4, secs(3)), SagaEvent::Completed { at: secs(3) }],
        finished(Status::Completed),
    );
}

#[test]
fn timeouts_after_the_pivot_retry_forever_without_compensating() {
    let mut saga = Saga::given(fixture(), &through(4));
    saga.when(timeout(4, F, 1), secs(10)).unwrap();
    saga.when(timeout(4, F, 1), secs(11)).unwrap();
    let d = saga.when(timeout(4, F, 2), secs(21)).unwrap();
    assert!(matches!(
        d.events.last(),
        Some(SagaEvent::StepStuck {
            step: 4,
            phase: F,
            attempts: 2,
            ..
        })
    ));
    // Many more timeouts later the saga is still running and still sending,
    // and the backoff between attempts never exceeds the cap.
    let mut at = 21;
    for attempt in 2..12u32 {
        at += 400;
        saga.when(timeout(4, F, attempt), secs(at)).unwrap();
        at += 10;
        let d = saga.when(timeout(4, F, attempt + 1), secs(at)).unwrap();
        let [Action::ScheduleTimeout { at: next, .. }] = d.actions.as_slice() else {
            panic!("attempt {attempt}: {:?}", d.actions);
        };
        assert!(*next - secs(at) <= chrono::TimeDelta::seconds(300));
    }
    assert_eq!(saga.state().status, Status::Running);
    let stuck_events = saga
        .events
        .iter()
        .filter(|e| matches!(e, SagaEvent::StepStuck { .. }))
        .count();
    assert_eq!(stuck_events, 1);
    assert!(
        !saga
            .events
            .iter()
            .any(|e| matches!(e, SagaEvent::CommandSent { phase: C, .. }))
    );
    let d = saga.when(reply("Notified"), secs(at + 11)).unwrap();
    assert_eq!(d.actions, finished(Status::Completed));
}

#[test]
fn stale_and_duplicate_inputs_are_no_ops() {
    let saga = Saga::given(fixture(), &through(1));
    let stale = [
        ("duplicate reply of a completed step", reply("Reserved")),
        ("reply type of no step", reply("Unrelated")),
        ("reply meant for a later step", reply("Charged")),
        ("compensation reply while going forward", reply("Released")),
        ("timer of a completed step", timeout(0, F, 1)),
        ("timer of another attempt", timeout(1, F, 2)),
        ("timer of another phase", timeout(1, C, 1)),
        (
            "reply caused by another command",
            Input::Reply {
                message_type: "Priced".into(),
                payload: json!({}),
                causation_id: Some(command_id(saga_id(), 0, F, 1)),
            },
        ),
        ("second start", start()),
    ];
    for (name, input) in stale {
        let before = saga.state.clone();
        let d = sagaflow_saga_engine::decide(&saga.def, saga.state.as_ref(), &input, secs(1));
        assert_eq!(d, Ok(Decision::default()), "{name}");
        assert_eq!(saga.state, before, "{name}");
    }
}

#[test]
fn reply_with_matching_causation_id_is_accepted() {
    let mut saga = Saga::given(fixture(), &through(1));
    let d = saga
        .when(
            Input::Reply {
                message_type: "Priced".into(),
                payload: json!({}),
                causation_id: Some(command_id(saga_id(), 1, F, 1)),
            },
            secs(1),
        )
        .unwrap();
    assert_eq!(d.events.len(), 2);
    assert_eq!(saga.state().completed, vec![0, 1]);
}

#[test]
fn inputs_to_a_terminal_saga_are_ignored_or_rejected() {
    let mut saga = Saga::given(fixture(), &through(5));
    assert!(saga.when(reply("Notified"), t0()).unwrap().is_empty());
    assert!(saga.when(timeout(4, F, 1), t0()).unwrap().is_empty());
    assert!(saga.when(start(), t0()).unwrap().is_empty());
    let terminal = Err(Rejected::Terminal {
        status: Status::Completed,
    });
    assert_eq!(
        saga.when(Input::Pause { reason: "r".into() }, t0()),
        terminal
    );
    assert_eq!(saga.when(Input::Resume, t0()), terminal);
    assert_eq!(
        saga.when(Input::Retry, t0()),
        Err(Rejected::NotRetriable {
            status: Status::Completed
        })
    );
}

#[test]
fn operator_inputs_that_make_no_sense_are_rejected() {
    let mut saga = Saga::given(fixture(), &through(1));
    assert_eq!(saga.when(Input::Resume, t0()), Err(Rejected::NotPaused));
    assert_eq!(
        saga.when(Input::Retry, t0()),
        Err(Rejected::NotRetriable {
            status: Status::Running
        })
    );
    saga.when(Input::Pause { reason: "a".into() }, t0())
        .unwrap();
    assert_eq!(
        saga.when(Input::Pause { reason: "b".into() }, t0()),
        Err(Rejected::AlreadyPaused)
    );
    let mut nothing = Saga::new(fixture());
    assert_eq!(
        nothing.when(Input::Resume, t0()),
        Err(Rejected::UnknownSaga)
    );
    assert!(nothing.when(reply("Reserved"), t0()).unwrap().is_empty());
    let mut other = fixture();
    other.version = 2;
    let err = sagaflow_saga_engine::decide(&other, saga.state.as_ref(), &Input::Resume, t0())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "saga belongs to definition fixture v1, not fixture v2"
    );
}

#[test]
fn build_error_fails_the_step_and_compensates() {
    let mut saga = Saga::new(fixture());
    saga.when(start_with(json!({ "fail_build": "Charge" })), t0())
        .unwrap();
    saga.when(reply("Reserved"), t0()).unwrap();
    let d = saga.when(reply("Priced"), secs(1)).unwrap();
    let Some(SagaEvent::StepFailed { step, reason, .. }) = d.events.get(1) else {
        panic!("expected StepFailed, got {:?}", d.events);
    };
    assert_eq!(*step, 2);
    assert_eq!(
        reason,
        "cannot build Charge: invalid saga input: cannot build Charge"
    );
    assert_eq!(d.events.get(2), Some(&sent(0, C, 1, secs(1))));
    assert_eq!(saga.state().status, Status::Compensating);
}

#[test]
fn compensation_build_error_ends_compensation_failed() {
    let mut saga = Saga::new(fixture());
    saga.when(start_with(json!({ "fail_build": "Release" })), t0())
        .unwrap();
    saga.when(reply("Reserved"), t0()).unwrap();
    let d = saga.when(reply("PriceFailed"), t0()).unwrap();
    assert_eq!(d.actions, finished(Status::CompensationFailed));
    assert!(matches!(
        d.events.last(),
        Some(SagaEvent::CompensationFailed { step: 0, .. })
    ));
}

#[test]
fn events_and_statuses_serialize_as_tagged_snake_case_json() {
    let event = sent(2, C, 3, t0());
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["type"], "command_sent");
    assert_eq!(value["phase"], "compensation");
    assert_eq!(value["attempt"], 3);
    let back: SagaEvent = serde_json::from_value(value).unwrap();
    assert_eq!(back, event);
    assert_eq!(
        serde_json::to_value(Status::CompensationFailed).unwrap(),
        json!("compensation_failed")
    );
    assert!(Status::Failed.is_terminal() && !Status::Compensating.is_terminal());
    let state = Saga::given(fixture(), &through(2)).state.unwrap();
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(
        serde_json::from_str::<sagaflow_saga_engine::SagaState>(&json).unwrap(),
        state
    );
    let event = abandoned(2, 3, t0());
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["type"], "step_abandoned");
    assert_eq!(value["attempts"], 3);
    assert_eq!(serde_json::from_value::<SagaEvent>(value).unwrap(), event);
}

#[test]
fn states_stored_before_abandoned_steps_existed_still_deserialize() {
    let state = Saga::given(fixture(), &through(2)).state.unwrap();
    let mut value = serde_json::to_value(&state).unwrap();
    value.as_object_mut().unwrap().remove("abandoned");
    assert_eq!(
        serde_json::from_value::<sagaflow_saga_engine::SagaState>(value).unwrap(),
        state
    );
}

#[test]
fn a_pivot_with_an_unknown_outcome_stops_for_an_operator() {
    // Step 3 is the pivot: after its last attempt times out it may still have
    // committed, so nothing is undone; an operator retries it.
    let mut saga = Saga::given(fixture(), &through(3));
    saga.when(timeout(3, F, 1), secs(10)).unwrap();
    saga.when(timeout(3, F, 1), secs(11)).unwrap();
    let d = saga.when(timeout(3, F, 2), secs(21)).unwrap();
    assert!(
        d.actions.iter().all(|a| !matches!(a, Action::Send { .. })),
        "nothing is compensated: {:?}",
        d.actions
    );
    assert_eq!(
        d.actions.last(),
        Some(&Action::Finished {
            status: Status::Failed
        })
    );
    assert!(
        d.events
            .iter()
            .all(|e| !matches!(e, SagaEvent::StepAbandoned { .. }))
    );
    // The operator's retry re-sends the pivot's command.
    let d = saga.when(Input::Retry, secs(30)).unwrap();
    assert!(
        d.actions.iter().any(|a| matches!(
            a,
            Action::Send {
                step: 3,
                phase: Phase::Forward,
                ..
            }
        )),
        "{:?}",
        d.actions
    );
}

#[test]
fn a_late_pivot_reply_reconciles_a_saga_stopped_with_an_unknown_outcome() {
    let mut saga = Saga::given(
        fixture(),
        &[
            through(3),
            vec![timeout(3, F, 1), timeout(3, F, 1), timeout(3, F, 2)],
        ]
        .concat(),
    );
    assert_eq!(saga.state().status, Status::Failed);
    // A reply to another step, or to no attempt of the pivot, stays stale.
    assert!(saga.when(reply("Charged"), secs(40)).unwrap().is_empty());
    let foreign = Input::Reply {
        message_type: "OrderCreated".into(),
        payload: json!({ "order_id": 7 }),
        causation_id: Some(command_id(saga_id(), 3, F, 9)),
    };
    assert!(saga.when(foreign, secs(40)).unwrap().is_empty());
    // The pivot's reply to attempt 1 arrives: the saga runs again from there.
    let late = Input::Reply {
        message_type: "OrderCreated".into(),
        payload: json!({ "order_id": 7 }),
        causation_id: Some(command_id(saga_id(), 3, F, 1)),
    };
    let d = saga.when(late, secs(41)).unwrap();
    assert_eq!(
        d.events[0],
        SagaEvent::Reconciled {
            step: 3,
            step_name: step_name(3),
            reply_type: "OrderCreated".into(),
            at: secs(41),
        }
    );
    assert!(matches!(
        d.events[1],
        SagaEvent::StepCompleted { step: 3, .. }
    ));
    assert_eq!(d.events[2], sent(4, F, 1, secs(41)));
    assert_eq!(d.actions, cat(&[send(4, F, 1, secs(41))]));
    assert_eq!(saga.state().status, Status::Running);
    assert_eq!(saga.state().failure, None);
    // A duplicate of that reply changes nothing.
    let again = Input::Reply {
        message_type: "OrderCreated".into(),
        payload: json!({ "order_id": 7 }),
        causation_id: Some(command_id(saga_id(), 3, F, 2)),
    };
    assert!(saga.when(again, secs(42)).unwrap().is_empty());
    let d = saga.when(reply("Notified"), secs(43)).unwrap();
    assert_eq!(d.actions, finished(Status::Completed));
}

#[test]
fn a_late_pivot_failure_reply_compensates_the_earlier_steps() {
    let mut saga = Saga::given(
        fixture(),
        &[
            through(3),
            vec![timeout(3, F, 1), timeout(3, F, 1), timeout(3, F, 2)],
        ]
        .concat(),
    );
    assert_eq!(saga.state().status, Status::Failed);
    let d = saga.when(reply(FAIL[3]), secs(41)).unwrap();
    assert!(matches!(d.events[0], SagaEvent::Reconciled { step: 3, .. }));
    assert!(matches!(d.events[1], SagaEvent::StepFailed { step: 3, .. }));
    assert_eq!(saga.state().status, Status::Compensating);
    assert!(
        saga.state().abandoned.is_empty(),
        "the pivot said it did nothing"
    );
    assert!(
        d.actions.iter().any(|a| matches!(
            a,
            Action::Send {
                step: 2,
                phase: C,
                ..
            }
        )),
        "{:?}",
        d.actions
    );
}

#[test]
fn a_saga_failed_after_the_pivot_ignores_late_replies_of_its_pivot() {
    // Failed by a `fails_on` reply of the step after the pivot: the pivot is
    // done, nothing to reconcile.
    let mut saga = Saga::given(
        fixture(),
        &[through(4), vec![reply("NotifyFailed")]].concat(),
    );
    assert_eq!(saga.state().status, Status::Failed);
    assert!(
        saga.when(reply("OrderCreated"), secs(50))
            .unwrap()
            .is_empty()
    );
    assert!(saga.when(reply("Notified"), secs(50)).unwrap().is_empty());
}
