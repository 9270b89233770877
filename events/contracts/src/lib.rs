//! # sagaflow-events — Sagaflow's wire contracts
//!
//! Everything two Sagaflow processes must agree on to talk over Kafka:
//! topic names, the envelope (in Kafka headers), and the message bodies
//! (Avro, Confluent-framed, with a schema id from a registry built into
//! this crate).
//!
//! ```
//! use sagaflow_events::{Contract, Envelope, decode, encode, messages::OrderCreated};
//! use uuid::Uuid;
//!
//! let msg = OrderCreated { saga_id: Uuid::now_v7(), order_id: Uuid::now_v7() };
//! let env = Envelope::new(OrderCreated::MESSAGE_TYPE, "acme").with_saga_id(msg.saga_id);
//! let (topic, headers, body) = (OrderCreated::TOPIC, env.to_headers(), encode(&msg)?);
//! assert_eq!(topic, "order.events");
//! assert!(headers.iter().any(|(k, _)| *k == "saga-id"));
//! assert_eq!(decode::<OrderCreated>(&body)?, msg);
//! # Ok::<(), sagaflow_events::Error>(())
//! ```
//!
//! ## Layout
//!
//! - [`topics`] — one constant per topic, [`topics::all`],
//!   [`topics::dead_letter`] (`<topic>.dlq`) and [`topics::DLQ_REPLAYS`].
//! - [`envelope`] — [`Envelope`] (message id, type, schema version, saga,
//!   correlation, causation, tenant, traceparent) and its mapping to and
//!   from Kafka headers; [`envelope::headers::ALL`] describes each header.
//! - [`codec`] — the Confluent frame: magic byte `0`, big-endian `u32`
//!   schema id, Avro binary datum.
//! - [`registry`] — [`Registry`] / [`SchemaEntry`]: every schema version by
//!   global id and by (message type, version); [`registry::builtin`] is
//!   embedded at compile time, [`registry::learned`] keeps the ids a schema
//!   registry assigned (a third-party serializer's), learned at run time.
//! - [`messages`] — one serde struct per message type plus shared records
//!   and enums.
//! - [`catalog`] — the single list of message types and their topics; it
//!   implements [`Contract`] and drives the JSON dispatch.
//! - [`asyncapi`] — [`asyncapi::document`]: the AsyncAPI 3.0.0 document of
//!   every topic, message (its current Avro schema and schema id), envelope
//!   header and Kafka key, for producers and consumers outside the code;
//!   committed as `docs/asyncapi.json` (`tests/asyncapi.rs` keeps it current
//!   and checks it names every topic the code uses), validated by
//!   `infra/checks/asyncapi.sh`, served by the gateway at `GET /asyncapi.json`.
//! - [`starts`] — [`StartsSaga`]: the commands that start a saga and the id
//!   they give it (what `sagaflow_bus::Outgoing::start` keys a start by).
//! - `bounds` (private) — a pre-decode walk rejecting length prefixes
//!   larger than the datum, so hostile bytes cannot make the Avro decoder
//!   abort on a huge allocation.
//! - `error` — [`Error`].
//! - This file — [`Contract`], [`encode`] / [`decode`], [`encode_json`] /
//!   [`decode_json`], [`topic_of`], [`schema_version`].
//!
//! ## Schemas
//!
//! Schemas live in `events/schemas/` (next to this crate):
//! `events/schemas/<owner>/<MessageType>.v<N>.avsc`, namespace
//! `io.sagaflow.<owner>`, record name = message type. `manifest.json` lists,
//! per message type, its topic and its versions, each with a global schema
//! id (unique `u32`), the file and the sha256 of the file's bytes. The
//! highest version is current (used to write and as the reader schema);
//! earlier ones are released and immutable. `build.rs` embeds the whole
//! directory, so a change there triggers a rebuild.
//!
//! ## Evolving a schema
//!
//! 1. Never edit a released file (the tests check their sha256).
//! 2. Copy the current `<Type>.v<N>.avsc` to `<Type>.v<N+1>.avsc` and make
//!    a backward-compatible change: add fields *with a default* (optional
//!    fields as `["null", T]` with `"default": null`), or remove fields.
//! 3. Append `{ "version": N+1, "id": <next unused id>, "file": ..,
//!    "sha256": <sha256sum of the file> }` to the type's `versions` in
//!    `manifest.json`.
//! 4. Update the struct in [`messages`] to match the new version.
//! 5. `cargo test -p sagaflow-events`: the compatibility test checks that
//!    each version reads data written with every earlier one.
//!
//! Readers decode any registered version of a type: the frame's schema id
//! selects the writer schema and Avro schema resolution maps it onto the
//! current one. An id that is not built in decodes once its schema has been
//! [`registry::learn`]ed (the inbox consumer of `sagaflow-bus` fetches it from
//! `SCHEMA_REGISTRY_URL`); until then it is [`Error::UnknownSchemaId`].

