//! `sagaflow-applications`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-applications --test integration <module>::`.

mod broker;
mod commands;
mod common;
mod erasure;
mod http;
mod tracker;
