//! The closed set of plan shapes: one saga definition per shape, run by the same
//! engine as checkouts and generations (`sagaflow-saga-engine`, stored with
//! `sagaflow-saga-store` in the planner's own database).
//!
//! | shape | steps (forward → on failure) |
//! |---|---|
//! | `plan.cart` | `add_to_cart`: `AddCartItem` → `RemoveCartItem` |
//! | `plan.buy` | `add_to_cart`, then `checkout`: `InitiateCheckout` (pivot) |
//! | `plan.generate` | `generate`: `InitiateGeneration` → `CancelSaga` |
//! | `plan.generate_attach` | `generate`, then `attach`: `AttachDocumentToApplication` → `DetachDocumentFromApplication` |
//! | `plan.attach` | `attach` |
//! | `plan.notify` | `notify`: `SendNotification` (nothing to undo) |
//!
//! Why fixed shapes and not a list of steps chosen at run time: an engine
//! definition is static data (names, replies, compensations, timeouts), checked by
//! `sagaflow_saga_engine::check` and drawable as a diagram; a saga replays against
//! the definition it started with. A shape per supported intent keeps every plan
//! that can ever run reviewable in this file, and the text (or the LLM) can only
//! pick one of them — it can never compose a new sequence of commands.
//!
//! Every payload, compensations included, is built and validated when the plan is
//! made and stored in the saga input ([`PlanInput`]); the build functions here only
//! read it back, so nothing is built from text at run time.
//!
//! Steps that start another saga (`checkout`, `generate`) complete on that saga's
//! outcome, which the planner follows on `orchestrator.events`
//! (`crate::follower`): these are not wire messages but the names of the inputs
//! it derives from `SagaFinished` ([`CHILD_COMPLETED`], [`CHILD_COMPENSATED`],
//! [`CHILD_NEEDS_OPERATOR`]). A child that needs an operator (`failed`,
//! `compensation_failed`) does not settle its step: the step waits, and times out.

use std::time::Duration;

use sagaflow_events::topics;
use sagaflow_saga_engine::{
    BuildError, CommandSpec, Compensation, Definition, RetryPolicy, SagaData, Step,
};
use sagaflow_saga_store::Definitions;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The child saga completed.
pub const CHILD_COMPLETED: &str = "ChildSagaCompleted";
/// The child saga failed and undid its work.
pub const CHILD_COMPENSATED: &str = "ChildSagaCompensated";
/// The child saga stopped for an operator (`failed` or `compensation_failed`).
pub const CHILD_NEEDS_OPERATOR: &str = "ChildSagaNeedsOperator";

/// Step names.
pub const ADD_TO_CART: &str = "add_to_cart";
pub const CHECKOUT: &str = "checkout";
pub const GENERATE: &str = "generate";
pub const ATTACH: &str = "attach";
pub const NOTIFY: &str = "notify";

/// Per-attempt timeout of a step answered by one participant.
pub const QUICK_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-attempt timeout of a step that waits for a whole checkout saga.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(600);
/// Per-attempt timeout of a step that waits for a whole generation saga.
pub const GENERATION_TIMEOUT: Duration = Duration::from_secs(900);

/// Quick steps: 3 attempts, backoff 1 s, 2 s.
pub const QUICK_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// Saga-starting steps: a second attempt re-sends the (idempotent) start command.
pub const CHILD_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    initial_backoff: Duration::from_secs(5),
    multiplier: 2,
    max_backoff: Duration::from_secs(30),
};

/// Compensations: 5 attempts, backoff 1 s, 2 s, 4 s, 8 s.
pub const COMPENSATION_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    initial_backoff: Duration::from_secs(1),
    multiplier: 2,
    max_backoff: Duration::from_secs(60),
};

/// A plan shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shape {
    #[serde(rename = "plan.cart")]
    Cart,
    #[serde(rename = "plan.buy")]
    Buy,
    #[serde(rename = "plan.generate")]
    Generate,
    #[serde(rename = "plan.generate_attach")]
    GenerateAttach,
    #[serde(rename = "plan.attach")]
    Attach,
    #[serde(rename = "plan.notify")]
    Notify,
}

