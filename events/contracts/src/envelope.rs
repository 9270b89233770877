//! The message envelope, carried in Kafka headers (the Avro body carries
//! domain data only).

use uuid::Uuid;

use crate::Error;

/// Header names, as written by [`Envelope::to_headers`].
pub mod headers {
    /// Unique id of this message (UUID v7).
    pub const MESSAGE_ID: &str = "message-id";
    /// Message type, e.g. `ReserveInventory`.
    pub const MESSAGE_TYPE: &str = "message-type";
    /// Schema version of the body (decimal).
    pub const SCHEMA_VERSION: &str = "schema-version";
    /// Saga instance id (optional).
    pub const SAGA_ID: &str = "saga-id";
    /// Id shared by every message of one business flow.
    pub const CORRELATION_ID: &str = "correlation-id";
    /// Id of the message that caused this one (optional).
    pub const CAUSATION_ID: &str = "causation-id";
    /// Tenant.
    pub const TENANT_ID: &str = "tenant-id";
    /// W3C trace context (optional).
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C trace context: vendor-specific trace data beside `traceparent` (optional).
    pub const TRACESTATE: &str = "tracestate";
    /// W3C baggage: application key-value pairs that travel with the trace (optional).
    pub const BAGGAGE: &str = "baggage";

    /// How a header's value is written (Kafka header values are UTF-8 text).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Format {
        /// A hyphenated UUID.
        Uuid,
        /// A positive decimal integer.
        PositiveInteger,
        /// Any non-empty text.
        NonEmpty,
        /// A W3C trace context `traceparent` (`00-<trace id>-<span id>-<flags>`).
        TraceParent,
    }

    /// One envelope header as [`super::Envelope::from_headers`] reads it.
    #[derive(Debug, Clone, Copy)]
    pub struct Spec {
        /// Header name.
        pub name: &'static str,
        /// Whether a message without it is refused.
        pub required: bool,
        /// How its value is written.
        pub format: Format,
        /// What it means.
        pub description: &'static str,
    }

    const fn spec(
        name: &'static str,
        required: bool,
        format: Format,
        description: &'static str,
    ) -> Spec {
        Spec {
            name,
            required,
            format,
            description,
        }
    }

    /// Every envelope header, in the order [`super::Envelope::to_headers`]
    /// writes them (the AsyncAPI document's header schema is built from it).
    pub const ALL: &[Spec] = &[
        spec(
            MESSAGE_ID,
            true,
            Format::Uuid,
            "Unique id of this message (UUID v7); consumers' inboxes apply a message id at most once.",
        ),
        spec(
            MESSAGE_TYPE,
            true,
            Format::NonEmpty,
            "Message type (= the Avro record name).",
        ),
        spec(
            SCHEMA_VERSION,
            true,
            Format::PositiveInteger,
            "Schema version the body was written with (decimal).",
        ),
        spec(
            SAGA_ID,
            false,
            Format::Uuid,
            "Saga instance the message belongs to.",
        ),
        spec(
            CORRELATION_ID,
            true,
            Format::Uuid,
            "Id shared by every message of one business flow.",
        ),
        spec(
            CAUSATION_ID,
            false,
            Format::Uuid,
            "Id of the message that caused this one.",
        ),
        spec(TENANT_ID, true, Format::NonEmpty, "Tenant."),
        spec(
            TRACEPARENT,
            false,
            Format::TraceParent,
            "W3C trace context of the span that produced the message.",
        ),
        spec(
            TRACESTATE,
            false,
            Format::NonEmpty,
            "W3C trace context `tracestate` of that span: vendor-specific entries, passed on unchanged.",
        ),
        spec(
            BAGGAGE,
            false,
            Format::NonEmpty,
            "W3C baggage (`key=value` pairs, comma-separated) that travels with the trace from the request that started the flow.",
        ),
    ];
}

/// Metadata of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Unique id of this message.
    pub message_id: Uuid,
    /// Message type (Avro record name).
    pub message_type: String,
    /// Schema version the body was written with.
    pub schema_version: u32,
    /// Saga instance this message belongs to.
    pub saga_id: Option<Uuid>,
    /// Shared by every message of one flow.
    pub correlation_id: Uuid,
    /// The message that caused this one.
    pub causation_id: Option<Uuid>,
    /// Tenant.
    pub tenant_id: String,
    /// W3C trace context.
    pub traceparent: Option<String>,
    /// W3C trace context's vendor entries, beside `traceparent`.
    pub tracestate: Option<String>,
    /// W3C baggage.
    pub baggage: Option<String>,
}

