//! Every message type survives encode/decode, binary and JSON.

use crate::common;

use std::collections::BTreeSet;
use std::fmt::Debug;

use common::{Visit, for_each_sample, sampled_types};
use sagaflow_events::{
    Contract, Error, catalog, codec, decode, decode_json, encode, encode_json, registry,
};

struct RoundTrip;

impl Visit for RoundTrip {
    fn visit<T: Contract + PartialEq + Debug + Clone>(&mut self, msg: T) {
        let ty = T::MESSAGE_TYPE;
        let current = registry::builtin().current(ty).expect("registered");
        let bytes = encode(&msg).unwrap_or_else(|e| panic!("{ty}: encode: {e}"));
        assert_eq!(bytes[0], 0, "{ty}: magic byte");
        assert_eq!(
            u32::from_be_bytes(bytes[1..5].try_into().unwrap()),
            current.id,
            "{ty}: schema id"
        );
        let (id, datum) = codec::unframe(&bytes).unwrap();
        assert_eq!(id, current.id);
        assert!(!datum.is_empty(), "{ty}: empty datum");
        let back: T = decode(&bytes).unwrap_or_else(|e| panic!("{ty}: decode: {e}"));
        assert_eq!(back, msg, "{ty}: binary round trip");

        let json = serde_json::to_value(&msg).unwrap();
        let from_json = encode_json(ty, &json).unwrap_or_else(|e| panic!("{ty}: encode_json: {e}"));
        assert_eq!(from_json, bytes, "{ty}: encode_json must equal encode");
        let (decoded_ty, decoded_json) =
            decode_json(&bytes).unwrap_or_else(|e| panic!("{ty}: decode_json: {e}"));
        assert_eq!(decoded_ty, ty);
        assert_eq!(decoded_json, json, "{ty}: JSON round trip");
        let typed: T = serde_json::from_value(decoded_json).unwrap();
        assert_eq!(typed, msg);
    }
}

#[test]
fn every_message_type_round_trips() {
    for_each_sample(&mut RoundTrip);
}

#[test]
fn samples_cover_every_contract() {
    let sampled: BTreeSet<_> = sampled_types().into_iter().collect();
    let contracts: BTreeSet<_> = catalog::CONTRACTS.iter().map(|(ty, _)| *ty).collect();
    assert_eq!(sampled, contracts);
}

#[test]
fn uuids_and_enums_are_strings_in_json() {
    use sagaflow_events::messages::{Channel, NotificationSent};
    let msg = NotificationSent {
        notification_id: uuid::Uuid::nil(),
        saga_id: None,
        channel: Channel::Email,
    };
    let json = serde_json::to_value(&msg).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "notification_id": "00000000-0000-0000-0000-000000000000",
            "saga_id": null,
            "channel": "EMAIL",
        })
    );
    let bytes = encode(&msg).unwrap();
    assert_eq!(decode::<NotificationSent>(&bytes).unwrap(), msg);
    assert_eq!(decode_json(&bytes).unwrap().1, json);
}

#[test]
fn optional_fields_round_trip_as_none() {
    use sagaflow_events::messages::{InitiateCheckout, PaymentRefunded};
    let refund = PaymentRefunded {
        saga_id: uuid::Uuid::now_v7(),
        payment_id: None,
        amount_minor: 0,
    };
    assert_eq!(
        decode::<PaymentRefunded>(&encode(&refund).unwrap()).unwrap(),
        refund
    );
    // Optional fields may be omitted from JSON input.
    let json = serde_json::json!({
        "checkout_id": uuid::Uuid::now_v7(), "user_id": "u", "cart_id": uuid::Uuid::now_v7(),
        "items": [], "currency": "EUR", "payment_method": "card", "customer_email": "e@x",
    });
    let bytes = encode_json("InitiateCheckout", &json).unwrap();
    assert_eq!(
        decode::<InitiateCheckout>(&bytes).unwrap().discount_code,
        None
    );
}

#[test]
fn decode_as_another_type_is_wrong_type() {
    use sagaflow_events::messages::{OrderCancelled, OrderCreated};
    let bytes = encode(&OrderCancelled {
        saga_id: uuid::Uuid::now_v7(),
    })
    .unwrap();
    match decode::<OrderCreated>(&bytes) {
        Err(Error::WrongType { expected, found }) => {
            assert_eq!(expected, "OrderCreated");
            assert_eq!(found, "OrderCancelled");
        }
        other => panic!("expected WrongType, got {other:?}"),
    }
}

#[test]
fn encode_json_validates_payloads() {
    let bad_uuid = serde_json::json!({ "saga_id": "not-a-uuid" });
    assert!(matches!(
        encode_json("OrderCancelled", &bad_uuid),
        Err(Error::Json(_))
    ));
    let missing = serde_json::json!({});
    assert!(matches!(
        encode_json("OrderCancelled", &missing),
        Err(Error::Json(_))
    ));
    let bad_enum = serde_json::json!({
        "notification_id": uuid::Uuid::nil(), "saga_id": null, "channel": "PIGEON",
    });
    assert!(matches!(
        encode_json("NotificationSent", &bad_enum),
        Err(Error::Json(_))
    ));
    match encode_json("NoSuchThing", &missing) {
        Err(Error::UnknownMessageType(ty)) => assert_eq!(ty, "NoSuchThing"),
        other => panic!("expected UnknownMessageType, got {other:?}"),
    }
}
