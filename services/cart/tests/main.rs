//! `sagaflow-cart`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-cart --test integration <module>::`.

mod carts;
mod common;
mod erasure;
mod saga_items;
