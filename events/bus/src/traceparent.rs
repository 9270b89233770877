//! W3C Trace Context (`traceparent`, `tracestate`) and W3C baggage carried in
//! Kafka headers and HTTP requests, so one saga is one trace across every service.
//!
//! [`MessageTrace`] is the three headers of one message or request. Its bridge to
//! OpenTelemetry goes through the SDK's own propagators (`TraceContextPropagator`,
//! `BaggagePropagator`): [`MessageTrace::adopt`] makes a `tracing` span the child
//! of a message (with its tracestate, and its baggage in the span's context), and
//! [`MessageTrace::child`] is what a message written now carries: the span the code
//! runs in when an OpenTelemetry layer records one (see the `sagaflow` binary's
//! telemetry), else a made-up child of the cause, so the chain still forms one
//! trace and tracestate and baggage still pass on. [`TraceParent`] is the parsed
//! `traceparent` those made-up ids use.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use rand::Rng;
use sagaflow_events::Envelope;
use sagaflow_events::envelope::headers::{BAGGAGE, TRACEPARENT, TRACESTATE};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A parsed `traceparent`: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub span_id: u64,
    pub sampled: bool,
}

impl TraceParent {
    /// A new trace (the start of a request or a saga).
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        Self {
            trace_id: rng.random_range(1..=u128::MAX),
            span_id: rng.random_range(1..=u64::MAX),
            sampled: true,
        }
    }

    /// A child span in the same trace.
    pub fn child(&self) -> Self {
        Self {
            span_id: rand::rng().random_range(1..=u64::MAX),
            ..*self
        }
    }

    /// Parses a header value; `None` for anything malformed (a bad header starts a
    /// new trace rather than failing the message).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        if version != "00" || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok()?;
        let span_id = u64::from_str_radix(span, 16).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        if trace_id == 0 || span_id == 0 {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

/// The W3C trace context of one message or request: its `traceparent`,
/// `tracestate` and `baggage` headers (each optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTrace {
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
}

impl MessageTrace {
    /// The trace context `envelope` carries.
    pub fn of(envelope: &Envelope) -> Self {
        Self {
            traceparent: envelope.traceparent.clone(),
            tracestate: envelope.tracestate.clone(),
            baggage: envelope.baggage.clone(),
        }
    }

    /// Only a `traceparent` (what a saga or a plan keeps of the request that
    /// started it).
    pub fn from_traceparent(traceparent: Option<&str>) -> Self {
        Self {
            traceparent: traceparent.map(str::to_owned),
            ..Self::default()
        }
    }

    /// Reads the three headers with `get` (an HTTP request's or a record's).
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Self {
        let read = |name: &str| {
            get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            traceparent: read(TRACEPARENT),
            tracestate: read(TRACESTATE),
            baggage: read(BAGGAGE),
        }
    }

