//! Data written with an older schema version decodes with the current one.

use apache_avro::types::Value;
use sagaflow_events::messages::InventoryReservationFailed;
use sagaflow_events::{Contract, codec, decode, decode_json, encode, registry, schema_version};
use uuid::Uuid;

/// Bytes as a v1 producer (which knows no `sku`) would write them.
fn v1_bytes(saga_id: Uuid, reason: &str) -> Vec<u8> {
    let v1 = registry::builtin()
        .version(InventoryReservationFailed::MESSAGE_TYPE, 1)
        .expect("v1 registered");
    let value = Value::Record(vec![
        ("saga_id".into(), Value::Uuid(saga_id)),
        ("reason".into(), Value::String(reason.into())),
    ]);
    let datum = apache_avro::to_avro_datum(&v1.schema, value).expect("valid v1 datum");
    codec::frame(v1.id, &datum)
}

#[test]
fn v2_is_current() {
    assert_eq!(schema_version("InventoryReservationFailed"), Some(2));
    let v1 = registry::builtin()
        .version("InventoryReservationFailed", 1)
        .unwrap();
    let v2 = registry::builtin()
        .current("InventoryReservationFailed")
        .unwrap();
    assert_ne!(v1.id, v2.id);
    assert_eq!(v2.version, 2);
}

#[test]
fn v1_bytes_decode_with_v2_reader() {
    let saga_id = Uuid::now_v7();
    let bytes = v1_bytes(saga_id, "out of stock");
    let msg: InventoryReservationFailed = decode(&bytes).unwrap();
    assert_eq!(
        msg,
        InventoryReservationFailed {
            saga_id,
            reason: "out of stock".into(),
            sku: None
        }
    );
    let (ty, json) = decode_json(&bytes).unwrap();
    assert_eq!(ty, "InventoryReservationFailed");
    assert_eq!(json["sku"], serde_json::Value::Null);
}

#[test]
fn new_writes_use_v2() {
    let msg = InventoryReservationFailed {
        saga_id: Uuid::now_v7(),
        reason: "out of stock".into(),
        sku: Some("SKU-9".into()),
    };
    let bytes = encode(&msg).unwrap();
    let (id, _) = codec::unframe(&bytes).unwrap();
    assert_eq!(registry::builtin().by_id(id).unwrap().version, 2);
    assert_eq!(decode::<InventoryReservationFailed>(&bytes).unwrap(), msg);
    // A v1 frame is shorter: it has no union branch for sku.
    assert!(v1_bytes(msg.saga_id, "out of stock").len() < bytes.len());
}
