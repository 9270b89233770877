//! `sagaflow-order`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-order --test integration <module>::`.

mod aftersale;
mod common;
mod http;
mod orders;
