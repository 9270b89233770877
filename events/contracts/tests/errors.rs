//! Bad input gives the right error, never a panic.

use sagaflow_events::messages::{OrderCancelled, ReserveInventory};
use sagaflow_events::{Contract, Error, codec, decode, decode_json, encode, registry};
use uuid::Uuid;

fn sample() -> Vec<u8> {
    encode(&OrderCancelled {
        saga_id: Uuid::now_v7(),
    })
    .unwrap()
}

#[test]
fn wrong_magic_is_bad_frame() {
    let mut bytes = sample();
    bytes[0] = 1;
    assert!(matches!(
        decode::<OrderCancelled>(&bytes),
        Err(Error::BadFrame(_))
    ));
    assert!(matches!(decode_json(&bytes), Err(Error::BadFrame(_))));
}

#[test]
fn short_input_is_bad_frame() {
    for len in 0..5 {
        assert!(matches!(
            decode::<OrderCancelled>(&sample()[..len]),
            Err(Error::BadFrame(_))
        ));
        assert!(matches!(
            decode_json(&sample()[..len]),
            Err(Error::BadFrame(_))
        ));
    }
}

#[test]
fn unknown_schema_id() {
    let bytes = codec::frame(999_999, &sample()[5..]);
    assert!(matches!(
        decode::<OrderCancelled>(&bytes),
        Err(Error::UnknownSchemaId(999_999))
    ));
    assert!(matches!(
        decode_json(&bytes),
        Err(Error::UnknownSchemaId(999_999))
    ));
}

#[test]
fn truncated_datum_is_an_error() {
    let bytes = sample();
    for len in 5..bytes.len() {
        assert!(
            decode::<OrderCancelled>(&bytes[..len]).is_err(),
            "len {len}"
        );
        assert!(decode_json(&bytes[..len]).is_err(), "len {len}");
    }
}

#[test]
fn trailing_bytes_are_bad_frame() {
    let mut bytes = sample();
    bytes.push(0);
    assert!(matches!(
        decode::<OrderCancelled>(&bytes),
        Err(Error::BadFrame(_))
    ));
}

#[test]
fn invalid_uuid_text_is_an_error() {
    // OrderCancelled = { saga_id: uuid string }: a string that is no UUID.
    let mut datum = vec![2 * 4];
    datum.extend_from_slice(b"oops");
    let bytes = codec::frame(
        registry::builtin().current("OrderCancelled").unwrap().id,
        &datum,
    );
    assert!(decode::<OrderCancelled>(&bytes).is_err());
}

#[test]
fn huge_array_length_is_an_error_not_an_abort() {
    // ReserveInventory = { saga_id, items: array }: claim 2^29 items (the allocation cap).
    let mut datum = vec![72];
    datum.extend_from_slice(Uuid::now_v7().to_string().as_bytes());
    datum.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]); // zigzag(2^29)
    let id = registry::builtin()
        .current(ReserveInventory::MESSAGE_TYPE)
        .unwrap()
        .id;
    let bytes = codec::frame(id, &datum);
    assert!(matches!(
        decode::<ReserveInventory>(&bytes),
        Err(Error::BadFrame(_))
    ));
    assert!(matches!(decode_json(&bytes), Err(Error::BadFrame(_))));
}

#[test]
fn random_garbage_never_panics() {
    // xorshift; deterministic so failures reproduce.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ids: Vec<u32> = registry::builtin().entries().iter().map(|e| e.id).collect();
    for round in 0..5_000u64 {
        let len = (next() % 64) as usize;
        let mut datum: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 2 == 0 {
            // Start with a plausible uuid string so decoding gets further.
            let mut prefix = vec![72];
            prefix.extend_from_slice(Uuid::from_u128(round as u128).to_string().as_bytes());
            prefix.append(&mut datum);
            datum = prefix;
        }
        let id = ids[(next() as usize) % ids.len()];
        let _ = decode_json(&codec::frame(id, &datum));
        let _ = decode::<ReserveInventory>(&codec::frame(id, &datum));
    }
}
