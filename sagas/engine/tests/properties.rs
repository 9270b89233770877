//! Properties over random definitions and random input sequences.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use sagaflow_saga_engine::{
    Action, BuildError, CommandSpec, Compensation, Definition, Input, Phase, Rejected, RetryPolicy,
    SagaData, SagaEvent, SagaState, Status, Step, check, decide, evolve, replay,
};
use serde_json::{Value, json};
use uuid::Uuid;

const MAX_STEPS: usize = 6;
const NAMES: [&str; MAX_STEPS] = ["s0", "s1", "s2", "s3", "s4", "s5"];
const OK: [&[&str]; MAX_STEPS] = [&["Ok0"], &["Ok1"], &["Ok2"], &["Ok3"], &["Ok4"], &["Ok5"]];
const FAIL: [&[&str]; MAX_STEPS] = [
    &["Fail0"],
    &["Fail1"],
    &["Fail2"],
    &["Fail3"],
    &["Fail4"],
    &["Fail5"],
];
const UNDONE: [&[&str]; MAX_STEPS] = [
    &["Undone0"],
    &["Undone1"],
    &["Undone2"],
    &["Undone3"],
    &["Undone4"],
    &["Undone5"],
];
const ALL_REPLIES: [&str; 3 * MAX_STEPS] = [
    "Ok0", "Ok1", "Ok2", "Ok3", "Ok4", "Ok5", "Fail0", "Fail1", "Fail2", "Fail3", "Fail4", "Fail5",
    "Undone0", "Undone1", "Undone2", "Undone3", "Undone4", "Undone5",
];

fn build(data: &SagaData) -> Result<Value, BuildError> {
    Ok(json!({ "saga_id": data.saga_id }))
}

fn spec(message_type: &'static str) -> CommandSpec {
    CommandSpec {
        message_type,
        topic: "t",
        build,
    }
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_secs(1),
        multiplier: 2,
        max_backoff: Duration::from_secs(8),
    }
}

/// `compensable[i]`: step i has a compensation command (else NotNeeded);
/// `pivot`: index of the pivot step, if any (steps after it are NotNeeded).
fn definition(compensable: &[bool], pivot: Option<usize>, attempts: u32) -> Definition {
    let steps = compensable
        .iter()
        .enumerate()
        .map(|(i, &undo)| Step {
            name: NAMES[i],
            command: spec(NAMES[i]),
            completes_on: OK[i],
            fails_on: FAIL[i],
            compensation: match pivot {
                Some(p) if p == i => Compensation::Pivot,
                Some(p) if i > p => Compensation::NotNeeded {
                    reason: "after pivot",
                },
                _ if undo => Compensation::Command {
                    command: spec("Undo"),
                    completes_on: UNDONE[i],
                },
                _ => Compensation::NotNeeded { reason: "nothing" },
            },
            timeout: Duration::from_secs(5),
            retry: policy(attempts),
        })
        .collect();
    Definition {
        name: "random",
        version: 1,
        steps,
        compensation_retry: policy(attempts),
        result: None,
        user: None,
    }
}

fn arb_definition() -> impl Strategy<Value = Definition> {
    (1..=MAX_STEPS)
        .prop_flat_map(|n| {
            (
                prop::collection::vec(any::<bool>(), n),
                prop::option::of(0..n),
                1..=3u32,
            )
        })
        .prop_map(|(compensable, pivot, attempts)| definition(&compensable, pivot, attempts))
}

/// How the failing step fails: a `fails_on` reply, timeouts until the retry
/// policy gives up, or an operator abort while it is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Reply,
    Timeout,
    Abort,
}

#[derive(Debug, Clone)]
enum Move {
    CompleteCurrent,
    FailCurrent,
    TimeoutCurrent,
    Reply(usize),
    Timeout(usize, bool, u32),
    Pause,
    Resume,
    Retry,
    Abort,
}

