//! `sagaflow-orchestrator`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-orchestrator --test integration <module>::`.

mod cancel;
mod definitions;
mod operator_api;
mod parked_api;
mod upgrade;
