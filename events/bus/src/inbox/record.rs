//! [`Record`]: an owned copy of a consumed Kafka record, as the lanes queue it, and
//! the message a handler sees in it.

use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Headers};
use sagaflow_events::Envelope;

use crate::dead_letter::RawRecord;
use crate::lag::PartitionKey;
use crate::message::Incoming;

/// An owned copy of a consumed record.
pub(super) struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl From<&BorrowedMessage<'_>> for Record {
    fn from(message: &BorrowedMessage<'_>) -> Self {
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
        }
    }
}

impl Record {
    pub fn partition_key(&self) -> PartitionKey {
        (self.topic.clone(), self.partition)
    }

    pub fn raw(&self) -> RawRecord<'_> {
        RawRecord {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            key: self.key.as_deref(),
            payload: self.payload.as_deref(),
            headers: self.headers.clone(),
        }
    }

    /// The envelope and payload, or why this record can never be handled.
    pub fn incoming(&self) -> Result<Incoming, String> {
        let envelope = Envelope::from_headers(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_deref())),
        )
        .map_err(|err| format!("bad envelope: {err}"))?;
        let payload = self.payload.clone().ok_or("empty payload")?;
        Ok(Incoming {
            envelope,
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
            key: self
                .key
                .as_deref()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            payload,
        })
    }
}
