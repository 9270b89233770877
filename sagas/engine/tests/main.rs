//! `sagaflow-saga-engine`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-saga-engine --test integration <module>::`.

mod check_diagram;
mod common;
mod decide_table;
mod properties;
