//! `sagaflow-saga-checkout`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-saga-checkout --test integration <module>::`.

mod common;
mod definition;
mod payloads;
mod simulation;