impl Shape {
    pub const ALL: [Shape; 6] = [
        Shape::Cart,
        Shape::Buy,
        Shape::Generate,
        Shape::GenerateAttach,
        Shape::Attach,
        Shape::Notify,
    ];

    /// The definition name (`plan.buy`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Shape::Cart => "plan.cart",
            Shape::Buy => "plan.buy",
            Shape::Generate => "plan.generate",
            Shape::GenerateAttach => "plan.generate_attach",
            Shape::Attach => "plan.attach",
            Shape::Notify => "plan.notify",
        }
    }

    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One command of a plan, as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub message_type: String,
    pub topic: String,
    pub payload: Value,
}

/// One step of a plan: its command and its compensation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub name: String,
    pub command: Command,
    pub compensation: Option<Command>,
    /// The saga this step starts, if any (its id is the command's id field).
    #[serde(default)]
    pub starts_saga: Option<ChildSaga>,
}

/// A saga a step starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildSaga {
    pub saga_id: Uuid,
    /// `checkout` or `generation`.
    pub definition: String,
}

/// The input of a plan saga.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub plan_id: Uuid,
    pub tenant_id: String,
    pub user_id: String,
    pub shape: Shape,
    pub steps: Vec<PlannedStep>,
}

/// Step timeouts (one override for tests and drills, or the defaults).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub quick: Duration,
    pub checkout: Duration,
    pub generation: Duration,
}

impl Timing {
    /// The defaults, or every timeout set to `override_ms`.
    pub fn new(override_ms: Option<u64>) -> Self {
        match override_ms.map(Duration::from_millis) {
            Some(all) => Self {
                quick: all,
                checkout: all,
                generation: all,
            },
            None => Self {
                quick: QUICK_TIMEOUT,
                checkout: CHECKOUT_TIMEOUT,
                generation: GENERATION_TIMEOUT,
            },
        }
    }
}

/// Every shape's definition.
pub fn definitions(timing: Timing) -> Definitions {
    Definitions::new(
        Shape::ALL
            .into_iter()
            .map(|s| definition(s, timing))
            .collect(),
    )
}

/// The definition of `shape`.
pub fn definition(shape: Shape, timing: Timing) -> Definition {
    let steps = match shape {
        Shape::Cart => vec![add_to_cart::<0>(timing)],
        Shape::Buy => vec![add_to_cart::<0>(timing), checkout::<1>(timing)],
        Shape::Generate => vec![generate::<0>(timing)],
        Shape::GenerateAttach => vec![generate::<0>(timing), attach::<1>(timing)],
        Shape::Attach => vec![attach::<0>(timing)],
        Shape::Notify => vec![notify::<0>(timing)],
    };
    Definition {
        name: shape.name(),
        version: 1,
        steps,
        compensation_retry: COMPENSATION_RETRY,
        result: None,
        user: None,
    }
}

fn spec<const I: usize>(message_type: &'static str, topic: &'static str) -> CommandSpec {
    CommandSpec {
        message_type,
        topic,
        build: forward::<I>,
    }
}

fn undo<const I: usize>(
    message_type: &'static str,
    topic: &'static str,
    completes_on: &'static [&'static str],
) -> Compensation {
    Compensation::Command {
        command: CommandSpec {
            message_type,
            topic,
            build: compensation::<I>,
        },
        completes_on,
    }
}

fn add_to_cart<const I: usize>(timing: Timing) -> Step {
    Step {
        name: ADD_TO_CART,
        command: spec::<I>("AddCartItem", topics::CART_COMMANDS),
        completes_on: &["CartItemAdded"],
        fails_on: &["CartItemAddFailed"],
        compensation: undo::<I>(
            "RemoveCartItem",
            topics::CART_COMMANDS,
            &["CartItemRemoved"],
        ),
        timeout: timing.quick,
        retry: QUICK_RETRY,
    }
}

