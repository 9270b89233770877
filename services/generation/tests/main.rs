//! `sagaflow-generation`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-generation --test integration <module>::`.

mod api;
mod common;
mod crash;
mod effects;
mod erasure;
mod markdown;
mod quality;
mod steps;
mod tenants;