fn arb_move() -> impl Strategy<Value = Move> {
    prop_oneof![
        6 => Just(Move::CompleteCurrent),
        2 => Just(Move::FailCurrent),
        2 => Just(Move::TimeoutCurrent),
        2 => (0..ALL_REPLIES.len()).prop_map(Move::Reply),
        1 => (0..MAX_STEPS, any::<bool>(), 1..4u32).prop_map(|(s, c, a)| Move::Timeout(s, c, a)),
        1 => Just(Move::Pause),
        1 => Just(Move::Resume),
        1 => Just(Move::Retry),
        1 => Just(Move::Abort),
    ]
}

fn t(n: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .expect("valid")
        + TimeDelta::seconds(n as i64)
}

fn saga_id() -> Uuid {
    Uuid::from_u128(42)
}

fn reply(message_type: &str) -> Input {
    Input::Reply {
        message_type: message_type.to_owned(),
        payload: json!({ "type": message_type }),
        causation_id: None,
    }
}

/// Turn a move into an input for the current state.
fn input_for(def: &Definition, state: &SagaState, m: &Move) -> Input {
    let current = state.current.as_ref();
    match m {
        Move::CompleteCurrent => match current {
            Some(c) if c.phase == Phase::Forward => reply(def.steps[c.step].completes_on[0]),
            Some(c) => reply(def.compensation_of(c.step).expect("compensable").1[0]),
            None => Input::Resume,
        },
        Move::FailCurrent => match current {
            Some(c) => reply(def.steps[c.step].fails_on[0]),
            None => reply("Fail0"),
        },
        Move::TimeoutCurrent => match current {
            Some(c) => Input::Timeout {
                step: c.step,
                phase: c.phase,
                attempt: c.attempt,
            },
            None => Input::Retry,
        },
        Move::Reply(i) => reply(ALL_REPLIES[*i]),
        Move::Timeout(step, compensation, attempt) => Input::Timeout {
            step: *step,
            phase: if *compensation {
                Phase::Compensation
            } else {
                Phase::Forward
            },
            attempt: *attempt,
        },
        Move::Pause => Input::Pause { reason: "p".into() },
        Move::Resume => Input::Resume,
        Move::Retry => Input::Retry,
        Move::Abort => Input::Abort { reason: "a".into() },
    }
}

struct Run {
    state: SagaState,
    events: Vec<SagaEvent>,
}

fn started(def: &Definition) -> Run {
    let d = decide(
        def,
        None,
        &Input::Start {
            saga_id: saga_id(),
            input: json!({}),
        },
        t(0),
    )
    .expect("start");
    let state = replay(&d.events).expect("started");
    Run {
        state,
        events: d.events,
    }
}

fn apply(run: &mut Run, events: &[SagaEvent]) {
    for e in events {
        run.state = evolve(Some(run.state.clone()), e);
        run.events.push(e.clone());
    }
}

