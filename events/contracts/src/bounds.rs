//! Pre-decode bounds check. apache-avro trusts the length and block-count
//! prefixes of a datum: it reserves memory for an array's claimed item
//! count before reading any item, so a 5-byte prefix claiming 2^29 items
//! aborts the process on allocation failure. [`check`] walks the writer
//! schema over the datum first and rejects any string/bytes length or
//! array/map block count larger than the bytes left. It gives up (and lets
//! apache-avro decide) on schema kinds our contracts do not use.

use std::collections::HashMap;

use apache_avro::Schema;

use crate::Error;

/// Block count allowed for arrays/maps whose items may take zero bytes.
const MAX_ZERO_WIDTH_ITEMS: u64 = 1 << 16;

/// Outcome of walking one value.
enum Walk {
    /// The value fits; continue.
    Fits,
    /// A schema kind this check does not model: stop checking.
    Unsupported,
}

/// Checks that `datum` cannot make the Avro decoder allocate more than the
/// datum's size warrants when read with `schema`.
pub(crate) fn check(schema: &Schema, datum: &[u8]) -> Result<(), Error> {
    let mut names = HashMap::new();
    collect_names(schema, &mut names);
    let mut input = datum;
    walk(schema, &names, &mut input)
        .map(|_| ())
        .map_err(|reason| Error::BadFrame(format!("datum does not fit its schema: {reason}")))
}

fn collect_names<'s>(schema: &'s Schema, names: &mut HashMap<String, &'s Schema>) {
    match schema {
        Schema::Record(r) => {
            names.insert(r.name.fullname(None), schema);
            for field in &r.fields {
                collect_names(&field.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.fullname(None), schema);
        }
        Schema::Fixed(f) => {
            names.insert(f.name.fullname(None), schema);
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        _ => {}
    }
}

fn varint(input: &mut &[u8]) -> Result<i64, String> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = input.split_first().ok_or("unexpected end of datum")?;
        *input = rest;
        if shift == 63 && byte > 1 {
            return Err("varint overflows 64 bits".into());
        }
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err("varint longer than 10 bytes".into())
}

fn skip(input: &mut &[u8], len: u64) -> Result<(), String> {
    if len > input.len() as u64 {
        return Err(format!(
            "length {len} exceeds the {} bytes left",
            input.len()
        ));
    }
    *input = &input[len as usize..];
    Ok(())
}

fn length(input: &mut &[u8]) -> Result<u64, String> {
    let len = varint(input)?;
    u64::try_from(len).map_err(|_| format!("negative length {len}"))
}

fn can_be_empty(schema: &Schema, names: &HashMap<String, &Schema>) -> bool {
    match schema {
        Schema::Null => true,
        Schema::Record(r) => r.fields.iter().all(|f| can_be_empty(&f.schema, names)),
        Schema::Fixed(f) => f.size == 0,
        Schema::Ref { name } => names
            .get(&name.fullname(None))
            .is_none_or(|s| can_be_empty(s, names)),
        _ => false,
    }
}

/// Walks array/map blocks; `item` walks one item.
fn blocks(
    input: &mut &[u8],
    zero_width: bool,
    mut item: impl FnMut(&mut &[u8]) -> Result<Walk, String>,
) -> Result<Walk, String> {
    loop {
        let count = varint(input)?;
        if count == 0 {
            return Ok(Walk::Fits);
        }
        if count < 0 {
            length(input)?; // block size in bytes; unused
        }
        let count = count.unsigned_abs();
        let limit = if zero_width {
            MAX_ZERO_WIDTH_ITEMS
        } else {
            input.len() as u64
        };
        if count > limit {
            return Err(format!(
                "block of {count} items exceeds the {} bytes left",
                input.len()
            ));
        }
        for _ in 0..count {
            if let Walk::Unsupported = item(input)? {
                return Ok(Walk::Unsupported);
            }
        }
    }
}

fn walk(
    schema: &Schema,
    names: &HashMap<String, &Schema>,
    input: &mut &[u8],
) -> Result<Walk, String> {
    match schema {
        Schema::Null => {}
        Schema::Boolean => skip(input, 1)?,
        Schema::Float => skip(input, 4)?,
        Schema::Double => skip(input, 8)?,
        Schema::Int
        | Schema::Long
        | Schema::Enum(_)
        | Schema::Date
        | Schema::TimeMillis
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => {
            varint(input)?;
        }
        Schema::Bytes | Schema::String | Schema::Uuid => {
            let len = length(input)?;
            skip(input, len)?;
        }
        Schema::Fixed(f) => skip(input, f.size as u64)?,
        Schema::Record(r) => {
            for field in &r.fields {
                if let Walk::Unsupported = walk(&field.schema, names, input)? {
                    return Ok(Walk::Unsupported);
                }
            }
        }
        Schema::Union(u) => {
            let index = varint(input)?;
            let variant = usize::try_from(index)
                .ok()
                .and_then(|i| u.variants().get(i))
                .ok_or_else(|| format!("union branch {index} does not exist"))?;
            return walk(variant, names, input);
        }
        Schema::Array(a) => {
            let zero = can_be_empty(&a.items, names);
            return blocks(input, zero, |input| walk(&a.items, names, input));
        }
        Schema::Map(m) => {
            return blocks(input, false, |input| {
                let len = length(input)?;
                skip(input, len)?;
                walk(&m.types, names, input)
            });
        }
        Schema::Ref { name } => match names.get(&name.fullname(None)) {
            Some(resolved) => return walk(resolved, names, input),
            None => return Ok(Walk::Unsupported),
        },
        Schema::Decimal(_) | Schema::BigDecimal | Schema::Duration => return Ok(Walk::Unsupported),
    }
    Ok(Walk::Fits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zigzag(n: i64) -> Vec<u8> {
        let mut v = ((n << 1) ^ (n >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    #[test]
    fn varint_matches_zigzag() {
        for n in [
            0,
            -1,
            1,
            63,
            -64,
            64,
            i64::from(i32::MAX),
            i64::MIN,
            i64::MAX,
        ] {
            let bytes = zigzag(n);
            let mut input = &bytes[..];
            assert_eq!(varint(&mut input).unwrap(), n);
            assert!(input.is_empty());
        }
        assert!(varint(&mut &[0x80u8; 11][..]).is_err());
        assert!(varint(&mut &[0x80u8][..]).is_err());
    }

    #[test]
    fn rejects_oversized_lengths_and_counts() {
        let strings = Schema::parse_str(r#"{"type":"array","items":"string"}"#).unwrap();
        let mut ok = zigzag(2);
        ok.extend([2, b'a', 0, 0]);
        assert!(check(&strings, &ok).is_ok());
        assert!(check(&strings, &zigzag(1 << 29)).is_err());
        assert!(check(&strings, &zigzag(-(1 << 29))).is_err());
        let mut long_string = zigzag(1);
        long_string.extend(zigzag(1000));
        assert!(check(&strings, &long_string).is_err());
        let nulls = Schema::parse_str(r#"{"type":"array","items":"null"}"#).unwrap();
        let mut many = zigzag(1000);
        many.push(0);
        assert!(check(&nulls, &many).is_ok());
        assert!(check(&nulls, &zigzag(1 << 29)).is_err());
    }
}