pub mod asyncapi;
mod bounds;
pub mod catalog;
pub mod codec;
pub mod envelope;
mod error;
pub mod messages;
pub mod registry;
pub mod starts;
pub mod topics;

pub use envelope::Envelope;
pub use error::Error;
pub use registry::{Registry, SchemaEntry};
pub use starts::StartsSaga;

/// A message type with a schema in the registry and a fixed topic.
/// Implemented for every type in [`messages`] by the [`catalog`].
pub trait Contract: serde::Serialize + serde::de::DeserializeOwned {
    /// Message type name (= Avro record name, = `message-type` header).
    const MESSAGE_TYPE: &'static str;
    /// The topic this message is published on.
    const TOPIC: &'static str;
}

fn current_schema(message_type: &str) -> Result<&'static SchemaEntry, Error> {
    registry::builtin()
        .current(message_type)
        .ok_or_else(|| Error::UnknownMessageType(message_type.to_owned()))
}

/// Encodes `msg` with the current schema of its type, framed with that
/// schema's id.
pub fn encode<T: Contract>(msg: &T) -> Result<Vec<u8>, Error> {
    let entry = current_schema(T::MESSAGE_TYPE)?;
    let value = apache_avro::to_value(msg)?.resolve(&entry.schema)?;
    let datum = apache_avro::to_avro_datum(&entry.schema, value)?;
    Ok(codec::frame(entry.id, &datum))
}

/// Decodes a frame written with any registered version of `T`'s schema,
/// resolving it onto the current one. Fails with [`Error::WrongType`] if
/// the schema id belongs to another message type.
pub fn decode<T: Contract>(bytes: &[u8]) -> Result<T, Error> {
    let (id, mut datum) = codec::unframe(bytes)?;
    let writer = registry::writer(id).ok_or(Error::UnknownSchemaId(id))?;
    if writer.message_type != T::MESSAGE_TYPE {
        return Err(Error::WrongType {
            expected: T::MESSAGE_TYPE,
            found: writer.message_type.clone(),
        });
    }
    let reader = current_schema(T::MESSAGE_TYPE)?;
    bounds::check(&writer.schema, datum)?;
    let value = apache_avro::from_avro_datum(&writer.schema, &mut datum, Some(&reader.schema))?;
    if !datum.is_empty() {
        return Err(Error::BadFrame(format!(
            "{} trailing bytes after the {} datum",
            datum.len(),
            T::MESSAGE_TYPE
        )));
    }
    Ok(apache_avro::from_value(&value)?)
}

/// Encodes a JSON payload as `message_type`: the JSON is first
/// deserialised into the typed struct (so it is validated), then encoded.
pub fn encode_json(message_type: &str, value: &serde_json::Value) -> Result<Vec<u8>, Error> {
    catalog::encode_json(message_type, value)
}

/// Decodes a frame of any message type (found from its schema id) and
/// returns the message type with the payload as JSON.
pub fn decode_json(bytes: &[u8]) -> Result<(&'static str, serde_json::Value), Error> {
    let (id, _) = codec::unframe(bytes)?;
    let entry = registry::writer(id).ok_or(Error::UnknownSchemaId(id))?;
    catalog::decode_json(&entry.message_type, bytes)
}

/// The topic `message_type` is published on.
pub fn topic_of(message_type: &str) -> Option<&'static str> {
    catalog::CONTRACTS
        .iter()
        .find(|(ty, _)| *ty == message_type)
        .map(|(_, topic)| *topic)
}

/// The current schema version of `message_type`.
pub fn schema_version(message_type: &str) -> Option<u32> {
    registry::builtin()
        .current(message_type)
        .map(|entry| entry.version)
}
