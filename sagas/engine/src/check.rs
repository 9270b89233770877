//! Static validation of a definition, run at startup and in tests.

use std::collections::BTreeSet;

use thiserror::Error;

use crate::definition::{CommandSpec, Compensation, Definition};
use crate::retry::RetryPolicy;

/// One problem with a definition.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckError {
    #[error("definition has no steps")]
    NoSteps,
    #[error("step name `{0}` is used more than once")]
    DuplicateStepName(&'static str),
    #[error("step `{0}` has a zero timeout")]
    ZeroTimeout(&'static str),
    #[error("retry policy of `{0}` has max_attempts 0 (need at least 1)")]
    ZeroAttempts(&'static str),
    #[error("retry policy of `{0}` has multiplier 0 (need at least 1)")]
    ZeroMultiplier(&'static str),
    #[error("steps `{first}` and `{second}` are both pivots; at most one is allowed")]
    MultiplePivots {
        first: &'static str,
        second: &'static str,
    },
    #[error(
        "step `{0}` comes after the pivot and has a compensation command that would never be sent"
    )]
    CompensationAfterPivot(&'static str),
    #[error("step `{0}` has an empty completes_on")]
    EmptyCompletesOn(&'static str),
    #[error("step `{step}` lists `{message_type}` in both completes_on and fails_on")]
    OverlappingReplies {
        step: &'static str,
        message_type: &'static str,
    },
    #[error("compensation of step `{0}` has an empty completes_on")]
    EmptyCompensationCompletesOn(&'static str),
    #[error("step `{0}` says its compensation is not needed but gives no reason")]
    EmptyNotNeededReason(&'static str),
    #[error("a command of step `{0}` has an empty message type or topic")]
    EmptyCommand(&'static str),
}

/// All problems with `def`, or `Ok(())`.
///
/// Every step before the pivot (all steps if there is none) must have a
/// compensation command or say why none is needed: with the [`Compensation`]
/// enum that amounts to "at most one pivot".
pub fn check(def: &Definition) -> Result<(), Vec<CheckError>> {
    let mut errors = Vec::new();
    if def.steps.is_empty() {
        errors.push(CheckError::NoSteps);
    }
    check_policy("compensation_retry", &def.compensation_retry, &mut errors);
    let mut names = BTreeSet::new();
    let mut pivot: Option<&'static str> = None;
    for step in &def.steps {
        if !names.insert(step.name) {
            errors.push(CheckError::DuplicateStepName(step.name));
        }
        if step.timeout.is_zero() {
            errors.push(CheckError::ZeroTimeout(step.name));
        }
        check_policy(step.name, &step.retry, &mut errors);
        check_command(step.name, &step.command, &mut errors);
        if step.completes_on.is_empty() {
            errors.push(CheckError::EmptyCompletesOn(step.name));
        }
        for &message_type in step.fails_on {
            if step.completes_on.contains(&message_type) {
                errors.push(CheckError::OverlappingReplies {
                    step: step.name,
                    message_type,
                });
            }
        }
        match &step.compensation {
            Compensation::Pivot => match pivot {
                Some(first) => errors.push(CheckError::MultiplePivots {
                    first,
                    second: step.name,
                }),
                None => pivot = Some(step.name),
            },
            Compensation::Command {
                command,
                completes_on,
            } => {
                check_command(step.name, command, &mut errors);
                if completes_on.is_empty() {
                    errors.push(CheckError::EmptyCompensationCompletesOn(step.name));
                }
                if pivot.is_some() {
                    errors.push(CheckError::CompensationAfterPivot(step.name));
                }
            }
            Compensation::NotNeeded { reason } => {
                if reason.trim().is_empty() {
                    errors.push(CheckError::EmptyNotNeededReason(step.name));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_policy(owner: &'static str, policy: &RetryPolicy, errors: &mut Vec<CheckError>) {
    if policy.max_attempts == 0 {
        errors.push(CheckError::ZeroAttempts(owner));
    }
    if policy.multiplier == 0 {
        errors.push(CheckError::ZeroMultiplier(owner));
    }
}

fn check_command(step: &'static str, command: &CommandSpec, errors: &mut Vec<CheckError>) {
    if command.message_type.is_empty() || command.topic.is_empty() {
        errors.push(CheckError::EmptyCommand(step));
    }
}
