//! `sagaflow-saga-store`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-saga-store --test integration <module>::`.

mod applied;
mod common;
mod definitions;
mod erase;
mod lock_order;
mod parked_timers;
mod progress;
mod store;
