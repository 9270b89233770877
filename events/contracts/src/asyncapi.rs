//! # The AsyncAPI document of the Kafka contracts
//!
//! [`document`] describes, as an AsyncAPI 3.0.0 document, every topic,
//! message, header and key Sagaflow's services exchange over Kafka, built
//! only from what this crate already knows: [`topics`], the [`catalog`]
//! (message type → topic), the [`registry`] (each message's current Avro
//! schema, version and schema id), the envelope's [`headers::ALL`] and the
//! Confluent frame of [`codec`].
//!
//! - **Servers**: `local`, the development broker, its address the
//!   `KAFKA_BOOTSTRAP_SERVERS` variable.
//! - **Channels**: one per topic (the address is the topic name), one per
//!   dead-letter topic (`<topic>.dlq`) and [`topics::DLQ_REPLAYS`].
//! - **Messages** (`components/messages`, one per message type): the current
//!   Avro schema embedded as the payload (`schemaFormat`
//!   [`AVRO_SCHEMA_FORMAT`]), the envelope as the header schema, the Kafka
//!   key and the Confluent framing in the Kafka binding, the schema id and
//!   version in the description and in `x-schema-*` fields.
//! - **Operations**: one `send` per message type (`send<MessageType>`) on its
//!   topic, tagged with the owner of its schema (`events/schemas/<owner>/`) and
//!   `commands` or `events`; one per dead-letter topic (`deadLetter.<topic>`)
//!   and `recordReplay`.
//!
//! Everything is sorted (topics, message types), so the document is the same
//! on every run: it is committed as `docs/asyncapi.json`, kept current by
//! `tests/asyncapi.rs` (regenerate with `SAGAFLOW_UPDATE_ASYNCAPI=1 cargo test
//! -p sagaflow-events --test integration asyncapi::`; the test also compares
//! the channels with every topic the code names), validated with the AsyncAPI
//! parser by `infra/checks/asyncapi.sh`, and served by the gateway at `GET
//! /asyncapi.json`.
//!
//! ## Layout
//!
//! - [`messages`]: the message object of a contract type and the envelope
//!   header schema.
//! - [`keys`]: the Kafka key of each message type.
//! - [`dead_letters`]: the dead-letter and replay-marker messages; their
//!   header names mirror `sagaflow_bus::dead_letter::headers` (checked by the
//!   gateway's `asyncapi` test, since this crate cannot depend on the bus).
//! - This file: [`document`]: info, servers, channels, operations.
//!
//! [`catalog`]: crate::catalog
//! [`registry`]: crate::registry
//! [`headers::ALL`]: crate::envelope::headers::ALL
//! [`codec`]: crate::codec

mod dead_letters;
mod keys;
mod messages;

use serde_json::{Map, Value, json};

use crate::registry::{self, SchemaEntry};
use crate::{catalog, topics};

/// The AsyncAPI version the document follows.
pub const ASYNCAPI_VERSION: &str = "3.0.0";
/// The `schemaFormat` of every Avro payload.
pub const AVRO_SCHEMA_FORMAT: &str = "application/vnd.apache.avro+json;version=1.9.0";
/// The version of the Kafka bindings used.
const KAFKA_BINDING_VERSION: &str = "0.5.0";
/// The development broker's address (`infra/dev/env.sh`).
const LOCAL_BOOTSTRAP: &str = "127.0.0.1:9092";

const DESCRIPTION: &str = "\
Every topic, message, header and key Sagaflow's services exchange over Kafka, generated \
from the contracts crate (`events/contracts`: the topics, the catalogue of message types, \
the schema manifest `events/schemas/manifest.json` and the envelope).

- **Topics**: `<owner>.commands` / `<owner>.events` (`notifications` carries the \
notification service's commands); every topic has a dead-letter topic `<topic>.dlq`.
- **Value**: Confluent-framed Avro: byte 0 is the magic byte `0`, bytes 1 to 4 the schema \
id (big-endian u32), then the Avro binary datum written with that schema. Schema ids are \
global and fixed in the manifest (`x-schema-id` on each message); `sagaflow schemas \
register` loads every version into a Confluent-compatible registry (subjects \
`<topic>-<record full name>`). Readers resolve any registered version onto the current one.
- **Headers**: the envelope (`EnvelopeHeaders`), UTF-8 text values.
- **Key**: the saga id for saga messages, so one saga's messages stay in order in one \
partition; each message's Kafka binding says what its key is.
- A record replayed from a dead-letter topic (`sagaflow dlq replay`) also carries the \
header `dlq-replayed-from`, naming the dead letter it came from.";

/// A local `$ref` to `#/<path>/<name>` (`name` is a topic or a type name: no
/// `/` or `~` to escape).
fn reference(path: &str, name: &str) -> Value {
    json!({ "$ref": format!("#/{path}/{name}") })
}

/// The owner of a message's schema: the folder of `events/schemas/<owner>/`.
fn owner(entry: &SchemaEntry) -> &str {
    entry.file.split('/').next().unwrap_or_default()
}

/// The current schema of every message type published on `topic`, sorted by
/// message type.
fn messages_on(topic: &str) -> Vec<&'static SchemaEntry> {
    let mut entries: Vec<_> = catalog::CONTRACTS
        .iter()
        .filter(|(_, t)| *t == topic)
        .filter_map(|(ty, _)| registry::builtin().current(ty))
        .collect();
    entries.sort_by(|a, b| a.message_type.cmp(&b.message_type));
    entries
}

