//! [`DeadLetter`]: one record of a `.dlq` topic, with accessors for the headers
//! [`crate::dead_letter`] writes and its JSON forms for the CLI.

use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Headers};
use sagaflow_events::envelope::headers as envelope;
use serde_json::{Value, json};

use super::Timestamp;
use super::id::DeadLetterId;
use crate::dead_letter::headers as dlq;

/// Header names starting with this were added by dead-lettering or a replay;
/// the others are the original record's.
const DLQ_HEADER_PREFIX: &str = "dlq-";

/// One dead-letter record as it is on the broker.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub id: DeadLetterId,
    /// When it was dead-lettered (the record's timestamp).
    pub timestamp: Option<Timestamp>,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// Every header, in order: the original ones, then the `dlq-*` ones.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Below the `sagaflow-dlq-ack` group's committed offset of its partition.
    pub acknowledged: bool,
    /// A replay of it is recorded in [`super::REPLAYS_TOPIC`].
    pub replayed: bool,
}

impl DeadLetter {
    pub(super) fn from_message(message: &BorrowedMessage<'_>) -> Option<Self> {
        let id = DeadLetterId::new(message.topic(), message.partition(), message.offset()).ok()?;
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            id,
            timestamp: message
                .timestamp()
                .to_millis()
                .and_then(Timestamp::from_timestamp_millis),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            acknowledged: false,
            replayed: false,
        })
    }

    /// The last value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }

    /// Why it was dead-lettered.
    pub fn reason(&self) -> Option<String> {
        self.header(dlq::REASON)
    }

    /// The topic it was consumed from (and is replayed to).
    pub fn original_topic(&self) -> Option<String> {
        self.header(dlq::TOPIC)
    }

    /// The inbox consumer that dead-lettered it.
    pub fn consumer(&self) -> Option<String> {
        self.header(dlq::CONSUMER)
    }

    pub fn message_type(&self) -> Option<String> {
        self.header(envelope::MESSAGE_TYPE)
    }

    pub fn message_id(&self) -> Option<String> {
        self.header(envelope::MESSAGE_ID)
    }

    /// The original record's headers: everything but the `dlq-*` ones.
    pub fn original_headers(&self) -> impl Iterator<Item = &(String, Option<Vec<u8>>)> {
        self.headers
            .iter()
            .filter(|(key, _)| !key.starts_with(DLQ_HEADER_PREFIX))
    }

    /// The time as RFC 3339 (UTC, milliseconds), or empty when the broker gave none.
    pub fn time_text(&self) -> String {
        self.timestamp
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    /// One line of `sagaflow dlq list --json`: where it is, what it was, why it
    /// failed (in full), and whether it was acknowledged or replayed.
    pub fn summary_json(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "time": self.timestamp.map(|_| self.time_text()),
            "original_topic": self.original_topic(),
            "original_partition": self.header(dlq::PARTITION).and_then(|p| p.parse::<i32>().ok()),
            "original_offset": self.header(dlq::OFFSET).and_then(|o| o.parse::<i64>().ok()),
            "consumer": self.consumer(),
            "message_type": self.message_type(),
            "message_id": self.message_id(),
            "tenant_id": self.header(envelope::TENANT_ID),
            "saga_id": self.header(envelope::SAGA_ID),
            "reason": self.reason(),
            "acknowledged": self.acknowledged,
            "replayed": self.replayed,
        })
    }

    /// `sagaflow dlq show`: the summary plus every header, the key, the payload as
    /// hex and, when it decodes with the platform's contracts, as JSON.
    pub fn detail_json(&self) -> Value {
        let mut detail = self.summary_json();
        let headers: Vec<Value> = self
            .headers
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value.as_deref().map(text_or_hex)}))
            .collect();
        let decoded = match self.payload.as_deref() {
            None => json!({"error": "no payload"}),
            Some(payload) => match sagaflow_events::decode_json(payload) {
                Ok((message_type, body)) => json!({"message_type": message_type, "body": body}),
                Err(err) => json!({"error": err.to_string()}),
            },
        };
        detail["headers"] = Value::Array(headers);
        detail["key"] = json!(self.key.as_deref().map(text_or_hex));
        detail["payload_hex"] = json!(self.payload.as_deref().map(hex));
        detail["payload_bytes"] = json!(self.payload.as_ref().map(Vec::len));
        detail["decoded"] = decoded;
        detail
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// UTF-8 text as is, anything else as `hex:<hex>`.
fn text_or_hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => text.to_owned(),
        _ => format!("hex:{}", hex(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_text() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(text_or_hex(b"saga-1"), "saga-1");
        assert_eq!(text_or_hex(&[0, 1]), "hex:0001");
    }
}
