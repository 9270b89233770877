//! `sagaflow-events`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-events --test integration <module>::`.

mod asyncapi;
mod catalog;
mod common;
mod compatibility;
mod envelope;
mod errors;
mod evolution;
mod learned;
mod progress_v1;
mod roundtrip;
