//! The dead-letter topics' message (a record a consumer could not handle,
//! copied unchanged with `dlq-*` headers) and [`topics::DLQ_REPLAYS`]'s replay
//! markers. Both are written by `sagaflow-bus` (`dead_letter` and `dlq::replay`),
//! which depends on this crate, so the header names are mirrored here; the
//! gateway's `asyncapi` test checks them against the bus's constants.

use serde_json::{Map, Value, json};

use super::{KAFKA_BINDING_VERSION, Parts, messages, reference};
use crate::topics;

/// The dead-letter message's name in `components/messages`.
pub(super) const MESSAGE: &str = "DeadLetter";
/// The dead-letter header schema's name in `components/schemas`.
pub(super) const HEADERS: &str = "DeadLetterHeaders";
/// The replay marker's name in `components/messages`.
const REPLAY: &str = "DeadLetterReplayed";

/// The headers a dead letter gets besides the original ones (names as in
/// `sagaflow_bus::dead_letter::headers`).
const DEAD_LETTER_HEADERS: &[(&str, &str)] = &[
    (
        "dlq-reason",
        "Why the consumer could not handle the record.",
    ),
    ("dlq-original-topic", "The topic it was consumed from."),
    ("dlq-original-partition", "Its partition there (decimal)."),
    ("dlq-original-offset", "Its offset there (decimal)."),
    (
        "dlq-consumer",
        "The consumer (inbox consumer name) that dead-lettered it.",
    ),
];

/// The dead-letter header schema.
pub(super) fn headers() -> Value {
    let properties: Map<String, Value> = DEAD_LETTER_HEADERS
        .iter()
        .map(|(name, description)| {
            let mut schema = json!({ "type": "string", "description": description });
            if name.ends_with("-partition") || name.ends_with("-offset") {
                schema["pattern"] = "^[0-9]+$".into();
            }
            ((*name).to_owned(), schema)
        })
        .collect();
    json!({
        "type": "object",
        "description": "The original record's headers, unchanged (its envelope, when it had one), \
                        and these.",
        "required": DEAD_LETTER_HEADERS.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "properties": properties,
    })
}

/// The dead-letter message, the same on every dead-letter topic.
pub(super) fn message() -> Value {
    json!({
        "name": MESSAGE,
        "title": "Dead letter",
        "summary": "A record a consumer could not handle, copied with its key, value and headers.",
        "description": "A poison record (it does not decode, its type is unknown, or its handler \
                        refused it for good) copied unchanged: same key, same value bytes, the \
                        original headers plus the `dlq-*` headers, so its partition keeps \
                        flowing and nothing is lost.",
        "contentType": messages::CONTENT_TYPE,
        "headers": reference("components/schemas", HEADERS),
        "payload": {
            "type": "string",
            "format": "binary",
            "description": "The original value's bytes, unchanged (normally a Confluent-framed \
                            Avro datum of one of the original topic's messages).",
        },
        "bindings": {
            "kafka": {
                "key": { "type": "string", "description": "The original record's key, unchanged." },
                "bindingVersion": KAFKA_BINDING_VERSION,
            },
        },
        "tags": [{ "name": "dead-letters" }],
    })
}

/// Adds `topic`'s dead-letter topic: its channel and the operation that
/// dead-letters a record (tagged with `owner`, the owner of `topic`).
pub(super) fn add_dead_letter_topic(parts: &mut Parts, topic: &str, owner: &str) {
    let dlq = topics::dead_letter(topic);
    parts.channel(
        &dlq,
        format!(
            "Dead letters of `{topic}`: its records a consumer could not handle. `sagaflow dlq \
             list|show|replay|purge` operates on them; a replay produces the original record \
             again to `{topic}` (with the header `dlq-replayed-from`), where inboxes apply a \
             message id at most once."
        ),
        &[MESSAGE],
    );
    let summary = format!("Dead-letter a record of `{topic}`.");
    let description = format!(
        "Every consumer of `{topic}` copies here a record it cannot handle, and moves past it \
         once the broker has acknowledged the copy."
    );
    parts.send(
        format!("deadLetter.{topic}"),
        &dlq,
        MESSAGE,
        [summary, description],
        &[owner, "dead-letters"],
    );
}

fn replay_message() -> Value {
    json!({
        "name": REPLAY,
        "title": "Dead letter replayed",
        "summary": "A dead letter was produced again to its original topic.",
        "description": "Written by `sagaflow dlq replay` after the broker acknowledged the replay; \
                        `sagaflow dlq list` shows the dead letter as replayed and a second replay \
                        must be forced. For operators: correctness rests on the inboxes.",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["id", "replayed_at", "topic", "partition", "offset", "message_id"],
            "properties": {
                "id": { "type": "string", "description": "The dead letter: `<dead-letter topic>/<partition>/<offset>`." },
                "replayed_at": { "type": "string", "format": "date-time" },
                "topic": { "type": "string", "description": "Where the replay went." },
                "partition": { "type": "integer" },
                "offset": { "type": "integer" },
                "message_id": {
                    "type": ["string", "null"],
                    "description": "The replayed record's `message-id` header, if it had one.",
                },
            },
        },
        "bindings": {
            "kafka": {
                "key": { "type": "string", "description": "The dead letter's id (as `id`)." },
                "bindingVersion": KAFKA_BINDING_VERSION,
            },
        },
        "tags": [{ "name": "dead-letters" }],
    })
}

/// Adds [`topics::DLQ_REPLAYS`]: its channel, message and operation.
pub(super) fn add_replays(parts: &mut Parts) {
    let topic = topics::DLQ_REPLAYS;
    parts.channel(
        topic,
        "Markers of dead-letter replays, one per replay (one partition).".to_owned(),
        &[REPLAY],
    );
    parts.messages.insert(REPLAY.to_owned(), replay_message());
    let summary = "Record a dead-letter replay.".to_owned();
    let description =
        "`sagaflow dlq replay` sends one after each replay the broker acknowledged.".to_owned();
    parts.send(
        "recordReplay".to_owned(),
        topic,
        REPLAY,
        [summary, description],
        &["operators", "dead-letters"],
    );
}
