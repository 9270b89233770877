//! `sagaflow-gateway`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-gateway --test integration <module>::`.

mod asyncapi;
mod auth;
mod broker;
mod checkouts;
mod common;
mod cross_tenant;
mod fuzz;
mod generations;
mod housekeeping;
mod metrics;
mod openapi;
mod orders;
mod products;
mod projection;
mod proxy;
mod rate_limit;
mod readiness;
mod saga_access;
mod sagas;
mod started_elsewhere;
mod streams;
mod web;