impl Envelope {
    /// A fresh envelope starting a new flow: `message_id` is a new UUID v7,
    /// `correlation_id` equals it, `schema_version` is the current version
    /// of `message_type` in the built-in registry (1 if unknown).
    pub fn new(message_type: &str, tenant_id: &str) -> Self {
        let message_id = Uuid::now_v7();
        Envelope {
            message_id,
            message_type: message_type.to_owned(),
            schema_version: crate::schema_version(message_type).unwrap_or(1),
            saga_id: None,
            correlation_id: message_id,
            causation_id: None,
            tenant_id: tenant_id.to_owned(),
            traceparent: None,
            tracestate: None,
            baggage: None,
        }
    }

    /// A new envelope for a message caused by `cause`: copies the
    /// correlation id, saga id, tenant and trace context (traceparent,
    /// tracestate, baggage), and sets
    /// `causation_id` to `cause.message_id`.
    pub fn reply_to(message_type: &str, cause: &Envelope) -> Envelope {
        Envelope {
            saga_id: cause.saga_id,
            correlation_id: cause.correlation_id,
            causation_id: Some(cause.message_id),
            traceparent: cause.traceparent.clone(),
            tracestate: cause.tracestate.clone(),
            baggage: cause.baggage.clone(),
            ..Envelope::new(message_type, &cause.tenant_id)
        }
    }

    /// Builder: sets the saga id.
    pub fn with_saga_id(mut self, saga_id: Uuid) -> Self {
        self.saga_id = Some(saga_id);
        self
    }

    /// Builder: sets the traceparent.
    pub fn with_traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.traceparent = Some(traceparent.into());
        self
    }

    /// The envelope as Kafka headers; absent optional fields are omitted.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (headers::MESSAGE_ID, self.message_id.to_string()),
            (headers::MESSAGE_TYPE, self.message_type.clone()),
            (headers::SCHEMA_VERSION, self.schema_version.to_string()),
        ];
        if let Some(saga_id) = self.saga_id {
            out.push((headers::SAGA_ID, saga_id.to_string()));
        }
        out.push((headers::CORRELATION_ID, self.correlation_id.to_string()));
        if let Some(causation_id) = self.causation_id {
            out.push((headers::CAUSATION_ID, causation_id.to_string()));
        }
        out.push((headers::TENANT_ID, self.tenant_id.clone()));
        if let Some(traceparent) = &self.traceparent {
            out.push((headers::TRACEPARENT, traceparent.clone()));
        }
        if let Some(tracestate) = &self.tracestate {
            out.push((headers::TRACESTATE, tracestate.clone()));
        }
        if let Some(baggage) = &self.baggage {
            out.push((headers::BAGGAGE, baggage.clone()));
        }
        out
    }

    /// Reads an envelope from Kafka headers (name, value). Unknown headers
    /// are ignored; if a header repeats, the last one wins. A required
    /// header that is absent gives [`Error::MissingHeader`]; one without a
    /// value, not UTF-8, or not parseable gives [`Error::InvalidHeader`].
    /// An optional header without a value counts as absent.
    pub fn from_headers<'a>(
        pairs: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Result<Envelope, Error> {
        let mut raw = RawHeaders::default();
        for (name, value) in pairs {
            raw.set(name, value);
        }
        Ok(Envelope {
            message_id: parse_uuid(
                headers::MESSAGE_ID,
                required(headers::MESSAGE_ID, raw.message_id)?,
            )?,
            message_type: non_empty(
                headers::MESSAGE_TYPE,
                required(headers::MESSAGE_TYPE, raw.message_type)?,
            )?,
            schema_version: parse_version(required(headers::SCHEMA_VERSION, raw.schema_version)?)?,
            saga_id: optional(headers::SAGA_ID, raw.saga_id)?
                .map(|v| parse_uuid(headers::SAGA_ID, v))
                .transpose()?,
            correlation_id: parse_uuid(
                headers::CORRELATION_ID,
                required(headers::CORRELATION_ID, raw.correlation_id)?,
            )?,
            causation_id: optional(headers::CAUSATION_ID, raw.causation_id)?
                .map(|v| parse_uuid(headers::CAUSATION_ID, v))
                .transpose()?,
            tenant_id: non_empty(
                headers::TENANT_ID,
                required(headers::TENANT_ID, raw.tenant_id)?,
            )?,
            traceparent: optional(headers::TRACEPARENT, raw.traceparent)?.map(str::to_owned),
            tracestate: optional(headers::TRACESTATE, raw.tracestate)?.map(str::to_owned),
            baggage: optional(headers::BAGGAGE, raw.baggage)?.map(str::to_owned),
        })
    }
}