fn servers() -> Value {
    json!({
        "local": {
            "host": "{KAFKA_BOOTSTRAP_SERVERS}",
            "protocol": "kafka",
            "description": "The development broker: `infra/dev/up.sh` and `infra/dev/test.sh` \
                            start the pinned Nisshi broker unless KAFKA_BOOTSTRAP_SERVERS names \
                            a cluster; `sagaflow topics create` creates every topic below.",
            "variables": {
                "KAFKA_BOOTSTRAP_SERVERS": {
                    "default": LOCAL_BOOTSTRAP,
                    "description": "The bootstrap servers, as in the KAFKA_BOOTSTRAP_SERVERS \
                                    setting of every service.",
                },
            },
        },
    })
}

/// The channels, operations and messages, as they are added.
#[derive(Default)]
struct Parts {
    channels: Map<String, Value>,
    operations: Map<String, Value>,
    messages: Map<String, Value>,
}

impl Parts {
    /// Adds the channel `address` carrying `messages` (names in
    /// `components/messages`).
    fn channel(&mut self, address: &str, description: String, messages: &[&str]) {
        let on_channel: Map<String, Value> = messages
            .iter()
            .map(|m| ((*m).to_owned(), reference("components/messages", m)))
            .collect();
        self.channels.insert(
            address.to_owned(),
            json!({
                "address": address,
                "description": description,
                "messages": on_channel,
                "bindings": { "kafka": { "topic": address, "bindingVersion": KAFKA_BINDING_VERSION } },
            }),
        );
    }

    /// Adds the operation `id`: sending `message` on `channel`.
    fn send(&mut self, id: String, channel: &str, message: &str, text: [String; 2], tags: &[&str]) {
        let [summary, description] = text;
        self.operations.insert(
            id,
            json!({
                "action": "send",
                "channel": reference("channels", channel),
                "messages": [reference(&format!("channels/{channel}/messages"), message)],
                "summary": summary,
                "description": description,
                "tags": tags.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
            }),
        );
    }

    /// Adds `topic`'s channel, its messages and their `send` operations, and
    /// its dead-letter topic.
    fn topic(&mut self, topic: &str) {
        let entries = messages_on(topic);
        let owner = entries
            .first()
            .map_or_else(|| topic.split('.').next().unwrap_or(topic), |e| owner(e));
        let (kind, description, who) = if topic.ends_with(".events") {
            (
                "events",
                format!(
                    "Events the `{owner}` service publishes (schemas in `events/schemas/{owner}/`)."
                ),
                format!("The `{owner}` service sends it."),
            )
        } else {
            (
                "commands",
                format!(
                    "Commands to the `{owner}` service, which consumes them (schemas in \
                     `events/schemas/{owner}/`)."
                ),
                format!(
                    "A command to `{owner}`, which consumes it; whichever component needs that \
                     work done sends it."
                ),
            )
        };
        let names: Vec<&str> = entries.iter().map(|e| e.message_type.as_str()).collect();
        self.channel(topic, description, &names);
        for entry in entries {
            let ty = entry.message_type.as_str();
            self.messages.insert(
                ty.to_owned(),
                messages::contract(entry, owner, keys::key(ty)),
            );
            let description = format!(
                "{who} Its schema is owned by `{owner}` (`events/schemas/{}`, namespace `{}{owner}`).",
                entry.file,
                registry::NAMESPACE_PREFIX
            );
            let summary = format!("Send `{ty}` on `{topic}`.");
            self.send(
                format!("send{ty}"),
                topic,
                ty,
                [summary, description],
                &[owner, kind],
            );
        }
        dead_letters::add_dead_letter_topic(self, topic, owner);
    }
}

/// The AsyncAPI 3.0.0 document of every topic, message, header and key.
pub fn document() -> Value {
    let mut parts = Parts::default();
    let mut all = topics::all().to_vec();
    all.sort_unstable();
    for topic in all {
        parts.topic(topic);
    }
    dead_letters::add_replays(&mut parts);
    let Parts {
        channels,
        operations,
        mut messages,
    } = parts;
    messages.insert(dead_letters::MESSAGE.to_owned(), dead_letters::message());
    json!({
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Sagaflow Kafka contracts",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
        },
        "defaultContentType": messages::CONTENT_TYPE,
        "servers": servers(),
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {
                (messages::ENVELOPE_HEADERS): messages::envelope_headers(),
                (dead_letters::HEADERS): dead_letters::headers(),
            },
            "correlationIds": { (messages::CORRELATION): messages::correlation_id() },
        },
    })
}
