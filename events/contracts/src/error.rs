//! The crate's single error type.

/// Everything that can go wrong encoding, decoding or reading headers.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The message type is not in the contract catalogue / schema registry.
    #[error("unknown message type `{0}`")]
    UnknownMessageType(String),
    /// The frame names a schema id the registry does not know.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The bytes are not a valid Confluent-framed Avro datum.
    #[error("bad frame: {0}")]
    BadFrame(String),
    /// Avro encoding, decoding or schema resolution failed.
    #[error("avro: {0}")]
    Avro(#[from] apache_avro::Error),
    /// JSON (de)serialisation failed, e.g. a payload does not fit the type.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A required envelope header is absent.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// An envelope header is present but its value is unusable.
    #[error("invalid header `{name}`: {reason}")]
    InvalidHeader {
        /// Header name, e.g. `message-id`.
        name: &'static str,
        /// Why the value was rejected.
        reason: String,
    },
    /// The frame's schema id belongs to a different message type.
    #[error("wrong message type: expected `{expected}`, found `{found}`")]
    WrongType {
        /// The type the caller asked for.
        expected: &'static str,
        /// The type the frame's schema id belongs to.
        found: String,
    },
    /// A schema a registry holds under `id` cannot be read as a Sagaflow
    /// message (see [`crate::registry::learned`]).
    #[error("schema id {id} from the schema registry is refused: {reason}")]
    RejectedSchema {
        /// The registry's id of the schema.
        id: u32,
        /// Why it was refused.
        reason: String,
    },
    /// The embedded manifest or a schema file is inconsistent.
    #[error("schema registry: {0}")]
    Registry(String),
}
