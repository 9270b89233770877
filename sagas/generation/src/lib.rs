//! The generation saga: analyse the job description, compile the candidate's
//! profile against it, generate a draft (cover letter or resume) with an LLM,
//! validate it (the validator may regenerate once), then export it (the pivot).
//!
//! A failure up to and including the export compensates in reverse: the draft
//! is voided (only if validation was abandoned in flight: a `DocumentRejected`
//! means the validator did nothing further) and the token budget reserved by
//! generation is released. Analysing the job and compiling the profile need no
//! undo (pure analysis; the profile is the user's own data and is kept). A step
//! given up on without an answer (timeouts, or an operator abort while it is in
//! flight) is compensated first, because the LLM may have run anyway.
//! The definition is data for `sagaflow-saga-engine`; its diagram is committed
//! as `docs/sagas/generation.mmd` (regenerate with
//! `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-generation`).
//!
//! # Layout
//! - [`definition`](mod@definition): `definition()`, `definition_with_timeout()`, timing policies.
//! - [`versions`]: every version ever shipped ([`VERSIONS`]), all registered by the orchestrator.
//! - [`steps`]: step names and topics.
//! - [`build`]: one payload builder per command, each making the command's contract type.
//! - [`input`]: the saga input as `InitiateGeneration` (step results are read as contract types).

pub mod build;
pub mod definition;
pub mod input;
pub mod steps;
pub mod versions;

pub use definition::{definition, definition_with_timeout};
pub use versions::VERSIONS;
