//! `sagaflow-catalog`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-catalog --test integration <module>::`.

mod api;
mod broker;
mod common;
