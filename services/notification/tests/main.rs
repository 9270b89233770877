//! `sagaflow-notification`'s integration tests, one module per concern, built as one
//! binary (one link instead of one per file). Run one module with
//! `cargo test -p sagaflow-notification --test integration <module>::`.

mod common;
mod erasure;
mod notifications;
mod preferences;
mod test_notification;