/// Last value seen per known header: `None` = absent, `Some(None)` =
/// present without a value.
#[derive(Default)]
struct RawHeaders<'a> {
    message_id: Option<Option<&'a [u8]>>,
    message_type: Option<Option<&'a [u8]>>,
    schema_version: Option<Option<&'a [u8]>>,
    saga_id: Option<Option<&'a [u8]>>,
    correlation_id: Option<Option<&'a [u8]>>,
    causation_id: Option<Option<&'a [u8]>>,
    tenant_id: Option<Option<&'a [u8]>>,
    traceparent: Option<Option<&'a [u8]>>,
    tracestate: Option<Option<&'a [u8]>>,
    baggage: Option<Option<&'a [u8]>>,
}

impl<'a> RawHeaders<'a> {
    fn set(&mut self, name: &str, value: Option<&'a [u8]>) {
        let slot = match name {
            headers::MESSAGE_ID => &mut self.message_id,
            headers::MESSAGE_TYPE => &mut self.message_type,
            headers::SCHEMA_VERSION => &mut self.schema_version,
            headers::SAGA_ID => &mut self.saga_id,
            headers::CORRELATION_ID => &mut self.correlation_id,
            headers::CAUSATION_ID => &mut self.causation_id,
            headers::TENANT_ID => &mut self.tenant_id,
            headers::TRACEPARENT => &mut self.traceparent,
            headers::TRACESTATE => &mut self.tracestate,
            headers::BAGGAGE => &mut self.baggage,
            _ => return,
        };
        *slot = Some(value);
    }
}

type Raw<'a> = Option<Option<&'a [u8]>>;

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidHeader {
        name,
        reason: reason.into(),
    }
}

fn utf8<'a>(name: &'static str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| invalid(name, format!("not UTF-8: {e}")))
}

fn required<'a>(name: &'static str, raw: Raw<'a>) -> Result<&'a str, Error> {
    match raw {
        None => Err(Error::MissingHeader(name)),
        Some(None) => Err(invalid(name, "header has no value")),
        Some(Some(bytes)) => utf8(name, bytes),
    }
}

fn optional<'a>(name: &'static str, raw: Raw<'a>) -> Result<Option<&'a str>, Error> {
    match raw {
        None | Some(None) => Ok(None),
        Some(Some(bytes)) => utf8(name, bytes).map(Some),
    }
}

fn non_empty(name: &'static str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(invalid(name, "empty value"));
    }
    Ok(value.to_owned())
}

fn parse_uuid(name: &'static str, value: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(value).map_err(|e| invalid(name, format!("`{value}` is not a UUID: {e}")))
}

fn parse_version(value: &str) -> Result<u32, Error> {
    match value.parse::<u32>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(invalid(
            headers::SCHEMA_VERSION,
            format!("`{value}` is not a positive integer"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_context_round_trips_and_passes_to_what_a_message_causes() {
        let mut cause = Envelope::new("OrderCreated", "acme")
            .with_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        cause.tracestate = Some("vendor=abc,other=1".into());
        cause.baggage = Some("tier=gold,region=eu".into());
        let headers = cause.to_headers();
        let read = Envelope::from_headers(
            headers
                .iter()
                .map(|(name, value)| (*name, Some(value.as_bytes()))),
        )
        .expect("valid headers");
        assert_eq!(read, cause);

        let reply = Envelope::reply_to("NotificationSent", &cause);
        assert_eq!(reply.tracestate, cause.tracestate);
        assert_eq!(reply.baggage, cause.baggage);

        let bare = Envelope::new("OrderCreated", "acme");
        let names: Vec<&str> = bare.to_headers().iter().map(|(name, _)| *name).collect();
        assert!(!names.contains(&headers::TRACESTATE) && !names.contains(&headers::BAGGAGE));
    }
}
