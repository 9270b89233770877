//! Serde model of `events/schemas/manifest.json`.

use serde::{Deserialize, Serialize};

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// One entry per message type.
    pub messages: Vec<ManifestMessage>,
}

/// A message type and all its schema versions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestMessage {
    /// Message type (= Avro record name).
    pub message_type: String,
    /// Topic the message is published on.
    pub topic: String,
    /// Versions, oldest first; the last one is current, the others are
    /// released and immutable.
    pub versions: Vec<ManifestVersion>,
}

/// One schema version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ManifestVersion {
    /// Version number, counting from 1.
    pub version: u32,
    /// Global schema id (unique across all messages and versions).
    pub id: u32,
    /// `.avsc` path relative to `events/schemas/`.
    pub file: String,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
}
