//! The Kafka key of each message type, as its producers set it: the saga id
//! unless [`EXCEPTIONS`] says otherwise. Saga messages are keyed by the saga
//! id by `sagaflow_bus::Outgoing::caused_by` (replies and follow-ups), the
//! saga driver (`sagas/store`) and the gateway (the `Initiate*` and
//! `CancelSaga` commands it starts); the exceptions point at their producer.

use serde_json::{Value, json};

use crate::Contract;
use crate::messages::{
    ApplicationStatusChanged, PlanEventRecorded, ProductChanged, SendNotification,
    UserErasureRequested,
};

/// What a message is keyed by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key {
    /// The key in words.
    pub(super) description: &'static str,
    /// Whether the key is a UUID.
    uuid: bool,
}

/// The rule for every message not in [`EXCEPTIONS`].
const SAGA_ID: Key = Key {
    description: "the saga id (the `saga-id` header), so one saga's messages stay in order in \
                  one partition; a reply to a message outside any saga is keyed by that \
                  message's `correlation-id`.",
    uuid: true,
};

/// Message types keyed otherwise, and why.
const EXCEPTIONS: &[(&str, Key)] = &[
    (
        ProductChanged::MESSAGE_TYPE,
        Key {
            description: "the product's SKU, so one product's changes stay in order \
                          (`services/catalog/src/store.rs`).",
            uuid: false,
        },
    ),
    (
        UserErasureRequested::MESSAGE_TYPE,
        Key {
            description: "the user id (the `sub` of the user's token), so one user's requests \
                          stay in order (`services/gateway/src/routes/me.rs`).",
            uuid: false,
        },
    ),
    (
        ApplicationStatusChanged::MESSAGE_TYPE,
        Key {
            description: "the application id, so one application's changes stay in order \
                          (`services/applications/src/store/applications.rs`).",
            uuid: true,
        },
    ),
    (
        PlanEventRecorded::MESSAGE_TYPE,
        Key {
            description: "the plan id (also its `saga-id` and `correlation-id`), so one plan's \
                          log stays in order (`services/planner/src/audit.rs`).",
            uuid: true,
        },
    ),
    (
        SendNotification::MESSAGE_TYPE,
        Key {
            description: "the saga id (the `saga-id` header) when a saga sends it; a tracker \
                          reminder is keyed by the reminder id \
                          (`services/applications/src/store/reminders.rs`).",
            uuid: true,
        },
    ),
];

/// The key of `message_type`.
pub(super) fn key(message_type: &str) -> Key {
    EXCEPTIONS
        .iter()
        .find(|(ty, _)| *ty == message_type)
        .map_or(SAGA_ID, |(_, key)| *key)
}

impl Key {
    /// The key's schema (Kafka keys are UTF-8 text).
    pub(super) fn schema(&self) -> Value {
        let mut schema = json!({ "type": "string", "description": self.description });
        if self.uuid {
            schema["format"] = "uuid".into();
        }
        schema
    }
}
