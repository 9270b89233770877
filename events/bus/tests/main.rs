//! `sagaflow-bus`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-bus --test integration <module>::`.

mod common;
mod group_stall;
mod inbox_failures;
mod inbox_partitions;
mod inbox_retention;
mod inbox_skip;
mod messaging;
mod postgres_tls;
mod probe;
mod registry_ids;
mod relay_leadership;
mod relay_parking;
mod relay_shutdown;
mod retention;
