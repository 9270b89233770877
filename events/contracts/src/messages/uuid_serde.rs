//! Serde helpers that (de)serialise [`Uuid`](uuid::Uuid)s as hyphenated strings for
//! every format. apache-avro's serializer is not "human readable", so the
//! default `Uuid` impl would emit 16 raw bytes, which do not resolve
//! against an Avro `{"type": "string", "logicalType": "uuid"}`.
//!
//! Use `#[serde(with = "uuid_serde::id")]` on `Uuid` fields and
//! `#[serde(with = "uuid_serde::opt_id", default)]` on `Option<Uuid>` ones.

/// For `Uuid` fields.
pub mod id {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use uuid::Uuid;

    /// Serialises as the hyphenated string.
    pub fn serialize<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&id.hyphenated())
    }

    /// Parses a UUID string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let text = String::deserialize(d)?;
        Uuid::parse_str(&text).map_err(D::Error::custom)
    }
}

/// For `Option<Uuid>` fields.
pub mod opt_id {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use uuid::Uuid;

    /// Serialises `Some` as the hyphenated string, `None` as null.
    pub fn serialize<S: Serializer>(id: &Option<Uuid>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_some(&id.hyphenated().to_string()),
            None => s.serialize_none(),
        }
    }

    /// Parses an optional UUID string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| Uuid::parse_str(&text).map_err(D::Error::custom))
            .transpose()
    }
}
