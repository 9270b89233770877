//! `sagaflow-payment`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-payment --test integration <module>::`.

mod aftersale;
mod common;
mod effects;
mod payments;
mod provider;
