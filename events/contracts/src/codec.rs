//! Confluent wire format: byte 0 is the magic byte `0`, bytes 1..5 the
//! schema id (big-endian `u32`), then the Avro binary datum.

use crate::Error;

/// The magic byte that starts every frame.
pub const MAGIC: u8 = 0;
/// Length of the frame header (magic + schema id).
pub const HEADER_LEN: usize = 5;

/// Prefixes `datum` with the magic byte and `schema_id`.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(datum);
    out
}

/// Splits a frame into its schema id and Avro datum.
pub fn unframe(bytes: &[u8]) -> Result<(u32, &[u8]), Error> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::BadFrame(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if bytes[0] != MAGIC {
        return Err(Error::BadFrame(format!(
            "magic byte is {:#04x}, expected {MAGIC:#04x}",
            bytes[0]
        )));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_then_unframe() {
        let framed = frame(0x0102_0304, b"abc");
        assert_eq!(framed, [0, 1, 2, 3, 4, b'a', b'b', b'c']);
        assert_eq!(unframe(&framed).unwrap(), (0x0102_0304, &b"abc"[..]));
    }

    #[test]
    fn empty_datum_is_a_valid_frame() {
        assert_eq!(unframe(&frame(7, &[])).unwrap(), (7, &[][..]));
    }

    #[test]
    fn short_or_bad_magic_is_bad_frame() {
        assert!(matches!(unframe(&[0, 0, 0]), Err(Error::BadFrame(_))));
        assert!(matches!(unframe(&[]), Err(Error::BadFrame(_))));
        assert!(matches!(unframe(&[1, 0, 0, 0, 1]), Err(Error::BadFrame(_))));
    }
}