fn checkout<const I: usize>(timing: Timing) -> Step {
    Step {
        name: CHECKOUT,
        command: spec::<I>("InitiateCheckout", topics::ORCHESTRATOR_COMMANDS),
        completes_on: &[CHILD_COMPLETED],
        fails_on: &[CHILD_COMPENSATED],
        // Once the checkout completed, the order exists and is paid: nothing
        // before it is undone after that (the checkout saga clears the cart).
        compensation: Compensation::Pivot,
        timeout: timing.checkout,
        retry: CHILD_RETRY,
    }
}

fn generate<const I: usize>(timing: Timing) -> Step {
    Step {
        name: GENERATE,
        command: spec::<I>("InitiateGeneration", topics::ORCHESTRATOR_COMMANDS),
        completes_on: &[CHILD_COMPLETED],
        fails_on: &[CHILD_COMPENSATED],
        // Cancelling stops a running generation (no more LLM spending); a finished
        // one is the user's document and stays. Either way the step is undone once
        // the generation saga has ended.
        compensation: undo::<I>(
            "CancelSaga",
            topics::ORCHESTRATOR_COMMANDS,
            &[CHILD_COMPLETED, CHILD_COMPENSATED, CHILD_NEEDS_OPERATOR],
        ),
        timeout: timing.generation,
        retry: CHILD_RETRY,
    }
}

fn attach<const I: usize>(timing: Timing) -> Step {
    Step {
        name: ATTACH,
        command: spec::<I>("AttachDocumentToApplication", topics::APPLICATIONS_COMMANDS),
        completes_on: &["DocumentAttached"],
        fails_on: &["DocumentAttachFailed"],
        compensation: undo::<I>(
            "DetachDocumentFromApplication",
            topics::APPLICATIONS_COMMANDS,
            &["DocumentDetached"],
        ),
        timeout: timing.quick,
        retry: QUICK_RETRY,
    }
}

fn notify<const I: usize>(timing: Timing) -> Step {
    Step {
        name: NOTIFY,
        command: spec::<I>("SendNotification", topics::NOTIFICATIONS),
        completes_on: &["NotificationSent"],
        fails_on: &["NotificationFailed"],
        compensation: Compensation::NotNeeded {
            reason: "a sent message cannot be unsent, and nothing follows it",
        },
        timeout: timing.quick,
        retry: QUICK_RETRY,
    }
}

fn planned(data: &SagaData, index: usize) -> Result<PlannedStep, BuildError> {
    let input =
        PlanInput::deserialize(&data.input).map_err(|e| BuildError::InvalidInput(e.to_string()))?;
    input
        .steps
        .into_iter()
        .nth(index)
        .ok_or_else(|| BuildError::InvalidInput(format!("the plan has no step #{index}")))
}

/// The stored payload of step `I`'s command.
fn forward<const I: usize>(data: &SagaData) -> Result<Value, BuildError> {
    Ok(planned(data, I)?.command.payload)
}

/// The stored payload of step `I`'s compensation.
fn compensation<const I: usize>(data: &SagaData) -> Result<Value, BuildError> {
    planned(data, I)?
        .compensation
        .map(|c| c.payload)
        .ok_or_else(|| BuildError::InvalidInput(format!("step #{I} has no compensation")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_passes_the_static_check_and_names_itself() {
        for shape in Shape::ALL {
            let def = definition(shape, Timing::new(None));
            assert_eq!(def.name, shape.name());
            assert_eq!(Shape::parse(def.name), Some(shape));
            sagaflow_saga_engine::check(&def).unwrap_or_else(|e| panic!("{}: {e:?}", def.name));
            for step in &def.steps {
                // Every command is a contract type on its own topic.
                assert_eq!(
                    sagaflow_events::topic_of(step.command.message_type),
                    Some(step.command.topic)
                );
                if let Some((command, _)) = def.compensation_of(def.steps.len() - 1) {
                    assert_eq!(
                        sagaflow_events::topic_of(command.message_type),
                        Some(command.topic)
                    );
                }
            }
        }
    }
}
