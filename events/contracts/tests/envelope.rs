//! Envelope <-> Kafka headers.

use sagaflow_events::{Envelope, Error};
use uuid::Uuid;

fn as_pairs(headers: &[(&'static str, String)]) -> Vec<(&'static str, Option<Vec<u8>>)> {
    headers
        .iter()
        .map(|(k, v)| (*k, Some(v.as_bytes().to_vec())))
        .collect()
}

fn parse(pairs: &[(&'static str, Option<Vec<u8>>)]) -> Result<Envelope, Error> {
    Envelope::from_headers(pairs.iter().map(|(k, v)| (*k, v.as_deref())))
}

fn full() -> Envelope {
    let cause = Envelope::new("InitiateCheckout", "acme")
        .with_saga_id(Uuid::now_v7())
        .with_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    Envelope::reply_to("ReserveInventory", &cause)
}

#[test]
fn headers_round_trip_with_all_fields() {
    let env = full();
    let headers = env.to_headers();
    let names: Vec<_> = headers.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "message-id",
            "message-type",
            "schema-version",
            "saga-id",
            "correlation-id",
            "causation-id",
            "tenant-id",
            "traceparent"
        ]
    );
    assert_eq!(parse(&as_pairs(&headers)).unwrap(), env);
}

#[test]
fn absent_optionals_are_omitted_and_round_trip() {
    let env = Envelope::new("OrderCreated", "acme");
    let headers = env.to_headers();
    let names: Vec<_> = headers.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "message-id",
            "message-type",
            "schema-version",
            "correlation-id",
            "tenant-id"
        ]
    );
    let back = parse(&as_pairs(&headers)).unwrap();
    assert_eq!(back, env);
    assert_eq!(back.saga_id, None);
    assert_eq!(back.causation_id, None);
    assert_eq!(back.traceparent, None);
}

#[test]
fn new_and_reply_to_fill_ids() {
    let first = Envelope::new("InventoryReservationFailed", "acme");
    assert_eq!(first.correlation_id, first.message_id);
    assert_eq!(first.message_id.get_version_num(), 7);
    assert_eq!(first.schema_version, 2, "current version from the registry");
    assert_eq!(Envelope::new("NotARealType", "acme").schema_version, 1);

    let cause = full();
    let reply = Envelope::reply_to("InventoryReserved", &cause);
    assert_ne!(reply.message_id, cause.message_id);
    assert_eq!(reply.message_type, "InventoryReserved");
    assert_eq!(reply.causation_id, Some(cause.message_id));
    assert_eq!(reply.correlation_id, cause.correlation_id);
    assert_eq!(reply.saga_id, cause.saga_id);
    assert_eq!(reply.tenant_id, cause.tenant_id);
    assert_eq!(reply.traceparent, cause.traceparent);
}

#[test]
fn missing_message_id_is_named() {
    let pairs: Vec<_> = as_pairs(&full().to_headers())
        .into_iter()
        .filter(|(k, _)| *k != "message-id")
        .collect();
    let err = parse(&pairs).unwrap_err();
    assert!(matches!(err, Error::MissingHeader("message-id")), "{err:?}");
    assert!(err.to_string().contains("message-id"));
}

#[test]
fn every_required_header_is_required() {
    for required in [
        "message-id",
        "message-type",
        "schema-version",
        "correlation-id",
        "tenant-id",
    ] {
        let pairs: Vec<_> = as_pairs(&full().to_headers())
            .into_iter()
            .filter(|(k, _)| *k != required)
            .collect();
        match parse(&pairs) {
            Err(Error::MissingHeader(name)) => assert_eq!(name, required),
            other => panic!("{required}: expected MissingHeader, got {other:?}"),
        }
    }
}

fn with(name: &'static str, value: Option<&[u8]>) -> Result<Envelope, Error> {
    let mut pairs = as_pairs(&full().to_headers());
    pairs.retain(|(k, _)| *k != name);
    pairs.push((name, value.map(<[u8]>::to_vec)));
    parse(&pairs)
}

#[test]
fn invalid_values_are_named() {
    let cases: [(&str, Option<&[u8]>); 7] = [
        ("message-id", Some(b"nope")),
        ("saga-id", Some(b"123")),
        ("causation-id", Some(b"")),
        ("schema-version", Some(b"two")),
        ("schema-version", Some(b"0")),
        ("tenant-id", Some(&[0xff, 0xfe])),
        ("correlation-id", None),
    ];
    for (name, value) in cases {
        match with(name, value) {
            Err(Error::InvalidHeader { name: got, reason }) => {
                assert_eq!(got, name, "{reason}");
            }
            other => panic!("{name}={value:?}: expected InvalidHeader, got {other:?}"),
        }
    }
}

#[test]
fn unknown_headers_ignored_and_valueless_optionals_absent() {
    let mut pairs = as_pairs(&full().to_headers());
    pairs.push(("x-custom", Some(b"\xff".to_vec())));
    pairs.push(("x-null", None));
    pairs.retain(|(k, _)| *k != "traceparent");
    pairs.push(("traceparent", None));
    let env = parse(&pairs).unwrap();
    assert_eq!(env.traceparent, None);
    assert_eq!(env.tenant_id, "acme");
}
