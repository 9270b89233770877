//! `sagaflow-planner`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-planner --test integration <module>::`.

mod api;
mod common;
mod follow;
mod idempotency;
mod injection;
mod isolation;
mod limits;
mod platform;
mod rejections;
mod serve;
mod tenants;
mod timers;