    /// The headers that are present, as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (TRACEPARENT, &self.traceparent),
            (TRACESTATE, &self.tracestate),
            (BAGGAGE, &self.baggage),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }

    /// Writes the three headers into `envelope` (absent ones cleared).
    pub fn write_to(self, envelope: &mut Envelope) {
        envelope.traceparent = self.traceparent;
        envelope.tracestate = self.tracestate;
        envelope.baggage = self.baggage;
    }

    /// The OpenTelemetry context these headers describe: the remote parent span
    /// (with its tracestate) and the baggage, as the SDK's propagators read them.
    pub fn context(&self) -> opentelemetry::Context {
        let carrier: HashMap<String, String> = self
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let cx = TraceContextPropagator::new().extract(&carrier);
        BaggagePropagator::new().extract_with_context(&cx, &carrier)
    }

    /// Makes `span` a child of this (remote) span, carrying the baggage in its
    /// context. Call before `span` is entered. A no-op without an OpenTelemetry
    /// layer, or without a valid `traceparent` and baggage.
    pub fn adopt(&self, span: &tracing::Span) {
        if self.traceparent.is_none() && self.baggage.is_none() {
            return;
        }
        // Fails only when no OpenTelemetry layer is installed: nothing to link then.
        let _ = span.set_parent(self.context());
    }

    /// The span the caller runs in, when an OpenTelemetry layer records one: its
    /// `traceparent` and `tracestate`, and the baggage of its context.
    pub fn current() -> Option<Self> {
        let cx = tracing::Span::current().context();
        if !cx.span().span_context().is_valid() {
            return None;
        }
        let mut carrier: HashMap<String, String> = HashMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut carrier);
        BaggagePropagator::new().inject_context(&cx, &mut carrier);
        Some(Self::from_headers(|name| {
            carrier.get(name).map(String::as_str)
        }))
    }

    /// The trace context of a message written now and caused by `self` (which
    /// may be empty): the current span's when OpenTelemetry records one (keeping
    /// `self`'s baggage if the span's context has none), else a made-up child of
    /// `self`'s `traceparent` with the same tracestate and baggage, else a new
    /// trace that keeps the baggage.
    pub fn child(&self) -> Self {
        if let Some(mut current) = Self::current() {
            if current.baggage.is_none() {
                current.baggage.clone_from(&self.baggage);
            }
            return current;
        }
        match self.traceparent.as_deref().and_then(TraceParent::parse) {
            Some(parent) => Self {
                traceparent: Some(parent.child().to_string()),
                tracestate: self.tracestate.clone(),
                baggage: self.baggage.clone(),
            },
            None => Self {
                traceparent: Some(TraceParent::new_root().to_string()),
                tracestate: None,
                baggage: self.baggage.clone(),
            },
        }
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_children_share_the_trace() {
        let root = TraceParent::new_root();
        let parsed = TraceParent::parse(&root.to_string()).expect("valid");
        assert_eq!(parsed, root);
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
    }

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn incoming() -> MessageTrace {
        MessageTrace {
            traceparent: Some(PARENT.into()),
            tracestate: Some("vendor=abc,other=1".into()),
            baggage: Some("tier=gold".into()),
        }
    }

    #[test]
    fn without_opentelemetry_a_child_keeps_the_trace_its_state_and_baggage() {
        let child = incoming().child();
        let parsed = child.traceparent.as_deref().and_then(TraceParent::parse);
        let parent = TraceParent::parse(PARENT).expect("valid");
        assert!(
            parsed.is_some_and(|c| c.trace_id == parent.trace_id && c.span_id != parent.span_id)
        );
        assert_eq!(child.tracestate, incoming().tracestate);
        assert_eq!(child.baggage, incoming().baggage);

        let root = MessageTrace::default().child();
        assert!(
            root.traceparent
                .as_deref()
                .and_then(TraceParent::parse)
                .is_some()
        );
        assert_eq!((root.tracestate, root.baggage), (None, None));
    }

    #[test]
    fn a_span_that_adopts_a_message_writes_its_trace_state_and_baggage_on() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt;

        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("consume");
            incoming().adopt(&span);
            let written = span.in_scope(|| incoming().child());
            let parent = TraceParent::parse(PARENT).expect("valid");
            let child = written
                .traceparent
                .as_deref()
                .and_then(TraceParent::parse)
                .expect("the span's traceparent");
            assert_eq!(child.trace_id, parent.trace_id, "same trace");
            assert_ne!(
                child.span_id, parent.span_id,
                "the consuming span, not the sender's"
            );
            assert_eq!(written.tracestate.as_deref(), Some("vendor=abc,other=1"));
            assert_eq!(written.baggage.as_deref(), Some("tier=gold"));
            // Outside any span there is nothing to inherit.
            assert_eq!(MessageTrace::current(), None);
        });
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "",
            "00-abc-def-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-zzf067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_none(), "{bad}");
        }
        let ok = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert!(ok.is_some_and(|t| t.sampled));
    }
}
