//! The message object of a contract type (payload, headers, key, framing)
//! and the envelope's header schema, shared by every one of them.

use serde_json::{Map, Value, json};

use super::keys::Key;
use super::{AVRO_SCHEMA_FORMAT, KAFKA_BINDING_VERSION, reference};
use crate::codec;
use crate::envelope::headers::{self, Format, Spec};
use crate::registry::{self, SchemaEntry};

/// The content type of a framed Avro value (binary, see [`codec`]).
pub(super) const CONTENT_TYPE: &str = "application/octet-stream";
/// The name of the envelope header schema in `components/schemas`.
pub(super) const ENVELOPE_HEADERS: &str = "EnvelopeHeaders";
/// The name of the correlation id in `components/correlationIds`.
pub(super) const CORRELATION: &str = "correlation";

fn header_schema(spec: &Spec) -> Value {
    let mut schema = match spec.format {
        Format::Uuid => json!({ "type": "string", "format": "uuid" }),
        Format::PositiveInteger => json!({ "type": "string", "pattern": "^[1-9][0-9]*$" }),
        Format::NonEmpty => json!({ "type": "string", "minLength": 1 }),
        Format::TraceParent => json!({
            "type": "string",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        }),
    };
    schema["description"] = spec.description.into();
    schema
}

/// The envelope as a header schema, from [`headers::ALL`].
pub(super) fn envelope_headers() -> Value {
    let properties: Map<String, Value> = headers::ALL
        .iter()
        .map(|spec| (spec.name.to_owned(), header_schema(spec)))
        .collect();
    let required: Vec<&str> = headers::ALL
        .iter()
        .filter(|spec| spec.required)
        .map(|spec| spec.name)
        .collect();
    json!({
        "type": "object",
        "description": "The envelope: message metadata in Kafka headers (UTF-8 text values); \
                        the Avro body carries domain data only. Readers refuse a message without \
                        a required header or with a value of the wrong format, and ignore \
                        headers they do not know.",
        "required": required,
        "properties": properties,
    })
}

/// The `correlation-id` header as the AsyncAPI correlation id.
pub(super) fn correlation_id() -> Value {
    json!({
        "description": "Shared by every message of one business flow (a saga's commands and \
                        replies).",
        "location": format!("$message.header#/{}", headers::CORRELATION_ID),
    })
}

fn description(entry: &SchemaEntry, key: &Key) -> String {
    let earlier: Vec<String> = registry::builtin()
        .versions(&entry.message_type)
        .iter()
        .filter(|v| v.version < entry.version)
        .map(|v| format!("v{} (schema id {})", v.version, v.id))
        .collect();
    let earlier = if earlier.is_empty() {
        String::new()
    } else {
        format!(" Earlier versions, still read: {}.", earlier.join(", "))
    };
    format!(
        "`{ty}` on `{topic}`: schema version {version}, schema id {id} \
         (`events/schemas/{file}`).{earlier} The Kafka value is the Confluent frame: the magic \
         byte `{magic}`, the schema id {id} as a big-endian u32 ({len} bytes in all), then the \
         Avro binary datum written with that schema. Key: {key}",
        ty = entry.message_type,
        topic = entry.topic,
        version = entry.version,
        id = entry.id,
        file = entry.file,
        magic = codec::MAGIC,
        len = codec::HEADER_LEN,
        key = key.description,
    )
}

/// The message object of `entry`, the current schema of a contract type
/// owned by `owner`, keyed by `key`.
pub(super) fn contract(entry: &SchemaEntry, owner: &str, key: Key) -> Value {
    let ty = entry.message_type.as_str();
    let schema: Value = serde_json::from_str(&entry.source).unwrap_or(Value::Null);
    let summary = schema["doc"].as_str().map(str::to_owned);
    let versions = registry::builtin().versions(ty);
    let mut message = json!({
        "name": ty,
        "title": ty,
        "description": description(entry, &key),
        "contentType": CONTENT_TYPE,
        "correlationId": reference("components/correlationIds", CORRELATION),
        "headers": {
            "type": "object",
            "allOf": [
                reference("components/schemas", ENVELOPE_HEADERS),
                {
                    "type": "object",
                    "properties": {
                        (headers::MESSAGE_TYPE): { "const": ty },
                        (headers::SCHEMA_VERSION): {
                            "enum": versions.iter().map(|v| v.version.to_string()).collect::<Vec<_>>(),
                        },
                    },
                },
            ],
        },
        "payload": { "schemaFormat": AVRO_SCHEMA_FORMAT, "schema": schema },
        "bindings": {
            "kafka": {
                "key": key.schema(),
                "schemaIdLocation": "payload",
                "schemaIdPayloadEncoding": "confluent",
                "schemaLookupStrategy": "TopicRecordNameStrategy",
                "bindingVersion": KAFKA_BINDING_VERSION,
            },
        },
        "tags": [{ "name": owner }],
        "x-schema-id": entry.id,
        "x-schema-version": entry.version,
        "x-schema-versions": versions
            .iter()
            .map(|v| json!({ "version": v.version, "id": v.id, "file": v.file }))
            .collect::<Vec<_>>(),
    });
    if let Some(summary) = summary {
        message["summary"] = summary.into();
    }
    message
}
