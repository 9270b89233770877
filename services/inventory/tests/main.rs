//! `sagaflow-inventory`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-inventory --test integration <module>::`.

mod broker;
mod common;
mod reservations;
mod restocks;
