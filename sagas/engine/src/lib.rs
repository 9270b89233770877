//! A pure, I/O-free saga core whose decisions are data.
//!
//! A saga [`Definition`] is data. [`decide()`] turns the current [`SagaState`]
//! and one [`Input`] (start, reply, timer, operator command) into a
//! [`Decision`]: the [`SagaEvent`]s to append and the [`Action`]s to execute.
//! A driver elsewhere persists the events and executes the actions (through an
//! outbox) in one transaction; state is rebuilt with [`replay()`], which folds
//! events with [`evolve`] and never re-runs actions. Command ids are UUIDv5
//! over (saga id, step, phase, attempt), so deciding stays deterministic.
//!
//! Semantics in short: steps run in order. A permanent failure (a `fails_on`
//! reply, exhausted timeouts, or a command that cannot be built) of a step
//! before or at the pivot compensates the completed steps one at a time in
//! reverse order. An operator `Abort` (only before the pivot is sent)
//! compensates the same way.
//!
//! Liveness: a command that must not be given up on (a forward step after the
//! pivot, any compensation) is never ended by a timer. When it uses up its
//! retry policy the saga records [`SagaEvent::StepStuck`] once
//! ([`SagaState::stuck`]; the orchestrator counts and alerts on it) and keeps
//! re-sending with a growing backoff capped at [`STUCK_MAX_BACKOFF`]; `Retry`
//! sends the next attempt at once. Only a definitive answer ends such a step:
//! a `fails_on` reply after the pivot, or a command that cannot be built,
//! stops the saga as [`Status::Failed`] / [`Status::CompensationFailed`] for
//! an operator, whose `Retry` re-sends it. Duplicate and stale inputs yield an
//! empty decision; operator inputs that make no sense are [`Rejected`].
//!
//! Abandoned steps: when the saga gives up on a forward command without a
//! definitive reply — its last attempt timed out, or an `Abort` arrived while
//! it was in flight (or waiting for its backoff) — the participant may have
//! run it anyway (its late reply is ignored as stale). Such a step is
//! recorded as abandoned ([`SagaEvent::StepAbandoned`],
//! [`SagaState::abandoned`]) and, if its compensation is a
//! [`Compensation::Command`], compensated first (it is the most recent),
//! then the completed steps in reverse order; it appears in
//! [`SagaState::compensated`] like them. This is safe because participants
//! treat a compensation for something they never did as a no-op that leaves
//! a tombstone (so a late forward command is refused). A step that failed
//! with a `fails_on` reply is not abandoned and not compensated (the
//! participant said it did nothing); neither is a step whose command could
//! not be built before any attempt was sent. Steps after the pivot are never
//! compensated. The pivot itself is never abandoned: when its last attempt
//! times out it may have committed, so the saga stops as [`Status::Failed`]
//! with nothing undone, and an operator retries it. If the pivot's definitive
//! reply arrives after that, the saga reconciles by itself
//! ([`SagaEvent::Reconciled`]): it runs again and settles the pivot with the
//! reply (forward on success, compensation on a `fails_on` reply).
//!
//! # Layout
//! - [`definition`]: `Definition`, `Step`, `CommandSpec`, `Compensation`,
//!   `ResultSpec` (what a saga produces).
//! - [`retry`]: `RetryPolicy` and its deterministic backoff.
//! - [`data`]: `SagaData`, what commands are built from, and `payload`.
//! - [`event`]: `SagaEvent`, the log.
//! - [`state`]: `SagaState`, `Status`, `Phase`, `InFlight`, `evolve`, `replay`.
//! - [`decide`](mod@decide): `Input`, `Action`, `Decision`, `decide`.
//! - [`ids`]: deterministic command ids.
//! - [`error`]: `BuildError`, `Rejected`.
//! - [`check`](mod@check): static validation of a definition.
//! - [`diagram`]: Mermaid rendering of a definition.
//! - [`versions`]: `Versions`, every shipped version of a definition, oldest first.

pub mod check;
pub mod data;
pub mod decide;
pub mod definition;
pub mod diagram;
pub mod error;
pub mod event;
pub mod ids;
pub mod retry;
pub mod state;
pub mod versions;

pub use check::{CheckError, check};
pub use data::{SagaData, payload};
pub use decide::{Action, Decision, Input, decide};
pub use definition::{CommandSpec, Compensation, Definition, ResultSpec, Step};
pub use diagram::mermaid;
pub use error::{BuildError, Rejected};
pub use event::SagaEvent;
pub use ids::command_id;
pub use retry::{RetryPolicy, STUCK_MAX_BACKOFF};
pub use state::{InFlight, Phase, SagaState, Status, Stuck, evolve, replay};
pub use versions::{Version, Versions, VersionsError};
