//! `sagaflow-saga-aftersale`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-saga-aftersale --test integration <module>::`.

mod definitions;
mod runs;
