//! `sagaflow-pricing`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-pricing --test integration <module>::`.

mod broker;
mod common;
mod discount_api;
mod price_table;
mod quotes;
