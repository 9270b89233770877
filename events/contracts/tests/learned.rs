//! Schema ids learned from a schema registry: a frame with a registry's id
//! decodes once its schema is learned; a schema that is not one of our message
//! types, or that our current schema cannot read, is refused saying why; the
//! built-in ids cannot be shadowed.

use sagaflow_events::messages::ReleaseInventory;
use sagaflow_events::{Error, codec, decode, decode_json, encode, registry};
use uuid::Uuid;

/// `msg` framed with `id` instead of its built-in id.
fn reframed(bytes: &[u8], id: u32) -> Vec<u8> {
    let (_, datum) = codec::unframe(bytes).expect("framed");
    codec::frame(id, datum)
}

#[test]
fn a_learned_id_decodes_like_a_built_in_one() {
    let msg = ReleaseInventory {
        saga_id: Uuid::now_v7(),
        reason: "third party".into(),
    };
    let bytes = reframed(&encode(&msg).unwrap(), 910_001);
    assert!(matches!(
        decode::<ReleaseInventory>(&bytes),
        Err(Error::UnknownSchemaId(910_001))
    ));
    // A producer elsewhere registered the schema under its own namespace.
    let theirs = r#"{"type":"record","name":"ReleaseInventory","namespace":"com.example",
        "fields":[{"name":"saga_id","type":{"type":"string","logicalType":"uuid"}},
                  {"name":"reason","type":"string"}]}"#;
    let entry = registry::learn(910_001, theirs).unwrap();
    assert_eq!(
        (entry.message_type.as_str(), entry.topic.as_str(), entry.id),
        ("ReleaseInventory", "inventory.commands", 910_001)
    );
    assert_eq!(decode::<ReleaseInventory>(&bytes).unwrap(), msg);
    let (message_type, json) = decode_json(&bytes).unwrap();
    assert_eq!(message_type, "ReleaseInventory");
    assert_eq!(json["reason"], "third party");
    assert!(registry::knows(910_001));
    // Learning it again keeps the first entry.
    assert!(std::ptr::eq(
        registry::learn(910_001, theirs).unwrap(),
        entry
    ));
}

#[test]
fn a_writer_schema_with_more_fields_is_resolved_onto_the_current_one() {
    let theirs = r#"{"type":"record","name":"ReleaseInventory","namespace":"com.example",
        "fields":[{"name":"saga_id","type":{"type":"string","logicalType":"uuid"}},
                  {"name":"note","type":"string"},
                  {"name":"reason","type":"string"}]}"#;
    let entry = registry::learn(910_002, theirs).unwrap();
    let saga_id = Uuid::now_v7();
    let value = apache_avro::types::Value::Record(vec![
        ("saga_id".into(), apache_avro::types::Value::Uuid(saga_id)),
        ("note".into(), "ours ignores it".into()),
        ("reason".into(), "extra field".into()),
    ]);
    let datum = apache_avro::to_avro_datum(&entry.schema, value).unwrap();
    let decoded = decode::<ReleaseInventory>(&codec::frame(910_002, &datum)).unwrap();
    assert_eq!(
        decoded,
        ReleaseInventory {
            saga_id,
            reason: "extra field".into()
        }
    );
}

#[test]
fn schemas_we_cannot_read_are_refused_with_the_reason() {
    let table = [
        ("{not json", "not a valid Avro schema"),
        (r#""string""#, "not a record"),
        (
            r#"{"type":"record","name":"Unheard","fields":[]}"#,
            "`Unheard` is not a Sagaflow message type",
        ),
        // `reason` is required by ours and this one does not write it.
        (
            r#"{"type":"record","name":"ReleaseInventory","fields":[
                {"name":"saga_id","type":"string"}]}"#,
            "cannot read data written with it",
        ),
    ];
    for (n, (schema, why)) in table.into_iter().enumerate() {
        let id = 920_000 + n as u32;
        match registry::learn(id, schema) {
            Err(Error::RejectedSchema {
                id: refused,
                reason,
            }) => {
                assert_eq!(refused, id);
                assert!(reason.contains(why), "{schema}: {reason}");
            }
            other => panic!("{schema}: {other:?}"),
        }
        assert!(!registry::knows(id), "a refused schema is not kept");
    }
}

#[test]
fn a_built_in_id_cannot_be_shadowed() {
    let builtin = registry::builtin().current("ReleaseInventory").unwrap();
    let other = r#"{"type":"record","name":"OrderCancelled","namespace":"x",
        "fields":[{"name":"saga_id","type":"string"}]}"#;
    let entry = registry::learn(builtin.id, other).unwrap();
    assert!(std::ptr::eq(entry, builtin));
    assert!(std::ptr::eq(registry::writer(builtin.id).unwrap(), builtin));
}
