use crate::common;

use std::time::Duration;

use common::fixture;
use sagaflow_saga_engine::{CheckError, Compensation, check, mermaid};

#[test]
fn fixture_passes_check() {
    assert_eq!(check(&fixture()), Ok(()));
}

#[test]
fn check_reports_every_problem() {
    let mut def = fixture();
    def.steps[1].name = "reserve";
    def.steps[0].timeout = Duration::ZERO;
    def.steps[0].retry.max_attempts = 0;
    def.compensation_retry.multiplier = 0;
    def.steps[1].completes_on = &[];
    def.steps[2].fails_on = &["Charged"];
    def.steps[4].compensation = Compensation::Pivot;
    def.steps[0].compensation = Compensation::Command {
        command: def.steps[0].command.clone(),
        completes_on: &[],
    };
    let errors = check(&def).unwrap_err();
    assert_eq!(
        errors,
        vec![
            CheckError::ZeroMultiplier("compensation_retry"),
            CheckError::ZeroTimeout("reserve"),
            CheckError::ZeroAttempts("reserve"),
            CheckError::EmptyCompensationCompletesOn("reserve"),
            CheckError::DuplicateStepName("reserve"),
            CheckError::EmptyCompletesOn("reserve"),
            CheckError::OverlappingReplies {
                step: "charge",
                message_type: "Charged"
            },
            CheckError::MultiplePivots {
                first: "order",
                second: "notify"
            },
        ]
    );
    assert_eq!(
        errors[6].to_string(),
        "step `charge` lists `Charged` in both completes_on and fails_on"
    );
}

#[test]
fn check_rejects_empty_and_unreachable_compensations() {
    let mut def = fixture();
    def.steps[4].compensation = def.steps[0].compensation.clone();
    assert_eq!(
        check(&def),
        Err(vec![CheckError::CompensationAfterPivot("notify")])
    );
    def.steps.clear();
    assert_eq!(check(&def), Err(vec![CheckError::NoSteps]));
}

#[test]
fn diagram_is_deterministic_and_shows_the_flow() {
    let text = mermaid(&fixture());
    assert_eq!(text, mermaid(&fixture()));
    assert!(text.starts_with("flowchart TD\n"));
    for line in [
        "    s3{{\"4. order<br/>CreateOrder → test.commands<br/>PIVOT\"}}",
        "    s4 -->|\"Notified\"| completed",
        // failures before/at the pivot go to the latest compensable step before them
        "    s0 -.->|\"ReserveFailed\"| compensated",
        "    s1 -.->|\"PriceFailed / timeout\"| c0",
        "    s2 -.->|\"ChargeFailed\"| c0",
        "    s3 -.->|\"OrderFailed\"| c2",
        // a timed-out pivot may have committed: an operator decides
        "    s3 -.->|\"timeout\"| failed",
        // ...except a timeout of a compensable step, which may have run: undo it too
        "    s0 -.->|\"timeout\"| c0",
        "    s2 -.->|\"timeout\"| c2",
        // after the pivot: Failed
        "    s4 -.->|\"NotifyFailed / timeout\"| failed",
        // compensations chain in reverse order
        "    c2 -->|\"Refunded\"| c0",
        "    c0 -->|\"Released\"| compensated",
        "    c0 -.->|\"retries exhausted\"| compensation_failed",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
