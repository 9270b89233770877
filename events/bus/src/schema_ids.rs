//! Schema ids the built-in registry does not know, resolved through a schema
//! registry before a consumed message reaches its handler.
//!
//! A producer outside Sagaflow (Confluent's serializers in any language) frames
//! its Avro with the id its schema registry assigned, not one of the ids of
//! `events/schemas/manifest.json`. When `SCHEMA_REGISTRY_URL` is set
//! ([`crate::config::KafkaConfig::schema_registry_url`]), the inbox consumer
//! reads the schema of such an id once (`GET /schemas/ids/{id}`) and has
//! [`sagaflow_events::registry::learn`] check and keep it, so the handler's
//! `decode` reads the message like any other. Without a registry nothing is
//! looked up: the handler's `decode` fails with the unknown id and the message
//! is dead-lettered, as before.
//!
//! A failed look-up is a [`Failure`] of the class retrying can fix
//! ([`failure_of`]): a registry that is down, overloaded or refuses our
//! credentials is waited out like an unavailable database (the message is never
//! dead-lettered for it, nor lost); a registry that answers it has no such
//! schema, or a schema we cannot read, makes the message poison, dead-lettered
//! with the registry's reason.

use sagaflow_events::codec;
use sagaflow_events::registry;
use tracing::{info, warn};

use crate::failure::Failure;
use crate::schema_registry::{Client, RegistryError};

/// The schema registry the consumer asks about unknown ids, if any.
#[derive(Debug, Clone, Default)]
pub struct SchemaIds {
    registry: Option<Client>,
}

impl SchemaIds {
    /// Looks unknown ids up at `url` when there is one.
    pub fn new(url: Option<&str>) -> Result<Self, RegistryError> {
        Ok(Self {
            registry: url.map(Client::new).transpose()?,
        })
    }

    /// The schema id of `payload` when it is a Confluent frame whose id decoding
    /// does not know (yet); `None` for a known id or bytes that are no frame
    /// (those are the handler's `decode` to refuse).
    pub fn unknown_id(payload: &[u8]) -> Option<u32> {
        let (id, _) = codec::unframe(payload).ok()?;
        (!registry::knows(id)).then_some(id)
    }

    /// Makes the schema id of `payload` known to decoding, if it is not and a
    /// registry is configured: fetched, checked and kept for the process. `Ok`
    /// also when there is nothing to do.
    pub async fn resolve(&self, payload: &[u8]) -> Result<(), Failure> {
        let (Some(client), Some(id)) = (&self.registry, Self::unknown_id(payload)) else {
            return Ok(());
        };
        let source = match client.schema_by_id(id).await {
            Ok(source) => source,
            Err(err) => {
                let failure = failure_of(id, &err);
                warn!(schema_id = id, %failure, "looking a schema id up in the schema registry");
                return Err(failure);
            }
        };
        let entry = registry::learn(id, &source).map_err(|err| Failure::Poison(err.to_string()))?;
        info!(
            schema_id = id,
            message_type = %entry.message_type,
            "learned a schema id from the schema registry"
        );
        Ok(())
    }
}

/// The failure class of a registry look-up of `id` that went wrong.
pub fn failure_of(id: u32, err: &RegistryError) -> Failure {
    let reason = format!("schema id {id}: {err}");
    match err {
        // Down, overloaded, or our credentials are refused: every message alike,
        // wait for it to pass (or be fixed) rather than dead-letter them all.
        RegistryError::Unreachable { .. } => Failure::Unavailable(reason),
        RegistryError::Answered { status, .. } => match status {
            401 | 403 | 408 | 429 | 500..=599 => Failure::Unavailable(reason),
            // Not found (40403), or a request the registry refuses: asking again
            // will not change the answer.
            400 | 404 | 422 => Failure::Poison(reason),
            _ => Failure::Transient(reason),
        },
        RegistryError::NotAvro(_) => Failure::Poison(reason),
        RegistryError::Unexpected(_) => Failure::Transient(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Class;

    fn answered(status: u16, code: i64) -> RegistryError {
        RegistryError::Answered {
            status,
            code,
            message: "said the registry".into(),
        }
    }

    #[test]
    fn look_up_failures_by_class() {
        use Class::*;
        let table = [
            (answered(404, 40403), Poison),
            (answered(422, 42201), Poison),
            (answered(500, 50001), Unavailable),
            (answered(503, 503), Unavailable),
            (answered(401, 401), Unavailable),
            (answered(429, 429), Unavailable),
            (answered(409, 409), Transient),
            (RegistryError::NotAvro("PROTOBUF".into()), Poison),
            (RegistryError::Unexpected("no schema".into()), Transient),
            (
                RegistryError::Unreachable {
                    url: "http://127.0.0.1:1".into(),
                    reason: "connection refused".into(),
                },
                Unavailable,
            ),
        ];
        for (err, class) in table {
            let failure = failure_of(77, &err);
            assert_eq!(failure.class(), class, "{err}");
            assert!(failure.reason().starts_with("schema id 77: "), "{failure}");
            assert!(failure.reason().contains(&err.to_string()), "{failure}");
        }
    }

    #[test]
    fn only_frames_with_an_unknown_id_need_a_look_up() {
        let known = registry::builtin().entries()[0].id;
        assert_eq!(SchemaIds::unknown_id(&codec::frame(known, b"")), None);
        assert_eq!(
            SchemaIds::unknown_id(&codec::frame(4_000_000_000, b"")),
            Some(4_000_000_000)
        );
        assert_eq!(SchemaIds::unknown_id(b"{\"not\":\"a frame\"}"), None);
    }

    #[tokio::test]
    async fn without_a_registry_nothing_is_looked_up() {
        let none = SchemaIds::default();
        assert!(
            none.resolve(&codec::frame(4_000_000_001, b""))
                .await
                .is_ok()
        );
        assert!(SchemaIds::unknown_id(&codec::frame(4_000_000_001, b"")).is_some());
    }
}