fn sends(actions: &[Action]) -> Vec<(usize, Phase)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { step, phase, .. } => Some((*step, *phase)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_definitions_pass_check(def in arb_definition()) {
        prop_assert_eq!(check(&def), Ok(()));
    }

    /// Applying the same reply twice changes nothing the second time; decide
    /// is deterministic; at most one command is sent per decision.
    #[test]
    fn same_reply_twice_is_a_no_op(
        def in arb_definition(),
        moves in prop::collection::vec(arb_move(), 0..40),
    ) {
        let mut run = started(&def);
        for (i, m) in moves.iter().enumerate() {
            let input = input_for(&def, &run.state, m);
            let now = t(i + 1);
            let Ok(d) = decide(&def, Some(&run.state), &input, now) else { continue };
            let twice = decide(&def, Some(&run.state), &input, now);
            prop_assert_eq!(twice, Ok(d.clone()));
            prop_assert!(sends(&d.actions).len() <= 1, "{:?}", d.actions);
            apply(&mut run, &d.events);
            if matches!(input, Input::Reply { .. }) {
                let again = decide(&def, Some(&run.state), &input, now)
                    .expect("a reply is never rejected");
                prop_assert!(again.is_empty(), "second {:?} gave {:?}", input, again);
            }
        }
    }

    /// Replaying the log equals the state built incrementally.
    #[test]
    fn replay_equals_incremental_state(
        def in arb_definition(),
        moves in prop::collection::vec(arb_move(), 0..40),
    ) {
        let mut run = started(&def);
        for (i, m) in moves.iter().enumerate() {
            let input = input_for(&def, &run.state, m);
            if let Ok(d) = decide(&def, Some(&run.state), &input, t(i + 1)) {
                apply(&mut run, &d.events);
            }
            prop_assert_eq!(replay(&run.events), Some(run.state.clone()));
            prop_assert_eq!(run.state.seq, run.events.len() as u64);
        }
        // The log also survives a JSON round trip.
        let json = serde_json::to_string(&run.events).expect("serialize");
        let back: Vec<SagaEvent> = serde_json::from_str(&json).expect("deserialize");
        prop_assert_eq!(replay(&back), Some(run.state));
    }

    /// For any failing step (up to the pivot) and any way of failing,
    /// compensations are sent one at a time for exactly the completed
    /// compensable steps in reverse order, preceded by the failing step itself
    /// when it was abandoned (timed out for good or aborted in flight) and has
    /// a compensation command. A late forward reply of the failing step is
    /// ignored throughout.
    #[test]
    fn failure_compensates_completed_steps_in_reverse(
        (def, failing) in arb_definition().prop_flat_map(|def| {
            let n = def.pivot().map_or(def.steps.len(), |p| p + 1);
            (Just(def), 0..n)
        }),
        how in prop_oneof![Just(How::Reply), Just(How::Timeout), Just(How::Abort)],
    ) {
        let mut run = started(&def);
        let mut now = 1;
        for (step, ok) in OK.iter().enumerate().take(failing) {
            let d = decide(&def, Some(&run.state), &reply(ok[0]), t(now)).expect("reply");
            prop_assert_eq!(sends(&d.actions), vec![(step + 1, Phase::Forward)]);
            apply(&mut run, &d.events);
            now += 1;
        }
        let mut d = match how {
            How::Reply => decide(&def, Some(&run.state), &reply(FAIL[failing][0]), t(now))
                .expect("failure"),
            How::Timeout => loop {
                let c = run.state.current.clone().expect("in flight");
                prop_assert_eq!((c.step, c.phase), (failing, Phase::Forward));
                let input = Input::Timeout { step: c.step, phase: c.phase, attempt: c.attempt };
                let d = decide(&def, Some(&run.state), &input, t(now)).expect("timeout");
                now += 1;
                if d.events.iter().any(|e| matches!(e, SagaEvent::StepFailed { .. })) {
                    break d;
                }
                for send in sends(&d.actions) {
                    prop_assert_eq!(send, (failing, Phase::Forward));
                }
                apply(&mut run, &d.events);
            },
            How::Abort => {
                let abort = Input::Abort { reason: "a".into() };
                let d = decide(&def, Some(&run.state), &abort, t(now));
                if def.pivot() == Some(failing) {
                    prop_assert!(matches!(d, Err(Rejected::PastPivot { .. })), "{:?}", d);
                    return Ok(());
                }
                d.expect("abort")
            }
        };
        let abandoned = how != How::Reply;
        if how == How::Timeout && def.pivot() == Some(failing) {
            // An unknown pivot outcome stops the saga for an operator, undoing nothing.
            apply(&mut run, &d.events);
            prop_assert_eq!(run.state.status, Status::Failed);
            prop_assert!(sends(&d.actions).is_empty());
            prop_assert!(run.state.abandoned.is_empty());
            return Ok(());
        }
        let late = reply(OK[failing][0]);
        let mut compensated = Vec::new();
        loop {
            apply(&mut run, &d.events);
            let stale = decide(&def, Some(&run.state), &late, t(now)).expect("late reply");
            prop_assert!(stale.is_empty(), "late reply gave {:?}", stale);
            match sends(&d.actions).as_slice() {
                [] => break,
                [(step, Phase::Compensation)] => {
                    compensated.push(*step);
                    now += 1;
                    d = decide(&def, Some(&run.state), &reply(UNDONE[*step][0]), t(now))
                        .expect("undone");
                }
                other => prop_assert!(false, "unexpected sends {:?}", other),
            }
        }
        let first = (abandoned && def.compensation_of(failing).is_some()).then_some(failing);
        let expected: Vec<usize> = first
            .into_iter()
            .chain((0..failing).rev().filter(|&i| def.compensation_of(i).is_some()))
            .collect();
        prop_assert_eq!(&compensated, &expected);
        prop_assert_eq!(run.state.status, Status::Compensated);
        prop_assert_eq!(&run.state.compensated, &expected);
        let abandoned_steps: Vec<usize> = abandoned.then_some(failing).into_iter().collect();
        prop_assert_eq!(&run.state.abandoned, &abandoned_steps);
        prop_assert_eq!(
            run.events.iter().filter(|e| matches!(e, SagaEvent::StepAbandoned { .. })).count(),
            abandoned_steps.len()
        );
        prop_assert_eq!(d.actions.last(), Some(&Action::Finished { status: Status::Compensated }));
    }

    /// A forward step that only ever times out is sent max_attempts times,
    /// then fails like a permanent failure, except that (before or at the
    /// pivot) it is abandoned and its own compensation, if any, is sent.
    #[test]
    fn timeouts_resend_up_to_max_attempts(def in arb_definition()) {
        let mut run = started(&def);
        let attempts = def.steps[0].retry.max_attempts;
        let mut now = 1;
        let mut sent = 1;
        let mut undo = Vec::new();
        while run.state.status == Status::Running {
            let c = run.state.current.clone().expect("in flight");
            let input = Input::Timeout { step: c.step, phase: c.phase, attempt: c.attempt };
            let d = decide(&def, Some(&run.state), &input, t(now)).expect("timeout");
            for (step, phase) in sends(&d.actions) {
                prop_assert_eq!(step, 0);
                match phase {
                    Phase::Forward => sent += 1,
                    Phase::Compensation => undo.push(step),
                }
            }
            apply(&mut run, &d.events);
            now += 1;
            prop_assert!(now < 100, "no progress");
        }
        prop_assert_eq!(sent, attempts);
        if !def.compensates_on_failure(0) || def.pivot() == Some(0) {
            prop_assert_eq!(run.state.status, Status::Failed);
            prop_assert!(undo.is_empty() && run.state.abandoned.is_empty());
            return Ok(());
        }
        prop_assert_eq!(&run.state.abandoned, &vec![0]);
        if def.compensation_of(0).is_some() {
            prop_assert_eq!(&undo, &vec![0]);
            prop_assert_eq!(run.state.status, Status::Compensating);
            let d = decide(&def, Some(&run.state), &reply(UNDONE[0][0]), t(now)).expect("undone");
            apply(&mut run, &d.events);
            prop_assert_eq!(&run.state.compensated, &vec![0]);
        } else {
            prop_assert!(undo.is_empty());
        }
        prop_assert_eq!(run.state.status, Status::Compensated);
    }

    /// Timers never end a saga that must not give up: whatever the inputs,
    /// no compensation ends `compensation_failed` (the properties' commands
    /// always build) and no step after the pivot ends `failed` by timing out;
    /// only the pivot's unknown outcome or a `fails_on` reply stops a saga.
    #[test]
    fn timers_never_end_a_saga_that_must_not_give_up(
        def in arb_definition(),
        moves in prop::collection::vec(arb_move(), 0..80),
    ) {
        let mut run = started(&def);
        for (i, m) in moves.iter().enumerate() {
            let input = input_for(&def, &run.state, m);
            if let Ok(d) = decide(&def, Some(&run.state), &input, t(i + 1)) {
                apply(&mut run, &d.events);
            }
        }
        for event in &run.events {
            match event {
                SagaEvent::CompensationFailed { reason, .. } => {
                    prop_assert!(false, "compensation failed: {}", reason);
                }
                SagaEvent::Failed { reason, .. } => prop_assert!(
                    reason.contains("unknown outcome") || !reason.contains("timed out"),
                    "failed by a timer: {}",
                    reason
                ),
                _ => {}
            }
        }
        let stuck = run
            .events
            .iter()
            .filter(|e| matches!(e, SagaEvent::StepStuck { .. }))
            .count();
        prop_assert!(stuck <= def.steps.len() * 2, "{} stuck events", stuck);
    }
}
