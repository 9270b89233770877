//! `sagaflow-saga-generation`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-saga-generation --test integration <module>::`.

mod common;
mod definition;
mod payloads;
mod simulation;
