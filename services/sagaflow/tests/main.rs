//! `sagaflow`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow --test integration <module>::`.

mod aftersale;
mod checkout;
mod common;
mod crash;
mod deploy_files;
mod dlq;
mod erasure;
mod generation;
mod help_secrets;
mod operator_token;
mod payment_effects;
mod trace;
